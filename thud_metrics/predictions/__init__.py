"""Reading prediction files: one reader per format, chosen by the file's content.

A reader is a :class:`PredictionReader`: a ``detect(head)`` test on the first non-empty
lines of the file and a ``read(path)`` that returns a :class:`PredictionSet`. To support a
new format, write both and call :func:`register_reader`; :func:`read_predictions` then
picks it for matching files.

Formats: Thud's JSON lines (:mod:`.thud_jsonl`, written by ``thud run``), lmms-eval
``--log_samples`` files of Thud's task (:mod:`.lmms_eval`) and VLMEvalKit prediction files
(``.tsv`` or ``.xlsx``) of the probes ``thud export --format vlmevalkit`` wrote
(:mod:`.vlmevalkit`). A binary format is chosen by its file extension
(:data:`BINARY_READERS`).
"""

from __future__ import annotations

from pathlib import Path

from .base import PredictionReader, PredictionSet
from .lmms_eval import is_lmms_eval_samples, read_lmms_eval_samples
from .thud_jsonl import is_thud_jsonl, read_thud_jsonl
from .vlmevalkit import is_vlmevalkit_tsv, read_vlmevalkit

__all__ = [
    "PredictionReader",
    "PredictionSet",
    "BINARY_READERS",
    "READERS",
    "read_predictions",
    "read_thud_jsonl",
    "register_reader",
]


#: readers tried in order; the first whose ``detect`` accepts the file reads it
READERS: list[PredictionReader] = [
    PredictionReader("thud-jsonl", is_thud_jsonl, read_thud_jsonl),
    PredictionReader("lmms-eval-samples", is_lmms_eval_samples, read_lmms_eval_samples),
    PredictionReader("vlmevalkit", is_vlmevalkit_tsv, read_vlmevalkit),
]
#: readers of binary formats, by file extension (their content is not lines of text)
BINARY_READERS: dict[str, PredictionReader] = {
    ".xlsx": PredictionReader("vlmevalkit-xlsx", lambda head: False, read_vlmevalkit),
}


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
    binary = BINARY_READERS.get(path.suffix.lower())
    if binary is not None:
        return binary.read(path)
    head: list[str] = []
    try:
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    head.append(line)
                if len(head) == 5:
                    break
    except UnicodeDecodeError:
        raise ValueError(
            f"{path}: not UTF-8 text, and no reader of a binary format has its extension "
            f"{path.suffix!r} (binary formats: {', '.join(BINARY_READERS)})"
        ) from None
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
