"""The signal baseline: listens to the sound itself, with no learned weights.

What it measures (:func:`analyse`, returning :class:`SignalEvidence`):

* **Existence — energy.** The loudest 50 ms of the track (RMS, dBFS). Below
  ``silence_dbfs`` (default -60 dBFS) the track is silent. Thud's Mute writes digital
  silence, so this is exact on muted probes; a real recording's room tone sits well above.
* **Timing — cross-correlation.** An *audio onset envelope* (librosa's spectral-flux onset
  strength on a log-mel spectrogram, 10 ms hop, 16 kHz; each band floored at its typical
  level so the edge of a silence-filled gap is no onset) is cross-correlated with a
  *visual impact envelope* from the frames. PyAV decodes them grey, area-averaged to at most
  224 px wide; per frame the baseline measures the motion energy (mean absolute frame
  difference) and the lowest row that changed (the bottom of what moves). An impact is
  where *downward motion stops*: the lowest moving edge loses its downward speed (it stops,
  or rebounds) while the motion energy drops. The top of a bounce stops motion too but loses
  no downward speed, so it is not taken for an impact. The lag of the correlation peak is
  the offset estimate ``tau`` (audio time − picture time; > 0: the audio is heard late).
  Its precision is bounded by the frame period (40 ms at 25 fps); a correlation peak that
  does not stand out lowers ``confidence``, and below ``min_confidence`` no offset is
  claimed.
* **Consistency — event structure, as far as a signal can tell.** A sound made by the
  object in the picture repeats where the object bounces; a sound from elsewhere does not
  follow the picture's bounces. The baseline compares what happens *after* the main impact:
  a bounce the picture shows must be heard at the same delay (±80 ms), and a loud repeat in
  the sound at least 0.25 s later (a bounce with that much airtime rises ~8 cm: it would be
  seen) must be seen. Quick repeats decide nothing (a hop of millimetres is heard, not
  seen). **What it cannot do**: tell materials apart. A wooden thud and a metal clang, a
  glass clink and a ceramic crash — sounds with the same event structure — look the same to
  it; that needs a learned audio–visual correspondence. Thud's Swap places the donor's
  impact at the picture's, so timing alone says nothing about consistency either. On the
  synthetic set it therefore catches the swaps where one side bounces visibly (the rubber
  ball) and calls the rest consistent (``docs/baselines.md`` has the numbers).

:class:`SignalBaseline` answers a probe's prompt with this evidence: it reads which
dimension is asked (:func:`~thud_models.baselines.prompt_options.read_prompt`) and
answers with the option letter and one sentence of evidence, e.g. ``"C. The impact is seen
at 1.68 s and heard at 2.18 s: the audio is delayed by 0.50 s."`` (the metric reads the
label from the letter and the offset from the sentence). A "how many ...?" question (the
audio-path check's beep count) is answered with the number of sound onsets.

On real clips the same measurements run (a clip without audio, without motion or without
a fall does not crash it); the "impact" is then the strongest stop of downward motion, or
of any motion, and the confidence says how much to trust it.
"""

from __future__ import annotations

import math
import re
import warnings
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path

import av
import numpy as np

from .prompt_options import read_prompt

__all__ = [
    "MotionTrack",
    "SignalBaseline",
    "SignalEvidence",
    "SignalSettings",
    "analyse",
    "audio_onset_envelope",
    "estimate_offset",
    "impact_envelope",
    "landing_strength",
    "loudest_dbfs",
    "structures_match",
    "visual_motion_envelope",
]

#: the rate the audio is analysed at, and the envelopes' common time grid (Hz)
ANALYSIS_SR = 16_000
ENVELOPE_RATE = 100


@dataclass(frozen=True)
class SignalSettings:
    """Thresholds of the signal baseline (tuned on synthetic clips of source seed 0, checked
    on another source seed; see ``docs/baselines.md``).

    Attributes
    ----------
    silence_dbfs : the track is silent when its loudest 50 ms are below this RMS level
    sync_tolerance_s : |offset| below this is "synchronized" (the frame period at 25 fps is
        40 ms, and the broadcast detectability thresholds are ~45 ms lead / ~125 ms lag)
    max_lag_s : largest |offset| searched
    frame_width : frames are decoded grey at (at most) this width in px
    smooth_s : both envelopes are smoothed with a Gaussian of this width before correlating
    repeat_window_s : secondary impacts are looked for (start, end) s after the main one
    visual_repeat_min : a landing after the main impact is a visible bounce when its loss of
        downward speed is at least this share of the main impact's
    audio_repeat_min : an onset after the main one is a heard repeat when its strength
        (above the track's median) is at least this share of the main onset's
    loud_repeat_min, visible_airtime_s : with no bounce seen, a heard repeat at least this
        strong and at least this long after the main impact means the sound is another
        object's: a bounce with 0.25 s in the air rises g T^2 / 8 ~ 8 cm, so the picture
        would show it land
    bounce_match_s : secondary impacts seen and heard this close (s) are the same event
    min_confidence : below this correlation confidence no offset is claimed (the answer
        falls back to "synchronized" and says that the timing could not be established)
    """

    silence_dbfs: float = -60.0
    sync_tolerance_s: float = 0.1
    max_lag_s: float = 2.0
    frame_width: int = 224
    smooth_s: float = 0.02
    repeat_window_s: tuple[float, float] = (0.06, 0.8)
    visual_repeat_min: float = 0.2
    audio_repeat_min: float = 0.3
    loud_repeat_min: float = 0.45
    visible_airtime_s: float = 0.25
    bounce_match_s: float = 0.08
    min_confidence: float = 0.15


@dataclass(frozen=True)
class SignalEvidence:
    """What :func:`analyse` measured in one video. Times are seconds from the first frame.

    Attributes
    ----------
    path : the video analysed
    duration_s : duration of the video stream
    has_audio : whether the file has an audio stream at all
    loudest_dbfs : RMS level of the loudest 50 ms of the audio (``-inf`` for digital silence)
    silent : ``loudest_dbfs < silence_dbfs`` (or no audio stream)
    audio_onset_s : the strongest audio onset (None when silent)
    audio_onsets_s : every clear audio onset (strength >= 30 % of the strongest, and the
        level rising by >= 6 dB there: the abrupt end of a sound is no onset)
    visual_event_s : the strongest visible impact (None when nothing lands or moves)
    visual_events_s : every clear visible impact (>= 30 % of the strongest)
    offset_s : estimated ``tau``, audio time − picture time, from the cross-correlation peak
    confidence : 0..1, how much the correlation peak stands out (0 without an estimate)
    heard_repeats, seen_repeats : secondary impacts after the main one, as
        ``(delay_s, share of the main one)``, in the sound and in the picture
    consistent : whether the sound's event structure follows the picture's (None if silent
        or nothing to compare)
    consistency_reason : why, in words
    fps : the video's frame rate
    notes : anything that limited the analysis
    """

    path: str
    duration_s: float
    has_audio: bool
    loudest_dbfs: float
    silent: bool
    audio_onset_s: float | None
    audio_onsets_s: tuple[float, ...]
    visual_event_s: float | None
    visual_events_s: tuple[float, ...]
    offset_s: float | None
    confidence: float
    heard_repeats: tuple[tuple[float, float], ...]
    seen_repeats: tuple[tuple[float, float], ...]
    consistent: bool | None
    consistency_reason: str
    fps: float
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        """A JSON-ready dict (``-inf`` dBFS becomes None)."""
        d = asdict(self)
        if not math.isfinite(d["loudest_dbfs"]):
            d["loudest_dbfs"] = None
        return d

    @property
    def heard_s(self) -> float | None:
        """When the main impact is heard: ``visual_event_s + offset_s``."""
        if self.visual_event_s is None or self.offset_s is None:
            return self.audio_onset_s
        return round(self.visual_event_s + self.offset_s, 3)


# -- audio -------------------------------------------------------------------------------


def _mono_16k(path: str) -> tuple[np.ndarray, bool]:
    """The track as 16 kHz mono float32 on the video's timeline; (samples, has_audio)."""
    import librosa

    from thud_dataset.media import decode_audio, probe

    info = probe(path)
    if info.audio is None:
        return np.zeros(0, np.float32), False
    decoded = decode_audio(path, info)
    mono = decoded.samples.mean(axis=0)
    if decoded.sample_rate != ANALYSIS_SR:
        mono = librosa.resample(mono, orig_sr=decoded.sample_rate, target_sr=ANALYSIS_SR)
    return np.asarray(mono, np.float32), True


def loudest_dbfs(samples: np.ndarray, sample_rate: int = ANALYSIS_SR, window_s: float = 0.05) -> float:
    """RMS level (dBFS) of the loudest ``window_s`` of ``samples``; ``-inf`` for zeros.

    >>> loudest_dbfs(np.zeros(1600))
    -inf
    >>> round(loudest_dbfs(np.full(1600, 0.1)), 1)
    -20.0
    """
    n = max(1, int(window_s * sample_rate))
    if samples.size == 0:
        return -math.inf
    frames = samples[: samples.size - samples.size % n].reshape(-1, n) if samples.size >= n else samples[None]
    peak = float(np.sqrt((frames.astype(np.float64) ** 2).mean(axis=1)).max())
    return 20 * math.log10(peak) if peak > 0 else -math.inf


def _level_rises(samples: np.ndarray, t: float, sample_rate: int = ANALYSIS_SR, min_db: float = 6.0) -> bool:
    """Whether the level just after ``t`` is ``min_db`` above the level just before.

    Spectral flux also fires where a sound *stops* abruptly (the cut splatters energy
    into other bands); a sound that starts raises the level.
    """
    i = int(round(t * sample_rate))
    before = samples[max(0, i - int(0.06 * sample_rate)) : max(0, i - int(0.01 * sample_rate))]
    after = samples[max(0, i - int(0.01 * sample_rate)) : i + int(0.04 * sample_rate)]
    if after.size == 0:
        return False
    rms_after = float(np.sqrt(np.mean(after.astype(np.float64) ** 2)))
    rms_before = float(np.sqrt(np.mean(before.astype(np.float64) ** 2))) if before.size else 0.0
    return rms_after > 0 and 20 * math.log10(rms_after / max(rms_before, 1e-9)) >= min_db


def audio_onset_envelope(samples: np.ndarray, sample_rate: int = ANALYSIS_SR) -> np.ndarray:
    """Onset strength (spectral flux of a log-mel spectrogram) at :data:`ENVELOPE_RATE` Hz.

    Value ``j`` belongs to time ``j / ENVELOPE_RATE`` s; a 32 ms window, so a sharp onset
    peaks within one hop (10 ms) of its sample (``librosa.onset.onset_strength`` on the
    spectrogram computed here).

    Each mel band is floored at its own typical level (its 60th percentile over time, +3
    dB) before taking logs: a rise from digital silence to room tone, such as the edge of
    the silence that fills the gap of a shifted track, is not an onset; only sounds louder
    than what the band usually holds are.
    """
    import librosa

    if samples.size < 1024:
        return np.zeros(max(1, samples.size * ENVELOPE_RATE // sample_rate), np.float32)
    hop = sample_rate // ENVELOPE_RATE
    n_fft = 1 << int(round(math.log2(0.032 * sample_rate)))
    mel = librosa.feature.melspectrogram(
        y=samples, sr=sample_rate, n_fft=n_fft, hop_length=hop, n_mels=64, power=2.0
    )
    floor = 2.0 * np.percentile(mel, 60, axis=1, keepdims=True) + 1e-10
    log_mel = 10 * np.log10(np.maximum(mel, floor))
    # n_fft tells librosa how far to shift the envelope back for the centred frames
    env = librosa.onset.onset_strength(S=log_mel, sr=sample_rate, hop_length=hop, n_fft=n_fft)
    return env.astype(np.float32)


# -- picture -----------------------------------------------------------------------------


@dataclass(frozen=True)
class MotionTrack:
    """Per-frame motion measurements of a video (all arrays have one value per frame).

    Attributes
    ----------
    times : seconds of each frame after the first
    energy : mean absolute grey difference to the previous frame (0 for the first)
    bottom : lowest row (px, grey frame of ``width``) that changed since the previous
        frame; NaN where nothing changed
    fps : the stream's frame rate
    height : rows of the analysed frames
    """

    times: np.ndarray
    energy: np.ndarray
    bottom: np.ndarray
    fps: float
    height: int


def visual_motion_envelope(
    path: str | Path, width: int = 224, change_threshold: float = 10.0
) -> MotionTrack:
    """Decode the video at ``path`` grey and small, and measure its motion per frame.

    Frames are area-averaged to at most ``width`` px wide. Two measurements per frame:
    the motion *energy* (mean absolute difference to the previous frame) and the *lowest
    changed row* (the bottom of what moved: pixels differing by more than
    ``change_threshold`` grey levels, at least 2 of them in a row).
    """
    times: list[float] = []
    energy: list[float] = []
    bottom: list[float] = []
    prev: np.ndarray | None = None
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise ValueError(f"{path}: no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = stream.average_rate or stream.base_rate or stream.guessed_rate
        fps = float(rate) if rate else 25.0
        src_w, src_h = stream.codec_context.width, stream.codec_context.height
        w = max(8, min(width, src_w))
        h = max(8, round(src_h * w / max(src_w, 1)))
        start: float | None = None
        for i, frame in enumerate(container.decode(stream)):
            t = float(frame.pts * frame.time_base) if frame.pts is not None else i / fps
            start = t if start is None else start
            grey = frame.to_ndarray(format="gray", width=w, height=h, interpolation="AREA")
            grey = grey.astype(np.float32)
            times.append(t - start)
            if prev is None:
                energy.append(0.0)
                bottom.append(math.nan)
            else:
                diff = np.abs(grey - prev)
                energy.append(float(diff.mean()))
                rows = np.flatnonzero((diff > change_threshold).sum(axis=1) >= 2)
                bottom.append(float(rows[-1]) if rows.size else math.nan)
            prev = grey
    return MotionTrack(
        np.asarray(times), np.asarray(energy, np.float32), np.asarray(bottom), fps, h
    )


def landing_strength(track: MotionTrack) -> np.ndarray:
    """Loss of downward speed of the lowest moving edge at each frame (px per frame).

    ``max(0, min(u[i], u[i] - u[i+1]))`` with ``u`` the frame-to-frame descent of
    ``track.bottom``, counted only after a frame that was descending too (a fall builds up
    speed; a string that vanishes at once does not). An object that lands stops descending
    (a glass, a vase) or rebounds (a ball): both lose downward speed. The top of a bounce
    loses none.
    """
    n = len(track.times)
    if n < 3:
        return np.zeros(n)
    u = np.nan_to_num(np.diff(track.bottom, prepend=np.nan), nan=0.0)
    after = np.append(u[1:], 0.0)
    before = np.insert(u[:-1], 0, 0.0)
    loss = np.where(before > 0, np.maximum(0.0, np.minimum(u, u - after)), 0.0)
    loss[-1] = 0.0
    return loss


def impact_envelope(track: MotionTrack) -> np.ndarray:
    """How much each frame looks like an impact: downward motion that stops there.

    The product of two cues, so that each vetoes the other's false alarms:

    * :func:`landing_strength`, the loss of downward speed of the lowest moving edge;
    * the *abrupt stop of motion energy*, ``max(energy[i] - energy[i+1], 0)``, taken as the
      largest within one frame (texture and contrast make it fire a frame early or late).
      The top of a bounce stops motion too, but loses no downward speed.

    A clip in which nothing descends and lands (a real clip without a fall) gets the abrupt
    stops of motion alone. Returns one value per frame, 0 where nothing lands.
    """
    n = len(track.times)
    out = np.zeros(n, np.float32)
    if n < 3:
        return out
    energy = track.energy.astype(np.float64)
    stop = np.zeros(n)
    stop[:-1] = np.maximum(energy[:-1] - energy[1:], 0)
    near = np.maximum(stop, np.maximum(np.insert(stop[:-1], 0, 0.0), np.append(stop[1:], 0.0)))
    out[:] = landing_strength(track) * near
    if out.max() <= 0:
        out[:] = stop
    out[-1] = 0.0
    return out


# -- timing ------------------------------------------------------------------------------


def _on_grid(times: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    grid = np.zeros(n, np.float32)
    idx = np.clip(np.round(times * ENVELOPE_RATE).astype(int), 0, n - 1)
    np.maximum.at(grid, idx, values)
    return grid


def _smooth(x: np.ndarray, sigma_s: float) -> np.ndarray:
    sigma = sigma_s * ENVELOPE_RATE
    if sigma <= 0:
        return x
    half = int(math.ceil(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    return np.convolve(x, k / k.sum(), mode="same").astype(np.float32)


def _normalised(env: np.ndarray) -> np.ndarray:
    """Onset strength above the track's median, as a share of its maximum."""
    base = np.maximum(env - np.median(env), 0)
    top = float(base.max()) if base.size else 0.0
    return base / top if top > 0 else base


def _peaks(times: np.ndarray, values: np.ndarray, min_share: float, min_gap_s: float) -> list[int]:
    """Indices of local maxima above ``min_share`` of the largest, strongest first, spaced."""
    if values.size == 0 or values.max() <= 0:
        return []
    top = float(values.max())
    padded = np.concatenate([[-np.inf], values, [-np.inf]])
    local = np.flatnonzero((values >= padded[:-2]) & (values > padded[2:]) & (values >= min_share * top))
    chosen: list[int] = []
    for i in sorted(local, key=lambda i: -values[i]):
        if all(abs(times[i] - times[j]) >= min_gap_s for j in chosen):
            chosen.append(int(i))
    return chosen


def estimate_offset(
    audio_env: np.ndarray, v_times: np.ndarray, v_env: np.ndarray, settings: SignalSettings
) -> tuple[float | None, float]:
    """Lag (s) maximising the correlation of the audio onset and visual impact envelopes.

    Returns ``(offset_s, confidence)``. Confidence is ``1 - second / first`` of the two
    highest correlation peaks at least 0.1 s apart (1 when nothing else competes).
    """
    if v_env.size == 0 or v_env.max() <= 0 or audio_env.max() <= 0:
        return None, 0.0
    n = max(audio_env.size, int(np.ceil(v_times[-1] * ENVELOPE_RATE)) + 1)
    a = _smooth(np.pad(_normalised(audio_env), (0, n - audio_env.size)), settings.smooth_s)
    v = _smooth(_on_grid(v_times, v_env / v_env.max(), n), settings.smooth_s)
    max_lag = min(int(settings.max_lag_s * ENVELOPE_RATE), n - 1)
    lags = np.arange(-max_lag, max_lag + 1)
    # corr[L] = sum_t v[t] * a[t + L]: the audio event at t + L matches the picture's at t
    full = np.correlate(a, v, mode="full")  # index k <-> lag k - (n - 1)
    corr = full[lags + n - 1]
    best = int(np.argmax(corr))
    if corr[best] <= 0:
        return None, 0.0
    lag = float(lags[best])
    if 0 < best < len(corr) - 1:  # parabolic refinement between grid points
        y0, y1, y2 = corr[best - 1], corr[best], corr[best + 1]
        denom = y0 - 2 * y1 + y2
        if denom < 0:
            lag += 0.5 * (y0 - y2) / denom
    others = [i for i in _peaks(lags / ENVELOPE_RATE, corr, 0.0, 0.1) if abs(i - best) >= 0.1 * ENVELOPE_RATE]
    second = max((corr[i] for i in others), default=0.0)
    confidence = float(np.clip(1 - max(second, 0.0) / corr[best], 0.0, 1.0))
    return lag / ENVELOPE_RATE, confidence


# -- the analysis ------------------------------------------------------------------------


def _secondary(
    times: np.ndarray, values: np.ndarray, main: int, min_share: float, window: tuple[float, float]
) -> tuple[tuple[float, float], ...]:
    """``(delay_s, share)`` of the local maxima after ``main`` that reach ``min_share`` of it."""
    lo, hi = window
    top = float(values[main])
    if top <= 0:
        return ()
    out = []
    for i in range(main + 1, len(values)):
        dt = float(times[i] - times[main])
        if dt > hi:
            break
        right = values[i + 1] if i + 1 < len(values) else -np.inf
        if dt > lo and values[i] >= min_share * top and values[i] >= values[i - 1] and values[i] > right:
            out.append((round(dt, 3), round(float(values[i]) / top, 3)))
    return tuple(out)


def structures_match(
    seen: tuple[tuple[float, float], ...],
    heard: tuple[tuple[float, float], ...],
    settings: SignalSettings,
) -> tuple[bool, str]:
    """Whether the secondary impacts seen and heard tell the same story, and why.

    ``seen`` and ``heard`` are ``(delay_s, share)`` of the visible bounces and the heard
    repeats after the main impact. A mismatch is either

    * a visible bounce (the first one seen) that makes no sound at that delay
      (± ``bounce_match_s``), or
    * with no visible bounce, a loud repeat (>= ``loud_repeat_min``) at least
      ``visible_airtime_s`` after the main impact: such a bounce rises high enough to be seen.

    Quick repeats decide nothing: a hop of a few millimetres is heard, not seen.

    >>> s = SignalSettings()
    >>> structures_match(((0.4, 0.5),), ((0.41, 0.9),), s)[0]
    True
    >>> structures_match((), ((0.4, 0.9),), s)
    (False, 'the sound repeats loudly 0.40 s after its onset, but nothing lands in the picture then')
    >>> structures_match((), ((0.12, 0.5),), s)[0]  # a small hop: heard, not seen
    True
    """
    tol = settings.bounce_match_s
    if seen:
        # later bounces of a bouncing object are smaller and may be missed in either track
        delay = seen[0][0]
        if any(abs(delay - d) <= tol for d, _ in heard):
            return True, f"the bounce seen {delay:.2f} s into the impact's aftermath is heard at that moment too"
        return False, (
            f"the picture shows a bounce landing {delay:.2f} s after the impact, "
            "but the sound has nothing then"
        )
    for delay, share in heard:
        if delay >= settings.visible_airtime_s and share >= settings.loud_repeat_min:
            return False, (
                f"the sound repeats loudly {delay:.2f} s after its onset, "
                "but nothing lands in the picture then"
            )
    return True, "no bounce is seen, and the sound has no loud repeat that would have to be seen"


def analyse(video_path: str | Path, settings: SignalSettings | None = None) -> SignalEvidence:
    """Measure silence, onsets, the visible impact, the offset and event structure of a video.

    Parameters
    ----------
    video_path : path to a video file (any container PyAV reads)
    settings : thresholds; :class:`SignalSettings` defaults if None

    Returns
    -------
    SignalEvidence

    Examples
    --------
    >>> ev = analyse(delayed_probe_path)  # doctest: +SKIP
    >>> ev.silent, ev.visual_event_s, ev.offset_s  # doctest: +SKIP
    (False, 1.68, 0.5)
    """
    settings = settings or SignalSettings()
    path = str(video_path)
    notes: list[str] = []
    track = visual_motion_envelope(path, settings.frame_width)
    duration = float(track.times[-1] + 1 / track.fps) if track.times.size else 0.0
    impact = impact_envelope(track)
    landing = landing_strength(track)
    visual_idx = _peaks(track.times, impact, 0.3, 0.1)
    if not visual_idx:
        notes.append("nothing moves in the picture: no visible event to time")

    samples, has_audio = _mono_16k(path)
    if not has_audio:
        notes.append("the file has no audio stream")
    level = loudest_dbfs(samples)
    silent = level < settings.silence_dbfs
    audio_onset = None
    audio_onsets: tuple[float, ...] = ()
    offset, confidence = None, 0.0
    heard: tuple[tuple[float, float], ...] = ()
    seen: tuple[tuple[float, float], ...] = ()
    consistent: bool | None = None
    why = ""
    if not silent:
        env = audio_onset_envelope(samples)
        a_times = np.arange(env.size) / ENVELOPE_RATE
        norm = _normalised(env)
        onset_idx = _peaks(a_times, norm, 0.3, 0.05)
        if onset_idx:
            audio_onset = round(float(a_times[onset_idx[0]]), 3)
            audio_onsets = tuple(
                sorted(round(float(a_times[i]), 3) for i in onset_idx if _level_rises(samples, a_times[i]))
            )
        else:
            notes.append("no clear onset in the audio")
        if visual_idx and onset_idx:
            offset, confidence = estimate_offset(env, track.times, impact, settings)
        if offset is not None:
            # the sound of the impact seen: the onset where the correlation puts it (a
            # bounce can sound louder than the first impact, so not simply the strongest)
            expected = track.times[visual_idx[0]] + offset
            main = min(onset_idx, key=lambda i: abs(a_times[i] - expected))
            heard = _secondary(a_times, norm, main, settings.audio_repeat_min, settings.repeat_window_s)
            seen = _secondary(
                track.times, landing, visual_idx[0], settings.visual_repeat_min, settings.repeat_window_s
            )
            consistent, why = structures_match(seen, heard, settings)
            if confidence < settings.min_confidence:
                # one sound of the pictured events lines up in one way only; a pattern
                # of events that fits the picture nowhere in particular is another's
                consistent, why = False, (
                    f"the sound's events line up with the picture's nowhere in particular "
                    f"(correlation confidence {confidence:.2f})"
                )
    return SignalEvidence(
        path=path,
        duration_s=round(duration, 3),
        has_audio=has_audio,
        loudest_dbfs=round(level, 1) if math.isfinite(level) else level,
        silent=silent,
        audio_onset_s=audio_onset,
        audio_onsets_s=audio_onsets,
        visual_event_s=round(float(track.times[visual_idx[0]]), 3) if visual_idx else None,
        visual_events_s=tuple(sorted(round(float(track.times[i]), 3) for i in visual_idx)),
        offset_s=None if offset is None else round(offset, 3),
        confidence=round(confidence, 3),
        heard_repeats=heard,
        seen_repeats=seen,
        consistent=consistent,
        consistency_reason=why,
        fps=track.fps,
        notes=tuple(notes),
    )


# -- answering ---------------------------------------------------------------------------


_HOW_MANY = re.compile(r"\bhow many\b", re.I)


def _fmt(t: float) -> str:
    return f"{t:.2f} s"


class SignalBaseline:
    """Answers a probe from :func:`analyse`: a letter and one sentence of evidence.

    Parameters
    ----------
    settings : thresholds (:class:`SignalSettings`)

    Examples
    --------
    >>> baseline = SignalBaseline()
    >>> baseline.answer(path_of_a_delayed_probe, prompt)  # doctest: +SKIP
    'C. The impact is seen at 1.68 s and heard at 2.18 s: the audio is delayed by 0.50 s.'
    """

    name = "signal"

    def __init__(self, settings: SignalSettings | None = None, cache_size: int = 64) -> None:
        self.settings = settings or SignalSettings()
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple, SignalEvidence] = OrderedDict()

    def __repr__(self) -> str:
        return f"SignalBaseline({self.settings!r})"

    def analyse(self, video_path: str | Path) -> SignalEvidence:
        """:func:`analyse` with these settings, cached per file (a clip's original video is
        asked three questions, one per dimension)."""
        stat = Path(video_path).stat()
        key = (str(video_path), stat.st_size, stat.st_mtime_ns)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        evidence = analyse(video_path, self.settings)
        self._cache[key] = evidence
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return evidence

    def answer(self, video_path: str, prompt: str) -> str:
        options = read_prompt(prompt)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # librosa/audioread chatter on odd files
            evidence = self.analyse(video_path)
        if _HOW_MANY.search(prompt):  # e.g. the audio-path check's "how many beeps?"
            n = 0 if evidence.silent else len(evidence.audio_onsets_s)
            where = ", ".join(_fmt(t) for t in evidence.audio_onsets_s) if n else "none"
            return f"{n}. Distinct sound onsets heard: {where}."
        label, sentence = self.decide(evidence, options.dimension)
        letter = options.letter(label)
        return f"{letter}. {sentence}" if letter else sentence

    def decide(self, ev: SignalEvidence, dimension: str | None) -> tuple[str, str]:
        """The label for ``dimension`` from the evidence, and a sentence that says why."""
        if ev.silent:
            why = "the file has no audio stream" if not ev.has_audio else (
                f"nothing in it is louder than {self.settings.silence_dbfs:.0f} dBFS"
            )
            return "silent", f"No sound can be heard: the audio is silent ({why})."
        if dimension == "existence":
            where = f", with an onset at {_fmt(ev.audio_onset_s)}" if ev.audio_onset_s is not None else ""
            return "synced", f"Yes, a sound can be heard (loudest 50 ms at {ev.loudest_dbfs:.0f} dBFS{where})."
        if dimension == "consistency":
            return self._consistency(ev)
        return self._sync(ev)

    def _sync(self, ev: SignalEvidence) -> tuple[str, str]:
        if ev.offset_s is None or ev.visual_event_s is None:
            reason = ev.notes[0] if ev.notes else "no event could be timed"
            return "synced", (
                f"The sound could not be timed against the picture ({reason}), so no offset is "
                "evident: taken as synchronized."
            )
        seen, heard, tau = ev.visual_event_s, ev.heard_s, ev.offset_s
        if ev.confidence < self.settings.min_confidence:
            return "synced", (
                f"No impact lines up clearly with the sound (correlation confidence "
                f"{ev.confidence:.2f}), so no offset is evident: taken as synchronized."
            )
        if abs(tau) < self.settings.sync_tolerance_s:
            return "synced", (
                f"The impact is seen at {_fmt(seen)} and heard at {_fmt(heard)}: "
                "the sound is synchronized with the picture."
            )
        if tau > 0:
            return "delayed", (
                f"The impact is seen at {_fmt(seen)} and heard at {_fmt(heard)}: "
                f"the audio is delayed by {abs(tau):.2f} s."
            )
        return "early", (
            f"The impact is heard at {_fmt(heard)}, before it is seen at {_fmt(seen)}: "
            f"the audio is early by {abs(tau):.2f} s."
        )

    def _consistency(self, ev: SignalEvidence) -> tuple[str, str]:
        if ev.consistent is None:
            reason = ev.notes[0] if ev.notes else "no event to compare"
            return "synced", f"A sound is heard, but it cannot be compared with the picture ({reason})."
        if ev.consistent:
            return "synced", f"Yes: the sound follows what is seen; {ev.consistency_reason}."
        return "mismatched", f"No: {ev.consistency_reason}, so the sound comes from a different source."
