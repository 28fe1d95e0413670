"""Publish a built Thud dataset to the Hugging Face Hub, and the ``thud_gap`` metric as a Space.

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
:class:`HubOfflineError`, before any network call; ``dry_run=True`` still plans and
verifies. Everything up to :meth:`HfApi.create_repo`/:meth:`HfApi.create_commit` is local,
and ``api=`` lets tests stand in for the Hub at exactly that boundary.
"""

from __future__ import annotations

import ast
import fnmatch
import os
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "PushResult",
    "write_plan",
    "HubOfflineError",
    "PushError",
    "UploadPlan",
    "card_configs",
    "ensure_online",
    "hub_offline",
    "plan_dataset_upload",
    "plan_metric_space",
    "push_dataset",
    "push_metric_space",
    "verify_roundtrip",
]

#: ``datasets.Dataset.push_to_hub``'s default shard size: larger files stream and preview worse
SHARD_WARN_BYTES = 500 * 1024**2
#: the Hub's recommended maximum file size (docs: "Repository limitations and recommendations")
HUB_FILE_MAX_BYTES = 20 * 1000**3
#: the Hub's recommended maximum entries per folder and files per commit
HUB_FOLDER_MAX_ENTRIES = 10_000
HUB_COMMIT_MAX_FILES = 100
#: evaluate's ``launch_gradio_widget`` uses the gradio 3 API (``gr.inputs``); evaluate's own
#: metric Spaces pin this version
DEFAULT_GRADIO_VERSION = "3.19.1"


class PushError(RuntimeError):
    """The folder cannot be pushed as it is, or the Hub refused it; the message says why."""


class HubOfflineError(PushError):
    """Pushing needs the network and ``HF_HUB_OFFLINE`` says there is none."""


@dataclass
class UploadPlan:
    """What a push would send: one or more commits of ``CommitOperationAdd``."""

    folder: Path
    repo_type: str
    commits: list[list[Any]]  # list of CommitOperationAdd per commit, in order
    configs: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)

    @property
    def operations(self) -> list[Any]:
        """All operations, in upload order."""
        return [op for commit in self.commits for op in commit]

    @property
    def total_bytes(self) -> int:
        return sum(_op_size(op) for op in self.operations)

    def describe(self) -> str:
        """A human-readable listing (what ``--dry-run`` prints)."""
        lines = [
            f"{len(self.operations)} file(s), {_human(self.total_bytes)}, in "
            f"{len(self.commits)} commit(s) to a {self.repo_type} repository:"
        ]
        for i, commit in enumerate(self.commits, 1):
            if len(self.commits) > 1:
                lines.append(f"  commit {i}/{len(self.commits)}:")
            for op in commit:
                lines.append(f"    {op.path_in_repo}  ({_human(_op_size(op))})")
        for name, splits in self.configs.items():
            counts = ", ".join(f"{s}: {len(files)} file(s)" for s, files in splits.items())
            lines.append(f"  config {name!r}: {counts}")
        if self.excluded:
            lines.append(f"  not sent ({len(self.excluded)}): " + ", ".join(self.excluded[:10]))
        lines.extend(f"  warning: {w}" for w in self.warnings)
        return "\n".join(lines)


def _op_size(op: Any) -> int:
    src = op.path_or_fileobj
    if isinstance(src, (bytes, bytearray)):
        return len(src)
    if isinstance(src, (str, Path)):
        return Path(src).stat().st_size
    return 0


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover


# ---------------------------------------------------------------- offline / network boundary


def hub_offline() -> bool:
    """Whether huggingface_hub is in offline mode.

    Reads ``HF_HUB_OFFLINE`` (and ``TRANSFORMERS_OFFLINE``, as huggingface_hub does) *now*,
    as well as the value huggingface_hub read at import, so setting the variable after
    import still counts.
    """
    from huggingface_hub import constants

    env = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE")
    # the values huggingface_hub itself counts as true
    return bool(constants.HF_HUB_OFFLINE) or (env or "").upper() in {"1", "ON", "YES", "TRUE"}


def ensure_online(what: str = "pushing to the Hub") -> None:
    """Raise :class:`HubOfflineError` when offline; call before any network access."""
    if hub_offline():
        raise HubOfflineError(
            f"{what} needs the network, but HF_HUB_OFFLINE is set (huggingface_hub's offline "
            "mode). Unset HF_HUB_OFFLINE to upload, or use --dry-run to see what would be sent."
        )


def _check_repo_id(repo_id: str) -> None:
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    if not repo_id or repo_id.count("/") != 1:
        raise PushError(f"repo id {repo_id!r}: expected ORG/NAME (e.g. my-org/thud)")
    try:
        validate_repo_id(repo_id)
    except HFValidationError as exc:
        raise PushError(f"repo id {repo_id!r}: {exc}") from None


def _make_api(api: Any, token: str | None) -> Any:
    if api is not None:
        return api
    from huggingface_hub import HfApi, get_token

    if token is None and get_token() is None:
        raise PushError("no Hugging Face token: run `hf auth login`, set HF_TOKEN, or pass --token")
    return HfApi(token=token)


def _send(api: Any, plan: UploadPlan, repo_id: str, message: str, **repo_kwargs: Any) -> list:
    """create_repo + one create_commit per planned commit; Hub errors become PushError."""
    try:
        api.create_repo(repo_id=repo_id, repo_type=plan.repo_type, exist_ok=True, **repo_kwargs)
    except Exception as exc:  # network, auth, permission: say which step failed
        raise PushError(
            f"creating {plan.repo_type} repository {repo_id!r} failed: {type(exc).__name__}: {exc}"
        ) from exc
    infos = []
    for i, ops in enumerate(plan.commits, 1):
        msg = message if len(plan.commits) == 1 else f"{message} ({i}/{len(plan.commits)})"
        try:
            infos.append(
                api.create_commit(
                    repo_id=repo_id,
                    repo_type=plan.repo_type,
                    operations=ops,
                    commit_message=msg,
                )
            )
        except Exception as exc:
            raise PushError(
                f"commit {i}/{len(plan.commits)} to {repo_id!r} failed: {type(exc).__name__}: {exc}"
            ) from exc
    return infos


# ---------------------------------------------------------------- dataset folder


def _front_matter(readme: Path) -> dict:
    text = readme.read_text(encoding="utf-8")
    if not text.startswith("---"):
        raise PushError(f"{readme}: no YAML front matter (the card must start with '---')")
    try:
        _, block, _ = text.split("---", 2)
        meta = yaml.safe_load(block) or {}
    except (ValueError, yaml.YAMLError) as exc:
        raise PushError(f"{readme}: YAML front matter cannot be read ({exc})") from None
    if not isinstance(meta, dict):
        raise PushError(f"{readme}: YAML front matter is not a mapping")
    return meta


def card_configs(folder: str | Path) -> dict[str, dict[str, list[str]]]:
    """``{config: {split: [data_files patterns]}}`` from the card's YAML ``configs:``."""
    readme = Path(folder) / "README.md"
    if not readme.is_file():
        raise PushError(f"{readme}: no dataset card; build the folder with `thud build` first")
    meta = _front_matter(readme)
    configs = meta.get("configs")
    if not configs:
        raise PushError(f"{readme}: the YAML front matter has no 'configs:' list")
    out: dict[str, dict[str, list[str]]] = {}
    for i, entry in enumerate(configs):
        name = entry.get("config_name") if isinstance(entry, dict) else None
        files = entry.get("data_files") if isinstance(entry, dict) else None
        if not name or not files:
            raise PushError(f"{readme}: configs[{i}] needs config_name and data_files")
        splits: dict[str, list[str]] = {}
        if isinstance(files, (str, list)) and not (
            isinstance(files, list) and files and isinstance(files[0], dict)
        ):
            splits["train"] = [files] if isinstance(files, str) else list(files)
        else:
            for item in files:
                paths = item.get("path")
                splits[item.get("split", "train")] = (
                    [paths] if isinstance(paths, str) else list(paths)
                )
        out[str(name)] = splits
    return out


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
    configs = card_configs(folder)
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
                f"{rel} is {_human(size)}, above the Hub's recommended 20 GB per file: "
                "rebuild with more shards"
            )
        elif size > SHARD_WARN_BYTES:
            warnings.append(
                f"{rel} is {_human(size)}, above the 500 MB shards datasets.push_to_hub writes; "
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


@dataclass
class PushResult:
    repo_id: str
    plan: UploadPlan
    counts: dict[str, dict[str, int]] | None
    commits: list = field(default_factory=list)  # CommitInfo per commit; empty for a dry run

    @property
    def url(self) -> str:
        prefix = {"dataset": "datasets/", "space": "spaces/"}.get(self.plan.repo_type, "")
        return f"https://huggingface.co/{prefix}{self.repo_id}"


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
    _check_repo_id(repo_id)
    if not dry_run:
        ensure_online()
    plan = plan_dataset_upload(folder)
    counts = verify_roundtrip(folder, plan) if verify else None
    result = PushResult(repo_id, plan, counts)
    if dry_run:
        return result
    api = _make_api(api, token)
    result.commits = _send(api, plan, repo_id, commit_message, private=private)
    return result


# ---------------------------------------------------------------- metric Space

_STDLIB = set(getattr(sys, "stdlib_module_names", ()))
#: import name → requirement, for imports whose distribution has another name
_PIP_NAMES = {"sklearn": "scikit-learn", "yaml": "pyyaml", "PIL": "pillow"}


def _library_imports(py: Path) -> list[str]:
    tree = ast.parse(py.read_text(encoding="utf-8"), filename=str(py))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module.split(".")[0])
    return [n for n in dict.fromkeys(names) if n not in _STDLIB and n != "__future__"]


def _space_readme(card: str, title: str, sdk_version: str) -> str:
    """The metric card with the Space's YAML keys merged into its front matter."""
    meta: dict[str, Any] = {}
    body = card
    if card.startswith("---"):
        try:
            _, block, body = card.split("---", 2)
            meta = yaml.safe_load(block) or {}
        except (ValueError, yaml.YAMLError):
            meta, body = {}, card
        body = body.lstrip("\n")
    space = {
        "title": meta.get("title", title),
        "emoji": meta.get("emoji", "🔊"),
        "colorFrom": meta.get("colorFrom", "blue"),
        "colorTo": meta.get("colorTo", "red"),
        "sdk": "gradio",
        "sdk_version": meta.get("sdk_version", sdk_version),
        "app_file": "app.py",
        "pinned": meta.get("pinned", False),
    }
    tags = list(meta.get("tags") or [])
    for tag in ("evaluate", "metric"):
        if tag not in tags:
            tags.append(tag)
    merged = {**space, **{k: v for k, v in meta.items() if k not in space}, "tags": tags}
    merged.setdefault(
        "description",
        "thud_gap: does an omni model listen? Accuracy per condition, gaps, pair accuracy and "
        "hallucination rates over Thud's Shift / Mute / Swap probes.",
    )
    return "---\n" + yaml.safe_dump(merged, sort_keys=False, allow_unicode=True) + "---\n\n" + body


def plan_metric_space(
    metric_dir: str | Path | None,
    repo_id: str,
    *,
    requirements: Sequence[str] = (),
    sdk_version: str = DEFAULT_GRADIO_VERSION,
) -> UploadPlan:
    """The files of an evaluate metric Space for the module in ``metric_dir``.

    The Space layout that ``evaluate.load("ORG/NAME")`` and the Hub expect: ``NAME.py``
    (the module; ``evaluate`` loads the script named after the repository), any helper
    ``.py`` files of the folder, ``README.md`` (the metric card with Space YAML: ``sdk:
    gradio``, ``app_file: app.py``, tags ``evaluate``, ``metric``), ``app.py``
    (``evaluate.utils.launch_gradio_widget``) and ``requirements.txt`` (``evaluate``, the
    module's third-party imports, and ``requirements``).
    """
    from huggingface_hub import CommitOperationAdd

    _check_repo_id(repo_id)
    if metric_dir is None:
        from thud_metrics import THUD_GAP  # the metric folder, written by the metrics part

        metric_dir = THUD_GAP
    metric_dir = Path(metric_dir)
    if not metric_dir.is_dir():
        raise PushError(f"{metric_dir}: metric folder not found")
    name = repo_id.split("/", 1)[1]
    scripts = sorted(p for p in metric_dir.glob("*.py") if p.name != "__init__.py")
    main = metric_dir / f"{metric_dir.name}.py"
    if not main.is_file():
        if len(scripts) != 1:
            raise PushError(
                f"{metric_dir}: expected the module script {main.name} (evaluate loads the script "
                "named after its folder)"
            )
        main = scripts[0]
    readme = metric_dir / "README.md"
    if not readme.is_file():
        raise PushError(f"{readme}: the metric card is missing (the Space shows it)")

    warnings: list[str] = []
    if main.stem != name:
        warnings.append(
            f"{main.name} is uploaded as {name}.py: evaluate.load({repo_id!r}) loads the script "
            "named after the repository"
        )
    reqs = ["evaluate>=0.4.6", f"gradio=={sdk_version}"]
    local_modules = {p.stem for p in scripts}
    for py in scripts:
        for mod in _library_imports(py):
            if mod in local_modules or mod in {"evaluate", "gradio"}:
                continue
            if mod.startswith("thud_") and not any("thud" in r for r in requirements):
                warnings.append(
                    f"{py.name} imports {mod}, which is not on PyPI: pass a requirement that "
                    "installs Thud (e.g. 'thud @ git+https://github.com/ORG/thud') or the Space "
                    "will fail to load the metric"
                )
                continue
            if mod.startswith("thud_"):
                continue
            reqs.append(_PIP_NAMES.get(mod, mod))
    reqs += list(requirements)
    reqs = list(dict.fromkeys(reqs))

    app = (
        "import evaluate\n"
        "from evaluate.utils import launch_gradio_widget\n\n"
        f'module = evaluate.load("{repo_id}")\n'
        "launch_gradio_widget(module)\n"
    )
    ops = [
        CommitOperationAdd(path_in_repo=f"{name}.py", path_or_fileobj=str(main)),
        *(
            CommitOperationAdd(path_in_repo=p.name, path_or_fileobj=str(p))
            for p in scripts
            if p != main
        ),
        CommitOperationAdd(path_in_repo="app.py", path_or_fileobj=app.encode()),
        CommitOperationAdd(
            path_in_repo="requirements.txt", path_or_fileobj=("\n".join(reqs) + "\n").encode()
        ),
        CommitOperationAdd(
            path_in_repo="README.md",
            path_or_fileobj=_space_readme(
                readme.read_text(encoding="utf-8"), name, sdk_version
            ).encode(),
        ),
    ]
    excluded = sorted(
        p.relative_to(metric_dir).as_posix()
        for p in metric_dir.rglob("*")
        if p.is_file()
        and p.suffix != ".py"
        and p.name != "README.md"
        and "__pycache__" not in p.parts
    )
    return UploadPlan(metric_dir, "space", [ops], {}, warnings, excluded)


def push_metric_space(
    repo_id: str,
    metric_dir: str | Path | None = None,
    *,
    token: str | None = None,
    private: bool = False,
    requirements: Iterable[str] = (),
    sdk_version: str = DEFAULT_GRADIO_VERSION,
    commit_message: str = "Upload thud_gap metric",
    dry_run: bool = False,
    api: Any = None,
) -> PushResult:
    """Upload the metric module as an evaluate Space (``space_sdk="gradio"``).

    Offline (``HF_HUB_OFFLINE``) raises :class:`HubOfflineError` before any network call
    unless ``dry_run``.
    """
    _check_repo_id(repo_id)
    if not dry_run:
        ensure_online()
    plan = plan_metric_space(
        metric_dir, repo_id, requirements=list(requirements), sdk_version=sdk_version
    )
    result = PushResult(repo_id, plan, None)
    if dry_run:
        return result
    api = _make_api(api, token)
    result.commits = _send(api, plan, repo_id, commit_message, private=private, space_sdk="gradio")
    return result


def write_plan(plan: UploadPlan, out_dir: str | Path) -> Path:
    """Write the files of ``plan`` into ``out_dir`` (to inspect a Space before pushing)."""
    out_dir = Path(out_dir)
    for op in plan.operations:
        dest = out_dir / op.path_in_repo
        dest.parent.mkdir(parents=True, exist_ok=True)
        src = op.path_or_fileobj
        dest.write_bytes(src if isinstance(src, (bytes, bytearray)) else Path(src).read_bytes())
    return out_dir
