"""Materialization helpers against their contracts (issue 20): conforming a donor's audio
to the recipient's rate and layout, event times read as seconds with errors naming the row."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tests.helpers.media import MP3, MP4
from thud_dataset import media
from thud_dataset.materialize import EncodeSettings, MediaCache, clip_error, conform, event_seconds
from thud_dataset.planning import ClipPlan
from thud_dataset.sources.base import Clip, ClipError
from thud_dataset.verify import measure_lag


def test_conform_resamples_and_mixes_keeping_a_tone_a_tone():
    sr_in, sr_out = 8000, 16000
    t = np.arange(sr_in) / sr_in
    stereo = np.stack([np.sin(2 * np.pi * 440 * t), 0.5 * np.sin(2 * np.pi * 440 * t)]).astype(np.float32)
    mono = conform(stereo, sr_in, sr_out, 1)
    assert mono.shape == (1, sr_out) and mono.dtype == np.float32 and mono.flags.c_contiguous
    spectrum = np.abs(np.fft.rfft(mono[0]))
    assert np.argmax(spectrum) == 440  # 1 s at 16 kHz: bin = Hz
    assert np.max(np.abs(mono[0, 1000:-1000])) == pytest.approx(0.75, rel=0.02)  # the mean of the channels
    up = conform(mono, sr_out, sr_out, 2)
    assert up.shape == (2, sr_out) and np.array_equal(up[0], up[1]) and np.array_equal(up[0], mono[0])
    same = conform(stereo, sr_in, sr_in, 2)
    assert np.array_equal(same, stereo)


def test_event_seconds_reads_numbers_and_names_the_row():
    clip = Clip("c", "c.mp4", "e", 1, "s", 2.5, origin="annotations.jsonl:7")
    assert event_seconds(clip, "visual_time") == 1.0 and isinstance(event_seconds(clip, "visual_time"), float)
    assert event_seconds(clip, "audio_time") == 2.5
    object.__setattr__(clip, "audio_time", 10**400)
    with pytest.raises(ClipError, match=r"^annotations\.jsonl:7: audio_time=100000000000…\(401 characters\) is not a usable"):
        event_seconds(clip, "audio_time")
    object.__setattr__(clip, "audio_time", "soon")
    with pytest.raises(ClipError, match=r"^annotations\.jsonl:7: audio_time=soon is not a usable number of seconds$"):
        event_seconds(clip, "audio_time")


def test_clip_error_names_the_row_once():
    clip = Clip("c", "a.mp4", "e", 1, "s", 1, origin="rows.jsonl:2")
    assert str(clip_error(clip, "a.mp4: broken")) == "rows.jsonl:2: a.mp4: broken"
    assert str(clip_error(clip, "rows.jsonl:2: a.mp4: broken")) == "rows.jsonl:2: a.mp4: broken"
    plain = Clip("c", "a.mp4", "e", 1, "s", 1)
    assert str(clip_error(plain, "a.mp4: broken")) == "a.mp4: broken"
    assert str(clip_error(plain, ValueError("bad"))) == "a.mp4: bad"


# -- the media cache's key: everything the files depend on ------------------------------------




def test_the_cache_key_changes_with_every_input_of_the_files(real_clips_dir, tmp_path):
    cache = MediaCache(tmp_path / "cache")
    clip = Clip("c", str(real_clips_dir / MP4), "seen", 2.1, "heard", 2.3, source="local")
    donor = Clip("d", str(real_clips_dir / MP3), "seen", 0.8, "heard", 1.0, source="local")
    plan, settings = ClipPlan("c", "test", -0.8, "d"), EncodeSettings()
    key = cache.key(clip, plan, donor, settings)
    assert key == cache.key(replace(clip), replace(plan), replace(donor), EncodeSettings())  # same inputs
    assert key == cache.key(replace(clip, visual_event="another description"), plan, donor, settings)
    changed = {
        "visual_time": (replace(clip, visual_time=1.5), plan, donor, settings),
        "audio_time": (replace(clip, audio_time=2.0), plan, donor, settings),
        "donor audio_time": (clip, plan, replace(donor, audio_time=0.9), settings),
        "tau": (clip, replace(plan, taus=(0.5,)), donor, settings),
        "a second tau": (clip, replace(plan, taus=(-0.8, 0.5)), donor, settings),
        "donor": (clip, replace(plan, donor_clip_id="e"), donor, settings),
        "gap fill": (clip, plan, donor, EncodeSettings(gap_fill="room_tone")),
        "bit rate": (clip, plan, donor, EncodeSettings(bitrate_per_channel=96_000)),
        "source file": (replace(clip, path=str(real_clips_dir / MP3)), plan, donor, settings),
        "donor file": (clip, plan, replace(donor, path=str(real_clips_dir / MP4)), settings),
    }
    keys = {what: cache.key(*args) for what, args in changed.items()}
    assert key not in keys.values(), [w for w, k in keys.items() if k == key]
    assert len(set(keys.values())) == len(keys)


def test_a_fixed_donor_label_remakes_the_swap(real_clips_dir, tmp_path):
    """The donor's audio_time 1.0 → 0.6: the cached swap is not served; the new one has the
    donor's sound moved by the 0.4 s difference."""
    cache = MediaCache(tmp_path / "cache")
    clip = Clip("c", str(real_clips_dir / MP4), "seen", 2.1, "heard", 2.3, source="local")
    plan = ClipPlan("c", "test", -0.8, "d")
    old = cache.get_or_make(clip, plan, Clip("d", str(real_clips_dir / MP3), "s", 0.8, "h", 1.0), EncodeSettings())
    new = cache.get_or_make(clip, plan, Clip("d", str(real_clips_dir / MP3), "s", 0.8, "h", 0.6), EncodeSettings())
    assert new["swap"].file_name != old["swap"].file_name
    assert new["original"].file_name == old["original"].file_name  # what does not depend on it is shared
    a = media.decode_audio(cache.path(old["swap"].file_name))
    b = media.decode_audio(cache.path(new["swap"].file_name))
    lag = measure_lag(a.samples, b.samples, a.sample_rate, max_lag_s=1.0)
    assert abs(lag / a.sample_rate - 0.4) <= 0.002
