"""The letters a model reads in the prompt are the letters the metric scores.

The prompt text is read literally: each option line "(B) Early: ..." is found in what
:func:`thud_dataset.prompts.make_prompt` writes, its first word is mapped to a label by the
table below (written here, not taken from ``vocab.CHOICES``), and the parser must read the
letter alone, in brackets, after "Answer:", and the echoed option line as that label.
"""

from __future__ import annotations

import re

import pytest

from thud_dataset.prompts import make_prompt
from thud_metrics.parsing import parse_answer

#: what each option word of the prompts means, by dimension (independent of vocab.CHOICES)
MEANING = {
    "sync": {"Synchronized": "synced", "Early": "early", "Delayed": "delayed"},
    "existence": {"Yes": "synced", "No": "silent"},
    "consistency": {"Yes": "synced", "No": "mismatched"},
}
OPTION_LINE = re.compile(r"^\(([A-Z])\) (\w+): (.+)$", re.M)


@pytest.mark.parametrize("dimension", sorted(MEANING))
def test_each_letter_of_the_prompt_is_scored_as_its_option(dimension):
    text = make_prompt(dimension, "a skateboarder lands on the concrete")
    options = OPTION_LINE.findall(text)
    assert sorted(word for _, word, _ in options) == sorted(MEANING[dimension]), text
    assert [letter for letter, _, _ in options] == list("ABC"[: len(options)]), text
    for letter, word, explanation in options:
        label = MEANING[dimension][word]
        for answer in (letter, f"({letter})", f"Answer: {letter}", f"{letter}.", f"答案是{letter}",
                       f"({letter}) {word}: {explanation}"):  # fmt: skip
            assert parse_answer(answer, dimension) == label, (answer, text)
        # the option's own words mean the same thing as its letter
        assert parse_answer(f"{word}: {explanation}", dimension) == label, (word, explanation)


@pytest.mark.parametrize("dimension", sorted(MEANING))
def test_a_letter_the_prompt_does_not_offer_is_unknown(dimension):
    text = make_prompt(dimension, "a door slams")
    offered = {letter for letter, _, _ in OPTION_LINE.findall(text)}
    for letter in "ABCDE":
        if letter not in offered:
            assert parse_answer(letter, dimension) == "unknown"
