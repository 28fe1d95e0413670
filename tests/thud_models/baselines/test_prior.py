"""The prior baseline: always the visually plausible answer, scored exactly as by hand."""

from __future__ import annotations

from collections import Counter

from thud_dataset.prompts import make_prompt
from thud_dataset.vocab import DIMENSIONS, INTERVENTION_OF
from thud_metrics import parse_answer, score_probes
from thud_metrics.predictions import read_predictions
from thud_models import PriorBaseline, run_probes


def test_answers_the_synced_letter_of_each_dimension():
    prior = PriorBaseline()
    for dimension in DIMENSIONS:
        answer = prior.answer("unused.mp4", make_prompt(dimension, "a glass cup hits the floor"))
        assert answer.startswith("A. ")  # synced is option A of every dimension
        assert parse_answer(answer, dimension=dimension) == "synced"
        assert parse_answer(answer[3:], dimension=dimension) == "synced"  # the sentence alone too
    assert prior.answer("unused.mp4", "What do you hear?") == "synced"


def test_prior_scores_exactly_as_hand_computed(dataset_dir, all_probes, tmp_path):
    out = tmp_path / "prior.jsonl"
    report = run_probes(PriorBaseline(), dataset_dir, out, check_audio=False, progress=False)
    assert report.answered == len(all_probes) and report.failed == 0
    answers = read_predictions(out).answers
    rows = all_probes
    results = score_probes(
        [answers[r["probe_id"]] for r in rows],
        [r["label"] for r in rows],
        [r["condition"] for r in rows],
        [r["dimension"] for r in rows],
        [r["pair_id"] for r in rows],
        [r["offset_s"] for r in rows],
        [r["clip_id"] for r in rows],
        n_resamples=0,
    )
    # By hand: "synced" is the gold label of every original probe and of no intervened one.
    # 8 test clips -> 8 pairs per dimension, 16 for sync (two shifts per clip); each
    # dimension: original 8/8, intervened 0/8 (0/16), gap 1 - 0 = 1, avg_gap = (1 + 1 + 1) / 3
    # = 1; no pair has both probes right -> 0.
    pairs = Counter(r["dimension"] for r in rows if r["condition"] != "original")
    assert pairs == {"sync": 16, "existence": 8, "consistency": 8}
    assert results["counts"]["pairs"] == pairs
    for d in DIMENSIONS:
        assert results["accuracy"][d]["original"] == 8 / 8
        assert results["accuracy"][d][INTERVENTION_OF[d]] == 0.0
        assert results["gap"][d] == 1.0
        assert results["pair_accuracy"][d] == 0.0
    assert results["avg_gap"] == 1.0
    assert results["avg_pair_accuracy"] == 0.0
    assert results["unparseable_rate"] == 0.0
    assert results["rates"]["mute_hallucination"] == 1.0
    assert results["rates"]["shift_miss"] == 1.0
