"""The parquet files of a build: how rows are cut into shards and named, and how one is written.

One rule for every engine (the local processes, a Ray cluster): per config and split, the
clips in row order are cut into runs of about :data:`MAX_SHARD_BYTES` of media each and
written to ``data/<config>/<split>-NNNNN-of-NNNNN.parquet``. The cut depends only on the
materialized files' sizes, never on the engine or the number of workers, so the same
clips and seed give the same files, with the same names and bytes, wherever they are
written.

:func:`write_shard` is a pure function of a :class:`ShardSpec` and the media cache: the
same spec gives the same bytes in any process, and it returns the
:class:`~thud_dataset.hub.report.ParquetFile` that describes what it wrote (rows, bytes,
SHA-256), from which the report and the card are assembled.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..builder import ClipWork, Prepared, ThudConfig, clip_rows
from ..materialize import ClipScan, EncodeSettings, MediaCache
from ..vocab import SPLITS
from .output import BuildError, fsync_path
from .report import ParquetFile

__all__ = ["MAX_SHARD_BYTES", "ShardSpec", "partition_of", "plan_shards", "wav_bytes", "write_shard"]

#: parquet files are cut so that none is much larger than this (the Hub prefers < 500 MB;
#: a shard is held in memory once while it is written)
MAX_SHARD_BYTES = 256 * 1024**2


@dataclass(frozen=True)
class ShardSpec:
    """One parquet file of a build: which rows (the clips' ``work``, in row order) go
    into which file. Everything a worker needs to write it, nothing shared."""

    config: str
    split: str
    path: str  # relative to the build folder
    work: tuple[ClipWork, ...]
    seed: int
    cache_root: str
    settings: EncodeSettings  # the media settings of this config (ThudConfig.encode_settings)
    audio_column: bool = True  # probe rows carry the ``audio`` column


def partition_of(config: str, split: str, partition: str | None) -> str:
    """Which partition's clips a config/split holds (``"all"``: every clip).

    >>> partition_of("clips", "train", None), partition_of("probes", "shift", None)
    ('train', 'test')
    """
    if config == "clips":
        return split
    return partition or ("train" if config == "preferences" else "test")


def file_size(path: str | Path, sizes: Mapping[str, int] | None = None) -> int:
    """Bytes of ``path``: from ``sizes`` (``{str(path): bytes}``, measured where the file was
    made: a cluster worker) when it is there, else from the filesystem."""
    if sizes is not None:
        known = sizes.get(str(path))
        if known is not None:
            return known
    return os.stat(path).st_size


def wav_bytes(scan: ClipScan) -> int:
    """About the size of a clip's audio-column file: 32-bit float samples, all of them."""
    return int(4 * scan.duration * scan.sample_rate * scan.channels)


def _clip_bytes(
    config: str, split: str, work: ClipWork, cache: MediaCache, sizes: Mapping[str, int] | None, wav: int = 0
) -> int:
    """Bytes of media a clip puts into a config/split (for cutting shards): the original
    file goes into three rows (one per dimension), each intervened file into one; a probe
    row also holds ``wav`` bytes of audio column (0 without it)."""
    if config == "clips" or work.media is None:
        return file_size(work.clip.path, sizes)
    outputs = [o for o in work.media.outputs.values() if config != "probes" or o.condition == split]
    extra = wav if config == "probes" else 0
    return sum(
        (3 if o.condition == "original" else 1) * (file_size(cache.path(o.file_name), sizes) + extra) for o in outputs
    )


def plan_shards(
    prep: Prepared, configs: tuple[str, ...], config: ThudConfig, sizes: Mapping[str, int] | None = None
) -> list[ShardSpec]:
    """The parquet files to write: per config and split, its clips in row order, cut into
    runs of about :data:`MAX_SHARD_BYTES` each. An empty split gets no file.

    ``sizes`` (``{str(path): bytes}``) spares the filesystem look-ups of the files whose
    sizes are already known; the result is the same either way.
    """
    cache = config.cache()
    specs = []
    for name in configs:
        settings = config.encode_settings(name)
        work = prep.work(settings)
        for split in SPLITS[name]:
            part = partition_of(name, split, config.partition)
            chosen = [w for w in work if part == "all" or w.plan.partition == part]
            if not chosen:
                continue
            total = sum(
                _clip_bytes(
                    name, split, w, cache, sizes, wav_bytes(prep.scans[w.clip.clip_id]) if config.audio_column else 0
                )
                for w in chosen
            )
            n = min(len(chosen), max(1, math.ceil(total / MAX_SHARD_BYTES)))
            for i in range(n):
                run = chosen[i * len(chosen) // n : (i + 1) * len(chosen) // n]
                path = f"data/{name}/{split}-{i:05d}-of-{n:05d}.parquet"
                specs.append(
                    ShardSpec(name, split, path, tuple(run), config.seed, str(cache.root), settings, config.audio_column)
                )
    return specs


def write_shard(spec: ShardSpec, folder: str | Path) -> ParquetFile:
    """Write one shard under ``folder`` and read it back; return what was written.

    A pure function of ``spec`` and the media cache's files: the same spec gives the same
    bytes, in any process. The file is flushed to disk before this returns.
    """
    import datasets

    from ..features import AUDIO, features_for

    cache = MediaCache(spec.cache_root)
    rows = [
        r
        for w in spec.work
        for r in clip_rows(spec.config, spec.split, w, cache, spec.settings, spec.seed, audio_column=spec.audio_column)
    ]
    target = Path(folder) / spec.path
    target.parent.mkdir(parents=True, exist_ok=True)
    quiet = datasets.are_progress_bars_disabled()
    datasets.disable_progress_bars()  # one bar per file is noise: the build shows its own
    try:
        features = features_for(spec.config, spec.audio_column, audio_storage=True)
        table = datasets.Dataset.from_list(rows, features=features)
        if "audio" in features:  # written as its storage, typed Audio by an arrow cast (no torch)
            table = table.cast_column("audio", AUDIO)
        table.to_parquet(str(target))
    finally:
        if not quiet:
            datasets.enable_progress_bars()
    fsync_path(target)
    written = ParquetFile.measure(folder, spec.path, spec.config, spec.split)
    if written.num_rows != len(rows):
        raise BuildError(f"{target}: {written.num_rows} rows read back, {len(rows)} written")
    return written
