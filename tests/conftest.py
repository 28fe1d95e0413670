"""Shared fixtures: the real clips in ../shared/media/real and a small synthetic build."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """``shared/`` beside the repository (CI lays a copy there); ``$THUD_SHARED`` overrides."""
    return Path(os.environ.get("THUD_SHARED") or REPO.parent / "shared")


@pytest.fixture(scope="session")
def real_clips_dir() -> Path:
    d = shared_dir() / "media" / "real"
    if not d.is_dir():
        pytest.fail(f"real test clips not found at {d}: CI must lay shared/ beside the clone (or set THUD_SHARED)")
    return d


@pytest.fixture(scope="session")
def media_cache(tmp_path_factory) -> Path:
    """One media cache for the session, so builds share rendered/materialized files."""
    path = tmp_path_factory.mktemp("thud-cache")
    os.environ["THUD_CACHE"] = str(path)
    return path


@pytest.fixture(scope="session")
def synthetic_build(tmp_path_factory, media_cache):
    """A built synthetic dataset (12 clips, seed 0): ``(out_dir, report)``."""
    from thud_dataset import build

    out = tmp_path_factory.mktemp("build") / "thud"
    report = build(out, num_clips=12, seed=0, media_cache_dir=str(media_cache), progress=False)
    return out, report
