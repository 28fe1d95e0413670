"""Sound synthesis for the synthetic source: per-material impact sounds and a noise floor.

Pure numpy. An impact is modal synthesis (a sum of exponentially decaying partials, the
textbook model of a struck solid) plus a short noise click; every material has its own
partials, damping and click so that they sound apart (wood "thud", glass "clink", ...).
Every impact starts at its first sample with a step (cosine-phase partials), so onset
detection and cross-correlation find it to the sample, and it is silent by ``IMPACT_S``.
"""

from __future__ import annotations

import numpy as np

MATERIALS: tuple[str, ...] = ("wood", "glass", "metal", "ceramic", "rubber")

#: length of one synthesised impact; everything has decayed (and is faded) by then
IMPACT_S = 0.8
_FADE_S = 0.15


def as_generator(rng: np.random.Generator | int) -> np.random.Generator:
    """``rng`` itself, or a fresh generator seeded with the int ``rng``."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be a numpy Generator or a non-negative int seed, got {rng!r}")


def modal_partials(
    sample_rate: int,
    n: int,
    freqs: np.ndarray,
    taus: np.ndarray,
    amps: np.ndarray,
    phases: np.ndarray,
) -> np.ndarray:
    """Sum of decaying cosines ``a * exp(-t/tau) * cos(2 pi f t + phase)``, ``n`` samples.

    Partials at or above 0.45 * ``sample_rate`` are dropped (they would alias).
    """
    keep = freqs < 0.45 * sample_rate
    t = np.arange(n) / sample_rate
    env = np.exp(-t[None, :] / taus[keep, None])
    waves = np.cos(2 * np.pi * freqs[keep, None] * t[None, :] + phases[keep, None])
    return (amps[keep, None] * env * waves).sum(axis=0)


def noise_click(
    sample_rate: int, n: int, tau_s: float, smooth: int, rng: np.random.Generator
) -> np.ndarray:
    """An exponentially decaying noise burst; ``smooth`` > 1 low-passes it (moving average).

    The moving average is causal, so the burst still starts at sample 0.
    """
    m = min(n, int(10 * tau_s * sample_rate) + smooth + 1)
    t = np.arange(m) / sample_rate
    burst = rng.standard_normal(m) * np.exp(-t / tau_s)
    if smooth > 1:
        burst = np.convolve(burst, np.ones(smooth) / smooth)[:m]
    out = np.zeros(n)
    out[:m] = burst / max(np.abs(burst).max(), 1e-12)
    return out


def _cos_phases(rng: np.random.Generator, k: int) -> np.ndarray:
    # near-cosine phase: the partials start at their peak, a step at the onset sample
    return rng.uniform(-0.3, 0.3, k)


def _struck(
    sample_rate: int,
    n: int,
    rng: np.random.Generator,
    f0_range: tuple[float, float],
    ratios: list[float],
    amps: list[float],
    tau_range: tuple[float, float],
    tau_exponent: float,
) -> np.ndarray:
    """Partials ``f0 * ratios`` (jittered), damping ``tau0 * ratio**-tau_exponent``."""
    r = np.asarray(ratios) * rng.uniform(0.97, 1.03, len(ratios))
    f = rng.uniform(*f0_range) * r
    taus = rng.uniform(*tau_range) * r**-tau_exponent
    a = np.asarray(amps) * rng.uniform(0.8, 1.2, len(amps))
    return modal_partials(sample_rate, n, f, taus, a, _cos_phases(rng, len(r)))


def _wood(sr: int, n: int, rng: np.random.Generator) -> np.ndarray:
    # "thud": low partials, strongly damped, a dull (low-passed) knock
    body = _struck(
        sr,
        n,
        rng,
        (160, 320),
        [1, 1.58, 2.42, 3.1, 4.3],
        [1, 0.55, 0.4, 0.25, 0.15],
        (0.045, 0.08),
        0.6,
    )
    return body + 0.6 * noise_click(sr, n, 0.0015, 4, rng)


def _glass(sr: int, n: int, rng: np.random.Generator) -> np.ndarray:
    # "clink": high inharmonic partials that ring, a tiny bright tick
    body = _struck(
        sr, n, rng, (1700, 2700), [1, 2.32, 4.25, 6.63], [1, 0.45, 0.25, 0.12], (0.12, 0.22), 0.5
    )
    return body + 0.35 * noise_click(sr, n, 0.0004, 1, rng)


def _metal(sr: int, n: int, rng: np.random.Generator) -> np.ndarray:
    # "clang": free-bar partials, each doubled slightly detuned (beating), long ring
    ratios = np.array([1, 2.756, 5.404, 8.933])
    amps = np.array([1, 0.8, 0.55, 0.35])
    f = rng.uniform(330, 650) * ratios * rng.uniform(0.98, 1.02, 4)
    f = np.concatenate([f, f * (1 + rng.uniform(0.002, 0.008, 4)), rng.uniform(1.5, 12, 3) * f[0]])
    a = np.concatenate([amps, 0.6 * amps, rng.uniform(0.05, 0.2, 3)])
    taus = rng.uniform(0.18, 0.3) * (f / f[0]) ** -0.3
    body = modal_partials(sr, n, f, taus, a, _cos_phases(rng, len(f)))
    return body + 0.5 * noise_click(sr, n, 0.0007, 1, rng)


def _ceramic(sr: int, n: int, rng: np.random.Generator) -> np.ndarray:
    # "crash": a bright noise burst with mid partials, then small debris pings
    burst = noise_click(sr, n, rng.uniform(0.02, 0.04), 1, rng)
    burst = np.diff(burst, prepend=0.0)  # first difference: a high-passed, brighter burst
    burst /= np.abs(burst).max()
    body = _struck(
        sr, n, rng, (900, 1500), [1, 2.13, 3.51, 5.2], [1, 0.7, 0.5, 0.3], (0.05, 0.1), 0.5
    )
    out = burst + 0.4 * body / np.abs(body).max()
    for _ in range(int(rng.integers(6, 13))):
        start = int(rng.uniform(0.04, 0.5) * sr)
        amp = rng.uniform(0.05, 0.18) * (1 - start / (0.6 * sr))
        ping = modal_partials(
            sr,
            n - start,
            rng.uniform(2000, 6000, 2),
            rng.uniform(0.008, 0.025, 2),
            np.array([1.0, 0.5]),
            _cos_phases(rng, 2),
        )
        out[start:] += amp * ping / max(np.abs(ping).max(), 1e-12)
    return out


def _rubber(sr: int, n: int, rng: np.random.Generator) -> np.ndarray:
    # "soft bounce": very low, very damped, a heavily low-passed click
    body = _struck(sr, n, rng, (70, 120), [1, 1.75, 2.9], [1, 0.35, 0.12], (0.025, 0.045), 0.5)
    return body + 0.35 * noise_click(sr, n, 0.001, 12, rng)


_SYNTHS = {"wood": _wood, "glass": _glass, "metal": _metal, "ceramic": _ceramic, "rubber": _rubber}


def synthesize_impact(
    material: str, sample_rate: int, rng: np.random.Generator | int
) -> np.ndarray:
    """The impact sound of an object of ``material`` hitting a hard floor.

    Parameters
    ----------
    material
        One of :data:`MATERIALS`.
    sample_rate
        Samples per second (>= 8000).
    rng
        A numpy ``Generator`` (consumed) or an int seed; the sound varies with it.

    Returns
    -------
    numpy.ndarray
        float32 mono, ``round(IMPACT_S * sample_rate)`` samples, peak ``|x| = 1``. The
        onset is sample 0 (a step there), and the sound decays and is faded to exactly 0
        by the end.
    """
    if material not in _SYNTHS:
        raise ValueError(f"unknown material {material!r}; expected one of {MATERIALS}")
    if not isinstance(sample_rate, (int, np.integer)) or sample_rate < 8000:
        raise ValueError(f"sample_rate must be an int >= 8000 Hz, got {sample_rate!r}")
    gen = as_generator(rng)
    n = round(IMPACT_S * sample_rate)
    x = _SYNTHS[material](int(sample_rate), n, gen)
    fade = round(_FADE_S * sample_rate)
    x[-fade:] *= 0.5 * (1 + np.cos(np.linspace(0, np.pi, fade)))
    return (x / np.abs(x).max()).astype(np.float32)


def room_noise(n: int, sample_rate: int, rms_dbfs: float, rng: np.random.Generator) -> np.ndarray:
    """Pinkish background noise (a quiet room) of RMS ``rms_dbfs``, ``n`` samples, float32.

    Shaped in the frequency domain (amplitude ~ 1/sqrt(f) above 50 Hz), so it is fast and
    exactly reproducible. Never digital silence: a muted copy differs from it by energy.
    """
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / sample_rate)
    x = np.fft.irfft(spectrum / np.sqrt(np.maximum(freqs, 50.0)), n)
    x *= 10 ** (rms_dbfs / 20) / np.sqrt(np.mean(x**2))
    return x.astype(np.float32)
