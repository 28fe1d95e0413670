"""Source videos made in the tests with PyAV, one per container rule, and decoders to check them.

Each source has a quiet noise floor and one loud, decaying burst (the audio event) at a
known time, so a decoded output shows where the event landed. Pictures are a moving bar
(cheap to encode, different in every frame).
"""

from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

SR = 44100


def event_audio(seconds: float, event_time: float, sr: int = SR, channels: int = 2, seed: int = 0) -> np.ndarray:
    """``(channels, n)`` float32: noise at -50 dBFS and a 60 ms burst starting at ``event_time``."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    x = (rng.standard_normal((channels, n)) * 0.003).astype(np.float32)
    start, length = int(round(event_time * sr)), int(0.06 * sr)
    t = np.arange(length) / sr
    burst = (0.8 * np.exp(-t / 0.015) * rng.standard_normal(length)).astype(np.float32)
    x[:, start : start + length] += burst[: max(0, min(length, n - start))]
    return np.clip(x, -1, 1)


def _frames(count: int, width: int, height: int):
    for i in range(count):
        img = np.full((height, width, 3), 40, np.uint8)
        x = (i * 7) % max(1, width - 8)
        img[:, x : x + 8] = (255, 200, 0)
        yield av.VideoFrame.from_ndarray(img, format="rgb24")


def write_source(
    path: Path,
    *,
    fmt: str,
    vcodec: str,
    acodec: str,
    seconds: float = 2.0,
    fps: int = 25,
    width: int = 160,
    height: int = 120,
    event_time: float = 1.0,
    video_options: dict | None = None,
    audio: np.ndarray | None = None,
    sample_rate: int = SR,
) -> Path:
    """Encode a ``seconds``-long clip with PyAV: ``vcodec`` video, ``acodec`` audio, in ``fmt``.

    The audio is :func:`event_audio` (or ``audio``), stereo at ``sample_rate``. ``video_options``
    go to the video encoder (e.g. ``{"bf": "3"}`` for B-frames).
    """
    sr = sample_rate
    samples = event_audio(seconds, event_time, sr) if audio is None else audio
    with av.open(str(path), "w", format=fmt) as out:
        vs = out.add_stream(vcodec, rate=fps, options=dict(video_options or {}))
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
        aopts = {"strict": "experimental"} if acodec == "vorbis" else {}
        as_ = out.add_stream(acodec, rate=sr, layout="stereo", options=aopts)
        for i, frame in enumerate(_frames(int(round(seconds * fps)), width, height)):
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(vs.encode(frame.reformat(format="yuv420p")))
        out.mux(vs.encode(None))
        ctx = as_.codec_context
        size = ctx.frame_size or 1024
        fmt_name = ctx.codec.audio_formats[0].name if ctx.codec.audio_formats else "fltp"
        resampler = av.AudioResampler(format=fmt_name, layout="stereo", rate=sr, frame_size=size)
        for start in range(0, samples.shape[1], size):
            block = np.ascontiguousarray(samples[:, start : start + size])
            frame = av.AudioFrame.from_ndarray(block, format="fltp", layout="stereo")
            frame.sample_rate, frame.pts, frame.time_base = sr, start, Fraction(1, sr)
            for chunk in resampler.resample(frame):
                out.mux(as_.encode(chunk))
        for chunk in resampler.resample(None):
            out.mux(as_.encode(chunk))
        out.mux(as_.encode(None))
    return path


def write_theora_ogv(path: Path, **kwargs) -> Path:
    """A Theora/Vorbis ``.ogv``: with PyAV when its FFmpeg has a Theora encoder, else the
    same clip made with PyAV and re-encoded by the ``ffmpeg`` CLI (the PyAV wheels ship no
    libtheora); skips the test when neither can encode Theora."""
    if "libtheora" in av.codecs_available:
        return write_source(path, fmt="ogg", vcodec="libtheora", acodec="vorbis", **kwargs)
    if shutil.which("ffmpeg") is None:
        pytest.skip("no Theora encoder: PyAV's FFmpeg has no libtheora and the ffmpeg CLI is missing")
    encoders = subprocess.run(["ffmpeg", "-hide_banner", "-encoders"], capture_output=True, text=True).stdout
    if "libtheora" not in encoders:
        pytest.skip("no Theora encoder: neither PyAV's FFmpeg nor the ffmpeg CLI has libtheora")
    plain = path.with_suffix(".src.mkv")
    write_source(plain, fmt="matroska", vcodec="mpeg4", acodec="flac", video_options={"qscale": "2"}, **kwargs)
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(plain), "-c:v", "libtheora", "-q:v", "7",
         "-c:a", "libvorbis", "-f", "ogg", str(path)],
        check=True,
    )
    return path


def write_mpeg1(src: Path, dst: Path, seconds: float = 3.0) -> Path:
    """Transcode ``src`` to an MPEG-1 program stream (mpeg1video + mp2) with PyAV: a source
    whose timeline starts near 0.5 s, as .mpg files do."""
    with av.open(str(src)) as inp, av.open(str(dst), "w", format="mpeg") as out:
        vin, ain = inp.streams.video[0], inp.streams.audio[0]
        vs = out.add_stream("mpeg1video", rate=25)
        vs.width, vs.height, vs.pix_fmt = 320, 240, "yuv420p"
        as_ = out.add_stream("mp2", rate=44100, layout="stereo")
        for i, frame in enumerate(inp.decode(vin)):
            if frame.time > seconds:
                break
            f = frame.reformat(width=320, height=240, format="yuv420p")
            f.pts, f.time_base = i, Fraction(1, 25)
            out.mux(vs.encode(f))
        out.mux(vs.encode(None))
        inp.seek(0)
        # mp2 takes s16 frames of 1152 samples
        resampler = av.AudioResampler(format="s16", layout="stereo", rate=44100, frame_size=1152)
        for frame in inp.decode(ain):
            if frame.time > seconds:
                break
            for chunk in resampler.resample(frame):
                out.mux(as_.encode(chunk))
        out.mux(as_.encode(None))
    return dst


def ffmpeg_pcm(path: Path) -> np.ndarray:
    """The file's first audio stream decoded by the ``ffmpeg`` CLI, mono float32.

    ``aresample=async=1:first_pts=0`` pads by the timestamps, so sample 0 is t = 0 as a
    player hears it.
    """
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:a:0", "-af", "aresample=async=1:first_pts=0",
         "-ac", "1", "-f", "f32le", "-"],
        check=True, capture_output=True,
    ).stdout
    return np.frombuffer(raw, np.float32)


def audio_packets(path: Path) -> list[bytes]:
    """The audio stream's packet payloads, in order, without decoding."""
    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(c.streams.audio[0]) if p.size]
