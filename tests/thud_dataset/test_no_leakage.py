"""The no-leakage rule, measured (issue 20): nothing but the sound tells a clip's conditions apart.

* Every condition's audio went through the same encoder settings: the settings each encoder
  was opened with are recorded per condition and equal, and — AAC being bit-exact here —
  each output's audio packets are byte for byte a default-settings encode of that
  condition's intervention, computed independently below.
* The container shows nothing else: metadata (keys and values), stream layout, time bases,
  durations, extradata, packet timing and the video packets are equal across conditions.
* The names any consumer sees — the files, the parquet ``path`` field, the files
  ``video_file`` hands to models — are content hashes: nothing of the condition.
* The swap puts the donor's event at the recipient's *visual* time, on sources whose
  visual and audio times differ.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from tests.helpers.containers import audio_packets, write_source
from tests.helpers.media import MP3, MP4, WEBM
from thud_dataset import media
from thud_dataset.interventions import shift, swap
from thud_dataset.materialize import conform, materialize_clip
from thud_dataset.planning import ClipPlan
from thud_dataset.sources.base import Clip
from thud_dataset.verify import container_facts, measure_lag, onset_time
from thud_dataset.video_files import video_file
from thud_dataset.vocab import CONDITIONS

NAME = re.compile(r"[0-9a-f]{24}\.mp4")
#: (case, recipient file, visual time, audio time, tau, donor file, donor visual, donor audio)
CASES = {
    "mp4": (MP4, 2.05, 2.3, -0.8, MP3, 0.8, 1.0),
    "webm-transcoded": (WEBM, 0.4, 0.49, 0.3, MP4, 2.05, 2.3),
}


@pytest.fixture(scope="module", params=list(CASES))
def made(request, real_clips_dir, tmp_path_factory):
    name, visual, audio, tau, donor_name, donor_visual, donor_audio = CASES[request.param]
    clip = Clip("c", str(real_clips_dir / name), "seen", visual, "heard", audio, source="local")
    donor = Clip("d", str(real_clips_dir / donor_name), "seen", donor_visual, "heard", donor_audio, source="local")
    out = tmp_path_factory.mktemp(request.param)
    outputs = materialize_clip(clip, ClipPlan("c", "test", tau, "d"), donor, out)
    return clip, donor, tau, outputs, out


def test_every_condition_was_encoded_with_the_same_settings(made):
    *_, outputs, _ = made
    settings = {o.audio_encoder for o in outputs.values()}
    assert len(settings) == 1, settings
    (recorded,) = settings
    assert recorded.startswith("aac 44100 Hz stereo") and "128000 b/s" in recorded  # 64 kb/s per channel


def test_each_conditions_audio_is_a_default_encode_of_its_intervention(made):
    clip, donor, tau, outputs, out = made
    source = media.decode_audio(clip.path)
    x, sr = source.samples, source.sample_rate
    d = media.decode_audio(donor.path)
    donor_x = conform(d.samples, d.sample_rate, sr, x.shape[0])
    expected = {
        "original": x,
        "shift/0": shift(x, sr, tau),
        "mute": np.zeros_like(x),
        "swap": swap(donor_x, x.shape[1], sr, donor.audio_time, clip.visual_time),
    }
    for condition, samples in expected.items():
        reference = [p[3] for p in media.encode_audio(samples, sr).packets]
        assert audio_packets(out / outputs[condition].file_name) == reference, condition


def test_the_container_shows_nothing_but_the_sound(made):
    *_, outputs, out = made
    facts = {o.condition: container_facts(out / o.file_name) for o in outputs.values()}
    assert set(facts) == set(CONDITIONS)
    for condition in CONDITIONS:
        assert facts[condition] == facts["original"], condition
    assert facts["original"]["format"].startswith("mov,mp4")


def test_file_names_are_content_hashes(made):
    *_, outputs, out = made
    names = [o.file_name for o in outputs.values()]
    assert len(set(names)) == 4
    for name in names:
        assert NAME.fullmatch(name), name
        assert hashlib.sha256((out / name).read_bytes()).hexdigest()[:24] == name[:24]


def test_the_built_datasets_paths_carry_nothing_of_the_condition(synthetic_build, tmp_path):
    out, _ = synthetic_build
    files = sorted((out / "data" / "probes").rglob("*.parquet"))
    assert files
    seen = 0
    for file in files:
        for row in pq.read_table(file, columns=["condition", "video"]).to_pylist():
            video = row["video"]
            assert NAME.fullmatch(video["path"]), video["path"]
            assert hashlib.sha256(video["bytes"]).hexdigest()[:24] == video["path"][:24]
            # the file a model is handed: the same opaque name
            assert Path(video_file(video, tmp_path)).name == video["path"]
            seen += 1
    assert seen >= 8


def test_swap_puts_the_donors_event_at_the_recipients_visual_time(tmp_path):
    """The recipient's picture event (1.1 s) comes well before its sound (1.6 s); the swap
    must put the donor's sound at 1.1 s — at 1.6 s it would test timing, not consistency."""
    recipient = write_source(tmp_path / "r.mkv", fmt="matroska", vcodec="mpeg4", acodec="flac", seconds=3.0, event_time=1.6)
    donor_path = write_source(tmp_path / "d.mkv", fmt="matroska", vcodec="mpeg4", acodec="flac", seconds=2.0, event_time=0.7)
    clip = Clip("r", str(recipient), "seen", 1.1, "heard", 1.6, source="local")
    donor = Clip("d", str(donor_path), "seen", 0.5, "heard", 0.7, source="local")
    outputs = materialize_clip(clip, ClipPlan("r", "test", 0.5, "d"), donor, tmp_path / "out")
    assert outputs["swap"].edited_audio_time == 1.1
    swapped = media.decode_audio(tmp_path / "out" / outputs["swap"].file_name)
    sr = swapped.sample_rate
    assert abs(onset_time(swapped.samples, sr) - 1.1) < 0.01
    d = media.decode_audio(donor_path)
    lag = measure_lag(d.samples, swapped.samples, sr, max_lag_s=2.0)
    assert abs(lag / sr - (1.1 - 0.7)) <= 0.001
