"""Fixtures of the fault suite: builds run as subprocesses, as a user runs them."""

from __future__ import annotations

import shutil

import pytest

from tests.helpers.faults import BUILD_ARGS as ARGS
from tests.helpers.faults import run_build, tree_digest


@pytest.fixture(scope="session")
def previous_build(tmp_path_factory, media_cache):
    """A complete build (seed 0) with a ``predictions/`` file a user keeps in it; tests copy it."""
    root = tmp_path_factory.mktemp("previous")
    out = root / "thud"
    res = run_build(out, media_cache, *ARGS, "--seed", "0")
    assert res.returncode == 0, res.stderr
    (out / "predictions").mkdir()
    (out / "predictions" / "mine.jsonl").write_text('{"probe_id": "x", "answer": "A"}\n')
    return out


@pytest.fixture
def over_previous(tmp_path, previous_build):
    """``(out, digest before, extras)``: a copy of the previous build to break a rebuild over."""
    out = tmp_path / "thud"
    shutil.copytree(previous_build, out)
    before = tree_digest(out)
    extras = {p: h for p, h in before.items() if p.startswith("predictions/")}
    return out, before, extras
