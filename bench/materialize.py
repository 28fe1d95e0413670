"""Benchmark: Thud's materialization against the ffmpeg command line doing the same edits.

Both pipelines make, per source clip, the four files of a build (original / shift / mute /
swap) with the video stream copied and the audio encoded with the same encoder and
settings (FFmpeg's native ``aac``, 64 kb/s per channel, the source's rate and channels,
bitexact; FLAC for Matroska outputs, as :mod:`thud_dataset.media` rules). The ffmpeg CLI
runs one process per output file, with the edit in its filter graph:

* shift ``tau > 0``: ``adelay=<n>S:all=1,atrim=end=<dur>``; ``tau < 0``:
  ``atrim=start=<-tau>,asetpts=PTS-STARTPTS,apad,atrim=end=<dur>``
  (``-itsoffset`` is not used: it moves timestamps, not the decoded samples);
* mute: ``volume=0`` (the audio stream stays in the file);
* swap: the donor as a second input, resampled (soxr, like Thud's librosa/soxr) and
  channel-matched, placed with ``adelay``/``atrim`` so its event lands at the recipient's
  visual-event time, length-matched with ``apad,atrim``.

Measured in the same run, interleaved, ``--repeats`` times (medians reported):

* ``thud build``      — :func:`thud_dataset.build` of the ``probes`` config from a cold cache:
  check + plan, materialize, ``datasets`` arrow + parquet + card (the product);
* ``thud materialize``— :func:`thud_dataset.materialize.materialize_clip` per clip (the
  pure per-clip function, files written);
* ``ffmpeg CLI``      — 4 ``ffmpeg`` processes per clip, one after the other;
* ``remux floor``     — a plain in-process stream-copy remux (PyAV) of each source, 4 times
  per clip, no decode, no encode;
* ``encode floor``    — only the audio encodes of the four condition arrays per clip
  (arrays made beforehand, not timed).

Then both pipelines' outputs are decoded and the event positions compared (cross-correlation
of the decoded audio with the source, or with the donor for swap; within 1 ms), and the
video packets of every output are checked against the source's. The last line is
``ratio_vs_ffmpeg: X`` (Thud build clips/s over ffmpeg CLI clips/s, one process each).

Run from the repository root::

    python bench/materialize.py                     # 24 synthetic + the shared real clips
    python bench/materialize.py --synthetic 8 --repeats 2
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from thud_dataset import media
from thud_dataset.interventions import shift, swap
from thud_dataset.materialize import EncodeSettings, conform, materialize_clip
from thud_dataset.planning import ClipPlan, PlanSettings, plan_clips
from thud_dataset.sources.base import Clip
from thud_dataset.sources.synthetic import generate_clips
from thud_dataset.verify import measure_lag

REPO = Path(__file__).resolve().parents[1]
DEFAULT_REAL_DIR = REPO.parent / "shared" / "media" / "real"
CONDITIONS = ("original", "shift", "mute", "swap")
#: event positions of the two pipelines must agree to this (seconds)
TOLERANCE_S = 0.001
_REAL_SUFFIXES = {".mp4", ".webm", ".mkv", ".mov"}


# --------------------------------------------------------------------------- clip set


@dataclass(frozen=True)
class Job:
    """One clip to materialize: the clip, its plan and its swap donor."""

    clip: Clip
    plan: ClipPlan
    donor: Clip


def _event_time(path: str) -> float:
    """A stand-in event label for an unlabelled real clip: its loudest 10 ms in the middle half.

    Only the bench uses it: it keeps the shifted event inside the clip for the planner. The
    equivalence check does not rely on it (it cross-correlates whole signals).
    """
    audio = media.decode_audio(path)
    x = np.abs(audio.samples).mean(axis=0)
    hop = max(1, audio.sample_rate // 100)
    env = np.add.reduceat(x, np.arange(0, len(x), hop))
    lo, hi = len(env) // 4, max(len(env) // 4 + 1, 3 * len(env) // 4)
    return round(float((lo + int(np.argmax(env[lo:hi]))) * hop / audio.sample_rate), 2)


def real_clips(real_dir: Path) -> list[Clip]:
    """The shared real clips (``shared/media/real``), with stand-in event labels."""
    clips = []
    for path in sorted(real_dir.iterdir()):
        if path.suffix.lower() not in _REAL_SUFFIXES:
            continue
        t = _event_time(str(path))
        clips.append(Clip(path.stem, str(path), "event", t, "sound", t, category="real", source="local"))
    return clips


def synthetic_clips(num: int, seed: int, work: Path) -> list[Clip]:
    return generate_clips(num, seed, work / "synthetic", progress=False) if num > 0 else []


def make_jobs(clips: list[Clip], seed: int = 0) -> list[Job]:
    """Plan every clip with Thud's planner (all in one partition, so donors mix kinds)."""
    clips = [dataclasses.replace(c, split="test") for c in clips]
    durations = {c.clip_id: media.probe(c.path).duration for c in clips}
    plans, skipped = plan_clips(clips, durations, PlanSettings(seed=seed))
    if skipped:
        print("skipped by the planner: " + "; ".join(map(str, skipped)), file=sys.stderr)
    by_id = {c.clip_id: c for c in clips}
    return [Job(by_id[p.clip_id], p, by_id[p.donor_clip_id]) for p in plans]


def write_annotations(jobs: list[Job], folder: Path) -> Path:
    """An ``annotations.jsonl`` (absolute paths) so :func:`thud_dataset.build` sees the same clips."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "annotations.jsonl", "w") as f:
        for j in jobs:
            c = j.clip
            row = {
                "file": str(Path(c.path).resolve()),
                "clip_id": c.clip_id,
                "visual_event": c.visual_event,
                "visual_time": c.visual_time,
                "audio_event": c.audio_event,
                "audio_time": c.audio_time,
                "category": c.category,
                "split": "test",
            }
            f.write(json.dumps(row) + "\n")
    return folder


# --------------------------------------------------------------------------- ffmpeg CLI


def _settings_for(info: media.MediaInfo) -> EncodeSettings:
    settings = EncodeSettings()
    # Matroska outputs carry FLAC (no AAC priming problem), when the library says so
    for_container = getattr(settings, "for_container", None)
    return for_container(info.output_format) if for_container else settings


def _audio_args(info: media.MediaInfo, channels: int) -> list[str]:
    """The encoder arguments that match :func:`thud_dataset.media.encode_audio`."""
    s = _settings_for(info)
    args = ["-c:a", s.codec, "-ar", str(info.audio.sample_rate), "-ac", str(channels)]
    if s.codec == "aac":
        args += ["-b:a", str(s.bitrate_per_channel * channels)]
    elif s.codec == "flac":
        args += ["-sample_fmt", "s16"]
    return args + ["-flags:a", "+bitexact"]


def _channels(info: media.MediaInfo) -> int:
    return min(2, info.audio.channels)  # Thud downmixes more than two channels to stereo


def _to_layout(channels_in: int, channels_out: int) -> str:
    """Channel matching as :func:`thud_dataset.materialize.conform` does it (mean, repeat)."""
    if channels_in == channels_out:
        return ""
    mean = "+".join(f"{1 / channels_in:.6f}*c{i}" for i in range(channels_in))
    if channels_out == 1:
        return f",pan=mono|c0={mean}"
    return f",pan=stereo|c0={mean}|c1={mean}"


def ffmpeg_commands(job: Job, infos: dict[str, media.MediaInfo], out_dir: Path) -> dict[str, list[str]]:
    """The four ``ffmpeg`` command lines of one clip (what a careful CLI pipeline runs)."""
    clip, plan, donor = job.clip, job.plan, job.donor
    info, dinfo = infos[clip.path], infos[donor.path]
    sr, ch = info.audio.sample_rate, _channels(info)
    dur = info.duration
    fmt = info.output_format
    ext = info.output_extension
    head = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", clip.path]
    tail = ["-c:v", "copy", *_audio_args(info, ch), "-fflags", "+bitexact", "-f", fmt]
    vmap = ["-map", f"0:{info.video.index}"]
    amap = f"0:{info.audio.index}"
    n = round(abs(plan.tau) * sr)
    if plan.tau > 0:
        shift_af = f"adelay={n}S:all=1,atrim=end={dur:.6f}"
    else:
        shift_af = f"atrim=start={n / sr:.6f},asetpts=PTS-STARTPTS,apad,atrim=end={dur:.6f}"
    # swap: donor sample 0 sits at (donor audio start - donor origin) on the donor's timeline
    d0 = dinfo.audio.start_time - dinfo.start_time if hasattr(dinfo, "start_time") else dinfo.audio.start_time
    start = round(clip.visual_time * sr) - round((donor.audio_time - d0) * sr)
    place = f"adelay={start}S:all=1" if start >= 0 else f"atrim=start_sample={-start},asetpts=PTS-STARTPTS"
    swap_fc = (
        f"[1:{dinfo.audio.index}]aresample={sr}:resampler=soxr,asetpts=PTS-STARTPTS"
        f"{_to_layout(_channels(dinfo), ch)},{place},apad,atrim=end={dur:.6f}[a]"
    )
    return {
        "original": head + vmap + ["-map", amap] + tail + [str(out_dir / f"original{ext}")],
        "shift": head + vmap + ["-map", amap, "-af", shift_af] + tail + [str(out_dir / f"shift{ext}")],
        "mute": head + vmap + ["-map", amap, "-af", "volume=0"] + tail + [str(out_dir / f"mute{ext}")],
        "swap": head
        + ["-i", donor.path, "-filter_complex", swap_fc]
        + vmap
        + ["-map", "[a]"]
        + tail
        + [str(out_dir / f"swap{ext}")],
    }


def run_ffmpeg(jobs: list[Job], infos: dict[str, media.MediaInfo], out_root: Path) -> dict[str, dict[str, Path]]:
    """Materialize every clip with the ffmpeg CLI, one process per output file."""
    outputs = {}
    for job in jobs:
        out = out_root / job.clip.clip_id
        out.mkdir(parents=True, exist_ok=True)
        files = {}
        for condition, cmd in ffmpeg_commands(job, infos, out).items():
            subprocess.run(cmd, check=True)
            files[condition] = Path(cmd[-1])
        outputs[job.clip.clip_id] = files
    return outputs


# --------------------------------------------------------------------------- Thud and floors


def _clear_shared_encodes() -> None:
    """Forget encodes shared in this process, so every repeat starts cold."""
    from thud_dataset import materialize

    for name in ("_silence", "_silence_pattern"):
        fn = getattr(materialize, name, None)
        if fn is not None and hasattr(fn, "cache_clear"):
            fn.cache_clear()


def run_thud_materialize(jobs: list[Job], out: Path) -> dict[str, dict[str, Path]]:
    """Thud's per-clip function, clip after clip, files written to ``out``."""
    _clear_shared_encodes()
    result = {}
    for job in jobs:
        outputs = materialize_clip(job.clip, job.plan, job.donor, out)
        result[job.clip.clip_id] = {c: out / o.file_name for c, o in outputs.items()}
    return result


def run_thud_build(data_dir: Path, out: Path, cache: Path, num_proc: int | None = None):
    """A full cold build of the ``probes`` config (parquet + card) from ``data_dir``."""
    from thud_dataset import build

    _clear_shared_encodes()
    return build(
        out,
        configs=("probes",),
        source="local",
        data_dir=str(data_dir),
        media_cache_dir=str(cache),
        num_proc=num_proc,
        progress=False,
        command="bench/materialize.py",
    )


def run_remux_floor(jobs: list[Job], infos: dict[str, media.MediaInfo]) -> int:
    """Stream-copy each source's video + audio into a new file in memory, 4 times per clip."""
    total = 0
    for job in jobs:
        info = infos[job.clip.path]
        for _ in CONDITIONS:
            buf = io.BytesIO()
            with av.open(job.clip.path) as src, av.open(buf, "w", format=info.output_format) as dst:
                dst.flags |= av.container.Flags.bitexact.value
                vin, ain = src.streams[info.video.index], src.streams[info.audio.index]
                vout = dst.add_stream_from_template(vin)
                aout = dst.add_stream_from_template(ain)
                for pkt in src.demux(vin, ain):
                    if pkt.dts is None:
                        continue
                    pkt.stream = vout if pkt.stream is vin else aout
                    dst.mux(pkt)
            total += buf.getbuffer().nbytes
    return total


def condition_arrays(job: Job) -> tuple[int, EncodeSettings, list[np.ndarray]]:
    """The four audio arrays Thud encodes for a clip (made here, outside the timing)."""
    info = media.probe(job.clip.path)
    audio = media.decode_audio(job.clip.path, info)
    donor = media.decode_audio(job.donor.path)
    x, sr = audio.samples, audio.sample_rate
    donor_x = conform(donor.samples, donor.sample_rate, sr, x.shape[0])
    arrays = [
        x,
        shift(x, sr, job.plan.tau),
        np.zeros_like(x),
        swap(donor_x, x.shape[1], sr, job.donor.audio_time, job.clip.visual_time),
    ]
    return sr, _settings_for(info), arrays


def run_encode_floor(arrays: list[tuple[int, EncodeSettings, list[np.ndarray]]]) -> int:
    """Only the audio encodes: every condition array of every clip, nothing else."""
    packets = 0
    for sr, settings, xs in arrays:
        for x in xs:
            enc = media.encode_audio(x, sr, codec=settings.codec, bit_rate=settings.bitrate_per_channel * x.shape[0])
            packets += len(enc.packets)
    return packets


# --------------------------------------------------------------------------- equivalence check


@dataclass
class Agreement:
    clip_id: str
    condition: str
    expected_ms: float | None
    thud_ms: float | None
    ffmpeg_ms: float | None
    video_identical: bool
    ok: bool


def _lag_ms(reference: np.ndarray, path: Path, sr: int, max_lag_s: float) -> float:
    out = media.decode_audio(path)
    return 1000 * measure_lag(reference, out.samples, sr, max_lag_s=max_lag_s) / sr


def _peak(path: Path) -> float:
    return float(np.max(np.abs(media.decode_audio(path).samples)))


def _video_packets(path: Path | str) -> list[bytes]:
    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(c.streams.video[0]) if p.size]


def check_agreement(jobs: list[Job], thud: dict, ffmpeg: dict) -> list[Agreement]:
    """Decode both pipelines' outputs; compare where the event lands (and video packets)."""
    rows = []
    for job in jobs:
        clip = job.clip
        src = media.decode_audio(clip.path)
        sr, n = src.sample_rate, src.samples.shape[1]
        donor = media.decode_audio(job.donor.path)
        donor_x = conform(donor.samples, donor.sample_rate, sr, src.samples.shape[0])
        donor_x = np.pad(donor_x, ((0, 0), (0, max(0, n - donor_x.shape[1]))))
        src_video = _video_packets(clip.path)
        span = n / sr
        for condition in CONDITIONS:
            t_path, f_path = thud[clip.clip_id][condition], ffmpeg[clip.clip_id][condition]
            video_ok = _video_packets(t_path) == src_video == _video_packets(f_path)
            if condition == "mute":
                ok = video_ok and _peak(t_path) == 0.0 and _peak(f_path) == 0.0
                rows.append(Agreement(clip.clip_id, condition, None, None, None, video_ok, ok))
                continue
            if condition == "swap":
                ref = donor_x
                expected = 1000 * (round(clip.visual_time * sr) - round(job.donor.audio_time * sr)) / sr
            else:
                ref = src.samples
                expected = 1000 * round(job.plan.tau * sr) / sr if condition == "shift" else 0.0
            t_ms = _lag_ms(ref, t_path, sr, span)
            f_ms = _lag_ms(ref, f_path, sr, span)
            tol = 1000 * TOLERANCE_S
            ok = video_ok and abs(t_ms - expected) <= tol and abs(f_ms - t_ms) <= tol
            rows.append(Agreement(clip.clip_id, condition, expected, t_ms, f_ms, video_ok, ok))
    return rows


# --------------------------------------------------------------------------- main


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:+.2f}"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ff = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout.splitlines()[0]
    libav = ".".join(map(str, av.library_versions["libavcodec"]))
    return f"{os.cpu_count()} CPUs ({cpu}); {ff}; PyAV {av.__version__} (libavcodec {libav})"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--synthetic", type=int, default=24, help="synthetic clips (default 24)")
    p.add_argument("--real-dir", type=Path, default=DEFAULT_REAL_DIR, help="folder of real clips ('' for none)")
    p.add_argument("--repeats", type=int, default=3, help="interleaved repeats (default 3)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--work", type=Path, help="scratch folder (default: a temporary one)")
    p.add_argument("--json", type=Path, help="also write the numbers to this JSON file")
    args = p.parse_args(argv)
    if shutil.which("ffmpeg") is None:
        print("the ffmpeg CLI is not on PATH (Debian: apt-get install ffmpeg)", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="thud-bench-") as tmp:
        work = args.work or Path(tmp)
        clips = synthetic_clips(args.synthetic, args.seed, work)
        if str(args.real_dir) and args.real_dir.is_dir():
            clips += real_clips(args.real_dir)
        jobs = make_jobs(clips, args.seed)
        infos = {c.path: media.probe(c.path) for c in clips}
        arrays = [condition_arrays(j) for j in jobs]
        data_dir = write_annotations(jobs, work / "annotations")
        n_syn = sum(j.clip.source == "synthetic" for j in jobs)
        print(f"machine: {machine()}")
        print(f"clips: {len(jobs)} ({n_syn} synthetic, {len(jobs) - n_syn} real); 4 output files each; "
              f"{args.repeats} interleaved repeats")

        last: dict[str, object] = {}

        def thud_build(r: int):
            report = run_thud_build(data_dir, work / f"build{r}", work / f"cache{r}")
            last["build"] = report

        def thud_materialize(r: int):
            last["thud"] = run_thud_materialize(jobs, work / f"thud{r}")

        def ffmpeg_cli(r: int):
            last["ffmpeg"] = run_ffmpeg(jobs, infos, work / f"ffmpeg{r}")

        pipelines: dict[str, Callable[[int], object]] = {
            "thud build": thud_build,
            "thud materialize": thud_materialize,
            "ffmpeg CLI": ffmpeg_cli,
            "remux floor": lambda r: run_remux_floor(jobs, infos),
            "encode floor": lambda r: run_encode_floor(arrays),
        }
        names = list(pipelines)
        times: dict[str, list[float]] = {k: [] for k in names}
        for r in range(args.repeats):
            order = names[r % len(names):] + names[: r % len(names)]  # rotate: no pipeline always first
            for name in order:
                t0 = time.perf_counter()
                pipelines[name](r)
                times[name].append(time.perf_counter() - t0)
            print(f"repeat {r + 1}: " + "  ".join(f"{k} {times[k][-1]:.2f}s" for k in names), flush=True)

        # the plan Thud's build used must be the plan the CLI pipeline ran
        built = {p["clip_id"]: (p["tau"], p["donor_clip_id"]) for p in last["build"].plan}
        assert built == {j.clip.clip_id: (j.plan.tau, j.donor.clip_id) for j in jobs}, "build planned differently"

        print("\nequivalence: event position (ms) in the decoded audio of each output, by cross-correlation")
        print("with the source (swap: with the donor); video packets compared with the source's")
        print(f"{'clip':<42} {'condition':<9} {'expected':>9} {'thud':>9} {'ffmpeg':>9} video  ok")
        rows = check_agreement(jobs, last["thud"], last["ffmpeg"])
        for a in rows:
            print(f"{a.clip_id[:42]:<42} {a.condition:<9} {_fmt(a.expected_ms):>9} {_fmt(a.thud_ms):>9} "
                  f"{_fmt(a.ffmpeg_ms):>9} {'same' if a.video_identical else 'DIFF':<6} {'yes' if a.ok else 'NO'}")
        agree = all(a.ok for a in rows)
        print(f"event positions agree (|thud - ffmpeg| <= {1000 * TOLERANCE_S:g} ms, thud == plan): "
              f"{'yes' if agree else 'NO'} ({sum(a.ok for a in rows)}/{len(rows)})")

        n = len(jobs)
        med = {k: statistics.median(v) for k, v in times.items()}

        def ratio(a: str, b: str) -> float:  # median over repeats of the per-repeat ratio
            return statistics.median(times[b][i] / times[a][i] for i in range(args.repeats))

        print(f"\n{'pipeline':<18} {'median s':>9} {'clips/s':>9} {'vs ffmpeg':>10}")
        for k in names:
            print(f"{k:<18} {med[k]:>9.3f} {n / med[k]:>9.2f} {ratio(k, 'ffmpeg CLI'):>9.2f}x")
        enc_ratio_build = statistics.median(times["thud build"][i] / times["encode floor"][i] for i in range(args.repeats))
        enc_ratio_mat = statistics.median(times["thud materialize"][i] / times["encode floor"][i] for i in range(args.repeats))
        remux_x = ratio("ffmpeg CLI", "remux floor")
        print(f"thud build / encode floor (time): {enc_ratio_build:.2f}x; "
              f"thud materialize / encode floor: {enc_ratio_mat:.2f}x; remux floor is {remux_x:.1f}x faster than ffmpeg CLI")
        result = {
            "clips": n,
            "synthetic": n_syn,
            "repeats": args.repeats,
            "seconds": times,
            "clips_per_s": {k: n / med[k] for k in names},
            "ratio_vs_ffmpeg": ratio("thud build", "ffmpeg CLI"),
            "materialize_ratio_vs_ffmpeg": ratio("thud materialize", "ffmpeg CLI"),
            "build_over_encode_floor": enc_ratio_build,
            "materialize_over_encode_floor": enc_ratio_mat,
            "events_agree": agree,
            "machine": machine(),
        }
        if args.json:
            args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"ratio_vs_ffmpeg: {result['ratio_vs_ffmpeg']:.2f}")
        return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
