"""Clip sources: where the annotated source videos of a build come from.

* ``synthetic`` — the embedded default: procedurally rendered falls and impacts with exact
  event-time labels (:mod:`.synthetic`);
* ``local`` — a folder of videos plus ``annotations.jsonl`` (:mod:`.local`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .base import Clip, ClipError, Skipped

SOURCES = ("synthetic", "local")


def get_clips(
    source: str,
    *,
    data_dir: str | Path | None = None,
    annotations: str | Path | None = None,
    num_clips: int = 24,
    source_seed: int = 0,
    work_dir: str | Path,
    progress: bool = True,
    mapper: Callable | None = None,
) -> tuple[list[Clip], list[Skipped]]:
    """Collect the clips of ``source``; bad rows come back as :class:`Skipped`, never dropped.

    ``work_dir`` is where a generated source writes its files (the synthetic renders).
    ``mapper`` reads a local source's file headers as a map (see
    :func:`~thud_dataset.sources.local.load_clips`); same result.
    """
    if source == "synthetic":
        from .synthetic import RENDER_VERSION, generate_clips

        renders = Path(work_dir) / "synthetic" / f"v{RENDER_VERSION}"
        return generate_clips(num_clips, source_seed, renders, progress=progress), []
    if source == "local":
        if data_dir is None:
            raise ValueError("source 'local' needs data_dir: the folder with the videos and annotations.jsonl")
        from .local import load_clips

        return load_clips(data_dir, annotations=annotations, mapper=mapper)
    raise ValueError(f"unknown source {source!r}; expected one of {SOURCES}")


__all__ = ["Clip", "ClipError", "SOURCES", "Skipped", "get_clips"]
