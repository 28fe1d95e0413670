"""kill -9 during a build: the folder is the previous build or a complete new one, never a mix."""

from __future__ import annotations

import random

import pytest

from tests.helpers.faults import BUILD_ARGS as ARGS
from tests.helpers.faults import KILL_POINTS, judge, leftovers, run_build, tree_digest

#: the stages the fast suite kills at (bench/faults.py kills at every one, and at random)
CI_POINTS = ("staging", "first-shard", "linked", "swapped", "committed")


@pytest.mark.parametrize("point", CI_POINTS)
def test_kill_at_a_stage_over_a_previous_build(over_previous, media_cache, point):
    out, before, extras = over_previous
    res = run_build(out, media_cache, *ARGS, "--seed", "1", kill_at=point)
    assert res.returncode == -9, res.stderr[-2000:]
    verdict = judge(out, before, extras)
    assert verdict.ok, verdict.problems
    # before the swap the previous build is untouched; from the swap on it is the new one
    swapped = KILL_POINTS.index(point) >= KILL_POINTS.index("swapped")
    assert verdict.state == ("new" if swapped else "previous")
    if point in ("first-shard", "swapped"):
        # the next build clears what the killed one left beside the folder, and keeps the extras
        assert leftovers(out) != []
        again = run_build(out, media_cache, *ARGS, "--seed", "2")
        assert again.returncode == 0, again.stderr[-2000:]
        assert judge(out, before, extras).state == "new" and leftovers(out) == []


@pytest.mark.parametrize("point", ["report", "swapped"])
def test_kill_during_a_fresh_build(tmp_path, media_cache, point):
    out = tmp_path / "fresh" / "thud"
    res = run_build(out, media_cache, *ARGS, kill_at=point)
    assert res.returncode == -9
    verdict = judge(out, None)
    assert verdict.state == ("new" if point == "swapped" else "absent"), verdict.problems


def test_kill_at_random_moments(over_previous, media_cache):
    out, before, extras = over_previous
    rng = random.Random(13)
    for seed in (3, 4):
        res = run_build(out, media_cache, *ARGS, "--seed", str(seed), kill_after=rng.uniform(1.0, 3.5))
        verdict = judge(out, before, extras)
        assert verdict.ok, (res.returncode, verdict.problems)
        if res.returncode == 0:
            assert verdict.state == "new"
        else:
            assert res.returncode == -9 and res.killed
        before = tree_digest(out)


def test_the_judge_sees_a_folder_that_mixes_two_builds(over_previous, tmp_path, media_cache):
    """What a non-atomic rebuild leaves (new probes beside the old report) is caught."""
    out, before, extras = over_previous
    other = tmp_path / "other" / "thud"
    assert run_build(other, media_cache, *ARGS, "--seed", "7").returncode == 0
    shift = next((out / "data" / "probes").glob("shift-*.parquet"))
    shift.write_bytes(next((other / "data" / "probes").glob("shift-*.parquet")).read_bytes())
    verdict = judge(out, before, extras)
    assert verdict.state == "corrupted" and any("shift" in p for p in verdict.problems)
    shift.write_bytes(shift.read_bytes()[:-100])  # truncated
    assert any("unreadable" in p for p in judge(out, before, extras).problems)
