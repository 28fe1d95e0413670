"""Shift: displace the audio in time by ``tau`` seconds, keeping its length."""

from __future__ import annotations

import numpy as np

from ._validate import check_audio, check_sample_rate, check_seconds, to_samples


def shift(audio: np.ndarray, sample_rate: int, tau: float, fill: np.ndarray | None = None) -> np.ndarray:
    """Return ``a'(t) = a(t - tau)``: the audio displaced by ``tau`` seconds, same shape.

    ``tau > 0`` delays the audio (heard after it is seen), ``tau < 0`` makes it early.
    The samples that move out of the clip are dropped and the gap is digital silence (or
    the samples of ``fill`` there, e.g. :func:`room_tone`), so the clip's duration never
    changes. ``tau`` is rounded to whole samples.

    Parameters
    ----------
    audio : ndarray of shape (samples,) or (channels, samples), float
    sample_rate : int, Hz
    tau : float, seconds; ``|tau|`` must be shorter than the audio
    fill : ndarray shaped like ``audio``, optional; what the gap gets instead of silence

    Returns
    -------
    ndarray, same shape and dtype as ``audio`` (a new array).

    >>> import numpy as np
    >>> shift(np.array([1.0, 2.0, 3.0, 4.0]), sample_rate=2, tau=0.5)
    array([0., 1., 2., 3.])
    >>> shift(np.array([1.0, 2.0, 3.0, 4.0]), sample_rate=2, tau=-1.0)
    array([3., 4., 0., 0.])
    """
    sample_rate = check_sample_rate(sample_rate)
    tau = check_seconds(tau, "tau")
    was_1d = isinstance(audio, np.ndarray) and audio.ndim == 1
    x = check_audio(audio)
    n = to_samples(tau, sample_rate)
    length = x.shape[1]
    if abs(n) >= length:
        raise ValueError(
            f"tau={tau} s is {abs(n)} samples but the audio has only {length} "
            f"({length / sample_rate:.3f} s): the whole signal would leave the clip"
        )
    out = np.zeros_like(x) if fill is None else _fill_like(fill, x)
    if n > 0:
        out[:, n:] = x[:, : length - n]
    elif n < 0:
        out[:, : length + n] = x[:, -n:]
    else:
        out[:] = x
    return out[0] if was_1d else out


def _fill_like(fill: np.ndarray, x: np.ndarray) -> np.ndarray:
    f = check_audio(fill, "fill")
    if f.shape != x.shape:
        raise ValueError(f"fill must have the audio's shape {x.shape}, got {f.shape}")
    return f.astype(x.dtype, copy=True)
