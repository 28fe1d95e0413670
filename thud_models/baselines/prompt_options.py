"""Reading a probe's prompt: which dimension it asks about, and which letter means what.

The baselines answer the prompt they are given, like a model would, so they must tell the
question apart without the probe's metadata. Thud's prompts (:mod:`thud_dataset.prompts`)
list their options as ``(A) ...``, ``(B) ...`` in the order of
``vocab.CHOICES[dimension]``; an option is matched to its label by its text (exactly, or
by keywords for prompts written elsewhere), and the dimension is the one whose choices the
labels make up. A prompt without options is classified by keywords of its question.

>>> from thud_dataset.prompts import make_prompt
>>> options = read_prompt(make_prompt("existence", "a glass cup hits the floor"))
>>> options.dimension, options.letter("silent")
('existence', 'B')
>>> read_prompt("Is the audio in sync with the video?").dimension
'sync'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from thud_dataset.prompts import make_prompt
from thud_dataset.vocab import CHOICES

__all__ = ["PromptOptions", "read_prompt"]

# "(A) text", "A) text", "A. text", "A: text" at the start of a line
_OPTION = re.compile(r"^\s*\(?([A-H])[).:]\s*(.+?)\s*$", re.M)

# keyword rules for option texts that are not Thud's own (first match wins; negated
# phrases come before the plain ones)
_LABEL_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("mismatched", r"different source|does ?n[o']t (?:match|come)|mismatch|not the sound"),
    ("silent", r"\bsilen|no sound|nothing (?:can be )?heard|cannot hear|can't hear"),
    ("early", r"\bearl|\bbefore\b|\bahead\b|\bleads?\b"),
    ("delayed", r"\bdelay|\bafter\b|\blate\b|\blags?\b|\bbehind\b"),
    ("synced", r"synchroni|in sync|\bmatch|\byes\b|same (?:moment|time)|can be heard"),
)

_QUESTION_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("sync", r"synchroni|\bsync\b|in time|\btiming\b|early|delay|offset"),
    ("consistency", r"come from|\bsource\b|\bmatch|belong|consistent"),
    ("existence", r"\bhear\b|\bsilent\b|any sound|audible"),
)


@dataclass(frozen=True)
class PromptOptions:
    """What a prompt asks: its ``dimension`` (or None) and the letter of each label."""

    dimension: str | None
    letters: dict[str, str] = field(default_factory=dict)

    def letter(self, label: str) -> str | None:
        """The option letter of ``label``, or None when the prompt lists no such option."""
        return self.letters.get(label)


@lru_cache(maxsize=1)
def _reference_options() -> dict[str, tuple[str, str]]:
    """Thud's own option texts (lower case) -> (dimension, label)."""
    out: dict[str, tuple[str, str]] = {}
    for dimension, labels in CHOICES.items():
        texts = [m.group(2) for m in _OPTION.finditer(make_prompt(dimension, "x"))]
        for label, text in zip(labels, texts, strict=True):
            out[text.lower()] = (dimension, label)
    return out


def _label_of(text: str) -> str | None:
    low = text.lower()
    reference = _reference_options().get(low)
    if reference:
        return reference[1]
    for label, pattern in _LABEL_KEYWORDS:
        if re.search(pattern, low):
            return label
    return None


def read_prompt(prompt: str) -> PromptOptions:
    """The dimension a prompt asks about and its option letters.

    Parameters
    ----------
    prompt : str
        A probe prompt (Thud's, or any multiple-choice or free question about the sound).

    Returns
    -------
    PromptOptions
        ``dimension`` is None when neither the options nor the question say it; ``letters``
        is empty for a prompt without lettered options.
    """
    letters: dict[str, str] = {}
    for match in _OPTION.finditer(prompt):
        label = _label_of(match.group(2))
        if label and label not in letters:
            letters[label] = match.group(1)
    if letters:
        found = set(letters)
        for dimension, labels in CHOICES.items():
            if found == set(labels):
                return PromptOptions(dimension, letters)
        # options that are a subset of one dimension's choices (e.g. a yes/no pair)
        for dimension, labels in CHOICES.items():
            if found <= set(labels) and found != {"synced"}:
                return PromptOptions(dimension, letters)
    question = _OPTION.sub("", prompt).lower()
    for dimension, pattern in _QUESTION_KEYWORDS:
        if re.search(pattern, question):
            return PromptOptions(dimension, letters)
    return PromptOptions(None, letters)
