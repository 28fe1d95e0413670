"""Public video preference data -> the trainer's general-data file (:mod:`thud_train.general_data`).

The paper mixes the intervention pairs with general video preference pairs (section 2.3).
Thud ships none; this module converts a public video-DPO set into Thud's schema, with the
user's local copies of its videos.

Format ``llava-hound``: the DPO pairs of LLaVA-Hound (Zhang et al. 2024, "Direct Preference
Optimization of Video Large Multimodal Models from Language Model Reward";
github.com/RifleZhang/LLaVA-Hound-DPO, data ``ShareGPTVideo/train_video_and_instruction``,
``video_instruction/train/dpo/sft_dpo_17k.jsonl``). One JSON object a line (a JSON list is
read too), as its ``dpo_scripts/run_dpo.py`` reads them::

    {"id": "...", "video": "v_abc123", "prompt": "<video>\\nWhat is the man doing?",
     "chosen": "...", "rejected": "...", "chosen_score": 4.0, "rejected_score": 2.0}

``video`` names a video relative to a video folder (``--video_folder`` there); the released
``train_300k`` holds *frames* under those names, which carry no sound, so point
``video_dir`` at the raw videos (``ShareGPTVideo/train_raw_video``) or your own copies: a
name without an extension is looked up as ``NAME.mp4``, ``.mkv``, ``.webm``, ``.mov``,
``.avi``, ``.m4v``. The ``<video>`` placeholder is dropped from the prompt (Thud's collator
places the video itself); the scores are not kept.

Rows that cannot be used are skipped and reported by reason, each with its line: a missing
field, chosen equal to rejected, a video that is not there, a folder of frames, a file that
is not a readable video and, by default, a video without an audio track (a general pair is
meant to be *heard* too; ``require_audio=False`` keeps them, the collator then gives the
model silence). Output paths are written relative to the output file's folder, so the file
and the videos move together.

>>> report = import_general("llava-hound", "sft_dpo_17k.jsonl", "videos/", "general_prefs.jsonl")  # doctest: +SKIP
>>> print(report)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from thud_dataset.jsonl import read_lines, write_jsonl
from thud_dataset.media import MediaError, probe

logger = logging.getLogger(__name__)

#: extensions tried, in order, for a video named without one
VIDEO_EXTENSIONS = (".mp4", ".mkv", ".webm", ".mov", ".avi", ".m4v")
#: the media placeholders LLaVA-style prompts carry
PLACEHOLDERS = ("<video>", "<image>")


class GeneralImportError(ValueError):
    """An input that cannot be imported at all (no file, not JSON lines, nothing usable)."""


@dataclass
class ImportReport:
    """What an import wrote and what it skipped (reason -> ``"line N (id)"`` items)."""

    source: str
    output: str
    written: int = 0
    videos: int = 0
    skipped: dict[str, list[str]] = field(default_factory=dict)

    def skip(self, reason: str, where: str) -> None:
        self.skipped.setdefault(reason, []).append(where)

    def __str__(self) -> str:
        n_skipped = sum(len(v) for v in self.skipped.values())
        wrote = (
            f"{self.written} pairs ({self.videos} videos) written to {self.output}"
            if self.written
            else "nothing written"
        )
        lines = [f"{wrote}; {n_skipped} rows of {self.source} skipped"]
        for reason, where in sorted(self.skipped.items(), key=lambda kv: -len(kv[1])):
            shown = ", ".join(where[:3]) + (", ..." if len(where) > 3 else "")
            lines.append(f"  {len(where)} x {reason}: {shown}")
        return "\n".join(lines)


def _records(path: str) -> Iterator[tuple[int, dict | None, str | None]]:
    """``(line or item number, object, problem)`` of a JSON-lines file or a JSON list."""
    with open(path, "rb") as f:
        head = f.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"["):
        try:
            with open(path, encoding="utf-8-sig") as f:
                items = json.load(f)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise GeneralImportError(f"{path}: not a JSON list ({e})") from None
        for i, item in enumerate(items, start=1):
            if isinstance(item, dict):
                yield i, item, None
            else:
                yield i, None, f"expected a JSON object, got {type(item).__name__}"
        return
    yield from read_lines(path)


def _strip_placeholders(prompt: str) -> str:
    for token in PLACEHOLDERS:
        prompt = prompt.replace(token, "")
    return prompt.strip()


def resolve_video(name: str, video_dir: str) -> tuple[str | None, str | None]:
    """``(path, None)`` of the video ``name`` under ``video_dir``, or ``(None, reason)``."""
    candidate = os.path.join(video_dir, name.lstrip("/"))
    if os.path.isfile(candidate):
        return candidate, None
    if not Path(name).suffix:
        for ext in VIDEO_EXTENSIONS:
            if os.path.isfile(candidate + ext):
                return candidate + ext, None
    if os.path.isdir(candidate):
        return None, (
            "a folder of frames, not a video (frames carry no sound: use the raw videos, "
            "e.g. ShareGPTVideo/train_raw_video)"
        )
    return None, "video not found under the video folder"


def _llava_hound_rows(
    path: str, video_dir: str, report: ImportReport, require_audio: bool, source: str, task: str | None
) -> Iterator[dict]:
    out_dir = os.path.dirname(os.path.abspath(report.output))
    checked: dict[str, str | None] = {}  # video path -> reason it cannot be used (None: fine)
    for lineno, row, problem in _records(path):
        if problem is not None:
            report.skip(problem, f"line {lineno}")
            continue
        rid = row.get("id")
        where = f"line {lineno}" + (f" ({rid})" if rid not in (None, "") else "")
        missing = [k for k in ("video", "prompt", "chosen", "rejected") if not isinstance(row.get(k), str) or not row[k].strip()]
        if missing:
            report.skip(f"missing or empty {', '.join(missing)}", where)
            continue
        prompt = _strip_placeholders(row["prompt"])
        chosen, rejected = row["chosen"].strip(), row["rejected"].strip()
        if not prompt:
            report.skip("a prompt with nothing but the video placeholder", where)
            continue
        if chosen == rejected:
            report.skip("chosen and rejected are the same text", where)
            continue
        video, reason = resolve_video(row["video"], video_dir)
        if video is not None and video not in checked:
            checked[video] = _video_problem(video, require_audio)
        reason = reason or checked.get(video)
        if reason:
            report.skip(reason, where)
            continue
        out = {
            "video": os.path.relpath(os.path.abspath(video), out_dir),
            "prompt": prompt,
            "chosen": chosen,
            "rejected": rejected,
            "source": source,
        }
        if task:
            out["task"] = task
        out["id"] = str(rid) if rid not in (None, "") else f"{Path(path).name}:{lineno}"
        yield out
    report.videos = sum(1 for reason in checked.values() if reason is None)


def _video_problem(path: str, require_audio: bool) -> str | None:
    try:
        info = probe(path)
    except MediaError as e:
        return f"not a readable video ({str(e).removeprefix(path + ': ')})"
    if require_audio and info.audio is None:
        return "no audio track (pass require_audio=False / --keep-silent to keep such videos)"
    return None


#: the formats :func:`import_general` reads
FORMATS = {"llava-hound": _llava_hound_rows}


def import_general(
    fmt: str,
    path: str | os.PathLike,
    video_dir: str | os.PathLike,
    output: str | os.PathLike,
    *,
    require_audio: bool = True,
    source: str | None = None,
    task: str | None = None,
) -> ImportReport:
    """Convert ``path`` (format ``fmt``, see :data:`FORMATS`) into a general-data file.

    Parameters
    ----------
    fmt : ``"llava-hound"``
    path : the public file (JSON lines, or a JSON list)
    video_dir : the folder its ``video`` names are relative to
    output : the JSON-lines file to write (:func:`thud_train.general_data.load_general_preferences`
        reads it); written atomically
    require_audio : skip videos without an audio track (default)
    source, task : the ``source`` (default: the format's name) and optional ``task`` written
        on every row; the trainer labels the rows ``general:<source>[:<task>]``

    Returns the :class:`ImportReport`. Raises :class:`GeneralImportError` when the input file is
    missing or no row could be used (nothing is written then).
    """
    if fmt not in FORMATS:
        raise GeneralImportError(f"unknown format {fmt!r}; known: {sorted(FORMATS)}")
    path, video_dir, output = os.fspath(path), os.fspath(video_dir), os.fspath(output)
    if not os.path.isfile(path):
        raise GeneralImportError(f"{path}: no such file")
    if not os.path.isdir(video_dir):
        raise GeneralImportError(f"{video_dir}: no such video folder")
    report = ImportReport(source=path, output=output)
    rows = list(FORMATS[fmt](path, video_dir, report, require_audio, source or fmt, task))
    if not rows:
        raise GeneralImportError(f"{path}: no usable pair; {report}")
    write_jsonl(rows, output)
    report.written = len(rows)
    logger.info("%s", report)
    return report
