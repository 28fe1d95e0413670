"""The seeded plan: which partition each clip is in, its shift offsets ``tau`` and its swap donor.

Every random choice is drawn from a generator seeded by ``(seed, clip_id)``, so a clip's
plan does not depend on which other clips are in the build, on their order, or on how
the build is sharded across processes. The train/test partition depends on the clip id
and ``partition_salt`` only — never on the intervention seed — so probes built with
different seeds never move a clip between training and evaluation.

Shifts per clip (:func:`choose_offsets`): by default two, one early and one delayed, each
``|tau|`` drawn from the offsets that fit. Both shifts of a clip share its picture, so a
model that reads the direction from where the event is in the picture (an event near the
start leaves room only for a delay) gets at most one of the two right. A clip where only
one direction fits is *one-sided*; with two or more shifts per clip it is skipped by
default (``one_sided="skip"``) because its shifts would all point the way the picture
suggests, or kept (``"keep"``) with every shift in the direction that fits.
"""

from __future__ import annotations

import bisect
import hashlib
import os
from collections.abc import Hashable, Sequence
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
#: shift probes per clip: one early and one delayed
DEFAULT_SHIFTS_PER_CLIP = 2
#: what happens to a clip where only one shift direction fits, when a clip gets >= 2 shifts
ONE_SIDED = ("skip", "keep")
#: the planning protocol's version: a change that moves any clip's partition, offsets or
#: donor for the same seed and settings must bump it (and regenerate the fixture of
#: ``tests/thud_dataset/test_planning_behaviour.py::test_the_plan_of_a_fixed_seed_never_moves``)
PLAN_VERSION = 1


@dataclass(frozen=True)
class ClipPlan:
    """The interventions planned for one clip.

    ``taus``: its shift offsets in seconds, ascending (one shift probe each); a single
    number is taken as a one-element tuple. ``one_sided``: ``None`` when an early and a
    delayed offset both fit the clip, else the one direction that fits (``"early"`` or
    ``"delayed"``).

    >>> ClipPlan("c", "test", 0.5, "d").taus
    (0.5,)
    """

    clip_id: str
    partition: str  # "train" or "test"
    taus: tuple[float, ...]  # shift offsets, seconds, ascending
    donor_clip_id: str
    one_sided: str | None = None

    def __post_init__(self) -> None:
        taus = (self.taus,) if isinstance(self.taus, (int, float)) else self.taus
        object.__setattr__(self, "taus", tuple(float(t) for t in taus))
        if not self.taus or any(t == 0 or t != t for t in self.taus):
            raise ValueError(f"{self.clip_id}: a plan needs non-zero shift offsets, got {self.taus!r}")

    @classmethod
    def from_json(cls, d: dict) -> ClipPlan:
        """A plan from its JSON form (``dataclasses.asdict``); reports written before
        several shifts per clip hold a single ``tau``."""
        d = dict(d)
        if "tau" in d:
            if "taus" in d:
                raise ValueError(
                    f"{d.get('clip_id')}: a plan holds either 'taus' or the legacy 'tau', not both"
                )
            d["taus"] = (d.pop("tau"),)
        return cls(**d)


@dataclass(frozen=True)
class PlanSettings:
    seed: int = 0
    offsets: tuple[float, ...] = DEFAULT_OFFSETS
    margin_s: float = DEFAULT_MARGIN_S
    test_fraction: float = DEFAULT_TEST_FRACTION
    partition_salt: str = "thud-partition-v1"
    #: shift probes per clip (K); 2: one early and one delayed; len(offsets): a sweep
    shifts_per_clip: int = DEFAULT_SHIFTS_PER_CLIP
    #: a clip where only one direction fits, when ``shifts_per_clip`` >= 2: "skip" or "keep"
    one_sided: str = "skip"

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
        if self.one_sided not in ONE_SIDED:
            raise ValueError(f"one_sided must be one of {ONE_SIDED}, got {self.one_sided!r}")
        k = self.shifts_per_clip
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"shifts_per_clip must be a whole number >= 1, got {k!r}")
        side = one_sided_direction(self.offsets)
        if k >= 2 and side is not None and self.one_sided == "skip":
            raise ValueError(
                f"the offsets {list(self.offsets)} are all {side}: with {k} shifts per clip every clip "
                "would be one-sided and skipped; give offsets of both signs, one shift per clip "
                "(shifts_per_clip=1, --shifts-per-clip 1) or keep one-sided clips (one_sided='keep')"
            )
        if k > len(set(self.offsets)):
            raise ValueError(
                f"shifts_per_clip={k} is more than the {len(set(self.offsets))} distinct offsets "
                f"{sorted(set(self.offsets))}: a clip can get each offset once (all of them: "
                f"shifts_per_clip={len(set(self.offsets))})"
            )


def _u64(*parts: object) -> int:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def clip_rng(seed: int, clip_id: str, purpose: str) -> np.random.Generator:
    """A generator for one clip and one purpose, independent of every other clip."""
    return np.random.default_rng([seed, _u64(clip_id, purpose)])


def partition_of(clip: Clip, test_fraction: float, salt: str = "thud-partition-v1") -> str:
    """``"test"`` or ``"train"``: the clip's own ``split`` if set, else a hash of its id.

    The hash is part of the published protocol (a dataset's split must not move between
    versions): the first 8 bytes of ``SHA-256(salt + "\\x1f" + clip_id)`` (UTF-8), read as a
    big-endian integer ``h``; the clip is ``"test"`` when ``h / 2**64 < test_fraction``.
    """
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


def choose_offsets(fitting: Sequence[float], k: int, rng: np.random.Generator) -> tuple[float, ...]:
    """``k`` offsets of ``fitting`` (fewer when fewer fit), as balanced in direction as
    they allow, ascending.

    Half are early and half delayed; for odd ``k`` the odd one's direction is a draw of
    ``rng`` (so over a build the directions balance). When one direction has too few
    offsets, the other makes up the count: ``k`` >= the number of offsets gives every
    offset that fits (a sweep). Within a direction, offsets are drawn without replacement.

    >>> rng = np.random.default_rng(0)
    >>> choose_offsets([-0.5, -0.3, 0.3, 0.5], 2, rng) in {(-0.5, 0.3), (-0.5, 0.5), (-0.3, 0.3), (-0.3, 0.5)}
    True
    >>> choose_offsets([-0.3, 0.3, 0.5, 0.8], 8, rng)
    (-0.3, 0.3, 0.5, 0.8)
    >>> choose_offsets([0.3, 0.5], 2, rng)
    (0.3, 0.5)
    """
    early = sorted(float(t) for t in set(fitting) if t < 0)
    delayed = sorted(float(t) for t in set(fitting) if t > 0)
    n = min(k, len(early) + len(delayed))
    want_early = n // 2 + (int(rng.integers(2)) if n % 2 else 0)
    n_early = min(len(early), max(want_early, n - len(delayed)))
    picked = [early[i] for i in rng.choice(len(early), n_early, replace=False)] if n_early else []
    n_delayed = n - n_early
    picked += [delayed[i] for i in rng.choice(len(delayed), n_delayed, replace=False)] if n_delayed else []
    return tuple(sorted(picked))


def one_sided_direction(fitting: Sequence[float]) -> str | None:
    """``None`` when an early and a delayed offset both fit, else the direction that does
    (``"early"`` or ``"delayed"``; ``None`` too when nothing fits).

    >>> one_sided_direction([-0.3, 0.5]), one_sided_direction([0.3, 0.5])
    (None, 'delayed')
    """
    signs = {t > 0 for t in fitting}
    if len(signs) != 1:
        return None
    return "delayed" if signs.pop() else "early"


def source_identity(clip: Clip) -> Hashable:
    """What makes two clips the same recording: the same file on disk.

    Rows may annotate several events of one file under different clip ids; such clips
    must never donate audio to each other (the "swap" would be the same recording).
    Hard links and symlinks count as the same file (device and inode); a path that
    cannot be read falls back to its resolved name. Byte-identical copies under other
    names are not detected.
    """
    try:
        st = os.stat(clip.path)
    except OSError:
        return os.path.realpath(clip.path)
    return (st.st_dev, st.st_ino)


class _DonorRing:
    """The clips of one partition on a seeded ring: a recipient's donor is the first
    eligible clip clockwise from the recipient's own seeded point.

    Removing a clip changes the donor only of the recipients that had chosen it (the
    walk simply goes on to the next eligible clip), so re-planning after a clip fails
    keeps every other plan, and the plan of a build equals the plan of a build in which
    the failed clip had been a bad row from the start. Finding a donor costs O(log n)
    plus the clips passed over (same file; same category while another category exists,
    jumped over in one step), never a scan of the partition.
    """

    def __init__(self, clips: Sequence[Clip], seed: int) -> None:
        ranked = sorted(clips, key=lambda c: (_u64(seed, c.clip_id, "ring"), c.clip_id))
        self.clips = ranked
        self.points = [_u64(seed, c.clip_id, "ring") for c in ranked]
        self.source = [source_identity(c) for c in ranked]
        self.seed = seed
        n = len(ranked)
        cats = [c.category for c in ranked]
        # next_other[i]: the next index clockwise whose category differs from clip i's
        # (None when all share one category); computed on the ring unrolled twice
        unrolled: list[int | None] = [None] * (2 * n)
        for i in range(2 * n - 2, -1, -1):
            unrolled[i] = i + 1 if cats[(i + 1) % n] != cats[i % n] else unrolled[i + 1]
        self.next_other = [None if k is None else k % n for k in unrolled[:n]]
        self.by_category: dict[str | None, int] = {}
        for c in ranked:
            self.by_category[c.category] = self.by_category.get(c.category, 0) + 1
        self.by_source: dict[Hashable, list[Clip]] = {}
        for c, s in zip(ranked, self.source, strict=True):
            self.by_source.setdefault(s, []).append(c)

    @staticmethod
    def _foreign(candidate: Clip, clip: Clip) -> bool:
        return clip.category is None or candidate.category != clip.category

    def _has_foreign(self, clip: Clip, source: Hashable) -> bool:
        """Is there an eligible donor of another category than ``clip``'s?"""
        if clip.category is None:
            return False  # no category: every other clip is as good as any
        same_file = sum(1 for c in self.by_source[source] if c.category != clip.category)
        return len(self.clips) - self.by_category.get(clip.category, 0) - same_file > 0

    def donor(self, clip: Clip) -> Clip | None:
        """``clip``'s donor: not itself, not from its file, another category if any."""
        n = len(self.clips)
        source = source_identity(clip)
        foreign = self._has_foreign(clip, source)
        i = bisect.bisect_left(self.points, _u64(self.seed, clip.clip_id, "donor")) % n
        for _ in range(2 * n):  # each step either takes a donor or passes a clip
            c = self.clips[i]
            if foreign and not self._foreign(c, clip):
                i = self.next_other[i]  # exists: another category is there
                continue
            if c.clip_id != clip.clip_id and self.source[i] != source:
                return c
            i = (i + 1) % n
        return None


def plan_clips(
    clips: Sequence[Clip],
    durations: dict[str, float],
    settings: PlanSettings,
) -> tuple[list[ClipPlan], list[Skipped]]:
    """Plan every clip; clips that cannot get all three interventions are skipped.

    A clip is skipped (with the reason) when no offset keeps its shifted audio event
    inside the clip with the margin; when it is one-sided (only early or only delayed
    offsets fit), ``shifts_per_clip`` >= 2 and ``one_sided`` is ``"skip"``; or when its
    partition has no other clip to donate audio. A clip gets ``shifts_per_clip`` offsets
    (:func:`choose_offsets`). Donors come from the same partition, are never the clip
    itself nor a clip of the same source file, and come from another ``category`` when one
    exists. A clip's offsets depend only on the seed and its own id; its donor on the seed
    and the clips of its partition, chosen so that removing one clip changes only the
    donors that were that clip (see :class:`_DonorRing`). Plans come back in the order of
    ``clips``.

    Parameters
    ----------
    clips : the clips, already checked to be readable and not silent
    durations : clip_id → duration in seconds
    settings : seed, offsets, margin, test fraction
    """
    plans: list[ClipPlan] = []
    skipped: list[Skipped] = []
    shiftable: list[tuple[Clip, tuple[float, ...], str | None, str]] = []
    k = settings.shifts_per_clip
    for clip in clips:
        duration = durations[clip.clip_id]
        choices = usable_offsets(clip.audio_time, duration, settings.offsets, settings.margin_s)
        side = one_sided_direction(choices)
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
        if side is not None and k >= 2 and settings.one_sided == "skip":
            skipped.append(
                Skipped(
                    clip.clip_id,
                    clip.origin or clip.path,
                    f"one-sided: only {side} offsets ({', '.join(f'{t:+g}' for t in choices)} s) keep "
                    f"the audio event (at {clip.audio_time:.3f} s of {duration:.3f} s) inside the clip "
                    f"with a {settings.margin_s} s margin, so its {k} shifts would all be {side} and "
                    "the picture (where the event is) would give the direction away; keep such "
                    "clips with one_sided='keep' (--one-sided keep)",
                )
            )
            continue
        taus = choose_offsets(choices, k, clip_rng(settings.seed, clip.clip_id, "shift"))
        part = partition_of(clip, settings.test_fraction, settings.partition_salt)
        shiftable.append((clip, taus, side, part))

    by_partition: dict[str, list[Clip]] = {}
    for clip, _, _, part in shiftable:
        by_partition.setdefault(part, []).append(clip)
    rings = {part: _DonorRing(pool, settings.seed) for part, pool in by_partition.items()}

    for clip, taus, side, part in shiftable:
        donor = rings[part].donor(clip)
        if donor is None:
            alone = len(by_partition[part]) == 1
            why = (
                f"it is the only usable clip in the {part!r} partition"
                if alone
                else f"every other usable clip in the {part!r} partition comes from the same source file"
            )
            skipped.append(
                Skipped(
                    clip.clip_id,
                    clip.origin or clip.path,
                    f"no donor for swap: {why} (a partition needs two clips from different "
                    "files: set 'split' in the annotations or change the test fraction)",
                )
            )
            continue
        plans.append(ClipPlan(clip.clip_id, part, taus, donor.clip_id, side))
    return plans, skipped
