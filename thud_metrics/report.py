"""Scoring prediction files against a built Thud dataset: the functions behind ``thud score``.

Reading a predictions file is :func:`thud_metrics.predictions.read_predictions`; this
module loads the dataset's probe columns, matches answers to probes by ``probe_id``,
scores them and formats the results (text table, JSON). Plots are in
:mod:`thud_metrics.plots`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from thud_dataset.vocab import CONDITIONS, DIMENSIONS, INTERVENTION_OF

from .predictions import PredictionSet

__all__ = [
    "PROBE_COLUMNS",
    "align_predictions",
    "format_table",
    "load_probes",
    "run_summary",
    "score_answers",
    "score_prediction_set",
    "to_jsonable",
]

#: the probe columns scoring needs (the video bytes are never loaded)
PROBE_COLUMNS: tuple[str, ...] = ("probe_id", "pair_id", "clip_id", "dimension", "condition", "offset_s", "label")


def load_probes(dataset: str | Path, cache_dir: str | Path | None = None) -> dict[str, list]:
    """The probe columns of every split of a built Thud dataset (local dir or Hub id).

    Returns
    -------
    probes : dict
        ``{column: list}`` for :data:`PROBE_COLUMNS`, splits concatenated in condition order.
    """
    import datasets  # heavy: only when scoring from a dataset

    try:
        dd = datasets.load_dataset(str(dataset), "probes", columns=list(PROBE_COLUMNS), cache_dir=cache_dir)
    except (FileNotFoundError, ValueError) as exc:
        raise ValueError(f"cannot load the probes config of dataset {str(dataset)!r}: {exc}") from exc
    splits = [s for s in CONDITIONS if s in dd]
    if not splits:
        raise ValueError(f"dataset {str(dataset)!r} has none of the probe splits {CONDITIONS}; it has {list(dd)}")
    out: dict[str, list] = {c: [] for c in PROBE_COLUMNS}
    for split in splits:
        missing = [c for c in PROBE_COLUMNS if c not in dd[split].column_names]
        if missing:
            raise ValueError(f"dataset {str(dataset)!r}, split {split!r} lacks the columns {missing}")
        table = dd[split].data  # arrow: no per-row python decoding
        for c in PROBE_COLUMNS:
            out[c].extend(table.column(c).to_pylist())
    return out


def align_predictions(
    predictions: PredictionSet, probes: dict[str, list], *, allow_missing: bool = False
) -> tuple[list[str | None], int]:
    """The answer for each dataset probe, in the dataset's order.

    Raises ``ValueError`` for probe ids that are not in the dataset (a run on another
    build), and for dataset probes without a prediction unless ``allow_missing``, which
    scores them as ``unknown`` (counted wrong).

    Returns
    -------
    answers : list of str or None
    n_missing : int
        Dataset probes without a prediction (scored as unknown).
    """
    ids = probes["probe_id"]
    known = set(ids)
    extra = [pid for pid in predictions.answers if pid not in known]
    if extra:
        first = extra[0]
        raise ValueError(
            f"{predictions.path}: {len(extra)} probe ids are not in the dataset (first: {first!r} on line "
            f"{predictions.lines.get(first, '?')}); were these predictions made on another build?"
        )
    missing = [pid for pid in ids if pid not in predictions.answers]
    if missing and not allow_missing:
        raise ValueError(
            f"{predictions.path}: {len(missing)} of the dataset's {len(ids)} probes have no prediction "
            f"(first: {missing[0]!r}); finish the run, or pass --allow-missing to score them as unknown"
        )
    return [predictions.answers.get(pid) for pid in ids], len(missing)


def score_answers(answers: Sequence[str | None], probes: dict[str, list], **score_kwargs) -> dict:
    """:func:`~thud_metrics.score_probes` on answers aligned with ``probes``' rows."""
    from .scores import score_probes

    return score_probes(
        answers,
        probes["label"],
        probes["condition"],
        probes["dimension"],
        probes["pair_id"],
        probes["offset_s"],
        probes["clip_id"],
        **score_kwargs,
    )


def run_summary(predictions: PredictionSet, n_missing: int) -> dict:
    """What the results should say about the run itself."""
    return {
        "predictions": str(predictions.path),
        "format": predictions.format,
        "meta": predictions.meta,
        "failed_calls": len(predictions.errors),
        "missing_probes_scored_unknown": n_missing,
    }


def score_prediction_set(
    predictions: PredictionSet,
    probes: dict[str, list],
    *,
    allow_missing: bool = False,
    **score_kwargs,
) -> dict:
    """Score one prediction file: :func:`~thud_metrics.score_probes` on its answers, plus a
    ``run`` entry (file, format, metadata, failed calls, missing probes)."""
    answers, n_missing = align_predictions(predictions, probes, allow_missing=allow_missing)
    results = score_answers(answers, probes, **score_kwargs)
    results["run"] = run_summary(predictions, n_missing)
    return results


def to_jsonable(obj: object) -> object:
    """Plain JSON values: NaN and inf become ``None`` (JSON has neither), numpy -> python."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def _pct(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{100 * value:.1f}"


def _ci(interval: list | None) -> str:
    if not interval or any(v is None or math.isnan(v) for v in interval):
        return "-"
    return f"[{100 * interval[0]:.1f}, {100 * interval[1]:.1f}]"


def format_table(results: dict[str, dict]) -> str:
    """The paper's Table 1 as text, one row per model: original and intervened accuracy per
    dimension, avg gap (with its CI when computed), pair accuracy, the unreadable share and
    the refusal rate (answers that say the model has no audio).
    All values in percent; ``-`` where undefined.

    Examples
    --------
    >>> from thud_metrics import score_probes
    >>> r = score_probes(["synced"] * 6, ["synced", "delayed", "synced", "silent", "synced", "mismatched"],
    ...                  ["original", "shift", "original", "mute", "original", "swap"],
    ...                  ["sync", "sync", "existence", "existence", "consistency", "consistency"],
    ...                  ["a", "a", "b", "b", "c", "c"], n_resamples=0)
    >>> print(format_table({"always-synced": r}))
                       Sync       Existence   Consistency                       Pair accuracy
    model           Orig  Shift   Orig  Mute   Orig  Swap  Avg Gap  95% CI  Sync  Exist  Cons  Avg  Unread  Refused
    always-synced  100.0    0.0  100.0   0.0  100.0   0.0    100.0       -   0.0    0.0   0.0  0.0     0.0      0.0
    """
    # (group, header, value of a result)
    columns: list[tuple[str, str, object]] = []
    for d in DIMENSIONS:
        i = INTERVENTION_OF[d]
        columns.append((d.capitalize(), "Orig", lambda r, d=d: _pct(r["accuracy"][d]["original"])))
        columns.append((d.capitalize(), i.capitalize(), lambda r, d=d, i=i: _pct(r["accuracy"][d][i])))
    columns.append(("", "Avg Gap", lambda r: _pct(r["avg_gap"])))
    columns.append(("", "95% CI", lambda r: _ci(r.get("ci", {}).get("avg_gap"))))
    for d, short in zip(DIMENSIONS, ("Sync", "Exist", "Cons"), strict=True):
        columns.append(("Pair accuracy", short, lambda r, d=d: _pct(r["pair_accuracy"][d])))
    columns.append(("Pair accuracy", "Avg", lambda r: _pct(r["avg_pair_accuracy"])))
    columns.append(("", "Unread", lambda r: _pct(r["unparseable_rate"])))
    columns.append(("", "Refused", lambda r: _pct(r.get("refusal_rate"))))

    cells = [[fn(r) for _, _, fn in columns] for r in results.values()]
    widths = [max(len(h), *(len(row[j]) for row in cells)) for j, (_, h, _) in enumerate(columns)]
    name_w = max(len("model"), *(len(n) for n in results))
    sep = "  "
    groups, j = [], 0
    while j < len(columns):  # a group label centred over its columns
        k = j
        while k + 1 < len(columns) and columns[k + 1][0] == columns[j][0]:
            k += 1
        span = sum(widths[j : k + 1]) + len(sep) * (k - j)
        groups.append(columns[j][0].center(span) if columns[j][0] else " " * span)
        j = k + 1
    lines = [
        " " * name_w + sep + sep.join(groups),
        f"{'model':<{name_w}s}" + sep + sep.join(h.rjust(w) for (_, h, _), w in zip(columns, widths, strict=True)),
    ]
    for name, row in zip(results, cells, strict=True):
        lines.append(f"{name:<{name_w}s}" + sep + sep.join(v.rjust(w) for v, w in zip(row, widths, strict=True)))
    return "\n".join(line.rstrip() for line in lines)


def headline(results: dict) -> str:
    """One line of the numbers people quote first."""
    rates = results["rates"]
    return (
        f"avg gap {_pct(results['avg_gap'])} pts, pair accuracy {_pct(results['avg_pair_accuracy'])}%, "
        f"mute hallucination {_pct(rates['mute_hallucination'])}%, shift miss {_pct(rates['shift_miss'])}%, "
        f"unreadable {_pct(results['unparseable_rate'])}%, refused {_pct(results.get('refusal_rate'))}%"
    )


def write_json(path: str | Path, payload: object) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_jsonable(payload), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def unique_names(sets: Sequence[PredictionSet]) -> list[str]:
    """A display name per prediction set: the model name, made unique with the file name."""
    names = [s.name for s in sets]
    return [n if names.count(n) == 1 else f"{n} ({s.path.name})" for n, s in zip(names, sets, strict=True)]
