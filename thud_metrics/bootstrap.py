"""Bootstrap confidence intervals, resampling clips.

The probes of one clip (its three original probes and its shift, mute and swap probes) are
not independent - one hard clip fails several of them - so the bootstrap draws whole clips
with replacement and recomputes every headline number on each draw. It works on per-clip
counts (see :mod:`thud_metrics.stats`): a draw is a vector of clip multiplicities, and the
numbers of all draws come from one matrix product, so 1000 resamples of 1M probes take
seconds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .probes import ProbeArrays, encode_probes
from .stats import assemble, nest, ratios, unit_counts

__all__ = ["bootstrap_ci"]

# unit draws are generated in chunks of about this many entries (8 bytes each)
_CHUNK_ENTRIES = 4_000_000


def resampled_sums(num: np.ndarray, den: np.ndarray, n_resamples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Numerator and denominator totals of each bootstrap resample of the units.

    A resample draws ``m`` units (rows of ``num``/``den``, shape (m, k)) with replacement
    and sums their rows. Only how often each *distinct* row is drawn matters, and the
    counts of distinct rows are multinomial with probabilities proportional to how many
    units share the row - the same distribution as drawing units one by one. When rows
    repeat a lot (the usual case: a clip's counts take few values) that is much cheaper;
    otherwise units are drawn directly. Deterministic for a seed.

    Returns
    -------
    num_sums, den_sums : float arrays of shape (n_resamples, k)
    """
    m, k = num.shape
    rows = np.concatenate([num, den], axis=1)
    small = rows.astype(np.uint8 if rows.max(initial=0) < 256 else np.int64)
    key = np.ascontiguousarray(small).view(np.dtype((np.void, small.itemsize * small.shape[1]))).ravel()
    _, first, sizes = np.unique(key, return_index=True, return_counts=True)
    rng = np.random.default_rng(seed)
    parts = []
    if len(sizes) * 20 < m:
        table, pvals = rows[first], sizes / m
        chunk = max(1, _CHUNK_ENTRIES // len(sizes))
        for start in range(0, n_resamples, chunk):
            c = min(chunk, n_resamples - start)
            parts.append(rng.multinomial(m, pvals, size=c).astype(float) @ table)
    else:
        chunk = max(1, _CHUNK_ENTRIES // m)
        for start in range(0, n_resamples, chunk):
            c = min(chunk, n_resamples - start)
            draws = rng.integers(0, m, size=(c, m))
            draws += np.arange(c)[:, None] * m
            weights = np.bincount(draws.ravel(), minlength=c * m).reshape(c, m).astype(float)
            parts.append(weights @ rows)
    sums = np.concatenate(parts, axis=0)
    return sums[:, :k], sums[:, k:]


def resampled(num: np.ndarray, den: np.ndarray, n_resamples: int, seed: int) -> dict[str, np.ndarray]:
    """Every headline number on each resample: ``{key: array of shape (n_resamples,)}``."""
    return assemble(ratios(*resampled_sums(num, den, n_resamples, seed)))


def _interval(samples: np.ndarray, confidence: float) -> list[float]:
    finite = samples[~np.isnan(samples)]
    if finite.size == 0:
        return [float("nan"), float("nan")]
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(finite, [alpha, 1.0 - alpha])
    return [float(lo), float(hi)]


def _check(n_resamples: int, confidence: float) -> None:
    if not (isinstance(n_resamples, (int, np.integer)) and n_resamples > 0):
        raise ValueError(f"n_resamples must be a positive integer; got {n_resamples!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1); got {confidence!r}")


def _bootstrap_ci(
    p: ProbeArrays,
    *,
    n_resamples: int,
    confidence: float,
    seed: int,
    counts: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict:
    _check(n_resamples, confidence)
    num, den = unit_counts(p) if counts is None else counts
    boot = resampled(num, den, n_resamples, seed)
    out = nest({key: _interval(values, confidence) for key, values in boot.items()})
    out.update(confidence=confidence, n_resamples=int(n_resamples), seed=seed, unit=p.unit_kind)
    return out


def bootstrap_ci(
    predictions: Sequence[str | None],
    references: Sequence[str],
    conditions: Sequence[str],
    dimensions: Sequence[str],
    pair_ids: Sequence[str] | None = None,
    clip_ids: Sequence[str] | None = None,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict:
    """Percentile bootstrap intervals of the headline numbers, resampling clips.

    Parameters
    ----------
    predictions, references, conditions, dimensions : sequence, shape (n,)
        As for :func:`~thud_metrics.score_probes`.
    pair_ids : sequence of str, shape (n,), optional
        Needed for pair accuracy (its interval is NaN without).
    clip_ids : sequence of str, shape (n,), optional
        The resampling unit; without it pairs are resampled (or probes, without pair ids).
    n_resamples : int, > 0
    confidence : float in (0, 1)
    seed : int
        The same seed gives the same intervals.

    Returns
    -------
    ci : dict
        ``{"accuracy": {dim: {cond: [lo, hi]}}, "gap": {dim: [lo, hi]}, "avg_gap": [lo, hi],
        "pair_accuracy": ..., "avg_pair_accuracy": ..., "rates": ..., "unparseable_rate": ...}``
        plus ``confidence``, ``n_resamples``, ``seed`` and ``unit`` ("clip", "pair" or
        "probe"). A number undefined on every resample has ``[nan, nan]``.

    Examples
    --------
    >>> ci = bootstrap_ci(["synced", "early", "synced", "synced"], ["synced", "early", "synced", "delayed"],
    ...                   ["original", "shift", "original", "shift"], ["sync"] * 4,
    ...                   ["p1", "p1", "p2", "p2"], ["c1", "c1", "c2", "c2"], n_resamples=200)
    >>> ci["accuracy"]["sync"]["shift"], ci["unit"]
    ([0.0, 1.0], 'clip')
    """
    p = encode_probes(predictions, references, conditions, dimensions, pair_ids, None, clip_ids)
    return _bootstrap_ci(p, n_resamples=n_resamples, confidence=confidence, seed=seed)
