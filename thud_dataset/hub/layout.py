"""``build()``: check, plan and materialize the clips, then write the Hub layout to a folder.

The folder holds parquet files per config/split, a dataset card ``README.md`` whose YAML
``configs:`` names them, and ``build_report.json`` (settings, plan, skipped clips, and
every parquet file with its rows and SHA-256). So ``load_dataset("<folder>", "probes",
split="shift")`` works offline without torch, and the same folder pushed to the Hub is
``load_dataset("org/name", ...)``.

A build is made in stages, whose maps an engine runs (``engine="local"``: this machine's
processes, :class:`LocalEngine`; ``engine="ray"``: a Ray cluster,
:mod:`thud_dataset.hub.ray_engine`):

1. the clips are listed and checked (a map over clips), then planned (seeded, cheap, on
   the driver);
2. every planned clip is materialized (:func:`~thud_dataset.builder.materialize_all`, a
   map of the pure function :func:`~thud_dataset.builder.materialize_job`); a clip that
   fails is skipped with its reason and its recipients re-planned;
3. the rows are cut into shards (:func:`~thud_dataset.hub.shards.plan_shards`, one rule
   for every engine) and each shard is written and read back by
   :func:`~thud_dataset.hub.shards.write_shard` — a pure function of the
   :class:`~thud_dataset.hub.shards.ShardSpec` and the media cache, returning the
   :class:`~thud_dataset.hub.report.ParquetFile` that describes it;
4. the report and the card are assembled from those descriptions (:func:`make_report`),
   on the driver, the same way for every engine.

All of it is written into a staging folder beside the output folder and swapped in only
when complete (:mod:`thud_dataset.hub.output`): a build that fails or is killed leaves
the previous one as it was.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import importlib.metadata
import json
import logging
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path

from tqdm.auto import tqdm

from ..builder import (
    Prepared,
    ThudConfig,
    machine_error,
    materialize_all,
    prepare,
    run_isolated,
)
from ..materialize import MEDIA_VERSION
from ..sources.local import ANNOTATIONS_NAME
from ..video_files import default_cache_dir
from ..vocab import CONFIGS, SPLITS
from .output import BuildError, BuildStopped, EngineUnavailable, OutputTransaction, check_output
from .report import REPORT_NAME, BuildReport, BuildSettings, ParquetFile, read_report
from .shards import (
    MAX_SHARD_BYTES,
    ShardSpec,
    file_size,
    partition_of,
    plan_shards,
    wav_bytes,
    write_shard,
)

logger = logging.getLogger(__name__)

__all__ = [
    "ENGINES",
    "MAX_SHARD_BYTES",
    "BuildError",
    "EmptyBuild",
    "EngineUnavailable",
    "LocalEngine",
    "ShardSpec",
    "build",
    "check_build_folder",
    "make_report",
    "plan_shards",
    "write_shard",
]

#: where a build's maps run: this machine's processes, or a Ray cluster (the ``ray`` extra)
ENGINES = ("local", "ray")


class EmptyBuild(BuildError):
    """A build that would produce no probe to evaluate (or no preference row asked for).

    ``report`` says which clips were used and why the others were skipped; nothing was
    written, the output folder is as it was.
    """

    def __init__(self, message: str, report: BuildReport) -> None:
        super().__init__(message)
        self.report = report


# -- the engines -----------------------------------------------------------------------------


def _write_shard(args: tuple[ShardSpec, str]) -> ParquetFile:
    return write_shard(*args)


def write_shards(specs: list[ShardSpec], folder: Path, num_proc: int | None, progress: bool) -> list[ParquetFile]:
    """:func:`write_shard` for every spec, in ``num_proc`` processes when > 1; in order."""
    bar = {"desc": "Writing parquet", "unit": "file", "total": len(specs), "disable": not progress}
    jobs = [(s, str(folder)) for s in specs]
    if not num_proc or num_proc <= 1 or len(specs) < 2:
        return [write_shard(s, folder) for s in tqdm(specs, **bar)]
    with ProcessPoolExecutor(min(num_proc, len(specs))) as pool:
        return list(tqdm(pool.map(_write_shard, jobs), **bar))


class LocalEngine:
    """The maps of a build in this machine's processes (``num_proc``; one: in this process).

    What an engine is, for :func:`build` (the Ray engine,
    :class:`~thud_dataset.hub.ray_engine.RayEngine`, has the same members):

    * ``map(fn, items, crashed, desc)`` — ``[fn(x) for x in items]`` in order, ``crashed(x)``
      for an item whose worker died (the check and the materialization);
    * ``materialize(prep, config, state, configs)`` — :func:`~thud_dataset.builder.materialize_all`
      with that map (``state``: the folder a resumable build keeps its progress in;
      ``configs``: the configs built, which decide the media each clip needs);
    * ``sizes`` — ``{str(path): bytes}`` of the files the maps made or read, or ``None``
      (:func:`~thud_dataset.hub.shards.plan_shards` then asks the filesystem);
    * ``write_shards(specs, staging, state)`` — every shard written into ``staging``, its
      :class:`~thud_dataset.hub.report.ParquetFile` records in the order of ``specs``;
    * ``resume_key(fingerprint)`` — ``None`` (a fresh staging folder each time), or the key
      of a staging folder that an interrupted build leaves for the next one to resume;
    * ``running()`` — a context manager around the build's work (start and stop workers;
      entered before anything is created, so it may refuse with a :class:`BuildError`).
    """

    name = "local"
    sizes: Mapping[str, int] | None = None

    def __init__(self, num_proc: int | None = None, progress: bool = True) -> None:
        self.num_proc = num_proc
        self.progress = progress

    def resume_key(self, fingerprint: str) -> str | None:
        return None

    @contextlib.contextmanager
    def running(self) -> Iterator[LocalEngine]:
        yield self

    def map(self, fn: Callable, items: Sequence, crashed: Callable, desc: str) -> list:
        return run_isolated(fn, items, self.num_proc, crashed, desc=desc, progress=self.progress)

    def materialize(
        self, prep: Prepared, config: ThudConfig, state: Path | None, configs: Sequence[str] | None = None
    ) -> Prepared:
        return materialize_all(
            prep, config, num_proc=self.num_proc, progress=self.progress, configs=configs, mapper=self.map
        )

    def write_shards(self, specs: list[ShardSpec], staging: Path, state: Path | None) -> list[ParquetFile]:
        return write_shards(specs, staging, self.num_proc, self.progress)


def make_engine(engine: str, *, num_proc: int | None = None, progress: bool = True, ray_address: str | None = None):
    """The engine named ``engine`` (:data:`ENGINES`); raises :class:`EngineUnavailable` (with
    the install command) when its package is missing, ``ValueError`` for an unknown name."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if ray_address is not None and engine != "ray":
        raise ValueError(f"ray_address is for engine='ray', not engine={engine!r}")
    if engine == "local":
        return LocalEngine(num_proc, progress)
    from .ray_engine import RayEngine

    return RayEngine(address=ray_address, progress=progress)


def build_fingerprint(settings: BuildSettings, configs: tuple[str, ...], config: ThudConfig) -> str:
    """What a build's output depends on, hashed (16 hex digits): its settings (not the
    command line), configs and partition, Thud's version and the media version. A resumable
    build keeps its staging folder under this key; another key starts afresh."""
    values = asdict(settings)
    values.pop("command")
    values.update(configs=list(configs), partition=config.partition, thud=_thud_version(), media=MEDIA_VERSION)
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:16]


# -- the report ------------------------------------------------------------------------------


def _thud_version() -> str:
    try:
        return importlib.metadata.version("thud")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _settings(config: ThudConfig, command: str | None) -> BuildSettings:
    return BuildSettings(
        source=config.source,
        data_dir=config.data_dir,
        num_clips=config.num_clips if config.source == "synthetic" else None,
        source_seed=config.source_seed,
        seed=config.seed,
        offsets=tuple(config.offsets),
        margin_s=config.margin_s,
        test_fraction=config.test_fraction,
        audio_codec=config.audio_codec,
        audio_bitrate_per_channel=config.audio_bitrate_per_channel,
        gap_fill=config.gap_fill,
        command=command or " ".join(sys.argv),
        shifts_per_clip=config.shifts_per_clip,
        one_sided=config.one_sided,
        preferences_gap_fill=config.preferences_gap_fill,
        audio_column=config.audio_column,
    )


def make_report(
    out_dir: str,
    settings: BuildSettings,
    prep: Prepared,
    configs: tuple[str, ...],
    files: list[ParquetFile],
    *,
    kept: list[str] | None = None,
) -> BuildReport:
    """The report of a build, assembled from its prepared clips and the shards' metadata
    (nothing is read from disk): rows per config/split are the files' row counts."""
    rows: dict[str, dict[str, int]] = {c: {s: 0 for s in SPLITS[c]} for c in configs}
    for f in files:
        rows[f.config][f.split] += f.num_rows
    media = prep.media or {}
    return BuildReport(
        out_dir=out_dir,
        settings=settings,
        rows=rows,
        clips_used=len(prep.plans),
        partitions=dict(sorted(Counter(p.partition for p in prep.plans).items())),
        offsets=dict(sorted(Counter(f"{t:+g}" for p in prep.plans for t in p.taus).items())),
        directions=dict(sorted(Counter("delayed" if t > 0 else "early" for p in prep.plans for t in p.taus).items())),
        skipped=list(prep.skipped),
        plan=list(prep.plans),
        files=sorted(files, key=lambda f: f.path),
        licenses=sorted({c.license for c in prep.clips.values() if c.license}),
        transcoded=sorted(c for c, m in media.items() if m.video_transcoded),
        kept=list(kept or []),
        thud_version=_thud_version(),
    )


def _refuse_empty(prep: Prepared, required: tuple[str, ...], config: ThudConfig, report: BuildReport) -> None:
    """Raise :class:`EmptyBuild` when a required config would have no row (the probes of
    the test partition; the preferences of the train partition when they were asked for)."""
    parts = Counter(p.partition for p in prep.plans)
    count = {part: (sum(parts.values()) if part == "all" else parts[part]) for part in ("all", "test", "train")}
    reasons = []
    if not prep.plans:
        reasons.append("no clip could be used (see the skipped clips)")
    else:
        if "probes" in required and not count[partition_of("probes", "original", config.partition)]:
            hint = " (--test-fraction 0 puts every clip in train)" if config.test_fraction == 0 else ""
            reasons.append(
                f"no probe: none of the {len(prep.plans)} usable clips is in the test partition{hint}; "
                "raise the test fraction or set 'split': 'test' on some annotation rows"
            )
        if "preferences" in required and not count[partition_of("preferences", "train", config.partition)]:
            reasons.append(
                f"no preference row: none of the {len(prep.plans)} usable clips is in the train partition; "
                "lower the test fraction, set 'split': 'train' on some rows, or build without the "
                "preferences config (--configs probes,clips)"
            )
    if reasons:
        raise EmptyBuild("; ".join(reasons), report)


def _estimate_bytes(
    prep: Prepared, configs: tuple[str, ...], config: ThudConfig, sizes: Mapping[str, int] | None = None
) -> int:
    """About how many bytes the build writes: a probe or preference row holds a file about
    the size of its source (a probe row its audio column too), a clips row the source itself."""
    total = 0
    for plan in prep.plans:
        size = file_size(prep.clips[plan.clip_id].path, sizes)
        for name in configs:
            if name == "clips":
                total += size
            elif partition_of(name, "", config.partition) in ("all", plan.partition):
                wav = wav_bytes(prep.scans[plan.clip_id]) if name == "probes" and config.audio_column else 0
                total += (5 + len(plan.taus)) * (size + wav)
    return total


def _machine_message(exc: OSError, out_dir: str, existed: bool) -> str:
    where = exc.filename or Path(out_dir).resolve().parent
    state = f"{out_dir} is unchanged" if existed else f"{out_dir} was not created"
    if exc.errno == errno.ENOSPC:
        return f"no space left on the device of {where}: the build stopped and {state}"
    return f"the build stopped: {exc.strerror or exc} ({where}); {state}"


def _check_inputs(config: ThudConfig) -> Path:
    """Check the source and the media cache before anything is created; return the cache root."""
    if config.source == "local":
        if not config.data_dir:
            raise BuildError("source 'local' needs data_dir: the folder with the videos and annotations.jsonl")
        if not Path(config.data_dir).is_dir():
            raise BuildError(f"--data-dir {config.data_dir}: folder not found")
        ann = Path(config.annotations) if config.annotations else Path(config.data_dir) / ANNOTATIONS_NAME
        if not ann.is_file():
            raise BuildError(f"{ann}: annotations file not found (one JSON object a line; see docs/corpora.md)")
    root = Path(config.media_cache_dir) if config.media_cache_dir else default_cache_dir()
    where = "--cache-dir" if config.media_cache_dir else ("THUD_CACHE" if os.environ.get("THUD_CACHE") else "the cache")
    for p in (root, *root.parents):
        if p.exists():
            if not p.is_dir():
                raise BuildError(f"{where} {root}: {p} is a file, not a folder; point it at a folder")
            if not os.access(p, os.W_OK):
                raise BuildError(f"{where} {root}: {p} is not writable")
            break
    return root


def _check_configs(configs) -> tuple[str, ...]:
    configs = tuple(dict.fromkeys(configs))
    unknown = set(configs) - set(CONFIGS)
    if unknown or not configs:
        raise ValueError(f"configs must be some of {CONFIGS}, got {list(configs)}")
    return tuple(c for c in CONFIGS if c in configs)


# -- build -------------------------------------------------------------------------------------


def build(
    out_dir: str | Path = "thud",
    *,
    configs: tuple[str, ...] | None = None,
    num_proc: int | None = None,
    progress: bool = True,
    command: str | None = None,
    overwrite: bool = False,
    engine: str = "local",
    ray_address: str | None = None,
    **config_kwargs,
) -> BuildReport:
    """Build the configs of Thud into ``out_dir`` (the Hub layout) and return the report.

    ``configs``: the configs to build, each of which must get rows; by default all of
    them, with the ``probes`` required and ``preferences`` written when the train
    partition has clips (an evaluation-only corpus builds without them; the report says
    so). ``config_kwargs`` are :class:`~thud_dataset.builder.ThudConfig` fields: ``source``,
    ``num_clips``, ``seed``, ``data_dir``, ``annotations``, ``offsets``, ``margin_s``,
    ``test_fraction``, ``media_cache_dir``…

    The folder is replaced as a whole, atomically, once the new build is complete and read
    back; until then (and if the build fails or is killed) the previous folder is as it
    was. What it holds besides a build (``predictions/``, ``scores/``…) is kept.

    ``engine``: where the maps run — ``"local"`` (``num_proc`` processes of this machine)
    or ``"ray"`` (a Ray cluster: the one this process is connected to, else
    ``ray_address``, else ``$RAY_ADDRESS``, else a local Ray started for the build; needs
    ``pip install "thud[ray]"``). Both give the same folder, byte for byte. A Ray build
    that is interrupted (the driver killed, workers lost) keeps what it finished beside
    ``out_dir``; the same call again redoes only the shards that are not complete and
    verified (see :mod:`thud_dataset.hub.ray_engine`).

    Raises
    ------
    ValueError
        An invalid setting (nothing is created).
    BuildError
        ``out_dir`` is refused (a file, holds the sources, not a Thud build and not
        ``overwrite``…), another build is writing it, the disk is full or read-only,
        (:class:`EmptyBuild`) no probe / no asked-for preference row would be made, or
        (:class:`EngineUnavailable`) the engine's package is not installed.
    """
    required = _check_configs(configs) if configs is not None else ("probes",)
    configs = _check_configs(configs) if configs is not None else CONFIGS
    if num_proc is not None and (isinstance(num_proc, bool) or not isinstance(num_proc, int) or num_proc < 1):
        raise ValueError(f"num_proc must be an integer >= 1, got {num_proc!r}")
    for key in ("data_dir", "annotations", "media_cache_dir"):
        if config_kwargs.get(key) is not None:
            config_kwargs[key] = str(Path(config_kwargs[key]).expanduser().resolve())
    config = ThudConfig(name="probes", **config_kwargs)
    runner = make_engine(engine, num_proc=num_proc, progress=progress, ray_address=ray_address)
    cache_root = _check_inputs(config)
    out = check_output(
        out_dir,
        sources=config.data_dir if config.source == "local" else None,
        protected={"annotations file": config.annotations, "media cache": cache_root},
        overwrite=overwrite,
    )
    existed = out.exists()
    settings = _settings(config, command)
    resume_key = runner.resume_key(build_fingerprint(settings, configs, config))
    try:
        # the engine first: a cluster that cannot be reached fails before anything is made
        with runner.running(), OutputTransaction(out, resume_key=resume_key) as tx:
            try:
                prep = prepare(config, progress=progress, num_proc=num_proc, mapper=runner.map)
                _refuse_empty(prep, required, config, make_report(str(out_dir), settings, prep, (), []))
                need, free = _estimate_bytes(prep, configs, config, runner.sizes), tx.free_bytes()
                if free < need // 2:
                    raise BuildStopped(
                        f"not enough space for the build beside {out_dir}: about {need / 1e6:.0f} MB needed, "
                        f"{free / 1e6:.0f} MB free; {out_dir} is {'unchanged' if existed else 'not created'}"
                    )
                prep = runner.materialize(prep, config, tx.state, configs)
                _refuse_empty(prep, required, config, make_report(str(out_dir), settings, prep, (), []))
            except EmptyBuild:
                tx.keep_for_resume = False  # the same command would make nothing again
                raise
            specs = plan_shards(prep, configs, config, runner.sizes)
            files = runner.write_shards(specs, tx.staging, tx.state)
            report = make_report(
                str(out_dir), settings, prep, configs, files, kept=tx.kept_entries()
            )
            _write_report_and_card(report, tx.staging)
            tx.commit()
    except BuildError:
        raise
    except Exception as exc:
        cause = machine_error(exc)
        if cause is None:
            raise
        raise BuildStopped(_machine_message(cause, str(out_dir), existed)) from None
    return report


def _write_report_and_card(report: BuildReport, folder: Path) -> None:
    """Write ``build_report.json`` and the card into ``folder``, flushed, and read both back."""
    from .card import card_configs, render_card

    for name, text in ((REPORT_NAME, report.dumps()), ("README.md", render_card(report))):
        path = folder / name
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
    if read_report(folder).to_json() != report.to_json():
        raise BuildError(f"{folder / REPORT_NAME}: does not read back as written")
    if card_configs(folder) != _card_names(report):
        raise BuildError(f"{folder / 'README.md'}: its configs do not read back as written")


def _card_names(report: BuildReport) -> dict[str, dict[str, list[str]]]:
    """What :func:`~thud_dataset.hub.card.card_configs` must read from the report's card."""
    from .card import data_files_pattern

    return {c: {s: [data_files_pattern(c, s)] for s in splits} for c, splits in report.written().items()}


def check_build_folder(folder: str | Path) -> list[str]:
    """Everything wrong with a built folder, by reading it back; ``[]`` for a sound build.

    Checks that the report reads, that every parquet file it lists is there with its
    size, SHA-256 and row count (read in full), that no other parquet file lies under
    ``data/``, that the rows per config/split add up to the report's, and that the card
    names exactly the written configs and splits.
    """
    from .card import CardError, card_configs

    folder = Path(folder)
    try:
        report = read_report(folder)
    except (OSError, ValueError) as exc:
        return [str(exc)]
    problems = []
    rows: dict[str, dict[str, int]] = {}
    for f in report.files:
        try:
            seen = ParquetFile.measure(folder, f.path, f.config, f.split)
        except Exception as exc:  # any reading failure is a damaged file
            problems.append(f"{f.path}: cannot be read back ({type(exc).__name__}: {exc})")
            continue
        if seen != f:
            problems.append(f"{f.path}: differs from the report ({seen} != {f})")
        rows.setdefault(f.config, {}).setdefault(f.split, 0)
        rows[f.config][f.split] += seen.num_rows
    listed = {f.path for f in report.files}
    for path in sorted((folder / "data").rglob("*.parquet")):
        rel = path.relative_to(folder).as_posix()
        if rel not in listed:
            problems.append(f"{rel}: a parquet file the report does not list")
    if rows != report.written():
        problems.append(f"rows read back {rows} differ from the report's {report.written()}")
    try:
        named = card_configs(folder)
    except CardError as exc:
        problems.append(str(exc))
    else:
        if named != _card_names(report):
            problems.append(f"the card names {named}, the report wrote {report.written()}")
    return problems
