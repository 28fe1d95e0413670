"""The audio interventions: pure numpy, each in its own file.

* :func:`shift` — ``a'(t) = a(t - tau)``, same length, silence-filled;
* :func:`mute` — digital silence of the same shape;
* :func:`swap` — a donor's audio, length-matched, its event placed at a target time.
"""

from .mute import mute
from .shift import shift
from .swap import swap

__all__ = ["mute", "shift", "swap"]
