"""Turn a planned clip into its four media files: a pure function of (clip, plan, settings).

:func:`scan_clip` checks a source (readable, has sound, not silent, labels inside it) and
:func:`materialize_clip` makes the original / shift / mute / swap files: the clip's audio
is decoded once, every condition is made from that one array, each is encoded the same way,
and the video packets are remuxed untouched. :class:`MediaCache` keeps results on disk so
the four splits of a build (and rebuilds) reuse them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import librosa
import numpy as np

from . import media
from .interventions import mute, shift, swap
from .planning import ClipPlan
from .sources.base import Clip, ClipError

#: bump when the bytes an unchanged input produces would change
MEDIA_VERSION = "1"
#: a source whose peak stays below this is treated as silent: it has no sound to probe
SILENCE_PEAK_DBFS = -60.0


@dataclass(frozen=True)
class ClipScan:
    """What the build needs to know about a source before planning."""

    clip_id: str
    duration: float
    sample_rate: int
    channels: int
    peak_dbfs: float


def _dbfs(x: float) -> float:
    return float(20 * np.log10(max(x, 1e-12)))


def scan_clip(clip: Clip) -> ClipScan:
    """Probe and decode a source; raise :class:`ClipError` naming it if it cannot be used."""
    where = clip.origin or clip.path
    try:
        info = media.probe(clip.path)
        if info.audio is None:
            raise ClipError(f"{where}: {clip.path}: no audio stream (Thud needs the clip's sound)")
        audio = media.decode_audio(clip.path, info)
    except media.MediaError as e:
        raise ClipError(f"{where}: {e}") from e
    duration = info.duration
    for name in ("visual_time", "audio_time"):
        t = getattr(clip, name)
        if t > duration:
            raise ClipError(f"{where}: {name}={t} s is after the end of the clip ({duration:.3f} s)")
    peak = float(np.max(np.abs(audio.samples))) if audio.samples.size else 0.0
    if _dbfs(peak) < SILENCE_PEAK_DBFS:
        raise ClipError(
            f"{where}: {clip.path}: the audio is silent (peak {_dbfs(peak):.1f} dBFS); "
            "a clip needs an audible event"
        )
    return ClipScan(clip.clip_id, duration, audio.sample_rate, audio.samples.shape[0], _dbfs(peak))


@dataclass(frozen=True)
class EncodeSettings:
    """The audio encode of every condition: ``codec`` for mp4 outputs, FLAC for Matroska."""

    codec: str = media.DEFAULT_AUDIO_CODEC
    bitrate_per_channel: int = media.DEFAULT_BITRATE_PER_CHANNEL

    def for_container(self, output_format: str) -> EncodeSettings:
        if output_format == "mp4":
            return self
        return EncodeSettings(media.MATROSKA_AUDIO_CODEC, self.bitrate_per_channel)


@dataclass(frozen=True)
class ConditionOutput:
    """One materialized condition of a clip."""

    condition: str
    file_name: str  # content hash + extension
    offset_s: float
    donor_clip_id: str | None
    edited_audio_time: float | None  # where the audio event is in the edited audio


def conform(samples: np.ndarray, sample_rate: int, target_rate: int, channels: int) -> np.ndarray:
    """Resample (librosa, soxr) and up/down-mix ``(c, n)`` audio to ``target_rate``/``channels``."""
    if sample_rate != target_rate:
        samples = librosa.resample(samples, orig_sr=sample_rate, target_sr=target_rate, axis=-1)
    if samples.shape[0] != channels:
        mono = samples.mean(axis=0, keepdims=True)
        samples = np.repeat(mono, channels, axis=0)
    return np.ascontiguousarray(samples, dtype=np.float32)


@functools.lru_cache(maxsize=32)
def _silence(num_samples: int, channels: int, sample_rate: int, settings: EncodeSettings) -> media.EncodedAudio:
    # a silent track of a given length/rate/layout always encodes to the same packets
    return _encode(np.zeros((channels, num_samples), np.float32), sample_rate, settings)


def _encode(samples: np.ndarray, sample_rate: int, settings: EncodeSettings) -> media.EncodedAudio:
    return media.encode_audio(
        samples,
        sample_rate,
        codec=settings.codec,
        bit_rate=settings.bitrate_per_channel * samples.shape[0],
    )


def make_condition_audio(
    clip: Clip,
    plan: ClipPlan,
    audio: media.DecodedAudio,
    donor: Clip,
    donor_audio: media.DecodedAudio,
) -> dict[str, tuple[np.ndarray | None, ConditionOutput]]:
    """The edited audio of each condition (``None`` for mute: it is encoded once, cached)."""
    sr = audio.sample_rate
    x = audio.samples
    donor_x = conform(donor_audio.samples, donor_audio.sample_rate, sr, x.shape[0])
    return {
        "original": (x, ConditionOutput("original", "", 0.0, None, clip.audio_time)),
        "shift": (
            shift(x, sr, plan.tau),
            ConditionOutput("shift", "", plan.tau, None, clip.audio_time + plan.tau),
        ),
        "mute": (None, ConditionOutput("mute", "", 0.0, None, None)),
        "swap": (
            swap(donor_x, x.shape[1], sr, donor.audio_time, clip.visual_time),
            ConditionOutput("swap", "", 0.0, donor.clip_id, clip.visual_time),
        ),
    }


def materialize_clip(
    clip: Clip,
    plan: ClipPlan,
    donor: Clip,
    out_dir: str | Path,
    settings: EncodeSettings = EncodeSettings(),
) -> dict[str, ConditionOutput]:
    """Write the four condition files of ``clip`` into ``out_dir``; return what was written.

    The files are named by content hash, so the name reveals nothing of the condition and
    identical outputs are stored once.
    """
    if donor.clip_id == clip.clip_id:
        raise ValueError(f"{clip.clip_id}: a clip cannot be its own swap donor")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    info = media.probe(clip.path)
    settings = settings.for_container(info.output_format)
    audio = media.decode_audio(clip.path, info)
    donor_audio = media.decode_audio(donor.path)
    results: dict[str, ConditionOutput] = {}
    with media.read_video_packets(clip.path, info) as video:
        for condition, (samples, out) in make_condition_audio(
            clip, plan, audio, donor, donor_audio
        ).items():
            if samples is None:
                encoded = _silence(audio.samples.shape[1], audio.samples.shape[0], audio.sample_rate, settings)
                mute(audio.samples)  # validates the shape the silence stands for
            else:
                encoded = _encode(samples, audio.sample_rate, settings)
            data = media.mux(video, encoded)
            name = media.content_name(data, info.output_extension)
            path = out_dir / name
            if not path.exists():
                tmp = path.with_suffix(path.suffix + f".tmp{os.getpid()}")
                tmp.write_bytes(data)
                tmp.replace(path)
            results[condition] = ConditionOutput(
                condition, name, out.offset_s, out.donor_clip_id, out.edited_audio_time
            )
    return results


def _file_key(path: str) -> str:
    st = os.stat(path)
    return f"{os.path.abspath(path)}|{st.st_size}|{st.st_mtime_ns}"


class MediaCache:
    """On-disk store of materialized files (``objects/``) and per-clip indexes (``index/``)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.objects = self.root / "objects"
        self.index = self.root / "index"

    def key(self, clip: Clip, plan: ClipPlan, donor: Clip, settings: EncodeSettings) -> str:
        parts = [
            MEDIA_VERSION,
            _file_key(clip.path),
            _file_key(donor.path),
            json.dumps(asdict(plan), sort_keys=True),
            repr((clip.audio_time, clip.visual_time, donor.audio_time)),
            json.dumps(asdict(settings), sort_keys=True),
        ]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]

    def get_or_make(
        self, clip: Clip, plan: ClipPlan, donor: Clip, settings: EncodeSettings
    ) -> dict[str, ConditionOutput]:
        index_file = self.index / f"{self.key(clip, plan, donor, settings)}.json"
        if index_file.exists():
            outputs = {c: ConditionOutput(**o) for c, o in json.loads(index_file.read_text()).items()}
            if all((self.objects / o.file_name).exists() for o in outputs.values()):
                return outputs
        outputs = materialize_clip(clip, plan, donor, self.objects, settings)
        self.index.mkdir(parents=True, exist_ok=True)
        tmp = index_file.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps({c: asdict(o) for c, o in outputs.items()}, sort_keys=True))
        tmp.replace(index_file)
        return outputs

    def path(self, file_name: str) -> Path:
        return self.objects / file_name
