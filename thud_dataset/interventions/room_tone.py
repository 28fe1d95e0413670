"""Room tone: a clip's own background sound, to fill the gaps an intervention leaves."""

from __future__ import annotations

import numpy as np

from ._validate import check_audio, check_sample_rate


def room_tone(
    audio: np.ndarray,
    sample_rate: int,
    num_samples: int,
    seed: int,
    window_s: float = 0.25,
) -> np.ndarray:
    """Noise with the spectrum and level of the quietest ``window_s`` of ``audio``.

    A shift leaves a gap at one end of the clip and a swap wherever the moved donor does
    not reach. Digital silence there is a tell no natural recording has: where the gap sits
    even gives the shift's direction away. Filling it with the clip's own room tone (seeded
    noise shaped like its quietest stretch) removes that cue. A clip whose quietest stretch
    is digital silence gets digital silence.

    Parameters
    ----------
    audio : ndarray (samples,) or (channels, samples), float
    sample_rate : int, Hz
    num_samples : int, length of the tone to make
    seed : int, the noise's seed (same seed → same samples)
    window_s : float, length of the stretch the tone imitates

    Returns
    -------
    ndarray (channels, num_samples), or (num_samples,) for 1-D input, ``audio``'s dtype.

    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(0, 0.01, 8000).astype(np.float32)
    >>> x[4000:4100] += 1.0                               # a loud event
    >>> tone = room_tone(x, 8000, 16000, seed=1)
    >>> tone.shape, bool(0.005 < tone.std() < 0.02)
    ((16000,), True)
    """
    sample_rate = check_sample_rate(sample_rate)
    was_1d = isinstance(audio, np.ndarray) and audio.ndim == 1
    x = check_audio(audio)
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) or num_samples < 1:
        raise ValueError(f"num_samples must be a positive integer, got {num_samples!r}")
    win = max(16, min(int(window_s * sample_rate), x.shape[1]))
    hop = max(1, win // 2)
    starts = range(0, x.shape[1] - win + 1, hop)
    energy = [float(np.mean(x[:, s : s + win].astype(np.float64) ** 2)) for s in starts]
    quiet = x[:, list(starts)[int(np.argmin(energy))] :][:, :win].astype(np.float64)
    rng = np.random.default_rng(seed)
    out = np.zeros((x.shape[0], int(num_samples)), dtype=np.float64)
    n_fft = int(num_samples)
    freqs = np.fft.rfftfreq(n_fft)
    for c in range(x.shape[0]):
        level = float(np.sqrt(np.mean(quiet[c] ** 2)))
        if level == 0.0:
            continue
        spectrum = np.abs(np.fft.rfft(quiet[c] * np.hanning(win)))
        shape = np.interp(freqs, np.fft.rfftfreq(win), spectrum)
        noise = np.fft.irfft(np.fft.rfft(rng.standard_normal(n_fft)) * shape, n_fft)
        out[c] = noise * (level / (float(np.sqrt(np.mean(noise**2))) or 1.0))
    out = out.astype(x.dtype)
    return out[0] if was_1d else out
