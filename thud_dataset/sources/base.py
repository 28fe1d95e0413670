"""What every clip source yields: :class:`Clip`, a source video plus its event-time labels."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field


class ClipError(ValueError):
    """A source clip or annotation row that cannot be used; the message names it."""


@dataclass(frozen=True)
class Clip:
    """One source video with an audio track, and its event-time labels.

    Times are seconds on the clip's presentation timeline (0 = the first video frame).
    ``split`` forces the clip's partition (``"train"``/``"test"``); ``None`` lets the
    seeded partition decide. ``origin`` says where the row came from (e.g.
    ``"annotations.jsonl:12"``) so errors can point at it.
    """

    clip_id: str
    path: str
    visual_event: str
    visual_time: float
    audio_event: str
    audio_time: float
    category: str | None = None
    split: str | None = None
    source: str = "local"
    license: str | None = None
    origin: str = ""
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        where = self.origin or self.path
        for name in ("visual_time", "audio_time"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise ClipError(f"{where}: {name} must be a number of seconds, got {value!r}")
            if math.isnan(value) or math.isinf(value):
                raise ClipError(f"{where}: {name} is {value}; it must be a finite number")
            if value < 0:
                raise ClipError(f"{where}: {name} is {value} s; event times cannot be negative")
        if self.split not in (None, "train", "test"):
            raise ClipError(f"{where}: split must be 'train' or 'test', got {self.split!r}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("extra")
        return d


@dataclass(frozen=True)
class Skipped:
    """A clip (or annotation row) left out of a build, and why.

    ``origin`` points at where it came from (``annotations.jsonl:7``, a file path, a
    synthetic index); ``reason`` says what is wrong in words a user can act on.
    """

    clip_id: str
    origin: str
    reason: str

    def __str__(self) -> str:
        return f"{self.origin}: {self.clip_id}: {self.reason}" if self.origin else f"{self.clip_id}: {self.reason}"
