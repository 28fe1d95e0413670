"""JSON-lines files: the one reader and writer, with errors that name the file and the line.

Every JSON-lines file Thud reads (annotations, annotator and review files, predictions,
lmms-eval samples, general preference data) goes through :func:`read_lines`, so they share
one set of rules: a UTF-8 byte-order mark is accepted, blank lines are skipped, and each
line is decoded on its own, so a line that is not UTF-8 or not a JSON object is reported
with its number (and, where the caller can go on, only that line is lost).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

__all__ = ["iter_jsonl", "read_lines", "write_jsonl"]


def read_lines(
    path: str | Path, *, skip_incomplete_last: bool = False
) -> Iterator[tuple[int, dict | None, str | None]]:
    """``(line number, object, None)`` for every good line, ``(line number, None, problem)``
    for a bad one; blank lines are skipped.

    ``skip_incomplete_last`` passes over a last line that has no newline (what a writer
    killed mid-line leaves behind). A missing file raises ``FileNotFoundError``.

    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "a.jsonl"
    >>> _ = f.write_bytes(b'\\xef\\xbb\\xbf{"x": 1}\\n\\n[2]\\n{"y": "\\xff"}\\n')
    >>> for item in read_lines(f): print(item)
    (1, {'x': 1}, None)
    (3, None, 'expected a JSON object, got list')
    (4, None, 'not UTF-8 text (byte 0xff at column 8)')
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found")
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if skip_incomplete_last and not raw.endswith(b"\n"):
                continue
            if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield lineno, None, f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"
                continue
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield lineno, None, f"not valid JSON ({exc.msg} at column {exc.colno})"
                continue
            except ValueError as exc:  # e.g. an integer of more digits than Python converts
                yield lineno, None, f"not valid JSON ({exc})"
                continue
            if not isinstance(obj, dict):
                yield lineno, None, f"expected a JSON object, got {type(obj).__name__}"
                continue
            yield lineno, obj, None


def iter_jsonl(
    path: str | Path, error: type[Exception] = ValueError, *, skip_incomplete_last: bool = False
) -> Iterator[tuple[int, dict]]:
    """``(line number, object)`` for every non-blank line of ``path``.

    A line that is not UTF-8, not JSON, or not a JSON object raises ``error`` with
    ``"<path>:<line>: ..."``; a missing file raises ``error`` naming it.

    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "a.jsonl"
    >>> _ = f.write_text('{"x": 1}\\n\\n[2]\\n')
    >>> it = iter_jsonl(f)
    >>> next(it)
    (1, {'x': 1})
    >>> next(it)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: ...a.jsonl:3: expected a JSON object, got list
    """
    path = Path(path)
    if not path.is_file():
        raise error(f"{path}: file not found")
    for lineno, obj, problem in read_lines(path, skip_incomplete_last=skip_incomplete_last):
        if problem is not None:
            raise error(f"{path}:{lineno}: {problem}")
        yield lineno, obj


def write_jsonl(rows: Iterable[dict], path: str | Path, *, header: dict | None = None) -> Path:
    """Write one JSON object a line (UTF-8, keys in insertion order), atomically: into a
    temporary file beside ``path``, renamed over it when complete. ``header`` is written
    first when given."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            if header is not None:
                fh.write(json.dumps(header, ensure_ascii=False) + "\n")
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
