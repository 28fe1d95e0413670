"""The planner's donors: never the same recording, stable when a clip drops out."""

from __future__ import annotations

import os

import pytest

from thud_dataset.planning import PlanSettings, plan_clips, source_identity
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
