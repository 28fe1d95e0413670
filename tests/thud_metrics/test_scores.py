"""Every thud_gap number on small cases computed by hand."""

from __future__ import annotations

import math

import pytest

from thud_metrics import (
    accuracy,
    accuracy_by_offset,
    confusion,
    decomposition,
    error_rates,
    gaps,
    offset_error,
    pair_accuracy,
    score_probes,
    unparseable_rate,
)

# Two clips, every probe annotated with what it tests. c1 has tau = +0.5 (delayed), c2 tau = -1.2.
HAND = [
    # answer, gold, condition, dimension, pair, offset, clip
    ("The audio is late.", "synced", "original", "sync", "c1/s", 0.0, "c1"),  # hallucinated shift
    ("B", "delayed", "shift", "sync", "c1/s", 0.5, "c1"),  # B = early: wrong direction
    ("No, the video is silent.", "synced", "original", "existence", "c1/e", 0.0, "c1"),  # false silence
    ("Yes, I hear the crash.", "silent", "mute", "existence", "c1/e", 0.0, "c1"),  # mute hallucination
    ("A", "synced", "original", "consistency", "c1/c", 0.0, "c1"),  # right
    ("Yes.", "mismatched", "swap", "consistency", "c1/c", 0.0, "c1"),  # swap false-match
    ("synced", "synced", "original", "sync", "c2/s", 0.0, "c2"),  # right
    ("The sound comes about 1 second before the impact.", "early", "shift", "sync", "c2/s", -1.2, "c2"),  # right
    ("Yes.", "synced", "original", "existence", "c2/e", 0.0, "c2"),  # right
    ("B", "silent", "mute", "existence", "c2/e", 0.0, "c2"),  # B = silent: right
    ("No, it's a different sound.", "synced", "original", "consistency", "c2/c", 0.0, "c2"),  # false mismatch
    (None, "mismatched", "swap", "consistency", "c2/c", 0.0, "c2"),  # failed call: unknown
]
COLS = dict(zip(("predictions", "references", "conditions", "dimensions", "pair_ids", "offsets", "clip_ids"), map(list, zip(*HAND, strict=True)), strict=True))
BASE = {k: COLS[k] for k in ("predictions", "references", "conditions", "dimensions")}
NAN = float("nan")


def same(a, b) -> bool:
    """Equality of nested results, NaN equal to NaN."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, abs_tol=1e-12)
    return a == b


@pytest.fixture(scope="module")
def hand():
    return score_probes(**COLS, n_resamples=0)


def test_accuracy_and_gaps_by_hand(hand):
    assert hand["accuracy"] == {
        "sync": {"original": 0.5, "shift": 0.5},
        "existence": {"original": 0.5, "mute": 0.5},
        "consistency": {"original": 0.5, "swap": 0.0},
    }
    assert hand["gap"] == {"sync": 0.0, "existence": 0.0, "consistency": 0.5}
    assert hand["avg_gap"] == pytest.approx(0.5 / 3)


def test_pair_accuracy_by_hand(hand):
    # c2's sync and existence pairs are both right; no consistency pair is
    assert hand["pair_accuracy"] == {"sync": 0.5, "existence": 0.5, "consistency": 0.0}
    assert hand["avg_pair_accuracy"] == pytest.approx(1 / 3)


def test_error_rates_by_hand(hand):
    assert hand["rates"] == {
        "mute_hallucination": 0.5,  # 1 of 2 mute probes claims a sound
        "false_silence": 0.5,  # 1 of 2 existence originals said silent
        "swap_false_match": 0.5,  # "Yes." on a swap; the failed call is no claim
        "swap_false_mismatch": 0.5,
        "shift_miss": 0.0,  # both shift answers gave a direction
        "wrong_direction": 0.5,  # of those two, one is wrong
        "hallucinated_shift": 0.5,  # "late" on a sync original
    }
    assert hand["unparseable_rate"] == pytest.approx(1 / 12)


def test_confusion_and_decomposition_by_hand(hand):
    conf = hand["confusion"]
    zero = dict.fromkeys(("synced", "early", "delayed", "silent", "mismatched", "refused", "unknown"), 0)
    assert conf["original"] == {"synced": {**zero, "synced": 3, "delayed": 1, "silent": 1, "mismatched": 1}}
    assert conf["shift"] == {"early": {**zero, "early": 1}, "delayed": {**zero, "early": 1}}
    assert conf["mute"] == {"silent": {**zero, "synced": 1, "silent": 1}}
    assert conf["swap"] == {"mismatched": {**zero, "synced": 1, "unknown": 1}}
    dec = decomposition(conf)
    none = dict.fromkeys(("correct", "synced", "wrong_direction", "shift", "silent", "mismatched", "refused", "unknown"), 0.0)
    assert dec["original"] == {**none, "correct": 0.5, "shift": 1 / 6, "silent": 1 / 6, "mismatched": 1 / 6}
    assert dec["shift"] == {**none, "correct": 0.5, "wrong_direction": 0.5}
    assert dec["mute"] == {**none, "correct": 0.5, "synced": 0.5}
    assert dec["swap"] == {**none, "synced": 0.5, "unknown": 0.5}


def test_offset_bands_and_offset_error_by_hand(hand):
    bands = hand["accuracy_by_offset"]
    assert list(bands) == ["synced", "0-0.4 s", "0.4-0.65 s", "0.65-1 s", "≥1 s"]
    assert bands["synced"] == {"accuracy": 0.5, "n": 2}
    assert bands["0.4-0.65 s"] == {"accuracy": 0.0, "n": 1}  # tau = 0.5 is in [0.4, 0.65)
    assert bands["≥1 s"] == {"accuracy": 1.0, "n": 1}  # tau = -1.2
    assert bands["0-0.4 s"]["n"] == 0 and math.isnan(bands["0-0.4 s"]["accuracy"])
    # other edges still work
    custom = score_probes(**COLS, n_resamples=0, bands=(0, 1, float("inf")))["accuracy_by_offset"]
    assert list(custom) == ["synced", "0-1 s", "≥1 s"] and custom["0-1 s"]["n"] == 1
    # only "about 1 second before" states a number: |-1.0 - (-1.2)|
    assert hand["offset_error"] == {"mean_abs_error": pytest.approx(0.2), "median_abs_error": pytest.approx(0.2), "n": 1}


def test_counts(hand):
    c = hand["counts"]
    assert (c["probes"], c["clips"], c["unknown"]) == (12, 2, 1)
    assert c["pairs"] == {"sync": 2, "existence": 2, "consistency": 2}
    assert c["per_condition"]["sync"] == {"original": 2, "shift": 2}


def test_plain_functions_agree_with_score_probes(hand):
    assert same(accuracy(**BASE), hand["accuracy"])
    per_dim, avg = gaps(accuracy(**BASE))
    assert same(per_dim, hand["gap"]) and avg == pytest.approx(hand["avg_gap"])
    assert same(pair_accuracy(**BASE, pair_ids=COLS["pair_ids"]), hand["pair_accuracy"])
    assert same(error_rates(**BASE), hand["rates"])
    assert same(confusion(**BASE), hand["confusion"])
    assert same(accuracy_by_offset(**BASE, offsets=COLS["offsets"]), hand["accuracy_by_offset"])
    assert same(offset_error(**BASE, offsets=COLS["offsets"]), hand["offset_error"])
    assert unparseable_rate(COLS["predictions"], COLS["dimensions"]) == pytest.approx(hand["unparseable_rate"])


def test_custom_bands():
    bands = accuracy_by_offset(**BASE, offsets=COLS["offsets"], bands=[0.4, 1.0])
    assert list(bands) == ["synced", "0.4-1 s"]
    assert bands["0.4-1 s"] == {"accuracy": 0.0, "n": 1}  # tau = -1.2 is outside every band
    with pytest.raises(ValueError, match="increasing"):
        accuracy_by_offset(**BASE, offsets=COLS["offsets"], bands=[1.0, 0.5])


def test_constant_synced_answerer(helpers):
    """High original accuracy, pair accuracy 0, avg gap high: the Clever-Hans signature."""
    probes = helpers.make_probes(40)
    r = score_probes(
        ["The sound is synchronized with the video."] * len(probes["label"]),
        probes["label"], probes["condition"], probes["dimension"], probes["pair_id"],
        probes["offset_s"], probes["clip_id"], n_resamples=0,
    )  # fmt: skip
    assert all(r["accuracy"][d]["original"] == 1.0 for d in r["accuracy"])
    assert r["accuracy"]["sync"]["shift"] == r["accuracy"]["existence"]["mute"] == r["accuracy"]["consistency"]["swap"] == 0.0
    assert r["avg_gap"] == 1.0
    assert r["pair_accuracy"] == {"sync": 0.0, "existence": 0.0, "consistency": 0.0}
    assert r["rates"]["mute_hallucination"] == r["rates"]["swap_false_match"] == r["rates"]["shift_miss"] == 1.0
    assert r["rates"]["false_silence"] == r["rates"]["swap_false_mismatch"] == r["rates"]["hallucinated_shift"] == 0.0
    assert math.isnan(r["rates"]["wrong_direction"])  # it never gives a direction
    assert r["accuracy_by_offset"]["synced"]["accuracy"] == 1.0
    assert all(v["accuracy"] == 0.0 for k, v in r["accuracy_by_offset"].items() if k != "synced" and v["n"])


def test_a_listening_model(helpers):
    probes = helpers.make_probes(40)
    r = score_probes(
        helpers.perfect_answers(probes), probes["label"], probes["condition"], probes["dimension"],
        probes["pair_id"], probes["offset_s"], probes["clip_id"], n_resamples=0,
    )  # fmt: skip
    assert r["avg_gap"] == 0.0 and r["avg_pair_accuracy"] == 1.0
    assert all(v == 0.0 for v in r["rates"].values())
    assert r["unparseable_rate"] == 0.0


def test_missing_dimension_gives_nan_gap_and_averages_over_the_rest():
    r = score_probes(
        ["synced", "synced"], ["synced", "silent"], ["original", "mute"], ["existence"] * 2, ["p", "p"],
        n_resamples=0,
    )  # fmt: skip
    assert math.isnan(r["gap"]["sync"]) and math.isnan(r["pair_accuracy"]["sync"])
    assert r["avg_gap"] == 1.0 and r["avg_pair_accuracy"] == 0.0


# -- bad input: a clear ValueError naming what is wrong --------------------------------------


def _with(**changes):
    cols = {k: list(v) for k, v in COLS.items()}
    for key, (row, value) in changes.items():
        cols[key][row] = value
    return cols


@pytest.mark.parametrize(
    ("cols", "message"),
    [
        ({**COLS, "conditions": COLS["conditions"][:-1]}, r"conditions has 11 entries but predictions has 12"),
        (_with(conditions=(3, "muted")), r"conditions\[3\] is 'muted', which is not one of"),
        (_with(dimensions=(0, "timing")), r"dimensions\[0\] is 'timing'"),
        (_with(references=(0, "sync")), r"references\[0\] is 'sync', which is not one of"),
        (_with(dimensions=(3, "sync")), r"row 3: a 'mute' probe must have dimension 'existence', not 'sync'"),
        (_with(references=(3, "synced")), r"references\[3\] is 'synced', but a 'mute' probe's gold label is 'silent'"),
        (_with(references=(1, "early")), r"offsets\[1\] is \+0.5 s but references\[1\] is 'early'"),
        (_with(offsets=(1, 0.0)), r"offsets\[1\] is 0 on a shift probe"),
        (_with(offsets=(3, 0.5)), r"offsets\[3\] is 0.5, but a 'mute' probe has no offset"),
        (_with(pair_ids=(0, "lonely")), r"pair_id 'c1/s' \(rows \[1\]\) has an intervened probe but no original probe"),
        (_with(pair_ids=(4, "c1/e")), r"pair_id 'c1/e' .* has more than one original probe"),
        (_with(pair_ids=(3, "c1/s")), r"pair_id 'c1/s' .* mixes dimensions"),  # a mute probe joins a sync pair
        (_with(clip_ids=(1, "c2")), r"pair_id 'c1/s' .* spans two clips"),
        (_with(clip_ids=(1, None)), r"clip_ids\[1\] is None"),
        ({k: [] for k in COLS}, r"no probes to score"),
    ],
)
def test_bad_input_is_a_clear_error(cols, message):
    with pytest.raises(ValueError, match=message):
        score_probes(**cols, n_resamples=0)


def test_pair_mixing_dimensions_is_an_error():
    with pytest.raises(ValueError, match="mixes dimensions"):
        score_probes(["A", "A"], ["synced", "silent"], ["original", "mute"], ["sync", "existence"], ["p", "p"], n_resamples=0)


def test_a_string_instead_of_a_list_is_a_clear_error():
    with pytest.raises(TypeError, match="must be a sequence"):
        score_probes(["A"], "synced", ["original"], ["sync"], ["p"], n_resamples=0)


def test_the_default_bands_hold_one_default_offset_each():
    """The default |tau| bands fit the builder's default offsets: each magnitude (0.3, 0.5,
    0.8, 1.2 s) in a band of its own, so no band is empty by construction."""
    from thud_dataset.planning import DEFAULT_OFFSETS
    from thud_metrics import DEFAULT_BANDS

    magnitudes = sorted({abs(t) for t in DEFAULT_OFFSETS})
    n = len(magnitudes)
    got = accuracy_by_offset(["C"] * n, ["delayed"] * n, ["shift"] * n, ["sync"] * n, magnitudes)
    shifted = {band: v["n"] for band, v in got.items() if band != "synced"}
    assert len(shifted) == len(DEFAULT_BANDS) - 1 == n and set(shifted.values()) == {1}
