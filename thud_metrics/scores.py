"""The thud_gap numbers as plain numpy functions.

Every function takes per-probe arrays of equal length n: ``predictions`` (free text or
labels; parsed with :func:`~thud_metrics.parse_answers`, so a letter is read through the
probe's dimension), ``references`` (gold labels), ``conditions``, ``dimensions`` and, where
needed, ``pair_ids``, ``offsets`` (``tau`` in seconds) and ``clip_ids``. Inputs are checked
by :func:`~thud_metrics.probes.encode_probes`: a bad row raises ``ValueError`` naming it.
A number with nothing to count (no mute probes, no directional answers...) is NaN.

:func:`score_probes` computes everything at once (parsing each answer once); the others
are the same computations one at a time.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from thud_dataset.vocab import CONDITIONS, DIMENSIONS, GOLD_LABELS, INTERVENTION_OF, LABELS, REFUSED

from .parsing import Judge, parse_answers
from .probes import (
    DELAYED,
    EARLY,
    LABEL_CODES,
    ORIGINAL,
    REFUSED_CODE,
    SHIFT,
    SYNC,
    SYNCED,
    ProbeArrays,
    encode_probes,
)
from .stats import ACC_CELLS, RATE_NAMES, assemble, nest, pair_table, ratios, unit_counts

__all__ = [
    "DECOMPOSITION_CATEGORIES",
    "DEFAULT_BANDS",
    "accuracy",
    "accuracy_by_offset",
    "confusion",
    "decomposition",
    "error_rates",
    "gaps",
    "offset_error",
    "pair_accuracy",
    "score_probes",
    "refusal_rate",
    "unparseable_rate",
]

#: edges (seconds) of the |tau| bands of :func:`accuracy_by_offset`: [0, 0.4), [0.4, 0.65),
#: [0.65, 1), [1, inf): one band per default offset magnitude (0.3, 0.5, 0.8, 1.2 s), the
#: edges between them, so no band is empty by construction
DEFAULT_BANDS: tuple[float, ...] = (0.0, 0.4, 0.65, 1.0, float("inf"))

#: how :func:`decomposition` sorts each prediction (paper Fig. 4)
DECOMPOSITION_CATEGORIES: tuple[str, ...] = (
    "correct",
    "synced",  # a wrong "synced": hallucinated synced (mute, swap) or a missed shift
    "wrong_direction",  # early for delayed or delayed for early
    "shift",  # early/delayed where the audio was not shifted: hallucinated shift
    "silent",  # a wrong "silent"
    "mismatched",  # a wrong "mismatched"
    "refused",  # "I have no audio": no claim about the clip
    "unknown",  # unreadable
)


def _point(p: ProbeArrays, counts: tuple[np.ndarray, np.ndarray] | None = None) -> dict[str, float]:
    num, den = unit_counts(p) if counts is None else counts
    return {k: float(v) for k, v in assemble(ratios(num.sum(0), den.sum(0))).items()}


def accuracy(
    predictions: Sequence[str | None],
    references: Sequence[str],
    conditions: Sequence[str],
    dimensions: Sequence[str],
) -> dict[str, dict[str, float]]:
    """Accuracy per (dimension, condition): the share of probes whose answer is the gold label.

    Unreadable answers (``unknown``) and refusals (``refused``) count as wrong. A shift probe is right only with the
    right direction.

    Returns
    -------
    accuracy : dict
        ``{dimension: {"original": acc, <its intervention>: acc}}``, values in [0, 1]
        (NaN for a cell with no probes).

    Examples
    --------
    >>> accuracy(["A", "A", "yes", "B"], ["synced", "early", "synced", "silent"],
    ...          ["original", "shift", "original", "mute"], ["sync", "sync", "existence", "existence"])
    ... # doctest: +NORMALIZE_WHITESPACE
    {'sync': {'original': 1.0, 'shift': 0.0}, 'existence': {'original': 1.0, 'mute': 1.0},
     'consistency': {'original': nan, 'swap': nan}}
    """
    p = encode_probes(predictions, references, conditions, dimensions)
    return _accuracy(_point(p))


def _accuracy(point: dict[str, float]) -> dict[str, dict[str, float]]:
    return nest({f"{d}/{c}": point[f"accuracy/{d}/{c}"] for d, c in ACC_CELLS})


def gaps(acc: dict[str, dict[str, float]]) -> tuple[dict[str, float], float]:
    """Gap per dimension (original accuracy - intervened accuracy) and their mean, ``avg_gap``.

    A large gap means the model does well on natural videos and fails once the sound is
    moved, removed or replaced: it answers from the picture. ``avg_gap`` is the mean over
    the dimensions that have a gap (the paper's headline number when all three do).

    Parameters
    ----------
    acc : dict
        The output of :func:`accuracy`.

    Returns
    -------
    gap : dict of float, values in [-1, 1]
    avg_gap : float

    Examples
    --------
    >>> gaps({"sync": {"original": 1.0, "shift": 0.25}, "existence": {"original": 0.5, "mute": 0.5},
    ...       "consistency": {"original": 1.0, "swap": 0.0}})
    ({'sync': 0.75, 'existence': 0.0, 'consistency': 1.0}, 0.5833333333333334)
    """
    gap = {d: float(acc[d]["original"] - acc[d][INTERVENTION_OF[d]]) for d in DIMENSIONS if d in acc}
    values = [g for g in gap.values() if not np.isnan(g)]
    return gap, float(np.mean(values)) if values else float("nan")


def pair_accuracy(
    predictions: Sequence[str | None],
    references: Sequence[str],
    conditions: Sequence[str],
    dimensions: Sequence[str],
    pair_ids: Sequence[str],
) -> dict[str, float]:
    """Per dimension, the share of pairs with *both* probes right.

    A pair is the original probe and an intervened probe of one clip and one dimension. A
    constant answer gets one of the two wrong, so it scores 0 here whatever its accuracy:
    this is the number a prior cannot game. When several intervened probes share one
    original (an offset sweep: K shifts of one clip), each (original, intervened) couple
    is one pair. Originals whose intervened probes are absent are not counted; an
    intervened probe without its original is an error.

    Returns
    -------
    pair_accuracy : dict of float
        ``{dimension: value in [0, 1]}``, NaN for a dimension without complete pairs.

    Examples
    --------
    >>> pair_accuracy(["synced", "synced", "synced", "delayed"], ["synced", "early", "synced", "delayed"],
    ...               ["original", "shift", "original", "shift"], ["sync"] * 4, ["p1", "p1", "p2", "p2"])
    {'sync': 0.5, 'existence': nan, 'consistency': nan}

    One original with two shifts (a sweep) is two pairs; here one of them is right:

    >>> pair_accuracy(["synced", "early", "synced"], ["synced", "early", "delayed"],
    ...               ["original", "shift", "shift"], ["sync"] * 3, ["p1"] * 3)["sync"]
    0.5
    """
    p = encode_probes(predictions, references, conditions, dimensions, pair_ids)
    point = _point(p)
    return {d: point[f"pair_accuracy/{d}"] for d in DIMENSIONS}


def error_rates(
    predictions: Sequence[str | None],
    references: Sequence[str],
    conditions: Sequence[str],
    dimensions: Sequence[str],
) -> dict[str, float]:
    """The error rates of the paper's Fig. 3, each in [0, 1] (NaN with an empty denominator).

    ============================  ====================================================
    ``mute_hallucination``        P(a sound is claimed | mute): read, and not ``silent``
    ``false_silence``             P(``silent`` | original, existence)
    ``swap_false_match``          P(``synced`` | swap)
    ``swap_false_mismatch``       P(``mismatched`` | original, consistency)
    ``shift_miss``                P(``synced`` | shift)
    ``wrong_direction``           P(opposite direction | shift, answer gave a direction)
    ``hallucinated_shift``        P(``early`` or ``delayed`` | original, sync)
    ============================  ====================================================

    The rates on original probes are taken on the dimension whose prompt offers that label
    (a ``silent`` answer is an option of the existence question only). Unreadable answers
    and refusals are in the denominators but never in a numerator: they are reported by
    :func:`unparseable_rate` and :func:`refusal_rate`, not credited to an error.

    Examples
    --------
    >>> rates = error_rates(["synced", "silent", "B", "synced"], ["silent", "silent", "delayed", "delayed"],
    ...                     ["mute", "mute", "shift", "shift"], ["existence", "existence", "sync", "sync"])
    >>> rates["mute_hallucination"], rates["shift_miss"], rates["wrong_direction"]
    (0.5, 0.5, 1.0)
    """
    p = encode_probes(predictions, references, conditions, dimensions)
    point = _point(p)
    return {r: point[f"rates/{r}"] for r in RATE_NAMES}


def unparseable_rate(predictions: Sequence[str | None], dimensions: Sequence[str] | None = None) -> float:
    """The share of answers the parser reads as ``unknown`` (None, empty, unreadable).

    Examples
    --------
    >>> unparseable_rate(["A", "Let me think.", None, "The sound is early."], ["sync"] * 4)
    0.5
    """
    predictions = list(predictions)
    if not predictions:
        raise ValueError("no probes to score: predictions is empty")
    labels, _ = parse_answers(predictions, dimensions)
    return float(np.mean(labels == "unknown"))


def refusal_rate(predictions: Sequence[str | None], dimensions: Sequence[str] | None = None) -> float:
    """The share of answers that refuse: the model says it has no audio or cannot hear it.

    A refusal is no claim about the clip (never ``silent``); it is counted wrong like an
    unreadable answer and is evidence that the audio does not reach the model.

    Examples
    --------
    >>> refusal_rate(["A", "I'm sorry, I can't process audio.", None, "No audio was provided to me."])
    0.5
    """
    predictions = list(predictions)
    if not predictions:
        raise ValueError("no probes to score: predictions is empty")
    labels, _ = parse_answers(predictions, dimensions)
    return float(np.mean(labels == REFUSED))


def _confusion_counts(p: ProbeArrays) -> np.ndarray:
    k = len(LABEL_CODES)
    flat = (p.cond.astype(np.int64) * k + p.gold) * k + p.pred
    return np.bincount(flat, minlength=len(CONDITIONS) * k * k).reshape(len(CONDITIONS), k, k)



def _confusion(p: ProbeArrays) -> dict[str, dict[str, dict[str, int]]]:
    counts = _confusion_counts(p)
    return {
        c: {
            g: {label: int(counts[ci, LABELS.index(g), j]) for j, label in enumerate(LABEL_CODES)}
            for g in GOLD_LABELS[c]
        }
        for ci, c in enumerate(CONDITIONS)
    }


def confusion(
    predictions: Sequence[str | None],
    references: Sequence[str],
    conditions: Sequence[str],
    dimensions: Sequence[str],
) -> dict[str, dict[str, dict[str, int]]]:
    """Counts of predicted vs gold labels, per condition.

    Returns
    -------
    confusion : dict
        ``{condition: {gold: {predicted: count}}}``; every condition, its possible gold
        labels (``early``/``delayed`` for shift, one label otherwise) and all seven readings
        (the five labels, then ``refused`` and ``unknown``) are present, zero where nothing
        was counted.

    Examples
    --------
    >>> c = confusion(["B", "A", "C"], ["early", "early", "delayed"], ["shift"] * 3, ["sync"] * 3)
    >>> c["shift"]["early"]["early"], c["shift"]["early"]["synced"], c["shift"]["delayed"]["delayed"]
    (1, 1, 1)
    """
    return _confusion(encode_probes(predictions, references, conditions, dimensions))


def decomposition(conf: dict[str, dict[str, dict[str, int]]]) -> dict[str, dict[str, float]]:
    """Each condition's predictions sorted into :data:`DECOMPOSITION_CATEGORIES` (paper Fig. 4).

    Parameters
    ----------
    conf : dict
        The output of :func:`confusion`.

    Returns
    -------
    decomposition : dict
        ``{condition: {category: share}}``; the shares of a condition sum to 1 (all NaN for
        a condition without probes).

    Examples
    --------
    >>> conf = confusion(["synced", "silent", "early", "x"], ["silent"] * 4, ["mute"] * 4, ["existence"] * 4)
    >>> decomposition(conf)["mute"]
    {'correct': 0.25, 'synced': 0.25, 'wrong_direction': 0.0, 'shift': 0.25, 'silent': 0.0, 'mismatched': 0.0, 'refused': 0.0, 'unknown': 0.25}
    """
    out = {}
    for cond, by_gold in conf.items():
        counts = dict.fromkeys(DECOMPOSITION_CATEGORIES, 0)
        for gold, row in by_gold.items():
            for pred, n in row.items():
                if pred == gold:
                    cat = "correct"
                elif pred in ("early", "delayed"):
                    cat = "wrong_direction" if gold in ("early", "delayed") else "shift"
                else:
                    cat = pred
                counts[cat] += n
        total = sum(counts.values())
        out[cond] = {k: (v / total if total else float("nan")) for k, v in counts.items()}
    return out


def _band_labels(bands: Sequence[float]) -> list[str]:
    return [f"≥{lo:g} s" if np.isinf(hi) else f"{lo:g}-{hi:g} s" for lo, hi in zip(bands[:-1], bands[1:], strict=True)]


def _check_bands(bands: Sequence[float]) -> np.ndarray:
    edges = np.asarray(bands, dtype=float)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0) or edges[0] < 0 or np.isnan(edges).any():
        raise ValueError(f"bands must be >= 2 increasing non-negative edges in seconds; got {list(bands)}")
    return edges


def _accuracy_by_offset(p: ProbeArrays, bands: Sequence[float]) -> dict[str, dict[str, float]]:
    edges = _check_bands(bands)
    correct = p.correct
    out = {}
    synced = (p.cond == ORIGINAL) & (p.dim == SYNC)
    n = int(synced.sum())
    out["synced"] = {"accuracy": float(correct[synced].mean()) if n else float("nan"), "n": n}
    shift = (p.cond == SHIFT) & ~np.isnan(p.offset)
    mag = np.abs(p.offset[shift])
    band = np.searchsorted(edges, mag, side="right") - 1  # [lo, hi)
    inside = (band >= 0) & (band < len(edges) - 1)
    n_b = np.bincount(band[inside], minlength=len(edges) - 1)
    c_b = np.bincount(band[inside], weights=correct[shift][inside], minlength=len(edges) - 1)
    for label, nb, cb in zip(_band_labels(edges), n_b, c_b, strict=True):
        out[label] = {"accuracy": float(cb / nb) if nb else float("nan"), "n": int(nb)}
    return out


def accuracy_by_offset(
    predictions: Sequence[str | None],
    references: Sequence[str],
    conditions: Sequence[str],
    dimensions: Sequence[str],
    offsets: Sequence[float | None],
    bands: Sequence[float] = DEFAULT_BANDS,
) -> dict[str, dict[str, float]]:
    """Sync accuracy by |tau| band (paper Fig. 5).

    Parameters
    ----------
    bands : sequence of float
        Increasing edges in seconds; band i is ``[bands[i], bands[i+1])`` (the last edge may
        be ``inf``). Shift probes outside every band, or without an offset, are left out.

    Returns
    -------
    by_band : dict
        ``{"synced": {...}, "<lo>-<hi> s": {...}, ...}`` with ``accuracy`` (NaN when empty)
        and ``n`` for the original sync probes (tau = 0) and each band of shift probes.

    Examples
    --------
    >>> accuracy_by_offset(["A", "B", "A", "C"], ["synced", "early", "early", "delayed"],
    ...                    ["original", "shift", "shift", "shift"], ["sync"] * 4, [0, -0.3, -1.2, 1.5],
    ...                    bands=[0, 1, float("inf")])
    {'synced': {'accuracy': 1.0, 'n': 1}, '0-1 s': {'accuracy': 1.0, 'n': 1}, '≥1 s': {'accuracy': 0.5, 'n': 2}}
    """
    p = encode_probes(predictions, references, conditions, dimensions, offsets=offsets)
    return _accuracy_by_offset(p, bands)


def _offset_error(p: ProbeArrays) -> dict[str, float]:
    sel = (p.dim == SYNC) & ~np.isnan(p.stated) & ~np.isnan(p.offset)
    err = np.abs(p.stated[sel] - p.offset[sel])
    n = int(sel.sum())
    return {
        "mean_abs_error": float(err.mean()) if n else float("nan"),
        "median_abs_error": float(np.median(err)) if n else float("nan"),
        "n": n,
    }


def offset_error(
    predictions: Sequence[str | None],
    references: Sequence[str],
    conditions: Sequence[str],
    dimensions: Sequence[str],
    offsets: Sequence[float | None],
) -> dict[str, float]:
    """How far a stated offset is from ``tau``, for sync answers that state seconds.

    An answer such as "the audio is about 0.5 s late" states +0.5 s (early is negative);
    its error is ``|stated - tau|`` (``tau`` = 0 on original probes). Answers without a
    number of seconds, or without a direction, are left out.

    Returns
    -------
    offset_error : dict
        ``mean_abs_error`` and ``median_abs_error`` in seconds (NaN when ``n`` is 0), ``n``.

    Examples
    --------
    >>> offset_error(["The audio is 0.5 s late.", "It comes 1 second early.", "B"],
    ...              ["delayed", "early", "early"], ["shift"] * 3, ["sync"] * 3, [1.0, -0.5, -0.5])
    {'mean_abs_error': 0.5, 'median_abs_error': 0.5, 'n': 2}
    """
    p = encode_probes(predictions, references, conditions, dimensions, offsets=offsets)
    return _offset_error(p)


def _counts(p: ProbeArrays) -> dict:
    per_cell = nest(
        {f"{d}/{c}": int(np.sum((p.dim == DIMENSIONS.index(d)) & (p.cond == CONDITIONS.index(c)))) for d, c in ACC_CELLS}
    )
    _, pair_dim, _ = pair_table(p)
    return {
        "probes": len(p),
        "per_condition": per_cell,
        "pairs": {d: int(np.sum(pair_dim == i)) for i, d in enumerate(DIMENSIONS)},
        "unknown": int(np.sum(p.pred == LABEL_CODES.index("unknown"))),
        "refused": int(np.sum(p.pred == REFUSED_CODE)),
        "answers_with_direction": int(np.sum((p.pred == EARLY) | (p.pred == DELAYED))),
        "answers_synced": int(np.sum(p.pred == SYNCED)),
        p.unit_kind + "s": p.n_units,
    }


def score_probes(
    predictions: Sequence[str | None],
    references: Sequence[str],
    conditions: Sequence[str],
    dimensions: Sequence[str],
    pair_ids: Sequence[str],
    offsets: Sequence[float | None] | None = None,
    clip_ids: Sequence[str] | None = None,
    *,
    bands: Sequence[float] = DEFAULT_BANDS,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    judge: Judge | None = None,
    judge_all: bool = False,
) -> dict:
    """Every thud_gap number in one dict (what the ``thud_gap`` evaluate module returns).

    Parameters
    ----------
    predictions : sequence of str or None, shape (n,)
        Free-form answers or labels; ``None`` (a failed call) is ``unknown``.
    references, conditions, dimensions, pair_ids : sequence of str, shape (n,)
    offsets : sequence of float or None, shape (n,), optional
        ``tau`` per probe (0 for non-shift probes). Needed for the offset bands and the
        offset error; without it those are empty.
    clip_ids : sequence of str, shape (n,), optional
        The bootstrap resamples clips (without clip ids: pairs).
    bands : sequence of float
        |tau| band edges of ``accuracy_by_offset``.
    n_resamples : int
        Bootstrap resamples for the confidence intervals; 0 leaves out ``ci``.
    confidence : float in (0, 1)
    seed : int
        Seed of the bootstrap: the same seed gives the same intervals.
    judge : callable, optional
        ``judge(answer, dimension) -> reply``, e.g. :func:`thud_metrics.judge.make_judge`.
        By default it reads the answers the rules leave ``unknown``; see
        :func:`~thud_metrics.parse_answers`.
    judge_all : bool
        Ask the judge about every answer and score its verdicts; ``judge`` in the results
        then holds the agreement of the rules and the judge (counts, Cohen's kappa).

    Returns
    -------
    results : dict
        ``avg_gap``, ``gap``, ``accuracy``, ``pair_accuracy``, ``avg_pair_accuracy``,
        ``rates``, ``unparseable_rate``, ``refusal_rate``, ``confusion``, ``accuracy_by_offset``,
        ``offset_error``, ``counts``, when ``n_resamples > 0`` ``ci`` (the same keys as
        the headline numbers, each ``[low, high]``, plus how they were made), and with a
        judge ``judge`` (what it was asked, unreadable replies, disagreements, agreement).

    Examples
    --------
    A model that always answers "synced" (Table 1's Clever-Hans pattern):

    >>> preds = ["synced"] * 6
    >>> refs = ["synced", "delayed", "synced", "silent", "synced", "mismatched"]
    >>> conds = ["original", "shift", "original", "mute", "original", "swap"]
    >>> dims = ["sync", "sync", "existence", "existence", "consistency", "consistency"]
    >>> r = score_probes(preds, refs, conds, dims, ["a", "a", "b", "b", "c", "c"], n_resamples=0)
    >>> r["avg_gap"], r["pair_accuracy"], r["rates"]["mute_hallucination"]
    (1.0, {'sync': 0.0, 'existence': 0.0, 'consistency': 0.0}, 1.0)
    """
    p = encode_probes(
        predictions, references, conditions, dimensions, pair_ids, offsets, clip_ids, judge=judge, judge_all=judge_all
    )
    counts = unit_counts(p)
    point = _point(p, counts)
    tree = nest(point)
    results = {
        "avg_gap": point["avg_gap"],
        "gap": tree["gap"],
        "accuracy": tree["accuracy"],
        "pair_accuracy": tree["pair_accuracy"],
        "avg_pair_accuracy": point["avg_pair_accuracy"],
        "rates": tree["rates"],
        "unparseable_rate": point["unparseable_rate"],
        "refusal_rate": point["refusal_rate"],
        "confusion": _confusion(p),
        "accuracy_by_offset": _accuracy_by_offset(p, bands),
        "offset_error": _offset_error(p),
        "counts": _counts(p),
    }
    if n_resamples:
        from .bootstrap import _bootstrap_ci

        results["ci"] = _bootstrap_ci(p, n_resamples=n_resamples, confidence=confidence, seed=seed, counts=counts)
    if p.judge is not None:
        results["judge"] = p.judge
    return results
