"""Reading JSON-lines files with errors that name the file and the line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path


def iter_jsonl(path: str | Path, error: type[Exception] = ValueError) -> Iterator[tuple[int, dict]]:
    """``(line number, object)`` for every non-blank line of ``path``.

    A line that is not JSON, or not a JSON object, raises ``error`` with
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
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise error(f"{path}:{lineno}: not valid JSON ({exc.msg} at column {exc.colno})") from None
            if not isinstance(obj, dict):
                raise error(f"{path}:{lineno}: expected a JSON object, got {type(obj).__name__}")
            yield lineno, obj
