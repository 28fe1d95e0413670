"""Swap: put another clip's (the donor's) sound in place of the clip's own."""

from __future__ import annotations

import numpy as np

from ._validate import check_audio, check_sample_rate, check_seconds, to_samples


def swap(
    donor_audio: np.ndarray,
    num_samples: int,
    sample_rate: int,
    donor_event_time: float,
    target_time: float,
    fill: np.ndarray | None = None,
) -> np.ndarray:
    """Return the donor's audio, length-matched to ``num_samples``, with its event moved.

    The donor's audio event (at ``donor_event_time`` in the donor) lands at
    ``target_time`` in the output — by default the recipient's visual-event time — so a
    swapped clip is *in time* with the picture and tests consistency, not timing. Donor
    samples that fall outside ``[0, num_samples)`` are dropped; the rest is silence, or
    the samples of ``fill`` there (e.g. the donor's :func:`room_tone`).

    Parameters
    ----------
    donor_audio : ndarray (samples,) or (channels, samples), float, already at
        ``sample_rate`` and with the recipient's channel count
    num_samples : int, length of the recipient's audio
    sample_rate : int, Hz
    donor_event_time, target_time : float, seconds
    fill : ndarray (channels, num_samples), optional; what uncovered samples get

    Returns
    -------
    ndarray of shape (channels, num_samples), or (num_samples,) for 1-D input.

    >>> import numpy as np
    >>> swap(np.array([0.0, 5.0, 0.0]), num_samples=4, sample_rate=1,
    ...      donor_event_time=1.0, target_time=2.0)
    array([0., 0., 5., 0.])
    """
    sample_rate = check_sample_rate(sample_rate)
    donor_event_time = check_seconds(donor_event_time, "donor_event_time")
    target_time = check_seconds(target_time, "target_time")
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) or num_samples < 1:
        raise ValueError(f"num_samples must be a positive integer, got {num_samples!r}")
    was_1d = isinstance(donor_audio, np.ndarray) and donor_audio.ndim == 1
    x = check_audio(donor_audio, "donor_audio")
    if not 0 <= donor_event_time < x.shape[1] / sample_rate:
        raise ValueError(
            f"donor_event_time={donor_event_time} s is outside the donor audio "
            f"(0 to {x.shape[1] / sample_rate:.3f} s)"
        )
    if not 0 <= target_time < num_samples / sample_rate:
        raise ValueError(
            f"target_time={target_time} s is outside the recipient audio "
            f"(0 to {num_samples / sample_rate:.3f} s)"
        )
    # where donor sample 0 lands in the output
    start = to_samples(target_time, sample_rate) - to_samples(donor_event_time, sample_rate)
    out = np.zeros((x.shape[0], int(num_samples)), dtype=x.dtype)
    if fill is not None:
        f = check_audio(fill, "fill")
        if f.shape != out.shape:
            raise ValueError(f"fill must have shape {out.shape}, got {f.shape}")
        out[:] = f
    src_lo, dst_lo = max(0, -start), max(0, start)
    count = min(x.shape[1] - src_lo, int(num_samples) - dst_lo)
    out[:, dst_lo : dst_lo + count] = x[:, src_lo : src_lo + count]
    return out[0] if was_1d else out
