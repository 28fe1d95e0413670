"""Media I/O with PyAV: probe a file, decode its audio once, write a video with new audio.

The video stream is never decoded: its packets are copied (remuxed) byte for byte. Every
condition of a clip, the original included, gets its audio through :func:`encode_audio`
with the same codec settings, so nothing but the sound tells the conditions apart.

Timeline: t = 0 is the start of the container's presentation timeline (where a player's
clock starts; :attr:`MediaInfo.start_time`). :func:`decode_audio` aligns the decoded
samples to it (sample ``i`` is heard at ``i / sample_rate`` s), and :func:`mux` writes the
audio from t = 0 with the video packets' timestamps untouched, so event times mean the same
thing in a source, in its decoded array and in every output — and the audio/video relation
of the source (e.g. a first video frame at 33 ms) is kept. A timeline that starts late
(MPEG-PS/TS sources start near 0.5 s) is rebased to start at 0 in the output. Starting the audio at the origin
also lets the mp4 edit list hide the AAC priming from every decoder, not only from those
that read timestamps.

Rules for sources that do not fit the default mp4 + AAC output:

* **Container.** Output is mp4 + AAC when the source's video codec can live in mp4
  (:data:`MP4_VIDEO_CODECS`; MPEG-1/2 video from ``.mpg`` included). Otherwise (e.g. VP8
  in webm, Theora) the packets go into Matroska (``.mkv``) unchanged — re-encoding the
  picture is not allowed — with the audio in FLAC (:data:`MATROSKA_AUDIO_CODEC`): Matroska
  cannot tell decoders to drop AAC's 1024 priming samples (measured: ffmpeg then hears the
  audio ~26 ms late), while FLAC has no priming, so every decoder hears it sample-exactly.
* **Several audio streams.** The stream flagged *default* is used, else the first audio
  stream; the output has exactly one audio stream.
* **More than two channels** are downmixed to stereo before any intervention.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

#: video codecs that ffmpeg's mp4 muxer accepts as they are
MP4_VIDEO_CODECS = frozenset(
    {"h264", "hevc", "mpeg4", "av1", "vp9", "mpeg1video", "mpeg2video", "mjpeg", "png"}
)
DEFAULT_AUDIO_CODEC = "aac"
#: the audio codec of Matroska outputs (see the container rule above)
MATROSKA_AUDIO_CODEC = "flac"
#: bits per second per channel of the encoded audio (AAC at 64 kb/s/channel is transparent
#: enough for event sounds and keeps the encode cheap)
DEFAULT_BITRATE_PER_CHANNEL = 64_000
#: samples per frame handed to the encoder (cut into codec frames in C; bounds the copy)
ENCODE_BLOCK = 1 << 18


class MediaError(ValueError):
    """A media file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class VideoStreamInfo:
    index: int
    codec: str
    width: int
    height: int
    fps: float
    time_base: Fraction
    start_time: float
    duration: float | None
    frames: int


@dataclass(frozen=True)
class AudioStreamInfo:
    index: int
    codec: str
    sample_rate: int
    channels: int
    layout: str
    time_base: Fraction
    start_time: float
    duration: float | None
    default: bool


@dataclass(frozen=True)
class MediaInfo:
    """What :func:`probe` reads from a file's headers (no decoding)."""

    path: str
    format_name: str
    duration: float
    start_time: float  # the container's timeline origin, seconds
    video: VideoStreamInfo
    audio_streams: tuple[AudioStreamInfo, ...]
    size: int

    @property
    def audio(self) -> AudioStreamInfo | None:
        """The audio stream Thud uses: the one flagged default, else the first."""
        if not self.audio_streams:
            return None
        defaults = [s for s in self.audio_streams if s.default]
        return (defaults or list(self.audio_streams))[0]

    @property
    def output_format(self) -> str:
        """``"mp4"`` or ``"matroska"`` by the container rule in the module docstring."""
        return "mp4" if self.video.codec in MP4_VIDEO_CODECS else "matroska"

    @property
    def output_extension(self) -> str:
        return ".mp4" if self.output_format == "mp4" else ".mkv"


@dataclass(frozen=True)
class DecodedAudio:
    """Audio decoded to float32, aligned so sample 0 is at the timeline origin (t = 0)."""

    samples: np.ndarray  # (channels, n) float32
    sample_rate: int
    layout: str

    @property
    def duration(self) -> float:
        return self.samples.shape[1] / self.sample_rate


def _seconds(value, time_base) -> float | None:
    if value is None or time_base is None:
        return None
    return float(value * time_base)


def _open(path: str | Path):
    path = str(path)
    if not Path(path).is_file():
        raise MediaError(f"{path}: file not found")
    try:
        return av.open(path)
    except av.error.FFmpegError as e:
        raise MediaError(f"{path}: not a readable media file ({e})") from e


def probe(path: str | Path) -> MediaInfo:
    """Read streams, durations and rates of a media file.

    Raises :class:`MediaError` naming the file when it is missing, unreadable, or has no
    video stream. A file without audio probes fine (``info.audio is None``); callers that
    need sound check that.
    """
    path = str(path)
    with _open(path) as container:
        return _read_info(container, path)


def _read_info(container, path: str) -> MediaInfo:
    """:func:`probe`'s reading of an open container (headers only, nothing decoded)."""
    videos = container.streams.video
    if not videos:
        raise MediaError(f"{path}: no video stream")
    v = videos[0]
    vtb = v.time_base
    rate = v.average_rate or v.base_rate or v.guessed_rate
    fps = float(rate) if rate else 0.0
    vstart = _seconds(v.start_time, vtb) or 0.0
    vdur = _seconds(v.duration, vtb)
    cdur = container.duration / av.time_base if container.duration else None
    video = VideoStreamInfo(
        index=v.index,
        codec=v.codec_context.name,
        width=v.codec_context.width,
        height=v.codec_context.height,
        fps=fps,
        time_base=vtb,
        start_time=vstart,
        duration=vdur,
        frames=v.frames,
    )
    audios = []
    for a in container.streams.audio:
        ctx = a.codec_context
        audios.append(
            AudioStreamInfo(
                index=a.index,
                codec=ctx.name,
                sample_rate=ctx.sample_rate,
                channels=ctx.channels,
                layout=ctx.layout.name,
                time_base=a.time_base,
                start_time=_seconds(a.start_time, a.time_base) or 0.0,
                duration=_seconds(a.duration, a.time_base),
                default=bool(a.disposition & av.stream.Disposition.default)
                if hasattr(av.stream, "Disposition")
                else False,
            )
        )
    origin = container.start_time / av.time_base if container.start_time is not None else 0.0
    duration = vdur + vstart - origin if vdur else (cdur if cdur else None)
    if not duration or duration <= 0:
        raise MediaError(f"{path}: cannot tell the video's duration")
    return MediaInfo(
        path=path,
        format_name=container.format.name,
        duration=float(duration),
        start_time=float(origin),
        video=video,
        audio_streams=tuple(audios),
        size=Path(path).stat().st_size,
    )


def decode_audio(path: str | Path, info: MediaInfo | None = None) -> DecodedAudio:
    """Decode the clip's audio stream to float32 ``(channels, samples)``, once.

    Sample 0 is at the container's timeline origin: audio that starts later is preceded
    by silence. More than two channels are downmixed to stereo.
    Raises :class:`MediaError` naming the file if there is no audio stream or decoding fails.
    Without ``info`` the file is probed in the same open (one open, not two).
    """
    return _decode(str(path), info)[1]


def probe_and_decode(path: str | Path) -> tuple[MediaInfo, DecodedAudio]:
    """:func:`probe` and :func:`decode_audio` in one open of the file."""
    return _decode(str(path), None)


def _decode(path: str, info: MediaInfo | None) -> tuple[MediaInfo, DecodedAudio]:
    if info is not None and info.audio is None:
        raise MediaError(f"{path}: no audio stream (Thud needs the clip's sound)")
    with _open(path) as container:
        info = info or _read_info(container, path)
        if info.audio is None:
            raise MediaError(f"{path}: no audio stream (Thud needs the clip's sound)")
        collector = _AudioCollector(container.streams[info.audio.index])
        try:
            for frame in container.decode(collector.stream):
                collector.add(frame)
        except av.error.FFmpegError as e:
            raise MediaError(f"{path}: audio stream cannot be decoded ({e})") from e
    return info, collector.finish(path, info)


class _AudioCollector:
    """Decoded frames → one aligned :class:`DecodedAudio` (shared by every decode path)."""

    def __init__(self, stream) -> None:
        self.stream = stream
        # planar float at the native rate: no resampling, just a format change
        self.resampler = av.AudioResampler(format="fltp", layout=stream.codec_context.layout)
        self.chunks: list[np.ndarray] = []
        self.first_pts: float | None = None

    def add(self, frame) -> None:
        if self.first_pts is None and frame.pts is not None:
            self.first_pts = float(frame.pts * frame.time_base)
        for out in self.resampler.resample(frame):
            self.chunks.append(out.to_ndarray())

    def finish(self, path: str, info: MediaInfo) -> DecodedAudio:
        try:
            for out in self.resampler.resample(None):
                self.chunks.append(out.to_ndarray())
        except av.error.FFmpegError as e:
            raise MediaError(f"{path}: audio stream cannot be decoded ({e})") from e
        if not self.chunks:
            raise MediaError(f"{path}: audio stream holds no samples")
        samples = np.concatenate(self.chunks, axis=1).astype(np.float32, copy=False)
        self.chunks = []
        sr = info.audio.sample_rate
        if samples.shape[0] > 2:
            samples = _downmix_to_stereo(samples)
        # align to the timeline origin
        lead = int(round(((self.first_pts or 0.0) - info.start_time) * sr))
        if lead > 0:
            samples = np.concatenate([np.zeros((samples.shape[0], lead), np.float32), samples], axis=1)
        elif lead < 0:
            samples = samples[:, -lead:]
        layout = "mono" if samples.shape[0] == 1 else "stereo"
        return DecodedAudio(samples=np.ascontiguousarray(samples), sample_rate=sr, layout=layout)


def _downmix_to_stereo(samples: np.ndarray) -> np.ndarray:
    # front left/right plus centre, the way a simple downmix hears it
    left = samples[0] + (samples[2] * 0.7071 if samples.shape[0] > 2 else 0)
    right = samples[1] + (samples[2] * 0.7071 if samples.shape[0] > 2 else 0)
    out = np.stack([left, right])
    peak = float(np.max(np.abs(out))) or 1.0
    return (out / max(1.0, peak)).astype(np.float32)


@dataclass
class VideoPackets:
    """The video stream of a source, demuxed once and kept in memory for remuxing."""

    path: str
    info: MediaInfo
    packets: list  # av.Packet, in demux order
    template: object  # the input stream, for add_stream_from_template
    _container: object  # kept open: packets and template refer to it
    #: what :func:`mux` needs of each packet, worked out once for the four outputs of a clip
    _mux_plan: list | None = field(default=None, repr=False)

    def mux_plan(self) -> list[tuple[float, bytes, int | None, int | None, int, bool]]:
        """``(interleave key, payload, pts, dts, duration, keyframe)`` per packet.

        Worked out on the first :func:`mux` and kept (``packets`` are not to change after).
        """
        if self._mux_plan is None:
            tb = self.template.time_base
            num, den = tb.numerator, tb.denominator
            plan = []
            for p in self.packets:
                ts = p.dts if p.dts is not None else p.pts
                # int / int is correctly rounded: the same float as float(ts * time_base)
                plan.append(((ts * num) / den, bytes(p), p.pts, p.dts, p.duration, p.is_keyframe))
            self._mux_plan = plan
        return self._mux_plan

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> VideoPackets:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_video_packets(path: str | Path, info: MediaInfo | None = None) -> VideoPackets:
    """Demux the video packets of ``path`` (no decoding) for :func:`mux`."""
    path = str(path)
    info = info or probe(path)
    container = _open(path)
    try:
        stream = container.streams[info.video.index]
        packets = [p for p in container.demux(stream) if p.size > 0]
    except av.error.FFmpegError as e:
        container.close()
        raise MediaError(f"{path}: video stream cannot be read ({e})") from e
    if not packets:
        container.close()
        raise MediaError(f"{path}: video stream holds no packets")
    return VideoPackets(path=path, info=info, packets=packets, template=stream, _container=container)


@dataclass
class Source:
    """A source read in one pass: its probe, its decoded audio and its video packets."""

    info: MediaInfo
    audio: DecodedAudio
    video: VideoPackets

    def close(self) -> None:
        self.video.close()

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_source(path: str | Path) -> Source:
    """Open ``path`` once: probe it, decode its audio and demux its video packets together.

    The same as :func:`probe` + :func:`decode_audio` + :func:`read_video_packets` (same
    values, same errors), in one open and one demux pass instead of three. Close the result
    (or use it as a context manager) when the outputs are muxed.
    """
    path = str(path)
    container = _open(path)
    try:
        info = _read_info(container, path)
        if info.audio is None:
            raise MediaError(f"{path}: no audio stream (Thud needs the clip's sound)")
        vstream = container.streams[info.video.index]
        collector = _AudioCollector(container.streams[info.audio.index])
        packets = []
        try:
            for packet in container.demux(vstream, collector.stream):
                if packet.stream.index == vstream.index:
                    if packet.size > 0:
                        packets.append(packet)
                    continue
                try:
                    frames = packet.decode()
                except av.error.FFmpegError as e:
                    raise MediaError(f"{path}: audio stream cannot be decoded ({e})") from e
                for frame in frames:
                    collector.add(frame)
        except av.error.FFmpegError as e:
            raise MediaError(f"{path}: video stream cannot be read ({e})") from e
        if not packets:
            raise MediaError(f"{path}: video stream holds no packets")
        audio = collector.finish(path, info)
    except BaseException:
        container.close()
        raise
    video = VideoPackets(path=path, info=info, packets=packets, template=vstream, _container=container)
    return Source(info, audio, video)


@dataclass(frozen=True)
class EncodedAudio:
    """Audio packets ready to mux: ``(pts, dts, duration, bytes)`` in 1/sample_rate units."""

    codec: str
    sample_rate: int
    layout: str
    bit_rate: int
    extradata: bytes | None
    packets: tuple[tuple[int | None, int | None, int, bytes], ...]


def encode_audio(
    samples: np.ndarray,
    sample_rate: int,
    *,
    codec: str = DEFAULT_AUDIO_CODEC,
    bit_rate: int | None = None,
) -> EncodedAudio:
    """Encode float32 ``(channels, n)`` audio with ``codec``; deterministic (bitexact).

    Every condition goes through this one function with the same settings. The result
    is container-independent, so identical inputs can share one encode (e.g. the silent
    track of a mute probe).
    """
    if samples.ndim != 2 or samples.shape[0] not in (1, 2):
        raise ValueError(f"samples must be (1 or 2 channels, n), got shape {samples.shape}")
    layout = "mono" if samples.shape[0] == 1 else "stereo"
    bit_rate = bit_rate or DEFAULT_BITRATE_PER_CHANNEL * samples.shape[0]
    ctx = av.CodecContext.create(codec, "w")
    ctx.sample_rate = sample_rate
    ctx.layout = layout
    # the codec's own sample format (AAC: fltp, FLAC: s16); PyAV converts the frames
    ctx.format = ctx.codec.audio_formats[0].name if ctx.codec.audio_formats else "fltp"
    ctx.bit_rate = bit_rate
    ctx.time_base = Fraction(1, sample_rate)
    ctx.flags |= av.codec.context.Flags.bitexact
    ctx.open()
    packets = []
    data = np.ascontiguousarray(samples, dtype=np.float32)
    # large blocks: PyAV's frame-size filter cuts them into the codec's frames in C (the
    # same frames, same pts, as cutting them here) without a Python step per codec frame
    for start in range(0, data.shape[1], ENCODE_BLOCK):
        block = np.ascontiguousarray(data[:, start : start + ENCODE_BLOCK])
        frame = av.AudioFrame.from_ndarray(block, format="fltp", layout=layout)
        frame.sample_rate = sample_rate
        frame.pts = start
        frame.time_base = Fraction(1, sample_rate)
        packets.extend(ctx.encode(frame))
    packets.extend(ctx.encode(None))
    encoded = tuple((p.pts, p.dts, p.duration, bytes(p)) for p in packets)
    extradata = bytes(ctx.extradata) if ctx.extradata else None
    return EncodedAudio(codec, sample_rate, layout, bit_rate, extradata, encoded)


def mux(video: VideoPackets, audio: EncodedAudio) -> bytes:
    """Write the video packets unchanged plus ``audio`` into a new file; return its bytes.

    The audio starts at the timeline origin (see the module docstring). The container is the one
    ``video.info.output_format`` names. Output is byte-identical for identical inputs.
    """
    fmt = video.info.output_format
    buf = io.BytesIO()
    out = av.open(buf, "w", format=fmt)
    # bitexact: no encoder/version strings or creation time, so same input → same bytes
    out.flags |= av.container.Flags.bitexact.value
    try:
        vs = out.add_stream_from_template(video.template)
        as_ = out.add_stream(audio.codec, rate=audio.sample_rate, layout=audio.layout)
        as_.bit_rate = audio.bit_rate
        as_.time_base = Fraction(1, audio.sample_rate)
        cc = as_.codec_context
        if audio.extradata:
            cc.extradata = audio.extradata
        cc.flags |= av.codec.context.Flags.bitexact
        out.start_encoding()
        vtb = video.template.time_base
        atb = Fraction(1, audio.sample_rate)  # the units of EncodedAudio timestamps
        sr = audio.sample_rate
        # a source whose timeline starts late (MPEG-PS/TS: ~0.5 s) is rebased to start at 0:
        # audio starting after 0 gets an empty edit, and then decoders play AAC's priming
        rebase = max(video.info.start_time, 0.0)
        v_off = int(round(rebase / vtb))
        v_key_off = (v_off * vtb.numerator) / vtb.denominator
        a_offset = int(round((video.info.start_time - rebase) * sr))
        vplan = video.mux_plan()
        apackets = []
        for pts, dts, dur, data in audio.packets:
            pkt = av.Packet(data)
            pkt.pts = None if pts is None else pts + a_offset
            pkt.dts = None if dts is None else dts + a_offset
            pkt.duration = dur
            # stream first: setting it resets the packet's time base
            pkt.stream = as_
            pkt.time_base = atb
            apackets.append(pkt)
        # interleave by time so the muxer does not buffer a whole stream (keys are exact
        # int / int divisions: the same floats as float(ts * time_base))
        merged = [(v[0] - v_key_off, 0, i) for i, v in enumerate(vplan)]
        merged += [((p.dts or 0) / sr, 1, i) for i, p in enumerate(apackets)]
        merged.sort()
        for _, kind, i in merged:
            if kind == 0:
                _, data, pts, dts, dur, key = vplan[i]
                q = av.Packet(data)
                q.pts = None if pts is None else pts - v_off
                q.dts = None if dts is None else dts - v_off
                q.duration = dur
                q.is_keyframe = key
                q.stream = vs
                q.time_base = vtb
                out.mux(q)
            else:
                out.mux(apackets[i])
    finally:
        out.close()
    return buf.getvalue()


def content_name(data: bytes, extension: str) -> str:
    """An opaque file name from the content: it reveals nothing of the condition."""
    return hashlib.sha256(data).hexdigest()[:24] + extension
