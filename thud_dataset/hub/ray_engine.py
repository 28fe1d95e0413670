"""``engine="ray"``: a build's maps on a Ray cluster, giving the local build's bytes.

``thud build --engine ray [--ray-address ADDRESS]``, or ``build(out, engine="ray")``. The
stages of :func:`thud_dataset.hub.layout.build` run as follows:

1. the clips are listed on the driver (the annotations file, the synthetic renders) and
   checked as a Ray Data map (:func:`~thud_dataset.builder.prepare` with
   :meth:`RayEngine.map`); the plan is made on the driver (seeded, cheap; it needs every
   clip's check);
2. every planned clip is materialized as a Ray Data map: the local build's own loop
   (:func:`~thud_dataset.builder.materialize_all`, so the same clips are skipped with the
   same reasons and their recipients re-planned the same way), its map on the cluster.
   Workers write the media into the media cache; the driver gets back file names and
   sizes, never bytes;
3. the shards are cut on the driver by the one rule of every engine
   (:func:`~thud_dataset.hub.shards.plan_shards`) and written by a Ray Data map, one task
   per shard: the worker writes its parquet file (:func:`~thud_dataset.hub.shards.write_shard`,
   rows with the ``datasets`` features, ``Video`` columns included) into the staging folder
   and returns its :class:`~thud_dataset.hub.report.ParquetFile` (rows, bytes, SHA-256).
   A worker holds one shard's rows at a time;
4. the report and the card are assembled on the driver from those records, exactly as
   for a local build; the staging folder is swapped in atomically.

**Resuming.** The staging folder is resumable (``.<out>.thud-resume-<fingerprint>/`` beside
the output, keyed by the build's settings: :func:`~thud_dataset.hub.layout.build_fingerprint`).
Each shard, once its file is complete (written under a temporary name, renamed into
place), gets a record: the digest of everything its bytes depend on (:func:`shard_digest`)
and its :class:`~thud_dataset.hub.report.ParquetFile`. A build started again with the same
command keeps a shard whose record matches its spec and whose file reads back as recorded
(every row group, the SHA-256), and writes every other one. The materialization's outcome
is kept too (``materialized.pkl``, keyed by the clips, their checks and the plan), so a
build killed while writing shards goes straight back to them. The previous build in the
output folder stays until the new one is complete.

**Failures.** A clip's failure comes back from its worker as a value (the reason a local
build gives, word for word); a machine error (a full disk…) is raised on the driver, as in
a local build. A worker that dies is retried by Ray (:data:`TASK_RETRIES` times); the
items of a task that still fails are run again one per task, and an item whose worker dies
again is skipped as a crashed process is in a local build. A shard that cannot be written
ends the build, and the same command resumes it.

Every path a worker reads or writes — the sources, the media cache, the folder beside the
output — must be the same path on every node (a shared filesystem): ``docs/scaling.md``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import pickle
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from .. import cache_files
from ..builder import ClipJob, ClipMedia, Prepared, ThudConfig, materialize_all
from ..materialize import MEDIA_VERSION, ClipScan, MediaCache, file_key
from ..sources.base import Clip
from .output import BuildError, EngineUnavailable, fsync_path
from .report import ParquetFile
from .shards import ShardSpec, write_shard

logger = logging.getLogger(__name__)

__all__ = ["INSTALL", "TASK_RETRIES", "RayEngine", "import_ray", "shard_digest"]

#: how to get the engine's package
INSTALL = 'pip install "thud[ray]"'
#: times Ray runs a task again after its worker died, before its items go one per task
TASK_RETRIES = 2
#: clips per task of the check and materialize maps, once there are many more clips than CPUs
CLIPS_PER_TASK = 4
#: the materialization's outcome, in a resumable build's state folder
_MATERIALIZED = "materialized.pkl"


def import_ray():
    """The ``ray`` module (with Ray Data), or :class:`EngineUnavailable` saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401  (the maps are Ray Data maps)
    except ImportError as exc:
        raise EngineUnavailable(
            f"the ray engine needs Ray, which is not installed here ({exc}); install it with: {INSTALL}"
        ) from None
    return ray


# -- what runs on the workers ---------------------------------------------------------------


def _dumps(value: object) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def _facts(item: object, value: object) -> dict[str, dict[str, object]]:
    """What a worker measured about the files behind a result, so the driver need not:
    ``size`` (bytes, for cutting shards) and ``key`` (path, size, mtime of a source)."""
    facts: dict[str, dict[str, object]] = {"size": {}, "key": {}}
    try:
        if isinstance(value, ClipScan) and isinstance(item, tuple) and isinstance(item[0], Clip):
            path = item[0].path
            facts["size"][path] = os.stat(path).st_size
            facts["key"][path] = file_key(path)
        elif isinstance(value, ClipMedia) and isinstance(item, ClipJob):
            cache = MediaCache(item.cache_root)
            for out in value.outputs.values():
                path = cache.path(out.file_name)
                facts["size"][str(path)] = path.stat().st_size
    except OSError:
        pass  # the driver asks the filesystem itself
    return facts


def _apply(row: dict, fn: Callable) -> dict:
    """One item of a map: ``fn`` on the unpickled item. Whatever ``fn`` lets through (a
    machine error, a bug) travels back as a value and is raised on the driver."""
    item = pickle.loads(row["item"])
    try:
        value = fn(item)
    except Exception as exc:
        try:
            out = _dumps(("raised", exc, {}))
        except Exception:  # an exception that does not pickle: its text does
            out = _dumps(("raised", RuntimeError(f"{type(exc).__name__}: {exc}"), {}))
        return {"i": row["i"], "out": out}
    return {"i": row["i"], "out": _dumps(("ok", value, _facts(item, value)))}


def _thud_version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("thud")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def worker_versions() -> dict[str, str]:
    """What the bytes a node makes depend on besides the inputs: Thud's version, the media
    version, PyAV and the libavcodec it runs (an encoder of another build writes other
    bytes)."""
    import av

    return {
        "thud": _thud_version(),
        "media": MEDIA_VERSION,
        "PyAV": av.__version__,
        "libavcodec": ".".join(map(str, av.library_versions["libavcodec"])),
    }


def shard_digest(spec: ShardSpec) -> str:
    """Everything the bytes of ``spec``'s file depend on, hashed: the spec (config, split,
    file name, every clip's labels, plan, donor and media file names, seed, settings),
    the source files (path, size, mtime: the ``clips`` rows embed them) and the versions."""
    sources = {c.path: file_key(c.path) for w in spec.work for c in (w.clip, w.donor)}
    payload = {
        "spec": asdict(spec),
        "sources": sources,
        "thud": _thud_version(),
        "media": MEDIA_VERSION,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class ShardTask:
    """One shard for a worker: its spec, the staging folder and the state folder."""

    spec: ShardSpec
    staging: str
    state: str

    @property
    def record(self) -> Path:
        return Path(self.state) / "shards" / f"{self.spec.path}.json"


def _kept(task: ShardTask, digest: str) -> ParquetFile | None:
    """The shard an earlier attempt finished, if its record matches ``digest`` and the file
    reads back in full as recorded; else None."""
    record = cache_files.read_json(task.record, "shard record")
    if not isinstance(record, dict) or record.get("digest") != digest:
        return None
    spec = task.spec
    try:
        expected = ParquetFile(**record["file"])
        seen = ParquetFile.measure(task.staging, spec.path, spec.config, spec.split)
    except Exception:  # missing, damaged, or a record of another format: write it again
        return None
    return seen if seen == expected else None


def write_or_keep(task: ShardTask) -> tuple[ParquetFile, bool]:
    """Write ``task``'s shard into the staging folder (unless an earlier attempt finished
    it: then keep it); return its record and whether it was kept.

    The file appears under its name only when complete and read back (written in the
    state folder, then renamed); its record is written after it.
    """
    spec = task.spec
    digest = shard_digest(spec)
    kept = _kept(task, digest)
    if kept is not None:
        return kept, True
    tmp_root = Path(task.state) / "tmp"
    tmp_root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="shard-", dir=tmp_root))
    try:
        written = write_shard(spec, tmp)
        target = Path(task.staging) / spec.path
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp / spec.path, target)
        fsync_path(target.parent)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    cache_files.write_json(task.record, {"digest": digest, "file": asdict(written)})
    return written, False


def _shard_lost(task: ShardTask) -> ParquetFile:
    raise BuildError(
        f"{task.spec.path}: the Ray worker writing it died {2 * (TASK_RETRIES + 1)} times (out of "
        "memory? a crash?); what was finished is kept: run the same command again to resume"
    )


# -- the driver ------------------------------------------------------------------------------


def _remove_stale(staging: Path, specs: Sequence[ShardSpec]) -> None:
    """Remove the files under ``staging/data`` that are not shards of this build (an
    earlier attempt's, cut otherwise), and the folders left empty."""
    data = staging / "data"
    if not data.is_dir():
        return
    wanted = {s.path for s in specs}
    for path in sorted(data.rglob("*"), reverse=True):
        rel = path.relative_to(staging).as_posix()
        if path.is_dir():
            if not any(path.iterdir()):
                path.rmdir()
        elif rel not in wanted:
            path.unlink()


def _materialized_key(
    prep: Prepared, config: ThudConfig, keys: dict[str, object], configs: Sequence[str] | None = None
) -> str:
    """What the materialization's outcome depends on: the checked clips (and their source
    files), their checks, the plan, what was skipped so far, and the media settings each
    clip is made in for ``configs``."""
    payload = {
        "clips": {c: [clip.to_dict(), keys.get(clip.path)] for c, clip in sorted(prep.clips.items())},
        "scans": {c: asdict(s) for c, s in sorted(prep.scans.items())},
        "plans": [asdict(p) for p in prep.plans],
        "skipped": [asdict(s) for s in prep.skipped],
        "settings": {
            part: [asdict(s) for s in config.media_settings(part, configs)] for part in ("train", "test")
        },
        "cache": str(config.cache().root),
        "thud": _thud_version(),
        "media": MEDIA_VERSION,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _map(ds, fn: Callable):
    """``ds.map(_apply)`` with :data:`TASK_RETRIES`: Ray Data retries a task whose worker
    died without end by default, so a clip that crashes its decoder every time would never
    end the build. (Ray 2.60 deprecates the remote options of ``map``; a Ray without them
    keeps its default.)"""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return ds.map(_apply, fn_kwargs={"fn": fn}, num_cpus=1, max_retries=TASK_RETRIES)
        except TypeError:
            logger.warning("this Ray cannot limit the retries of a task: a worker that dies is retried without end")
            return ds.map(_apply, fn_kwargs={"fn": fn}, num_cpus=1)


def check_nodes(ray, timeout_s: float = 600.0) -> None:
    """Run :func:`worker_versions` on every alive node with CPUs; raise
    :class:`~thud_dataset.hub.output.BuildError` naming a node that cannot run Thud or runs
    another Thud or encoder than this process (its files would differ; and a map task that
    cannot even start would look like a crash)."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    want = worker_versions()
    nodes = [n for n in ray.nodes() if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) > 0]
    remote = ray.remote(num_cpus=0, max_retries=1)(worker_versions)
    refs = {
        n.get("NodeManagerAddress", n["NodeID"]): remote.options(
            scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)
        ).remote()
        for n in nodes
    }
    for node, ref in refs.items():
        try:
            got = ray.get(ref, timeout=timeout_s)
        except Exception as exc:
            raise BuildError(
                f"the Ray node {node} cannot run Thud ({type(exc).__name__}: {str(exc).strip().splitlines()[-1]}); "
                f"install the same Thud on every node ({INSTALL}, docs/scaling.md)"
            ) from None
        if got != want:
            diff = ", ".join(f"{k} {got.get(k)} (here {v})" for k, v in want.items() if got.get(k) != v)
            raise BuildError(
                f"the Ray node {node} runs {diff}: its files would differ from this machine's; "
                "give every node the same Thud and PyAV build (one container image: docs/scaling.md)"
            )


class RayEngine:
    """The maps of a build on a Ray cluster (see the module docstring and
    :class:`~thud_dataset.hub.layout.LocalEngine` for what an engine is).

    ``address``: the cluster (``"auto"``, ``"HOST:6379"``, ``"ray://HOST:10001"``); ``None``
    uses the cluster this process is connected to, else ``$RAY_ADDRESS``, else a local Ray
    started for the build (and stopped after it).
    """

    name = "ray"

    def __init__(self, address: str | None = None, progress: bool = True) -> None:
        self._ray = import_ray()
        self.address = address
        self.progress = progress
        #: ``{str(path): bytes}`` of the sources and media files, measured by the workers
        self.sizes: dict[str, int] = {}
        #: ``{source path: file key}`` (path, size, mtime), measured by the workers
        self.keys: dict[str, object] = {}
        #: shards kept from an interrupted attempt, and shards written, by the last build
        self.kept = self.written = 0

    def resume_key(self, fingerprint: str) -> str:
        return fingerprint

    @contextlib.contextmanager
    def running(self) -> Iterator[RayEngine]:
        """Connect to (or start) Ray for the build, check that every node runs the same
        Thud and encoder (:func:`check_nodes`); Ray Data set up for it, then restored.

        Raises :class:`~thud_dataset.hub.output.BuildError` when the cluster cannot be
        reached or a node differs."""
        ray = self._ray
        started = False
        if not ray.is_initialized():
            where = self.address or os.environ.get("RAY_ADDRESS")
            try:
                ray.init(address=self.address, **({} if where else {"include_dashboard": False}))
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise BuildError(f"cannot reach the Ray cluster at {where}: {exc}") from None
            started = True
        elif self.address:
            logger.info("this process is already connected to Ray; the address %s is not used", self.address)
        try:
            check_nodes(ray)
        except BaseException:
            if started:
                ray.shutdown()
            raise
        ctx = ray.data.DataContext.get_current()
        # a task whose worker died for good drops only its items: they are run again (see map)
        wanted = {"max_errored_blocks": -1, "enable_progress_bars": self.progress, "print_on_execution_start": self.progress}
        saved = {k: getattr(ctx, k) for k in wanted if hasattr(ctx, k)}
        for k in saved:
            setattr(ctx, k, wanted[k])
        try:
            yield self
        finally:
            for k, v in saved.items():
                setattr(ctx, k, v)
            if started:
                ray.shutdown()

    def _cpus(self) -> int:
        try:
            return max(1, int(self._ray.cluster_resources().get("CPU", 1)))
        except Exception:
            return 1

    def _run(self, fn: Callable, items: Sequence, indexes: Sequence[int], per_task: int) -> dict[int, tuple]:
        """``fn`` over ``items[i]`` for ``i`` in ``indexes`` as a Ray Data map; ``{i: (kind,
        value, facts)}`` of the items whose task finished (a task whose worker died for
        good is missing)."""
        ray = self._ray
        rows = [{"i": i, "item": _dumps(items[i])} for i in indexes]
        ds = ray.data.from_items(rows, override_num_blocks=max(1, math.ceil(len(rows) / per_task)))
        mapped = _map(ds, fn)
        return {row["i"]: pickle.loads(row["out"]) for row in mapped.iter_rows()}

    def map(self, fn: Callable, items: Sequence, crashed: Callable, desc: str, per_task: int | None = None) -> list:
        """``[fn(x) for x in items]`` in order, run by Ray Data tasks of ``per_task`` items
        (by default a few once there are many more items than CPUs, else one).

        An item whose task's worker died for good is run again in a task of its own; one
        whose worker dies again gives ``crashed(item)``. An exception ``fn`` lets through
        is raised here.
        """
        items = list(items)
        if not items:
            return []
        if per_task is None:
            per_task = max(1, min(CLIPS_PER_TASK, len(items) // (4 * self._cpus())))
        logger.info("%s on Ray: %d items in %d tasks", desc, len(items), math.ceil(len(items) / per_task))
        done = self._run(fn, items, range(len(items)), per_task)
        lost = [i for i in range(len(items)) if i not in done]
        if lost:
            logger.warning("%s: %d items lost their Ray worker; running them again one per task", desc, len(lost))
            done.update(self._run(fn, items, lost, 1))
        results = []
        for i, item in enumerate(items):
            if i not in done:
                results.append(crashed(item))
                continue
            kind, value, facts = done[i]
            if kind == "raised":
                raise value
            self.sizes.update(facts["size"])
            self.keys.update(facts["key"])
            results.append(value)
        return results

    def materialize(
        self, prep: Prepared, config: ThudConfig, state: Path | None, configs: Sequence[str] | None = None
    ) -> Prepared:
        """:func:`~thud_dataset.builder.materialize_all` with the clips on the cluster; its
        outcome is kept in ``state`` and reused by a resumed build with the same input."""
        key = _materialized_key(prep, config, self.keys, configs)
        path = state / _MATERIALIZED if state is not None else None
        if path is not None and path.is_file():
            try:
                saved_key, made, sizes = pickle.loads(path.read_bytes())
            except Exception as exc:  # half-written or from another version: made again
                logger.warning("%s: unreadable (%s); materializing again", path, exc)
            else:
                if saved_key == key:
                    logger.info("materialized clips kept from the interrupted build (%s)", path)
                    self.sizes.update(sizes)
                    return made
        made = materialize_all(prep, config, progress=self.progress, configs=configs, mapper=self.map)
        if path is not None:
            cache_files.atomic_write(path, _dumps((key, made, dict(self.sizes))))
        return made

    def write_shards(self, specs: list[ShardSpec], staging: Path, state: Path | None) -> list[ParquetFile]:
        """Every shard written by a worker into ``staging`` (one task each), or kept from an
        interrupted attempt when complete and verified; the records in the order of ``specs``."""
        if state is None:
            raise ValueError("the ray engine writes shards into a resumable staging folder: state is required")
        _remove_stale(staging, specs)
        shutil.rmtree(state / "tmp", ignore_errors=True)  # what a killed attempt was writing
        tasks = [ShardTask(spec, str(staging), str(state)) for spec in specs]
        results = self.map(write_or_keep, tasks, _shard_lost, "Writing parquet", per_task=1)
        for file, _ in results:  # a worker's file must be where this process will swap it in
            path = staging / file.path
            if not path.is_file() or path.stat().st_size != file.num_bytes:
                raise BuildError(
                    f"{path}: a Ray worker wrote it but this machine does not see it; the folder "
                    "beside --out (and the sources and the cache) must be on a filesystem every "
                    "node shares, at the same path (docs/scaling.md)"
                )
        self.kept = sum(kept for _, kept in results)
        self.written = len(results) - self.kept
        if self.kept:
            logger.info("%d of %d shards kept from the interrupted build (complete and verified); %d written",
                        self.kept, len(results), self.written)
        return [f for f, _ in results]
