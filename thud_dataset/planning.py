"""The seeded plan: which partition each clip is in, its shift ``tau`` and its swap donor.

Every random choice is drawn from a generator seeded by ``(seed, clip_id)``, so a clip's
plan does not depend on which other clips are in the build, on their order, or on how
the build is sharded across processes. The train/test partition depends on the clip id
and ``partition_salt`` only — never on the intervention seed — so probes built with
different seeds never move a clip between training and evaluation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .sources.base import Clip, Skipped

#: default shift offsets in seconds: all well above the ~45 ms lead / ~125 ms lag
#: detectability thresholds of ITU-R BT.1359, both signs, four magnitudes
DEFAULT_OFFSETS: tuple[float, ...] = (-1.2, -0.8, -0.5, -0.3, 0.3, 0.5, 0.8, 1.2)
#: the shifted audio event must stay this far inside the clip (seconds), otherwise a
#: "delayed" clip is really a muted one
DEFAULT_MARGIN_S = 0.2
DEFAULT_TEST_FRACTION = 0.5


@dataclass(frozen=True)
class ClipPlan:
    """The interventions planned for one clip."""

    clip_id: str
    partition: str  # "train" or "test"
    tau: float  # shift offset, seconds
    donor_clip_id: str


@dataclass(frozen=True)
class PlanSettings:
    seed: int = 0
    offsets: tuple[float, ...] = DEFAULT_OFFSETS
    margin_s: float = DEFAULT_MARGIN_S
    test_fraction: float = DEFAULT_TEST_FRACTION
    partition_salt: str = "thud-partition-v1"

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        if not self.offsets:
            raise ValueError("offsets is empty: give at least one shift offset in seconds")
        for tau in self.offsets:
            if not isinstance(tau, (int, float)) or tau != tau or tau == 0:
                raise ValueError(f"offsets must be non-zero numbers of seconds, got {tau!r}")
        if not self.margin_s >= 0:
            raise ValueError(f"margin_s must be >= 0 seconds, got {self.margin_s}")
        if not 0 <= self.test_fraction <= 1:
            raise ValueError(f"test_fraction must be within [0, 1], got {self.test_fraction}")


def _u64(*parts: object) -> int:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def clip_rng(seed: int, clip_id: str, purpose: str) -> np.random.Generator:
    """A generator for one clip and one purpose, independent of every other clip."""
    return np.random.default_rng([seed, _u64(clip_id, purpose)])


def partition_of(clip: Clip, test_fraction: float, salt: str = "thud-partition-v1") -> str:
    """``"test"`` or ``"train"``: the clip's own ``split`` if set, else a hash of its id."""
    if clip.split is not None:
        return clip.split
    return "test" if _u64(salt, clip.clip_id) / 2**64 < test_fraction else "train"


def usable_offsets(
    audio_time: float, duration: float, offsets: Sequence[float], margin_s: float
) -> list[float]:
    """The offsets that keep the shifted audio event within ``[margin, duration - margin]``.

    >>> usable_offsets(1.0, 4.0, [-1.2, -0.5, 0.5, 2.9], margin_s=0.2)
    [-0.5, 0.5]
    """
    return [
        float(t) for t in offsets if margin_s <= audio_time + t <= duration - margin_s
    ]


def plan_clips(
    clips: Sequence[Clip],
    durations: dict[str, float],
    settings: PlanSettings,
) -> tuple[list[ClipPlan], list[Skipped]]:
    """Plan every clip; clips that cannot get all three interventions are skipped.

    A clip is skipped (with the reason) when no offset keeps its shifted audio event
    inside the clip with the margin, or when its partition has no other clip to donate
    audio. Donors come from the same partition, never the clip itself, and from another
    ``category`` when one exists.

    Parameters
    ----------
    clips : the clips, already checked to be readable and not silent
    durations : clip_id → duration in seconds
    settings : seed, offsets, margin, test fraction
    """
    plans: list[ClipPlan] = []
    skipped: list[Skipped] = []
    shiftable: list[tuple[Clip, float, str]] = []
    for clip in clips:
        duration = durations[clip.clip_id]
        choices = usable_offsets(clip.audio_time, duration, settings.offsets, settings.margin_s)
        if not choices:
            skipped.append(
                Skipped(
                    clip.clip_id,
                    clip.origin or clip.path,
                    f"no shift offset in {list(settings.offsets)} keeps the audio event "
                    f"(at {clip.audio_time:.3f} s of {duration:.3f} s) inside the clip with a "
                    f"{settings.margin_s} s margin; the clip is too short for the offsets",
                )
            )
            continue
        tau = choices[int(clip_rng(settings.seed, clip.clip_id, "shift").integers(len(choices)))]
        shiftable.append((clip, tau, partition_of(clip, settings.test_fraction, settings.partition_salt)))

    by_partition: dict[str, list[Clip]] = {}
    for clip, _, part in shiftable:
        by_partition.setdefault(part, []).append(clip)
    for pool in by_partition.values():
        pool.sort(key=lambda c: c.clip_id)

    for clip, tau, part in shiftable:
        others = [c for c in by_partition[part] if c.clip_id != clip.clip_id]
        if not others:
            skipped.append(
                Skipped(
                    clip.clip_id,
                    clip.origin or clip.path,
                    f"no donor for swap: it is the only usable clip in the {part!r} partition "
                    "(a partition needs two clips: set 'split' in the annotations or change the test fraction)",
                )
            )
            continue
        foreign = [c for c in others if c.category is None or c.category != clip.category]
        pool = foreign or others
        donor = pool[int(clip_rng(settings.seed, clip.clip_id, "donor").integers(len(pool)))]
        plans.append(ClipPlan(clip.clip_id, part, tau, donor.clip_id))
    return plans, skipped
