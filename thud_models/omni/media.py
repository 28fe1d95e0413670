"""Decode a dataset row's video into model inputs with PyAV: sampled frames and 16 kHz audio.

Rows store the video as ``{"bytes", "path"}`` (``datasets.Video(decode=False)``); the audio
the model must listen to is the video's own audio track (for a probe, the intervened one).
Frames are resized while decoding to a size the Qwen vision towers accept (multiples of
``patch * merge`` = 28 px), so no image library or torchvision is involved. Audio is mixed to
mono, resampled and placed on the video's timeline: a sample at ``t`` seconds of the audio
array is heard ``t`` seconds after the first video frame, as in a player.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import Any

import av
import numpy as np

SAMPLING_RATE = 16000


@dataclass(frozen=True)
class DecodedClip:
    """Frames (``T×H×W×3`` uint8), mono float32 audio and the clip duration in seconds."""

    frames: np.ndarray
    audio: np.ndarray
    duration: float
    fps: float


def _source(video: Any) -> Any:
    """A path or a binary file for ``av.open`` from a row's video value."""
    if isinstance(video, dict):
        if video.get("bytes"):
            return io.BytesIO(video["bytes"])
        if video.get("path"):
            return video["path"]
        raise ValueError("video value has neither bytes nor path")
    if isinstance(video, (bytes, bytearray)):
        return io.BytesIO(bytes(video))
    if isinstance(video, (str, os.PathLike)):
        return os.fspath(video)
    raise TypeError(f"cannot read a video from {type(video).__name__}")


def _name(video: Any) -> str:
    if isinstance(video, dict):
        return str(video.get("path") or "<bytes>")
    return str(video) if isinstance(video, (str, os.PathLike)) else "<bytes>"


def smart_resize(
    height: int, width: int, factor: int = 28, min_pixels: int = 56 * 56, max_pixels: int = 448 * 448
) -> tuple[int, int]:
    """Qwen2-VL's resize rule (transformers' own ``smart_resize``): multiples of ``factor``,
    area within the pixel bounds, aspect kept. Only the default bounds are Thud's."""
    # the PIL image processor's module: the same function without torchvision
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        smart_resize as qwen_smart_resize,
    )

    return qwen_smart_resize(height, width, factor=factor, min_pixels=min_pixels, max_pixels=max_pixels)


def _duration(container: Any, name: str) -> float:
    if not container.streams.video:
        raise ValueError(f"{name}: no video stream")
    stream = container.streams.video[0]
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    raise ValueError(f"{name}: the container states no duration")


def probe_duration(video: Any) -> float:
    """Duration of the video stream in seconds (read from the container, nothing decoded)."""
    with av.open(_source(video)) as container:
        return _duration(container, _name(video))


def probe_geometry(video: Any) -> tuple[float, int, int]:
    """``(duration in s, height, width)`` of the video stream, from the headers only."""
    with av.open(_source(video)) as container:
        duration = _duration(container, _name(video))
        ctx = container.streams.video[0].codec_context
        return duration, int(ctx.height), int(ctx.width)


def frame_count(duration: float, fps: float, max_frames: int, temporal_patch: int = 2) -> int:
    """Frames to sample: ``duration * fps``, at most ``max_frames``, a multiple of the temporal patch."""
    n = min(max_frames, max(temporal_patch, round(duration * fps)))
    return max(temporal_patch, n - n % temporal_patch)


def decode_clip(
    video: Any,
    *,
    num_frames: int,
    min_pixels: int = 56 * 56,
    max_pixels: int = 448 * 448,
    factor: int = 28,
    sampling_rate: int = SAMPLING_RATE,
) -> DecodedClip:
    """``num_frames`` frames at evenly spaced times and the whole audio track of ``video``.

    Frame ``i`` is the one shown at ``(i + 0.5) * duration / num_frames``. A clip without an
    audio stream gets silence of the clip's length (never an error: a muted probe must still
    reach the model as audio).
    """
    name = _name(video)
    duration = probe_duration(video)
    if duration <= 0:
        raise ValueError(f"{name}: duration is {duration} s")
    targets = [(i + 0.5) * duration / num_frames for i in range(num_frames)]
    frames: list[np.ndarray] = []
    chunks: list[np.ndarray] = []
    with av.open(_source(video)) as container:
        vstream = container.streams.video[0]
        size = smart_resize(
            vstream.codec_context.height, vstream.codec_context.width, factor, min_pixels, max_pixels
        )
        v_start = float(vstream.start_time * vstream.time_base) if vstream.start_time else 0.0
        prev = None
        for frame in container.decode(video=0):
            t = float(frame.pts * frame.time_base) - v_start if frame.pts is not None else 0.0
            # the frame on screen at a target time is the last one that started before it
            while len(frames) < num_frames and t > targets[len(frames)] and prev is not None:
                frames.append(prev)
            prev = frame.to_ndarray(format="rgb24", width=size[1], height=size[0])
            if len(frames) == num_frames:
                break
        if prev is None:
            raise ValueError(f"{name}: no video frame could be decoded")
        frames += [prev] * (num_frames - len(frames))

    with av.open(_source(video)) as container:
        a_start = None
        if container.streams.audio:
            resampler = av.AudioResampler(format="flt", layout="mono", rate=sampling_rate)
            for frame in container.decode(audio=0):
                if a_start is None and frame.pts is not None:
                    a_start = float(frame.pts * frame.time_base) - v_start
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
    audio = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    lead = round((a_start or 0.0) * sampling_rate)
    audio = np.pad(audio, (lead, 0)) if lead > 0 else audio[-lead:]
    length = round(duration * sampling_rate)
    audio = np.pad(audio[:length], (0, max(0, length - len(audio))))
    return DecodedClip(np.stack(frames), audio, duration, num_frames / duration)
