"""Thud as an lmms-eval task: ``lmms-eval --tasks thud --include_path LMMS_EVAL_TASK_DIR``.

The folder :data:`LMMS_EVAL_TASK_DIR` holds ``thud.yaml`` (the task) and ``utils.py`` (its
functions). The packaged task reads ``./thud_dataset`` (a folder ``thud build`` wrote,
relative to where lmms-eval runs); :func:`write_task_config` (or ``python -m
thud_models.lmms_eval_task DATASET OUT_DIR``) writes a task that reads any built folder or
Hub id. See ``docs/harnesses.md``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

__all__ = ["LMMS_EVAL_TASK_DIR", "write_task_config"]

#: the task folder to pass to ``lmms-eval --include_path``
LMMS_EVAL_TASK_DIR: str = str(Path(__file__).resolve().parent / "thud")


def write_task_config(dataset: str | Path, out_dir: str | Path, *, task: str = "thud") -> Path:
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
        ``thud``, is also the packaged task's name: pass ``--include_path out_dir`` alone.

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
