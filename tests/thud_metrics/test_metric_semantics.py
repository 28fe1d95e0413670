"""Hand-checked cases for what the numbers mean: unreadable and refused answers in the
denominators, refusals kept apart from silence, the bootstrap resampling clips (not probes),
and one original paired with several shifts (an offset sweep).

Each case is small enough to compute on paper; the expected values are written out, not
taken from the implementation.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from thud_metrics import bootstrap_ci, compare, pair_accuracy, score_probes
from thud_metrics.scores import refusal_rate

# -- a mute cell mixing a correct, a wrong, an unknown and a refused answer -----------------

MIXED = [
    # answer, gold, condition, dimension, pair, clip
    ("B", "silent", "mute", "existence", "c1/e", "c1"),  # B = silent: right
    ("Yes, I can hear the glass shatter.", "silent", "mute", "existence", "c2/e", "c2"),  # hallucinated sound
    ("Hmm.", "silent", "mute", "existence", "c3/e", "c3"),  # unreadable
    ("I'm sorry, I cannot process audio; I only receive the video frames.", "silent", "mute", "existence", "c4/e", "c4"),
    ("A", "synced", "original", "existence", "c1/e", "c1"),  # right
    ("A", "synced", "original", "existence", "c2/e", "c2"),  # right
    ("No audio track was provided to me, so there is nothing I can hear.", "synced", "original", "existence", "c3/e", "c3"),
    (None, "synced", "original", "existence", "c4/e", "c4"),  # a failed call: unknown
]


@pytest.fixture(scope="module")
def mixed():
    cols = list(map(list, zip(*MIXED, strict=True)))
    return score_probes(cols[0], cols[1], cols[2], cols[3], cols[4], None, cols[5], n_resamples=0)


def test_unknown_and_refused_count_wrong_in_accuracy(mixed):
    # 1 of 4 mute answers is right; leaving unknown (or refused) answers out of the
    # denominator would give 1/3 (or 1/2)
    assert mixed["accuracy"]["existence"]["mute"] == 0.25
    assert mixed["accuracy"]["existence"]["original"] == 0.5
    assert mixed["gap"]["existence"] == 0.25


def test_mute_hallucination_counts_only_claims_of_a_sound(mixed):
    # only "I can hear the glass shatter" claims a sound: 1 of 4. Counting the unreadable
    # answer or the refusal as a hallucination would give 2/4 or 3/4.
    assert mixed["rates"]["mute_hallucination"] == 0.25
    assert mixed["rates"]["false_silence"] == 0.0  # the refusal on an original is not "silent"
    mute_share = {"unknown": 0.25, "refused": 0.25}
    assert mixed["rates"]["mute_hallucination"] + mixed["accuracy"]["existence"]["mute"] + sum(mute_share.values()) == 1.0


def test_refusals_are_their_own_reading_never_silence(mixed):
    assert mixed["refusal_rate"] == 2 / 8
    assert mixed["unparseable_rate"] == 2 / 8  # "Hmm." and the failed call
    assert mixed["counts"]["refused"] == 2 and mixed["counts"]["unknown"] == 2
    mute = mixed["confusion"]["mute"]["silent"]
    assert (mute["silent"], mute["synced"], mute["unknown"], mute["refused"]) == (1, 1, 1, 1)
    original = mixed["confusion"]["original"]["synced"]
    assert (original["synced"], original["silent"], original["refused"], original["unknown"]) == (2, 0, 1, 1)
    assert mixed["pair_accuracy"]["existence"] == 0.25  # only c1 has both right
    answers = [row[0] for row in MIXED]
    assert refusal_rate(answers, [row[3] for row in MIXED]) == 0.25


def test_decomposition_has_a_refused_share(mixed):
    from thud_metrics import decomposition

    mute = decomposition(mixed["confusion"])["mute"]
    assert (mute["correct"], mute["synced"], mute["unknown"], mute["refused"], mute["silent"]) == (0.25, 0.25, 0.25, 0.25, 0.0)


# -- the bootstrap resamples clips -----------------------------------------------------------


def test_clip_bootstrap_is_wider_than_a_probe_bootstrap_when_clips_are_correlated():
    """20 clips with 16 original sync probes each; a clip's probes are all right (10
    clips) or all wrong (10 clips). Resampling clips, the accuracy is Binomial(20, 1/2) / 20:
    sd sqrt(0.25 / 20) = 0.112, a 95% interval about 0.44 wide. Resampling probes would
    treat the 320 answers as independent: sd sqrt(0.25 / 320) = 0.028, about 0.11 wide."""
    m, k = 20, 16
    clips = [f"clip{i}" for i in range(m) for _ in range(k)]
    answers = ["A" if i < m // 2 else "B" for i in range(m) for _ in range(k)]
    n = m * k
    ci = bootstrap_ci(answers, ["synced"] * n, ["original"] * n, ["sync"] * n, None, clips, n_resamples=2000, seed=0)
    assert ci["unit"] == "clip"
    lo, hi = ci["accuracy"]["sync"]["original"]
    expected = 2 * 1.96 * math.sqrt(0.25 / m)
    assert lo < 0.5 < hi
    assert abs((hi - lo) - expected) < 0.2 * expected, (lo, hi)
    per_probe = bootstrap_ci(answers, ["synced"] * n, ["original"] * n, ["sync"] * n, n_resamples=2000, seed=0)
    assert per_probe["unit"] == "probe"
    plo, phi = per_probe["accuracy"]["sync"]["original"]
    assert abs((phi - plo) - 2 * 1.96 * math.sqrt(0.25 / n)) < 0.25 * 2 * 1.96 * math.sqrt(0.25 / n)
    assert (hi - lo) > 3 * (phi - plo)


# -- one original with several shifts (an offset sweep) -------------------------------------

# clip a: original right, shifts -0.5 right, +0.8 wrong  -> pairs: 1 right of 2
# clip b: original wrong, shifts right and right         -> pairs: 0 right of 2
# clip c: original right, one shift right                -> pairs: 1 right of 1
SWEEP = [
    # answer, gold, condition, dimension, pair, offset, clip
    ("A", "synced", "original", "sync", "a/s", 0.0, "a"),
    ("B", "early", "shift", "sync", "a/s", -0.5, "a"),
    ("A", "delayed", "shift", "sync", "a/s", 0.8, "a"),
    ("C", "synced", "original", "sync", "b/s", 0.0, "b"),
    ("B", "early", "shift", "sync", "b/s", -0.3, "b"),
    ("C", "delayed", "shift", "sync", "b/s", 1.2, "b"),
    ("A", "synced", "original", "sync", "c/s", 0.0, "c"),
    ("C", "delayed", "shift", "sync", "c/s", 0.5, "c"),
    ("A", "synced", "original", "existence", "a/e", 0.0, "a"),
    ("B", "silent", "mute", "existence", "a/e", 0.0, "a"),
]


def _cols(rows):
    return list(map(list, zip(*rows, strict=True)))


def test_each_original_shift_couple_is_one_pair():
    ans, gold, cond, dim, pair, off, clip = _cols(SWEEP)
    r = score_probes(ans, gold, cond, dim, pair, off, clip, n_resamples=0)
    assert r["counts"]["pairs"] == {"sync": 5, "existence": 1, "consistency": 0}
    assert r["pair_accuracy"]["sync"] == 2 / 5
    assert r["pair_accuracy"]["existence"] == 1.0
    # accuracy counts each probe once: the original of a sweep is not repeated
    assert r["accuracy"]["sync"] == {"original": 2 / 3, "shift": 4 / 5}
    assert r["counts"]["per_condition"]["sync"] == {"original": 3, "shift": 5}
    assert pair_accuracy(ans, gold, cond, dim, pair)["sync"] == 2 / 5


def test_a_sweep_scores_like_its_couples_written_as_separate_pairs():
    """Pair accuracy of a sweep equals that of the same couples written out one pair id per
    couple (the original repeated), and per-clip resampling keeps a clip's couples together."""
    sweep = _cols([row for row in SWEEP if row[3] == "sync"])
    couples = []
    for row in SWEEP:
        if row[2] == "shift":
            original = next(o for o in SWEEP if o[4] == row[4] and o[2] == "original")
            tag = f"{row[4]}@{row[5]}"
            couples += [(*original[:4], tag, *original[5:]), (*row[:4], tag, *row[5:])]
    split = _cols(couples)
    a = score_probes(*sweep, n_resamples=500, seed=4)
    b = score_probes(*split, n_resamples=500, seed=4)
    assert a["pair_accuracy"]["sync"] == b["pair_accuracy"]["sync"] == 2 / 5
    assert a["counts"]["pairs"]["sync"] == b["counts"]["pairs"]["sync"] == 5
    # the couples of one clip are resampled together: identical clip rows of pair counts
    assert a["ci"]["pair_accuracy"]["sync"] == b["ci"]["pair_accuracy"]["sync"]
    assert a["ci"]["unit"] == "clip"


def test_a_sweep_bootstrap_by_clip_by_hand():
    """Two clips: a with 2 couples both right, b with 2 couples both wrong. Resampling clips,
    pair accuracy is 0, 1/2 or 1 with probabilities 1/4, 1/2, 1/4 (never 1/4 or 3/4, which
    resampling couples independently would give)."""
    rows = [
        ("A", "synced", "original", "sync", "a", -0.0, "a"),
        ("B", "early", "shift", "sync", "a", -0.5, "a"),
        ("C", "delayed", "shift", "sync", "a", 0.5, "a"),
        ("B", "synced", "original", "sync", "b", 0.0, "b"),
        ("B", "early", "shift", "sync", "b", -0.5, "b"),
        ("C", "delayed", "shift", "sync", "b", 0.5, "b"),
    ]
    from thud_metrics.bootstrap import resampled
    from thud_metrics.probes import encode_probes
    from thud_metrics.stats import unit_counts

    p = encode_probes(*_cols(rows))
    values = resampled(*unit_counts(p), n_resamples=4000, seed=1)["pair_accuracy/sync"]
    assert set(np.unique(values).tolist()) == {0.0, 0.5, 1.0}
    assert abs(np.mean(values == 0.5) - 0.5) < 0.04


def test_compare_and_mcnemar_count_every_couple():
    ans, gold, cond, dim, pair, off, clip = _cols(SWEEP)
    better = ["A", "B", "C", "A", "B", "C", "A", "C", "A", "B"]  # every probe right
    out = compare(ans, better, gold, cond, dim, pair, clip, n_resamples=200)
    row = out["paired_bootstrap"]["pair_accuracy/sync"]
    assert (row["a"], row["b"]) == (2 / 5, 1.0)
    assert out["mcnemar"]["pairs"]["sync"]["b_only"] == 3 and out["mcnemar"]["pairs"]["sync"]["a_only"] == 0


def test_one_shift_per_clip_is_unchanged():
    """The one-shift case: every pair id one original + one intervened, pairs as before."""
    rows = [row for row in SWEEP if row[5] not in (0.8, 1.2)]
    r = score_probes(*_cols(rows), n_resamples=0)
    assert r["counts"]["pairs"]["sync"] == 3
    assert r["pair_accuracy"]["sync"] == 2 / 3  # a right, b wrong (its original), c right


def test_a_sweep_still_needs_its_original():
    rows = [row for row in SWEEP if not (row[4] == "a/s" and row[2] == "original")]
    with pytest.raises(ValueError, match=r"pair_id 'a/s' .* has an intervened probe but no original"):
        score_probes(*_cols(rows), n_resamples=0)
    twice = [*SWEEP, ("A", "synced", "original", "sync", "a/s", 0.0, "a")]
    with pytest.raises(ValueError, match="more than one original probe"):
        score_probes(*_cols(twice), n_resamples=0)
