"""What every predictions reader returns: :class:`PredictionSet`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["PredictionReader", "PredictionSet"]


@dataclass
class PredictionSet:
    """The answers of one model run.

    Attributes
    ----------
    path : Path
    format : str
        The name of the reader that read it.
    answers : dict
        ``probe_id -> answer`` (``None`` for a failed call), in file order.
    errors : dict
        ``probe_id -> error message`` for the probes whose call failed.
    meta : dict
        Run metadata (model, adapter, ``audio_check`` verdict, ...), ``{}`` if none.
    lines : dict
        ``probe_id -> line number`` in the file, for error messages.
    rows : dict
        ``probe_id -> the whole record`` as read (for formats that keep more than the
        answer, e.g. the seconds a call took); empty for formats that do not.
    """

    path: Path
    format: str
    answers: dict[str, str | None]
    errors: dict[str, str] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    rows: dict[str, dict] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The model's name from the metadata, else the file name without extension."""
        model = self.meta.get("model")
        return str(model) if model else self.path.stem


@dataclass(frozen=True)
class PredictionReader:
    name: str
    #: True if this reader reads a file starting with these (non-empty) lines
    detect: Callable[[list[str]], bool]
    read: Callable[[Path], PredictionSet]
