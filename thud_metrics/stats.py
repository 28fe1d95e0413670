"""The headline numbers as ratios of per-unit counts.

Every headline number (accuracy per cell, pair accuracy, error rates, unparseable rate) is
``sum(numerator) / sum(denominator)`` over probes or pairs. Summing those counts per
resampling unit (clip) once makes the point estimate, the bootstrap and the paired
comparison the same computation with different unit weights: all-ones for the point
estimate, resampled counts for the bootstrap. Gaps and averages are derived afterwards.
"""

from __future__ import annotations

import numpy as np

from thud_dataset.vocab import CONDITIONS, DIMENSIONS, INTERVENTION_OF

from .probes import (
    CONSISTENCY,
    DELAYED,
    EARLY,
    EXISTENCE,
    MISMATCHED,
    MUTE,
    ORIGINAL,
    REFUSED_CODE,
    SHIFT,
    SILENT,
    SWAP,
    SYNC,
    SYNCED,
    UNKNOWN_CODE,
    ProbeArrays,
)

#: (dimension, condition) cells of the accuracy table, in Table-1 order
ACC_CELLS: tuple[tuple[str, str], ...] = tuple(
    (d, c) for d in DIMENSIONS for c in ("original", INTERVENTION_OF[d])
)
#: the error rates, in the order of the radar plot (paper Fig. 3)
RATE_NAMES: tuple[str, ...] = (
    "mute_hallucination",
    "false_silence",
    "swap_false_match",
    "swap_false_mismatch",
    "shift_miss",
    "wrong_direction",
    "hallucinated_shift",
)
#: one key per ratio column
STAT_KEYS: tuple[str, ...] = (
    *(f"accuracy/{d}/{c}" for d, c in ACC_CELLS),
    *(f"pair_accuracy/{d}" for d in DIMENSIONS),
    *(f"rates/{r}" for r in RATE_NAMES),
    "unparseable_rate",
    "refusal_rate",
)


def _probe_masks(p: ProbeArrays) -> list[tuple[np.ndarray, np.ndarray]]:
    """(numerator, denominator) probe masks of every probe-level ratio, in STAT_KEYS order."""
    pred, cond, dim = p.pred, p.cond, p.dim
    correct = p.correct
    orig = cond == ORIGINAL
    out = []
    for d, c in ACC_CELLS:
        den = (dim == DIMENSIONS.index(d)) & (cond == CONDITIONS.index(c))
        out.append((den & correct, den))
    # a claim about the clip: neither unreadable nor a refusal ("I have no audio")
    parsed = (pred != UNKNOWN_CODE) & (pred != REFUSED_CODE)
    direction = (pred == EARLY) | (pred == DELAYED)
    mute, swap, shift = cond == MUTE, cond == SWAP, cond == SHIFT
    # unknown and refused answers sit in every denominator but in no numerator: they are
    # counted wrong (accuracy) and reported (unparseable_rate, refusal_rate), never
    # credited to a particular error
    rates = {
        "mute_hallucination": (mute & parsed & (pred != SILENT), mute),
        "false_silence": (orig & (dim == EXISTENCE) & (pred == SILENT), orig & (dim == EXISTENCE)),
        "swap_false_match": (swap & (pred == SYNCED), swap),
        "swap_false_mismatch": (
            orig & (dim == CONSISTENCY) & (pred == MISMATCHED),
            orig & (dim == CONSISTENCY),
        ),
        "shift_miss": (shift & (pred == SYNCED), shift),
        "wrong_direction": (shift & direction & ~correct, shift & direction),
        "hallucinated_shift": (orig & (dim == SYNC) & direction, orig & (dim == SYNC)),
    }
    out.extend(rates[name] for name in RATE_NAMES)
    everything = np.ones(len(p), dtype=bool)
    out.append((pred == UNKNOWN_CODE, everything))
    out.append((pred == REFUSED_CODE, everything))
    return out


def pair_table(p: ProbeArrays) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pairs of pair accuracy: one per intervened probe that has a pair id, coupled with
    its pair's original probe (encode_probes guarantees there is one).

    A pair id usually holds one original and one intervened probe; an offset sweep gives
    one original several intervened probes, and each (original, intervened) couple is then
    one pair, right when both of its probes are. An original whose intervened probes are
    absent makes no pair.

    Returns
    -------
    both, dim, unit : arrays of shape (n_pairs_complete,)
        Per pair: both probes right (bool), its dimension code, its resampling unit.
    """
    if p.pair is None or p.n_pairs == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty.astype(bool), empty, empty
    orig = p.cond == ORIGINAL
    orig_right = np.zeros(p.n_pairs, dtype=bool)
    orig_right[p.pair[orig]] = p.correct[orig]
    inter = ~orig
    both = p.correct[inter] & orig_right[p.pair[inter]]
    return both, p.dim[inter].astype(np.int64), p.unit[inter]


def unit_counts(p: ProbeArrays) -> tuple[np.ndarray, np.ndarray]:
    """Numerator and denominator counts per unit: two float arrays of shape (n_units, k)."""
    k, m = len(STAT_KEYS), p.n_units
    num = np.zeros((m, k))
    den = np.zeros((m, k))
    for j, (nm, dm) in enumerate(_probe_masks(p)):
        col = j if j < len(ACC_CELLS) else j + len(DIMENSIONS)
        num[:, col] = np.bincount(p.unit[nm], minlength=m)
        den[:, col] = np.bincount(p.unit[dm], minlength=m)
    both, pair_dim, pair_unit = pair_table(p)
    for i in range(len(DIMENSIONS)):
        col = len(ACC_CELLS) + i
        sel = pair_dim == i
        num[:, col] = np.bincount(pair_unit[sel & both], minlength=m)
        den[:, col] = np.bincount(pair_unit[sel], minlength=m)
    return num, den


def ratios(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` elementwise, NaN where the denominator is 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def _nanmean(stack: list[np.ndarray]) -> np.ndarray:
    a = np.stack(stack, axis=-1)
    n = np.sum(~np.isnan(a), axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, np.nansum(a, axis=-1) / np.maximum(n, 1), np.nan)


def assemble(r: np.ndarray) -> dict[str, np.ndarray]:
    """All headline numbers from the ratio columns ``r`` (shape (..., k)): the ratios by
    their STAT_KEYS plus ``gap/<dim>``, ``avg_gap`` and ``avg_pair_accuracy``.

    A dimension with no probes of one of its conditions has a NaN gap; the averages are
    over the dimensions that have a value (NaN if none does).
    """
    out = {key: r[..., j] for j, key in enumerate(STAT_KEYS)}
    gaps = []
    for d in DIMENSIONS:
        out[f"gap/{d}"] = out[f"accuracy/{d}/original"] - out[f"accuracy/{d}/{INTERVENTION_OF[d]}"]
        gaps.append(out[f"gap/{d}"])
    out["avg_gap"] = _nanmean(gaps)
    out["avg_pair_accuracy"] = _nanmean([out[f"pair_accuracy/{d}"] for d in DIMENSIONS])
    return out


def nest(flat: dict[str, object]) -> dict:
    """``{"a/b": x}`` -> ``{"a": {"b": x}}``."""
    tree: dict = {}
    for key, value in flat.items():
        *parents, leaf = key.split("/")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return tree
