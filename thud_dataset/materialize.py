"""Turn a planned clip into its media files: a pure function of (clip, plan, settings).

:func:`scan_clip` checks a source (readable, complete, has sound, not silent, labels inside
what really decodes) and :func:`materialize_clip` makes the original / shift / mute / swap
files: the clip's audio is decoded once, every condition is made from that one array, each
is encoded the same way, and the video packets are remuxed untouched (or, for a codec mp4
cannot carry, transcoded once and shared by all). :class:`MediaCache` keeps results on
disk so the four splits of a build (and rebuilds) reuse them; it verifies what it serves
(:mod:`.cache_files`). It also keeps the ``audio`` column's files: what a decoder hears in
each output, as a float32 WAV (:meth:`MediaCache.audio_of`).

Errors: anything wrong with one clip — unreadable or damaged media, labels outside the
decoded audio or video, a codec or muxer failure — is a :class:`ClipError` naming the clip,
so a build can skip that clip with the reason and go on.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import math
import os
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path

import av
import librosa
import numpy as np

from . import cache_files, media
from .interventions import mute, room_tone, shift, swap
from .planning import ClipPlan
from .sources.base import Clip, ClipError

#: bump when the bytes an unchanged input produces would change
MEDIA_VERSION = "2"
#: a source whose peak stays below this is treated as silent: it has no sound to probe
SILENCE_PEAK_DBFS = -60.0
#: a stream that decodes to this much less than its header states is truncated or damaged
TRUNCATION_TOLERANCE_S = 0.5
#: containers whose headers index every sample, so the stated stream durations are exact
#: (MPEG-PS/TS, AVI and others estimate them: not compared)
_INDEXED_FORMATS = frozenset({"mov", "mp4", "m4a", "3gp", "3g2", "mj2", "matroska", "webm"})


@dataclass(frozen=True)
class ClipScan:
    """What the build needs to know about a source before planning.

    Durations are measured, not read from the header: ``audio_duration`` is the decoded
    audio, ``video_duration`` where the last video frame in the file ends, and
    ``duration`` the shorter of the two (the stretch with both picture and sound, where
    event labels and shifted events must lie). ``video_transcoded``: the video codec
    (``video_codec``) cannot go into mp4, so the probes carry it transcoded to H.264.
    """

    clip_id: str
    duration: float
    sample_rate: int
    channels: int
    peak_dbfs: float
    audio_duration: float = 0.0
    video_duration: float = 0.0
    video_codec: str = ""
    video_transcoded: bool = False


def clip_error(clip: Clip, message: object) -> ClipError:
    """A :class:`ClipError` that names where ``clip`` came from, once.

    >>> from thud_dataset.sources.base import Clip
    >>> str(clip_error(Clip("c", "a.mp4", "e", 1, "s", 1, origin="annotations.jsonl:3"), "a.mp4: no audio"))
    'annotations.jsonl:3: a.mp4: no audio'
    >>> str(clip_error(Clip("c", "a.mp4", "e", 1, "s", 1), "a.mp4: no audio"))
    'a.mp4: no audio'
    """
    where = clip.origin or clip.path
    text = str(message)
    return ClipError(text if text.startswith(f"{where}:") else f"{where}: {text}")


def _dbfs(x: float) -> float:
    return float(20 * np.log10(max(x, 1e-12)))


def event_seconds(clip: Clip, name: str) -> float:
    """``clip``'s event time ``name`` as float seconds, or a :class:`ClipError` naming it.

    Never an ``OverflowError``: an integer too large for a float (a 401-digit
    ``visual_time``) is an error about the row.

    >>> from thud_dataset.sources.base import Clip
    >>> event_seconds(Clip("c", "c.mp4", "e", 1, "s", 2.5), "audio_time")
    2.5
    """
    value = getattr(clip, name)
    where = clip.origin or clip.path
    try:
        t = float(value)
    except (OverflowError, TypeError, ValueError):
        shown = str(value) if len(str(value)) <= 24 else f"{str(value)[:12]}…({len(str(value))} characters)"
        raise ClipError(f"{where}: {name}={shown} is not a usable number of seconds") from None
    if not math.isfinite(t) or t < 0:
        raise ClipError(f"{where}: {name}={value} is not a finite, non-negative number of seconds")
    return t


def _check_complete(clip: Clip, source: media.Source) -> None:
    """A stream that holds much less than its (exact) header says: truncated or damaged."""
    info = source.info
    if not _INDEXED_FORMATS & set(info.format_name.split(",")):
        return
    stated = []
    if info.audio.duration:
        stated.append(("audio", info.audio.start_time + info.audio.duration - info.start_time, source.audio.duration))
    if info.video.duration:
        stated.append(("video", info.duration, source.video_end))
    for what, header, measured in stated:
        if measured < header - TRUNCATION_TOLERANCE_S:
            raise clip_error(
                clip,
                f"{info.path}: the {what} decodes to only {measured:.3f} s but the header "
                f"says {header:.3f} s: the file is truncated or damaged",
            )


def scan_clip(clip: Clip) -> ClipScan:
    """Read a source once and check it; raise :class:`ClipError` naming it if it cannot be used.

    Checks, in order: the event times are finite numbers; the file opens, has video and
    sound, and reads to the end (a damaged file names how much audio decoded); no stream
    holds much less than an exact header says (:data:`TRUNCATION_TOLERANCE_S`); both event
    times lie before the end of the *decoded* audio and video; the audio is not silent.
    """
    where = clip.origin or clip.path
    times = {name: event_seconds(clip, name) for name in ("visual_time", "audio_time")}
    try:
        # one open: the same "<path>: no audio stream ..." message when there is no sound
        with media.read_source(clip.path, keep_video=False) as source:
            pass
    except media.MediaError as e:
        raise clip_error(clip, e) from e
    _check_complete(clip, source)
    audio = source.audio
    audio_s, video_s = audio.duration, source.video_end
    duration = min(audio_s, video_s)
    for name, t in times.items():
        if t >= duration:
            raise ClipError(
                f"{where}: {name}={t} s is not before the end of the clip ({duration:.3f} s: "
                f"{audio_s:.3f} s of decoded audio, {video_s:.3f} s of video)"
            )
    peak = float(np.max(np.abs(audio.samples))) if audio.samples.size else 0.0
    if _dbfs(peak) < SILENCE_PEAK_DBFS:
        raise clip_error(
            clip, f"{clip.path}: the audio is silent (peak {_dbfs(peak):.1f} dBFS); a clip needs an audible event"
        )
    info = source.info
    return ClipScan(
        clip.clip_id, duration, audio.sample_rate, audio.samples.shape[0], _dbfs(peak),
        audio_s, video_s, info.video.codec, info.video_transcoded,
    )


GAP_FILLS = ("silence", "room_tone")


@dataclass(frozen=True)
class EncodeSettings:
    """How every condition's audio is made and encoded.

    ``codec``: the audio codec of every output (AAC in mp4 by default); ``gap_fill``: what
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


@dataclass(frozen=True)
class ConditionOutput:
    """One materialized condition of a clip.

    ``video_transcoded``: the source's video codec cannot go into mp4, so the picture is
    H.264 transcoded once for the clip (the same packets in all four conditions);
    ``audio_encoder``: the settings the audio encoder was opened with (identical for every
    condition of a clip: the no-leakage rule).
    """

    condition: str
    file_name: str  # content hash + extension
    offset_s: float
    donor_clip_id: str | None
    edited_audio_time: float | None  # where the audio event is in the edited audio
    video_transcoded: bool = False
    audio_encoder: str = ""


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
        return media.EncodedAudio(
            t.codec, t.sample_rate, t.layout, t.bit_rate, t.extradata, tuple(packets), t.encoder
        )


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


def output_keys(plan: ClipPlan) -> list[str]:
    """The keys of a clip's outputs: ``original``, one ``shift/<i>`` per offset
    ``plan.taus[i]``, ``mute``, ``swap``.

    >>> output_keys(ClipPlan("c", "test", (-0.5, 0.8), "d"))
    ['original', 'shift/0', 'shift/1', 'mute', 'swap']
    """
    return ["original", *(f"shift/{i}" for i in range(len(plan.taus))), "mute", "swap"]


def make_condition_audio(
    clip: Clip,
    plan: ClipPlan,
    audio: media.DecodedAudio,
    donor: Clip,
    donor_audio: media.DecodedAudio,
    gap_fill: str = "silence",
) -> dict[str, tuple[np.ndarray | None, ConditionOutput]]:
    """The edited audio of each output (keys: :func:`output_keys`; ``None`` for mute: it
    is encoded once, cached)."""
    sr = audio.sample_rate
    x = audio.samples
    donor_x = conform(donor_audio.samples, donor_audio.sample_rate, sr, x.shape[0])
    shift_fill = swap_fill = None
    if gap_fill == "room_tone":
        seed = int(hashlib.sha256(f"room-tone|{clip.clip_id}".encode()).hexdigest()[:8], 16)
        shift_fill = room_tone(x, sr, x.shape[1], seed)
        swap_fill = room_tone(donor_x, sr, x.shape[1], seed + 1)  # the donor's own background
    shifts = {
        f"shift/{i}": (
            shift(x, sr, tau, fill=shift_fill),
            ConditionOutput("shift", "", tau, None, clip.audio_time + tau),
        )
        for i, tau in enumerate(plan.taus)
    }
    return {
        "original": (x, ConditionOutput("original", "", 0.0, None, clip.audio_time)),
        **shifts,
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
    """Write the condition files of ``clip`` into ``out_dir`` (original, one shift per
    offset of ``plan.taus``, mute, swap); return what was written, by :func:`output_keys`.

    The files are mp4s named by content hash, so the name reveals nothing of the condition
    and identical outputs are stored once. Raises :class:`ClipError` naming the clip for
    anything wrong with it or its donor: unreadable media, an event or shifted event
    outside the decoded audio, a codec or muxer failure.
    """
    if donor.clip_id == clip.clip_id:
        raise ValueError(f"{clip.clip_id}: a clip cannot be its own swap donor")
    try:
        return _materialize(clip, plan, donor, Path(out_dir), settings)
    except ClipError:
        raise
    except (media.MediaError, av.error.FFmpegError, ValueError, OverflowError) as e:
        raise clip_error(clip, e) from e


def _check_times(clip: Clip, plan: ClipPlan, audio: media.DecodedAudio, donor: Clip, donor_audio) -> None:
    """The labels and the planned shift, against the audio as it decodes (not the header)."""
    length = audio.duration
    visual, audio_t = event_seconds(clip, "visual_time"), event_seconds(clip, "audio_time")
    moved = [(f"the audio event shifted by {tau:+g} s", audio_t + tau) for tau in plan.taus]
    for what, t in (("visual_time", visual), ("audio_time", audio_t), *moved):
        if not 0 <= t < length:
            raise clip_error(
                clip, f"{clip.path}: {what} at {t:.3f} s is outside the decoded audio (0 to {length:.3f} s)"
            )
    donor_t = event_seconds(donor, "audio_time")
    if not donor_t < donor_audio.duration:
        raise clip_error(
            clip,
            f"its swap donor {donor.clip_id} ({donor.path}): audio_time at {donor_t:.3f} s is "
            f"outside its decoded audio (0 to {donor_audio.duration:.3f} s)"
        )


def _materialize(
    clip: Clip, plan: ClipPlan, donor: Clip, out_dir: Path, settings: EncodeSettings
) -> dict[str, ConditionOutput]:
    results: dict[str, ConditionOutput] = {}
    with ExitStack() as stack:
        # one open and one demux pass: probe, decoded audio and video packets together
        source = stack.enter_context(media.read_source(clip.path))
        audio, video = source.audio, source.video
        try:
            donor_audio = media.decode_audio(donor.path)
        except media.MediaError as e:
            raise clip_error(clip, f"its swap donor {donor.clip_id}: {e}") from e
        _check_times(clip, plan, audio, donor, donor_audio)
        if source.info.video_transcoded:
            # once per clip: the four conditions share these packets
            video = stack.enter_context(media.transcode_video(video))
        for key, (samples, out) in make_condition_audio(
            clip, plan, audio, donor, donor_audio, settings.gap_fill
        ).items():
            if samples is None:
                mute(audio.samples)  # validates the shape the silence stands for
                encoded = _silent_track(audio.samples.shape[1], audio.samples.shape[0], audio.sample_rate, settings)
            else:
                encoded = _encode(samples, audio.sample_rate, settings)
            data = media.mux(video, encoded)
            name = media.content_name(data, media.OUTPUT_EXTENSION)
            path = out_dir / name
            if not cache_files.content_ok(path):
                cache_files.atomic_write(path, data)
            results[key] = ConditionOutput(
                out.condition, name, out.offset_s, out.donor_clip_id, out.edited_audio_time,
                video.transcoded, encoded.encoder,
            )
    return results


#: the extension of the audio column's files
AUDIO_EXTENSION = ".wav"


def wav_bytes(audio: media.DecodedAudio) -> bytes:
    """``audio`` as a WAV file of 32-bit IEEE float samples at its own rate and channel
    count: lossless, so reading it back gives exactly ``audio.samples``.

    Written by FFmpeg's WAV muxer (through PyAV) with its bitexact flag, so the same
    samples always give the same bytes (no encoder tag, no timestamp).
    """
    buf = io.BytesIO()
    layout = "mono" if audio.samples.shape[0] == 1 else "stereo"
    with av.open(buf, "w", format="wav", options={"fflags": "+bitexact"}) as out:
        stream = out.add_stream("pcm_f32le", rate=audio.sample_rate, layout=layout)
        interleaved = np.ascontiguousarray(audio.samples.T, dtype=np.float32).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(interleaved, format="flt", layout=layout)
        frame.sample_rate, frame.pts = audio.sample_rate, 0
        for packet in (*stream.encode(frame), *stream.encode(None)):
            out.mux(packet)
    return buf.getvalue()


def file_key(path: str) -> str:
    """Identifies a file's content cheaply (path, size, mtime) for cache keys."""
    st = os.stat(path)
    return f"{os.path.abspath(path)}|{st.st_size}|{st.st_mtime_ns}"


def _digest(*parts: object) -> str:
    return hashlib.sha256("\n".join(map(str, parts)).encode()).hexdigest()[:32]


class MediaCache:
    """On-disk store of materialized files (``objects/``), per-clip indexes (``index/``)
    and clip scans (``scan/``), following the rules of :mod:`.cache_files`.

    Objects are named by their content hash and verified before they are served; index
    and scan entries are JSON written atomically, and one that cannot be read back is
    rebuilt (with a warning naming it). Keys hold everything the result depends on: the
    source files (path, size, mtime), the plan, the event times and the settings.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.objects = self.root / "objects"
        self.index = self.root / "index"
        self.scans = self.root / "scan"
        self.audio_index = self.root / "audio"

    def key(self, clip: Clip, plan: ClipPlan, donor: Clip, settings: EncodeSettings) -> str:
        return _digest(
            MEDIA_VERSION,
            file_key(clip.path),
            file_key(donor.path),
            json.dumps(asdict(plan), sort_keys=True),
            repr((clip.audio_time, clip.visual_time, donor.audio_time)),
            json.dumps(asdict(settings), sort_keys=True),
        )

    def scan(self, clip: Clip) -> ClipScan:
        """:func:`scan_clip`, cached: the result (or the :class:`ClipError`) of an unchanged
        source with the same event times is read back instead of decoding it again."""
        try:
            source_key = file_key(clip.path)
        except OSError as e:
            raise clip_error(clip, f"{clip.path}: {e.strerror or e}") from e
        path = self.scans / f"{_digest(MEDIA_VERSION, 'scan', source_key, repr((clip.visual_time, clip.audio_time)))}.json"
        cached = cache_files.read_json(path, "clip scan")
        if cached is not None:
            try:
                if set(cached) == {"error"}:
                    raise ClipError(str(cached["error"]))
                return ClipScan(**cached["scan"])
            except (TypeError, KeyError) as e:
                cache_files.discard(path, "clip scan", f"unexpected content: {e}")
        try:
            scan = scan_clip(clip)
        except ClipError as e:
            cache_files.write_json(path, {"error": str(e)})
            raise
        cache_files.write_json(path, {"scan": asdict(scan)})
        return scan

    def get_or_make(
        self, clip: Clip, plan: ClipPlan, donor: Clip, settings: EncodeSettings
    ) -> dict[str, ConditionOutput]:
        """The condition files of ``clip`` (see :func:`materialize_clip`), made once.

        Served from the cache only when the index entry reads back and every object it
        names is intact; otherwise (re)made. Raises :class:`ClipError` like
        :func:`materialize_clip`.
        """
        index_file = self.index / f"{self.key(clip, plan, donor, settings)}.json"
        outputs = self._read_index(index_file)
        if outputs is not None and all(cache_files.content_ok(self.path(o.file_name)) for o in outputs.values()):
            return outputs
        outputs = materialize_clip(clip, plan, donor, self.objects, settings)
        cache_files.write_json(index_file, {c: asdict(o) for c, o in outputs.items()})
        return outputs

    def _read_index(self, index_file: Path) -> dict[str, ConditionOutput] | None:
        cached = cache_files.read_json(index_file, "media index entry")
        if cached is None:
            return None
        try:
            return {c: ConditionOutput(**o) for c, o in cached.items()}
        except (TypeError, AttributeError) as e:
            cache_files.discard(index_file, "media index entry", f"unexpected content: {e}")
            return None

    def path(self, file_name: str) -> Path:
        return self.objects / file_name

    def audio_of(self, file_name: str) -> str:
        """The name of the WAV (:func:`wav_bytes`) of what a decoder hears in object
        ``file_name``: its audio decoded by PyAV at its own rate, sample 0 at the first
        video frame (:func:`~thud_dataset.media.decode_audio`).

        Made once and kept next to the mp4 under its own content hash; an index entry
        (``audio/``, keyed by the mp4's name and the PyAV version) finds it again. Raises
        :class:`media.MediaError` when ``file_name`` is missing or cannot be decoded.
        """
        entry = self.audio_index / f"{_digest(MEDIA_VERSION, 'wav', file_name, av.__version__)}.json"
        cached = cache_files.read_json(entry, "audio index entry")
        name = cached.get("wav") if isinstance(cached, dict) else None
        if isinstance(name, str) and cache_files.content_ok(self.path(name)):
            return name
        data = wav_bytes(media.decode_audio(self.path(file_name)))
        name = media.content_name(data, AUDIO_EXTENSION)
        if not cache_files.content_ok(self.path(name)):
            cache_files.atomic_write(self.path(name), data)
        cache_files.write_json(entry, {"wav": name})
        return name

    def read(self, file_name: str) -> bytes:
        """The bytes of object ``file_name``, checked against its content-hash name.

        Raises :class:`media.MediaError` naming the file if it is missing or corrupt (a
        corrupt one is removed, so the next :meth:`get_or_make` remakes it).
        """
        data = cache_files.verified_bytes(self.path(file_name))
        if data is None:
            raise media.MediaError(
                f"{self.path(file_name)}: the cached media file is missing or corrupt; build again to remake it"
            )
        return data
