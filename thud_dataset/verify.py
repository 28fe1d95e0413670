"""Measure what a built file really contains, by decoding it.

Claims about an intervention are checked on the output file, not assumed from the code
that wrote it: where the audio event lands (cross-correlation against the source), that the
video packets are the source's (or, for a transcoded source, the same in every condition)
and sit at the source's times, that a muted file decodes to silence, that nothing but the
sound differs between the conditions. The builder's own tests use these functions, and
:func:`verify_build` (``builder_scripts/verify.py``) runs them over every probe of a built
folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from . import media


def measure_lag(reference: np.ndarray, edited: np.ndarray, sample_rate: int, max_lag_s: float = 2.0) -> int:
    """The lag in samples that best aligns ``edited`` to ``reference`` (positive: later).

    Both are 1-D or ``(channels, n)`` (channels are averaged); they may differ in length
    (the shorter is zero-padded, so a short donor placed late in a long clip is found).
    Uses FFT cross-correlation restricted to ``|lag| <= max_lag_s``.

    >>> import numpy as np
    >>> x = np.zeros(1000); x[100] = 1.0
    >>> measure_lag(x, np.roll(x, 37), sample_rate=1000)
    37
    """
    a = np.asarray(reference, np.float64)
    b = np.asarray(edited, np.float64)
    a = a.mean(axis=0) if a.ndim == 2 else a
    b = b.mean(axis=0) if b.ndim == 2 else b
    a, b = a - a.mean(), b - b.mean()
    n = max(len(a), len(b))
    size = 1 << int(np.ceil(np.log2(2 * n)))
    corr = np.fft.irfft(np.fft.rfft(b, size) * np.conj(np.fft.rfft(a, size)), size)
    max_lag = min(int(max_lag_s * sample_rate), n - 1)
    lags = np.concatenate([np.arange(0, max_lag + 1), np.arange(-max_lag, 0)])
    values = np.concatenate([corr[: max_lag + 1], corr[size - max_lag :]])
    return int(lags[int(np.argmax(values))])


def onset_time(samples: np.ndarray, sample_rate: int, threshold_db: float = -20.0) -> float | None:
    """Time (s) of the first sample within ``threshold_db`` of the peak; None if silent.

    Meant for clips with one dominant transient over a low noise floor (the synthetic
    source): the impact's first sample is the first one that loud.
    """
    x = np.abs(np.asarray(samples, np.float64))
    x = x.max(axis=0) if x.ndim == 2 else x
    peak = float(x.max()) if x.size else 0.0
    if peak <= 0:
        return None
    idx = np.flatnonzero(x >= peak * 10 ** (threshold_db / 20))
    return float(idx[0]) / sample_rate


def video_packets(path: str | Path) -> list[bytes]:
    """The video stream's packet payloads, in order, without decoding."""
    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(c.streams.video[0]) if p.size]


#: one video packet's (pts, dts, duration) in seconds; None where the file has no value
Timing = tuple[Fraction | None, Fraction | None, Fraction | None]


def video_timeline(path: str | Path) -> list[Timing]:
    """Every video packet's ``(pts, dts, duration)`` in seconds, in decode order.

    On the file's presentation timeline: t = 0 is the container's origin (or the file's
    zero when the container starts before it), the origin Thud's outputs are rebased to.
    Exact (fractions of the stream's time base).
    """
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        tb = stream.time_base
        start = Fraction(c.start_time or 0, av.time_base)
        origin = round(max(start, Fraction(0)) / tb)

        def seconds(ts: int | None) -> Fraction | None:
            return None if ts is None else (ts - origin) * tb

        return [
            (seconds(p.pts), seconds(p.dts), p.duration * tb if p.duration else None)
            for p in c.demux(stream)
            if p.size
        ]


def video_timing_problems(source: list[Timing], output: list[Timing]) -> list[str]:
    """How ``output``'s video timing differs from ``source``'s (both from :func:`video_timeline`).

    Every packet must keep its presentation time, and its decoding time where the source
    states one (Matroska with B-frames states none; Thud derives them). mp4 stores a
    packet's duration as the gap to the next packet's decoding time, so durations are
    compared with the source's gaps, and the last with the source's last duration.
    """
    if len(source) != len(output):
        return [f"{len(output)} video packets, the source has {len(source)}"]
    problems = []
    for i, ((s_pts, s_dts, s_dur), (o_pts, o_dts, o_dur)) in enumerate(zip(source, output, strict=True)):
        if s_pts is not None and o_pts != s_pts:
            problems.append(f"video packet {i}: pts {_ms(o_pts)}, the source's is {_ms(s_pts)}")
        if s_dts is not None and o_dts != s_dts:
            problems.append(f"video packet {i}: dts {_ms(o_dts)}, the source's is {_ms(s_dts)}")
        if i + 1 < len(source):
            nxt = source[i + 1][1]
            want = nxt - s_dts if nxt is not None and s_dts is not None else None
        else:
            want = s_dur
        if want is not None and o_dur != want:
            problems.append(f"video packet {i}: duration {_ms(o_dur)}, the source's is {_ms(want)}")
        if len(problems) >= 5:
            problems.append("…")
            break
    return problems


def _ms(t: Fraction | None) -> str:
    return "none" if t is None else f"{float(t) * 1000:.3f} ms"


def container_facts(path: str | Path) -> dict:
    """Everything a file shows besides its sound, for the no-leakage comparison.

    Container and stream metadata (keys and values), codecs, profiles, rates, layouts,
    time bases, start times and durations, codec extradata, dispositions, the audio's
    packet count and timestamps, and the video packets (bytes and timing). Two conditions
    of a clip must give equal facts: only the audio payload may differ.
    """
    with av.open(str(path)) as c:
        facts: dict = {
            "format": c.format.name,
            "metadata": dict(c.metadata),
            "duration": c.duration,
            "start_time": c.start_time,
            "streams": [],
        }
        for s in c.streams:
            cc = s.codec_context
            facts["streams"].append(
                {
                    "type": s.type,
                    "codec": cc.name,
                    "profile": cc.profile,
                    "metadata": dict(s.metadata),
                    "time_base": str(s.time_base),
                    "start_time": s.start_time,
                    "duration": s.duration,
                    "frames": s.frames,
                    "disposition": int(s.disposition),
                    "extradata": bytes(cc.extradata or b""),
                    **(
                        {"width": cc.width, "height": cc.height, "rate": str(s.average_rate)}
                        if s.type == "video"
                        else {"sample_rate": cc.sample_rate, "layout": cc.layout.name, "format": cc.format.name}
                        if s.type == "audio"
                        else {}
                    ),
                }
            )
        packets: dict[str, list] = {"video": [], "audio": []}
        for p in c.demux():
            if p.stream.type in packets and p.size:
                payload = bytes(p) if p.stream.type == "video" else None  # the sound may differ
                packets[p.stream.type].append((p.pts, p.dts, p.duration, p.is_keyframe, payload))
        facts["packets"] = packets
    return facts


def stream_layout(path: str | Path) -> list[tuple]:
    """What a file shows besides its sound: streams, codecs, rates, sizes, metadata keys."""
    with av.open(str(path)) as c:
        layout = [("format", c.format.name, tuple(sorted(c.metadata)))]
        for s in c.streams:
            cc = s.codec_context
            if s.type == "video":
                layout.append(("video", cc.name, cc.width, cc.height, str(s.average_rate), tuple(sorted(s.metadata))))
            elif s.type == "audio":
                # not the measured bit rate: like the file size, it follows from the sound
                layout.append(("audio", cc.name, cc.profile, cc.sample_rate, cc.channels, tuple(sorted(s.metadata))))
            else:
                layout.append((s.type,))
        return layout


@dataclass
class ProbeCheck:
    """The result of decoding one materialized probe file."""

    condition: str
    problems: list[str] = field(default_factory=list)
    measured_offset_s: float | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def check_condition(
    source_path: str | Path,
    output_path: str | Path,
    condition: str,
    offset_s: float = 0.0,
    *,
    tolerance_s: float = 0.001,
) -> ProbeCheck:
    """Decode ``output_path`` and check it is ``condition`` of ``source_path``.

    * every condition: an mp4 with an audio stream, whose video packets sit at the
      source's times (:func:`video_timing_problems`) and are byte-identical to the
      source's — or, for a source whose codec mp4 cannot carry, are H.264 (the clip's one
      transcode; :func:`verify_build` checks that all conditions share them);
    * original / shift: the decoded audio is the source's displaced by ``offset_s``
      (0 for original) within ``tolerance_s``;
    * mute: the audio decodes to digital silence.
    """
    check = ProbeCheck(condition)
    source_info = media.probe(source_path)
    info = media.probe(output_path)
    if "mp4" not in info.format_name.split(","):
        check.problems.append(f"the file is {info.format_name}, not mp4")
    if source_info.video_transcoded:
        if info.video.codec != "h264":
            check.problems.append(
                f"the source's {source_info.video.codec} video should be transcoded to h264, found {info.video.codec}"
            )
    elif video_packets(source_path) != video_packets(output_path):
        check.problems.append("video packets differ from the source's")
    check.problems += video_timing_problems(video_timeline(source_path), video_timeline(output_path))
    if info.audio is None:
        check.problems.append("no audio stream")
        return check
    out = media.decode_audio(output_path, info)
    if condition == "mute":
        peak = float(np.max(np.abs(out.samples)))
        if peak != 0.0:
            check.problems.append(f"muted audio is not silent (peak {peak:.2e})")
        return check
    if condition in ("original", "shift"):
        src = media.decode_audio(source_path)
        lag = measure_lag(src.samples, out.samples, src.sample_rate, max_lag_s=abs(offset_s) + 0.5)
        check.measured_offset_s = lag / src.sample_rate
        if abs(check.measured_offset_s - offset_s) > tolerance_s:
            check.problems.append(
                f"audio is displaced by {check.measured_offset_s:+.4f} s, expected {offset_s:+.4f} s"
            )
    return check


@dataclass
class BuildCheck:
    """The result of :func:`verify_build`: probes checked and every problem found."""

    folder: str
    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.checked > 0 and not self.problems

    def summary(self) -> str:
        head = f"{self.folder}: {self.checked} probes decoded and checked, {len(self.problems)} problems"
        return "\n".join([head, *(f"  - {p}" for p in self.problems)])


def _parquet_rows(folder: Path, config: str, columns: list[str]) -> list[dict]:
    import pyarrow.parquet as pq

    from .hub.card import card_configs

    rows: list[dict] = []
    for patterns in card_configs(folder).get(config, {}).values():
        for pattern in patterns:
            for path in sorted(folder.glob(pattern)):
                rows += pq.read_table(path, columns=columns).to_pylist()
    return rows


def verify_build(folder: str | Path, *, tolerance_s: float = 0.001) -> BuildCheck:
    """Decode every probe of a built folder and check it against its source clip.

    The sources are the ``clips`` config's embedded videos. Each probe goes through
    :func:`check_condition` with its own ``condition`` and ``offset_s``.
    """
    import tempfile

    folder = Path(folder)
    result = BuildCheck(str(folder))
    sources = {r["clip_id"]: r["video"]["bytes"] for r in _parquet_rows(folder, "clips", ["clip_id", "video"])}
    probes = _parquet_rows(folder, "probes", ["probe_id", "clip_id", "condition", "offset_s", "video"])
    video: dict[str, list[bytes]] = {}  # clip_id → the video packets all its probes share
    with tempfile.TemporaryDirectory(prefix="thud-verify-") as tmp:
        for row in probes:
            data = sources.get(row["clip_id"])
            if data is None:
                result.problems.append(f"probe {row['probe_id']}: clip {row['clip_id']!r} is not in the clips config")
                continue
            src, out = Path(tmp) / "source", Path(tmp) / "probe"
            src.write_bytes(data)
            out.write_bytes(row["video"]["bytes"])
            check = check_condition(src, out, row["condition"], row["offset_s"] or 0.0, tolerance_s=tolerance_s)
            result.checked += 1
            result.problems += [f"probe {row['probe_id']} ({row['condition']}): {p}" for p in check.problems]
            packets = video_packets(out)
            if packets != video.setdefault(row["clip_id"], packets):
                result.problems.append(
                    f"probe {row['probe_id']} ({row['condition']}): video packets differ from the other "
                    f"conditions of clip {row['clip_id']!r}"
                )
    return result
