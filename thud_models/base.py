"""The one small interface every answerer implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Answerer(Protocol):
    """Something that answers a probe: a model adapter or a baseline.

    ``answer`` gets a path to the probe's video file (its audio muxed in) and the probe's
    prompt, and returns the raw text answer; the metric parses it.
    """

    name: str

    def answer(self, video_path: str, prompt: str) -> str: ...
