"""Decoding rows for the model: the audio it hears is the intervened audio, frames are timed."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from thud_dataset.hub.load import load_config
from thud_models.omni.media import (
    SAMPLING_RATE,
    decode_clip,
    frame_count,
    probe_duration,
    smart_resize,
)


def onset(audio: np.ndarray) -> float:
    """Seconds to the first sample above 30 % of the peak."""
    a = np.abs(audio)
    return float(np.argmax(a > 0.3 * a.max())) / SAMPLING_RATE


@pytest.mark.parametrize("split", ["original", "shift", "mute", "swap"])
def test_decoded_audio_is_the_probe_audio(train_build, split):
    probes = load_config(train_build, "probes", split=split)
    for row in probes.select(range(min(3, len(probes)))):
        clip = decode_clip(row["video"], num_frames=4, max_pixels=56 * 84)
        assert len(clip.audio) == round(row["duration_s"] * SAMPLING_RATE)
        assert clip.audio.dtype == np.float32
        t, h, w, c = clip.frames.shape
        assert (t, c) == (4, 3) and h % 28 == 0 and w % 28 == 0 and h * w <= 56 * 84
        if split == "mute":
            assert np.abs(clip.audio).max() == 0.0  # silence, but an audio array all the same
        else:
            # where the model hears the event: the edited time, to a few samples
            assert onset(clip.audio) == pytest.approx(row["edited_audio_time"], abs=0.005)


def _counter_video(path: str, seconds: float = 2.0, fps: int = 30) -> None:
    """A video whose frame ``i`` has grey level ``4 * i``, with a click at 1.0 s."""
    with av.open(path, "w") as out:
        v = out.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = 112, 84, "yuv420p"
        v.options = {"qp": "0"}
        a = out.add_stream("aac", rate=48000)
        a.layout = "mono"
        for i in range(int(seconds * fps)):
            img = np.full((84, 112, 3), 4 * i, dtype=np.uint8)
            out.mux(v.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        out.mux(v.encode())
        samples = np.zeros(int(seconds * 48000), dtype=np.float32)
        samples[48000 : 48000 + 240] = 0.8
        for start in range(0, len(samples), 1024):
            chunk = samples[start : start + 1024].reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
            frame.sample_rate, frame.pts = 48000, start
            out.mux(a.encode(frame))
        out.mux(a.encode())


def test_frames_are_the_ones_on_screen_at_their_times(tmp_path):
    path = str(tmp_path / "counter.mp4")
    _counter_video(path)
    clip = decode_clip({"bytes": Path(path).read_bytes(), "path": "counter.mp4"}, num_frames=4)
    # frame i is shown at (i + 0.5) * 2.0 / 4 s: 0.25, 0.75, 1.25, 1.75 s -> frames 7, 22, 37, 52
    levels = clip.frames.reshape(4, -1).mean(axis=1)
    assert levels == pytest.approx([4 * 7, 4 * 22, 4 * 37, 4 * 52], abs=2)
    assert clip.frames.shape[1:] == (84, 112, 3)
    assert onset(clip.audio) == pytest.approx(1.0, abs=0.002)


def test_real_clips_decode(real_clips_dir):
    for name in ("Zulko__moviepy__big_buck_bunny_432_433.webm", "Zulko__moviepy__example3.mp4"):
        path = str(real_clips_dir / name)
        duration = probe_duration(path)  # the webm states no stream duration
        clip = decode_clip(path, num_frames=frame_count(duration, 2.0, 8), max_pixels=84 * 140)
        assert len(clip.audio) == round(duration * SAMPLING_RATE)
        assert np.abs(clip.audio).max() > 0.01
        t, h, w, _ = clip.frames.shape
        assert t % 2 == 0 and w > h  # landscape sources stay landscape


def test_sizes_and_counts():
    assert smart_resize(168, 224, max_pixels=56 * 84) == (56, 56)
    assert smart_resize(480, 854, max_pixels=84 * 140) == (56, 140)
    assert smart_resize(10, 10) == (56, 56)  # up to min_pixels
    assert frame_count(4.0, 2.0, 16) == 8
    assert frame_count(4.0, 2.0, 5) == 4  # capped, kept a multiple of the temporal patch
    assert frame_count(0.2, 2.0, 16) == 2
    with pytest.raises(ValueError, match="no video stream"):
        probe_duration({"bytes": _audio_only(), "path": "a.m4a"})


def _audio_only() -> bytes:
    import io

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        a = out.add_stream("aac", rate=16000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 16000, 0
        out.mux(a.encode(frame))
        out.mux(a.encode())
    return buf.getvalue()
