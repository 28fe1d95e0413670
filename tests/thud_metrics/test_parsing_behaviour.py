"""Reading answers, by what the answers say (issue 20).

The letters a model answers are read literally from the prompt text it was shown, and
scored through the metric (not only through the parser), so a prompt that lists its
options in another order than the parser reads them fails here as well as in
``test_prompt_letters``. Negations and refusals are read as what they mean in many
phrasings, each clause of the reading rules on its own.
"""

from __future__ import annotations

import re

import pytest

from thud_dataset.prompts import make_prompt
from thud_metrics import score_probes
from thud_metrics.parsing import parse_answer, parse_answers

#: what an option's first word means, written here (not vocab.CHOICES)
MEANING = {
    "sync": {"Synchronized": "synced", "Early": "early", "Delayed": "delayed"},
    "existence": {"Yes": "synced", "No": "silent"},
    "consistency": {"Yes": "synced", "No": "mismatched"},
}
OPTION = re.compile(r"^\(([A-Z])\) (\w+):", re.M)
PROBES = [
    # gold, condition, dimension
    ("synced", "original", "sync"), ("early", "shift", "sync"), ("delayed", "shift", "sync"),
    ("synced", "original", "existence"), ("silent", "mute", "existence"),
    ("synced", "original", "consistency"), ("mismatched", "swap", "consistency"),
]  # fmt: skip


def letter_for(dimension: str, label: str) -> str:
    """The letter the prompt text shows next to the option that means ``label``."""
    text = make_prompt(dimension, "a ball bounces twice")
    (letter,) = [letter for letter, word in OPTION.findall(text) if MEANING[dimension][word] == label]
    return letter


@pytest.mark.parametrize("style", ["{}", "({})", "Answer: {}", "The answer is {}.", "{}) because I hear it"])
def test_answering_the_gold_options_letter_scores_every_cell_right(style):
    answers = [style.format(letter_for(dim, gold)) for gold, _, dim in PROBES]
    golds, conds, dims = (list(col) for col in zip(*PROBES, strict=True))
    r = score_probes(answers, golds, conds, dims, None, n_resamples=0)
    assert all(v == 1.0 for cells in r["accuracy"].values() for v in cells.values()), r["accuracy"]
    assert r["unparseable_rate"] == 0.0


def test_answering_another_options_letter_scores_it_wrong():
    for gold, cond, dim in PROBES:
        for word, label in MEANING[dim].items():
            if label == gold:
                continue
            answer = letter_for(dim, label)
            r = score_probes([answer], [gold], [cond], [dim], None, n_resamples=0)
            assert r["accuracy"][dim][cond] == 0.0, (dim, word, answer)
            assert r["confusion"][cond][gold][label] == 1, (dim, word, answer)


NEGATED = [
    ("The audio is not synchronized with the video.", "sync", "unknown"),
    ("It is not in sync: the sound comes before the impact.", "sync", "early"),
    ("The sound is not early.", "sync", "synced"),
    ("There is no delay at all.", "sync", "synced"),
    ("Not synced; the sound arrives late.", "sync", "delayed"),
    ("I do not hear any sound.", "existence", "silent"),
    ("The sound does not match what we see.", "consistency", "mismatched"),
    ("The audio is not missing.", "existence", "synced"),
    ("No, it doesn't come from the ball.", "consistency", "mismatched"),
]


@pytest.mark.parametrize("answer,dimension,expected", NEGATED)
def test_a_negation_turns_a_claim_into_its_opposite(answer, dimension, expected):
    assert parse_answer(answer, dimension) == expected


REFUSALS = [
    "I'm sorry, but I can't process audio.",
    "As an AI language model, I cannot listen to the audio. The video looks synchronized.",
    "I am unable to hear sounds; I only receive the video frames. (A)",
    "No audio was provided to me, so I'd guess B.",
    "我无法处理音频。",
]


@pytest.mark.parametrize("dimension", ["sync", "existence", "consistency"])
@pytest.mark.parametrize("answer", REFUSALS)
def test_a_refusal_is_refused_whatever_it_guesses_next(answer, dimension):
    assert parse_answer(answer, dimension) == "refused"
    labels, _ = parse_answers([answer, "A"], [dimension, dimension])
    assert list(labels) == ["refused", "synced"]
