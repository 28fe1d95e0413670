"""The interventions against their definitions, sample by sample (issue 20).

``shift``: ``a'(t) = a(t - tau)`` with ``tau`` rounded half away from zero to whole
samples, same shape, the gap silent or the fill's; ``swap``: donor sample ``j`` lands at
``round(target * sr) - round(event * sr) + j``; ``mute``: zeros; ``room_tone``: seeded
noise at the level and with the spectrum of the quietest stretch. The reference values are
computed here with plain loops over random signals, both signs, both layouts, on and next
to every boundary (an offset of ``length - 1`` samples, an event in the first or last
sample), so no behaviour rests on the one example a docstring shows.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from thud_dataset.interventions import mute, room_tone, shift, swap


def round_half_away(x: float) -> int:
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def reference_shift(x: np.ndarray, sr: int, tau: float, fill: np.ndarray | None) -> np.ndarray:
    n = round_half_away(tau * sr)
    out = np.zeros_like(x) if fill is None else fill.astype(x.dtype).copy()
    for t in range(x.shape[-1]):
        if 0 <= t - n < x.shape[-1]:
            out[..., t] = x[..., t - n]
    return out


def reference_swap(donor, num_samples, sr, event, target, fill):
    start = round_half_away(target * sr) - round_half_away(event * sr)
    shape = (*donor.shape[:-1], num_samples)
    out = np.zeros(shape, donor.dtype) if fill is None else fill.astype(donor.dtype).copy()
    for t in range(num_samples):
        if 0 <= t - start < donor.shape[-1]:
            out[..., t] = donor[..., t - start]
    return out


def signal(shape, seed, dtype=np.float32):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(dtype)


# -- shift ------------------------------------------------------------------------------------


SHIFTS = [
    # (samples, rate, tau)
    (50, 10, 0.3), (50, 10, -0.3), (50, 10, 4.9), (50, 10, -4.9),  # |n| = length - 1
    (40, 8, 0.0625), (40, 8, -0.0625),  # tau * sr = 0.5: rounds away from zero, both ways
    (40, 8, 0.05), (40, 8, -0.05),  # 0.4 samples: rounds to no shift
    (33, 7, 1.0), (33, 7, -2.0),
]  # fmt: skip


@pytest.mark.parametrize("layout", ["mono-1d", "stereo"])
@pytest.mark.parametrize("with_fill", [False, True], ids=["silence", "fill"])
@pytest.mark.parametrize("n,sr,tau", SHIFTS)
def test_shift_is_a_of_t_minus_tau(n, sr, tau, layout, with_fill):
    shape = (n,) if layout == "mono-1d" else (2, n)
    x = signal(shape, seed=n)
    before = x.copy()
    fill = signal(shape, seed=99, dtype=np.float64) if with_fill else None
    out = shift(x, sr, tau, fill=fill)
    want = reference_shift(x, sr, tau, fill)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert np.array_equal(out, want)
    assert np.array_equal(x, before) and out is not x  # a new array; the input is untouched


def test_shift_in_both_directions_mirrors():
    x = signal((1, 60), seed=1)
    sr = 10
    for tau in (0.25, 1.05, 3.0):
        late, early = shift(x, sr, tau), shift(x, sr, -tau)
        n = round_half_away(tau * sr)
        assert np.array_equal(late[:, n:], x[:, : 60 - n]) and not late[:, :n].any()
        assert np.array_equal(early[:, : 60 - n], x[:, n:]) and not early[:, 60 - n :].any()


@pytest.mark.parametrize("tau", [5.0, -5.0, 5.04, 7.0])
def test_shift_by_the_whole_length_or_more_is_refused(tau):
    x = signal((2, 50), seed=0)
    with pytest.raises(ValueError, match=r"tau=.* s is \d+ samples but the audio has only 50 \(5\.000 s\)"):
        shift(x, 10, tau)


def test_shift_checks_its_arguments_naming_them():
    x = signal((2, 50), seed=0)
    with pytest.raises(TypeError, match="^tau must be a number of seconds, got '0.1'$"):
        shift(x, 10, "0.1")
    with pytest.raises(TypeError, match="^tau must be a number of seconds, got True$"):
        shift(x, 10, True)
    for bad in (float("inf"), float("-inf"), float("nan")):
        with pytest.raises(ValueError, match="^tau must be finite, got"):
            shift(x, 10, bad)
    for bad in (0, -8000, 2.5, True, "16000", None):
        with pytest.raises(ValueError, match=r"^sample_rate must be a positive integer \(Hz\), got"):
            shift(x, bad, 0.1)
    assert np.array_equal(shift(x, np.int64(10), 0.1), shift(x, 10, 0.1))  # numpy integers are rates
    assert np.array_equal(shift(x, 10, np.float32(0.1)), shift(x, 10, 0.1))
    with pytest.raises(TypeError, match="^audio must be a numpy array, got list$"):
        shift([0.0, 1.0], 10, 0.1)
    with pytest.raises(ValueError, match=r"^audio must have shape \(samples,\) or \(channels, samples\), got \(1, 2, 3\)$"):
        shift(np.zeros((1, 2, 3)), 10, 0.1)
    with pytest.raises(ValueError, match=r"^audio is empty: shape \(2, 0\)$"):
        shift(np.zeros((2, 0)), 10, 0.0)
    with pytest.raises(ValueError, match=r"^audio is empty: shape \(0, 5\)$"):
        shift(np.zeros((0, 5)), 10, 0.0)
    with pytest.raises(TypeError, match="^audio must be floating point, got dtype int16$"):
        shift(np.zeros(10, np.int16), 10, 0.1)
    with pytest.raises(ValueError, match=r"^fill must have the audio's shape \(2, 50\), got \(2, 49\)$"):
        shift(x, 10, 0.1, fill=np.zeros((2, 49)))
    with pytest.raises(TypeError, match="^fill must be a numpy array, got list$"):
        shift(x, 10, 0.1, fill=[0.0] * 50)
    with pytest.raises(TypeError, match="^fill must be floating point"):
        shift(x, 10, 0.1, fill=np.zeros((2, 50), np.int32))


def test_a_1d_fill_goes_with_1d_audio():
    x = signal(30, seed=2)
    fill = np.full(30, 0.25, np.float64)
    out = shift(x, 10, -0.4, fill=fill)
    assert out.shape == (30,) and out.dtype == np.float32
    assert np.array_equal(out[26:], np.full(4, 0.25, np.float32))


# -- swap -------------------------------------------------------------------------------------


SWAPS = [
    # (donor samples, num_samples, rate, donor event, target)
    (40, 60, 10, 1.0, 3.0), (40, 60, 10, 3.0, 0.5), (200, 60, 10, 19.9, 0.0), (200, 60, 10, 0.0, 5.9),
    (40, 60, 10, 0.0, 0.0), (25, 60, 10, 2.4, 2.44), (60, 60, 8, 0.0625, 0.1875),
]  # fmt: skip


@pytest.mark.parametrize("layout", ["mono-1d", "stereo"])
@pytest.mark.parametrize("with_fill", [False, True], ids=["silence", "fill"])
@pytest.mark.parametrize("d,n,sr,event,target", SWAPS)
def test_swap_places_donor_sample_by_sample(d, n, sr, event, target, layout, with_fill):
    donor = signal((d,) if layout == "mono-1d" else (2, d), seed=d)
    fill = signal((n,) if layout == "mono-1d" else (2, n), seed=7, dtype=np.float64) if with_fill else None
    out = swap(donor, n, sr, event, target, fill=fill)
    want = reference_swap(donor, n, sr, event, target, fill)
    assert out.shape == want.shape and out.dtype == donor.dtype
    assert np.array_equal(out, want)
    # the donor's event sample is at the target sample
    assert np.array_equal(out[..., round_half_away(target * sr)], donor[..., round_half_away(event * sr)])


def test_swap_checks_its_arguments_naming_them():
    donor = signal((1, 40), seed=0)
    with pytest.raises(ValueError, match=r"^donor_event_time=4\.0 s is outside the donor audio \(0 to 4\.000 s\)$"):
        swap(donor, 60, 10, 4.0, 1.0)
    with pytest.raises(ValueError, match=r"^donor_event_time=-0\.1 s is outside the donor audio"):
        swap(donor, 60, 10, -0.1, 1.0)
    with pytest.raises(ValueError, match=r"^target_time=6\.0 s is outside the recipient audio \(0 to 6\.000 s\)$"):
        swap(donor, 60, 10, 1.0, 6.0)
    with pytest.raises(ValueError, match=r"^target_time=-0\.5 s is outside the recipient audio"):
        swap(donor, 60, 10, 1.0, -0.5)
    assert swap(donor, 60, 10, 3.99, 5.99).shape == (1, 60)  # just inside both
    for bad in (0, -1, 2.0, True, "60"):
        with pytest.raises(ValueError, match="^num_samples must be a positive integer, got"):
            swap(donor, bad, 10, 1.0, 1.0)
    assert swap(donor, np.int32(60), 10, 1.0, 1.0).shape == (1, 60)
    with pytest.raises(TypeError, match="^donor_event_time must be a number of seconds"):
        swap(donor, 60, 10, "1", 1.0)
    with pytest.raises(TypeError, match="^target_time must be a number of seconds"):
        swap(donor, 60, 10, 1.0, None)
    with pytest.raises(TypeError, match="^donor_audio must be a numpy array"):
        swap(list(donor[0]), 60, 10, 1.0, 1.0)
    with pytest.raises(ValueError, match=r"^fill must have shape \(1, 60\), got \(1, 59\)$"):
        swap(donor, 60, 10, 1.0, 1.0, fill=np.zeros((1, 59)))
    with pytest.raises(TypeError, match="^fill must be floating point"):
        swap(donor, 60, 10, 1.0, 1.0, fill=np.zeros((1, 60), np.int16))
    with pytest.raises(ValueError, match="^sample_rate must be a positive integer"):
        swap(donor, 60, 0, 1.0, 1.0)


# -- mute -------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape,dtype", [((7,), np.float32), ((2, 9), np.float64), ((1, 1), np.float16)])
def test_mute_is_zeros_of_the_same_shape_and_type(shape, dtype):
    x = signal(shape, seed=3, dtype=dtype) + 0.5
    out = mute(x)
    assert out.shape == x.shape and out.dtype == x.dtype and not out.any() and out is not x
    assert x.any()  # the input is untouched


def test_mute_checks_its_input():
    with pytest.raises(TypeError, match="must be a numpy array"):
        mute([0.0, 1.0])
    with pytest.raises(TypeError, match="floating point"):
        mute(np.ones(4, np.int32))
    with pytest.raises(ValueError, match="is empty"):
        mute(np.zeros((2, 0), np.float32))


# -- room tone --------------------------------------------------------------------------------


def rms(x) -> float:
    return float(np.sqrt(np.mean(np.asarray(x, np.float64) ** 2)))


def test_room_tone_takes_the_level_of_the_quietest_stretch_per_channel():
    sr = 8000
    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.2, (2, 4 * sr))
    x[:, sr : 2 * sr] = rng.normal(0, 0.01, (2, sr))  # the quiet second
    x[1] *= 3.0  # the right channel is louder everywhere
    x = x.astype(np.float32)
    tone = room_tone(x, sr, 3 * sr + 1, seed=4)  # an odd length
    assert tone.shape == (2, 3 * sr + 1) and tone.dtype == np.float32
    assert rms(tone[0]) == pytest.approx(0.01, rel=0.15)
    assert rms(tone[1]) == pytest.approx(0.03, rel=0.15)


def test_room_tone_picks_by_energy_not_by_the_sign_of_the_samples():
    """A loud stretch of negative samples is not quiet: it has the most energy."""
    sr = 4000
    rng = np.random.default_rng(1)
    x = rng.normal(0, 0.02, (1, 2 * sr))
    x[0, :sr] = -0.8 + rng.normal(0, 0.001, sr)
    tone = room_tone(x.astype(np.float32), sr, sr, seed=0)
    assert rms(tone) == pytest.approx(0.02, rel=0.2)


def test_room_tone_at_full_scale_is_not_silence():
    """A stretch whose level is exactly 1 is a level like any other (only 0 means silence)."""
    sr = 1000
    square = np.where(np.arange(2 * sr) % 20 < 10, 1.0, -1.0)[np.newaxis, :]
    tone = room_tone(square, sr, 500, seed=2)
    assert rms(tone) == pytest.approx(1.0, rel=1e-6)


def test_room_tone_imitates_the_spectrum():
    """Noise shaped like a low rumble stays low; like a hiss, stays high."""
    sr = 16000
    rng = np.random.default_rng(3)
    white = rng.standard_normal(4 * sr)
    spectrum = np.fft.rfft(white)
    f = np.fft.rfftfreq(white.size, 1 / sr)
    low = np.fft.irfft(spectrum * (f < 500), white.size)
    high = np.fft.irfft(spectrum * (f > 5000), white.size)
    for source, low_share in ((low, True), (high, False)):
        tone = room_tone((source * 0.05 / rms(source))[np.newaxis, :].astype(np.float32), sr, 2 * sr, seed=0)[0]
        power = np.abs(np.fft.rfft(tone)) ** 2
        ft = np.fft.rfftfreq(tone.size, 1 / sr)
        below = power[ft < 1000].sum() / power.sum()
        assert (below > 0.9) if low_share else (below < 0.05), below


def test_room_tone_of_1d_audio_is_1d_and_seeded():
    x = signal(3000, seed=5) * 0.1
    tone = room_tone(x, 8000, 1001, seed=9)
    assert tone.shape == (1001,) and tone.dtype == np.float32
    assert np.array_equal(tone, room_tone(x.copy(), 8000, 1001, seed=9))
    assert not np.array_equal(tone, room_tone(x, 8000, 1001, seed=10))
    stereo = room_tone(np.stack([x, x]), 8000, 1001, seed=9)
    assert stereo.shape == (2, 1001)


def test_room_tone_of_a_clip_shorter_than_its_window():
    """16 samples (less than a 0.25 s window at 8 kHz): the whole clip is the stretch."""
    x = (np.sign(np.sin(np.arange(16))) * 0.5).astype(np.float64)
    tone = room_tone(x, 8000, 64, seed=0)
    assert tone.shape == (64,) and tone.dtype == np.float64
    assert rms(tone) == pytest.approx(rms(x), rel=1e-6)


def test_room_tone_finds_a_quiet_stretch_shorter_than_the_clip_anywhere():
    """The quietest stretch at the start, in the middle or at the end is found (the search
    steps by half a window: a stretch of one window is found where such a step starts)."""
    sr = 1000
    for where in (0, 1250, 2750):
        x = np.random.default_rng(where).normal(0, 0.3, (1, 3000))
        x[0, where : where + 250] *= 0.01
        tone = room_tone(x.astype(np.float32), sr, 800, seed=1)
        assert rms(tone) < 0.02, where


def test_room_tone_of_digital_silence_is_digital_silence_per_channel():
    x = np.zeros((2, 4000), np.float32)
    x[1] = signal(4000, seed=1) * 0.1
    tone = room_tone(x, 8000, 500, seed=0)
    assert not tone[0].any() and rms(tone[1]) > 0.01


def test_room_tone_checks_its_arguments():
    x = signal((1, 100), seed=0)
    for bad in (0, -1, 2.5, True, "10"):
        with pytest.raises(ValueError, match="^num_samples must be a positive integer, got"):
            room_tone(x, 8000, bad, seed=0)
    assert room_tone(x, 8000, np.int64(5), seed=0).shape == (1, 5)
    with pytest.raises(ValueError, match="^sample_rate must be a positive integer"):
        room_tone(x, 0, 10, seed=0)
    with pytest.raises(TypeError, match="^audio must be floating point"):
        room_tone(np.zeros(100, np.int16), 8000, 10, seed=0)


# -- the smallest inputs each function accepts --------------------------------------------------


def test_one_sample_and_one_hertz_are_valid_sizes():
    x = np.array([[1.0, 2.0, 3.0]])
    assert np.array_equal(shift(x, 1, 1.0), [[0.0, 1.0, 2.0]])  # 1 Hz: a sample per second
    assert np.array_equal(swap(x, 1, 1, 2.0, 0.0), [[3.0]])  # a one-sample recipient
    assert np.array_equal(swap(x, 2, 1, 0.0, 1.0), [[0.0, 1.0]])
    tone = room_tone(signal(400, seed=0) * 0.1, 8000, 1, seed=0)
    assert tone.shape == (1,) and np.isfinite(tone).all()


def test_a_fill_is_read_not_written():
    x = signal((2, 40), seed=1)
    fill = signal((2, 40), seed=2)  # the audio's own dtype: no conversion copy to hide behind
    kept = fill.copy()
    out = shift(x, 10, 0.7, fill=fill)
    assert np.array_equal(fill, kept) and out is not fill
    assert np.array_equal(out[:, :7], kept[:, :7]) and np.array_equal(out[:, 7:], x[:, :33])
    out = swap(x, 40, 10, 1.0, 2.0, fill=fill)
    assert np.array_equal(fill, kept) and np.array_equal(out[:, :10], kept[:, :10])


def test_room_tone_with_the_quiet_stretch_in_the_clips_last_samples():
    """A 31-sample clip, 16-sample window (0.25 s at 64 Hz): loud first half, quiet after.
    The search never takes a window that runs past the end of the clip."""
    x = np.concatenate([np.full(16, 0.9), np.full(15, 0.01) * np.sign(np.sin(np.arange(15) + 0.5))])
    tone = room_tone(x, 64, 100, seed=0)
    assert tone.shape == (100,) and np.isfinite(tone).all() and rms(tone) < 0.9
