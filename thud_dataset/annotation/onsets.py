"""A signal-based audio annotator: the strongest acoustic onset of a clip, with a confidence.

One of the audio sources of cross-verification (:mod:`thud_dataset.annotation.crossverify`). It
decodes the clip's audio the way the builder does (:func:`thud_dataset.media.decode_audio`,
so t = 0 is the first video frame), mixes it to mono and runs librosa's onset detection
(spectral-flux onset strength, peak picking). The candidate ``audio_time`` is the onset
with the largest strength; when a ``visual_time`` is known, only onsets in
``[visual_time - before, visual_time + after]`` compete (the sound of an impact follows
what is seen, give or take annotation error).

Confidence, in ``[0, 1]``: with ``s1 ≥ s2`` the strengths (onset envelope above its
median) of the best and the second-best competing onset, ``1 - s2 / s1``; a lone onset
scores 1, two equally strong onsets 0. Onsets in the first/last ``edge_s`` seconds are
ignored (the start and end of the track read as onsets). A rough guide: above ~0.5 one
event clearly dominates; below ~0.2 the clip has several similar events (music, speech)
and the time should come from another annotator.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["OnsetEstimate", "annotate_clips", "annotate_file", "detect_onsets", "estimate_onset"]

ANNOTATOR_NAME = "onset"
DEFAULT_HOP = 256  # ≈ 5.8 ms at 44.1 kHz
DEFAULT_EDGE_S = 0.06
DEFAULT_WINDOW = (0.3, 0.7)  # s before / after the visual time


@dataclass(frozen=True)
class OnsetEstimate:
    """The candidate audio-event time of one clip."""

    audio_time: float | None  # None when no onset competes
    confidence: float
    candidates: tuple[tuple[float, float], ...]  # (time s, strength), strongest first, ≤ 5

    def to_dict(self) -> dict:
        return {
            "audio_time": self.audio_time,
            "audio_confidence": round(self.confidence, 4),
            "onset_candidates": [[round(t, 4), round(s, 4)] for t, s in self.candidates],
        }


def detect_onsets(
    samples: np.ndarray,
    sample_rate: int,
    *,
    hop_length: int = DEFAULT_HOP,
    edge_s: float = DEFAULT_EDGE_S,
) -> list[tuple[float, float]]:
    """All onsets of ``samples`` (``(n,)`` or ``(channels, n)``) as ``(time, strength)``.

    Strength is the onset envelope at the peak minus the envelope's median (≥ 0).
    """
    import librosa

    y = np.asarray(samples, dtype=np.float32)
    if y.ndim == 2:
        y = y.mean(axis=0)
    if y.size < hop_length * 4 or not np.any(y):
        return []  # too short, or digital silence: no onset
    env = librosa.onset.onset_strength(y=y, sr=sample_rate, hop_length=hop_length)
    peaks = librosa.onset.onset_detect(
        onset_envelope=env, sr=sample_rate, hop_length=hop_length, units="frames"
    )
    floor = float(np.median(env))
    duration = y.size / sample_rate
    out = []
    for frame in peaks:
        t = float(librosa.frames_to_time(frame, sr=sample_rate, hop_length=hop_length))
        if t < edge_s or t > duration - edge_s:
            continue
        out.append((t, max(0.0, float(env[frame]) - floor)))
    return out


def estimate_onset(
    samples: np.ndarray,
    sample_rate: int,
    *,
    near: float | None = None,
    window: tuple[float, float] = DEFAULT_WINDOW,
    hop_length: int = DEFAULT_HOP,
    edge_s: float = DEFAULT_EDGE_S,
) -> OnsetEstimate:
    """The strongest onset (near ``near`` if given) and its confidence."""
    onsets = detect_onsets(samples, sample_rate, hop_length=hop_length, edge_s=edge_s)
    if near is not None and math.isfinite(near):
        before, after = window
        onsets = [(t, s) for t, s in onsets if near - before <= t <= near + after]
    onsets.sort(key=lambda ts: (-ts[1], ts[0]))
    if not onsets or onsets[0][1] <= 0:
        return OnsetEstimate(None, 0.0, tuple(onsets[:5]))
    s1 = onsets[0][1]
    s2 = onsets[1][1] if len(onsets) > 1 else 0.0
    return OnsetEstimate(onsets[0][0], 1.0 - s2 / s1, tuple(onsets[:5]))


def annotate_file(path: str | Path, *, near: float | None = None, **kwargs) -> OnsetEstimate:
    """Decode ``path``'s audio (as the builder does) and estimate its onset."""
    from thud_dataset.media import decode_audio

    audio = decode_audio(path)
    return estimate_onset(audio.samples, audio.sample_rate, near=near, **kwargs)


def annotate_clips(
    rows: Iterable[dict],
    data_dir: str | Path,
    *,
    use_visual_time: bool = True,
    min_confidence: float = 0.0,
    **kwargs,
) -> list[dict]:
    """One audio-annotator row per input row (``clip_id``/``file``, optional ``visual_time``).

    The output is an annotator file for :func:`thud_dataset.annotation.crossverify.cross_verify`:
    ``clip_id``, ``file``, ``audio_event`` (``"acoustic onset"``), ``audio_time``,
    ``audio_confidence``, ``onset_candidates``. ``audio_time`` is null when no onset was
    found, when its confidence is under ``min_confidence`` (then ``note`` says so), or when
    the file cannot be decoded (then ``error`` holds the reason) — a null time is "no vote".
    """
    data_dir = Path(data_dir)
    out = []
    for row in rows:
        file = row.get("file")
        cid = row.get("clip_id") or (Path(file).stem if isinstance(file, str) else None)
        rec: dict = {"clip_id": cid, "file": file, "audio_event": "acoustic onset"}
        if not isinstance(file, str) or not file:
            rec.update(audio_time=None, error="no 'file' in the row")
            out.append(rec)
            continue
        path = Path(file) if Path(file).is_absolute() else data_dir / file
        near = row.get("visual_time") if use_visual_time else None
        near = (
            float(near) if isinstance(near, (int, float)) and not isinstance(near, bool) else None
        )
        try:
            est = annotate_file(path, near=near, **kwargs)
        except Exception as exc:  # a clip that cannot be decoded gets no vote, and says why
            rec.update(audio_time=None, error=f"{type(exc).__name__}: {exc}")
            out.append(rec)
            continue
        rec.update(est.to_dict())
        if est.audio_time is None:
            rec["note"] = "no onset found" + (f" near {near:g} s" if near is not None else "")
        elif est.confidence < min_confidence:
            rec["note"] = (
                f"onset at {est.audio_time:.3f} s has confidence {est.confidence:.2f} "
                f"< {min_confidence:g}; not used"
            )
            rec["audio_time"] = None
        out.append(rec)
    return out
