"""Thud as an lmms-eval task: ``lmms-eval --tasks thud_probes --include_path LMMS_EVAL_TASK_DIR``.

The folder :data:`LMMS_EVAL_TASK_DIR` holds ``thud.yaml`` (the task :data:`TASK`) and
``utils.py`` (its functions). The packaged task reads ``./thud`` (the folder the quick start
builds, relative to where lmms-eval runs); :func:`write_task_config` (or ``python -m
thud_models.lmms_eval_task DATASET OUT_DIR``) writes a task that reads any built folder or
Hub id, and ``python -m thud_models.lmms_eval_task run DATASET --out OUT -- <lmms-eval
arguments>`` runs lmms-eval on it and fails when nothing ran. See ``docs/harnesses.md``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

__all__ = ["LMMS_EVAL_TASK_DIR", "TASK", "write_task_config"]

#: the task folder to pass to ``lmms-eval --include_path``
LMMS_EVAL_TASK_DIR: str = str(Path(__file__).resolve().parent / "thud")
#: the packaged task's name (not ``thud``: lmms-eval 0.7 reads ``--tasks thud`` as the folder
#: ``./thud`` when there is one, as in the quick-start folder, and then runs nothing)
TASK = "thud_probes"


def write_task_config(dataset: str | Path, out_dir: str | Path, *, task: str = TASK) -> Path:
    """Write ``out_dir/<task>.yaml``: the Thud task reading ``dataset``.

    Parameters
    ----------
    dataset
        A folder that ``thud build`` wrote (made absolute here, so lmms-eval can run from
        anywhere) or a Hub dataset id such as ``org/thud``.
    out_dir
        Folder for the yaml; pass it to ``lmms-eval --include_path``.
    task
        The task name for ``--tasks`` (letters, digits, ``_`` and ``-``). The default,
        :data:`TASK`, is also the packaged task's name: pass ``--include_path out_dir`` alone.
        Avoid the name of a folder in the directory lmms-eval runs from (lmms-eval would read
        that folder instead and run nothing).

    Returns
    -------
    Path
        The yaml written. It ``include``\\ s the packaged ``thud.yaml`` and overrides only
        ``task`` and ``dataset_path``.
    """
    if not re.fullmatch(r"[A-Za-z0-9_-]+", task):
        raise ValueError(f"task must be a name of letters, digits, _ or -, not {task!r}")
    local = Path(dataset).expanduser()
    if local.exists():
        if not (local / "data" / "probes").is_dir():
            raise FileNotFoundError(
                f"{local}: no data/probes/ folder; is this a folder `thud build` wrote?"
            )
        path = str(local.resolve())
    elif re.fullmatch(r"[\w.-]+/[\w.-]+", str(dataset)):
        path = str(dataset)  # a Hub id
    else:
        raise FileNotFoundError(f"{dataset}: neither an existing folder nor a Hub id like org/thud")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{task}.yaml"
    base = Path(LMMS_EVAL_TASK_DIR) / "thud.yaml"
    target.write_text(
        f"# the Thud task on {path}, written by thud_models.lmms_eval_task.write_task_config\n"
        # JSON strings are YAML strings: quoted, whatever the path holds
        f"include: {json.dumps(str(base))}\n"
        f"task: {task}\n"
        f"dataset_path: {json.dumps(path)}\n"
    )
    return target
