"""Publish the ``thud_gap`` metric as an evaluate Space on the Hugging Face Hub."""

from __future__ import annotations

import ast
import sys
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

__all__ = ["DEFAULT_GRADIO_VERSION", "plan_metric_space", "push_metric_space"]

#: evaluate's ``launch_gradio_widget`` uses the gradio 3 API (``gr.inputs``); evaluate's own
#: metric Spaces pin this version
DEFAULT_GRADIO_VERSION = "3.19.1"

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

    check_repo_id(repo_id)
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
