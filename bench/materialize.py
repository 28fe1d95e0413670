"""Benchmark: Thud's materialization against the ffmpeg command line doing the same edits.

Both pipelines make, per source clip, the four files of a build (original / shift / mute /
swap) with the video stream copied and the audio encoded with the same encoder and
settings (FFmpeg's native ``aac``, 64 kb/s per channel, the source's rate and channels,
bitexact; every output an mp4, as :mod:`thud_dataset.media` rules). A source whose video
codec mp4 cannot carry (the VP8 webm) has its video transcoded once per clip to H.264 with
Thud's settings in both pipelines (the CLI: one more process, whose file the four outputs
copy their video from). The ffmpeg CLI runs one process per output file, with the edit in
its filter graph:

* shift ``tau > 0``: ``adelay=<n>S:all=1,atrim=end=<dur>``; ``tau < 0``:
  ``atrim=start_sample=<n>,asetpts=PTS-STARTPTS,apad,atrim=end=<dur>``; both after
  ``aresample=first_pts=0``, which pads audio that starts after the timeline origin
  (``-itsoffset`` is not used: it moves timestamps, not the decoded samples);
* mute: ``volume=0`` (the audio stream stays in the file);
* swap: the donor as a second input, resampled (soxr, like Thud's librosa/soxr) and
  channel-matched, placed with ``adelay``/``atrim`` so its event lands at the recipient's
  visual-event time, length-matched with ``apad,atrim``.

Measured in the same run, ``--repeats`` times (medians of per-repeat ratios reported); the
per-clip pipelines take turns clip by clip, so a shared machine's changing load hits them alike:

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

    python bench/materialize.py                     # 24 synthetic + the real clips of tests/data/real
    python bench/materialize.py --synthetic 8 --repeats 2
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
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
DEFAULT_REAL_DIR = REPO / "tests" / "data" / "real"
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
    """The real clips of ``tests/data/real``, with stand-in event labels."""
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
    # one shift per clip: the ffmpeg pipeline makes the four files of the paper's protocol
    plans, skipped = plan_clips(clips, durations, PlanSettings(seed=seed, shifts_per_clip=1))
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
    return EncodeSettings()


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


def _samples(seconds: float, sr: int) -> int:
    """Seconds → whole samples, rounded half away from zero (as Thud's interventions do)."""
    x = abs(seconds) * sr
    return int(x + 0.5) * (1 if seconds >= 0 else -1)


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
    commands: dict[str, list[str]] = {}
    transcoded = getattr(info, "video_transcoded", False)
    if transcoded:
        # once per clip, Thud's H.264 settings; the four outputs copy its video (input 1,
        # or 2 for the swap, whose input 1 is the donor)
        video = out_dir / f"video{ext}"
        opts = [a for k, v in media.TRANSCODE_OPTIONS.items() for a in (f"-{k}", v)]
        commands["video"] = [
            "ffmpeg", "-nostdin", "-v", "error", "-y", "-i", clip.path, "-map", f"0:{info.video.index}",
            "-c:v", media.TRANSCODE_CODEC, *opts, "-pix_fmt", media.TRANSCODE_PIXEL_FORMAT,
            "-vf", "crop=trunc(iw/2)*2:trunc(ih/2)*2:0:0", "-flags:v", "+bitexact", "-an",
            "-fflags", "+bitexact", "-f", fmt, str(video),
        ]
        head = head + ["-i", str(video)]
        vmap = ["-map", "1:v:0"]
    amap = f"0:{info.audio.index}"
    n = _samples(plan.taus[0], sr)
    # ``first_pts=0`` pads an audio stream that starts after the timeline origin (e.g. 3 ms
    # in the webm) with silence, so sample counts below are counted from the origin, as in
    # Thud's decoded arrays
    origin = f"aresample={sr}:first_pts=0"
    if n > 0:
        shift_af = f"{origin},adelay={n}S:all=1,atrim=end={dur:.6f}"
    else:
        shift_af = f"{origin},atrim=start_sample={-n},asetpts=PTS-STARTPTS,apad,atrim=end={dur:.6f}"
    start = _samples(clip.visual_time, sr) - _samples(donor.audio_time, sr)
    place = f"adelay={start}S:all=1" if start >= 0 else f"atrim=start_sample={-start},asetpts=PTS-STARTPTS"
    swap_fc = (
        f"[1:{dinfo.audio.index}]aresample={sr}:resampler=soxr:first_pts=0"
        f"{_to_layout(_channels(dinfo), ch)},{place},apad,atrim=end={dur:.6f}[a]"
    )
    swap_head = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", clip.path, "-i", donor.path]
    swap_vmap = vmap
    if transcoded:
        swap_head, swap_vmap = swap_head + head[-2:], ["-map", "2:v:0"]
    commands.update(
        {
            "original": head + vmap + ["-map", amap] + tail + [str(out_dir / f"original{ext}")],
            "shift": head + vmap + ["-map", amap, "-af", shift_af] + tail + [str(out_dir / f"shift{ext}")],
            "mute": head + vmap + ["-map", amap, "-af", "volume=0"] + tail + [str(out_dir / f"mute{ext}")],
            "swap": swap_head
            + ["-filter_complex", swap_fc]
            + swap_vmap
            + ["-map", "[a]"]
            + tail
            + [str(out_dir / f"swap{ext}")],
        }
    )
    return commands


class Clock:
    """Wall and CPU seconds of a stretch of work.

    CPU counts this process (all its threads) and the child processes it waited for (the
    ffmpeg CLI), so it is less sensitive than wall time to other users of a shared machine.
    """

    def __enter__(self) -> Clock:
        self._wall, self._cpu = time.perf_counter(), _cpu_now()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = _cpu_now() - self._cpu


def _cpu_now() -> float:
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + c.ru_utime + c.ru_stime


#: clip_id → (wall s, cpu s) of that clip's work in one pipeline run
Laps = dict[str, tuple[float, float]]


def run_ffmpeg(
    jobs: list[Job], infos: dict[str, media.MediaInfo], out_root: Path, laps: Laps | None = None
) -> dict[str, dict[str, Path]]:
    """Materialize every clip with the ffmpeg CLI, one process per output file."""
    outputs = {}
    for job in jobs:
        with Clock() as clock:
            out = out_root / job.clip.clip_id
            out.mkdir(parents=True, exist_ok=True)
            files = {}
            for condition, cmd in ffmpeg_commands(job, infos, out).items():
                subprocess.run(cmd, check=True)
                files[condition] = Path(cmd[-1])
            outputs[job.clip.clip_id] = files
        if laps is not None:
            laps[job.clip.clip_id] = (clock.wall, clock.cpu)
    return outputs


# --------------------------------------------------------------------------- Thud and floors


def _clear_shared_encodes() -> None:
    """Forget encodes shared in this process, so every repeat starts cold."""
    from thud_dataset import materialize

    for name in ("_silence", "_silence_pattern"):
        fn = getattr(materialize, name, None)
        if fn is not None and hasattr(fn, "cache_clear"):
            fn.cache_clear()


def run_thud_materialize(
    jobs: list[Job], out: Path, laps: Laps | None = None, *, clear: bool = True
) -> dict[str, dict[str, Path]]:
    """Thud's per-clip function, clip after clip, files written to ``out``.

    ``clear``: forget the encodes shared in this process first (a cold start).
    """
    if clear:
        _clear_shared_encodes()
    result = {}
    for job in jobs:
        with Clock() as clock:
            outputs = materialize_clip(job.clip, job.plan, job.donor, out)
        result[job.clip.clip_id] = {o.condition: out / o.file_name for o in outputs.values()}  # one shift
        if laps is not None:
            laps[job.clip.clip_id] = (clock.wall, clock.cpu)
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
        shifts_per_clip=1,
    )


def run_remux_floor(jobs: list[Job], infos: dict[str, media.MediaInfo], laps: Laps | None = None) -> int:
    """Stream-copy each source's video + audio into a new file in memory, 4 times per clip
    (into Matroska where mp4 cannot take the source's video as it is)."""
    total = 0
    for job in jobs:
        info = infos[job.clip.path]
        fmt = "matroska" if info.video_transcoded else info.output_format
        with Clock() as clock:
            for _ in CONDITIONS:
                buf = io.BytesIO()
                with av.open(job.clip.path) as src, av.open(buf, "w", format=fmt) as dst:
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
        if laps is not None:
            laps[job.clip.clip_id] = (clock.wall, clock.cpu)
    return total


def condition_arrays(job: Job) -> tuple[str, int, EncodeSettings, list[np.ndarray]]:
    """The four audio arrays Thud encodes for a clip (made here, outside the timing)."""
    info = media.probe(job.clip.path)
    audio = media.decode_audio(job.clip.path, info)
    donor = media.decode_audio(job.donor.path)
    x, sr = audio.samples, audio.sample_rate
    donor_x = conform(donor.samples, donor.sample_rate, sr, x.shape[0])
    arrays = [
        x,
        shift(x, sr, job.plan.taus[0]),
        np.zeros_like(x),
        swap(donor_x, x.shape[1], sr, job.donor.audio_time, job.clip.visual_time),
    ]
    return job.clip.clip_id, sr, _settings_for(info), arrays


def run_encode_floor(arrays: list[tuple[str, int, EncodeSettings, list[np.ndarray]]], laps: Laps | None = None) -> int:
    """Only the audio encodes: every condition array of every clip, nothing else."""
    packets = 0
    for clip_id, sr, settings, xs in arrays:
        with Clock() as clock:
            for x in xs:
                rate = settings.bitrate_per_channel * x.shape[0]
                packets += len(media.encode_audio(x, sr, codec=settings.codec, bit_rate=rate).packets)
        if laps is not None:
            laps[clip_id] = (clock.wall, clock.cpu)
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


def _lag_ms(reference: np.ndarray, path: Path, sr: int) -> float:
    """Where ``reference`` sits in the decoded audio of ``path`` (ms, positive: later)."""
    out = media.decode_audio(path).samples
    # the whole length: a swap may place the donor far away
    return 1000 * measure_lag(reference, out, sr, max_lag_s=max(reference.shape[1], out.shape[1]) / sr) / sr


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
        sr = src.sample_rate
        donor = media.decode_audio(job.donor.path)
        donor_x = conform(donor.samples, donor.sample_rate, sr, src.samples.shape[0])
        # the source's packets; for a transcoded clip, each pipeline's one transcode (x264
        # builds differ between PyAV and the CLI, so the two pipelines' packets may differ)
        transcoded = media.probe(clip.path).video_transcoded
        src_video = None if transcoded else _video_packets(clip.path)
        shared = {
            "thud": _video_packets(thud[clip.clip_id]["original"]),
            "ffmpeg": _video_packets(ffmpeg[clip.clip_id]["original"]),
        }
        for condition in CONDITIONS:
            t_path, f_path = thud[clip.clip_id][condition], ffmpeg[clip.clip_id][condition]
            t_video, f_video = _video_packets(t_path), _video_packets(f_path)
            if transcoded:
                video_ok = t_video == shared["thud"] and f_video == shared["ffmpeg"]
            else:
                video_ok = t_video == src_video == f_video
            if condition == "mute":
                ok = video_ok and _peak(t_path) == 0.0 and _peak(f_path) == 0.0
                rows.append(Agreement(clip.clip_id, condition, None, None, None, video_ok, ok))
                continue
            if condition == "swap":
                ref = donor_x
                expected = _samples(clip.visual_time, sr) - _samples(job.donor.audio_time, sr)
            else:
                ref = src.samples
                expected = _samples(job.plan.taus[0], sr) if condition == "shift" else 0
            expected_ms = 1000 * expected / sr
            t_ms, f_ms = _lag_ms(ref, t_path, sr), _lag_ms(ref, f_path, sr)
            tol = 1000 * TOLERANCE_S
            ok = video_ok and abs(t_ms - expected_ms) <= tol and abs(f_ms - t_ms) <= tol
            rows.append(Agreement(clip.clip_id, condition, expected_ms, t_ms, f_ms, video_ok, ok))
    return rows


# --------------------------------------------------------------------------- main


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:+.2f}"


def machine() -> str:
    """CPU count and model, ffmpeg CLI version, PyAV and its libavcodec."""
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
    return f"{os.cpu_count()} CPUs ({cpu}); {' '.join(ff.split()[:3])}; PyAV {av.__version__} (libavcodec {libav})"


@dataclass
class Setup:
    """Everything the timed pipelines share, made before any timing."""

    jobs: list[Job]
    infos: dict[str, media.MediaInfo]
    arrays: list
    data_dir: Path
    work: Path

    @property
    def synthetic(self) -> int:
        return sum(j.clip.source == "synthetic" for j in self.jobs)


def setup(num_synthetic: int, real_dir: Path | None, seed: int, work: Path) -> Setup:
    clips = synthetic_clips(num_synthetic, seed, work)
    if real_dir is not None and real_dir.is_dir():
        clips += real_clips(real_dir)
    jobs = make_jobs(clips, seed)
    infos = {c.path: media.probe(c.path) for c in clips}
    arrays = [condition_arrays(j) for j in jobs]
    return Setup(jobs, infos, arrays, write_annotations(jobs, work / "annotations"), work)


PIPELINES = ("thud build", "thud materialize", "ffmpeg CLI", "remux floor", "encode floor")


def measure(st: Setup, repeats: int) -> tuple[dict, dict, dict]:
    """Run every pipeline ``repeats`` times, interleaved; return ``(totals, laps, outputs)``.

    Within a repeat the four per-clip pipelines take turns clip by clip (the order rotates
    from clip to clip), so a change in the machine's load hits them alike; the build, one
    piece, runs first in even repeats and last in odd ones. ``totals[name]`` is
    ``[(wall, cpu) per repeat]``, ``laps[name]`` the per-clip laps of each repeat, and
    ``outputs`` the files of the last repeat (for the equivalence check).
    """
    w = st.work
    last: dict[str, object] = {"thud": {}, "ffmpeg": {}}
    per_clip = [k for k in PIPELINES if k != "thud build"]

    def unit(name: str, i: int, r: int, lap: Laps) -> None:
        job = st.jobs[i]
        if name == "thud materialize":
            last["thud"].update(run_thud_materialize([job], w / f"thud{r}", lap, clear=False))
        elif name == "ffmpeg CLI":
            last["ffmpeg"].update(run_ffmpeg([job], st.infos, w / f"ffmpeg{r}", lap))
        elif name == "remux floor":
            run_remux_floor([job], st.infos, lap)
        else:
            run_encode_floor([st.arrays[i]], lap)

    def build(r: int) -> tuple[float, float]:
        with Clock() as clock:
            last["build"] = run_thud_build(st.data_dir, w / f"build{r}", w / f"cache{r}")
        return clock.wall, clock.cpu

    # warm-up, not timed: imports (datasets, librosa/soxr), first-call set-ups
    few = write_annotations(st.jobs[:2], w / "warm-ann")
    run_thud_build(few, w / "warm-build", w / "warm-cache")
    run_thud_materialize(st.jobs[:2], w / "warm-thud")
    run_ffmpeg(st.jobs[:2], st.infos, w / "warm-ffmpeg")

    totals: dict[str, list[tuple[float, float]]] = {k: [] for k in PIPELINES}
    laps: dict[str, list[Laps]] = {k: [] for k in PIPELINES}
    for r in range(repeats):
        built = build(r) if r % 2 == 0 else None
        _clear_shared_encodes()  # Thud's shared encodes start cold in every repeat
        lap: dict[str, Laps] = {k: {} for k in per_clip}
        for i in range(len(st.jobs)):
            k = (i + r) % len(per_clip)
            for name in per_clip[k:] + per_clip[:k]:
                unit(name, i, r, lap[name])
        built = built or build(r)
        totals["thud build"].append(built)
        laps["thud build"].append({})
        for name in per_clip:
            totals[name].append((sum(v[0] for v in lap[name].values()), sum(v[1] for v in lap[name].values())))
            laps[name].append(lap[name])
        print(f"repeat {r + 1}: " + "  ".join(f"{k} {totals[k][-1][0]:.2f}s" for k in PIPELINES), flush=True)
    return totals, laps, last


def _median_ratio(a: list[float], b: list[float]) -> float:
    """Median over repeats of b[i] / a[i] (how many times faster a is than b)."""
    return statistics.median(y / x for x, y in zip(a, b, strict=True))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--synthetic", type=int, default=24, help="synthetic clips (default 24)")
    p.add_argument("--real-dir", type=Path, default=DEFAULT_REAL_DIR, help="folder of real clips ('' for none)")
    p.add_argument("--repeats", type=int, default=5, help="interleaved repeats (default 5)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--work", type=Path, help="scratch folder (default: a temporary one)")
    p.add_argument("--json", type=Path, help="also write the numbers to this JSON file")
    args = p.parse_args(argv)
    if shutil.which("ffmpeg") is None:
        print("the ffmpeg CLI is not on PATH (Debian: apt-get install ffmpeg)", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="thud-bench-") as tmp:
        work = args.work or Path(tmp)
        real_dir = args.real_dir if str(args.real_dir) not in ("", ".") else None
        st = setup(args.synthetic, real_dir, args.seed, work)
        n, n_syn = len(st.jobs), st.synthetic
        print(f"machine: {machine()}")
        print(f"clips: {n} ({n_syn} synthetic, {n - n_syn} real); 4 output files each; "
              f"{args.repeats} interleaved repeats")
        totals, laps, last = measure(st, args.repeats)

        # the plan Thud's build used must be the plan the CLI pipeline ran
        built = {q.clip_id: (q.taus, q.donor_clip_id) for q in last["build"].plan}
        if built != {j.clip.clip_id: (j.plan.taus, j.donor.clip_id) for j in st.jobs}:
            raise SystemExit("thud build planned other offsets/donors than the bench: not the same work")

        print("\nequivalence: where the event lands (ms) in each output's decoded audio, by cross-correlation")
        print("with the source (swap: with the donor); video packets of both outputs compared with the source's")
        print(f"{'clip':<40} {'condition':<9} {'plan':>9} {'thud':>9} {'ffmpeg':>9} video   ok")
        rows = check_agreement(st.jobs, last["thud"], last["ffmpeg"])
        for a in rows:
            print(f"{a.clip_id[:40]:<40} {a.condition:<9} {_fmt(a.expected_ms):>9} {_fmt(a.thud_ms):>9} "
                  f"{_fmt(a.ffmpeg_ms):>9} {'same' if a.video_identical else 'DIFF':<6}  {'yes' if a.ok else 'NO'}")
        agree = all(a.ok for a in rows)
        worst = max((abs(a.thud_ms - a.ffmpeg_ms) for a in rows if a.thud_ms is not None), default=0.0)
        print(f"event positions agree (thud == plan, |thud - ffmpeg| <= {1000 * TOLERANCE_S:g} ms; mute: both "
              f"digital silence): {'yes' if agree else 'NO'} ({sum(a.ok for a in rows)}/{len(rows)}, "
              f"largest |thud - ffmpeg| {worst:.2f} ms)")

        wall = {k: [t[0] for t in v] for k, v in totals.items()}
        cpu = {k: [t[1] for t in v] for k, v in totals.items()}
        ff = "ffmpeg CLI"
        print(f"\n{'pipeline':<18} {'wall s':>8} {'clips/s':>8} {'vs ffmpeg':>10} {'cpu s':>8} {'vs ffmpeg (cpu)':>16}")
        for k in PIPELINES:
            mw, mc = statistics.median(wall[k]), statistics.median(cpu[k])
            print(f"{k:<18} {mw:>8.2f} {n / mw:>8.2f} {_median_ratio(wall[k], wall[ff]):>9.2f}x "
                  f"{mc:>8.2f} {_median_ratio(cpu[k], cpu[ff]):>15.2f}x")

        # per kind of clip: the per-clip laps summed (the build is one piece: not split)
        kinds = {"synthetic": [j.clip.clip_id for j in st.jobs if j.clip.source == "synthetic"],
                 "real": [j.clip.clip_id for j in st.jobs if j.clip.source != "synthetic"]}
        print(f"\nper kind (wall, per-clip laps): {'kind':<10} {'clips':>5} {'thud mat. clips/s':>18} "
              f"{'ffmpeg clips/s':>15} {'ratio':>6} {'mat./encode floor':>18}")
        per_kind = {}
        for kind, ids in kinds.items():
            if not ids:
                continue

            def tot(name: str, ids=ids) -> list[float]:
                return [sum(lap[i][0] for i in ids) for lap in laps[name]]

            t, f, e = tot("thud materialize"), tot(ff), tot("encode floor")
            per_kind[kind] = {"clips": len(ids), "thud_materialize_clips_per_s": len(ids) / statistics.median(t),
                              "ffmpeg_clips_per_s": len(ids) / statistics.median(f),
                              "ratio_vs_ffmpeg": _median_ratio(t, f), "over_encode_floor": 1 / _median_ratio(t, e)}
            print(f"{'':<31} {kind:<10} {len(ids):>5} {per_kind[kind]['thud_materialize_clips_per_s']:>18.2f} "
                  f"{per_kind[kind]['ffmpeg_clips_per_s']:>15.2f} {per_kind[kind]['ratio_vs_ffmpeg']:>5.2f}x "
                  f"{per_kind[kind]['over_encode_floor']:>17.2f}x")

        floor = "encode floor"
        build_over_floor = 1 / _median_ratio(wall["thud build"], wall[floor])
        mat_over_floor = 1 / _median_ratio(wall["thud materialize"], wall[floor])
        print(f"\nthud build / encode floor (wall): {build_over_floor:.2f}x  (cpu: "
              f"{1 / _median_ratio(cpu['thud build'], cpu[floor]):.2f}x); thud materialize / encode floor: "
              f"{mat_over_floor:.2f}x; remux floor: {_median_ratio(wall['remux floor'], wall[ff]):.1f}x faster than ffmpeg CLI")
        result = {
            "machine": machine(),
            "clips": n,
            "synthetic": n_syn,
            "repeats": args.repeats,
            "wall_s": wall,
            "cpu_s": cpu,
            "clips_per_s": {k: n / statistics.median(wall[k]) for k in PIPELINES},
            "ratio_vs_ffmpeg": _median_ratio(wall["thud build"], wall[ff]),
            "ratio_vs_ffmpeg_cpu": _median_ratio(cpu["thud build"], cpu[ff]),
            "materialize_ratio_vs_ffmpeg": _median_ratio(wall["thud materialize"], wall[ff]),
            "build_over_encode_floor": build_over_floor,
            "materialize_over_encode_floor": mat_over_floor,
            "per_kind": per_kind,
            "events_agree": agree,
        }
        if args.json:
            args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"ratio_vs_ffmpeg: {result['ratio_vs_ffmpeg']:.2f}")
        return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
