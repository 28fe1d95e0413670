"""The planner against its contract (issue 20): offsets keep the shifted event inside the
margin, a clip's plan depends only on the seed and its own id, partitions on the id and
the salt, donors come from the same partition and never from the same file."""

from __future__ import annotations

import random

import pytest

from thud_dataset.planning import (
    DEFAULT_OFFSETS,
    PlanSettings,
    partition_of,
    plan_clips,
    usable_offsets,
)
from thud_dataset.sources.base import Clip


def _clip(i, category=None, split=None, path=None, audio_time=1.0):
    return Clip(f"c{i}", path or f"/nonexistent/{i}.mp4", "seen", audio_time, "heard", audio_time,
                category=category, split=split)  # fmt: skip


@pytest.mark.parametrize("seed", range(5))
def test_usable_offsets_are_those_inside_the_margin(seed):
    rng = random.Random(seed)
    for _ in range(200):
        duration = rng.uniform(0.5, 6.0)
        audio_time = rng.uniform(0.0, duration)
        margin = rng.choice([0.0, 0.1, 0.2, 0.5])
        offsets = [rng.choice([-1, 1]) * rng.uniform(0.05, 3.0) for _ in range(rng.randint(1, 6))]
        want = [t for t in offsets if margin <= audio_time + t and audio_time + t <= duration - margin]
        assert usable_offsets(audio_time, duration, offsets, margin) == want


def test_usable_offsets_keep_both_edges_of_the_margin():
    # 1.0 - 0.75 = 0.25 (the lower edge) and 1.0 + 2.75 = 4.0 - 0.25 (the upper edge), exactly
    assert usable_offsets(1.0, 4.0, [-0.75, 2.75, -0.76, 2.76], 0.25) == [-0.75, 2.75]
    assert usable_offsets(1.0, 4.0, [-1.0, 3.0], 0.0) == [-1.0, 3.0]


def test_every_plan_keeps_its_shifted_event_inside_and_draws_from_all_offsets():
    clips = [_clip(i, audio_time=0.5 + (i % 7) * 0.4) for i in range(120)]
    durations = {c.clip_id: 3.5 for c in clips}
    plans, skipped = plan_clips(clips, durations, PlanSettings(seed=2))
    assert not skipped
    by_id = {c.clip_id: c for c in clips}
    seen = set()
    for p in plans:
        for tau in p.taus:
            t = by_id[p.clip_id].audio_time + tau
            assert 0.2 <= t <= 3.5 - 0.2, p
            assert tau in DEFAULT_OFFSETS
            seen.add(tau)
    assert seen == set(DEFAULT_OFFSETS)  # every offset is drawn somewhere
    assert {tau > 0 for p in plans for tau in p.taus} == {True, False}


def test_the_partition_is_a_hash_of_id_and_salt_at_the_asked_fraction():
    clips = [_clip(i) for i in range(2000)]
    for fraction in (0.0, 0.2, 0.5, 1.0):
        test = sum(partition_of(c, fraction) == "test" for c in clips) / len(clips)
        assert abs(test - fraction) < 0.04, (fraction, test)
    a = [partition_of(c, 0.5) for c in clips]
    b = [partition_of(c, 0.5, salt="another-salt") for c in clips]
    assert a == [partition_of(c, 0.5) for c in clips] and a != b
    assert partition_of(_clip(1, split="train"), 1.0) == "train"
    assert partition_of(_clip(1, split="test"), 0.0) == "test"
