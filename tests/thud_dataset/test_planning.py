"""The planner: donors never the same recording and stable when a clip drops out; shifts
per clip balanced in direction, one-sided clips skipped or kept."""

from __future__ import annotations

import os

import numpy as np
import pytest

from thud_dataset.planning import PlanSettings, plan_clips, source_identity, usable_offsets
from thud_dataset.sources.base import Clip


def _clip(i, path=None, category="wood", split="test"):
    return Clip(f"c{i:03d}", path or f"/x/c{i}.mp4", "falls", 1.0, "thud", 1.0, category=category, split=split)


def _plan(clips, seed=0):
    return plan_clips(clips, {c.clip_id: 4.0 for c in clips}, PlanSettings(seed=seed))


@pytest.mark.parametrize("seed", range(5))
def test_rows_of_one_file_never_donate_to_each_other(tmp_path, seed):
    shared = tmp_path / "long_recording.mp4"
    shared.write_bytes(b"x")
    os.link(shared, tmp_path / "hardlink.mp4")
    (tmp_path / "symlink.mp4").symlink_to(shared)
    same = [_clip(i, str(shared)) for i in range(4)]
    same += [_clip(4, str(tmp_path / "hardlink.mp4")), _clip(5, str(tmp_path / "symlink.mp4"))]
    others = [_clip(10 + i) for i in range(2)]  # same category: only the file tells them apart
    plans, skipped = _plan(same + others, seed)
    assert not skipped
    one_file = {c.clip_id for c in same}
    for p in plans:
        if p.clip_id in one_file:
            assert p.donor_clip_id not in one_file, p  # not the same recording under another id


def test_a_partition_of_one_file_has_no_donor_and_says_why(tmp_path):
    shared = tmp_path / "only.mp4"
    shared.write_bytes(b"x")
    plans, skipped = _plan([_clip(i, str(shared)) for i in range(3)])
    assert plans == [] and len(skipped) == 3
    assert all("same source file" in s.reason for s in skipped)
    assert source_identity(_clip(0, str(shared))) == source_identity(_clip(1, str(shared)))


@pytest.mark.parametrize("seed", range(4))
def test_removing_a_clip_changes_only_the_donors_that_were_it(seed):
    clips = [_clip(i, category="abc"[i % 3]) for i in range(40)]
    plans, _ = _plan(clips, seed)
    by_id = {p.clip_id: p for p in plans}
    gone = plans[7].donor_clip_id  # a clip that donates
    again, _ = _plan([c for c in clips if c.clip_id != gone], seed)
    changed = {p.clip_id for p in again if by_id[p.clip_id] != p}
    assert changed == {p.clip_id for p in plans if p.donor_clip_id == gone and p.clip_id != gone}
    assert all(p.donor_clip_id != gone for p in again)


def test_donors_prefer_another_category_and_stay_in_the_partition():
    clips = [_clip(i, category="metal" if i < 30 else "glass", split="test" if i % 2 else "train") for i in range(36)]
    plans, skipped = _plan(clips)
    assert not skipped
    cat = {c.clip_id: c.category for c in clips}
    part = {c.clip_id: c.split for c in clips}
    for p in plans:
        assert p.donor_clip_id != p.clip_id and part[p.donor_clip_id] == p.partition
        assert cat[p.donor_clip_id] != cat[p.clip_id]  # glass exists in both partitions
    # one category only: any other clip is a donor
    same, _ = _plan([_clip(i) for i in range(5)])
    assert len(same) == 5 and all(p.donor_clip_id != p.clip_id for p in same)


# -- shifts per clip ---------------------------------------------------------------------------

DEFAULT = (-1.2, -0.8, -0.5, -0.3, 0.3, 0.5, 0.8, 1.2)


def _at(i, t, duration=4.0):
    """A clip whose event is at ``t`` s of a ``duration`` s clip."""
    return Clip(f"e{i:03d}", f"/x/e{i}.mp4", "falls", t, "thud", t, category="abc"[i % 3], split="test")


def _plan_at(clips, duration=4.0, **settings):
    return plan_clips(clips, {c.clip_id: duration for c in clips}, PlanSettings(**settings))


def test_two_shifts_per_clip_by_default_one_early_one_delayed_from_the_offsets_that_fit():
    clips = [_at(i, 0.5 + 3.0 * i / 59) for i in range(60)]  # events from 0.5 s to 3.5 s of 4 s
    plans, skipped = _plan_at(clips)
    assert not skipped and len(plans) == 60
    by_id = {c.clip_id: c for c in clips}
    drawn = set()
    for p in plans:
        early, delayed = p.taus
        assert early < 0 < delayed and p.one_sided is None
        for tau in p.taus:  # each drawn from the offsets that fit this clip
            assert tau in usable_offsets(by_id[p.clip_id].audio_time, 4.0, DEFAULT, 0.2)
        drawn |= {abs(t) for t in p.taus}
    assert drawn == {0.3, 0.5, 0.8, 1.2}  # every magnitude is used over a build
    # a clip's offsets depend on the seed and its own id only
    again, _ = _plan_at(list(reversed(clips[5:])))
    assert {p.clip_id: p.taus for p in again} == {p.clip_id: p.taus for p in plans[5:]}
    other, _ = _plan_at(clips, seed=1)
    assert [p.taus for p in other] != [p.taus for p in plans]


@pytest.mark.parametrize("k", [1, 3])
def test_an_odd_number_of_shifts_balances_the_directions_over_the_build(k):
    clips = [_at(i, 2.0) for i in range(400)]
    plans, _ = _plan_at(clips, shifts_per_clip=k)
    assert all(len(p.taus) == k for p in plans)
    for p in plans:  # within a clip: as balanced as k allows
        early = sum(t < 0 for t in p.taus)
        assert abs(early - (k - early)) == 1
    share = sum(t < 0 for p in plans for t in p.taus) / (k * len(plans))
    assert 0.45 <= share <= 0.55  # the odd shift's direction is a seeded draw per clip


def test_a_sweep_gives_every_offset_that_fits():
    clips = [_at(0, 2.0), _at(1, 0.9), _at(2, 3.4)]
    plans, skipped = _plan_at(clips, shifts_per_clip=8)
    assert not skipped
    got = {p.clip_id: p.taus for p in plans}
    assert got["e000"] == DEFAULT  # the event mid-clip: all eight
    assert got["e001"] == (-0.5, -0.3, 0.3, 0.5, 0.8, 1.2)  # 0.9 - 0.8 < 0.2: no -0.8, -1.2
    assert got["e002"] == (-1.2, -0.8, -0.5, -0.3, 0.3)  # 3.4 + 0.5 > 3.8
    # fewer than all: half each way; where one direction runs short the other makes up
    four = {p.clip_id: p.taus for p in _plan_at(clips, shifts_per_clip=4)[0]}
    assert [sum(t < 0 for t in four[c]) for c in ("e000", "e001", "e002")] == [2, 2, 3]
    assert all(len(taus) == 4 for taus in four.values())
    assert [t for t in four["e002"] if t > 0] == [0.3]  # the one delayed offset that fits
    from thud_dataset.planning import choose_offsets

    assert choose_offsets([-1.2, -0.8, -0.5, -0.3, 0.3], 6, np.random.default_rng(0)) == (-1.2, -0.8, -0.5, -0.3, 0.3)
    assert choose_offsets([-0.3, 0.3, 0.5, 0.8], 3, np.random.default_rng(0))[0] == -0.3


def test_one_sided_clips_are_skipped_with_the_reason_or_kept_on_request():
    near_start = _at(0, 0.45)  # -0.3 would put the event at 0.15 s: only delayed offsets fit
    near_end = _at(1, 3.55)  # +0.3 would leave 3.85 > 3.8: only early offsets fit
    both = [_at(i, 2.0) for i in range(2, 6)]
    plans, skipped = _plan_at([near_start, near_end, *both])
    assert {p.clip_id for p in plans} == {c.clip_id for c in both}
    reasons = {s.clip_id: s.reason for s in skipped}
    assert set(reasons) == {"e000", "e001"}
    assert "one-sided: only delayed offsets" in reasons["e000"] and "0.450 s" in reasons["e000"]
    assert "only early offsets" in reasons["e001"] and "--one-sided keep" in reasons["e001"]

    kept, skipped = _plan_at([near_start, near_end, *both], one_sided="keep")
    assert not skipped
    by_id = {p.clip_id: p for p in kept}
    assert by_id["e000"].one_sided == "delayed" and all(t > 0 for t in by_id["e000"].taus)
    assert by_id["e001"].one_sided == "early" and all(t < 0 for t in by_id["e001"].taus)
    assert len(by_id["e000"].taus) == 2 and all(by_id[c.clip_id].one_sided is None for c in both)
    # one shift per clip: a one-sided clip is kept (nothing to balance within it) and marked
    single, skipped = _plan_at([near_start, *both], shifts_per_clip=1)
    assert not skipped and {p.clip_id: p.one_sided for p in single}["e000"] == "delayed"


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"offsets": (0.5, 1.0)}, "all delayed: with 2 shifts per clip every clip would be one-sided"),
        ({"offsets": (-0.5, 0.5), "shifts_per_clip": 3}, "more than the 2 distinct offsets"),
        ({"shifts_per_clip": 0}, "whole number >= 1"),
        ({"shifts_per_clip": True}, "whole number >= 1"),
        ({"one_sided": "drop"}, "one_sided must be one of"),
    ],
)
def test_shift_settings_that_cannot_work_are_refused_up_front(settings, message):
    with pytest.raises(ValueError, match=message):
        PlanSettings(**settings)
    # one sign works with one shift per clip, or with one-sided clips kept
    PlanSettings(offsets=(0.5, 1.0), shifts_per_clip=1)
    PlanSettings(offsets=(0.5, 1.0), one_sided="keep")


def test_a_plan_reads_back_from_json_old_and_new():
    from dataclasses import asdict

    from thud_dataset.planning import ClipPlan

    plan = ClipPlan("c", "test", (-0.5, 0.8), "d", None)
    assert ClipPlan.from_json(asdict(plan)) == plan
    assert ClipPlan.from_json({"clip_id": "c", "partition": "test", "tau": 0.5, "donor_clip_id": "d"}).taus == (0.5,)
    with pytest.raises(ValueError, match="non-zero shift offsets"):
        ClipPlan("c", "test", (), "d")
