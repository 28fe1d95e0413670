"""Reference answerers without a model: the visual-prior floor and an audio-verifying
signal method (see ``docs/baselines.md`` for what each reaches on the synthetic set)."""

from __future__ import annotations

from .prior import PriorBaseline
from .prompt_options import PromptOptions, read_prompt
from .signal import SignalBaseline, SignalEvidence, SignalSettings, analyse

__all__ = [
    "PriorBaseline",
    "PromptOptions",
    "SignalBaseline",
    "SignalEvidence",
    "SignalSettings",
    "analyse",
    "read_prompt",
]
