"""Thud's materialization on a distributed engine (Ray Data), checked against the local build.

A clip's four files are a pure function of ``(clip, plan, donor, encode settings)``
(:func:`thud_dataset.materialize.materialize_clip`), and its probe rows a pure function of
those plus the seed (:func:`thud_dataset.builder.probe_rows`). So a build splits into

1. list the clips (driver) → 2. check each clip (``scan_clip``: a map) → 3. plan (driver:
   seeded, cheap, needs every clip's scan) → 4. materialize + rows (a map) → 5. write.

This script runs steps 2 and 4 as Ray Data maps on a local Ray (``ray.init()``: this
machine's cores) and checks that the rows equal those of :func:`thud_dataset.build` on the
same clips: same probe ids, pair ids, labels, offsets, donors, and the same video bytes
(file name and SHA-256). How to point it at a cluster: ``docs/scaling.md``.

Ray is a benchmark-only dependency (``pip install "ray[data]"``), not one of Thud's.

    python bench/distributed.py                      # 24 synthetic + the real clips of tests/data/real
    python bench/distributed.py --address auto       # an existing Ray cluster
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import materialize as bench  # noqa: E402  (the sibling bench: the clip set)

from thud_dataset.builder import ThudConfig, probe_rows  # noqa: E402
from thud_dataset.materialize import ClipScan, EncodeSettings, materialize_clip, scan_clip  # noqa: E402
from thud_dataset.planning import ClipPlan, plan_clips  # noqa: E402
from thud_dataset.sources import Clip, ClipError, get_clips  # noqa: E402

#: the columns compared with the local build (``video`` is compared by name and SHA-256)
COLUMNS = (
    "probe_id", "pair_id", "clip_id", "dimension", "condition", "offset_s", "donor_clip_id",
    "prompt", "choices", "label", "visual_event", "visual_time", "audio_event", "audio_time",
    "category", "edited_audio_time", "duration_s", "partition", "source",
)


# --------------------------------------------------------------------------- the two maps
# Items travel as JSON strings: the workers rebuild the dataclasses, nothing else is shared.


def _clip(d: dict) -> Clip:
    return Clip(**d)


def scan_item(item: dict) -> dict:
    """Map 1: check one clip (decode, silence, labels); an error is a row, not a crash."""
    clip = _clip(json.loads(item["clip"]))
    try:
        return {"clip_id": clip.clip_id, "scan": json.dumps(asdict(scan_clip(clip))), "error": ""}
    except ClipError as e:
        return {"clip_id": clip.clip_id, "scan": "", "error": str(e)}


def materialize_item(item: dict) -> list[dict]:
    """Map 2: materialize one clip into the shared ``out_dir``; return its probe rows."""
    job = json.loads(item["job"])
    clip, donor = _clip(job["clip"]), _clip(job["donor"])
    plan = ClipPlan(**job["plan"])
    out = Path(job["out_dir"])
    outputs = materialize_clip(clip, plan, donor, out, EncodeSettings(**job["settings"]))
    rows = probe_rows(clip, plan, donor, outputs, job["seed"], job["duration"])
    result = []
    for row in rows:
        row.pop("donor_audio_event", None)
        data = (out / row["video"]).read_bytes()
        result.append({"row": json.dumps(row), "video_sha256": hashlib.sha256(data).hexdigest()})
    return result


# --------------------------------------------------------------------------- the driver


def ray_build(config: ThudConfig, out_dir: Path, address: str | None) -> tuple[list[dict], dict]:
    """Steps 1–4 of a build with Ray Data; returns the probe rows and timings."""
    import ray

    t0 = time.perf_counter()
    ray.init(address=address, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    import ray.data

    ray.data.DataContext.get_current().enable_progress_bars = False
    t_init = time.perf_counter() - t0

    t1 = time.perf_counter()
    clips, skipped = get_clips(
        config.source, data_dir=config.data_dir, annotations=config.annotations, num_clips=config.num_clips,
        source_seed=config.source_seed, work_dir=config.cache().root, progress=False,
    )
    by_id = {c.clip_id: c for c in clips}
    items = [{"clip": json.dumps(c.to_dict())} for c in clips]
    scanned = ray.data.from_items(items).map(scan_item).take_all()
    scans = {r["clip_id"]: ClipScan(**json.loads(r["scan"])) for r in scanned if not r["error"]}
    skipped += [r["error"] for r in scanned if r["error"]]
    ok = [c for c in clips if c.clip_id in scans]  # driver order, whatever order the map returned
    plans, plan_skipped = plan_clips(ok, {c: s.duration for c, s in scans.items()}, config.plan_settings())
    part = config.partition or "test"
    settings = asdict(config.encode_settings())
    jobs = [
        {"job": json.dumps({
            "clip": by_id[p.clip_id].to_dict(), "donor": by_id[p.donor_clip_id].to_dict(), "plan": asdict(p),
            "settings": settings, "seed": config.seed, "duration": scans[p.clip_id].duration,
            "out_dir": str(out_dir),
        })}
        for p in plans
        if part == "all" or p.partition == part
    ]
    # one clip per block, so the work spreads over every worker from the start
    rows = ray.data.from_items(jobs, override_num_blocks=max(1, len(jobs))).flat_map(materialize_item).take_all()
    t_run = time.perf_counter() - t1
    return rows, {"ray_init_s": t_init, "ray_build_s": t_run, "clips": len(jobs),
                  "skipped": len(skipped) + len(plan_skipped)}


def local_rows(out: Path) -> list[dict]:
    """The probe rows of a local build folder (parquet), with the video's SHA-256."""
    import pyarrow.parquet as pq

    rows = []
    for path in sorted((out / "data" / "probes").glob("*.parquet")):
        for r in pq.read_table(path).to_pylist():
            data = r.pop("video")
            r["video_path"] = data["path"]
            r["video_sha256"] = hashlib.sha256(data["bytes"]).hexdigest()
            rows.append(r)
    return rows


def compare(local: list[dict], distributed: list[dict]) -> list[str]:
    """Differences between the two row sets (empty: the same rows)."""

    def key(r: dict) -> tuple:
        return tuple(json.dumps(r[c], sort_keys=True) for c in COLUMNS) + (r["video_path"], r["video_sha256"])

    theirs = []
    for item in distributed:
        r = json.loads(item["row"])
        r["video_path"], r["video_sha256"] = r.pop("video"), item["video_sha256"]
        theirs.append(r)
    a, b = sorted(map(key, local)), sorted(map(key, theirs))
    problems = []
    if len(a) != len(b):
        problems.append(f"{len(a)} local rows, {len(b)} distributed rows")
    diff = set(a) ^ set(b)
    if diff:
        problems.append(f"{len(diff)} rows differ, e.g. {sorted(diff)[0][:3]}")
    return problems


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--synthetic", type=int, default=24)
    p.add_argument("--real-dir", type=Path, default=bench.DEFAULT_REAL_DIR)
    p.add_argument("--address", help="Ray cluster address (default: start a local Ray on this machine)")
    p.add_argument("--work", type=Path)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="thud-distributed-") as tmp:
        work = args.work or Path(tmp)
        real_dir = args.real_dir if str(args.real_dir) not in ("", ".") else None
        st = bench.setup(args.synthetic, real_dir, 0, work)
        print(f"machine: {bench.machine()}")
        print(f"clips: {len(st.jobs)} ({st.synthetic} synthetic, {len(st.jobs) - st.synthetic} real)")
        kwargs = {"source": "local", "data_dir": str(st.data_dir)}

        with bench.Clock() as local_clock:
            bench.run_thud_build(st.data_dir, work / "local", work / "local-cache")
        local = local_rows(work / "local")
        print(f"local build (one process): {len(local)} probe rows in {local_clock.wall:.1f}s")

        config = ThudConfig(name="probes", media_cache_dir=str(work / "ray-cache"), **kwargs)
        rows, t = ray_build(config, work / "ray-objects", args.address)
        print(f"ray data: {len(rows)} probe rows from {t['clips']} clips in {t['ray_build_s']:.1f}s "
              f"(+ {t['ray_init_s']:.1f}s to start Ray)")
        problems = compare(local, rows)
        ids = len({json.loads(r["row"])["probe_id"] for r in rows})
        print(f"same rows as the local build (probe ids, labels, offsets, donors, video bytes): "
              f"{'yes' if not problems else 'NO'} ({ids} probe ids)")
        for problem in problems:
            print(f"  - {problem}")
        return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
