"""Fixtures of the trainer tests: a small synthetic build with a train partition."""

from __future__ import annotations

import os

import pytest

#: clips and seed of the build these tests train on; half the clips are train clips
NUM_CLIPS = 10
SEED = 3


@pytest.fixture(scope="session")
def train_build(tmp_path_factory, media_cache):
    """``thud_dataset.build`` of ``NUM_CLIPS`` synthetic clips into a tmp folder."""
    from thud_dataset import build

    out = tmp_path_factory.mktemp("train-build") / "thud"
    build(
        out,
        source="synthetic",
        num_clips=NUM_CLIPS,
        seed=SEED,
        test_fraction=0.5,
        media_cache_dir=str(media_cache),
        progress=False,
    )
    return out


@pytest.fixture(scope="session")
def preferences(train_build):
    """The built ``preferences`` config, loaded as a user would."""
    from datasets import load_dataset

    ds = load_dataset(os.fspath(train_build), "preferences", split="train")
    assert len(ds) > 0, "the build has no preference rows"
    return ds
