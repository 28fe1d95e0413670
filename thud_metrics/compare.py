"""Paired comparison of two prediction sets on the same probes.

Two models (or a model before and after training) answered the same probes, so their
numbers are compared *paired*: a paired bootstrap resamples clips once and recomputes
both models' numbers on the same draw (the clip difficulty cancels), and McNemar's exact
test counts the probes (or pairs) that only one of them got right.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from thud_dataset.vocab import DIMENSIONS

from .bootstrap import _check, resampled_sums
from .parsing import Judge
from .probes import ProbeArrays, encode_probes
from .stats import assemble, pair_table, ratios, unit_counts

__all__ = ["compare", "mcnemar"]

#: the numbers :func:`compare` reports (keys of :func:`thud_metrics.stats.assemble`)
COMPARED: tuple[str, ...] = (
    "avg_gap",
    "avg_pair_accuracy",
    *(f"gap/{d}" for d in DIMENSIONS),
    *(f"pair_accuracy/{d}" for d in DIMENSIONS),
    "unparseable_rate",
    "refusal_rate",
)


def mcnemar(correct_a: Sequence[bool], correct_b: Sequence[bool]) -> dict[str, float]:
    """McNemar's exact test on paired right/wrong outcomes.

    Only discordant items count: ``a_only`` (A right, B wrong) and ``b_only``. Under "no
    difference" each discordant item is a fair coin, so the two-sided p-value is
    ``min(1, 2 * P(Binomial(a_only + b_only, 1/2) <= min(a_only, b_only)))``.

    Parameters
    ----------
    correct_a, correct_b : sequence of bool, shape (n,)

    Returns
    -------
    result : dict
        ``a_only``, ``b_only`` (ints) and ``p_value`` in [0, 1] (1.0 with no discordant item).

    Examples
    --------
    >>> mcnemar([True] * 10 + [False] * 2, [False] * 10 + [True] * 2)
    {'a_only': 10, 'b_only': 2, 'p_value': 0.03857421875}
    >>> mcnemar([True, False], [True, False])["p_value"]
    1.0
    """
    a = np.asarray(correct_a, dtype=bool)
    b = np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"correct_a and correct_b must be 1-d of one length; got {a.shape} and {b.shape}")
    a_only, b_only = int(np.sum(a & ~b)), int(np.sum(~a & b))
    if a_only + b_only == 0:
        return {"a_only": 0, "b_only": 0, "p_value": 1.0}
    from scipy.stats import binomtest  # scipy comes with librosa

    tail = float(binomtest(min(a_only, b_only), a_only + b_only, 0.5, alternative="less").pvalue)
    return {"a_only": a_only, "b_only": b_only, "p_value": min(1.0, 2.0 * tail)}


def _pair_correct(p: ProbeArrays, dim: int) -> np.ndarray:
    both, pair_dim, _ = pair_table(p)
    return both[pair_dim == dim]


def compare(
    predictions_a: Sequence[str | None],
    predictions_b: Sequence[str | None],
    references: Sequence[str],
    conditions: Sequence[str],
    dimensions: Sequence[str],
    pair_ids: Sequence[str],
    clip_ids: Sequence[str] | None = None,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    judge: Judge | None = None,
    judge_b: Judge | None = None,
    judge_all: bool = False,
) -> dict:
    """Compare prediction sets A and B on the same probes (differences are B - A).

    Parameters
    ----------
    predictions_a, predictions_b : sequence of str or None, shape (n,)
        Both sets' answers, aligned with the same probe arrays.
    references, conditions, dimensions, pair_ids, clip_ids :
        As for :func:`~thud_metrics.score_probes`.
    n_resamples : int, > 0
        Paired bootstrap resamples (clips, or pairs without clip ids).
    confidence : float in (0, 1)
    seed : int
    judge, judge_b : callable, optional
        The judge of A's answers and of B's (default: ``judge``), as for
        :func:`~thud_metrics.score_probes`; e.g. each run's own cached judge.
    judge_all : bool

    Returns
    -------
    comparison : dict
        ``paired_bootstrap``: for ``avg_gap``, ``avg_pair_accuracy``, each ``gap/<dim>``,
        each ``pair_accuracy/<dim>``, ``unparseable_rate`` and ``refusal_rate``: ``a``, ``b``, ``diff``,
        ``ci`` of the difference and a two-sided bootstrap ``p_value`` (twice the share of
        resamples on the far side of 0). ``mcnemar``: exact tests on probe correctness
        (``probes``) and on pair correctness per dimension (``pairs``). Plus ``unit``,
        ``n_resamples``, ``seed``, ``confidence``.

    Examples
    --------
    >>> refs = ["synced", "early"] * 4
    >>> conds = ["original", "shift"] * 4
    >>> pairs = ["p1", "p1", "p2", "p2", "p3", "p3", "p4", "p4"]
    >>> out = compare(["synced"] * 8, ["synced", "early"] * 4, refs, conds, ["sync"] * 8, pairs,
    ...               n_resamples=200)
    >>> row = out["paired_bootstrap"]["pair_accuracy/sync"]
    >>> row["a"], row["b"], row["diff"], out["mcnemar"]["probes"]["b_only"]
    (0.0, 1.0, 1.0, 4)
    """
    _check(n_resamples, confidence)
    n = len(predictions_a)
    if len(predictions_b) != n:
        raise ValueError(
            f"predictions_a has {n} entries but predictions_b has {len(predictions_b)}: "
            "both sets must answer the same probes, in the same order"
        )
    judge_b = judge if judge_b is None else judge_b
    pa = encode_probes(predictions_a, references, conditions, dimensions, pair_ids, None, clip_ids, judge=judge, judge_all=judge_all)
    pb = encode_probes(predictions_b, references, conditions, dimensions, pair_ids, None, clip_ids, judge=judge_b, judge_all=judge_all)
    num_a, den_a = unit_counts(pa)
    num_b, den_b = unit_counts(pb)
    k = num_a.shape[1]
    num = np.concatenate([num_a, num_b], axis=1)
    den = np.concatenate([den_a, den_b], axis=1)

    point_a = assemble(ratios(num_a.sum(0), den_a.sum(0)))
    point_b = assemble(ratios(num_b.sum(0), den_b.sum(0)))
    r = ratios(*resampled_sums(num, den, n_resamples, seed))  # one draw for both sets
    boot_a, boot_b = assemble(r[:, :k]), assemble(r[:, k:])

    alpha = (1 - confidence) / 2
    rows = {}
    for key in COMPARED:
        a, b = float(point_a[key]), float(point_b[key])
        diff = boot_b[key] - boot_a[key]
        diff = diff[~np.isnan(diff)]
        if diff.size:
            lo, hi = np.quantile(diff, [alpha, 1 - alpha])
            p = min(1.0, 2 * min(np.mean(diff <= 0), np.mean(diff >= 0)))
        else:
            lo = hi = p = float("nan")
        rows[key] = {"a": a, "b": b, "diff": b - a, "ci": [float(lo), float(hi)], "p_value": float(p)}
    return {
        "paired_bootstrap": rows,
        "mcnemar": {
            "probes": mcnemar(pa.correct, pb.correct),
            "pairs": {d: mcnemar(_pair_correct(pa, i), _pair_correct(pb, i)) for i, d in enumerate(DIMENSIONS)},
        },
        "unit": pa.unit_kind,
        "n_resamples": int(n_resamples),
        "seed": seed,
        "confidence": confidence,
    }
