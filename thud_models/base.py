"""The one small interface every answerer implements, and the one failure that ends a run."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Answerer(Protocol):
    """Something that answers a probe: a model adapter or a baseline.

    ``answer`` gets a path to the probe's video file (its audio muxed in) and the probe's
    prompt, and returns the raw text answer; the metric parses it.

    Optional attributes a runner reads: ``concurrency`` (how many ``answer`` calls may run
    at once, default 1) and, for models that batch, ``batch_size`` with
    ``answer_many(items)`` (see :mod:`thud_models.answering`).
    """

    name: str

    def answer(self, video_path: str, prompt: str) -> str: ...


class AnswererUnavailable(RuntimeError):
    """The model cannot be asked at all (connection refused, unknown host).

    Asking again cannot help, so a run or an audio-path check stops at the first one
    instead of failing every probe; the message is one line that says what to fix.
    """
