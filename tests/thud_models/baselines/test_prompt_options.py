"""Reading which dimension a prompt asks about, and its letters."""

from __future__ import annotations

import pytest

from thud_dataset.prompts import make_prompt
from thud_dataset.vocab import CHOICES
from thud_models.baselines.prompt_options import read_prompt


@pytest.mark.parametrize("dimension", list(CHOICES))
def test_thud_prompts_map_every_letter(dimension):
    options = read_prompt(make_prompt(dimension, "a metal can falls and hits the slate floor"))
    assert options.dimension == dimension
    assert options.letters == {label: chr(65 + i) for i, label in enumerate(CHOICES[dimension])}


def test_dataset_prompts_are_read_like_make_prompt(probe_rows):
    for split, rows in probe_rows.items():
        for row in rows:
            options = read_prompt(row["prompt"])
            assert options.dimension == row["dimension"], (split, row["prompt"])
            assert [options.letters[label] for label in row["choices"]] == ["A", "B", "C"][: len(row["choices"])]


def test_foreign_prompts():
    reordered = "Is the audio in sync?\n(A) The sound comes late.\n(B) In sync.\n(C) The sound comes early."
    options = read_prompt(reordered)
    assert options.dimension == "sync"
    assert options.letters == {"delayed": "A", "synced": "B", "early": "C"}
    assert read_prompt("Does this sound come from the falling cup?").dimension == "consistency"
    assert read_prompt("Can you hear anything?").dimension == "existence"
    assert read_prompt("Describe the weather.") .dimension is None
    assert read_prompt("Describe the weather.").letters == {}
