"""Reading lmms-eval's per-sample outputs (``--log_samples``) as Thud predictions.

lmms-eval writes ``<output_path>/[<model>/]<date>_samples_<task>.jsonl``, one JSON object
per document::

    {"doc_id": 0, "target": "synced", "filtered_resps": "A", "resps": [["A"]],
     "avg_gap": {"probe_id": "1b42...", "answer": "A", ...}, ..., "doc": {...}}

The probe is found by its ``probe_id``: in the metric records of Thud's lmms-eval task
(every metric value holds the probe's identity), else in ``doc`` (versions that log the
document), else at the top level. The answer is ``filtered_resps`` (the response after
lmms-eval's filters; a string, or a list in older versions), else ``resps``.

Samples whose records name a ``canary_id`` are the task's audio-path canaries, not probes:
they are kept apart (``meta["canaries"]``). The run's ``<date>_results.json`` beside the file
(lmms-eval writes one per run) names the model and holds the task's verdict on them
(``audio_reached``: yes / no / cannot tell, ``audio_check``: the reason), which becomes
``meta["audio_check"]`` — what ``thud score`` prints under the model's row, with the same
warning as for ``thud run`` when the audio did not reach the model.

:func:`thud_metrics.predictions.read_predictions` picks this reader for files whose first
object has ``doc_id`` and ``filtered_resps`` or ``resps``; ids that do not match the
dataset are reported by ``thud score`` like those of any predictions file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from thud_dataset.jsonl import iter_jsonl

from .base import PredictionSet

__all__ = ["is_lmms_eval_samples", "read_lmms_eval_answers", "read_lmms_eval_samples"]

FORMAT = "lmms-eval-samples"


def is_lmms_eval_samples(head: list[str]) -> bool:
    """True if the first non-empty line is an lmms-eval logged sample."""
    try:
        first = json.loads(head[0]) if head else None
    except ValueError:
        return False
    return (
        isinstance(first, dict)
        and "doc_id" in first
        and ("filtered_resps" in first or "resps" in first)
    )


def _canary(sample: dict[str, Any]) -> dict[str, Any] | None:
    """The canary record of a sample of Thud's task (``None`` for a probe)."""
    for value in sample.values():
        if isinstance(value, dict) and isinstance(value.get("canary_id"), str) and "answer" in value:
            return value
    return None


def _probe_id(sample: dict[str, Any]) -> str | None:
    for value in sample.values():  # Thud's task: each metric's record names the probe
        if isinstance(value, dict) and isinstance(value.get("probe_id"), str) and "answer" in value:
            return value["probe_id"]
    doc = sample.get("doc")
    if isinstance(doc, dict) and isinstance(doc.get("probe_id"), str):
        return doc["probe_id"]
    pid = sample.get("probe_id")
    return pid if isinstance(pid, str) else None


def _first_text(value: Any) -> str | None:
    """The first string in a response (``"A"``, ``["A"]`` or ``[["A"]]``)."""
    while isinstance(value, (list, tuple)):
        if not value:
            return None
        value = value[0]
    return None if value is None else str(value)


def _answer(sample: dict[str, Any]) -> str | None:
    if "filtered_resps" in sample:
        return _first_text(sample["filtered_resps"])
    return _first_text(sample.get("resps"))


#: ``audio_reached`` in the results table -> the audio check's verdict
_VERDICTS = {"yes": "reaches", "no": "does_not_reach", "cannot tell": "cannot_tell"}


def _audio_check(run: dict[str, Any] | None, task: str | None, results: Path, n_canaries: int) -> dict[str, Any]:
    """The task's audio-path verdict from the run's results (what ``thud score`` prints)."""
    table = ((run or {}).get("results") or {}).get(task or "") or {}
    reached = next((v for k, v in table.items() if k.split(",")[0] == "audio_reached"), None)
    reason = next((v for k, v in table.items() if k.split(",")[0] == "audio_check"), None)
    if reached in _VERDICTS:
        return {"verdict": _VERDICTS[reached], "reason": str(reason or ""), "source": str(results)}
    if not n_canaries:
        why = ("the samples hold no canary answers (a run of a Thud task older than its audio-path "
               "check, or --limit/--offset cut them): run `thud check-audio` on the same serving path")  # fmt: skip
    elif run is None:
        why = (f"the samples hold {n_canaries} canary answers, but the run's results file {results.name} "
               "(which holds the verdict) is not beside them")  # fmt: skip
    else:
        why = f"{results.name} has no audio_reached entry for task {task!r}"
    return {"verdict": "cannot_tell", "reason": why, "source": str(results)}


def _run_meta(path: Path, n_canaries: int) -> dict[str, Any]:
    """Model, task and audio-path verdict from the run's ``<date>_results.json`` beside the samples."""
    meta: dict[str, Any] = {"harness": "lmms-eval"}
    m = re.match(r"(.+)_samples_(.+)\.jsonl$", path.name)
    if not m:
        meta["audio_check"] = _audio_check(None, None, path, n_canaries)
        return meta
    meta["task"] = m.group(2)
    results = path.with_name(f"{m.group(1)}_results.json")
    try:
        run = json.loads(results.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        run = None
    meta["audio_check"] = _audio_check(run, meta["task"], results, n_canaries)
    if run is None:
        return meta
    config = run.get("config") or {}
    model, args = config.get("model"), config.get("model_args")
    if model:
        meta["model"] = f"{model} ({args})" if args else str(model)
    if run.get("lmms_eval_version"):
        meta["lmms_eval_version"] = run["lmms_eval_version"]
    return meta


def read_lmms_eval_answers(
    path: str | Path, canaries: list[dict[str, Any]] | None = None
) -> tuple[dict[str, str | None], dict[str, int]]:
    """``{probe_id: answer}`` and ``{probe_id: line}`` from an lmms-eval samples file.

    Canary samples are not probes: they are left out, or appended to ``canaries`` (their
    records, with ``line``) when a list is given.

    Raises
    ------
    ValueError
        A line that is not JSON, a sample without a probe id (not a Thud task's output),
        a probe answered twice (naming both lines), or a file without probes.
    """
    path = Path(path)
    answers: dict[str, str | None] = {}
    lines: dict[str, int] = {}
    for lineno, sample in iter_jsonl(path):
        where = f"{path}:{lineno}"
        canary = _canary(sample)
        if canary is not None:
            if canaries is not None:
                canaries.append({**canary, "line": lineno})
            continue
        pid = _probe_id(sample)
        if pid is None:
            raise ValueError(
                f"{where}: an lmms-eval sample without a probe_id (doc_id {sample.get('doc_id')!r}); "
                "was this file written by Thud's lmms-eval task (thud_models/lmms_eval_task)?"
            )
        if pid in answers:
            raise ValueError(
                f"{where}: probe_id {pid!r} appears twice (first on line {lines[pid]})"
            )
        answers[pid] = _answer(sample)
        lines[pid] = lineno
    if not answers:
        raise ValueError(f"{path}: no probe samples in the file")
    return answers, lines


def read_lmms_eval_samples(path: str | Path) -> PredictionSet:
    """The samples file as a :class:`~thud_metrics.predictions.PredictionSet`.

    ``meta`` says ``harness: lmms-eval``, holds ``audio_check`` (the verdict of the task's
    canaries, from the run's results file; ``cannot_tell`` with the reason when it cannot be
    read) and ``canaries`` (their records), and, when the run's results file is beside it, the
    model (``"<model> (<model_args>)"``) and the lmms-eval version.
    """
    path = Path(path)
    canaries: list[dict[str, Any]] = []
    answers, lines = read_lmms_eval_answers(path, canaries)
    meta = _run_meta(path, len(canaries))
    meta["canaries"] = canaries
    return PredictionSet(path=path, format=FORMAT, answers=answers, meta=meta, lines=lines)
