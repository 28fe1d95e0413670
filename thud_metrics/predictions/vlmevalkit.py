"""VLMEvalKit: Thud's probes as a VLMEvalKit video TSV, and its prediction files read back.

**The TSV** (``thud export --format vlmevalkit OUT.tsv``) follows the layout of VLMEvalKit's
video MCQ datasets (``vlmeval/dataset/video_base.py``: a TSV with ``index``, ``question`` and
``video``; Video-MME and WorldSense add ``video_path`` relative to the TSV's folder,
``candidates`` as a Python list literal, the gold letter in ``answer``, and WorldSense an
``audio_path``). One row per probe, tab-separated, every field quoted (as VLMEvalKit writes
TSVs), columns :data:`TSV_COLUMNS`:

``index``
    0, 1, ... in export order (VLMEvalKit keys its answers by it).
``video``
    the probe file's content-hash name without ``.mp4`` (opaque: it tells nothing of the
    condition); the file is ``video/<video>.mp4`` beside the TSV.
``video_path``, ``audio_path``
    ``./video/<video>.mp4`` and ``./audio/<video>.wav`` (the probe's audio track as 16-bit
    WAV, sample 0 at the first frame, for models that take audio as a separate input).
``question``
    the probe's whole prompt, options and instruction included: send it as is.
``candidates``
    the prompt's option lines, ``['(A) Synchronized: ...', ...]``.
``answer``
    the gold option letter.
``probe_id``, ``pair_id``, ``clip_id``, ``dimension``, ``condition``, ``offset_s``, ``label``
    Thud's own columns; VLMEvalKit carries every column into its prediction file, which is
    how ``thud score`` matches a prediction to its probe.

**Prediction files** VLMEvalKit writes (``<model>_<dataset>.xlsx`` by default, ``.tsv`` with
``PRED_FORMAT=tsv``) are the dataset's rows plus a ``prediction`` column. They are read by
``probe_id`` (an ``index``/``prediction`` file without it cannot be matched and is refused);
a prediction holding VLMEvalKit's ``Failed to obtain answer`` marker is a failed call
(scored ``unknown``, its text kept as the error); an empty cell is a failed call too.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .base import PredictionSet

__all__ = [
    "FORMAT",
    "TSV_COLUMNS",
    "is_vlmevalkit_tsv",
    "read_vlmevalkit",
    "tsv_rows",
    "write_tsv",
]

FORMAT = "vlmevalkit"
TSV_COLUMNS: tuple[str, ...] = (
    "index", "video", "video_path", "audio_path", "question", "candidates", "answer",
    "probe_id", "pair_id", "clip_id", "dimension", "condition", "offset_s", "label",
)  # fmt: skip
#: VLMEvalKit's marker of a failed inference (``vlmeval.smp.file.INFER_FAIL_MSG``)
FAIL_MARKER = "Failed to obtain answer"
_OPTION = re.compile(r"^\(([A-Z])\)\s")


def _options(prompt: str, n: int, where: str) -> list[str]:
    lines = [line.strip() for line in prompt.splitlines() if _OPTION.match(line.strip())]
    if len(lines) != n:
        raise ValueError(f"{where}: the prompt lists {len(lines)} options, its choices {n}")
    return lines


def tsv_rows(probes: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The TSV rows (:data:`TSV_COLUMNS`) of probe rows (with ``prompt``, ``choices`` and
    the ``video`` ``{"path"}`` of the probes config); ``index`` counts from 0 in input order.

    Raises ``ValueError`` naming the probe when its prompt's options do not match its choices
    or its gold label is not one of them.
    """
    rows = []
    for i, p in enumerate(probes):
        where = f"probe {p.get('probe_id')!r}"
        choices = list(p["choices"])
        if p["label"] not in choices:
            raise ValueError(f"{where}: gold label {p['label']!r} is not one of its choices {choices}")
        video = Path((p.get("video") or {}).get("path") or "").stem
        if not video:
            raise ValueError(f"{where}: its video has no file name")
        rows.append(
            {
                "index": i,
                "video": video,
                "video_path": f"./video/{video}.mp4",
                "audio_path": f"./audio/{video}.wav",
                "question": p["prompt"],
                "candidates": repr(_options(p["prompt"], len(choices), where)),
                "answer": "ABCDEFGHIJ"[choices.index(p["label"])],
                **{k: p[k] for k in ("probe_id", "pair_id", "clip_id", "dimension", "condition")},
                "offset_s": float(p.get("offset_s") or 0.0),
                "label": p["label"],
            }
        )
    return rows


def write_tsv(rows: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """Write ``rows`` as VLMEvalKit writes a TSV (tab-separated, every field quoted, UTF-8)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=TSV_COLUMNS, delimiter="\t", quoting=csv.QUOTE_ALL)
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)
    return path


# -- prediction files ----------------------------------------------------------------------


def _header(line: str) -> list[str]:
    return next(csv.reader([line], delimiter="\t"), [])


def is_vlmevalkit_tsv(head: list[str]) -> bool:
    """True if the first line is a tab-separated header with ``index`` and ``prediction``."""
    if not head or "\t" not in head[0]:
        return False
    fields = {f.strip() for f in _header(head[0])}
    return {"index", "prediction"} <= fields


def _table(path: Path) -> tuple[list[str], list[tuple[int, list[Any]]]]:
    """Header and ``(row number, cells)`` of a ``.tsv`` or ``.xlsx`` prediction file."""
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        try:
            book = load_workbook(path, read_only=True, data_only=True)
        except Exception as e:  # openpyxl raises several kinds for a damaged file
            raise ValueError(f"{path}: not a readable .xlsx file ({type(e).__name__}: {e})") from e
        try:
            rows = list(book.worksheets[0].iter_rows(values_only=True))
        finally:
            book.close()
        if not rows:
            raise ValueError(f"{path}: the sheet is empty")
        header = ["" if c is None else str(c).strip() for c in rows[0]]
        return header, [(i + 2, list(r)) for i, r in enumerate(rows[1:]) if any(c is not None for c in r)]
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t")
        header = [c.strip() for c in next(reader, [])]
        # row numbers, not text lines: a quoted answer may span several lines
        body = [(n, row) for n, row in enumerate(reader, start=2) if any(c.strip() for c in row)]
    return header, body


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    return text if text.strip() and text != "nan" else None


def read_vlmevalkit(path: str | Path) -> PredictionSet:
    """A VLMEvalKit prediction file (``.xlsx`` or ``.tsv``) of Thud's exported probes.

    Rows are matched to probes by their ``probe_id`` column; ``lines`` holds each probe's
    row number in the file (1 is the header).

    Raises
    ------
    ValueError
        A missing ``prediction`` or ``probe_id`` column, a row without a probe id, a probe
        twice (naming both rows), a file without rows, or a damaged ``.xlsx``.
    """
    path = Path(path)
    header, body = _table(path)
    missing = [c for c in ("prediction", "probe_id") if c not in header]
    if missing:
        raise ValueError(
            f"{path}: no {' or '.join(repr(c) for c in missing)} column (it has {header}); "
            "Thud reads the prediction files of the TSV `thud export --format vlmevalkit` writes, "
            "whose probe_id column VLMEvalKit keeps"
        )
    col = {name: header.index(name) for name in ("prediction", "probe_id")}
    out = PredictionSet(path=path, format=FORMAT, answers={}, meta={"harness": "vlmevalkit"})
    for lineno, cells in body:
        cells = list(cells) + [None] * (len(header) - len(cells))
        where = f"{path}:{lineno}"
        pid = _text(cells[col["probe_id"]])
        if pid is None:
            raise ValueError(f"{where}: a row without a probe_id")
        if pid in out.answers:
            raise ValueError(f"{where}: probe_id {pid!r} appears twice (first on row {out.lines[pid]})")
        answer = _text(cells[col["prediction"]])
        if answer is None:
            out.errors[pid] = "empty prediction"
        elif FAIL_MARKER in answer:
            out.errors[pid], answer = answer, None
        out.answers[pid] = answer
        out.lines[pid] = lineno
    if not out.answers:
        raise ValueError(f"{path}: no predictions in the file")
    return out

