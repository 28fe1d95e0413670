"""The local-folder source: a directory of videos plus ``annotations.jsonl``.

One JSON object a line::

    {"file": "skate.mp4", "visual_event": "board hits the ground", "visual_time": 2.4,
     "audio_event": "thud", "audio_time": 2.45, "category": "impact", "split": "test"}

Required keys: ``file`` (relative to the data folder, or absolute), ``visual_event``,
``visual_time``, ``audio_event``, ``audio_time``. Optional: ``clip_id`` (default: the file's
stem), ``category``, ``split`` (``train``/``test``; forces the partition), ``license``
(attribution string, copied to the dataset card). Any other key is kept in ``Clip.extra``.
Blank lines are ignored. Any container/codec PyAV reads is accepted.

A row that cannot be used becomes a :class:`~thud_dataset.sources.base.Skipped` whose
``origin`` is ``annotations.jsonl:LINE`` and whose ``reason`` says what is wrong: a broken
JSON line, a missing or mistyped key, a missing file, a file PyAV cannot open, a file
without a video or an audio stream, times that are negative, NaN, infinite or outside
``[0, duration]``, a duplicate ``clip_id``. Video files in the folder that no row names
are reported too (nothing is dropped silently). ``strict=True`` raises
:class:`~thud_dataset.sources.base.ClipError` with the same message at the first problem.
Full format: ``docs/corpora.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

from ..jsonl import read_lines
from .base import Clip, ClipError, Skipped

__all__ = [
    "ANNOTATIONS_NAME",
    "REQUIRED_KEYS",
    "VIDEO_EXTENSIONS",
    "load_clips",
    "Skipped",
]

ANNOTATIONS_NAME = "annotations.jsonl"
REQUIRED_KEYS: tuple[str, ...] = (
    "file",
    "visual_event",
    "visual_time",
    "audio_event",
    "audio_time",
)
_OPTIONAL_STR_KEYS: tuple[str, ...] = ("clip_id", "category", "split", "license")
#: extensions counted as videos when looking for files that no row names
VIDEO_EXTENSIONS: frozenset[str] = frozenset(
    {
        ".mp4",
        ".m4v",
        ".mov",
        ".mkv",
        ".webm",
        ".avi",
        ".mpg",
        ".mpeg",
        ".ts",
        ".flv",
        ".ogv",
        ".3gp",
    }
)
#: how far past the container's duration a time may lie and still count as inside (s):
#: durations are rounded to a frame / an audio packet, annotators round to 10 ms.
_DURATION_SLACK_S = 1e-3


def _probe(path: Path, file_name: str):
    """:func:`thud_dataset.media.probe` (the builder's own reading of the file), with its
    errors turned into row reasons; returns the probe's ``MediaInfo``."""
    from thud_dataset.media import MediaError, probe

    try:
        return probe(path)
    except MediaError as exc:
        # the reason ends up in the dataset card: the file's name, not this machine's path
        msg = str(exc).removeprefix(f"{path}: ").replace(str(path), file_name)
        if msg == "no video stream":
            raise _RowError(f"file {file_name!r}: no video stream") from None
        raise _RowError(f"file {file_name!r}: cannot be read as a video: {msg}") from None
    except Exception as exc:  # any other decoder failure also means "unreadable"
        detail = str(exc).replace(str(path), file_name)
        raise _RowError(
            f"file {file_name!r}: cannot be read as a video ({type(exc).__name__}: {detail})"
        ) from None


def read_header(item: tuple[Path, str]):
    """:func:`_probe` of ``(path, file name)`` with a row problem returned, not raised: the
    header reads of a listing, as a map a cluster can run (picklable in and out)."""
    try:
        return _probe(*item)
    except _RowError as exc:
        return exc


def _header_lost(item: tuple[Path, str]) -> _RowError:
    return _RowError(f"file {item[1]!r}: cannot be read as a video (the process reading it died)")


class _RowError(Exception):
    """A row problem; ``clip_id`` is filled in as soon as it is known."""

    def __init__(self, reason: str, clip_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.clip_id = clip_id


def _number(row: dict, key: str) -> float:
    value = row[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _RowError(f"{key} must be a number of seconds, got {value!r}")
    try:
        value = float(value)
    except OverflowError:
        digits = len(str(abs(int(value))))
        raise _RowError(f"{key} is a number of {digits} digits; it must be a number of seconds") from None
    if math.isnan(value):
        raise _RowError(f"{key} is NaN; it must be a number of seconds")
    if math.isinf(value):
        raise _RowError(f"{key} is {value}; it must be a finite number of seconds")
    if value < 0:
        raise _RowError(f"{key} is {value} s; event times cannot be negative")
    return value


def _text(row: dict, key: str, *, required: bool) -> str | None:
    value = row.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _RowError(f"{key} must be a non-empty string, got {value!r}")
    return value


def _file_path(file_name: str, data_dir: Path) -> Path:
    path = Path(file_name)
    return path if path.is_absolute() else data_dir / path


def _row_to_clip(row: dict, data_dir: Path, origin: str, seen: dict[str, str], headers: dict | None = None) -> Clip:
    """Validate one parsed row (keys, types, file, streams, times) and build its Clip.

    ``headers``: the files' header reads made beforehand (:func:`read_header` results by
    ``(path, file name)``); a file not in it is read here."""
    missing = [k for k in REQUIRED_KEYS if k not in row]
    file_value = row.get("file")
    clip_id = row.get("clip_id")
    if clip_id is None and isinstance(file_value, str) and file_value.strip():
        clip_id = Path(file_value).stem
    hint = clip_id if isinstance(clip_id, str) and clip_id else None
    try:
        if missing:
            raise _RowError(
                f"missing required key(s) {', '.join(missing)} (a row needs {', '.join(REQUIRED_KEYS)})"
            )
        file_name = _text(row, "file", required=True)
        clip_id = _text({"clip_id": clip_id}, "clip_id", required=True)
        hint = clip_id
        if clip_id in seen:
            raise _RowError(f"duplicate clip_id {clip_id!r} (first used at {seen[clip_id]})")
        seen[clip_id] = origin
        visual_event = _text(row, "visual_event", required=True)
        audio_event = _text(row, "audio_event", required=True)
        for key in _OPTIONAL_STR_KEYS[1:]:
            _text(row, key, required=False)
        visual_time = _number(row, "visual_time")
        audio_time = _number(row, "audio_time")

        path = _file_path(file_name, data_dir)
        if not path.is_file():
            # no absolute path in the reason: it ends up in the dataset card
            where = "" if Path(file_name).is_absolute() else " in the data folder"
            raise _RowError(f"file {file_name!r}: not found{where}")
        media = (headers or {}).get((path, file_name))
        if media is None:
            media = _probe(path, file_name)
        elif isinstance(media, _RowError):
            raise _RowError(media.reason)
        if media.audio is None:
            raise _RowError(f"file {file_name!r}: no audio stream")
        if not math.isfinite(media.duration) or media.duration <= 0:
            raise _RowError(f"file {file_name!r}: duration unknown or zero ({media.duration})")
        for key, value in (("visual_time", visual_time), ("audio_time", audio_time)):
            if value > media.duration + _DURATION_SLACK_S:
                raise _RowError(
                    f"file {file_name!r}: {key} {value:g} s is outside the clip "
                    f"[0, {media.duration:.3f}] s"
                )
        extra = {k: v for k, v in row.items() if k not in REQUIRED_KEYS + _OPTIONAL_STR_KEYS}
        extra["duration_s"] = media.duration
        try:
            return Clip(
                clip_id=clip_id,
                path=str(path),
                visual_event=visual_event,
                visual_time=visual_time,
                audio_event=audio_event,
                audio_time=audio_time,
                category=row.get("category"),
                split=row.get("split"),
                source="local",
                license=row.get("license"),
                origin=origin,
                extra=extra,
            )
        except ClipError as exc:
            # Clip prefixes its own message with the origin; keep only the reason
            raise _RowError(str(exc).removeprefix(f"{origin}: ")) from None
    except _RowError as exc:
        exc.clip_id = hint
        raise


def _annotated_files(clips_and_rows: list[tuple[int, dict]], data_dir: Path) -> set[Path]:
    names: set[Path] = set()
    for _, row in clips_and_rows:
        value = row.get("file")
        if isinstance(value, str) and value.strip():
            p = Path(value)
            names.add((p if p.is_absolute() else data_dir / p).resolve())
    return names


def load_clips(
    data_dir: str | Path,
    annotations: str | Path | None = None,
    *,
    strict: bool = False,
    report_unannotated: bool = True,
    mapper: Callable[[Callable, list, Callable, str], list] | None = None,
) -> tuple[list[Clip], list[Skipped]]:
    """Read a folder of videos and its annotations into clips, and say what was left out.

    Parameters
    ----------
    data_dir
        Folder holding the videos; relative ``file`` entries resolve against it.
    annotations
        The JSON-lines file; default ``data_dir/annotations.jsonl``. It may live outside
        ``data_dir`` (e.g. when the videos are on a read-only share).
    strict
        Raise :class:`ClipError` at the first unusable row instead of skipping it.
    report_unannotated
        Also report video files under ``data_dir`` that no row names (never an error,
        even when ``strict``: a corpus may hold more videos than are annotated).
    mapper
        Reads the files' headers (:func:`read_header`) as a map, e.g. in processes or on a
        cluster: ``mapper(fn, items, crashed, desc)`` returns ``[fn(x) for x in items]``
        (``crashed(x)`` for an item whose worker died). Same result as without it.

    Returns
    -------
    clips, skipped
        Usable clips in file order, and one :class:`Skipped` per unusable row (``origin``
        ``annotations.jsonl:LINE``) or unannotated video (``origin`` the folder).

    Raises
    ------
    ClipError
        The folder or the annotations file does not exist (always), or any row is unusable
        (``strict=True``).
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise ClipError(f"{data_dir}: data folder not found (or not a folder)")
    ann_path = Path(annotations) if annotations is not None else data_dir / ANNOTATIONS_NAME
    if not ann_path.is_file():
        raise ClipError(
            f"{ann_path}: annotations file not found; a local source needs one JSON object "
            f"a line with keys {', '.join(REQUIRED_KEYS)} (see docs/corpora.md)"
        )
    clips: list[Clip] = []
    skipped: list[Skipped] = []
    rows: list[tuple[int, dict]] = []
    seen: dict[str, str] = {}
    lines = list(read_lines(ann_path))
    headers = None
    if mapper is not None:
        files = {
            (_file_path(row["file"], data_dir), row["file"])
            for _, row, problem in lines
            if problem is None and isinstance(row.get("file"), str) and row["file"].strip()
        }
        wanted = sorted(f for f in files if f[0].is_file())
        headers = dict(zip(wanted, mapper(read_header, wanted, _header_lost, "Reading clips"), strict=True))
    for lineno, row, problem in lines:
        origin = f"{ann_path.name}:{lineno}"
        try:
            if problem is not None:
                raise _RowError(problem)
            rows.append((lineno, row))
            clips.append(_row_to_clip(row, data_dir, origin, seen, headers))
        except _RowError as exc:
            item = Skipped(clip_id=exc.clip_id or "?", origin=origin, reason=exc.reason)
            if strict:
                raise ClipError(str(item)) from None
            skipped.append(item)

    if report_unannotated:
        named = _annotated_files(rows, data_dir)
        for path in sorted(data_dir.rglob("*")):
            if path.suffix.lower() in VIDEO_EXTENSIONS and path.is_file():
                if path.resolve() in named:
                    continue
                rel = path.relative_to(data_dir).as_posix()
                item = Skipped(
                    clip_id=path.stem,
                    origin=str(data_dir),
                    reason=f"file {rel!r}: video has no row in {ann_path.name}",
                )
                skipped.append(item)  # not a bad row: reported, even when strict
    return clips, skipped
