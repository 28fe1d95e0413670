"""The Thud ``datasets`` builder: sources → plan → interventions → media, as dataset rows.

``datasets`` 4+ no longer runs loading scripts, so this is a builder class used directly::

    from thud_dataset import ThudBuilder
    builder = ThudBuilder(config_name="probes", num_clips=24, seed=0)
    builder.download_and_prepare(num_proc=2)
    shift = builder.as_dataset(split="shift")

Configs: ``probes`` (splits ``original``, ``shift``, ``mute``, ``swap``; test-partition
clips by default), ``preferences`` (split ``train``; train-partition clips), ``clips``
(splits ``train``/``test``: the annotated sources that were used). To get a folder that
``load_dataset("<dir>", "probes")`` reads, use :func:`thud_dataset.build`.

The stages, each usable on its own (and by a cluster engine): :func:`prepare` lists,
checks and plans the clips; :func:`materialize_all` makes every planned clip's media with
:func:`materialize_job` (a pure function of a :class:`ClipJob`), skipping a clip that fails
with its reason and re-planning the clips that had it as donor; :func:`clip_rows` turns a
clip's :class:`ClipWork` into finished rows. One clip never ends a build: only machine
errors (:func:`machine_error`: a full or read-only disk…) do.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import math
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import datasets
from tqdm.auto import tqdm

from . import features as F
from . import media
from .citation import CITATION
from .materialize import ClipScan, ConditionOutput, EncodeSettings, MediaCache
from .planning import (
    DEFAULT_MARGIN_S,
    DEFAULT_OFFSETS,
    DEFAULT_SHIFTS_PER_CLIP,
    DEFAULT_TEST_FRACTION,
    ClipPlan,
    PlanSettings,
    plan_clips,
)
from .prompts import make_prompt
from .sources import Clip, ClipError, Skipped, get_clips
from .video_files import default_cache_dir
from .vocab import CHOICES, DIMENSIONS, INTERVENTION_OF, SPLITS, gold_label

logger = logging.getLogger(__name__)


@dataclass
class ThudConfig(datasets.BuilderConfig):
    """Settings of a build. Every field takes part in the cache key of ``datasets``."""

    source: str = "synthetic"
    num_clips: int = 24
    source_seed: int = 0
    annotations: str | None = None
    seed: int = 0
    offsets: tuple[float, ...] = DEFAULT_OFFSETS
    margin_s: float = DEFAULT_MARGIN_S
    test_fraction: float = DEFAULT_TEST_FRACTION
    #: shift probes per clip: 2 = one early and one delayed; up to len(offsets) for a sweep
    shifts_per_clip: int = DEFAULT_SHIFTS_PER_CLIP
    #: a clip where only early or only delayed offsets fit, with >= 2 shifts per clip:
    #: "skip" (default: its shifts would all point the way the picture suggests) or "keep"
    one_sided: str = "skip"
    #: which partition's clips the probes come from ("test", "train" or "all");
    #: None = the config's default (probes: test, preferences: train)
    partition: str | None = None
    audio_codec: str = "aac"
    audio_bitrate_per_channel: int = 64_000
    #: what fills the gaps a shift or swap leaves in the probes: "silence" (default, the
    #: paper's digital silence) or "room_tone"
    gap_fill: str = "silence"
    #: the same for the preferences: "room_tone" (default: training must not learn where
    #: the digital silence is) or "silence"
    preferences_gap_fill: str = "room_tone"
    #: probe rows carry an ``audio`` column (the decoded audio of the mp4, a float32 WAV)
    audio_column: bool = True
    shard_size: int = 4
    media_cache_dir: str | None = None

    def __post_init__(self):
        super().__post_init__()
        self.offsets = tuple(float(t) for t in self.offsets)
        if self.partition not in (None, "test", "train", "all"):
            raise ValueError(f"partition must be 'test', 'train' or 'all', got {self.partition!r}")
        if self.shard_size < 1:
            raise ValueError(f"shard_size must be >= 1, got {self.shard_size}")
        if self.source == "synthetic" and (isinstance(self.num_clips, bool) or not isinstance(self.num_clips, int) or self.num_clips < 1):
            raise ValueError(f"num_clips must be an integer >= 1, got {self.num_clips!r}")
        if not isinstance(self.audio_column, bool):
            raise ValueError(f"audio_column must be True or False, got {self.audio_column!r}")
        self.plan_settings()  # validate offsets, margin, test fraction, seed, shifts up front
        for name in ("probes", "preferences"):
            self.encode_settings(name)  # and the codec / gap fills

    def plan_settings(self) -> PlanSettings:
        return PlanSettings(
            seed=self.seed,
            offsets=self.offsets,
            margin_s=self.margin_s,
            test_fraction=self.test_fraction,
            shifts_per_clip=self.shifts_per_clip,
            one_sided=self.one_sided,
        )

    def encode_settings(self, config_name: str | None = None) -> EncodeSettings:
        """How the media of ``config_name``'s rows are made (default: this config's own):
        the preferences fill gaps with ``preferences_gap_fill``, everything else with
        ``gap_fill``."""
        name = config_name or self.name
        return EncodeSettings(
            codec=self.audio_codec,
            bitrate_per_channel=self.audio_bitrate_per_channel,
            gap_fill=self.preferences_gap_fill if name == "preferences" else self.gap_fill,
        )

    def partition_of(self, config_name: str | None = None) -> str:
        """Which partition's clips the rows of ``config_name`` come from: ``partition`` when
        set, else ``"train"`` for the preferences and ``"test"`` for the probes."""
        name = config_name or self.name
        return self.partition or ("train" if name == "preferences" else "test")

    def media_settings(self, partition: str, configs: Sequence[str] | None = None) -> list[EncodeSettings]:
        """The media a clip of ``partition`` needs for ``configs`` (default: this config):
        one :class:`EncodeSettings` per distinct way of making them, probes' first. A clip
        only the ``clips`` config uses gets the probes' settings (materializing checks it)."""
        names = [n for n in (configs or (self.name,)) if n != "clips"]
        used = [n for n in names if self.partition_of(n) in ("all", partition)]
        return list(dict.fromkeys(self.encode_settings(n) for n in used)) or [self.encode_settings("probes")]

    def cache(self) -> MediaCache:
        return MediaCache(self.media_cache_dir or default_cache_dir())


@dataclass(frozen=True)
class ClipMedia:
    """What materializing one planned clip produced: its condition files in the cache
    (keys: :func:`~thud_dataset.materialize.output_keys`)."""

    clip_id: str
    plan: ClipPlan  # the plan the files were made for
    outputs: dict[str, ConditionOutput]
    #: the source's video was re-encoded (its codec does not fit the output container)
    video_transcoded: bool = False
    #: how they were made (the gap fill differs between probes and preferences)
    settings: EncodeSettings = EncodeSettings()


@dataclass
class Prepared:
    """The clips of a build after checking and planning, and everything left out.

    ``media`` is filled by :func:`materialize_all` (every planned clip's files made, the
    clips that failed skipped and their recipients re-planned); ``None`` before it. It
    holds each clip's media in the first settings it needs; ``variants`` the media of a
    clip that two configs use with different settings (e.g. ``partition="all"``: probes
    with digital silence, preferences with room tone), keyed by clip id and settings.
    """

    clips: dict[str, Clip]
    scans: dict[str, ClipScan]
    plans: list[ClipPlan]
    skipped: list[Skipped] = field(default_factory=list)
    media: dict[str, ClipMedia] | None = None
    variants: dict[tuple[str, EncodeSettings], ClipMedia] = field(default_factory=dict)

    def donor(self, plan: ClipPlan) -> Clip:
        return self.clips[plan.donor_clip_id]

    def media_of(self, clip_id: str, settings: EncodeSettings | None = None) -> ClipMedia | None:
        """The clip's media made with ``settings`` (any, when ``None``), or ``None``."""
        media = (self.media or {}).get(clip_id)
        if media is not None and (settings is None or media.settings == settings):
            return media
        return self.variants.get((clip_id, settings)) if settings is not None else None

    def work(self, settings: EncodeSettings | None = None) -> list[ClipWork]:
        """One :class:`ClipWork` per planned clip, sorted by clip id (the row order), with
        the clip's media made with ``settings`` (``None``: the first; a clip without
        media in these settings gets ``media=None`` and :func:`clip_rows` makes them)."""
        return [
            ClipWork(
                self.clips[p.clip_id],
                p,
                self.donor(p),
                self.scans[p.clip_id].duration,
                self.media_of(p.clip_id, settings),
            )
            for p in sorted(self.plans, key=lambda p: p.clip_id)
        ]


@dataclass(frozen=True)
class ClipWork:
    """Everything the rows of one clip are made from (picklable: a worker needs nothing else)."""

    clip: Clip
    plan: ClipPlan
    donor: Clip
    duration: float
    media: ClipMedia | None  # None: materialize on the fly (streaming)


# -- faults: a clip's own, or the machine's ---------------------------------------------

#: errors of the machine, not of a clip: a build stops on them (the previous one is kept)
_MACHINE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EMFILE, errno.ENFILE})


def machine_error(exc: BaseException) -> OSError | None:
    """The machine-level cause of ``exc`` — a full disk or quota, a read-only filesystem,
    no file handles left — following ``__cause__``/``__context__``; ``None`` when the
    failure belongs to one clip (those are skipped, never the end of a build)."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, OSError) and cur.errno in _MACHINE_ERRNOS:
            return cur
        cur = cur.__cause__ or (None if cur.__suppress_context__ else cur.__context__)
    return None


def clip_failure(exc: Exception) -> str:
    """The reason a clip is skipped for ``exc``: the message of a Thud error as it is
    (it names the file), the exception type added to anything else."""
    if isinstance(exc, (ClipError, media.MediaError)):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def run_isolated(
    fn: Callable,
    items: Sequence,
    num_proc: int | None,
    crashed: Callable,
    *,
    desc: str,
    progress: bool = True,
) -> list:
    """``[fn(x) for x in items]`` in order; in ``num_proc`` processes when > 1.

    ``fn`` turns the failure of its own item into a value; an exception it lets through
    (a machine error) ends the run. A worker process that dies (a crash inside a media
    library, the out-of-memory killer) takes only its own item: the items not done yet
    are run again one process each, and one whose process dies again gives
    ``crashed(item)``.
    """
    bar = tqdm(total=len(items), desc=desc, unit="clip", disable=not progress or len(items) < 2)
    try:
        if not num_proc or num_proc <= 1 or len(items) < 2:
            out = []
            for x in items:
                out.append(fn(x))
                bar.update()
            return out
        results: dict[int, object] = {}
        try:
            with ProcessPoolExecutor(min(num_proc, len(items))) as pool:
                futures = {pool.submit(fn, x): i for i, x in enumerate(items)}
                try:
                    for f in as_completed(futures):
                        results[futures[f]] = f.result()
                        bar.update()
                except BaseException:
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise
        except BrokenProcessPool:
            for i, x in enumerate(items):
                if i not in results:
                    results[i] = _in_own_process(fn, x, crashed)
                    bar.update()
        return [results[i] for i in range(len(items))]
    finally:
        bar.close()


def _in_own_process(fn: Callable, item, crashed: Callable):
    with ProcessPoolExecutor(1) as pool:
        try:
            return pool.submit(fn, item).result()
        except BrokenProcessPool:
            return crashed(item)


# -- checking and planning ---------------------------------------------------------------


def _scan_cached(clip: Clip, cache: MediaCache) -> ClipScan:
    return cache.scan(clip)  # the scan cache follows the media cache's rules (materialize.py)


def _scan_or_error(args: tuple[Clip, MediaCache]) -> ClipScan | str:
    """:func:`_scan_cached` for a process pool: an unusable clip comes back as its message."""
    try:
        return _scan_cached(*args)
    except Exception as e:
        if machine_error(e):
            raise
        return clip_failure(e)


def _scan_crashed(args: tuple[Clip, MediaCache]) -> str:
    return f"{args[0].path}: the process reading it died (a crash in the media library?)"


#: runs ``fn`` over ``items`` like :func:`run_isolated` — ``mapper(fn, items, crashed, desc)``
#: returns ``[fn(x) for x in items]`` in order, ``crashed(x)`` for an item whose worker died
#: (a cluster engine passes its own; see :mod:`thud_dataset.hub.ray_engine`)
Mapper = Callable[[Callable, Sequence, Callable, str], list]


def _local_mapper(num_proc: int | None, progress: bool) -> Mapper:
    def mapper(fn: Callable, items: Sequence, crashed: Callable, desc: str) -> list:
        return run_isolated(fn, items, num_proc, crashed, desc=desc, progress=progress)

    return mapper


def prepare(
    config: ThudConfig, progress: bool = True, num_proc: int | None = None, mapper: Mapper | None = None
) -> Prepared:
    """Collect, check and plan the clips of ``config``; report every clip left out.

    ``num_proc`` > 1 reads the sources' headers and checks the clips in that many
    processes (same result, same order): the check decodes each clip once (the silence
    check), so a serial check would hold up a parallel build. ``mapper`` runs both maps
    elsewhere (a cluster); same result. The plan is made here.
    """
    cache = config.cache()
    mapper = mapper or _local_mapper(num_proc, progress)
    clips, skipped = get_clips(
        config.source,
        data_dir=config.data_dir,
        annotations=config.annotations,
        num_clips=config.num_clips,
        source_seed=config.source_seed,
        work_dir=cache.root,
        progress=progress,
        mapper=mapper,
    )
    scans: dict[str, ClipScan] = {}
    ok: list[Clip] = []
    checked = mapper(_scan_or_error, [(c, cache) for c in clips], _scan_crashed, "Checking clips")
    for clip, scan in zip(clips, checked, strict=True):
        if clip.clip_id in scans:
            skipped.append(Skipped(clip.clip_id, clip.origin or clip.path, "duplicate clip_id"))
            continue
        if isinstance(scan, str):
            skipped.append(Skipped(clip.clip_id, clip.origin or clip.path, scan))
            continue
        scans[clip.clip_id] = scan
        ok.append(clip)
    plans, plan_skipped = plan_clips(ok, {c: s.duration for c, s in scans.items()}, config.plan_settings())
    return Prepared({c.clip_id: c for c in ok}, scans, plans, skipped + plan_skipped)


# -- materializing ------------------------------------------------------------------------


@dataclass(frozen=True)
class ClipJob:
    """One clip's media work: everything it needs and nothing shared (picklable), so it
    runs the same in this process, a pool worker or a cluster worker."""

    clip: Clip
    plan: ClipPlan
    donor: Clip
    settings: EncodeSettings
    cache_root: str


def video_transcoded(outputs: dict[str, ConditionOutput]) -> bool:
    """Hook for the media side: did materializing re-encode the clip's video?

    Reads a ``video_transcoded`` flag on the condition outputs when the media code sets
    one (all conditions of a clip share one picture, so any output tells); ``False``
    until then.
    """
    return any(bool(getattr(o, "video_transcoded", False)) for o in outputs.values())


def materialize_job(job: ClipJob) -> ClipMedia:
    """Make (or find in the cache) the condition files of one planned clip.

    A pure function of the job: same job, same files. Raises whatever the media code
    raises; :func:`materialize_all` turns that into a skipped clip.
    """
    outputs = MediaCache(job.cache_root).get_or_make(job.clip, job.plan, job.donor, job.settings)
    return ClipMedia(job.clip.clip_id, job.plan, outputs, video_transcoded(outputs), job.settings)


@dataclass(frozen=True)
class DonorFailed:
    """A clip whose media failed because its donor's audio cannot be read: the donor is
    skipped (``donor``) and the clip re-planned, not skipped."""

    clip_id: str
    donor: Skipped


def _materialize_or_skip(job: ClipJob) -> ClipMedia | Skipped | DonorFailed:
    try:
        return materialize_job(job)
    except Exception as e:
        if machine_error(e):
            raise
        failure = e
    # whose fault? the donor only lends its decoded audio: if that fails, the donor goes
    try:
        media.decode_audio(job.donor.path)
    except Exception as e:
        if machine_error(e):
            raise
        donor = job.donor
        return DonorFailed(job.clip.clip_id, Skipped(donor.clip_id, donor.origin or donor.path, f"cannot be materialized: {clip_failure(e)}"))
    return Skipped(job.clip.clip_id, job.clip.origin or job.clip.path, f"cannot be materialized: {clip_failure(failure)}")


def _materialize_crashed(job: ClipJob) -> Skipped:
    return Skipped(
        job.clip.clip_id,
        job.clip.origin or job.clip.path,
        f"cannot be materialized: the process working on {job.clip.path} died (a crash in the media library?)",
    )


def materialize_all(
    prep: Prepared,
    config: ThudConfig,
    num_proc: int | None = None,
    progress: bool = True,
    configs: Sequence[str] | None = None,
    mapper: Mapper | None = None,
) -> Prepared:
    """Materialize every planned clip before any row is written; a clip that fails is
    skipped with its reason, like a bad row.

    Each clip is made in the settings the ``configs`` that use it need
    (:meth:`ThudConfig.media_settings`; default: ``config``'s own): by default a test
    clip for the probes (digital silence), a train clip for the preferences (room tone).

    A clip that failed because its donor's audio cannot be read is not skipped: the
    donor is. The clips that had a failed clip as their swap donor are re-planned (the planner
    changes only their donors, see :func:`~thud_dataset.planning.plan_clips`) and
    materialized again, until every plan has its files. The result is the build that
    would have been made had the failed clips been bad rows from the start. Machine
    errors (a full disk…) are raised, not skipped. ``mapper`` runs the clips elsewhere
    (a cluster engine) instead of in ``num_proc`` local processes; same result.
    """
    mapper = mapper or _local_mapper(num_proc, progress)
    cache_root = str(config.cache().root)
    clips = dict(prep.clips)
    plans = list(prep.plans)
    skipped = list(prep.skipped)
    made: dict[tuple[str, EncodeSettings], ClipMedia] = {}
    durations = {c: s.duration for c, s in prep.scans.items()}
    while True:
        jobs = [
            ClipJob(clips[p.clip_id], p, clips[p.donor_clip_id], s, cache_root)
            for p in plans
            for s in config.media_settings(p.partition, configs)
        ]
        todo = [j for j in jobs if (m := made.get((j.clip.clip_id, j.settings))) is None or m.plan != j.plan]
        results = mapper(_materialize_or_skip, todo, _materialize_crashed, "Materializing clips")
        failed = {r.clip_id: r for r in results if isinstance(r, Skipped)}
        for r in results:  # a donor that failed someone else is skipped too (once)
            if isinstance(r, DonorFailed):
                failed.setdefault(r.donor.clip_id, r.donor)
        made.update(((r.clip_id, r.settings), r) for r in results if isinstance(r, ClipMedia))
        if not failed:
            break
        skipped += failed.values()
        gone = set(failed)
        planned = [clips[p.clip_id] for p in plans if p.clip_id not in gone]
        plans, lost = plan_clips(planned, durations, config.plan_settings())
        skipped += lost
        dropped = gone | {s.clip_id for s in lost}
        made = {k: m for k, m in made.items() if k[0] not in dropped}
    used = {p.clip_id for p in plans}
    primary = {p.clip_id: config.media_settings(p.partition, configs)[0] for p in plans}
    return Prepared(
        {c: clip for c, clip in clips.items() if c in used},
        {c: s for c, s in prep.scans.items() if c in used},
        plans,
        skipped,
        {c: made[(c, s)] for c, s in primary.items()},
        {k: m for k, m in made.items() if k[0] in used and m.settings != primary[k[0]]},
    )


#: a clip's fixed cost (opening, muxing four files) in samples-to-encode, for balancing
_CLIP_OVERHEAD_SAMPLES = 32_000


def balanced_shards(items: list, size: int, jobs: int, cost: Callable[[object], float]) -> list[list]:
    """Cut ``items`` into shards of about ``size`` for ``jobs`` processes.

    One process (``jobs`` <= 1): consecutive runs, in order. Several: ``datasets`` hands
    each process a contiguous run of shards, so the items are first dealt to ``jobs``
    groups of about equal total ``cost`` (heaviest first, to the lightest group), each
    group is cut into the same number of shards, and the groups' shards follow each other.
    Within a shard the items keep their order. Only the order of the rows of
    ``as_dataset()`` depends on this (:func:`thud_dataset.build` writes its own shards, in
    clip order).
    """
    if jobs <= 1 or len(items) <= 1:
        return [items[i : i + size] for i in range(0, len(items), size)] or [[]]
    groups: list[list[int]] = [[] for _ in range(jobs)]
    loads = [0.0] * jobs
    for i in sorted(range(len(items)), key=lambda i: (-cost(items[i]), i)):
        g = min(range(jobs), key=lambda g: (loads[g], g))
        groups[g].append(i)
        loads[g] += cost(items[i])
    per_group = max(1, math.ceil(len(items) / size / jobs))
    shards = []
    for group in groups:
        group.sort()
        step = max(1, math.ceil(len(group) / per_group))
        cut = [group[k : k + step] for k in range(0, len(group), step)]
        cut += [[] for _ in range(per_group - len(cut))]  # equal shard counts per group
        shards += [[items[i] for i in c] for c in cut]
    return shards


def _hash_id(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:16]


def probe_rows(clip: Clip, plan: ClipPlan, donor: Clip, outputs: dict, seed: int, duration: float) -> list[dict]:
    """The probe rows of one clip (without media bytes): 3 originals, one shift per offset
    of ``plan.taus``, mute, swap.

    A dimension's ``pair_id`` is shared by its original probe and every intervened probe
    of it (the K shifts of a clip all pair with its original sync probe); a shift's
    ``probe_id`` includes its ``tau``, so every probe id is unique. Each row's ``video``
    holds only the content-hash file name at this point.
    """
    rows = []
    for dimension in DIMENSIONS:
        pair_id = _hash_id("pair", seed, clip.clip_id, dimension)
        wanted = ("original", INTERVENTION_OF[dimension])
        for out in (o for o in outputs.values() if o.condition in wanted):
            condition = out.condition
            tau = (repr(float(out.offset_s)),) if condition == "shift" else ()
            rows.append(
                {
                    "probe_id": _hash_id("probe", seed, clip.clip_id, dimension, condition, *tau),
                    "pair_id": pair_id,
                    "clip_id": clip.clip_id,
                    "dimension": dimension,
                    "condition": condition,
                    "offset_s": float(out.offset_s),
                    "donor_clip_id": out.donor_clip_id,
                    "video": out.file_name,
                    "prompt": make_prompt(dimension, clip.visual_event),
                    "choices": list(CHOICES[dimension]),
                    "label": gold_label(condition, out.offset_s),
                    "visual_event": clip.visual_event,
                    "visual_time": float(clip.visual_time),
                    "audio_event": clip.audio_event,
                    "audio_time": float(clip.audio_time),
                    "category": clip.category,
                    "edited_audio_time": out.edited_audio_time,
                    "duration_s": float(duration),
                    "partition": plan.partition,
                    "source": clip.source,
                    # not a column: lets preference texts name the foreign sound
                    "donor_audio_event": donor.audio_event if condition == "swap" else None,
                }
            )
    return rows


#: the order of a config's rows within a split (the written parquet files follow it)
ROW_ORDER = {
    "probes": ("clip_id", "dimension", "offset_s"),
    "preferences": ("clip_id", "dimension", "condition", "offset_s"),
    "clips": ("clip_id",),
}


def clip_row(work: ClipWork) -> dict:
    """The ``clips`` row of a clip: its labels and the source file's bytes."""
    clip = work.clip
    data = Path(clip.path).read_bytes()
    return {
        "clip_id": clip.clip_id,
        "file": Path(clip.path).name,
        "visual_event": clip.visual_event,
        "visual_time": float(clip.visual_time),
        "audio_event": clip.audio_event,
        "audio_time": float(clip.audio_time),
        "category": clip.category,
        "duration_s": float(work.duration),
        "partition": work.plan.partition,
        "source": clip.source,
        "license": clip.license,
        "video": {"bytes": data, "path": Path(clip.path).name},
    }


def read_object(cache: MediaCache, name: str, remake: Callable[[], object]) -> bytes:
    """The bytes of a materialized file, checked against its content-hash name
    (:meth:`MediaCache.read`). A missing or damaged one is made again once with ``remake``;
    a second failure raises :class:`ClipError`."""
    try:
        return cache.read(name)
    except media.MediaError:
        logger.warning("%s: the cached media file is missing or damaged; making it again", cache.path(name))
        remake()
    try:
        return cache.read(name)
    except media.MediaError as exc:
        raise ClipError(f"{exc} (even after remaking it)") from None


def clip_rows(
    config_name: str,
    split: str,
    work: ClipWork,
    cache: MediaCache,
    settings: EncodeSettings,
    seed: int,
    *,
    audio_column: bool = True,
) -> list[dict]:
    """The finished rows of one clip for one config and split (media bytes included), in
    :data:`ROW_ORDER`. A pure function of its arguments and the cache's files.

    ``settings`` are the media settings of ``config_name`` (:meth:`ThudConfig.encode_settings`);
    ``work.media`` is used when it was made with them, else the files come from the cache
    (made there if missing). ``audio_column``: probe rows get ``audio``, the decoded audio
    of their mp4 as a float32 WAV (:meth:`MediaCache.audio_of`).
    """
    if config_name == "clips":
        return [clip_row(work)]
    clip, plan, donor = work.clip, work.plan, work.donor

    def remake():
        return cache.get_or_make(clip, plan, donor, settings)

    media = work.media
    outputs = media.outputs if media is not None and media.settings == settings else remake()
    rows = probe_rows(clip, plan, donor, outputs, seed, work.duration)
    if config_name == "probes":
        rows = [r for r in rows if r["condition"] == split]
    rows.sort(key=lambda r: tuple(r[k] for k in ROW_ORDER[config_name]))
    with_audio = audio_column and config_name == "probes"
    finished = []
    for row in rows:
        row = dict(row)
        name = row["video"]
        row["video"] = {"bytes": read_object(cache, name, remake), "path": name}
        if with_audio:
            wav = cache.audio_of(name)
            row["audio"] = {"bytes": read_object(cache, wav, lambda n=name: cache.audio_of(n)), "path": wav}
        if config_name == "preferences":
            from .preferences import preference_texts

            row.update(preference_texts(row, seed))
        row.pop("donor_audio_event", None)
        finished.append(row)
    return finished


class ThudBuilder(datasets.GeneratorBasedBuilder):
    """Materializes Thud's configs from a clip source (see module docstring).

    ``download_and_prepare`` materializes every planned clip first (in ``num_proc``
    processes): a clip that fails is skipped (:attr:`skipped` says why) and its
    recipients get another donor, so generating the rows cannot fail on a clip.
    ``as_streaming_dataset`` materializes clip by clip as rows are read; there a clip
    that fails is logged and left out (a clip that used it as donor keeps its swap).
    """

    BUILDER_CONFIG_CLASS = ThudConfig
    BUILDER_CONFIGS = [
        ThudConfig(name="probes", description="Original / Shift / Mute / Swap probes with gold labels."),
        ThudConfig(name="preferences", description="Chosen / rejected responses on train-partition probes."),
        ThudConfig(name="clips", description="The annotated source clips that were used."),
    ]
    DEFAULT_CONFIG_NAME = "probes"
    DEFAULT_WRITER_BATCH_SIZE = 64

    config: ThudConfig

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description="Thud: audio-visual Clever-Hans probes (Shift / Mute / Swap).",
            # the audio column as its storage struct: datasets encodes every generated row,
            # and its Audio encoder needs torchcodec (thud build writes the column as Audio)
            features=F.features_for(self.config.name, audio_column=self.config.audio_column, audio_storage=True),
            citation=CITATION,
            license="see the dataset card: licences of the source clips apply",
        )

    def prepared(self) -> Prepared:
        """The checked and planned clips (materialized too when preparing the dataset)."""
        prep = getattr(self, "_thud_prepared", None)
        if prep is None:
            prep = prepare(self.config, num_proc=getattr(self, "_num_proc", None))
        if getattr(self, "_materialize_first", False) and prep.media is None:
            prep = materialize_all(prep, self.config, getattr(self, "_num_proc", None))  # this config's media
        self._thud_prepared = prep
        return prep

    @property
    def skipped(self) -> list[Skipped]:
        """Every clip left out of this builder's rows, and why."""
        return list(self.prepared().skipped)

    def download_and_prepare(self, *args, num_proc: int | None = None, **kwargs):
        # the shards are cut for the number of processes: see _split_generators
        self._num_proc = num_proc
        self._materialize_first = True
        return super().download_and_prepare(*args, num_proc=num_proc, **kwargs)

    def _partition(self) -> str:
        return self.config.partition_of()

    def _split_generators(self, dl_manager):
        prep = self.prepared()
        work = prep.work(self.config.encode_settings())
        size, jobs = self.config.shard_size, getattr(self, "_num_proc", None) or 1

        def cost(w: ClipWork) -> float:  # what materializing a clip costs: mostly encoding its samples
            scan = prep.scans[w.clip.clip_id]
            return scan.duration * scan.sample_rate * scan.channels + _CLIP_OVERHEAD_SAMPLES

        def shards(items):
            return balanced_shards(items, size, jobs, cost)

        if self.config.name == "clips":
            return [
                datasets.SplitGenerator(name=part, gen_kwargs={"shards": shards([w for w in work if w.plan.partition == part]), "split": part})
                for part in SPLITS["clips"]
            ]
        part = self._partition()
        chosen = [w for w in work if part == "all" or w.plan.partition == part]
        if self.config.name == "preferences":
            return [datasets.SplitGenerator(name="train", gen_kwargs={"shards": shards(chosen), "split": "train"})]
        return [
            datasets.SplitGenerator(name=split, gen_kwargs={"shards": shards(chosen), "split": split})
            for split in SPLITS["probes"]
        ]

    def _generate_examples(self, shards, split):
        cache = self.config.cache()
        settings = self.config.encode_settings()
        key = "clip_id" if self.config.name == "clips" else "probe_id"
        for shard in shards:
            for work in shard:
                try:
                    rows = clip_rows(
                        self.config.name, split, work, cache, settings, self.config.seed, audio_column=self.config.audio_column
                    )
                except Exception as e:
                    if work.media is not None or machine_error(e):
                        raise  # materialized already: the cache changed under the build
                    logger.warning("%s: left out of the stream: %s", work.clip.clip_id, clip_failure(e))
                    continue
                for row in rows:
                    yield row[key], row
