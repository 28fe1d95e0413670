"""Offsets an answer states in seconds ("about 0.5 s late", "大约半秒")."""

from __future__ import annotations

import re

from .text import normalise, visible

_NUMBER = re.compile(
    r"(?<![a-z0-9.])(\d+(?:\.\d+)?|\.\d+)\s*(milliseconds?|msecs?|ms|seconds?|secs?|s|毫秒|秒)(?![a-z])"
    r"(?!\s*(?:into|mark))"
)
_POSITION = re.compile(r"\b(?:at|around the|timestamp|time|until|from|to)\s*(?:about |around |approximately |~)?$|在\s*$")
_WORD_OFFSETS = [
    (re.compile(r"\bhalf (?:a )?second\b|半秒"), 0.5),
    (re.compile(r"\b(?:a )?quarter (?:of a )?second\b"), 0.25),
    (re.compile(r"\b(?:one|a full) second\b|\ba second (?=late|early|later|earlier|before|after|behind|ahead|delay)|一秒"), 1.0),
    (re.compile(r"\btwo seconds\b|两秒"), 2.0),
    (re.compile(r"\bthree seconds\b|三秒"), 3.0),
]


def stated_magnitude(answer: str) -> float | None:
    """The first number of seconds (or milliseconds) an answer states, skipping times in the
    clip ("at 2.5 s the man falls"); ``None`` when there is none.

    >>> stated_magnitude("At 2.5 s the man falls, and the thud is 0.4 s late."), stated_magnitude("大约晚了300毫秒")
    (0.4, 0.3)
    """
    text = normalise(visible(answer))
    for m in _NUMBER.finditer(text):
        if _POSITION.search(text[: m.start()]):
            continue  # "at 2.5 s the man falls" is a time in the clip, not an offset
        value = float(m.group(1))
        return value / 1000.0 if m.group(2).startswith(("m", "毫")) else value
    for pattern, value in _WORD_OFFSETS:
        if pattern.search(text):
            return value
    return None
