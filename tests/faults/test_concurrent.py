"""Two builds into one folder at once: one builds, the other stops at once and says why."""

from __future__ import annotations

import json

import pytest

from tests.helpers.faults import BUILD_ARGS as ARGS
from tests.helpers.faults import finish, judge, start_build

LOCKED = 75


@pytest.mark.parametrize("trial", range(2))
def test_two_builds_at_once_into_one_folder(tmp_path, media_cache, trial):
    # the long version (bench/faults.py) runs 20 trials, each with a fresh cache
    out = tmp_path / "thud"
    a = start_build(out, media_cache, *ARGS, "--seed", "1")
    b = start_build(out, media_cache, *ARGS, "--seed", "2")
    ra, rb = finish(a), finish(b)
    codes = sorted([ra.returncode, rb.returncode])
    assert codes in ([0, LOCKED], [0, 0]), (ra.stderr[-1500:], rb.stderr[-1500:])
    loser = next((r for r in (ra, rb) if r.returncode == LOCKED), None)
    if loser is not None:
        assert "another thud build" in loser.stderr and "Traceback" not in loser.stderr
        assert len(loser.stderr.strip().splitlines()) == 1
    verdict = judge(out, None)
    assert verdict.state == "new", verdict.problems
    seed = json.loads((out / "build_report.json").read_text())["settings"]["seed"]
    winners = {1 if r is ra else 2 for r in (ra, rb) if r.returncode == 0}
    assert seed in winners
