"""Thud's fast paths do the same work as the slow ones, and as the ffmpeg command line.

* The ffmpeg-CLI pipeline of ``bench/materialize.py`` (the benchmark's peer) and
  :func:`materialize_clip` put the event at the same sample (within 1 ms) in every
  condition, with the same video packets — so the benchmark compares equal work.
* The shared-work shortcuts are byte-exact: the silent track assembled from a learnt
  pattern equals a real encode of zeros, and :func:`media.read_source` (one open) equals
  ``probe`` + ``decode_audio`` + ``read_video_packets``.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from thud_dataset import materialize as tm
from thud_dataset import media
from thud_dataset.materialize import EncodeSettings, conform, materialize_clip
from thud_dataset.planning import ClipPlan
from thud_dataset.sources.base import Clip
from thud_dataset.verify import measure_lag, video_packets

BENCH = Path(__file__).resolve().parents[2] / "bench" / "materialize.py"
# (recipient, its event time, tau, donor, the donor's event time): an mp4 whose first video
# frame is at 33 ms, and a webm (VP8 + Vorbis → mp4 + AAC, the video transcoded once) whose
# audio starts at 3 ms
CASES = [
    ("openmpf__openmpf__video_01.mp4", 2.3, -0.8, "Zulko__moviepy__example3.mp4", 1.0),
    ("Zulko__moviepy__big_buck_bunny_432_433.webm", 0.49, 0.3, "openmpf__openmpf__video_01.mp4", 2.3),
]


def _bench():
    """``bench/materialize.py`` (not a package: loaded from its file)."""
    if "thud_bench_materialize" in sys.modules:
        return sys.modules["thud_bench_materialize"]
    spec = importlib.util.spec_from_file_location("thud_bench_materialize", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _clip(folder: Path, name: str, t: float) -> Clip:
    return Clip(name.split(".")[0], str(folder / name), "event", t, "sound", t, source="local")


def _lag(reference: np.ndarray, path: Path, sr: int) -> int:
    out = media.decode_audio(path).samples
    return measure_lag(reference, out, sr, max_lag_s=max(reference.shape[1], out.shape[1]) / sr)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="the ffmpeg CLI is not installed")
@pytest.mark.parametrize("case", CASES, ids=lambda c: c[0].split("__")[-1])
def test_ffmpeg_cli_pipeline_and_thud_hear_the_event_at_the_same_sample(real_clips_dir, tmp_path, case):
    name, t, tau, donor_name, donor_t = case
    bench = _bench()
    clip, donor = _clip(real_clips_dir, name, t), _clip(real_clips_dir, donor_name, donor_t)
    plan = ClipPlan(clip.clip_id, "test", tau, donor.clip_id)
    # one offset: one output per condition, keyed by it as the bench's commands are
    thud = {o.condition: tmp_path / "thud" / o.file_name for o in materialize_clip(clip, plan, donor, tmp_path / "thud").values()}
    infos = {c.path: media.probe(c.path) for c in (clip, donor)}
    (tmp_path / "cli").mkdir()
    cli = {}
    for condition, cmd in bench.ffmpeg_commands(bench.Job(clip, plan, donor), infos, tmp_path / "cli").items():
        subprocess.run(cmd, check=True)
        cli[condition] = Path(cmd[-1])

    src = media.decode_audio(clip.path)
    sr = src.sample_rate
    d = media.decode_audio(donor.path)
    donor_x = conform(d.samples, d.sample_rate, sr, src.samples.shape[0])
    expected = {
        "original": (src.samples, 0),
        "shift": (src.samples, round(tau * sr)),
        "swap": (donor_x, round(t * sr) - round(donor_t * sr)),
    }
    for condition, (reference, want) in expected.items():
        lag_thud, lag_cli = _lag(reference, thud[condition], sr), _lag(reference, cli[condition], sr)
        assert abs(lag_thud - want) <= sr // 1000, (condition, lag_thud, want)
        assert abs(lag_cli - lag_thud) <= sr // 1000, (condition, lag_cli, lag_thud)
    for path in (thud["mute"], cli["mute"]):
        assert np.max(np.abs(media.decode_audio(path).samples)) == 0.0
    if media.probe(clip.path).video_transcoded:
        # each pipeline transcodes once: its four outputs share those packets
        for outputs in (thud, cli):
            shared = video_packets(outputs["original"])
            assert all(video_packets(outputs[c]) == shared for c in expected.keys() | {"mute"})
    else:
        source_video = video_packets(clip.path)
        for condition in expected.keys() | {"mute"}:
            assert video_packets(thud[condition]) == source_video == video_packets(cli[condition]), condition


@pytest.mark.parametrize("rate, channels", [(16000, 1), (44100, 2), (48000, 2)])
def test_the_silent_track_from_the_pattern_is_a_real_encode_byte_for_byte(rate, channels):
    settings = EncodeSettings()
    tm._silence_pattern.cache_clear()
    assert tm._silence_pattern(channels, rate, settings) is not None  # AAC follows the pattern
    rng = np.random.default_rng(7)
    for n in [1, 1023, 1024, 1025, 4096, *rng.integers(1, 30 * rate, size=3).tolist()]:
        direct = tm._encode(np.zeros((channels, n), np.float32), rate, settings)
        assert tm._silent_track(n, channels, rate, settings) == direct, n


def test_codecs_without_the_pattern_are_encoded_directly():
    flac = EncodeSettings(codec="flac")
    tm._silence_pattern.cache_clear()
    assert tm._silence_pattern(2, 44100, flac) is None  # FLAC numbers its frames
    direct = tm._encode(np.zeros((2, 5000), np.float32), 44100, flac)
    assert tm._silent_track(5000, 2, 44100, flac) == direct


@pytest.mark.parametrize("name", [c[0] for c in CASES] + ["Zulko__moviepy__example3.mp4"])
def test_read_source_is_probe_decode_and_demux_in_one_open(real_clips_dir, name):
    path = real_clips_dir / name
    info = media.probe(path)
    audio = media.decode_audio(path, info)
    with media.read_source(path) as source, media.read_video_packets(path, info) as video:
        assert source.info == info
        assert source.audio.sample_rate == audio.sample_rate and source.audio.layout == audio.layout
        assert np.array_equal(source.audio.samples, audio.samples)
        assert [bytes(p) for p in source.video.packets] == [bytes(p) for p in video.packets]
        assert [(p.pts, p.dts) for p in source.video.packets] == [(p.pts, p.dts) for p in video.packets]
    same_open = media.probe_and_decode(path)
    assert same_open[0] == info and np.array_equal(same_open[1].samples, audio.samples)
