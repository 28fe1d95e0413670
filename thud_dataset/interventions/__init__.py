"""The audio interventions: pure numpy, each in its own file.

* :func:`shift` — ``a'(t) = a(t - tau)``, same length, silence-filled;
* :func:`mute` — digital silence of the same shape;
* :func:`swap` — a donor's audio, length-matched, its event placed at a target time;
* :func:`room_tone` — a clip's own background, to fill the gaps shift and swap leave
  (instead of digital silence, which gives the intervention away).
"""

from .mute import mute
from .room_tone import room_tone
from .shift import shift
from .swap import swap

__all__ = ["mute", "room_tone", "shift", "swap"]
