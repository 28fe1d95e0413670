"""Measure what a built file really contains, by decoding it.

Claims about an intervention are checked on the output file, not assumed from the code
that wrote it: where the audio event lands (cross-correlation against the source), that the
video packets are the source's, that a muted file decodes to silence. The builder's own
tests use these functions, and :func:`verify_build` (``builder_scripts/verify.py``) runs
them over every probe of a built folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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

    * every condition: video packets byte-identical to the source's, an audio stream;
    * original / shift: the decoded audio is the source's displaced by ``offset_s``
      (0 for original) within ``tolerance_s``;
    * mute: the audio decodes to digital silence.
    """
    check = ProbeCheck(condition)
    if video_packets(source_path) != video_packets(output_path):
        check.problems.append("video packets differ from the source's")
    info = media.probe(output_path)
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
    return result
