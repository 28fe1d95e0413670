"""Media timing against its definitions, read back with another reader (issue 20).

* :func:`complete_timestamps` derives the decoding times FFmpeg's demuxer would for streams
  stored without them: checked on random reorderings (B-frame patterns) for the properties
  mp4 needs and for the reordering delay of the pattern.
* Every condition's picture is shown at the source's times and its sound starts at the
  timeline origin — read with ``ffprobe``/``ffmpeg``, not with Thud's PyAV code, so a frame
  one packet late (or a shifted audio start) is caught by a second, independent reader.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess

import numpy as np
import pytest

from tests.helpers.media import MP3, MP4, ROAD, WEBM
from thud_dataset.materialize import materialize_clip
from thud_dataset.media import complete_timestamps
from thud_dataset.planning import ClipPlan
from thud_dataset.sources.base import Clip


def b_frame_order(n: int, max_b: int, rng: random.Random) -> list[int]:
    """Presentation indexes in decode order: each anchor before the B-frames it follows."""
    order, i = [], 0
    while i < n:
        b = min(rng.randint(0, max_b), n - 1 - i)
        anchor = i + b
        order.append(anchor)
        order.extend(range(i, anchor))
        i = anchor + 1
    return order


@pytest.mark.parametrize("seed", range(8))
def test_derived_dts_are_increasing_and_never_after_their_pts(seed):
    rng = random.Random(seed)
    n, step = rng.randint(3, 60), rng.choice([1, 512, 1001])
    max_b = rng.randint(0, 3)
    pts = [p * step + 7 * step for p in b_frame_order(n, max_b, rng)]
    out_pts, dts = complete_timestamps(pts, [None] * n, [step] * n)
    assert out_pts == pts
    assert all(a < b for a, b in zip(dts, dts[1:], strict=False)), dts
    assert all(d <= p for d, p in zip(dts, pts, strict=True))
    # the delay is the fewest frames that keep every DTS at or before its PTS: the
    # sorted presentation times, shifted by it
    delay = max(i - sorted(pts).index(p) for i, p in enumerate(pts))
    assert dts[delay:] == sorted(pts)[: n - delay]


def test_complete_timestamps_keep_given_times_and_fill_missing_pts():
    assert complete_timestamps([], [], []) == ([], [])
    assert complete_timestamps([5, 6], [4, 5], [1, 1]) == ([5, 6], [4, 5])
    # missing pts: from the dts, or the previous packet's end
    pts, dts = complete_timestamps([None, None, 40], [10, 20, 30], [10, 10, 10])
    assert (pts, dts) == ([10, 20, 40], [10, 20, 30])
    pts, _ = complete_timestamps([None, 3, None], [None, None, None], [2, 4, None])
    assert pts == [0, 3, 7]


# -- the outputs, read back with the ffmpeg tools (another reader than Thud's PyAV code) --------




needs_ffmpeg = pytest.mark.skipif(not (shutil.which("ffprobe") and shutil.which("ffmpeg")), reason="needs the ffmpeg CLI")

#: (source, visual time, audio time, tau); the donor is ROAD (event at 1.0 s)
SOURCES = {"mp4-h264-first-frame-late": (MP4, 2.05, 2.3, -0.8), "mp4-h264-mp3": (MP3, 0.8, 1.0, 0.5),
           "webm-vp8-transcoded": (WEBM, 0.4, 0.49, 0.3)}  # fmt: skip


def ffprobe(path, what: str, stream: str = "v") -> list[dict]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", stream, "-show_entries", what, "-of", "json", str(path)],
        check=True, capture_output=True, text=True,
    ).stdout
    data = json.loads(out)
    return data.get("packets") or data.get("frames") or []


def start_time(path) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=start_time", "-of", "json", str(path)],
                         check=True, capture_output=True, text=True).stdout  # fmt: skip
    return float(json.loads(out)["format"].get("start_time") or 0.0)


@pytest.fixture(scope="module", params=list(SOURCES))
def made(request, real_clips_dir, tmp_path_factory):
    name, visual, audio, tau = SOURCES[request.param]
    clip = Clip("c", str(real_clips_dir / name), "seen", visual, "heard", audio, source="local")
    donor = Clip("d", str(real_clips_dir / ROAD), "seen", 1.0, "heard", 1.0, source="local")
    out = tmp_path_factory.mktemp(request.param)
    outputs = materialize_clip(clip, ClipPlan("c", "test", tau, "d"), donor, out)
    return request.param, clip, outputs, out


@needs_ffmpeg
def test_every_output_shows_its_frames_at_the_sources_times(made):
    """ffprobe's frame times of every condition equal the source's (on the output
    timeline, which starts at the source's origin): a picture one frame late, early, or
    stretched would move the sound's timing against it."""
    case, clip, outputs, out = made
    origin = start_time(clip.path)
    source = [float(f["pts_time"]) - origin for f in ffprobe(clip.path, "frame=pts_time")]
    assert len(source) > 10
    for condition, o in outputs.items():
        frames = [float(f["pts_time"]) for f in ffprobe(out / o.file_name, "frame=pts_time")]
        assert len(frames) == len(source), (case, condition)
        assert np.allclose(frames, source, atol=2e-6), (case, condition, frames[:3], source[:3])


@needs_ffmpeg
def test_remuxed_outputs_keep_every_packets_timing(made):
    """pts, dts and duration of each video packet (ffprobe) equal the source's."""
    case, clip, outputs, out = made
    if "transcoded" in case:
        pytest.skip("a transcoded video has its own packets (its frame times are checked above)")
    origin = start_time(clip.path)
    keys = ("pts_time", "dts_time", "duration_time")
    source = [tuple(float(p[k]) - (origin if k != "duration_time" else 0) for k in keys)
              for p in ffprobe(clip.path, "packet=" + ",".join(keys))]  # fmt: skip
    for condition, o in outputs.items():
        got = [tuple(float(p[k]) for k in keys) for p in ffprobe(out / o.file_name, "packet=" + ",".join(keys))]
        assert np.allclose(got, source, atol=2e-6), (case, condition)


@needs_ffmpeg
def test_the_audio_starts_at_the_timeline_origin_and_lasts_as_the_source(made):
    """The ffmpeg CLI decodes every condition's audio from t = 0 to the source's length:
    the shifted clip is as long as the original (a shift moves the sound, not the clip)."""
    case, clip, outputs, out = made
    lengths = {}
    for condition, o in outputs.items():
        pcm = subprocess.run(["ffmpeg", "-v", "error", "-i", str(out / o.file_name), "-map", "0:a", "-f", "f32le",
                              "-ac", "1", "-"], check=True, capture_output=True).stdout  # fmt: skip
        lengths[condition] = len(pcm) // 4
        first = ffprobe(out / o.file_name, "packet=pts_time", "a")[0]
        assert float(first["pts_time"]) <= 0.0, (case, condition, first)
    assert len(set(lengths.values())) == 1, lengths
