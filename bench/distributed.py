"""Benchmark: ``thud build --engine ray`` against the local build — same bytes, the timings,
and what each stage costs per clip (the numbers behind the cost model of docs/scaling.md).

Three runs over the same clips (``--synthetic`` rendered clips plus the real clips of
tests/data/real with stand-in labels, written as a local source; the seeded partition
splits them into test and train, so every config is built):

* **stages** — a cold build's stages called one after the other in this process, each
  timed in CPU seconds: *list* (the annotations, on the driver), *read headers* (one header
  read per file: a map), *check* (decode and check each clip: a map), *plan* (the driver),
  *materialize* (the four condition files per clip: a map), *write* (the parquet shards: a
  map), *assemble* (report and card, the driver); and the bytes written per probe and per
  clip, and the driver's record of a clip;
* **local** — :func:`thud_dataset.build` with ``num_proc`` = this machine's CPUs, cold cache;
* **ray** — the same with ``engine="ray"`` (the product path: workers write the shards), cold
  cache, on a local Ray started here (``ray.init()``, timed apart) or ``--address``.

The two folders are then compared: every parquet file's name and SHA-256 (so every row
and every video byte), the card, the report's file list. The last lines are the cost
model for 10k, 200k and 1M clips computed from the measured per-clip numbers, and
``same_bytes: yes``.

Needs the ``ray`` extra (``pip install "thud[ray]"``). Run from the repository root::

    python bench/distributed.py                      # 24 synthetic + the real clips
    python bench/distributed.py --synthetic 48 --address auto     # an existing cluster
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import materialize as bench  # noqa: E402  (the sibling bench: the clip set, machine line)

from thud_dataset.builder import Prepared, ThudConfig, materialize_all  # noqa: E402
from thud_dataset.hub.card import render_card  # noqa: E402
from thud_dataset.hub.layout import make_report  # noqa: E402
from thud_dataset.hub.report import BuildSettings  # noqa: E402
from thud_dataset.hub.shards import plan_shards, write_shard  # noqa: E402
from thud_dataset.planning import plan_clips  # noqa: E402
from thud_dataset.sources import ClipError, Skipped, get_clips  # noqa: E402
from thud_dataset.vocab import CONFIGS  # noqa: E402

#: the command both builds record (so their cards can be compared byte for byte)
COMMAND = "thud build --source local --data-dir CORPUS"
#: the stages, in build order, and where each runs
STAGES = {"list": "driver", "read headers": "map", "check": "map", "plan": "driver", "materialize": "map",
          "write": "map", "assemble": "driver"}
#: corpus sizes of the cost model
SIZES = (10_000, 200_000, 1_000_000)
#: cluster sizes the cost model prints the wall time for (CPUs)
CLUSTERS = (64, 512)


def write_corpus(num_synthetic: int, real_dir: Path | None, work: Path) -> Path:
    """A local source of ``num_synthetic`` rendered clips and the real clips (stand-in
    labels), no forced split: the seeded partition decides."""
    clips = bench.synthetic_clips(num_synthetic, 0, work)
    if real_dir is not None and real_dir.is_dir():
        clips += bench.real_clips(real_dir)
    folder = work / "corpus"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "annotations.jsonl", "w") as f:
        for c in clips:
            row = {"file": str(Path(c.path).resolve()), "clip_id": c.clip_id, "visual_event": c.visual_event,
                   "visual_time": c.visual_time, "audio_event": c.audio_event, "audio_time": c.audio_time,
                   "category": c.category}
            f.write(json.dumps(row) + "\n")
    return folder


# --------------------------------------------------------------------------- the stages


class Stages:
    """CPU seconds of this process per stage (``with stages("name"): ...``)."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str):
        start = time.process_time()
        try:
            yield
        finally:
            self.cpu[name] = self.cpu.get(name, 0.0) + time.process_time() - start


def stage_costs(config: ThudConfig, out: Path) -> dict:
    """One cold build's stages, in this process, as :func:`thud_dataset.build` runs them."""
    cache = config.cache()
    stages = Stages()

    def headers(fn, items, crashed, desc):  # the listing's map: one header read per file
        with stages("read headers"):
            return [fn(x) for x in items]

    with stages("list"):
        clips, skipped = get_clips(config.source, data_dir=config.data_dir, num_clips=config.num_clips,
                                   work_dir=cache.root, progress=False, mapper=headers)
    stages.cpu["list"] -= stages.cpu.get("read headers", 0.0)
    scans, ok = {}, []
    with stages("check"):
        for clip in clips:
            try:
                scans[clip.clip_id] = cache.scan(clip)
                ok.append(clip)
            except ClipError as exc:
                skipped.append(Skipped(clip.clip_id, clip.origin, str(exc)))
    with stages("plan"):
        plans, lost = plan_clips(ok, {c: s.duration for c, s in scans.items()}, config.plan_settings())
    prep = Prepared({c.clip_id: c for c in ok}, scans, plans, skipped + lost)
    with stages("materialize"):
        prep = materialize_all(prep, config, num_proc=1, progress=False)
    with stages("write"):
        specs = plan_shards(prep, CONFIGS, config)
        files = [write_shard(s, out) for s in specs]
    with stages("assemble"):
        settings = BuildSettings(config.source, config.data_dir, None, 0, config.seed, config.offsets,
                                 config.margin_s, config.test_fraction, config.audio_codec,
                                 config.audio_bitrate_per_channel, config.gap_fill, COMMAND)
        render_card(make_report(str(out), settings, prep, CONFIGS, files))
    probe_files = [f for f in files if f.config == "probes"]
    return {
        "clips": len(clips),
        "used": len(prep.plans),
        "source_seconds": sum(s.duration for s in scans.values()),
        "cpu": {k: stages.cpu.get(k, 0.0) for k in STAGES},
        "probe_rows": sum(f.num_rows for f in probe_files),
        "probe_bytes": sum(f.num_bytes for f in probe_files),
        "all_bytes": sum(f.num_bytes for f in files),
        # what the driver keeps per clip (its clip, check, plan and media record)
        "driver_record": len(pickle.dumps(prep)) / max(1, len(prep.plans)),
    }


# --------------------------------------------------------------------------- the builds


def tree(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def run_build(corpus: Path, out: Path, cache: Path, **kwargs) -> tuple[float, object]:
    from thud_dataset import build

    start = time.perf_counter()
    report = build(out, source="local", data_dir=str(corpus), media_cache_dir=str(cache), progress=False,
                   command=COMMAND, **kwargs)
    return time.perf_counter() - start, report


def compare(local: Path, rayed: Path) -> list[str]:
    """What differs between the two build folders (empty: the same dataset)."""
    from thud_dataset.hub.report import read_report

    problems = []
    a, b = tree(local / "data"), tree(rayed / "data")
    if a != b:
        diff = sorted(set(a.items()) ^ set(b.items()))
        problems.append(f"{len(diff)} parquet files differ (name or SHA-256), e.g. {diff[0][0]}")
    if (local / "README.md").read_bytes() != (rayed / "README.md").read_bytes():
        problems.append("the cards differ")
    ra, rb = read_report(local), read_report(rayed)
    if (ra.files, ra.plan, ra.skipped) != (rb.files, rb.plan, rb.skipped):
        problems.append("the reports' files, plan or skipped clips differ")
    return problems


# --------------------------------------------------------------------------- the cost model


def cost_model(st: dict) -> list[str]:
    """Per-clip numbers → CPU-hours, driver hours, bytes for the corpus sizes."""
    n = st["used"]
    per = {k: v / max(1, st["clips"]) for k, v in st["cpu"].items()}
    maps = sum(v for k, v in per.items() if STAGES[k] == "map")
    driver = sum(v for k, v in per.items() if STAGES[k] == "driver")
    per_clip_bytes = st["all_bytes"] / max(1, n)
    lines = [
        f"{'clips':>9} {'map CPU-h':>10} {'driver h':>9} "
        + " ".join(f"{f'wall h @{c}':>11}" for c in CLUSTERS)
        + f" {'output GB':>10} {'driver RAM GB':>14}"
    ]
    for size in SIZES:
        map_h, driver_h = size * maps / 3600, size * driver / 3600
        walls = " ".join(f"{map_h / c + driver_h:>11.2f}" for c in CLUSTERS)
        lines.append(
            f"{size:>9,} {map_h:>10.1f} {driver_h:>9.2f} {walls} {size * per_clip_bytes / 1e9:>10.1f} "
            f"{size * st['driver_record'] / 1e9:>14.2f}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--synthetic", type=int, default=24, help="rendered clips (default: 24)")
    p.add_argument("--real-dir", type=Path, default=bench.DEFAULT_REAL_DIR, help="real clips to add ('' for none)")
    p.add_argument("--address", help="Ray cluster address (default: start a local Ray on this machine)")
    p.add_argument("--work", type=Path, help="work folder (default: a temporary one)")
    args = p.parse_args(argv)
    import ray

    with tempfile.TemporaryDirectory(prefix="thud-distributed-") as tmp:
        work = args.work or Path(tmp)
        real_dir = args.real_dir if str(args.real_dir) not in ("", ".") else None
        corpus = write_corpus(args.synthetic, real_dir, work)
        print(f"machine: {bench.machine()}; ray {ray.__version__}")

        config = ThudConfig(name="probes", source="local", data_dir=str(corpus), media_cache_dir=str(work / "stage-cache"))
        st = stage_costs(config, work / "stages")
        print(f"clips: {st['clips']} ({st['used']} used, {st['source_seconds']:.1f} s of source media)")
        print("\nper-clip CPU seconds by stage (one process, cold cache):")
        total = sum(st["cpu"].values())
        for name, cpu in st["cpu"].items():
            where = STAGES[name]
            print(f"  {name:<12} {cpu / st['clips']:>8.4f} s/clip  ({where}; {100 * cpu / total:4.1f}%)")
        print(f"  {'all':<12} {total / st['clips']:>8.4f} s/clip  "
              f"({total / st['source_seconds']:.3f} CPU s per second of source)")
        print(f"bytes per probe row: {st['probe_bytes'] / max(1, st['probe_rows']) / 1e3:.1f} kB "
              f"(all configs: {st['all_bytes'] / st['used'] / 1e3:.1f} kB per clip); "
              f"driver record per clip: {st['driver_record'] / 1e3:.2f} kB")

        cpus = os.cpu_count() or 1
        local_s, _ = run_build(corpus, work / "local" / "thud", work / "local-cache", num_proc=cpus)
        t0 = time.perf_counter()
        ray.init(address=args.address, **({} if args.address else {"include_dashboard": False}))
        ray_start = time.perf_counter() - t0
        ray_s, report = run_build(corpus, work / "ray" / "thud", work / "ray-cache", engine="ray")
        ray_cpus = int(ray.cluster_resources().get("CPU", 0))
        ray.shutdown()
        shards = len(report.files)
        print(f"\nlocal build (num_proc={cpus}): {local_s:.1f} s")
        print(f"ray build ({ray_cpus} CPUs, workers write the shards): {ray_s:.1f} s (+ {ray_start:.1f} s to start Ray); "
              f"{shards} shards; ray/local: x{ray_s / local_s:.2f}")
        problems = compare(work / "local" / "thud", work / "ray" / "thud")
        rows = sum(f.num_rows for f in report.files if f.config == "probes")
        print(f"same files as the local build (every parquet file's name and SHA-256, the card): "
              f"{'yes' if not problems else 'NO'} ({rows} probe rows)")
        for problem in problems:
            print(f"  - {problem}")
        print("\ncost model (the per-clip numbers above; maps spread over the cluster, driver serial):")
        for line in cost_model(st):
            print("  " + line)
        print(f"same_bytes: {'yes' if not problems else 'no'}")
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
        return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
