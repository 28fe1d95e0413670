"""Helpers of the answerer tests."""

from __future__ import annotations

import importlib.util


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None and importlib.util.find_spec("transformers") is not None


def video_path(row: dict) -> str:
    """The probe's video on disk (written once to the session's media cache)."""
    from thud_dataset import video_file

    return video_file(row["video"])
