"""Bootstrap intervals (by clip, seeded) and the paired comparison of two prediction sets."""

from __future__ import annotations

import math

import numpy as np
import pytest

from thud_metrics import bootstrap_ci, compare, mcnemar, score_probes
from thud_metrics.bootstrap import resampled_sums


def _flat(tree, leaf_type, prefix=""):
    """{'a': {'b': x}} -> {'a/b': x} for the leaves of ``leaf_type``."""
    out = {}
    for k, v in tree.items():
        if isinstance(v, dict):
            out.update(_flat(v, leaf_type, f"{prefix}{k}/"))
        elif isinstance(v, leaf_type):
            out[prefix + k] = v
    return out


@pytest.fixture(scope="module")
def noisy(helpers):
    probes = helpers.make_probes(300, seed=5)
    answers = helpers.noisy_answers(probes, p_right=0.6)
    args = (answers, probes["label"], probes["condition"], probes["dimension"], probes["pair_id"],
            probes["offset_s"], probes["clip_id"])  # fmt: skip
    return probes, answers, args


def test_ci_is_deterministic_for_a_seed_and_changes_with_it(noisy):
    _, _, args = noisy
    a = score_probes(*args, n_resamples=300, seed=7)["ci"]
    b = score_probes(*args, n_resamples=300, seed=7)["ci"]
    c = score_probes(*args, n_resamples=300, seed=8)["ci"]
    assert a == b
    assert a["avg_gap"] != c["avg_gap"]
    assert (a["unit"], a["n_resamples"], a["seed"], a["confidence"]) == ("clip", 300, 7, 0.95)


def test_ci_contains_the_point_estimate(noisy):
    _, _, args = noisy
    r = score_probes(*args, n_resamples=500, seed=0)
    points = _flat({k: r[k] for k in ("accuracy", "gap", "pair_accuracy", "rates")}, float)
    points.update({k: r[k] for k in ("avg_gap", "avg_pair_accuracy", "unparseable_rate", "refusal_rate")})
    intervals = _flat(r["ci"], list)
    assert set(intervals) == set(points)
    for key, value in points.items():
        lo, hi = intervals[key]
        if math.isnan(value):  # wrong_direction: this answerer never gives a direction
            assert math.isnan(lo) and math.isnan(hi)
            continue
        assert lo <= value <= hi, key
    lo, hi = r["ci"]["avg_pair_accuracy"]
    assert 0 < hi - lo < 0.2  # a real interval, not a point and not everything


def test_ci_narrows_with_confidence(noisy):
    _, _, args = noisy
    wide = score_probes(*args, n_resamples=300, confidence=0.99)["ci"]["avg_gap"]
    narrow = score_probes(*args, n_resamples=300, confidence=0.5)["ci"]["avg_gap"]
    assert wide[0] < narrow[0] < narrow[1] < wide[1]


def test_bootstrap_ci_function_matches_score_probes(noisy):
    probes, answers, args = noisy
    full = score_probes(*args, n_resamples=200, seed=3)["ci"]
    alone = bootstrap_ci(answers, probes["label"], probes["condition"], probes["dimension"],
                         probes["pair_id"], probes["clip_id"], n_resamples=200, seed=3)  # fmt: skip
    assert alone == full


def test_resampling_unit_falls_back_to_pairs(noisy):
    probes, answers, _ = noisy
    ci = bootstrap_ci(answers, probes["label"], probes["condition"], probes["dimension"], probes["pair_id"], n_resamples=50)
    assert ci["unit"] == "pair"


@pytest.mark.parametrize("n_resamples", [0, -1, 2.5])
def test_bad_bootstrap_arguments(noisy, n_resamples):
    probes, answers, _ = noisy
    with pytest.raises(ValueError, match="n_resamples must be a positive integer"):
        bootstrap_ci(answers, probes["label"], probes["condition"], probes["dimension"], n_resamples=n_resamples)


def test_grouped_and_unit_draws_are_the_same_bootstrap():
    """Drawing multinomial counts of distinct rows (few distinct rows) and drawing units one
    by one (many distinct rows) must give the same distribution of resampled totals."""
    rng = np.random.default_rng(0)
    m = 2000
    few = rng.integers(0, 3, size=(m, 1)).astype(float)  # 3 distinct rows: grouped path
    many = np.concatenate([few, np.arange(m, dtype=float)[:, None]], axis=1)  # all distinct: unit draws
    num_few, den_few = resampled_sums(few, np.ones((m, 1)), 4000, seed=1)
    num_many, _ = resampled_sums(many, np.ones((m, 2)), 4000, seed=1)
    assert np.all(den_few == m)  # every resample draws exactly m units
    mean = few.sum()
    sd = math.sqrt(m * few.var())
    for sums in (num_few[:, 0], num_many[:, 0]):
        assert abs(sums.mean() - mean) < 0.1 * sd
        assert abs(sums.std() / sd - 1) < 0.1


# -- paired comparison ---------------------------------------------------------------------


def test_mcnemar_exact_values():
    assert mcnemar([True] * 10 + [False] * 2, [False] * 10 + [True] * 2) == {
        "a_only": 10,
        "b_only": 2,
        "p_value": pytest.approx(2 * sum(math.comb(12, i) for i in range(3)) / 2**12),
    }
    assert mcnemar([True, False, True], [True, False, True])["p_value"] == 1.0
    big = mcnemar([True] * 3000 + [False] * 3000, [False] * 3000 + [True] * 3000)  # the log-space path
    assert big["p_value"] == pytest.approx(1.0)
    assert mcnemar([True] * 2000, [False] * 2000)["p_value"] < 1e-300
    with pytest.raises(ValueError, match="one length"):
        mcnemar([True], [True, False])


def test_compare_identical_sets_shows_no_difference(noisy):
    probes, answers, _ = noisy
    out = compare(answers, answers, probes["label"], probes["condition"], probes["dimension"],
                  probes["pair_id"], probes["clip_id"], n_resamples=200)  # fmt: skip
    for row in out["paired_bootstrap"].values():
        assert row["diff"] == 0.0 and row["ci"] == [0.0, 0.0] and row["p_value"] == 1.0
    assert out["mcnemar"]["probes"] == {"a_only": 0, "b_only": 0, "p_value": 1.0}


def test_compare_finds_the_better_model(noisy, helpers):
    probes, worse, _ = noisy
    better = helpers.noisy_answers(probes, p_right=0.9, seed=2)
    out = compare(worse, better, probes["label"], probes["condition"], probes["dimension"],
                  probes["pair_id"], probes["clip_id"], n_resamples=300, seed=0)  # fmt: skip
    row = out["paired_bootstrap"]["avg_pair_accuracy"]
    ra = score_probes(worse, probes["label"], probes["condition"], probes["dimension"], probes["pair_id"], n_resamples=0)
    rb = score_probes(better, probes["label"], probes["condition"], probes["dimension"], probes["pair_id"], n_resamples=0)
    assert row["a"] == pytest.approx(ra["avg_pair_accuracy"]) and row["b"] == pytest.approx(rb["avg_pair_accuracy"])
    assert row["diff"] > 0 and row["ci"][0] > 0 and row["p_value"] < 0.01
    assert out["paired_bootstrap"]["avg_gap"]["diff"] < 0  # listening more: smaller gap
    assert out["mcnemar"]["probes"]["b_only"] > out["mcnemar"]["probes"]["a_only"]
    assert out["mcnemar"]["pairs"]["sync"]["p_value"] < 0.05


def test_compare_needs_the_same_probes(noisy):
    probes, answers, _ = noisy
    with pytest.raises(ValueError, match="both sets must answer the same probes"):
        compare(answers, answers[:-1], probes["label"], probes["condition"], probes["dimension"], probes["pair_id"])
