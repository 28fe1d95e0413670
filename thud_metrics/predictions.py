"""Reading prediction files: one reader per format, chosen by the file's content.

A reader is a :class:`PredictionReader`: a ``detect(head)`` test on the first non-empty
lines of the file and a ``read(path)`` that returns a :class:`PredictionSet`. To support a
new format (e.g. lmms-eval ``--log_samples`` files), write both and call
:func:`register_reader`; :func:`read_predictions` then picks it for matching files.

The built-in format is Thud's JSON lines (written by ``thud run``)::

    {"_meta": {"model": "...", "audio_check": {...}}}      <- optional, first line only
    {"probe_id": "3f2a...", "answer": "The sound is early.", "error": null}
    {"probe_id": "91bc...", "answer": null, "error": "timeout after 60 s"}

An ``answer`` of null (a failed call) is scored as ``unknown``; its ``error`` is kept.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from thud_dataset.jsonl import iter_jsonl

from .readers_lmms_eval import is_lmms_eval_samples, read_lmms_eval_samples

__all__ = [
    "PredictionReader",
    "PredictionSet",
    "READERS",
    "read_predictions",
    "read_thud_jsonl",
    "register_reader",
]


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
    """

    path: Path
    format: str
    answers: dict[str, str | None]
    errors: dict[str, str] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)

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


def _json_object(line: str) -> dict | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _is_thud_jsonl(head: list[str]) -> bool:
    first = _json_object(head[0]) if head else None
    return first is not None and ("_meta" in first or "probe_id" in first)


def read_thud_jsonl(path: Path) -> PredictionSet:
    """Read Thud's predictions JSON lines; every problem names the file and line.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "run.jsonl"
    >>> _ = f.write_text('{"_meta": {"model": "m"}}\\n{"probe_id": "p1", "answer": "B", "error": null}\\n')
    >>> ps = read_thud_jsonl(f)
    >>> ps.name, ps.answers
    ('m', {'p1': 'B'})
    """
    path = Path(path)
    out = PredictionSet(path=path, format="thud-jsonl", answers={})
    for lineno, row in iter_jsonl(path):
        where = f"{path}:{lineno}"
        if "_meta" in row:
            if out.answers or out.meta:
                raise ValueError(f"{where}: a {{\"_meta\": ...}} line may only be the first line")
            if not isinstance(row["_meta"], dict):
                raise ValueError(f"{where}: _meta must be an object")
            out.meta = row["_meta"]
            continue
        probe_id = row.get("probe_id")
        if not isinstance(probe_id, str) or not probe_id:
            raise ValueError(f"{where}: each line needs a string \"probe_id\"; got {probe_id!r}")
        answer, error = row.get("answer"), row.get("error")
        if answer is not None and not isinstance(answer, str):
            raise ValueError(f"{where}: \"answer\" must be a string or null; got {answer!r}")
        if probe_id in out.answers:
            raise ValueError(
                f"{where}: probe_id {probe_id!r} appears twice (first on line {out.lines[probe_id]})"
            )
        out.answers[probe_id] = answer
        out.lines[probe_id] = lineno
        if error is not None:
            out.errors[probe_id] = str(error)
    if not out.answers:
        raise ValueError(f"{path}: no predictions in the file")
    return out


#: readers tried in order; the first whose ``detect`` accepts the file reads it
READERS: list[PredictionReader] = [
    PredictionReader("thud-jsonl", _is_thud_jsonl, read_thud_jsonl),
    # lmms-eval --log_samples files of Thud's lmms-eval task (readers_lmms_eval.py)
    PredictionReader("lmms-eval-samples", is_lmms_eval_samples, read_lmms_eval_samples),
]


def register_reader(reader: PredictionReader, *, first: bool = False) -> None:
    """Add a reader for another format (``first=True`` tries it before the others)."""
    if any(r.name == reader.name for r in READERS):
        raise ValueError(f"a prediction reader named {reader.name!r} is already registered")
    READERS.insert(0, reader) if first else READERS.append(reader)


def read_predictions(path: str | Path) -> PredictionSet:
    """Read a predictions file, choosing the reader by its content.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        No reader recognises the file, or the file has a bad line (named with its number).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"predictions file not found: {path}")
    head: list[str] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                head.append(line)
            if len(head) == 5:
                break
    if not head:
        raise ValueError(f"{path}: the predictions file is empty")
    for reader in READERS:
        if reader.detect(head):
            return reader.read(path)
    raise ValueError(
        f"{path}: not a predictions file this version can read (formats: "
        f"{', '.join(r.name for r in READERS)}). Thud's format is JSON lines of "
        '{"probe_id": ..., "answer": ..., "error": ...}, optionally after a {"_meta": {...}} line.'
    )
