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
from .interventions import mute, room_tone, shift, swap
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
        # one open: the same "<path>: no audio stream ..." message when there is no sound
        info, audio = media.probe_and_decode(clip.path)
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


GAP_FILLS = ("silence", "room_tone")


@dataclass(frozen=True)
class EncodeSettings:
    """How every condition's audio is made and encoded.

    ``codec`` for mp4 outputs (FLAC for Matroska, see :mod:`.media`); ``gap_fill``: what
    the gaps a shift or swap leaves hold — ``"silence"`` (digital silence, the paper's
    ``a(t - tau)`` with zeros) or ``"room_tone"`` (the clip's own background, which hides
    where the gap is; see :func:`~thud_dataset.interventions.room_tone`).
    """

    codec: str = media.DEFAULT_AUDIO_CODEC
    bitrate_per_channel: int = media.DEFAULT_BITRATE_PER_CHANNEL
    gap_fill: str = "silence"

    def __post_init__(self) -> None:
        if self.gap_fill not in GAP_FILLS:
            raise ValueError(f"gap_fill must be one of {GAP_FILLS}, got {self.gap_fill!r}")

    def for_container(self, output_format: str) -> EncodeSettings:
        if output_format == "mp4":
            return self
        return EncodeSettings(media.MATROSKA_AUDIO_CODEC, self.bitrate_per_channel, self.gap_fill)


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


@dataclass(frozen=True)
class _SilencePattern:
    """How an encoder writes digital silence: one payload, repeated frame after frame.

    Packet ``i`` of a silent track of ``n`` samples starts at ``first_pts + i * frame``
    and holds ``payload``; the last one is the first whose end reaches ``n`` (its
    duration is what is left). Learnt from a real encode and checked against a second
    one of another length before it is trusted (see :func:`_silence_pattern`).
    """

    template: media.EncodedAudio  # the learning encode: codec, rate, layout, extradata
    length: int  # samples of the learning encode
    payload: bytes
    first_pts: int
    frame: int

    def track(self, num_samples: int) -> media.EncodedAudio:
        t, f = self.template, self.frame
        count = max(1, -(-(num_samples - self.first_pts) // f))  # ceil
        packets = []
        for i in range(count):
            pts = self.first_pts + i * f
            packets.append((pts, pts, f if i < count - 1 else num_samples - pts, self.payload))
        return media.EncodedAudio(t.codec, t.sample_rate, t.layout, t.bit_rate, t.extradata, tuple(packets))


def _learn_silence(encoded: media.EncodedAudio, length: int) -> _SilencePattern | None:
    packets = encoded.packets
    if len(packets) < 3 or len({p[3] for p in packets}) != 1:
        return None  # e.g. FLAC: frame numbers in every header
    first, frame = packets[0][0], packets[0][2]
    if first is None or not frame:
        return None
    return _SilencePattern(encoded, length, packets[0][3], first, frame)


@functools.lru_cache(maxsize=16)
def _silence_pattern(channels: int, sample_rate: int, settings: EncodeSettings) -> _SilencePattern | None:
    """The silence pattern of these settings, or None when the encoder does not follow one.

    Two short real encodes (a few ms): one to learn from, one of another length and
    remainder to check that the pattern reproduces it byte for byte.
    """
    def zeros(n: int) -> media.EncodedAudio:
        return _encode(np.zeros((channels, n), np.float32), sample_rate, settings)

    length = 8 * 1024 + 100
    learnt = _learn_silence(zeros(length), length)
    if learnt is None or learnt.track(length) != learnt.template:
        return None
    check = 21 * 1024 + 1007  # another length, another remainder
    return learnt if learnt.track(check) == zeros(check) else None


def _silent_track(num_samples: int, channels: int, sample_rate: int, settings: EncodeSettings) -> media.EncodedAudio:
    """The encoded mute track: byte for byte what encoding ``num_samples`` zeros gives.

    Encoding silence is shared work: every frame of it encodes to the same packet, so
    the track of any length is assembled from a pattern learnt once per rate, layout and
    settings (no encode per clip). Encoders without such a pattern are encoded directly.
    """
    pattern = _silence_pattern(channels, sample_rate, settings)
    if pattern is None:
        return _silence(num_samples, channels, sample_rate, settings)
    return pattern.track(num_samples)


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
    gap_fill: str = "silence",
) -> dict[str, tuple[np.ndarray | None, ConditionOutput]]:
    """The edited audio of each condition (``None`` for mute: it is encoded once, cached)."""
    sr = audio.sample_rate
    x = audio.samples
    donor_x = conform(donor_audio.samples, donor_audio.sample_rate, sr, x.shape[0])
    shift_fill = swap_fill = None
    if gap_fill == "room_tone":
        seed = int(hashlib.sha256(f"room-tone|{clip.clip_id}".encode()).hexdigest()[:8], 16)
        shift_fill = room_tone(x, sr, x.shape[1], seed)
        swap_fill = room_tone(donor_x, sr, x.shape[1], seed + 1)  # the donor's own background
    return {
        "original": (x, ConditionOutput("original", "", 0.0, None, clip.audio_time)),
        "shift": (
            shift(x, sr, plan.tau, fill=shift_fill),
            ConditionOutput("shift", "", plan.tau, None, clip.audio_time + plan.tau),
        ),
        "mute": (None, ConditionOutput("mute", "", 0.0, None, None)),
        "swap": (
            swap(donor_x, x.shape[1], sr, donor.audio_time, clip.visual_time, fill=swap_fill),
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
    results: dict[str, ConditionOutput] = {}
    # one open and one demux pass: probe, decoded audio and video packets together
    with media.read_source(clip.path) as source:
        info, audio, video = source.info, source.audio, source.video
        settings = settings.for_container(info.output_format)
        donor_audio = media.decode_audio(donor.path)
        for condition, (samples, out) in make_condition_audio(
            clip, plan, audio, donor, donor_audio, settings.gap_fill
        ).items():
            if samples is None:
                mute(audio.samples)  # validates the shape the silence stands for
                encoded = _silent_track(audio.samples.shape[1], audio.samples.shape[0], audio.sample_rate, settings)
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


def file_key(path: str) -> str:
    """Identifies a file's content cheaply (path, size, mtime) for cache keys."""
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
            file_key(clip.path),
            file_key(donor.path),
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
