"""Media I/O with PyAV: probe a file, decode its audio once, write a video with new audio.

The video stream is not decoded: its packets are copied (remuxed) byte for byte. Every
condition of a clip, the original included, gets its audio through :func:`encode_audio`
with the same codec settings, so nothing but the sound tells the conditions apart.

Timeline: t = 0 is the start of the container's presentation timeline (where a player's
clock starts; :attr:`MediaInfo.start_time`). :func:`decode_audio` aligns the decoded
samples to it (sample ``i`` is heard at ``i / sample_rate`` s), and :func:`mux` writes the
audio from t = 0 with the video packets' timestamps untouched, so event times mean the same
thing in a source, in its decoded array and in every output — and the audio/video relation
of the source (e.g. a first video frame at 33 ms) is kept. A timeline that starts late
(MPEG-PS/TS sources start near 0.5 s) is rebased to start at 0 in the output. Starting the
audio at the origin also lets the mp4 edit list hide the AAC priming from every decoder,
not only from those that read timestamps.

Rules for sources that do not fit a plain remux:

* **Container.** Every output is an ``.mp4`` with AAC audio (harness loaders and users'
  pipelines assume mp4). Video whose codec mp4 carries (:data:`MP4_VIDEO_CODECS`: H.264,
  HEVC, VP9, AV1, MPEG-4, MPEG-1/2 from ``.mpg``…) is remuxed unchanged. Any other codec
  (VP8, Theora, …) is transcoded **once per clip** by :func:`transcode_video` to H.264 with
  fixed settings (:data:`TRANSCODE_OPTIONS`: one thread, no B-frames, bitexact) that keep
  every frame's timestamps; those same packets serve all four conditions, so the
  conditions still share byte-identical video (:attr:`MediaInfo.video_transcoded`).
* **No DTS.** Matroska stores presentation times only, so a stream with B-frames (OBS and
  most recorders write H.264 like this) demuxes with packets that have no decoding time;
  :func:`complete_timestamps` derives them from the presentation times the way FFmpeg's
  demuxer does (its ``pts_buffer``), and the packets are remuxed byte for byte.
* **Several audio streams.** The stream flagged *default* is used, else the first audio
  stream; the output has exactly one audio stream.
* **More than two channels** are downmixed to stereo before any intervention.

Any failure of the libraries on a given file is a :class:`MediaError` naming the file.
"""

from __future__ import annotations

import io
from bisect import bisect_right
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from .cache_files import content_name  # noqa: F401  (re-exported: the outputs' names)

#: video codecs that ffmpeg's mp4 muxer accepts as they are (remuxed byte for byte)
MP4_VIDEO_CODECS = frozenset(
    {"h264", "hevc", "mpeg4", "av1", "vp9", "mpeg1video", "mpeg2video", "mjpeg", "png"}
)
#: the container of every output, and its file extension
OUTPUT_FORMAT = "mp4"
OUTPUT_EXTENSION = ".mp4"
DEFAULT_AUDIO_CODEC = "aac"
#: bits per second per channel of the encoded audio (AAC at 64 kb/s/channel is transparent
#: enough for event sounds and keeps the encode cheap)
DEFAULT_BITRATE_PER_CHANNEL = 64_000
#: samples per frame handed to the encoder (cut into codec frames in C; bounds the copy)
ENCODE_BLOCK = 1 << 18
#: the encoder of video that mp4 cannot carry (see the container rule above)
TRANSCODE_CODEC = "libx264"
#: its settings: visually lossless quality (CRF 18), and everything that could make two
#: runs differ pinned down — one thread (x264's output depends on the thread count), no
#: B-frames (every packet's DTS is its PTS: the source's frame times, unchanged)
TRANSCODE_OPTIONS = {"preset": "medium", "crf": "18", "threads": "1", "bf": "0"}
TRANSCODE_PIXEL_FORMAT = "yuv420p"


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
    def video_transcoded(self) -> bool:
        """Whether the video must be transcoded to go into mp4 (its codec is not in
        :data:`MP4_VIDEO_CODECS`); otherwise its packets are remuxed as they are."""
        return self.video.codec not in MP4_VIDEO_CODECS

    @property
    def output_format(self) -> str:
        """The container of the outputs: always ``"mp4"`` (see the module docstring)."""
        return OUTPUT_FORMAT

    @property
    def output_extension(self) -> str:
        return OUTPUT_EXTENSION


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
    except (av.error.FFmpegError, OSError) as e:
        raise MediaError(f"{path}: not a readable media file ({e})") from e


def probe(path: str | Path) -> MediaInfo:
    """Read streams, durations and rates of a media file (headers only, nothing decoded).

    Raises :class:`MediaError` naming the file when it is missing, unreadable, or has no
    video stream. A file without audio probes fine (``info.audio is None``); callers that
    need sound check that. Durations here are what the header says; what the streams
    really hold is measured by :func:`read_source` (``audio.duration``, ``video_end``).
    """
    path = str(path)
    with _open(path) as container:
        return _read_info(container, path)


def _read_info(container, path: str) -> MediaInfo:
    """:func:`probe`'s reading of an open container (headers only, nothing decoded)."""
    try:
        return _read_info_unchecked(container, path)
    except (av.error.FFmpegError, AttributeError) as e:  # AttributeError: a stream without codec
        raise MediaError(f"{path}: cannot read the stream headers ({e})") from e


def _read_info_unchecked(container, path: str) -> MediaInfo:
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
        collector = _AudioCollector(container.streams[info.audio.index], path)
        try:
            for frame in container.decode(collector.stream):
                collector.add(frame)
        except av.error.FFmpegError as e:
            raise collector.failure(e) from e
    return info, collector.finish(info)


class _AudioCollector:
    """Decoded frames → one aligned :class:`DecodedAudio` (shared by every decode path)."""

    def __init__(self, stream, path: str) -> None:
        self.stream = stream
        self.path = path
        # planar float at the native rate: no resampling, just a format change
        self.resampler = av.AudioResampler(format="fltp", layout=stream.codec_context.layout)
        self.chunks: list[np.ndarray] = []
        self.samples = 0
        self.first_pts: float | None = None

    def add(self, frame) -> None:
        if self.first_pts is None and frame.pts is not None:
            self.first_pts = float(frame.pts * frame.time_base)
        for out in self.resampler.resample(frame):
            chunk = out.to_ndarray()
            self.chunks.append(chunk)
            self.samples += chunk.shape[1]

    def failure(self, error: Exception, what: str = "audio stream") -> MediaError:
        """The error for a read that failed part-way: it says how much audio had decoded."""
        sr = self.stream.codec_context.sample_rate or 1
        return MediaError(
            f"{self.path}: the {what} cannot be read after {self.samples / sr:.3f} s of decoded "
            f"audio ({error}); the file is truncated or damaged"
        )

    def finish(self, info: MediaInfo) -> DecodedAudio:
        try:
            for out in self.resampler.resample(None):
                self.chunks.append(out.to_ndarray())
        except av.error.FFmpegError as e:
            raise self.failure(e) from e
        if not self.chunks:
            raise MediaError(f"{self.path}: audio stream holds no samples")
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


def complete_timestamps(
    pts: list[int | None], dts: list[int | None], durations: list[int | None]
) -> tuple[list[int], list[int]]:
    """Every packet's ``(pts, dts)``, the missing ones derived as FFmpeg's demuxer does.

    Lists are in decode order, in the stream's time base. When every timestamp is there,
    they come back unchanged. Missing presentation times are taken from the decoding time
    (or the previous packet's end); missing decoding times are derived from the
    presentation times: with the stream's reordering delay ``d`` (the fewest frames that
    keep every DTS at or before its PTS), packet ``i`` decodes at the ``(i - d)``-th
    smallest PTS — libavformat's ``pts_buffer`` rule — and the first ``d`` packets at the
    first PTS minus the same steps, mirrored. The result is strictly increasing for
    distinct presentation times (what mp4 needs).

    >>> complete_timestamps([0, 3, 1, 2], [None, None, None, None], [1, 1, 1, 1])
    ([0, 3, 1, 2], [-1, 0, 1, 2])
    >>> complete_timestamps([0, 4, 2, 1, 3], [None] * 5, [1] * 5)
    ([0, 4, 2, 1, 3], [-2, -1, 0, 1, 2])
    >>> complete_timestamps([10, 20, 30], [10, 20, 30], [10, 10, 10])
    ([10, 20, 30], [10, 20, 30])
    """
    n = len(pts)
    pts = list(pts)
    if n == 0:
        return [], []
    for i in range(n):
        if pts[i] is None:
            if dts[i] is not None:
                pts[i] = dts[i]
            elif i == 0:
                pts[i] = 0
            else:
                pts[i] = pts[i - 1] + (durations[i - 1] or 1)
    if all(d is not None for d in dts):
        return pts, list(dts)
    order = sorted(pts)
    # d: the reordering delay; bisect_right - 1 is the rank of pts[i] among the sorted ones
    delay = max(0, max(i - (bisect_right(order, p) - 1) for i, p in enumerate(pts)))
    first = order[0]
    derived = [
        order[i - delay] if i >= delay else 2 * first - order[min(delay - i, n - 1)]
        for i in range(n)
    ]
    return pts, derived


@dataclass
class VideoPackets:
    """The video stream of a source, demuxed once and kept in memory for remuxing.

    ``transcoded``: the packets are :func:`transcode_video`'s H.264, not the source's.
    """

    path: str
    info: MediaInfo
    packets: list  # av.Packet, in demux order
    template: object  # the input stream, for add_stream_from_template
    _container: object  # kept open: packets and template refer to it
    transcoded: bool = False
    #: what :func:`mux` needs of each packet, worked out once for the four outputs of a clip
    _mux_plan: list | None = field(default=None, repr=False)

    def mux_plan(self) -> list[tuple[float, bytes, int, int, int, bool]]:
        """``(interleave key, payload, pts, dts, duration, keyframe)`` per packet.

        Missing timestamps are completed (:func:`complete_timestamps`). Worked out on the
        first :func:`mux` and kept (``packets`` are not to change after).
        """
        if self._mux_plan is None:
            tb = self.template.time_base
            num, den = tb.numerator, tb.denominator
            ps = self.packets
            pts, dts = complete_timestamps([p.pts for p in ps], [p.dts for p in ps], [p.duration for p in ps])
            # int / int is correctly rounded: the same float as float(ts * time_base)
            self._mux_plan = [
                ((d * num) / den, bytes(p), t, d, p.duration, p.is_keyframe)
                for p, t, d in zip(ps, pts, dts, strict=True)
            ]
        return self._mux_plan

    @property
    def end_time(self) -> float:
        """Where the last frame ends, in seconds on the timeline (origin 0)."""
        return _video_end(self.packets, self.template.time_base, self.info.start_time)

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> VideoPackets:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _video_end(packets, time_base, origin: float) -> float:
    ends = [(p.pts if p.pts is not None else p.dts) + (p.duration or 0) for p in packets
            if p.pts is not None or p.dts is not None]
    return float(max(ends) * time_base) - origin if ends else 0.0


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
    """A source read in one pass: its probe, its decoded audio and its video packets.

    ``video_end``: where the last video frame ends (seconds on the timeline), measured on
    the packets that are really in the file — unlike the header's ``info.duration``.
    ``video`` is None when the packets were not kept (``read_source(keep_video=False)``).
    """

    info: MediaInfo
    audio: DecodedAudio
    video: VideoPackets | None
    video_end: float
    _container: object = field(default=None, repr=False)

    def close(self) -> None:
        if self._container is not None:
            self._container.close()

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_source(path: str | Path, *, keep_video: bool = True) -> Source:
    """Open ``path`` once: probe it, decode its audio and demux its video packets together.

    The same as :func:`probe` + :func:`decode_audio` + :func:`read_video_packets` (same
    values, same errors), in one open and one demux pass instead of three. Close the result
    (or use it as a context manager) when the outputs are muxed. ``keep_video=False`` only
    measures the video (``video_end``) and keeps no packets. A read that fails part-way
    (a damaged or truncated file) raises :class:`MediaError` saying how much audio had
    decoded.
    """
    path = str(path)
    container = _open(path)
    try:
        info = _read_info(container, path)
        if info.audio is None:
            raise MediaError(f"{path}: no audio stream (Thud needs the clip's sound)")
        vstream = container.streams[info.video.index]
        collector = _AudioCollector(container.streams[info.audio.index], path)
        packets = []
        end = None
        vindex = vstream.index
        try:
            for packet in container.demux(vstream, collector.stream):
                if packet.stream.index == vindex:
                    if packet.size > 0:
                        ts = packet.pts if packet.pts is not None else packet.dts
                        if ts is not None:
                            stop = ts + (packet.duration or 0)
                            end = stop if end is None or stop > end else end
                        if keep_video:
                            packets.append(packet)
                    continue
                for frame in packet.decode():
                    collector.add(frame)
        except av.error.FFmpegError as e:
            raise collector.failure(e, "file") from e
        if end is None:
            raise MediaError(f"{path}: video stream holds no packets")
        audio = collector.finish(info)
    except BaseException:
        container.close()
        raise
    video_end = float(end * vstream.time_base) - info.start_time
    if not keep_video:
        container.close()
        return Source(info, audio, None, video_end)
    video = VideoPackets(path=path, info=info, packets=packets, template=vstream, _container=container)
    return Source(info, audio, video, video_end, container)


def transcode_video(video: VideoPackets) -> VideoPackets:
    """``video``'s frames encoded once to H.264 (:data:`TRANSCODE_OPTIONS`), as packets to mux.

    For codecs mp4 cannot carry. Every frame keeps its presentation time (no B-frames:
    decoding time = presentation time), so the picture's timing and its relation to the
    sound are the source's. Frames are converted to 8-bit 4:2:0; an odd width or height
    loses its last column or row (4:2:0 needs even sizes). Deterministic: the same source
    gives the same bytes. Raises :class:`MediaError` naming the file on a codec error.
    """
    path = video.path
    src = video.template
    try:
        data = _encode_h264(video, src)
        container = av.open(io.BytesIO(data))
    except av.error.FFmpegError as e:
        raise MediaError(f"{path}: the video cannot be transcoded to H.264 ({e})") from e
    stream = container.streams.video[0]
    packets = [p for p in container.demux(stream) if p.size > 0]
    if not packets:
        container.close()
        raise MediaError(f"{path}: the video decodes to no frame")
    # each frame lasts as long as its source packet did (the encoder guesses from the rate)
    durations = {p.pts * src.time_base: p.duration for p in video.packets if p.pts is not None and p.duration}
    for p in packets:
        duration = durations.get(p.pts * stream.time_base)
        if duration:
            p.duration = round(duration * src.time_base / stream.time_base)
    return VideoPackets(path, video.info, packets, stream, container, transcoded=True)


def _encode_h264(video: VideoPackets, src) -> bytes:
    """Decode ``video``'s packets and encode them into an in-memory, video-only mp4."""
    dec = src.codec_context
    dec.thread_type = "AUTO"  # decoding is exact whatever the threads
    tb = src.time_base
    width, height = dec.width - dec.width % 2, dec.height - dec.height % 2
    buf = io.BytesIO()
    out = av.open(buf, "w", format=OUTPUT_FORMAT, options={"movie_timescale": _movie_timescale(tb)})
    out.flags |= av.container.Flags.bitexact.value
    try:
        vs = out.add_stream(TRANSCODE_CODEC, options=dict(TRANSCODE_OPTIONS))
        cc = vs.codec_context
        cc.width, cc.height, cc.pix_fmt = width, height, TRANSCODE_PIXEL_FORMAT
        cc.time_base = tb
        vs.time_base = tb
        rate = src.average_rate or src.guessed_rate
        if rate:
            cc.framerate = rate
        if dec.sample_aspect_ratio:
            cc.sample_aspect_ratio = dec.sample_aspect_ratio
        cc.flags |= av.codec.context.Flags.bitexact
        convert = _frame_converter(dec, width, height, tb)
        # a frame without a time (or one out of order) follows the previous one by a frame
        step = max(1, round(1 / (rate * tb))) if rate else 1
        last = None

        def encode(frame) -> None:
            nonlocal last
            if frame is not None:
                pts = frame.pts
                if pts is None or (last is not None and pts <= last):
                    pts = last + (frame.duration or step) if last is not None else 0
                last = pts
                frame.pts = pts
                frame.time_base = tb
                frame.pict_type = av.video.frame.PictureType.NONE  # the encoder picks keyframes
            for packet in vs.encode(frame):
                out.mux(packet)

        for packet in [*video.packets, None]:
            frames = dec.decode(packet)
            for frame in frames:
                for converted in convert(frame):
                    encode(converted)
        for converted in convert(None):
            encode(converted)
        encode(None)
    finally:
        out.close()
    return buf.getvalue()


def _frame_converter(dec, width: int, height: int, tb: Fraction):
    """A function frame → frames in the encoder's format and size (identity when they are).

    Conversions go through a filter graph: ``crop`` (exact) for odd sizes and ``format``
    for other pixel formats.
    """
    graph = None

    def convert(frame):
        nonlocal graph
        if frame is None:
            return _drain(graph) if graph is not None else []
        if graph is None and (
            frame.format.name == TRANSCODE_PIXEL_FORMAT and (frame.width, frame.height) == (width, height)
        ):
            return [frame]
        if graph is None:
            graph = av.filter.Graph()
            buffer = graph.add_buffer(width=frame.width, height=frame.height, format=frame.format, time_base=tb)
            crop = graph.add("crop", f"{width}:{height}:0:0")
            fmt = graph.add("format", TRANSCODE_PIXEL_FORMAT)
            sink = graph.add("buffersink")
            buffer.link_to(crop)
            crop.link_to(fmt)
            fmt.link_to(sink)
            graph.configure()
        graph.push(frame)
        return _drain(graph, eof=False)

    return convert


def _drain(graph, eof: bool = True) -> list:
    if eof:
        graph.push(None)
    frames = []
    while True:
        try:
            frames.append(graph.pull())
        except (av.error.BlockingIOError, av.error.EOFError):
            return frames


@dataclass(frozen=True)
class EncodedAudio:
    """Audio packets ready to mux: ``(pts, dts, duration, bytes)`` in 1/sample_rate units.

    ``encoder``: the settings the encoder was opened with, read back from it (codec, rate,
    layout, sample format, bit rate, flags) — what the no-leakage rule compares.
    """

    codec: str
    sample_rate: int
    layout: str
    bit_rate: int
    extradata: bytes | None
    packets: tuple[tuple[int | None, int | None, int, bytes], ...]
    encoder: str = ""


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
    try:
        ctx = av.CodecContext.create(codec, "w")
        ctx.sample_rate = sample_rate
        ctx.layout = layout
        # the codec's own sample format (AAC: fltp, FLAC: s16); PyAV converts the frames
        ctx.format = ctx.codec.audio_formats[0].name if ctx.codec.audio_formats else "fltp"
        ctx.bit_rate = bit_rate
        ctx.time_base = Fraction(1, sample_rate)
        ctx.flags |= av.codec.context.Flags.bitexact
        ctx.open()
        encoder = (
            f"{ctx.name} {ctx.sample_rate} Hz {ctx.layout.name} {ctx.format.name} "
            f"{ctx.bit_rate} b/s flags={int(ctx.flags)} profile={ctx.profile}"
        )
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
    except av.error.FFmpegError as e:
        raise MediaError(f"the {codec} encoder failed at {sample_rate} Hz {layout} ({e})") from e
    encoded = tuple((p.pts, p.dts, p.duration, bytes(p)) for p in packets)
    extradata = bytes(ctx.extradata) if ctx.extradata else None
    return EncodedAudio(codec, sample_rate, layout, bit_rate, extradata, encoded, encoder)


def mux(video: VideoPackets, audio: EncodedAudio) -> bytes:
    """Write the video packets unchanged plus ``audio`` into a new mp4; return its bytes.

    The audio starts at the timeline origin (see the module docstring). Output is
    byte-identical for identical inputs. Raises :class:`MediaError` naming the source.
    """
    try:
        return _mux(video, audio)
    except av.error.FFmpegError as e:
        raise MediaError(f"{video.path}: cannot write the {OUTPUT_FORMAT} output ({e})") from e


def _movie_timescale(time_base: Fraction) -> str:
    """The mp4 ``movie_timescale`` for a video in ``time_base``: a multiple of its
    denominator, so edit lists (e.g. a first frame at 33.367 ms) are exact — at the default
    of 1000 the muxer rounds them and every frame moves by up to 0.5 ms."""
    den = time_base.denominator
    return str(den * -(-1000 // den))


def _mux(video: VideoPackets, audio: EncodedAudio) -> bytes:
    buf = io.BytesIO()
    options = {"movie_timescale": _movie_timescale(video.template.time_base)}
    out = av.open(buf, "w", format=OUTPUT_FORMAT, options=options)
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
                q.pts = pts - v_off
                q.dts = dts - v_off
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
