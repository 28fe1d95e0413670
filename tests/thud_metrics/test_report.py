"""The scoring pipeline (``score_predictions``): the same numbers as ``score_probes``, plus the
offset summaries and the Clever-Hans couples the reports draw, checked by recomputing them."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.probes import make_probes
from tests.helpers.scoring import lopsided_answers
from tests.helpers.scoring import prediction_set as _set
from thud_metrics import parse_answers, score_probes
from thud_metrics.predictions import PredictionSet
from thud_metrics.report import couples, score_predictions


@pytest.fixture(scope="module")
def scored():
    probes = make_probes(80, seed=11)
    sets = [_set("prior", probes, ["synced"] * len(probes["probe_id"])), _set("lopsided", probes, lopsided_answers(probes))]
    return probes, score_predictions(probes, sets, dataset="tiny", n_resamples=300, seed=3)


def _args(probes):
    return (probes["label"], probes["condition"], probes["dimension"], probes["pair_id"], probes["offset_s"], probes["clip_id"])


def test_the_pipeline_numbers_are_score_probes_numbers(scored):
    probes, s = scored
    for name, answers in zip(s.names, (r.answers for r in s.readings), strict=True):
        plain = score_probes(answers, *_args(probes), n_resamples=300, seed=3)
        got = s.results[name]
        for key in ("avg_gap", "gap", "accuracy", "pair_accuracy", "rates", "confusion", "offset_error", "ci"):
            assert repr(got[key]) == repr(plain[key]), key
        for band, entry in plain["accuracy_by_offset"].items():  # the pipeline adds an interval per band
            assert repr({k: got["accuracy_by_offset"][band][k] for k in entry}) == repr(entry)
    assert list(s.comparisons) == ["lopsided vs prior"]
    assert s.payload()["models"] is s.results and s.payload()["n_resamples"] == 300


def test_signed_bands_split_the_abs_bands(scored):
    probes, s = scored
    r = s.results["lopsided"]
    signed, by_abs = r["accuracy_by_signed_offset"], r["accuracy_by_offset"]
    assert list(signed)[: len(by_abs) - 1] == [f"early {b}" for b in reversed(list(by_abs)[1:])]
    assert list(signed)[len(by_abs) - 1] == "synced"
    for band, entry in list(by_abs.items())[1:]:
        early, delayed = signed[f"early {band}"], signed[f"delayed {band}"]
        assert early["n"] + delayed["n"] == entry["n"]
        if early["n"]:  # this model hears every early shift and no delayed one
            assert early["accuracy"] == 1.0 and early["ci"] == [1.0, 1.0]
        if delayed["n"]:
            assert delayed["accuracy"] == 0.0
    # recomputed from the answers: the probes of each signed band, by hand
    tau = np.array(probes["offset_s"])
    ok = np.array(s.readings[1].correct)
    sel = (np.array(probes["condition"]) == "shift") & (tau > 0) & (np.abs(tau) >= 0.4) & (np.abs(tau) < 0.65)
    assert signed["delayed 0.4-0.65 s"]["n"] == sel.sum() > 0
    assert signed["delayed 0.4-0.65 s"]["accuracy"] == ok[sel].mean()


def test_band_intervals_are_a_clip_bootstrap(scored):
    _, s = scored
    r = s.results["lopsided"]
    for entry in r["accuracy_by_offset"].values():
        lo, hi = entry["ci"]
        if entry["n"] == 0:
            assert math.isnan(lo) and math.isnan(hi)
        else:
            assert lo <= entry["accuracy"] <= hi
    lo, hi = r["accuracy_by_offset"]["synced"]["ci"]
    assert 0 < hi - lo < 0.3  # 15% hallucinated delays and 5% unreadable on 80 clips: a real interval
    again = score_predictions(s.probes, s.sets, n_resamples=300, seed=3).results["lopsided"]
    assert repr(again["accuracy_by_offset"]) == repr(r["accuracy_by_offset"])  # NaN != NaN


def test_offset_localisation_points(scored):
    probes, s = scored
    points = s.results["lopsided"]["offset_localisation"]
    labels, stated = parse_answers(s.readings[1].answers, probes["dimension"])
    tau = np.array(probes["offset_s"])
    sync = (np.array(probes["dimension"]) == "sync") & ~np.isnan(stated)
    assert [p["tau"] for p in points] == sorted(set(np.round(tau[sync], 3).tolist()))
    for p in points:
        values = stated[sync & (np.round(tau, 3) == p["tau"])]
        assert p["n"] == values.size
        assert p["median"] == pytest.approx(np.median(values))
        assert p["q25"] <= p["median"] <= p["q75"]
    zero = next(p for p in points if p["tau"] == 0.0)  # the hallucinated delays on synced clips
    assert zero["median"] == pytest.approx(0.4)
    assert sum(p["n"] for p in points) == s.results["lopsided"]["offset_error"]["n"]
    assert s.results["prior"]["offset_localisation"] == []


def test_clever_hans_couples_are_the_metric_pairs(scored):
    probes, s = scored
    pairs = s.couples
    assert len(pairs) == 3 * 80
    for name, read in zip(s.names, s.readings, strict=True):
        labels, _ = parse_answers(read.answers, probes["dimension"])
        right = labels == np.array(probes["label"])
        expected = {k for k, (o, i) in enumerate(pairs) if right[o] and not right[i]}
        assert set(read.clever_hans(pairs)) == expected
        r = s.results[name]
        for d, counts in r["clever_hans"].items():
            # right on the original = both right + right-then-wrong, counted from the metric's numbers
            n = counts["couples"]
            assert n == r["counts"]["pairs"][d] == r["counts"]["per_condition"][d]["original"]
            from_metric = r["accuracy"][d]["original"] * n - r["pair_accuracy"][d] * n
            assert counts["right_then_wrong"] == round(from_metric)
    assert s.results["prior"]["clever_hans"]["sync"]["right_then_wrong"] == 80


def test_couples_pair_an_original_with_each_intervened_probe():
    # an offset sweep: one original probe with two shifts of the same pair id
    probes = {"pair_id": ["p", "p", "p", "q", "q"], "condition": ["original", "shift", "shift", "mute", "original"]}
    assert couples(probes) == [(0, 1), (0, 2), (4, 3)]
    assert couples({"pair_id": ["p"], "condition": ["shift"]}) == []  # an intervened probe alone: no couple


def test_a_judge_is_asked_once_per_distinct_answer():
    probes = make_probes(6, seed=2)
    answers = ["Hmm, hard to say."] * len(probes["probe_id"])  # the rules cannot read it
    asked = []
    verdicts = {"sync": "delayed", "existence": "silent", "consistency": "mismatched"}

    def judge(answer, dimension):
        asked.append((answer, dimension))
        return verdicts[dimension]

    sets = [_set("a", probes, answers), _set("b", probes, ["synced"] * len(answers))]
    # scores, readings and the paired comparison all read set a: the judge hears each once
    s = score_predictions(probes, sets, n_resamples=50, judges=judge)
    assert sorted(asked) == sorted({(a, d) for a, d in zip(answers, probes["dimension"], strict=True)})
    assert s.readings[0].labels.tolist() == [verdicts[d] for d in probes["dimension"]]
    assert s.results["a"]["judge"]["asked"] == 3 and s.results["a"]["judge"]["judge"] == "test_a_judge_is_asked_once_per_distinct_answer.<locals>.judge"
    # one judge per set: the second set is read by the rules alone
    asked.clear()
    s = score_predictions(probes, [sets[1], sets[0]], n_resamples=50, judges=[None, judge])
    assert len(asked) == 3 and "judge" not in s.results["b"] and "judge" in s.results["a"]
    assert s.readings[1].labels.tolist() == [verdicts[d] for d in probes["dimension"]]
    with pytest.raises(ValueError, match="got 1 judges for 2 prediction sets"):
        score_predictions(probes, sets, judges=[judge])


def test_bad_pipeline_input():
    probes = make_probes(2)
    with pytest.raises(ValueError, match="no prediction sets"):
        score_predictions(probes, [])
    other = PredictionSet(path=Path("x.jsonl"), format="thud-jsonl", answers={"nope": "A"})
    with pytest.raises(ValueError, match="1 probe ids are not in the dataset"):
        score_predictions(probes, [other])
