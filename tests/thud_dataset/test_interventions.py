"""The interventions and the planner, on arrays (the files are checked in test_media/test_builder)."""

from __future__ import annotations

import numpy as np
import pytest

from thud_dataset.interventions import mute, shift, swap
from thud_dataset.planning import PlanSettings, partition_of, plan_clips, usable_offsets
from thud_dataset.sources.base import Clip, ClipError
from thud_dataset.vocab import gold_label


def impulse(n=1000, at=300, channels=2):
    x = np.zeros((channels, n), np.float32)
    x[:, at] = 1.0
    return x


@pytest.mark.parametrize("tau,expected", [(0.05, 350), (-0.2, 100), (0.0, 300)])
def test_shift_moves_the_event_by_tau_and_keeps_length(tau, expected):
    out = shift(impulse(), 1000, tau)
    assert out.shape == (2, 1000)
    assert np.flatnonzero(out[0]).tolist() == [expected]
    assert np.array_equal(out[0], out[1])


def test_shift_fills_with_silence_and_sign_convention():
    x = np.arange(1, 11, dtype=np.float64)
    assert shift(x, 10, 0.3).tolist() == [0, 0, 0, 1, 2, 3, 4, 5, 6, 7]  # tau > 0: delayed
    assert shift(x, 10, -0.3).tolist() == [4, 5, 6, 7, 8, 9, 10, 0, 0, 0]  # tau < 0: early
    assert gold_label("shift", 0.3) == "delayed" and gold_label("shift", -0.3) == "early"


def test_shift_refuses_offsets_longer_than_the_audio():
    with pytest.raises(ValueError, match="whole signal would leave the clip"):
        shift(impulse(100, 10), 100, 1.5)
    with pytest.raises(ValueError, match="finite"):
        shift(impulse(), 1000, float("nan"))
    with pytest.raises(ValueError, match="sample_rate"):
        shift(impulse(), 0, 0.1)
    with pytest.raises(TypeError, match="floating point"):
        shift(np.zeros(10, np.int16), 10, 0.1)


def test_mute_is_digital_silence_of_the_same_shape():
    x = np.random.default_rng(0).standard_normal((2, 500)).astype(np.float32)
    out = mute(x)
    assert out.shape == x.shape and out.dtype == x.dtype and not out.any()


def test_swap_places_the_donor_event_at_the_target_and_matches_length():
    donor = impulse(n=800, at=200, channels=1)
    out = swap(donor, num_samples=1000, sample_rate=1000, donor_event_time=0.2, target_time=0.7)
    assert out.shape == (1, 1000)
    assert np.flatnonzero(out[0]).tolist() == [700]
    longer = swap(impulse(5000, 4000, 1), 1000, 1000, donor_event_time=4.0, target_time=0.1)
    assert np.flatnonzero(longer[0]).tolist() == [100]
    with pytest.raises(ValueError, match="outside the donor"):
        swap(donor, 1000, 1000, donor_event_time=0.9, target_time=0.5)


def _clip(i, t=1.0, category="wood", split=None):
    return Clip(f"c{i}", f"/x/c{i}.mp4", "falls", t, "thud", t, category=category, split=split)


def test_planner_is_seeded_per_clip_and_respects_the_margin():
    clips = [_clip(i, t=0.5 + 0.25 * i, category="ab"[i % 2]) for i in range(12)]
    durations = {c.clip_id: 4.0 for c in clips}
    settings = PlanSettings(seed=3, test_fraction=0.5)
    plans, skipped = plan_clips(clips, durations, settings)
    assert not skipped
    by_id = {c.clip_id: c for c in clips}
    for p in plans:
        for tau in p.taus:
            t = by_id[p.clip_id].audio_time + tau
            assert settings.margin_s <= t <= 4.0 - settings.margin_s
        donor = by_id[p.donor_clip_id]
        assert donor.clip_id != p.clip_id
        assert donor.category != by_id[p.clip_id].category  # another category exists
        assert partition_of(donor, 0.5) == p.partition
    # adding clips and reordering does not change the others' plans
    more, _ = plan_clips(list(reversed(clips)) + [_clip(99)], {**durations, "c99": 4.0}, settings)
    assert {p.clip_id: p.taus for p in plans} == {p.clip_id: p.taus for p in more if p.clip_id != "c99"}
    other, _ = plan_clips(clips, durations, PlanSettings(seed=4))
    assert [p.taus for p in other] != [p.taus for p in plans]


def test_planner_refuses_clips_too_short_for_any_offset():
    clips = [_clip(0, t=0.3), _clip(1, t=1.0), _clip(2, t=1.0)]
    durations = {"c0": 0.6, "c1": 4.0, "c2": 4.0}
    plans, skipped = plan_clips(clips, durations, PlanSettings(test_fraction=1.0))
    assert [p.clip_id for p in plans] == ["c1", "c2"]
    assert len(skipped) == 1 and skipped[0].clip_id == "c0"
    assert "too short" in skipped[0].reason and "0.600 s" in skipped[0].reason


def test_usable_offsets_and_partition_are_deterministic():
    assert usable_offsets(3.8, 4.0, [-1.0, 0.5], 0.2) == [-1.0]
    c = _clip(5)
    assert partition_of(c, 0.5) == partition_of(c, 0.5)
    assert partition_of(_clip(5, split="train"), 0.5) == "train"


def test_bad_labels_and_settings_are_refused_with_clear_messages():
    with pytest.raises(ClipError, match="visual_time is -1"):
        Clip("a", "a.mp4", "x", -1.0, "y", 1.0, origin="annotations.jsonl:3")
    with pytest.raises(ClipError, match="annotations.jsonl:4: audio_time is nan"):
        Clip("a", "a.mp4", "x", 1.0, "y", float("nan"), origin="annotations.jsonl:4")
    with pytest.raises(ValueError, match="non-zero"):
        PlanSettings(offsets=(0.0, 0.5))
    with pytest.raises(ValueError, match="test_fraction"):
        PlanSettings(test_fraction=1.5)


def test_room_tone_imitates_the_quietest_stretch_and_is_seeded():
    from thud_dataset.interventions import room_tone

    rng = np.random.default_rng(0)
    x = (rng.standard_normal((2, 16000)) * 0.003).astype(np.float32)
    x[:, 8000:8400] += np.sin(np.arange(400) * 0.3).astype(np.float32)  # an event
    tone = room_tone(x, 16000, 32000, seed=5)
    assert tone.shape == (2, 32000) and tone.dtype == np.float32
    assert np.std(tone) == pytest.approx(0.003, rel=0.2)
    assert np.array_equal(tone, room_tone(x, 16000, 32000, seed=5))
    assert not np.array_equal(tone, room_tone(x, 16000, 32000, seed=6))
    silent = np.zeros((1, 16000), np.float32)
    silent[0, 2000] = 1.0
    assert not room_tone(silent, 16000, 1000, seed=0).any()  # digital silence stays silence


def test_shift_and_swap_fill_their_gaps_with_room_tone_when_asked():
    from thud_dataset.interventions import room_tone

    x = impulse(channels=1)
    fill = room_tone(np.random.default_rng(1).normal(0, 0.01, (1, 1000)).astype(np.float32), 1000, 1000, seed=0)
    out = shift(x, 1000, 0.1, fill=fill)
    assert np.array_equal(out[:, :100], fill[:, :100])  # the gap holds the fill
    assert out[0, 400] == 1.0 and np.array_equal(out[:, 100:400], x[:, :300])
    sw = swap(impulse(200, 50, 1), 1000, 1000, donor_event_time=0.05, target_time=0.5, fill=fill)
    assert sw[0, 500] == 1.0 and np.array_equal(sw[:, :450], fill[:, :450])
    with pytest.raises(ValueError, match="fill must have"):
        shift(x, 1000, 0.1, fill=fill[:, :10])


def test_a_partition_with_one_clip_has_no_donor_and_says_how_to_fix_it():
    clips = [_clip(0, split="train"), _clip(1, split="test"), _clip(2, split="test")]
    plans, skipped = plan_clips(clips, {c.clip_id: 4.0 for c in clips}, PlanSettings())
    assert sorted(p.clip_id for p in plans) == ["c1", "c2"]
    assert [s.clip_id for s in skipped] == ["c0"]
    assert "no donor" in skipped[0].reason and "'split'" in skipped[0].reason
