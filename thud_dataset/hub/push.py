"""Publish a built Thud dataset to the Hugging Face Hub.

Dataset upload rule (what is sent, and what is not):

* ``README.md`` (the dataset card: its YAML ``configs:`` names the parquet files),
  ``build_report.json`` and every ``data/**/*.parquet`` file; nothing else in the folder.
* Media is **embedded**: every ``{bytes, path}`` column (``video``) must carry its bytes in
  the parquet files; a row that only references a local path would be broken on the Hub,
  so such a folder is refused.
* Before anything is sent, the folder must round-trip locally: ``load_dataset(folder,
  config)`` loads every config the card names, with the splits and row counts the parquet
  files hold.
* Files above the shard size of ``datasets.push_to_hub`` (500 MB) draw a warning with shard
  advice; so do folders over the Hub's recommended 10k entries and files over its 20 GB.
  More than 100 files are sent in several commits (the Hub's recommended commit size), data
  first and the card last, so a half-finished upload never advertises missing files.

Offline (``HF_HUB_OFFLINE=1``, huggingface_hub's own switch) a push fails at once with
:class:`~thud_dataset.hub.upload.HubOfflineError`, before any network call; ``dry_run=True``
still plans and verifies.
"""

from __future__ import annotations

import fnmatch
import tempfile
from pathlib import Path
from typing import Any

from .card import CardError, card_configs
from .upload import (
    HUB_COMMIT_MAX_FILES,
    HUB_FOLDER_MAX_ENTRIES,
    PushError,
    PushResult,
    UploadPlan,
    check_repo_id,
    ensure_online,
    human_size,
    make_api,
    send,
)

__all__ = ["plan_dataset_upload", "push_dataset", "verify_roundtrip"]

#: ``datasets.Dataset.push_to_hub``'s default shard size: larger files stream and preview worse
SHARD_WARN_BYTES = 500 * 1024**2
#: the Hub's recommended maximum file size (docs: "Repository limitations and recommendations")
HUB_FILE_MAX_BYTES = 20 * 1000**3


def _check_embedded_media(path: Path, rel: str) -> None:
    """Refuse parquet files whose media columns reference paths instead of holding bytes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    media_cols = [
        f.name
        for f in pf.schema_arrow
        if pa.types.is_struct(f.type) and {"bytes", "path"} <= {c.name for c in f.type}
    ]
    for col in media_cols:
        missing = 0
        for batch in pf.iter_batches(columns=[col], batch_size=256):
            arr = batch.column(0)
            bytes_arr = arr.field("bytes")
            # a null struct (no media at all) is allowed; a struct without bytes is not
            missing += sum(
                1
                for valid, has_bytes in zip(
                    arr.is_valid().to_pylist(), bytes_arr.is_valid().to_pylist(), strict=True
                )
                if valid and not has_bytes
            )
        if missing:
            raise PushError(
                f"{rel}: column {col!r} has {missing} row(s) whose media is a path, not embedded "
                "bytes; on the Hub those files would not exist. Rebuild so the media is embedded."
            )


def plan_dataset_upload(folder: str | Path) -> UploadPlan:
    """Check a built folder and list the upload it would make (no network).

    Raises
    ------
    PushError
        No card, a card without ``configs:``, a config/split whose pattern matches no file,
        or media that is not embedded.
    """
    from huggingface_hub import CommitOperationAdd

    folder = Path(folder)
    if not folder.is_dir():
        raise PushError(f"{folder}: not a folder")
    try:
        configs = card_configs(folder)
    except CardError as exc:
        raise PushError(str(exc)) from None
    data_files = sorted(p for p in (folder / "data").rglob("*.parquet") if p.is_file())
    rels = [p.relative_to(folder).as_posix() for p in data_files]
    resolved: dict[str, dict[str, list[str]]] = {}
    covered: set[str] = set()
    for name, splits in configs.items():
        resolved[name] = {}
        for split, patterns in splits.items():
            hits = sorted({r for r in rels for pat in patterns if fnmatch.fnmatchcase(r, pat)})
            if not hits:
                raise PushError(
                    f"{folder / 'README.md'}: config {name!r} split {split!r} names "
                    f"{', '.join(patterns)}, which matches no file under {folder / 'data'}"
                )
            resolved[name][split] = hits
            covered.update(hits)

    warnings: list[str] = []
    for rel, path in zip(rels, data_files, strict=True):
        _check_embedded_media(path, rel)
        size = path.stat().st_size
        if size > HUB_FILE_MAX_BYTES:
            warnings.append(
                f"{rel} is {human_size(size)}, above the Hub's recommended 20 GB per file: "
                "rebuild with more shards"
            )
        elif size > SHARD_WARN_BYTES:
            warnings.append(
                f"{rel} is {human_size(size)}, above the 500 MB shards datasets.push_to_hub writes; "
                "more, smaller shards stream and preview better (rebuild with more shards)"
            )
        if rel not in covered:
            warnings.append(
                f"{rel} is named by no config in README.md; it is sent but never loaded"
            )
    per_folder: dict[str, int] = {}
    for rel in rels:
        parent = rel.rsplit("/", 1)[0]
        per_folder[parent] = per_folder.get(parent, 0) + 1
    for parent, n in per_folder.items():
        if n > HUB_FOLDER_MAX_ENTRIES:
            warnings.append(f"{parent}/ holds {n} files; the Hub recommends under 10k per folder")

    data_ops = [
        CommitOperationAdd(path_in_repo=r, path_or_fileobj=str(p))
        for r, p in zip(rels, data_files, strict=True)
    ]
    meta_ops = [
        CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=str(folder / "README.md"))
    ]
    report = folder / "build_report.json"
    if report.is_file():
        meta_ops.insert(
            0, CommitOperationAdd(path_in_repo="build_report.json", path_or_fileobj=str(report))
        )
    else:
        warnings.append(
            "no build_report.json: the Hub copy will not record the plan and the skipped clips"
        )
    sent = {op.path_in_repo for op in data_ops + meta_ops}
    excluded = sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.relative_to(folder).as_posix() not in sent
    )
    # data first, card last, at most HUB_COMMIT_MAX_FILES per commit
    ops = data_ops + meta_ops
    commits = [ops[i : i + HUB_COMMIT_MAX_FILES] for i in range(0, len(ops), HUB_COMMIT_MAX_FILES)]
    return UploadPlan(folder, "dataset", commits, resolved, warnings, excluded)


def verify_roundtrip(
    folder: str | Path, plan: UploadPlan | None = None
) -> dict[str, dict[str, int]]:
    """Load every config of ``folder`` with ``load_dataset(folder, config)``; return row counts.

    The counts must equal the parquet files' own row counts, and the splits must be the
    card's; otherwise :class:`PushError`. Uses a throw-away cache, so nothing is left behind.
    """
    import pyarrow.parquet as pq
    from datasets import load_dataset

    folder = Path(folder)
    plan = plan or plan_dataset_upload(folder)
    counts: dict[str, dict[str, int]] = {}
    with tempfile.TemporaryDirectory(prefix="thud-roundtrip-") as cache:
        for name, splits in plan.configs.items():
            try:
                dd = load_dataset(str(folder), name, cache_dir=cache)
            except Exception as exc:
                raise PushError(
                    f"{folder}: load_dataset(folder, {name!r}) fails, so the Hub copy would too: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            if set(dd) != set(splits):
                raise PushError(
                    f"{folder}: config {name!r} loads splits {sorted(dd)}, the card names {sorted(splits)}"
                )
            counts[name] = {}
            for split, files in splits.items():
                expected = sum(pq.ParquetFile(folder / f).metadata.num_rows for f in files)
                got = dd[split].num_rows
                if got != expected:
                    raise PushError(
                        f"{folder}: config {name!r} split {split!r} loads {got} rows, "
                        f"its parquet files hold {expected}"
                    )
                counts[name][split] = got
            del dd
    return counts


def push_dataset(
    folder: str | Path,
    repo_id: str,
    *,
    token: str | None = None,
    private: bool = False,
    commit_message: str = "Upload Thud dataset",
    dry_run: bool = False,
    verify: bool = True,
    api: Any = None,
) -> PushResult:
    """Plan, verify and upload a built folder to the dataset repository ``repo_id``.

    Parameters
    ----------
    folder
        The output of ``thud build``.
    repo_id
        ``ORG/NAME`` of the dataset repository (created if missing).
    dry_run
        Plan and verify only; nothing touches the network (works offline).
    verify
        Round-trip every config through ``load_dataset`` before sending.
    api
        An :class:`huggingface_hub.HfApi` (or a stand-in with ``create_repo`` and
        ``create_commit``); default a new ``HfApi(token=token)``.

    Raises
    ------
    HubOfflineError
        ``HF_HUB_OFFLINE`` is set and this is not a dry run (raised before any work).
    PushError
        The folder fails a check, or the Hub refused the upload.
    """
    check_repo_id(repo_id)
    if not dry_run:
        ensure_online()
    plan = plan_dataset_upload(folder)
    counts = verify_roundtrip(folder, plan) if verify else None
    result = PushResult(repo_id, plan, counts)
    if dry_run:
        return result
    api = make_api(api, token)
    result.commits = send(api, plan, repo_id, commit_message, private=private)
    return result
