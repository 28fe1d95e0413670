"""Thud's dataset side: clip sources, interventions, media I/O and the ``datasets`` builder.

Heavy modules (``datasets``, PyAV) load on first use, so ``thud_dataset.vocab`` and the
interventions stay importable on their own (the metric functions depend on the vocabulary).
"""

from __future__ import annotations

from .lazy import lazy_exports

_LAZY = {
    "ThudBuilder": ("builder", "ThudBuilder"),
    "ThudConfig": ("builder", "ThudConfig"),
    "build": ("hub.layout", "build"),
    "BuildReport": ("hub.report", "BuildReport"),
    "BuildError": ("hub.output", "BuildError"),
    "video_file": ("video_files", "video_file"),
    "Clip": ("sources.base", "Clip"),
    "ClipError": ("sources.base", "ClipError"),
    "Skipped": ("sources.base", "Skipped"),
    "MediaError": ("media", "MediaError"),
}

__all__ = sorted(_LAZY)

__getattr__ = lazy_exports(__name__, _LAZY)
