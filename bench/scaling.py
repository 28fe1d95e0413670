"""Benchmark: how a Thud build scales — processes, memory, and where a clip's time goes.

Three measurements, each printed as a table (``--only`` picks some):

* ``procs``  — a cold :func:`thud_dataset.build` of the ``probes`` config with ``num_proc``
  1 and 2, against the ffmpeg CLI pipeline of ``bench/materialize.py`` run one and two
  clips at a time (the fair pair for two processes), interleaved, ``--repeats`` times;
* ``memory`` — peak RSS of a fresh process that streams every probe split with
  ``ThudBuilder.as_streaming_dataset()`` (clips materialized on the fly) for N and 10 x N
  synthetic clips; streaming must not grow with the number of clips;
* ``split``  — the per-clip time split: Thud's stages called directly, one after the other
  (probe, decode, donor decode, edit, encode, mux, hash + write), plus the build's own
  costs measured on whole builds (the scan of ``prepare`` and the ``datasets`` layer:
  arrow, parquet, card — a warm build, whose media are all cached).

Run from the repository root::

    python bench/scaling.py                    # all three
    python bench/scaling.py --only split procs --synthetic 24
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import materialize as bench  # noqa: E402  (the sibling bench: clip set, ffmpeg pipeline, clocks)

from thud_dataset import materialize as tm  # noqa: E402
from thud_dataset import media  # noqa: E402
from thud_dataset.builder import ThudConfig, prepare  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- processes


def run_ffmpeg_parallel(st: bench.Setup, out_root: Path, workers: int) -> None:
    """The ffmpeg CLI pipeline with ``workers`` clips at a time (4 processes per clip, in turn)."""

    def one(job: bench.Job) -> None:
        out = out_root / job.clip.clip_id
        out.mkdir(parents=True, exist_ok=True)
        for cmd in bench.ffmpeg_commands(job, st.infos, out).values():
            subprocess.run(cmd, check=True)

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, st.jobs))


_ARRAYS: list = []  # the encode floor's arrays, inherited by forked workers (not pickled)


def _encode_part(part: int, parts: int) -> int:
    return bench.run_encode_floor(_ARRAYS[part::parts])


def run_encode_parallel(st: bench.Setup, workers: int) -> None:
    """The encode floor in ``workers`` processes: what the machine gives pure encoding."""
    if workers <= 1:
        bench.run_encode_floor(st.arrays)
        return
    _ARRAYS[:] = st.arrays
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        list(pool.map(_encode_part, range(workers), [workers] * workers))


def measure_procs(st: bench.Setup, repeats: int) -> dict:
    """Cold builds with num_proc 1 and 2 vs the ffmpeg CLI 1 and 2 at a time (and, as a
    reference for what two processes can give on this machine, the encode floor 1 vs 2)."""
    w = st.work
    runs = {
        "thud build num_proc=1": lambda r: bench.run_thud_build(st.data_dir, w / f"p1b{r}", w / f"p1c{r}", None),
        "thud build num_proc=2": lambda r: bench.run_thud_build(st.data_dir, w / f"p2b{r}", w / f"p2c{r}", 2),
        "ffmpeg CLI 1 at a time": lambda r: run_ffmpeg_parallel(st, w / f"f1{r}", 1),
        "ffmpeg CLI 2 at a time": lambda r: run_ffmpeg_parallel(st, w / f"f2{r}", 2),
        "encode floor 1 process": lambda r: run_encode_parallel(st, 1),
        "encode floor 2 processes": lambda r: run_encode_parallel(st, 2),
    }
    names = list(runs)
    bench.run_thud_build(st.data_dir, w / "pwarm", w / "pwarmc", 2)  # imports, pool start-up paths
    wall: dict[str, list[float]] = {k: [] for k in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[: r % len(names)]:
            with bench.Clock() as clock:
                runs[name](r)
            wall[name].append(clock.wall)
        print(f"repeat {r + 1}: " + "  ".join(f"{k} {wall[k][-1]:.2f}s" for k in names), flush=True)
    n = len(st.jobs)
    med = {k: statistics.median(v) for k, v in wall.items()}

    def ratio(a: str, b: str) -> float:  # median over repeats of wall[b] / wall[a]
        return statistics.median(y / x for x, y in zip(wall[a], wall[b], strict=True))

    print(f"\n{'pipeline':<26} {'wall s':>8} {'clips/s':>8}")
    for k in names:
        print(f"{k:<26} {med[k]:>8.2f} {n / med[k]:>8.2f}")
    out = {
        "clips": n,
        "wall_s": wall,
        "clips_per_s": {k: n / med[k] for k in names},
        "thud_speedup_2_procs": ratio("thud build num_proc=2", "thud build num_proc=1"),
        "ffmpeg_speedup_2_at_a_time": ratio("ffmpeg CLI 2 at a time", "ffmpeg CLI 1 at a time"),
        "ratio_vs_ffmpeg_1": ratio("thud build num_proc=1", "ffmpeg CLI 1 at a time"),
        "ratio_vs_ffmpeg_2": ratio("thud build num_proc=2", "ffmpeg CLI 2 at a time"),
        "encode_speedup_2_procs": ratio("encode floor 2 processes", "encode floor 1 process"),
    }
    print(f"speed-up from 2 processes: thud {out['thud_speedup_2_procs']:.2f}x, "
          f"ffmpeg CLI {out['ffmpeg_speedup_2_at_a_time']:.2f}x, pure encoding {out['encode_speedup_2_procs']:.2f}x")
    print(f"thud / ffmpeg CLI: {out['ratio_vs_ffmpeg_1']:.2f}x with one process each, "
          f"{out['ratio_vs_ffmpeg_2']:.2f}x with two each")
    return out


# --------------------------------------------------------------------------- memory

_STREAM_CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    from thud_dataset import ThudBuilder
    from thud_dataset.vocab import SPLITS
    num_clips, cache = int(sys.argv[1]), sys.argv[2]
    b = ThudBuilder(config_name="probes", num_clips=num_clips, media_cache_dir=cache, partition="all")
    b.prepared()  # render + check + plan (not the part measured below, but inside the peak)
    after_prepare = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0, rows, nbytes = time.perf_counter(), 0, 0
    for split in SPLITS["probes"]:
        for row in b.as_streaming_dataset(split=split):
            rows += 1
            nbytes += len(row["video"]["bytes"])
    print(json.dumps({"clips": len(b.prepared().plans), "rows": rows, "video_mb": nbytes / 2**20,
                      "stream_s": time.perf_counter() - t0, "rss_after_prepare_mb": after_prepare / 1024,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    """
)


def measure_memory(num_clips: int, work: Path, factor: int = 10) -> dict:
    """Peak RSS of streaming every probe split, for ``num_clips`` and ``factor`` x as many.

    Twice: as a core install runs it (``USE_TORCH=0``), and with torch importable —
    ``datasets`` then imports torch for its streaming datasets (~170 MB, once).
    """
    results: dict[str, dict] = {}
    for torch in ("0", "AUTO"):
        for n in (num_clips, num_clips * factor):
            cache = work / f"stream-cache-{n}-torch{torch}"
            env = {**os.environ, "USE_TORCH": torch}
            proc = subprocess.run(
                [sys.executable, "-c", _STREAM_CHILD, str(n), str(cache)],
                check=True, capture_output=True, text=True, cwd=REPO, env=env,
            )
            r = results[f"{n} clips, USE_TORCH={torch}"] = json.loads(proc.stdout.strip().splitlines()[-1])
            print(f"USE_TORCH={torch:<4} {n:>5} synthetic clips: {r['rows']} rows streamed "
                  f"({r['video_mb']:.0f} MB of video) in {r['stream_s']:.1f}s; peak RSS {r['peak_rss_mb']:.0f} MB "
                  f"(after prepare {r['rss_after_prepare_mb']:.0f} MB)", flush=True)
        small = results[f"{num_clips} clips, USE_TORCH={torch}"]
        big = results[f"{num_clips * factor} clips, USE_TORCH={torch}"]
        print(f"USE_TORCH={torch}: peak RSS x{big['peak_rss_mb'] / small['peak_rss_mb']:.2f} for x{factor} clips "
              f"(x{big['video_mb'] / small['video_mb']:.1f} video bytes)")
    return {"runs": results, "factor": factor}


# --------------------------------------------------------------------------- per-clip split

STAGES = ("probe", "decode", "donor decode", "transcode", "edit", "encode", "mux", "hash + write")


def stage_split(st: bench.Setup, out: Path) -> dict[str, float]:
    """Seconds per stage, summed over the clips: Thud's stages called directly, in turn.

    ``decode`` is :func:`media.read_source` (one open: probe + audio decode + video demux,
    as :func:`~thud_dataset.materialize.materialize_clip` does it) less a separate probe.
    """
    tm._silence.cache_clear()
    tm._silence_pattern.cache_clear()
    out.mkdir(parents=True, exist_ok=True)
    total = dict.fromkeys(STAGES, 0.0)

    def lap(stage: str, fn, *args):
        with bench.Clock() as c:
            value = fn(*args)
        total[stage] += c.wall
        return value

    for job in st.jobs:
        clip = job.clip
        probe_s = total["probe"]
        lap("probe", media.probe, clip.path)
        probe_s = total["probe"] - probe_s
        source = lap("decode", media.read_source, clip.path)
        total["decode"] -= probe_s  # read_source reads the headers too: count that as probe
        donor_audio = lap("donor decode", media.decode_audio, job.donor.path)
        with source:
            info, audio = source.info, source.audio
            settings = tm.EncodeSettings()
            video = source.video
            if info.video_transcoded:  # a codec mp4 cannot carry: once per clip
                video = lap("transcode", media.transcode_video, source.video)
            conditions = lap("edit", tm.make_condition_audio, clip, job.plan, audio, job.donor, donor_audio)
            for samples, _ in conditions.values():
                if samples is None:
                    shape = audio.samples.shape
                    enc = lap("encode", tm._silent_track, shape[1], shape[0], audio.sample_rate, settings)
                else:
                    enc = lap("encode", tm._encode, samples, audio.sample_rate, settings)
                data = lap("mux", media.mux, video, enc)
                lap("hash + write", _write, out, data, info.output_extension)
    return total


def _write(out: Path, data: bytes, extension: str) -> None:
    path = out / media.content_name(data, extension)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def measure_split(st: bench.Setup, repeats: int) -> dict:
    """The per-clip split (median over repeats), with the build's scan and datasets layer."""
    w = st.work
    splits, scans, layers, colds = [], [], [], []
    for r in range(repeats):
        splits.append(stage_split(st, w / f"split{r}"))
        cache = w / f"split-cache{r}"
        with bench.Clock() as cold:
            bench.run_thud_build(st.data_dir, w / f"split-build{r}", cache)
        # the scan: prepare() without, then with, its cached scans (media are cached either way)
        config = ThudConfig(name="probes", source="local", data_dir=str(st.data_dir), media_cache_dir=str(cache))
        shutil.rmtree(cache / "scan")
        with bench.Clock() as scan_cold:
            prepare(config, progress=False)
        with bench.Clock() as scan_warm:
            prepare(config, progress=False)
        with bench.Clock() as warm:  # scans and media cached: the datasets layer (and listing)
            bench.run_thud_build(st.data_dir, w / f"split-build{r}", cache)
        scans.append(scan_cold.wall - scan_warm.wall)
        layers.append(warm.wall)
        colds.append(cold.wall)
    n = len(st.jobs)
    med = {k: statistics.median(s[k] for s in splits) for k in STAGES}
    med["scan (check: decode, peak)"] = statistics.median(scans)
    med["datasets layer (warm build)"] = statistics.median(layers)
    total = sum(med.values())
    print(f"\n{'stage':<30} {'ms/clip':>8} {'share':>7}")
    for k, v in med.items():
        print(f"{k:<30} {1000 * v / n:>8.1f} {100 * v / total:>6.1f}%")
    print(f"{'sum':<30} {1000 * total / n:>8.1f}   (a cold build measured whole: "
          f"{1000 * statistics.median(colds) / n:.1f} ms/clip)")
    return {"ms_per_clip": {k: 1000 * v / n for k, v in med.items()}, "cold_build_ms_per_clip": 1000 * statistics.median(colds) / n}


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", nargs="+", choices=("procs", "memory", "split"), default=["split", "procs", "memory"])
    p.add_argument("--synthetic", type=int, default=24, help="synthetic clips for procs/split (default 24)")
    p.add_argument("--real-dir", type=Path, default=bench.DEFAULT_REAL_DIR)
    p.add_argument("--stream-clips", type=int, default=24, help="N of the memory run: N and 10 x N clips")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--work", type=Path)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    results: dict = {"machine": bench.machine()}
    print(f"machine: {results['machine']}")
    with tempfile.TemporaryDirectory(prefix="thud-scaling-") as tmp:
        work = args.work or Path(tmp)
        if {"procs", "split"} & set(args.only):
            real_dir = args.real_dir if str(args.real_dir) not in ("", ".") else None
            st = bench.setup(args.synthetic, real_dir, 0, work)
            print(f"clips: {len(st.jobs)} ({st.synthetic} synthetic, {len(st.jobs) - st.synthetic} real)")
            if "split" in args.only:
                print("\n== per-clip time split (stages called directly; wall) ==")
                results["split"] = measure_split(st, args.repeats)
            if "procs" in args.only:
                print("\n== processes: cold builds vs the ffmpeg CLI ==")
                results["procs"] = measure_procs(st, args.repeats)
        if "memory" in args.only:
            print("\n== memory: streaming every probe split (fresh process each) ==")
            results["memory"] = measure_memory(args.stream_clips, work)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
