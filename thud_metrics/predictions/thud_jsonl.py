"""Thud's predictions format (JSON lines): its reader, its writer and its resume rules.

``thud run`` writes it and ``thud score`` reads it; this module is the one place that
knows the format::

    {"_meta": {"model": "...", "audio_check": {...}}}      <- optional, first line only
    {"probe_id": "3f2a...", "answer": "The sound is early.", "error": null, "seconds": 0.41}
    {"probe_id": "91bc...", "answer": null, "error": "timeout after 60 s", "seconds": 60.0}

Rules:

* a ``probe_id`` appears once; a second line for it is an error naming both lines (a
  writer never appends an answered probe again: a retry rewrites the file without the
  failed lines first);
* an ``answer`` of null (a failed call) is scored as ``unknown``; its ``error`` is kept;
* a last line without its newline is what a run killed while writing leaves: resuming
  (``partial_ok=True``) ignores it and the run answers that probe again; scoring reads it
  only if it is complete JSON.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from thud_dataset.jsonl import iter_jsonl, write_jsonl

from .base import PredictionSet

__all__ = ["FORMAT", "append_line", "is_thud_jsonl", "read_thud_jsonl", "write_thud_jsonl"]

FORMAT = "thud-jsonl"


def _json_object(line: str) -> dict | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def is_thud_jsonl(head: list[str]) -> bool:
    """True if the first non-empty line is a ``_meta`` line or a probe's answer."""
    first = _json_object(head[0]) if head else None
    return first is not None and ("_meta" in first or "probe_id" in first)


def _complete_part(path: Path) -> Path | None:
    """``path`` itself when it ends with a newline (or is empty); otherwise None."""
    with path.open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        if fh.tell() == 0:
            return path
        fh.seek(-1, os.SEEK_END)
        return path if fh.read(1) == b"\n" else None


def read_thud_jsonl(path: str | Path, *, partial_ok: bool = False, allow_empty: bool = False) -> PredictionSet:
    """Read Thud's predictions JSON lines; every problem names the file and line.

    Parameters
    ----------
    partial_ok
        Ignore a last line that has no newline (a run killed while writing it).
    allow_empty
        Return an empty set instead of raising for a file with no predictions (a run that
        has only written its ``_meta`` line).

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
    out = PredictionSet(path=path, format=FORMAT, answers={})
    skip_last = partial_ok and path.is_file() and _complete_part(path) is None
    lines = list(iter_jsonl(path, skip_incomplete_last=skip_last))
    for lineno, row in lines:
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
        out.rows[probe_id] = row
        if error is not None:
            out.errors[probe_id] = str(error)
    if not out.answers and not allow_empty:
        raise ValueError(f"{path}: no predictions in the file")
    return out


def write_thud_jsonl(path: str | Path, meta: dict | None, rows: Iterable[dict]) -> Path:
    """Write a whole predictions file atomically (a temporary file renamed into place)."""
    return write_jsonl(rows, path, header=None if meta is None else {"_meta": meta})


def append_line(fh: IO[str], row: dict) -> None:
    """Append one probe's record as one complete line, flushed at once (a kill loses at
    most the line being written, which a resume ignores)."""
    fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    fh.flush()
