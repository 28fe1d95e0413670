"""Publish the ``thud_gap`` metric as an evaluate Space on the Hugging Face Hub."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from thud_dataset.hub.upload import (
    PushError,
    PushResult,
    UploadPlan,
    check_repo_id,
    ensure_online,
    make_api,
    send,
)

from .thud_gap_export import ExportError, export_metric, library_imports

__all__ = ["DEFAULT_GRADIO_VERSION", "plan_metric_space", "push_metric_space"]

#: evaluate's ``launch_gradio_widget`` uses the gradio 3 API (``gr.inputs``); evaluate's own
#: metric Spaces pin this version
DEFAULT_GRADIO_VERSION = "3.19.1"

#: import name → requirement, for imports whose distribution has another name
_PIP_NAMES = {"sklearn": "scikit-learn", "yaml": "pyyaml", "PIL": "pillow"}


def _requirement_name(line: str) -> str:
    """The normalized distribution name of a requirement line (``"evaluate>=0.4"`` → ``evaluate``)."""
    return re.sub(r"[-_.]+", "-", re.split(r"[<>=!~\[ ;@]", line.strip(), maxsplit=1)[0]).lower()


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

    ``metric_dir=None`` uploads Thud's ``thud_gap`` as :func:`~thud_metrics.thud_gap_export.
    export_metric` writes it: self-contained, so the Space needs no Thud. The Space layout is
    the one ``evaluate.load("ORG/NAME")`` and the Hub expect: ``NAME.py`` (the module;
    ``evaluate`` loads the script named after the repository), the folder's helper ``.py``
    files, ``README.md`` (the metric card with Space YAML: ``sdk: gradio``, ``app_file:
    app.py``, tags ``evaluate``, ``metric``), ``app.py`` (``evaluate.utils.launch_gradio_widget``)
    and ``requirements.txt`` (``evaluate``, gradio, the folder's ``requirements.txt``, the
    modules' third-party imports, and ``requirements``). File contents are read into the plan.
    """
    check_repo_id(repo_id)
    name = repo_id.split("/", 1)[1]
    if metric_dir is None:
        from thud_metrics import THUD_GAP

        with tempfile.TemporaryDirectory() as tmp:
            try:
                export_metric(Path(tmp) / name)
            except ExportError as exc:
                raise PushError(f"exporting the thud_gap metric failed: {exc}") from None
            plan = _plan_folder(Path(tmp) / name, repo_id, requirements, sdk_version)
        plan.folder = Path(THUD_GAP)  # what was exported; the export itself was temporary
        return plan
    return _plan_folder(Path(metric_dir), repo_id, requirements, sdk_version)


def _plan_folder(
    metric_dir: Path, repo_id: str, requirements: Sequence[str], sdk_version: str
) -> UploadPlan:
    from huggingface_hub import CommitOperationAdd

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
    # one line per distribution: the folder's own requirements.txt refines the defaults,
    # scanned imports add what it lacks, and the caller's lines win
    reqs: dict[str, str] = {}
    for line in ("evaluate>=0.4.6", f"gradio=={sdk_version}"):
        reqs[_requirement_name(line)] = line
    listed = metric_dir / "requirements.txt"
    if listed.is_file():
        for line in listed.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                reqs[_requirement_name(line)] = line.strip()
    local_modules = {p.stem for p in scripts}
    thud_required = any("thud" in r for r in requirements)
    for py in scripts:
        for mod in library_imports(py.read_text(encoding="utf-8"), str(py)):
            if mod in local_modules:
                continue
            if mod.startswith("thud_"):
                if not thud_required:
                    warnings.append(
                        f"{py.name} imports {mod}, which is not on PyPI: upload a self-contained "
                        "folder (`thud export-metric DIR`, or no --metric-dir) or pass a "
                        "requirement that installs Thud (e.g. 'thud @ git+https://github.com/ORG/thud'), "
                        "or the Space will fail to load the metric"
                    )
                continue
            line = _PIP_NAMES.get(mod, mod)
            reqs.setdefault(_requirement_name(line), line)
    for line in requirements:
        reqs[_requirement_name(line)] = line

    app = (
        "import evaluate\n"
        "from evaluate.utils import launch_gradio_widget\n\n"
        f'module = evaluate.load("{repo_id}")\n'
        "launch_gradio_widget(module)\n"
    )
    ops = [
        CommitOperationAdd(path_in_repo=f"{name}.py", path_or_fileobj=main.read_bytes()),
        *(
            CommitOperationAdd(path_in_repo=p.name, path_or_fileobj=p.read_bytes())
            for p in scripts
            if p != main
        ),
        CommitOperationAdd(path_in_repo="app.py", path_or_fileobj=app.encode()),
        CommitOperationAdd(
            path_in_repo="requirements.txt",
            path_or_fileobj=("\n".join(reqs.values()) + "\n").encode(),
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
        and p.name not in ("README.md", "requirements.txt")
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
    check_repo_id(repo_id)
    if not dry_run:
        ensure_online()
    plan = plan_metric_space(
        metric_dir, repo_id, requirements=list(requirements), sdk_version=sdk_version
    )
    result = PushResult(repo_id, plan, None)
    if dry_run:
        return result
    api = make_api(api, token)
    result.commits = send(api, plan, repo_id, commit_message, private=private, space_sdk="gradio")
    return result
