"""Mute: replace the audio by digital silence of the same length, rate and channels."""

from __future__ import annotations

import numpy as np

from ._validate import check_audio


def mute(audio: np.ndarray) -> np.ndarray:
    """Return digital silence shaped like ``audio``.

    The muted clip keeps an audio stream (some serving stacks switch audio off or crash
    on videos without one), so silence has to be real samples, not a dropped stream.

    >>> import numpy as np
    >>> mute(np.ones((2, 3), dtype=np.float32))
    array([[0., 0., 0.],
           [0., 0., 0.]], dtype=float32)
    """
    check_audio(audio)
    return np.zeros_like(audio)
