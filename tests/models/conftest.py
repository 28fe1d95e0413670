"""Fixtures of the answerer tests: the session's synthetic build (tests/conftest.py, 12
clips, seed 0, media cached under a tmp ``THUD_CACHE``), its probe rows, and helpers."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from thud_dataset.vocab import CONDITIONS


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None and importlib.util.find_spec("transformers") is not None


@pytest.fixture(scope="session")
def dataset_dir(synthetic_build) -> Path:
    """The built dataset folder (its probes: 8 test clips x 3 dimensions x 2 conditions)."""
    return synthetic_build[0]


@pytest.fixture(scope="session")
def probe_rows(dataset_dir) -> dict[str, list[dict]]:
    """Every probe row by split (video bytes included)."""
    from datasets import load_dataset

    return {s: list(load_dataset(str(dataset_dir), "probes", split=s)) for s in CONDITIONS}


@pytest.fixture(scope="session")
def all_probes(probe_rows) -> list[dict]:
    return [row for split in CONDITIONS for row in probe_rows[split]]


def video_path(row: dict) -> str:
    """The probe's video on disk (written once to the session's media cache)."""
    from thud_dataset import video_file

    return video_file(row["video"])
