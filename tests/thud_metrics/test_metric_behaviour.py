"""Every number of ``score_probes`` against a plain-Python reading of its definition.

The reference below is written from the definitions in ``docs/metrics.md`` and the
docstrings (accuracy per cell, gap, pair accuracy by (original, intervened) couple, the
seven error rates, unreadable and refusal shares, confusion, decomposition, offset bands,
counts), one probe at a time with loops and dictionaries — nothing from the library but
the answers' readings, and those are chosen so they are unambiguous (labels, ``None``,
plain refusals). Random probe tables mix every condition, correct, wrong, unknown and
refused answers, sweeps (one original with several shifts) and dimensions or conditions
without probes, so a change to any formula, mask, denominator or key shows up as a
difference in some number (issue 20: no number rests on a single hand-made case).

The bootstrap is checked by its defining properties: a resample draws ``m`` whole clips
with replacement (exact counts per draw), both sampling paths give the same distribution,
and the intervals are deterministic per seed, contain the point estimate, and collapse
when every clip is alike.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict

import numpy as np
import pytest

from thud_metrics import bootstrap_ci, score_probes
from thud_metrics.bootstrap import resampled_sums
from thud_metrics.scores import (
    accuracy,
    accuracy_by_offset,
    confusion,
    decomposition,
    error_rates,
    gaps,
    pair_accuracy,
    refusal_rate,
    unparseable_rate,
)

CONDITIONS = ("original", "shift", "mute", "swap")
DIMENSIONS = ("sync", "existence", "consistency")
INTERVENTION = {"sync": "shift", "existence": "mute", "consistency": "swap"}
OPTIONS = {
    "sync": ("synced", "early", "delayed"),
    "existence": ("synced", "silent"),
    "consistency": ("synced", "mismatched"),
}
LABELS = ("synced", "early", "delayed", "silent", "mismatched")
READINGS = (*LABELS, "refused", "unknown")
REFUSAL = "I'm sorry, I cannot process audio; I only receive the video frames."
#: what each reading is written as in the predictions (all unambiguous for the parser)
WRITTEN = {**{label: label for label in LABELS}, "refused": REFUSAL, "unknown": None}
NAN = float("nan")


def _ratio(num: float, den: float) -> float:
    return num / den if den else NAN


def _same(a: float, b: float) -> bool:
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


def make_table(seed: int, n_clips: int = 9, sweep: bool = True, leave_out: tuple[str, ...] = ()) -> list[dict]:
    """Probes of ``n_clips`` clips: per dimension an original and its intervened probe(s).

    Readings are drawn so every kind occurs: the gold (more often), another option of the
    dimension, ``silent``/``mismatched`` out of place, refused and unknown.
    """
    rng = random.Random(seed)
    rows = []
    for c in range(n_clips):
        clip = f"clip{c}"
        skill = rng.random()  # clips differ: their probes are correlated
        for dim in DIMENSIONS:
            pair = f"{clip}/{dim}"
            intervention = INTERVENTION[dim]
            taus = [rng.choice([-1.2, -0.5, -0.3, 0.3, 0.6, 1.5, 2.5])]
            if sweep and dim == "sync" and rng.random() < 0.5:
                taus += [t for t in (-0.8, 1.1) if rng.random() < 0.7]
            probes = [("original", 0.0)]
            if intervention not in leave_out:
                probes += [(intervention, tau if intervention == "shift" else 0.0) for tau in taus]
            for condition, tau in probes:
                if condition == "original" and "original" in leave_out:
                    continue
                gold = {"original": "synced", "mute": "silent", "swap": "mismatched"}.get(condition)
                if condition == "shift":
                    gold = "delayed" if tau > 0 else "early"
                u = rng.random()
                if u < 0.35 + 0.4 * skill:
                    reading = gold
                elif u < 0.8:
                    reading = rng.choice([o for o in OPTIONS[dim] if o != gold])
                elif u < 0.87:
                    reading = rng.choice(["silent", "mismatched", "early"])
                elif u < 0.94:
                    reading = "refused"
                else:
                    reading = "unknown"
                rows.append(
                    {"reading": reading, "gold": gold, "condition": condition, "dimension": dim,
                     "pair": pair, "clip": clip, "tau": tau}
                )  # fmt: skip
    rng.shuffle(rows)
    return rows


def columns(rows: list[dict]) -> dict[str, list]:
    return {
        "predictions": [WRITTEN[r["reading"]] for r in rows],
        "references": [r["gold"] for r in rows],
        "conditions": [r["condition"] for r in rows],
        "dimensions": [r["dimension"] for r in rows],
        "pair_ids": [r["pair"] for r in rows],
        "offsets": [r["tau"] for r in rows],
        "clip_ids": [r["clip"] for r in rows],
    }


# -- the reference: each definition, one probe at a time ------------------------------------


def reference(rows: list[dict], bands=(0.0, 0.4, 0.65, 1.0, float("inf"))) -> dict:
    right = [r["reading"] == r["gold"] for r in rows]
    acc = {}
    for dim in DIMENSIONS:
        acc[dim] = {}
        for cond in ("original", INTERVENTION[dim]):
            cell = [ok for r, ok in zip(rows, right, strict=True) if r["dimension"] == dim and r["condition"] == cond]
            acc[dim][cond] = _ratio(sum(cell), len(cell))
    gap = {d: acc[d]["original"] - acc[d][INTERVENTION[d]] for d in DIMENSIONS}
    have = [g for g in gap.values() if not math.isnan(g)]
    avg_gap = sum(have) / len(have) if have else NAN

    original_right = {r["pair"]: ok for r, ok in zip(rows, right, strict=True) if r["condition"] == "original"}
    pairs = {d: [0, 0] for d in DIMENSIONS}
    for r, ok in zip(rows, right, strict=True):
        if r["condition"] != "original":
            pairs[r["dimension"]][1] += 1
            pairs[r["dimension"]][0] += ok and original_right[r["pair"]]
    pair_acc = {d: _ratio(*pairs[d]) for d in DIMENSIONS}
    have = [v for v in pair_acc.values() if not math.isnan(v)]
    avg_pair = sum(have) / len(have) if have else NAN

    def rate(claim, among) -> float:
        sel = [r for r in rows if among(r)]
        return _ratio(sum(1 for r in sel if claim(r)), len(sel))

    def orig(dim):
        return lambda r: r["condition"] == "original" and r["dimension"] == dim

    direction = ("early", "delayed")
    rates = {
        "mute_hallucination": rate(lambda r: r["reading"] in ("synced", "early", "delayed", "mismatched"),
                                   lambda r: r["condition"] == "mute"),
        "false_silence": rate(lambda r: r["reading"] == "silent", orig("existence")),
        "swap_false_match": rate(lambda r: r["reading"] == "synced", lambda r: r["condition"] == "swap"),
        "swap_false_mismatch": rate(lambda r: r["reading"] == "mismatched", orig("consistency")),
        "shift_miss": rate(lambda r: r["reading"] == "synced", lambda r: r["condition"] == "shift"),
        "wrong_direction": rate(lambda r: r["reading"] != r["gold"],
                                lambda r: r["condition"] == "shift" and r["reading"] in direction),
        "hallucinated_shift": rate(lambda r: r["reading"] in direction, orig("sync")),
    }  # fmt: skip

    conf = {c: {} for c in CONDITIONS}
    gold_of = {"original": ("synced",), "shift": ("early", "delayed"), "mute": ("silent",), "swap": ("mismatched",)}
    for c in CONDITIONS:
        for g in gold_of[c]:
            conf[c][g] = dict.fromkeys(READINGS, 0)
    for r in rows:
        conf[r["condition"]][r["gold"]][r["reading"]] += 1

    decomp = {}
    for c in CONDITIONS:
        counts = Counter()
        for r in (r for r in rows if r["condition"] == c):
            if r["reading"] == r["gold"]:
                counts["correct"] += 1
            elif r["reading"] in direction:
                counts["wrong_direction" if r["gold"] in direction else "shift"] += 1
            else:
                counts[r["reading"]] += 1
        total = sum(counts.values())
        decomp[c] = {k: _ratio(counts[k], total) for k in
                     ("correct", "synced", "wrong_direction", "shift", "silent", "mismatched", "refused", "unknown")}  # fmt: skip

    by_offset = {}
    synced = [ok for r, ok in zip(rows, right, strict=True) if r["condition"] == "original" and r["dimension"] == "sync"]
    by_offset["synced"] = {"accuracy": _ratio(sum(synced), len(synced)), "n": len(synced)}
    for lo, hi in zip(bands[:-1], bands[1:], strict=True):
        label = f"≥{lo:g} s" if math.isinf(hi) else f"{lo:g}-{hi:g} s"
        cell = [ok for r, ok in zip(rows, right, strict=True) if r["condition"] == "shift" and lo <= abs(r["tau"]) < hi]
        by_offset[label] = {"accuracy": _ratio(sum(cell), len(cell)), "n": len(cell)}

    n = len(rows)
    counts = {
        "probes": n,
        "per_condition": {d: {c: sum(1 for r in rows if r["dimension"] == d and r["condition"] == c)
                              for c in ("original", INTERVENTION[d])} for d in DIMENSIONS},
        "pairs": {d: pairs[d][1] for d in DIMENSIONS},
        "unknown": sum(r["reading"] == "unknown" for r in rows),
        "refused": sum(r["reading"] == "refused" for r in rows),
        "answers_with_direction": sum(r["reading"] in direction for r in rows),
        "answers_synced": sum(r["reading"] == "synced" for r in rows),
        "clips": len({r["clip"] for r in rows}),
    }  # fmt: skip
    return {
        "accuracy": acc, "gap": gap, "avg_gap": avg_gap, "pair_accuracy": pair_acc,
        "avg_pair_accuracy": avg_pair, "rates": rates,
        "unparseable_rate": sum(r["reading"] == "unknown" for r in rows) / n,
        "refusal_rate": sum(r["reading"] == "refused" for r in rows) / n,
        "confusion": conf, "decomposition": decomp, "accuracy_by_offset": by_offset, "counts": counts,
    }  # fmt: skip


def assert_same_tree(got, want, where="") -> None:
    if isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want), (where, sorted(got), sorted(want))
        for key in want:
            assert_same_tree(got[key], want[key], f"{where}/{key}")
    elif isinstance(want, float):
        assert _same(float(got), want), (where, got, want)
    else:
        assert got == want, (where, got, want)


TABLES = [
    pytest.param({"seed": s}, id=f"seed{s}") for s in range(6)
] + [
    pytest.param({"seed": 11, "leave_out": ("mute",)}, id="no-mute-probes"),
    pytest.param({"seed": 12, "leave_out": ("swap", "shift")}, id="only-existence-intervened"),
    pytest.param({"seed": 13, "sweep": False, "n_clips": 3}, id="three-clips-no-sweep"),
]


@pytest.mark.parametrize("spec", TABLES)
def test_every_number_matches_its_definition(spec):
    rows = make_table(**spec)
    want = reference(rows)
    got = score_probes(**columns(rows), n_resamples=0)
    for key in ("accuracy", "gap", "avg_gap", "pair_accuracy", "avg_pair_accuracy", "rates",
                "unparseable_rate", "refusal_rate", "confusion", "accuracy_by_offset", "counts"):  # fmt: skip
        assert_same_tree(got[key], want[key], key)
    assert_same_tree(decomposition(got["confusion"]), want["decomposition"], "decomposition")


@pytest.mark.parametrize("seed", [1, 4])
def test_the_one_number_functions_agree_with_the_definitions(seed):
    rows = make_table(seed)
    want = reference(rows, bands=(0.0, 0.4, 1.0, 3.0))
    c = columns(rows)
    basic = (c["predictions"], c["references"], c["conditions"], c["dimensions"])
    assert_same_tree(accuracy(*basic), want["accuracy"], "accuracy")
    gap, avg = gaps(accuracy(*basic))
    assert_same_tree(gap, want["gap"], "gap")
    assert _same(avg, want["avg_gap"])
    assert_same_tree(pair_accuracy(*basic, c["pair_ids"]), want["pair_accuracy"], "pair_accuracy")
    assert_same_tree(error_rates(*basic), want["rates"], "rates")
    assert_same_tree(confusion(*basic), want["confusion"], "confusion")
    assert _same(unparseable_rate(c["predictions"], c["dimensions"]), want["unparseable_rate"])
    assert _same(refusal_rate(c["predictions"], c["dimensions"]), want["refusal_rate"])
    got = accuracy_by_offset(*basic, c["offsets"], bands=(0.0, 0.4, 1.0, 3.0))
    assert_same_tree(got, want["accuracy_by_offset"], "accuracy_by_offset")


def test_a_probe_on_a_band_edge_belongs_to_the_band_above():
    rows = [
        {"reading": "synced", "gold": "synced", "condition": "original", "dimension": "sync", "pair": "a", "clip": "a", "tau": 0.0},
        {"reading": "early", "gold": "early", "condition": "shift", "dimension": "sync", "pair": "a", "clip": "a", "tau": -0.5},
        {"reading": "synced", "gold": "delayed", "condition": "shift", "dimension": "sync", "pair": "a", "clip": "a", "tau": 1.0},
        {"reading": "delayed", "gold": "delayed", "condition": "shift", "dimension": "sync", "pair": "a", "clip": "a", "tau": 3.0},
    ]  # fmt: skip
    c = columns(rows)
    got = accuracy_by_offset(c["predictions"], c["references"], c["conditions"], c["dimensions"], c["offsets"],
                             bands=(0.5, 1.0, 3.0))  # fmt: skip
    # 0.5 is in [0.5, 1); 1.0 in [1, 3); 3.0 is outside every band (the last edge is open)
    assert got == {"synced": {"accuracy": 1.0, "n": 1}, "0.5-1 s": {"accuracy": 1.0, "n": 1},
                   "1-3 s": {"accuracy": 0.0, "n": 1}}  # fmt: skip


def test_gaps_average_only_the_dimensions_that_have_one():
    acc = {"sync": {"original": 0.9, "shift": 0.3}, "existence": {"original": NAN, "mute": 0.5},
           "consistency": {"original": 0.8, "swap": 0.6}}  # fmt: skip
    gap, avg = gaps(acc)
    assert _same(gap["sync"], 0.6) and math.isnan(gap["existence"]) and _same(gap["consistency"], 0.2)
    assert _same(avg, 0.4)
    gap, avg = gaps({d: {"original": NAN, INTERVENTION[d]: 1.0} for d in DIMENSIONS})
    assert math.isnan(avg)


# -- the bootstrap, by its definition ---------------------------------------------------------


def _units(repeated: bool, m: int = 240, k: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Per-unit (numerator, denominator) counts; ``repeated``: few distinct rows (the
    multinomial path), else every row distinct (the direct path). Column 0 counts units."""
    rng = np.random.default_rng(seed)
    den = rng.integers(1, 4, size=(m, k)).astype(float)
    num = np.minimum(den, rng.integers(0, 3, size=(m, k))).astype(float)
    num[:, 0], den[:, 0] = 1.0, 1.0
    if repeated:
        pool = np.arange(4)
        rows = rng.choice(pool, size=m)
        num, den = num[rows], den[rows]
    else:
        num[:, 1] = np.arange(m) % 7
        den[:, 1] = num[:, 1] + np.arange(m)  # every row distinct
    return num, den


@pytest.mark.parametrize("repeated", [True, False], ids=["few-distinct-rows", "all-rows-distinct"])
def test_a_resample_draws_m_whole_units_with_replacement(repeated):
    num, den = _units(repeated)
    m = len(num)
    n_resamples = 4000
    num_s, den_s = resampled_sums(num, den, n_resamples, seed=3)
    assert num_s.shape == den_s.shape == (n_resamples, num.shape[1])
    # every resample holds exactly m units (column 0 counts them) in whole numbers
    assert np.all(den_s[:, 0] == m) and np.all(num_s[:, 0] == m)
    assert np.allclose(num_s, np.round(num_s)) and np.all(num_s <= den_s)
    # with replacement, uniformly: the mean of a column's sum is m * its mean per unit, and
    # its variance m * its variance per unit
    for col in (1, 2):
        for sums, unit in ((num_s[:, col], num[:, col]), (den_s[:, col], den[:, col])):
            assert abs(sums.mean() - unit.sum()) < 4 * math.sqrt(m * unit.var() / n_resamples) + 1e-9
            if unit.var() > 0:
                assert 0.85 < sums.var() / (m * unit.var()) < 1.15
    # resamples differ from one another (not m copies of one unit, not the data itself)
    assert len({tuple(r) for r in num_s[:50, 1:]}) > 40


def test_both_sampling_paths_draw_the_same_distribution():
    """The multinomial shortcut (few distinct rows) and drawing units one by one agree."""
    num, den = _units(True, m=200)
    # the same units, each made distinct by an extra column that does not count
    tag = np.arange(len(num), dtype=float)[:, None]
    n_resamples = 6000
    a_num, _ = resampled_sums(num, den, n_resamples, seed=1)
    b_num, _ = resampled_sums(np.hstack([num, tag]), np.hstack([den, tag]), n_resamples, seed=1)
    for col in (1, 2):
        a, b = a_num[:, col], b_num[:, col]
        assert abs(a.mean() - b.mean()) < 4 * math.sqrt((a.var() + b.var()) / n_resamples)
        assert 0.9 < a.var() / b.var() < 1.1


def test_the_bootstrap_is_seeded_and_brackets_the_point_estimate():
    rows = make_table(5, n_clips=30)
    c = columns(rows)
    a = score_probes(**c, n_resamples=300, seed=7)
    b = score_probes(**c, n_resamples=300, seed=7)
    other = score_probes(**c, n_resamples=300, seed=8)
    assert a["ci"] == b["ci"] and a["ci"] != other["ci"]
    assert a["ci"]["unit"] == "clip" and a["ci"]["n_resamples"] == 300 and a["ci"]["seed"] == 7
    for dim in DIMENSIONS:
        for cond, value in a["accuracy"][dim].items():
            lo, hi = a["ci"]["accuracy"][dim][cond]
            assert lo <= value <= hi and lo < hi, (dim, cond, lo, value, hi)
        lo, hi = a["ci"]["gap"][dim]
        assert lo <= a["gap"][dim] <= hi
    lo, hi = a["ci"]["avg_gap"]
    assert lo <= a["avg_gap"] <= hi
    # a wider confidence gives a wider interval of the same resamples
    wide = score_probes(**c, n_resamples=300, seed=7, confidence=0.99)
    lo95, hi95 = a["ci"]["avg_gap"]
    lo99, hi99 = wide["ci"]["avg_gap"]
    assert lo99 <= lo95 and hi99 >= hi95 and (hi99 - lo99) > (hi95 - lo95)


def test_clips_that_are_all_alike_give_an_interval_of_zero_width():
    """Every clip has the same answers: any resample of clips has the same numbers."""
    rows = []
    for c in range(6):
        for reading, gold, cond, dim in (("synced", "synced", "original", "sync"), ("synced", "early", "shift", "sync"),
                                         ("silent", "silent", "mute", "existence"), ("synced", "synced", "original", "existence")):  # fmt: skip
            rows.append({"reading": reading, "gold": gold, "condition": cond, "dimension": dim,
                         "pair": f"c{c}/{dim}", "clip": f"c{c}", "tau": -0.5 if cond == "shift" else 0.0})  # fmt: skip
    c = columns(rows)
    ci = bootstrap_ci(c["predictions"], c["references"], c["conditions"], c["dimensions"], c["pair_ids"],
                      c["clip_ids"], n_resamples=200)  # fmt: skip
    assert ci["accuracy"]["sync"]["original"] == [1.0, 1.0]
    assert ci["accuracy"]["sync"]["shift"] == [0.0, 0.0]
    assert ci["gap"]["sync"] == [1.0, 1.0] and ci["gap"]["existence"] == [0.0, 0.0]
    assert ci["pair_accuracy"]["sync"] == [0.0, 0.0] and ci["pair_accuracy"]["existence"] == [1.0, 1.0]
    assert all(math.isnan(v) for v in ci["accuracy"]["consistency"]["swap"])  # no swap probes anywhere


def test_the_bootstrap_interval_follows_the_clip_distribution():
    """Two kinds of clip, right and wrong, half each: the resampled accuracy is a binomial
    share of ``m`` clips, so its 95% interval is about ``0.5 -/+ 1.96 * sqrt(0.25 / m)``."""
    m = 100
    rows = []
    for c in range(m):
        good = c % 2 == 0
        rows.append({"reading": "synced", "gold": "synced", "condition": "original", "dimension": "sync",
                     "pair": f"c{c}", "clip": f"c{c}", "tau": 0.0})  # fmt: skip
        rows.append({"reading": "early" if good else "synced", "gold": "early", "condition": "shift",
                     "dimension": "sync", "pair": f"c{c}", "clip": f"c{c}", "tau": -0.5})  # fmt: skip
    c = columns(rows)
    ci = bootstrap_ci(c["predictions"], c["references"], c["conditions"], c["dimensions"], c["pair_ids"],
                      c["clip_ids"], n_resamples=2000, seed=0)  # fmt: skip
    lo, hi = ci["accuracy"]["sync"]["shift"]
    half = 1.96 * math.sqrt(0.25 / m)
    assert abs(lo - (0.5 - half)) < 0.03 and abs(hi - (0.5 + half)) < 0.03
    # the gap mirrors it (original accuracy is 1 on every resample)
    glo, ghi = ci["gap"]["sync"]
    assert math.isclose(glo, 1 - hi) and math.isclose(ghi, 1 - lo)


def test_bootstrap_settings_are_checked():
    rows = make_table(0, n_clips=2)
    c = columns(rows)
    args = (c["predictions"], c["references"], c["conditions"], c["dimensions"])
    for bad in ({"n_resamples": 0}, {"n_resamples": -3}, {"n_resamples": 2.5}):
        with pytest.raises(ValueError, match="n_resamples must be a positive integer"):
            bootstrap_ci(*args, **bad)
    for bad in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match=r"confidence must be in \(0, 1\)"):
            bootstrap_ci(*args, confidence=bad)


def test_units_fall_back_from_clips_to_pairs_to_probes():
    rows = make_table(2, n_clips=4)
    c = columns(rows)
    args = (c["predictions"], c["references"], c["conditions"], c["dimensions"])
    assert bootstrap_ci(*args, c["pair_ids"], c["clip_ids"], n_resamples=5)["unit"] == "clip"
    assert bootstrap_ci(*args, c["pair_ids"], n_resamples=5)["unit"] == "pair"
    assert bootstrap_ci(*args, n_resamples=5)["unit"] == "probe"
    # without clip ids the per-dimension pair counts stay what they are (the unit count of
    # a pair bootstrap must not replace them), and there is no clip count to report
    counts = score_probes(*args, c["pair_ids"], n_resamples=0)["counts"]
    assert counts["pairs"] == reference(rows)["counts"]["pairs"]
    assert "clips" not in counts and counts["probes"] == len(rows)
    with_clips = score_probes(*args, c["pair_ids"], None, c["clip_ids"], n_resamples=0)["counts"]
    assert with_clips["clips"] == 4 and with_clips["pairs"] == counts["pairs"]


def test_per_dimension_numbers_use_only_their_dimension():
    """Moving every wrong answer of one dimension leaves the others' numbers alone."""
    rows = make_table(9)
    base = score_probes(**columns(rows), n_resamples=0)
    fixed = [dict(r, reading=r["gold"]) if r["dimension"] == "consistency" else r for r in rows]
    after = score_probes(**columns(fixed), n_resamples=0)
    for dim in ("sync", "existence"):
        assert_same_tree(after["accuracy"][dim], base["accuracy"][dim], dim)
        assert _same(after["pair_accuracy"][dim], base["pair_accuracy"][dim])
    assert after["accuracy"]["consistency"] == {"original": 1.0, "swap": 1.0}
    assert after["pair_accuracy"]["consistency"] == 1.0 and after["gap"]["consistency"] == 0.0


def test_a_clip_weighs_by_its_probes_not_by_one_vote():
    """Ratios are sums over probes (a clip with three shifts counts three times)."""
    rows = [
        {"reading": "synced", "gold": "synced", "condition": "original", "dimension": "sync", "pair": "a", "clip": "a", "tau": 0.0},
        *({"reading": "early", "gold": "early", "condition": "shift", "dimension": "sync", "pair": "a", "clip": "a", "tau": t}
          for t in (-0.3, -0.5, -0.8)),
        {"reading": "synced", "gold": "synced", "condition": "original", "dimension": "sync", "pair": "b", "clip": "b", "tau": 0.0},
        {"reading": "synced", "gold": "delayed", "condition": "shift", "dimension": "sync", "pair": "b", "clip": "b", "tau": 0.5},
    ]  # fmt: skip
    got = score_probes(**columns(rows), n_resamples=0)
    assert got["accuracy"]["sync"]["shift"] == 0.75  # 3 of 4 probes, not 1 of 2 clips
    assert got["pair_accuracy"]["sync"] == 0.75
    assert got["rates"]["shift_miss"] == 0.25 and got["counts"]["pairs"]["sync"] == 4
    per_clip = defaultdict(list)
    for r in rows:
        per_clip[r["clip"]].append(r)
    assert len(per_clip) == got["counts"]["clips"] == 2


def test_a_clip_with_several_shifts_is_resampled_whole():
    """50 clips with four shifts each, all right or all wrong by clip: the interval of the
    shift accuracy is that of 50 draws (clips), not of 200 independent probes."""
    m, k = 50, 4
    rows = []
    for c in range(m):
        good = c % 2 == 0
        rows.append({"reading": "synced", "gold": "synced", "condition": "original", "dimension": "sync",
                     "pair": f"c{c}", "clip": f"c{c}", "tau": 0.0})  # fmt: skip
        for tau in (-1.2, -0.8, -0.5, -0.3)[:k]:
            rows.append({"reading": "early" if good else "delayed", "gold": "early", "condition": "shift",
                         "dimension": "sync", "pair": f"c{c}", "clip": f"c{c}", "tau": tau})  # fmt: skip
    c = columns(rows)
    ci = bootstrap_ci(c["predictions"], c["references"], c["conditions"], c["dimensions"], c["pair_ids"],
                      c["clip_ids"], n_resamples=2000, seed=1)  # fmt: skip
    lo, hi = ci["accuracy"]["sync"]["shift"]
    by_clip = 2 * 1.96 * math.sqrt(0.25 / m)  # ~0.28; by probe it would be ~0.14
    assert ci["unit"] == "clip" and abs((hi - lo) - by_clip) < 0.2 * by_clip, (lo, hi)


# -- offsets, defaults, messages ----------------------------------------------------------------


def test_offset_error_by_hand():
    from thud_metrics.scores import offset_error

    answers = [
        "The audio is 0.5 s late.",  # states +0.5, tau +1.0: error 0.5
        "It comes 1 second early.",  # states -1.0, tau -0.3: error 0.7
        "The sound is about 0.2 seconds early.",  # states -0.2, tau +0.4 (wrong way): error 0.6
        "B",  # no number: left out
        "The sound is in sync.",  # no direction: left out
        "The audio is 0.3 s late.",  # an original probe (tau 0): error 0.3
    ]
    refs = ["delayed", "early", "delayed", "early", "delayed", "synced"]
    conds = ["shift"] * 5 + ["original"]
    got = offset_error(answers, refs, conds, ["sync"] * 6, [1.0, -0.3, 0.4, -0.5, 0.8, 0.0])
    assert got["n"] == 4
    assert got["mean_abs_error"] == pytest.approx((0.5 + 0.7 + 0.6 + 0.3) / 4)
    assert got["median_abs_error"] == pytest.approx((0.5 + 0.6) / 2)
    none = offset_error(["B"], ["early"], ["shift"], ["sync"], [-0.5])
    assert none["n"] == 0 and math.isnan(none["mean_abs_error"]) and math.isnan(none["median_abs_error"])
    r = score_probes(answers, refs, conds, ["sync"] * 6, None, [1.0, -0.3, 0.4, -0.5, 0.8, 0.0], n_resamples=0)
    assert r["offset_error"] == got


def test_the_documented_defaults():
    rows = make_table(3, n_clips=5)
    c = columns(rows)
    args = (c["predictions"], c["references"], c["conditions"], c["dimensions"], c["pair_ids"])
    default = bootstrap_ci(*args, clip_ids=c["clip_ids"])
    assert (default["n_resamples"], default["seed"], default["confidence"]) == (1000, 0, 0.95)
    assert default == bootstrap_ci(*args, clip_ids=c["clip_ids"], n_resamples=1000, seed=0, confidence=0.95)
    scored = score_probes(*args, None, c["clip_ids"])
    assert scored["ci"] == default
    # one resample is a valid (if useless) bootstrap
    assert bootstrap_ci(*args, clip_ids=c["clip_ids"], n_resamples=1)["n_resamples"] == 1


def test_the_judge_reads_only_the_unread_answers_by_default():
    asked = []

    def judge(answer, dimension):
        asked.append(answer)
        return "early"

    r = score_probes(["A", "hmm"], ["synced", "early"], ["original", "shift"], ["sync", "sync"], ["p", "p"],
                     n_resamples=0, judge=judge)  # fmt: skip
    assert asked == ["hmm"] and r["judge"]["mode"] == "unread"
    assert r["accuracy"]["sync"] == {"original": 1.0, "shift": 1.0}


def test_the_percentile_interval_has_the_asked_coverage():
    """400 clips, right or wrong half and half: the resampled accuracy is binomial with
    sd sqrt(0.25 / 400) = 0.025, so a 50% interval is +-0.674 sd and a 90% one +-1.645 sd."""
    m = 400
    rows = []
    for c in range(m):
        rows.append({"reading": "synced", "gold": "synced", "condition": "original", "dimension": "sync",
                     "pair": f"c{c}", "clip": f"c{c}", "tau": 0.0})  # fmt: skip
        rows.append({"reading": "early" if c % 2 else "synced", "gold": "early", "condition": "shift",
                     "dimension": "sync", "pair": f"c{c}", "clip": f"c{c}", "tau": -0.5})  # fmt: skip
    c = columns(rows)
    sd = math.sqrt(0.25 / m)
    for confidence, z in ((0.5, 0.6745), (0.9, 1.6449)):
        ci = bootstrap_ci(c["predictions"], c["references"], c["conditions"], c["dimensions"], c["pair_ids"],
                          c["clip_ids"], n_resamples=4000, seed=2, confidence=confidence)  # fmt: skip
        lo, hi = ci["accuracy"]["sync"]["shift"]
        assert abs((hi - lo) - 2 * z * sd) < 0.12 * 2 * z * sd, (confidence, lo, hi)
        assert abs((lo + hi) / 2 - 0.5) < 0.01


def test_numbers_without_data_are_nan_without_warnings():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gap, avg = gaps({d: {"original": NAN, INTERVENTION[d]: NAN} for d in DIMENSIONS})
        assert math.isnan(avg) and all(math.isnan(g) for g in gap.values())
        r = score_probes(["A"], ["synced"], ["original"], ["existence"], None, n_resamples=50, clip_ids=["c"])
        assert math.isnan(r["gap"]["sync"]) and math.isnan(r["offset_error"]["mean_abs_error"])
        assert all(math.isnan(v) for v in r["ci"]["accuracy"]["sync"]["shift"])
        assert all(math.isnan(v) for v in decomposition(r["confusion"])["mute"].values())


@pytest.mark.parametrize(
    "column,bad,message",
    [
        ("references", "sync", r"^references\[1\] is 'sync', which is not one of \('synced', 'early'"),
        ("dimensions", "timing", r"^dimensions\[1\] is 'timing', which is not one of \('sync', 'existence', 'consistency'\)$"),
        ("conditions", "shifted", r"^conditions\[1\] is 'shifted', which is not one of \('original', 'shift', 'mute', 'swap'\)$"),
    ],
)
def test_a_bad_name_is_reported_with_its_argument_row_and_value(column, bad, message):
    from thud_metrics.probes import check_labels

    cols = {"references": ["synced", "synced"], "conditions": ["original", "original"], "dimensions": ["sync", "sync"]}
    cols[column][1] = bad
    with pytest.raises(ValueError, match=message):
        check_labels(cols["references"], cols["conditions"], cols["dimensions"])
    with pytest.raises(ValueError, match=message):
        score_probes(["A", "A"], cols["references"], cols["conditions"], cols["dimensions"], None, n_resamples=0)


def test_empty_predictions_are_refused_by_every_function():
    for call in (lambda: unparseable_rate([]), lambda: refusal_rate([]), lambda: unparseable_rate(iter([])),
                 lambda: accuracy([], [], [], []), lambda: score_probes([], [], [], [], None)):  # fmt: skip
        with pytest.raises(ValueError, match="^no probes to score: predictions is empty$"):
            call()


def test_the_rate_functions_check_the_dimensions_they_are_given():
    # the dimensions are passed on to the reader, which names what is wrong with them
    for rate, answers in ((refusal_rate, ["A", REFUSAL]), (unparseable_rate, ["A", "no idea"])):
        with pytest.raises(ValueError, match="unknown dimension 'timing'"):
            rate(answers, ["sync", "timing"])
        with pytest.raises(ValueError, match="got 2 answers but 1 dimensions"):
            rate(answers, ["sync"])
        assert rate(answers, ["sync", "sync"]) == 0.5


def test_decomposition_shares_are_never_negative():
    # a share is a count over the condition's total: 0.0 for an empty category, never -0.0
    conf = confusion(["synced", "silent", "early", "x"], ["silent"] * 4, ["mute"] * 4, ["existence"] * 4)
    shares = decomposition(conf)["mute"]
    assert shares == {"correct": 0.25, "synced": 0.25, "wrong_direction": 0.0, "shift": 0.25, "silent": 0.0,
                      "mismatched": 0.0, "refused": 0.0, "unknown": 0.25}  # fmt: skip
    assert all(math.copysign(1.0, v) == 1.0 for v in shares.values())


def test_averages_over_dimensions_without_a_number_are_nan():
    # only originals, no pair ids: no gap and no pair in any dimension, so no average either
    r = score_probes(["A", "B"], ["synced", "synced"], ["original", "original"], ["sync", "existence"], None,
                     n_resamples=0)  # fmt: skip
    assert all(math.isnan(r["gap"][d]) for d in DIMENSIONS) and math.isnan(r["avg_gap"])
    assert all(math.isnan(r["pair_accuracy"][d]) for d in DIMENSIONS) and math.isnan(r["avg_pair_accuracy"])
    assert r["counts"]["pairs"] == {d: 0 for d in DIMENSIONS}


@pytest.mark.parametrize("column", ["references", "conditions", "dimensions", "pair_ids", "offsets", "clip_ids"])
def test_every_column_needs_one_entry_per_probe(column):
    cols = {"references": ["synced", "early"], "conditions": ["original", "shift"], "dimensions": ["sync", "sync"],
            "pair_ids": ["p", "p"], "offsets": [0.0, -0.5], "clip_ids": ["c", "c"]}  # fmt: skip
    cols[column] = cols[column][:1]
    message = f"^{column} has 1 entries but predictions has 2: give one per probe$"
    with pytest.raises(ValueError, match=message):
        score_probes(["A", "B"], cols["references"], cols["conditions"], cols["dimensions"], cols["pair_ids"],
                     offsets=cols["offsets"], clip_ids=cols["clip_ids"], n_resamples=0)  # fmt: skip


def test_a_column_that_is_not_a_sequence_is_named_with_its_type():
    with pytest.raises(TypeError, match="^predictions must be a sequence with one entry per probe; got str$"):
        score_probes("A", ["synced"], ["original"], ["sync"], None, n_resamples=0)
    with pytest.raises(TypeError, match="^references must be a sequence with one entry per probe; got int$"):
        score_probes(["A"], 5, ["original"], ["sync"], None, n_resamples=0)


def test_an_error_counts_the_rows_and_pairs_that_share_it():
    def message(conditions, dimensions, pair_ids=None):
        with pytest.raises(ValueError) as err:
            score_probes(["A"] * len(conditions), ["synced"] * len(conditions), conditions, dimensions, pair_ids,
                         n_resamples=0)  # fmt: skip
        return str(err.value)

    one = message(["original", "mute"], ["sync", "sync"])
    assert one.startswith("row 1: a 'mute' probe must have dimension 'existence'") and "such rows" not in one
    two = message(["mute", "original", "mute"], ["sync", "sync", "consistency"])
    assert two.startswith("row 0: a 'mute' probe must have dimension 'existence'") and two.endswith(" (2 such rows)")
    one = message(["original", "original"], ["sync", "sync"], ["p", "p"])
    assert one.startswith("pair_id 'p' (rows [0, 1]) has more than one original probe") and "such pairs" not in one
    two = message(["original"] * 4, ["sync"] * 4, ["p", "p", "q", "q"])
    assert two.startswith("pair_id 'p' (rows [0, 1]) has more than one original probe") and two.endswith(" (2 such pairs)")


def test_a_wrong_gold_label_names_every_allowed_label():
    with pytest.raises(ValueError, match=r"^references\[1\] is 'synced', but a 'shift' probe's gold label is 'early' or 'delayed'$"):
        score_probes(["A", "A"], ["synced", "synced"], ["original", "shift"], ["sync", "sync"], None, n_resamples=0)


def test_unknown_offsets_are_zero_on_originals_and_unknown_on_shifts():
    # an original's missing offset is 0 (its stated 0.4 s is 0.4 s off); a shift's missing
    # tau stays unknown (accepted, and left out of the offset error)
    r = score_probes(["The sound comes 0.4 seconds late.", "The sound is 0.5 s late.", "The sound is 2 s early."],
                     ["synced", "delayed", "early"], ["original", "shift", "shift"], ["sync"] * 3, None,
                     offsets=[None, 0.5, None], n_resamples=0)  # fmt: skip
    assert r["offset_error"] == {"mean_abs_error": 0.2, "median_abs_error": 0.2, "n": 2}


def test_band_edges_must_increase_strictly():
    with pytest.raises(ValueError, match=r"^bands must be >= 2 increasing non-negative edges in seconds; got \[0, 0.5, 0.5, 1\]$"):
        score_probes(["A"], ["synced"], ["original"], ["sync"], None, n_resamples=0, bands=[0, 0.5, 0.5, 1])


@pytest.mark.parametrize("repeated", [True, False], ids=["few-distinct-rows", "all-rows-distinct"])
def test_resamples_drawn_in_chunks_are_exactly_the_asked_number(repeated, monkeypatch):
    # long runs draw in chunks (memory); the last chunk is cut to the resamples still asked for
    from thud_metrics import bootstrap

    num, den = _units(repeated)
    # chunks of 2 resamples (a chunk holds _CHUNK_ENTRIES // rows drawn from), 23 asked
    rows = len(np.unique(np.concatenate([num, den], axis=1), axis=0)) if repeated else len(num)
    monkeypatch.setattr(bootstrap, "_CHUNK_ENTRIES", 2 * rows)
    num_s, den_s = resampled_sums(num, den, 23, seed=1)
    assert num_s.shape == den_s.shape == (23, num.shape[1])
    assert np.all(den_s[:, 0] == len(num))


def test_intervals_do_not_depend_on_the_order_of_the_rows():
    rng = random.Random(5)
    n = 60
    clips = [f"clip{i % 12}" for i in range(n)]
    conds = [("original", "shift")[i % 2] for i in range(n)]
    refs = ["synced" if c == "original" else "early" for c in conds]
    preds = [rng.choice(["synced", "early", "delayed"]) for _ in range(n)]
    order = list(range(n))
    rng.shuffle(order)

    def ci(rows, ids):
        return score_probes([preds[i] for i in rows], [refs[i] for i in rows], [conds[i] for i in rows],
                            ["sync"] * n, None, clip_ids=ids[list(rows)], n_resamples=200, seed=3)["ci"]  # fmt: skip

    for ids in (np.array(clips), np.array([i % 12 for i in range(n)], dtype=np.uint32)):
        assert repr(ci(range(n), ids)) == repr(ci(order, ids))  # (repr: NaN == NaN)


def test_clip_ids_of_mixed_types_are_distinct_clips():
    # 1 and "1" are two clips (exact ids, no str() folding), whatever the mix of types
    r = score_probes(["synced", "early"] * 2, ["synced", "early"] * 2, ["original", "shift"] * 2, ["sync"] * 4, None,
                     clip_ids=[1, 1, "1", "1"], n_resamples=50)  # fmt: skip
    assert r["ci"]["unit"] == "clip" and r["counts"]["clips"] == 2
    r = score_probes(["synced"] * 3, ["synced"] * 3, ["original"] * 3, ["sync"] * 3, None, clip_ids=[2, "b", 2],
                     n_resamples=0)  # fmt: skip
    assert r["counts"]["clips"] == 2


def test_encode_probes_asks_the_judge_only_for_unread_answers_by_default():
    from thud_metrics.probes import encode_probes

    asked = []

    def judge(answer, dimension):
        asked.append(answer)
        return "early"

    p = encode_probes(["A", "hmm"], ["synced", "early"], ["original", "shift"], ["sync", "sync"], judge=judge)
    assert asked == ["hmm"] and p.judge["mode"] == "unread"


def test_probe_arrays_count_the_pairs_they_were_given():
    from thud_metrics.probes import encode_probes

    args = (["A"] * 3, ["synced", "early", "synced"], ["original", "shift", "original"], ["sync"] * 3)
    assert encode_probes(*args).n_pairs == 0 and encode_probes(*args).pair is None
    assert encode_probes(*args, ["p", "p", "q"]).n_pairs == 2
