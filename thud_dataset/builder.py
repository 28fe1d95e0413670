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
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import datasets
from tqdm.auto import tqdm

from . import features as F
from .citation import CITATION
from .materialize import ClipScan, EncodeSettings, MediaCache
from .planning import (
    DEFAULT_MARGIN_S,
    DEFAULT_OFFSETS,
    DEFAULT_TEST_FRACTION,
    ClipPlan,
    PlanSettings,
    plan_clips,
)
from .prompts import make_prompt
from .sources import Clip, ClipError, Skipped, get_clips
from .video_files import default_cache_dir
from .vocab import CHOICES, DIMENSIONS, INTERVENTION_OF, SPLITS, gold_label


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
    #: which partition's clips the probes come from ("test", "train" or "all");
    #: None = the config's default (probes: test, preferences: train)
    partition: str | None = None
    audio_codec: str = "aac"
    audio_bitrate_per_channel: int = 64_000
    #: what fills the gaps a shift or swap leaves: "silence" (default) or "room_tone"
    gap_fill: str = "silence"
    shard_size: int = 4
    media_cache_dir: str | None = None

    def __post_init__(self):
        super().__post_init__()
        self.offsets = tuple(float(t) for t in self.offsets)
        if self.partition not in (None, "test", "train", "all"):
            raise ValueError(f"partition must be 'test', 'train' or 'all', got {self.partition!r}")
        if self.shard_size < 1:
            raise ValueError(f"shard_size must be >= 1, got {self.shard_size}")
        self.plan_settings()  # validate offsets, margin, test fraction, seed up front
        self.encode_settings()  # and the codec / gap fill

    def plan_settings(self) -> PlanSettings:
        return PlanSettings(
            seed=self.seed,
            offsets=self.offsets,
            margin_s=self.margin_s,
            test_fraction=self.test_fraction,
        )

    def encode_settings(self) -> EncodeSettings:
        return EncodeSettings(
            codec=self.audio_codec, bitrate_per_channel=self.audio_bitrate_per_channel, gap_fill=self.gap_fill
        )

    def cache(self) -> MediaCache:
        return MediaCache(self.media_cache_dir or default_cache_dir())


@dataclass
class Prepared:
    """The clips of a build after checking and planning, and everything left out."""

    clips: dict[str, Clip]
    scans: dict[str, ClipScan]
    plans: list[ClipPlan]
    skipped: list[Skipped] = field(default_factory=list)

    def donor(self, plan: ClipPlan) -> Clip:
        return self.clips[plan.donor_clip_id]


def _scan_cached(clip: Clip, cache: MediaCache) -> ClipScan:
    return cache.scan(clip)  # the scan cache follows the media cache's rules (materialize.py)


def _scan_or_error(args: tuple[Clip, MediaCache]) -> ClipScan | str:
    """:func:`_scan_cached` for a process pool: an unusable clip comes back as its message."""
    try:
        return _scan_cached(*args)
    except (ClipError, OSError) as e:
        return str(e)


def _scan_all(clips: list[Clip], cache: MediaCache, num_proc: int | None, progress: bool) -> list[ClipScan | str]:
    """Scan every clip, in order; with ``num_proc`` > 1 in that many processes.

    The scan decodes each clip once (the silence check), so a serial scan would hold up a
    parallel build for a few per cent of its time on every clip.
    """
    bar = {"desc": "Checking clips", "unit": "clip", "total": len(clips), "disable": not progress or len(clips) < 2}
    if not num_proc or num_proc <= 1 or len(clips) < 2:
        return [_scan_or_error((c, cache)) for c in tqdm(clips, **bar)]
    workers = min(num_proc, len(clips))
    with ProcessPoolExecutor(workers) as pool:
        chunk = max(1, len(clips) // (workers * 8))
        return list(tqdm(pool.map(_scan_or_error, [(c, cache) for c in clips], chunksize=chunk), **bar))


def prepare(config: ThudConfig, progress: bool = True, num_proc: int | None = None) -> Prepared:
    """Collect, check and plan the clips of ``config``; report every clip left out.

    ``num_proc`` > 1 checks the clips in that many processes (same result, same order).
    """
    cache = config.cache()
    clips, skipped = get_clips(
        config.source,
        data_dir=config.data_dir,
        annotations=config.annotations,
        num_clips=config.num_clips,
        source_seed=config.source_seed,
        work_dir=cache.root,
        progress=progress,
    )
    scans: dict[str, ClipScan] = {}
    ok: list[Clip] = []
    # every clip is scanned up front (in parallel if asked), then taken in order as before
    for clip, scan in zip(clips, _scan_all(clips, cache, num_proc, progress), strict=True):
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


#: a clip's fixed cost (opening, muxing four files) in samples-to-encode, for balancing
_CLIP_OVERHEAD_SAMPLES = 32_000


def balanced_shards(items: list, size: int, jobs: int, cost: Callable[[object], float]) -> list[list]:
    """Cut ``items`` into shards of about ``size`` for ``jobs`` processes.

    One process (``jobs`` <= 1): consecutive runs, in order. Several: ``datasets`` hands
    each process a contiguous run of shards, so the items are first dealt to ``jobs``
    groups of about equal total ``cost`` (heaviest first, to the lightest group), each
    group is cut into the same number of shards, and the groups' shards follow each other.
    Within a shard the items keep their order. Only the order of the rows of
    ``as_dataset()`` depends on this; :func:`thud_dataset.build` sorts them.
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
    """The probe rows of one clip (without media bytes): 3 originals + shift, mute, swap.

    Each row's ``video`` holds only the content-hash file name at this point.
    """
    rows = []
    for dimension in DIMENSIONS:
        pair_id = _hash_id("pair", seed, clip.clip_id, dimension)
        for condition in ("original", INTERVENTION_OF[dimension]):
            out = outputs[condition]
            rows.append(
                {
                    "probe_id": _hash_id("probe", seed, clip.clip_id, dimension, condition),
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


class ThudBuilder(datasets.GeneratorBasedBuilder):
    """Materializes Thud's configs from a clip source, on the fly (see module docstring)."""

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
        feats = {"probes": F.PROBE_FEATURES, "preferences": F.PREFERENCE_FEATURES, "clips": F.CLIP_FEATURES}
        return datasets.DatasetInfo(
            description="Thud: audio-visual Clever-Hans probes (Shift / Mute / Swap).",
            features=feats[self.config.name],
            citation=CITATION,
            license="see the dataset card: licences of the source clips apply",
        )

    def prepared(self) -> Prepared:
        if getattr(self, "_prepared", None) is None:
            self._prepared = prepare(self.config, num_proc=getattr(self, "_num_proc", None))
        return self._prepared

    def download_and_prepare(self, *args, num_proc: int | None = None, **kwargs):
        # the shards are cut for the number of processes: see _split_generators
        self._num_proc = num_proc
        return super().download_and_prepare(*args, num_proc=num_proc, **kwargs)

    def _partition(self) -> str:
        if self.config.partition:
            return self.config.partition
        return "train" if self.config.name == "preferences" else "test"

    def _split_generators(self, dl_manager):
        prep = self.prepared()
        work = [(prep.clips[p.clip_id], p, prep.donor(p), prep.scans[p.clip_id].duration) for p in prep.plans]
        size, jobs = self.config.shard_size, getattr(self, "_num_proc", None) or 1

        def cost(w) -> float:  # what materializing a clip costs: mostly encoding its samples
            scan = prep.scans[w[0].clip_id]
            return scan.duration * scan.sample_rate * scan.channels + _CLIP_OVERHEAD_SAMPLES

        def shards(items):
            return balanced_shards(items, size, jobs, cost)

        if self.config.name == "clips":
            return [
                datasets.SplitGenerator(name=part, gen_kwargs={"shards": shards([w for w in work if w[1].partition == part]), "split": part})
                for part in SPLITS["clips"]
            ]
        part = self._partition()
        chosen = [w for w in work if part == "all" or w[1].partition == part]
        if self.config.name == "preferences":
            return [datasets.SplitGenerator(name="train", gen_kwargs={"shards": shards(chosen), "split": "train"})]
        return [
            datasets.SplitGenerator(name=split, gen_kwargs={"shards": shards(chosen), "split": split})
            for split in SPLITS["probes"]
        ]

    def _generate_examples(self, shards, split):
        cache = self.config.cache()
        settings = self.config.encode_settings()
        for shard in shards:
            for clip, plan, donor, duration in shard:
                if self.config.name == "clips":
                    yield clip.clip_id, self._clip_row(clip, plan, duration)
                    continue
                outputs = cache.get_or_make(clip, plan, donor, settings)
                rows = probe_rows(clip, plan, donor, outputs, self.config.seed, duration)
                if self.config.name == "probes":
                    rows = [r for r in rows if r["condition"] == split]
                for row in rows:
                    yield row["probe_id"], self._finish(row, cache)

    def _finish(self, row: dict, cache: MediaCache) -> dict:
        name = row["video"]
        row = dict(row)
        row["video"] = {"bytes": cache.path(name).read_bytes(), "path": name}
        if self.config.name == "preferences":
            from .preferences import preference_texts

            row.update(preference_texts(row, self.config.seed))
        row.pop("donor_audio_event", None)
        return row

    @staticmethod
    def _clip_row(clip: Clip, plan: ClipPlan, duration: float) -> dict:
        data = Path(clip.path).read_bytes()
        return {
            "clip_id": clip.clip_id,
            "file": Path(clip.path).name,
            "visual_event": clip.visual_event,
            "visual_time": float(clip.visual_time),
            "audio_event": clip.audio_event,
            "audio_time": float(clip.audio_time),
            "category": clip.category,
            "duration_s": float(duration),
            "partition": plan.partition,
            "source": clip.source,
            "license": clip.license,
            "video": {"bytes": data, "path": Path(clip.path).name},
        }
