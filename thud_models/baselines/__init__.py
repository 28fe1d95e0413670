"""Reference answerers without a model: the visual-prior floor, an audio-verifying signal
method, and a reader of the digital-silence cue (see ``docs/baselines.md`` for what each
reaches on the synthetic set)."""

from __future__ import annotations

from .prior import PriorBaseline
from .prompt_options import PromptOptions, read_prompt
from .signal import SignalBaseline, SignalEvidence, SignalSettings, analyse
from .silence_cue import SilenceCue, SilenceCueBaseline, SilenceCueSettings, read_silence

__all__ = [
    "PriorBaseline",
    "PromptOptions",
    "SignalBaseline",
    "SignalEvidence",
    "SignalSettings",
    "SilenceCue",
    "SilenceCueBaseline",
    "SilenceCueSettings",
    "analyse",
    "read_prompt",
    "read_silence",
]
