"""Scoring prediction files against a built Thud dataset: the one pipeline behind
``thud score``, ``thud demo`` and ``thud report``.

:func:`score_predictions` reads nothing itself: it takes the dataset's probe columns
(:func:`load_probes`) and the prediction sets (:func:`thud_metrics.predictions.read_predictions`),
aligns each set's answers to the probes by ``probe_id``, scores them with
:func:`~thud_metrics.score_probes`, adds what the reports draw (intervals per offset band,
early vs delayed, the offset-localisation points, the Clever-Hans couples) and compares
each later set with the first. Its :class:`ScoredRuns` is what the tables
(:mod:`thud_metrics.tables`), the plots (:mod:`thud_metrics.plots`) and the HTML report
(:mod:`thud_metrics.explorer`) are made from.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from thud_dataset.vocab import CONDITIONS, DIMENSIONS

from .parsing import Judge
from .predictions import PredictionSet
from .probes import LABEL_CODES, ORIGINAL, SHIFT, SYNC, ProbeArrays, encode_probes

__all__ = [
    "AUDIO_WARNING",
    "PROBE_COLUMNS",
    "ScoredRuns",
    "align_predictions",
    "audio_check_line",
    "couples",
    "load_probes",
    "offset_summaries",
    "run_summary",
    "save_scores",
    "score_answers",
    "score_prediction_set",
    "score_predictions",
    "to_jsonable",
    "unique_names",
    "write_json",
]

#: the probe columns scoring needs (the video bytes are never loaded)
PROBE_COLUMNS: tuple[str, ...] = ("probe_id", "pair_id", "clip_id", "dimension", "condition", "offset_s", "label")

#: what every report says under a model whose audio-path check found that the sound never
#: reached it (``thud score`` prints it, the HTML report shows it at the top)
AUDIO_WARNING = "WARNING: the audio never reached the model; these scores measure the serving path"


def load_probes(
    dataset: str | Path,
    cache_dir: str | Path | None = None,
    columns: Sequence[str] = PROBE_COLUMNS,
) -> dict[str, list]:
    """Columns of every probe split of a built Thud dataset (local dir or Hub id).

    Parameters
    ----------
    columns : sequence of str
        Which columns (default :data:`PROBE_COLUMNS`, what scoring needs; never the video).

    Returns
    -------
    probes : dict
        ``{column: list}``, splits concatenated in condition order (the same order for any
        ``columns``).
    """
    from thud_dataset.hub.load import load_config  # heavy: only when scoring from a dataset

    columns = list(dict.fromkeys([*PROBE_COLUMNS, *columns]))
    try:
        dd = load_config(dataset, "probes", columns=columns, cache_dir=cache_dir)
    except (FileNotFoundError, ValueError) as exc:
        raise ValueError(f"cannot load the probes config of dataset {str(dataset)!r}: {exc}") from exc
    splits = [s for s in CONDITIONS if s in dd]
    if not splits:
        raise ValueError(f"dataset {str(dataset)!r} has none of the probe splits {CONDITIONS}; it has {list(dd)}")
    out: dict[str, list] = {c: [] for c in columns}
    for split in splits:
        missing = [c for c in columns if c not in dd[split].column_names]
        if missing:
            raise ValueError(f"dataset {str(dataset)!r}, split {split!r} lacks the columns {missing}")
        table = dd[split].data  # arrow: no per-row python decoding
        for c in columns:
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


def _probe_args(probes: dict[str, list]) -> tuple:
    return (
        probes["label"],
        probes["condition"],
        probes["dimension"],
        probes["pair_id"],
        probes["offset_s"],
        probes["clip_id"],
    )


def score_answers(answers: Sequence[str | None], probes: dict[str, list], **score_kwargs) -> dict:
    """:func:`~thud_metrics.score_probes` on answers aligned with ``probes``' rows."""
    from .scores import score_probes

    return score_probes(answers, *_probe_args(probes), **score_kwargs)


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


# -- what the reports add to score_probes' numbers ------------------------------------------


def couples(probes: dict[str, list]) -> list[tuple[int, int]]:
    """Every (original, intervened) couple of probe rows that share a ``pair_id``.

    A pair is the original probe of one clip and one dimension with its intervened probe;
    when an original is paired with several intervened probes (an offset sweep), each of
    them makes one couple with it. Sorted by the intervened probe's row.

    Examples
    --------
    >>> couples({"pair_id": ["a", "a", "b", "b", "b"],
    ...          "condition": ["original", "shift", "shift", "original", "shift"]})
    [(0, 1), (3, 2), (3, 4)]
    """
    originals: dict[str, list[int]] = {}
    for i, (pid, cond) in enumerate(zip(probes["pair_id"], probes["condition"], strict=True)):
        if cond == "original":
            originals.setdefault(pid, []).append(i)
    out = []
    for i, (pid, cond) in enumerate(zip(probes["pair_id"], probes["condition"], strict=True)):
        if cond != "original":
            out.extend((o, i) for o in originals.get(pid, ()))
    return out


def _signed_band_labels(band_labels: list[str]) -> list[tuple[str, str, int]]:
    """(label, sign, band index): early bands from the largest |tau| in, then delayed out."""
    early = [(f"early {b}", "early", i) for i, b in reversed(list(enumerate(band_labels)))]
    delayed = [(f"delayed {b}", "delayed", i) for i, b in enumerate(band_labels)]
    return [*early, ("synced", "synced", -1), *delayed]


def _groups(p: ProbeArrays, bands: Sequence[float]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Probe masks of the |tau| bands and of the signed bands (both with ``synced``)."""
    from .scores import _band_labels, _check_bands

    edges = _check_bands(bands)
    labels = _band_labels(edges)
    synced = (p.cond == ORIGINAL) & (p.dim == SYNC)
    shifted = (p.cond == SHIFT) & ~np.isnan(p.offset)
    band = np.full(len(p), -1)
    band[shifted] = np.searchsorted(edges, np.abs(p.offset[shifted]), side="right") - 1
    by_abs = {"synced": synced, **{label: shifted & (band == i) for i, label in enumerate(labels)}}
    by_signed = {}
    for label, sign, i in _signed_band_labels(labels):
        if sign == "synced":
            by_signed[label] = synced
        else:
            side = p.offset < 0 if sign == "early" else p.offset > 0
            by_signed[label] = shifted & (band == i) & side
    return by_abs, by_signed


def _group_accuracy(
    p: ProbeArrays, masks: dict[str, np.ndarray], n_resamples: int, confidence: float, seed: int
) -> dict[str, dict]:
    """Accuracy and ``n`` of each probe group, with a clip-bootstrap interval when asked."""
    from .bootstrap import _interval, resampled_sums
    from .stats import ratios

    m = p.n_units
    correct = p.correct
    num = np.stack([np.bincount(p.unit[mask & correct], minlength=m) for mask in masks.values()], axis=1)
    den = np.stack([np.bincount(p.unit[mask], minlength=m) for mask in masks.values()], axis=1)
    point = ratios(num.sum(0).astype(float), den.sum(0).astype(float))
    out = {}
    for j, label in enumerate(masks):
        out[label] = {"accuracy": float(point[j]), "n": int(den[:, j].sum())}
    if n_resamples:
        boot = ratios(*resampled_sums(num.astype(float), den.astype(float), n_resamples, seed))
        for j, label in enumerate(masks):
            out[label]["ci"] = _interval(boot[:, j], confidence)
    return out


def _localisation(p: ProbeArrays) -> list[dict]:
    """Stated offset vs true ``tau`` on sync probes whose answer states seconds, per tau."""
    sel = (p.dim == SYNC) & ~np.isnan(p.stated) & ~np.isnan(p.offset)
    tau = np.round(p.offset[sel], 3)
    stated = p.stated[sel]
    out = []
    for t in np.unique(tau):
        s = stated[tau == t]
        q25, median, q75 = np.quantile(s, [0.25, 0.5, 0.75])
        out.append({
            "tau": float(t), "n": int(s.size), "median": float(median), "q25": float(q25), "q75": float(q75),
            "mean_abs_error": float(np.mean(np.abs(s - t))),
        })  # fmt: skip
    return out


def offset_summaries(
    p: ProbeArrays,
    bands: Sequence[float],
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict:
    """What the offset plots draw, beyond :func:`~thud_metrics.score_probes`' numbers.

    Returns
    -------
    summaries : dict
        ``ci_by_offset``: ``{band: [low, high]}``, the clip-bootstrap interval of each entry
        of ``accuracy_by_offset`` (absent with ``n_resamples=0``);
        ``accuracy_by_signed_offset``: ``{"early <band>" ... "synced" ... "delayed <band>":
        {"accuracy", "n", "ci"}}``, the |tau| bands split by the sign of ``tau``, largest
        early offsets first; ``offset_localisation``: per distinct ``tau`` (ms-rounded) of
        the sync probes whose answer states seconds, ``{"tau", "n", "median", "q25",
        "q75", "mean_abs_error"}`` of the stated offsets (empty when none states one).
    """
    by_abs, by_signed = _groups(p, bands)
    out: dict = {}
    if n_resamples:
        acc = _group_accuracy(p, by_abs, n_resamples, confidence, seed)
        out["ci_by_offset"] = {label: v["ci"] for label, v in acc.items()}
    signed = _group_accuracy(p, by_signed, n_resamples, confidence, seed)
    for label, v in signed.items():
        v["sign"] = label.split()[0]
    out["accuracy_by_signed_offset"] = signed
    out["offset_localisation"] = _localisation(p)
    return out


# -- the pipeline ----------------------------------------------------------------------------


@dataclass
class Readings:
    """How Thud read one model's answers, aligned with the probe rows.

    Attributes
    ----------
    answers : list of str or None
        The raw answers (``None``: a failed call or a missing prediction).
    labels : ndarray of str, shape (n,)
        The reading of each answer (a label, ``unknown``, or any other reading the parser has).
    correct : ndarray of bool, shape (n,)
    stated : ndarray of float, shape (n,)
        The signed offset the answer states, NaN where none.
    """

    answers: list[str | None]
    labels: np.ndarray
    correct: np.ndarray
    stated: np.ndarray

    def clever_hans(self, pairs: Sequence[tuple[int, int]]) -> list[int]:
        """Indexes into ``pairs`` of the couples right on the original, wrong on the intervened."""
        return [k for k, (o, i) in enumerate(pairs) if self.correct[o] and not self.correct[i]]


@dataclass
class ScoredRuns:
    """Several models' prediction sets scored on one dataset's probes."""

    dataset: str
    probes: dict[str, list]
    names: list[str]
    sets: list[PredictionSet]
    readings: list[Readings]
    results: dict[str, dict]
    comparisons: dict[str, dict]
    couples: list[tuple[int, int]]
    bands: tuple[float, ...]
    n_resamples: int
    seed: int
    #: the judge of each set as given (None: the rules alone)
    judges: list

    def payload(self) -> dict:
        """What ``results.json`` holds."""
        return {
            "dataset": self.dataset,
            "bands": list(self.bands),
            "n_resamples": self.n_resamples,
            "seed": self.seed,
            "models": self.results,
            "comparisons": self.comparisons,
        }


class _Remembering:
    """A judge that is asked once per distinct (answer, dimension), however often the pipeline
    reads the answers (scores, readings, comparisons); it keeps the judge's ``name`` and its
    batch call ``judge_many`` (one call for many answers) when it has one."""

    def __init__(self, judge: Judge):
        self.judge = judge
        self.name = getattr(judge, "name", None) or getattr(judge, "__qualname__", None) or type(judge).__name__
        self._replies: dict[tuple, str] = {}

    def __call__(self, answer: str, dimension: str | None) -> str:
        return self.judge_many([(answer, dimension)])[0]

    def judge_many(self, items: list[tuple[str, str | None]]) -> list[str]:
        new = list(dict.fromkeys(i for i in items if i not in self._replies))
        if new:
            many = getattr(self.judge, "judge_many", None)
            replies = list(many(new)) if callable(many) else [self.judge(a, d) for a, d in new]
            if len(replies) != len(new):
                raise ValueError(f"the judge returned {len(replies)} replies for {len(new)} answers")
            self._replies.update(zip(new, replies, strict=True))
        return [self._replies[i] for i in items]


def score_predictions(
    probes: dict[str, list],
    prediction_sets: Sequence[PredictionSet],
    *,
    dataset: str | Path = "",
    names: Sequence[str] | None = None,
    allow_missing: bool = False,
    bands: Sequence[float] | None = None,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    judges: Judge | Sequence[Judge | None] | None = None,
    judge_all: bool = False,
    **score_kwargs,
) -> ScoredRuns:
    """Score prediction sets on a dataset's probes: read → align → score → summaries →
    comparisons (the pipeline of ``thud score``, ``thud demo`` and ``thud report``).

    Parameters
    ----------
    probes : dict
        Probe columns (:func:`load_probes`; at least :data:`PROBE_COLUMNS`).
    prediction_sets : sequence of PredictionSet
        One per model; names come from their metadata (made unique by file name).
    allow_missing : bool
        Score dataset probes without a prediction as ``unknown`` instead of failing.
    bands : sequence of float, optional
        |tau| band edges (default :data:`~thud_metrics.DEFAULT_BANDS`).
    n_resamples, confidence, seed :
        The clip bootstrap of every interval and of the paired comparisons (0: none).
    judges : callable or sequence of callables, optional
        The LLM judge (:mod:`thud_metrics.judge`) of every set, or one per set (``None``
        for a set read by the rules alone). Each is asked once per distinct answer, however
        often the pipeline reads it.
    judge_all : bool
        Judge every answer, not only those the rules cannot read (see
        :func:`~thud_metrics.score_probes`).
    **score_kwargs :
        Passed on to :func:`~thud_metrics.score_probes`.

    Returns
    -------
    ScoredRuns
        ``results[name]`` is :func:`~thud_metrics.score_probes`' dict plus ``run``
        (:func:`run_summary`), the :func:`offset_summaries` (band intervals are added to
        ``accuracy_by_offset`` entries as ``ci``) and ``clever_hans``: per dimension, the
        couples and those right on the original and wrong on the intervened probe.
        ``comparisons["B vs A"]`` is :func:`~thud_metrics.compare` of each later set B with
        the first set A (when there are several and ``n_resamples > 0``).

    Raises
    ------
    ValueError
        No prediction sets; predictions of probes not in the dataset; missing predictions
        (unless ``allow_missing``); any bad metric input (named by row).
    """
    from .compare import compare
    from .scores import DEFAULT_BANDS

    if not prediction_sets:
        raise ValueError("no prediction sets to score")
    bands = tuple(DEFAULT_BANDS if bands is None else bands)
    names = list(names) if names is not None else unique_names(prediction_sets)
    if len(set(names)) != len(names):
        raise ValueError(f"model names must be unique; got {names}")
    if judges is None or callable(judges):
        judges = [judges] * len(prediction_sets)
    if len(judges) != len(prediction_sets):
        raise ValueError(f"got {len(judges)} judges for {len(prediction_sets)} prediction sets")
    remembering = {id(j): _Remembering(j) for j in judges if j is not None}
    asked = [None if j is None else remembering[id(j)] for j in judges]
    pairs = couples(probes)
    results, readings, aligned = {}, [], []
    for name, pset, judge in zip(names, prediction_sets, asked, strict=True):
        answers, n_missing = align_predictions(pset, probes, allow_missing=allow_missing)
        aligned.append(answers)
        r = score_answers(answers, probes, bands=bands, n_resamples=n_resamples, confidence=confidence,
                          seed=seed, judge=judge, judge_all=judge_all, **score_kwargs)  # fmt: skip
        r["run"] = run_summary(pset, n_missing)
        p = encode_probes(answers, *_probe_args(probes), judge=judge, judge_all=judge_all)
        extra = offset_summaries(p, bands, n_resamples=n_resamples, confidence=confidence, seed=seed)
        for label, ci in extra.pop("ci_by_offset", {}).items():
            r["accuracy_by_offset"][label]["ci"] = ci
        r.update(extra)
        read = Readings(answers, np.asarray(LABEL_CODES, dtype=object)[p.pred], p.correct, p.stated)
        readings.append(read)
        r["clever_hans"] = _clever_hans_counts(probes, pairs, read)
        results[name] = r

    comparisons = {}
    if len(prediction_sets) > 1 and n_resamples > 0:
        for name, answers, judge in zip(names[1:], aligned[1:], asked[1:], strict=True):
            comparisons[f"{name} vs {names[0]}"] = compare(
                aligned[0], answers, probes["label"], probes["condition"], probes["dimension"],
                probes["pair_id"], probes["clip_id"], n_resamples=n_resamples, confidence=confidence,
                seed=seed, judge=asked[0], judge_b=judge, judge_all=judge_all,
            )  # fmt: skip
    return ScoredRuns(
        dataset=str(dataset), probes=probes, names=names, sets=list(prediction_sets), readings=readings,
        results=results, comparisons=comparisons, couples=pairs, bands=bands, n_resamples=n_resamples,
        seed=seed, judges=list(judges),
    )  # fmt: skip


def _clever_hans_counts(probes: dict[str, list], pairs: list[tuple[int, int]], read: Readings) -> dict:
    dims = probes["dimension"]
    flagged = set(read.clever_hans(pairs))
    out = {}
    for d in DIMENSIONS:
        ks = [k for k, (o, _) in enumerate(pairs) if dims[o] == d]
        out[d] = {"couples": len(ks), "right_then_wrong": sum(k in flagged for k in ks)}
    return out


# -- small shared pieces -----------------------------------------------------------------------


def audio_check_line(meta: dict) -> str | None:
    """The run's audio-path verdict (``_meta["audio_check"]``, written by ``thud run``), with
    :data:`AUDIO_WARNING` on a second line when the audio never reached the model."""
    check = meta.get("audio_check")
    if check is None:
        return None
    if not isinstance(check, dict) or "verdict" not in check:
        return str(check)
    line = str(check["verdict"]) + (f": {check['reason']}" if check.get("reason") else "")
    if check["verdict"] == "does_not_reach":
        line += "\n  " + AUDIO_WARNING
    return line


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


def write_json(path: str | Path, payload: object) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_jsonable(payload), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def unique_names(sets: Sequence[PredictionSet]) -> list[str]:
    """A display name per prediction set: the model name, made unique with the file name."""
    names = [s.name for s in sets]
    out = [n if names.count(n) == 1 else f"{n} ({s.path.name})" for n, s in zip(names, sets, strict=True)]
    seen: dict[str, int] = {}
    for i, n in enumerate(out):  # the same file twice: number them
        seen[n] = seen.get(n, 0) + 1
        if out.count(n) > 1:
            out[i] = f"{n} #{seen[n]}"
    return out


#: file extension of each table format's file
TABLE_EXTENSIONS = {"markdown": "md", "latex": "tex", "csv": "csv", "json": "json"}


def save_scores(scored: ScoredRuns, out_dir: str | Path, *, plots: bool = True, fmt: str = "text") -> dict:
    """Write what ``thud score`` leaves in its output folder.

    ``results.json`` (:meth:`ScoredRuns.payload`), the judge's disagreement and unreadable
    lists when a judge was used (:func:`thud_metrics.judge.write_judge_files`, which moves
    them out of the results), the table in ``fmt`` as ``table.<ext>`` (not for ``text``;
    with ``csv`` the comparisons go to ``comparisons.csv``) and the plots
    (:func:`thud_metrics.plots.plot_all`) unless ``plots=False``.

    Returns
    -------
    paths : dict
        ``results`` (Path), ``judge``, ``tables``, ``plots`` (lists of Path).
    """
    from .judge import write_judge_files
    from .tables import comparisons_csv, render

    out_dir = Path(out_dir)
    judge_files = write_judge_files(out_dir, scored.results)  # the judge's lists go to their own files
    paths: dict = {"results": write_json(out_dir / "results.json", scored.payload()), "tables": [], "plots": [],
                   "judge": judge_files}  # fmt: skip
    if fmt != "text":
        table = out_dir / f"table.{TABLE_EXTENSIONS[fmt]}"
        table.write_text(render(scored.results, scored.comparisons, fmt), encoding="utf-8")
        paths["tables"].append(table)
        if fmt == "csv" and scored.comparisons:
            comp = out_dir / "comparisons.csv"
            comp.write_text(comparisons_csv(scored.comparisons), encoding="utf-8")
            paths["tables"].append(comp)
    if plots:
        from .plots import plot_all

        paths["plots"] = plot_all(scored.results, out_dir)
    return paths
