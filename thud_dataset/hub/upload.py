"""Talking to the Hugging Face Hub: the upload plan, the offline switch and the commits.

Shared by the dataset upload (:mod:`thud_dataset.hub.push`) and the metric Space
(:mod:`thud_metrics.hub_space`). Everything up to :meth:`HfApi.create_repo` /
:meth:`HfApi.create_commit` is local, and ``api=`` lets tests stand in for the Hub at
exactly that boundary.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "HubOfflineError",
    "PushError",
    "PushResult",
    "UploadPlan",
    "check_repo_id",
    "ensure_online",
    "hub_offline",
    "human_size",
    "make_api",
    "send",
    "write_plan",
]

#: the Hub's recommended maximum entries per folder and files per commit
HUB_FOLDER_MAX_ENTRIES = 10_000
HUB_COMMIT_MAX_FILES = 100


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
            f"{len(self.operations)} file(s), {human_size(self.total_bytes)}, in "
            f"{len(self.commits)} commit(s) to a {self.repo_type} repository:"
        ]
        for i, commit in enumerate(self.commits, 1):
            if len(self.commits) > 1:
                lines.append(f"  commit {i}/{len(self.commits)}:")
            for op in commit:
                lines.append(f"    {op.path_in_repo}  ({human_size(_op_size(op))})")
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


def human_size(n: int) -> str:
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


def check_repo_id(repo_id: str) -> None:
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    if not repo_id or repo_id.count("/") != 1:
        raise PushError(f"repo id {repo_id!r}: expected ORG/NAME (e.g. my-org/thud)")
    try:
        validate_repo_id(repo_id)
    except HFValidationError as exc:
        raise PushError(f"repo id {repo_id!r}: {exc}") from None


def make_api(api: Any, token: str | None) -> Any:
    if api is not None:
        return api
    from huggingface_hub import HfApi, get_token

    if token is None and get_token() is None:
        raise PushError("no Hugging Face token: run `hf auth login`, set HF_TOKEN, or pass --token")
    return HfApi(token=token)


def send(api: Any, plan: UploadPlan, repo_id: str, message: str, **repo_kwargs: Any) -> list:
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


def write_plan(plan: UploadPlan, out_dir: str | Path) -> Path:
    """Write the files of ``plan`` into ``out_dir`` (to inspect a Space before pushing)."""
    out_dir = Path(out_dir)
    for op in plan.operations:
        dest = out_dir / op.path_in_repo
        dest.parent.mkdir(parents=True, exist_ok=True)
        src = op.path_or_fileobj
        dest.write_bytes(src if isinstance(src, (bytes, bytearray)) else Path(src).read_bytes())
    return out_dir
