"""Up-front checks shared by the interventions, with messages that say what was wrong."""

from __future__ import annotations

import math

import numpy as np


def check_audio(audio: np.ndarray, name: str = "audio") -> np.ndarray:
    """Return ``audio`` as a 2-D float array ``(channels, samples)``; 1-D means mono."""
    if not isinstance(audio, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(audio).__name__}")
    if audio.ndim == 1:
        audio = audio[np.newaxis, :]
    if audio.ndim != 2:
        raise ValueError(f"{name} must have shape (samples,) or (channels, samples), got {audio.shape}")
    if audio.shape[0] < 1 or audio.shape[1] < 1:
        raise ValueError(f"{name} is empty: shape {audio.shape}")
    if not np.issubdtype(audio.dtype, np.floating):
        raise TypeError(f"{name} must be floating point, got dtype {audio.dtype}")
    return audio


def check_sample_rate(sample_rate: int) -> int:
    if not isinstance(sample_rate, (int, np.integer)) or isinstance(sample_rate, bool) or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive integer (Hz), got {sample_rate!r}")
    return int(sample_rate)


def check_seconds(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a number of seconds, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def to_samples(seconds: float, sample_rate: int) -> int:
    """Seconds → whole samples, rounding half away from zero so ``-tau`` mirrors ``tau``."""
    x = seconds * sample_rate
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)
