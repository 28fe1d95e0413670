"""Fault injection for ``thud build``: run it as a user would, break it, judge what is left.

Shared by ``tests/faults/`` (a few cases, fast) and ``bench/faults.py`` (many, with a
table). Every judgement reads the output folder itself, independently of the library's
own checks: each parquet file is read in full with PyArrow and compared with
``build_report.json`` (rows, bytes, SHA-256), the probe rows are compared with the
report's plan (offsets, donors, partitions: a folder mixing two builds fails here), and
the card's YAML must name exactly the written splits.

Run as a module it is ``thud`` with one fault planted::

    python -m tests.helpers.faults --kill-at first-shard build --out OUT ...

kills the process (SIGKILL, as ``kill -9``) at that point of the build.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: the build the fault tests break: small (a warm cache makes it quick), all configs get rows
BUILD_ARGS = ("--num-clips", "8")

#: where ``--kill-at`` can stop a build (in the order a build passes them)
KILL_POINTS = (
    "staging",  # the lock is held, the staging folder made; nothing built yet
    "materialized",  # every clip's media made
    "first-shard",  # one parquet file written into the staging folder
    "report",  # report and card written, not swapped in
    "linked",  # the old folder's extra content linked into the staging folder
    "swapped",  # the new folder swapped in, the old one not yet removed
    "committed",  # everything done, the process not yet exited
)


# -- running builds ---------------------------------------------------------------------------


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str
    killed: bool = False


def build_command(out: Path, cache: Path, *args: str, kill_at: str | None = None) -> list[str]:
    head = [sys.executable, "-m", "tests.helpers.faults"] + (["--kill-at", kill_at] if kill_at else [])
    return [*head, "build", "--out", str(out), "--cache-dir", str(cache), "--quiet", *args]


def start_build(out: Path, cache: Path, *args: str, kill_at: str | None = None) -> subprocess.Popen:
    env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "THUD_CACHE": str(cache)}
    return subprocess.Popen(
        build_command(out, cache, *args, kill_at=kill_at),
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen, kill_after: float | None = None, timeout: float = 600) -> Result:
    """Wait for a build; with ``kill_after`` seconds, SIGKILL it then if it still runs."""
    killed = False
    if kill_after is not None:
        try:
            proc.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            killed = True
    out, err = proc.communicate(timeout=timeout)
    return Result(proc.returncode, out, err, killed)


def run_build(out: Path, cache: Path, *args: str, kill_at: str | None = None, kill_after: float | None = None) -> Result:
    return finish(start_build(out, cache, *args, kill_at=kill_at), kill_after)


# -- looking at folders -----------------------------------------------------------------------


def tree_digest(folder: Path) -> dict[str, str] | None:
    """``{relative path: sha256}`` of every file under ``folder`` (None when it is missing)."""
    if not folder.is_dir():
        return None
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def leftovers(out: Path) -> list[str]:
    """What a build left beside ``out`` besides its lock file."""
    return sorted(p.name for p in out.parent.glob(f".{out.name}.thud-*") if not p.name.endswith(".thud-lock"))


def _front_matter(readme: Path) -> dict:
    import yaml

    text = readme.read_text(encoding="utf-8")
    return yaml.safe_load(text.split("---", 2)[1]) if text.startswith("---") else {}


def check_folder(folder: Path) -> list[str]:
    """Everything inconsistent in a build folder, read independently of the library."""
    import pyarrow.parquet as pq

    try:
        report = json.loads((folder / "build_report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"build_report.json: {exc}"]
    problems = []
    if "thud_build" not in report:
        problems.append("build_report.json: no thud_build mark")
    listed = {f["path"]: f for f in report.get("files", [])}
    on_disk = {p.relative_to(folder).as_posix() for p in (folder / "data").rglob("*.parquet")}
    if set(listed) != on_disk:
        problems.append(f"parquet files on disk {sorted(on_disk)} != listed {sorted(listed)}")
    plan = {p["clip_id"]: p for p in report.get("plan", [])}
    rows: dict[str, dict[str, int]] = {}
    for rel, f in listed.items():
        path = folder / rel
        try:
            data = path.read_bytes()
            table = pq.read_table(path)
        except Exception as exc:  # unreadable: corrupted
            problems.append(f"{rel}: unreadable ({type(exc).__name__}: {exc})")
            continue
        if hashlib.sha256(data).hexdigest() != f["sha256"] or len(data) != f["num_bytes"]:
            problems.append(f"{rel}: bytes differ from the report")
        if table.num_rows != f["num_rows"]:
            problems.append(f"{rel}: {table.num_rows} rows, the report says {f['num_rows']}")
        rows.setdefault(f["config"], {})[f["split"]] = rows.get(f["config"], {}).get(f["split"], 0) + table.num_rows
        if f["config"] in ("probes", "preferences"):
            cols = table.select(["clip_id", "condition", "offset_s", "donor_clip_id", "partition"]).to_pylist()
            for r in cols:
                p = plan.get(r["clip_id"])
                if p is None:
                    problems.append(f"{rel}: clip {r['clip_id']} is not in the report's plan")
                elif r["partition"] != p["partition"] or (r["condition"] == "shift" and r["offset_s"] not in p["taus"]) or (
                    r["condition"] == "swap" and r["donor_clip_id"] != p["donor_clip_id"]
                ):
                    problems.append(f"{rel}: clip {r['clip_id']} does not follow the report's plan")
                    break
    written = {c: {s: n for s, n in splits.items() if n} for c, splits in report.get("rows", {}).items()}
    written = {c: s for c, s in written.items() if s}
    if rows != written:
        problems.append(f"rows read {rows} != report {written}")
    try:
        named = {c["config_name"]: sorted(d["split"] for d in c["data_files"]) for c in _front_matter(folder / "README.md")["configs"]}
    except (OSError, KeyError, TypeError, ValueError) as exc:
        problems.append(f"README.md: {exc}")
    else:
        if named != {c: sorted(s) for c, s in written.items()}:
            problems.append(f"the card names {named}, the report wrote {written}")
    return problems


@dataclass
class Verdict:
    """What a fault left: ``previous`` (byte-identical), ``new`` (complete and consistent),
    ``absent`` (nothing was there and nothing is), ``lost`` or ``corrupted``."""

    state: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.state in ("previous", "new", "absent")


def judge(out: Path, before: dict[str, str] | None, extras: dict[str, str] | None = None) -> Verdict:
    """Compare ``out`` with its digest ``before`` the fault; ``extras`` (files the user kept in
    the folder, ``{path: sha256}``) must survive whatever happened."""
    after = tree_digest(out)
    if after is None:
        return Verdict("absent") if before is None else Verdict("lost", ["the output folder is gone"])
    if before is not None and after == before:
        return Verdict("previous")
    problems = check_folder(out)
    missing = [p for p, h in (extras or {}).items() if after.get(p) != h]
    if missing:
        return Verdict("lost", [f"kept files lost or changed: {missing}"] + problems)
    return Verdict("new") if not problems else Verdict("corrupted", problems)


# -- small filesystems ------------------------------------------------------------------------


class NoSmallFilesystem(RuntimeError):
    """This machine does not let us mount a small filesystem (not root, a sandbox…)."""


@contextmanager
def small_filesystem(path: Path, size_bytes: int):
    """A tmpfs of ``size_bytes`` mounted at ``path`` for the ``with`` block."""
    path.mkdir(parents=True, exist_ok=True)
    if not shutil.which("mount"):
        raise NoSmallFilesystem("no mount command")
    size = max(4096, size_bytes // 4096 * 4096)
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, text=True)
    if res.returncode != 0:
        raise NoSmallFilesystem((res.stderr or res.stdout).strip() or f"mount exited {res.returncode}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


# -- damaged inputs ---------------------------------------------------------------------------


def truncate_after_index(src: Path, dst: Path, keep_seconds: float, duration: float) -> Path:
    """An mp4 cut short with its index (``moov`` at the front) intact: the header keeps the
    full duration, the streams end after about ``keep_seconds``."""
    data = src.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat"), f"{src}: the index is not at the front"
    start = data.find(b"mdat")
    dst.write_bytes(data[: start + int((len(data) - start) * keep_seconds / duration)])
    return dst


def dtsless_mkv(path: Path, *, seconds: float = 3.0, event_s: float = 1.2, fps: int = 25, sample_rate: int = 44100) -> Path:
    """A Matroska file with H.264 B-frames (what OBS and many recorders write): Matroska
    stores no DTS, so the demuxer hands out packets without one. The audio is quiet noise
    with one loud burst at ``event_s``; the picture a bar that grows."""
    import av
    import numpy as np

    with av.open(str(path), "w", format="matroska") as out:
        v = out.add_stream("libx264", rate=fps, options={"bf": "2", "g": "12", "preset": "ultrafast"})
        v.width, v.height, v.pix_fmt = 160, 120, "yuv420p"
        a = out.add_stream("aac", rate=sample_rate)
        a.layout = "mono"
        n = int(seconds * fps)
        for i in range(n):
            img = np.zeros((120, 160, 3), np.uint8)
            img[:, : (i * 160) // n] = 200
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            for p in v.encode(frame):
                out.mux(p)
        for p in v.encode():
            out.mux(p)
        x = np.random.default_rng(0).normal(0, 0.003, int(seconds * sample_rate)).astype(np.float32)
        k = int(event_s * sample_rate)
        x[k : k + 2000] += np.hanning(2000).astype(np.float32) * 0.8
        for s in range(0, len(x), 1024):
            frame = av.AudioFrame.from_ndarray(x[None, s : s + 1024], format="fltp", layout="mono")
            frame.sample_rate, frame.pts = sample_rate, s
            for p in a.encode(frame):
                out.mux(p)
        for p in a.encode():
            out.mux(p)
    return path


#: ways to damage a media cache: ``{name: (folder, glob, damage(bytes) -> bytes)}``
CACHE_DAMAGE = {
    "truncated object": ("objects", "*", lambda b: b[: len(b) // 3]),
    "flipped object": ("objects", "*", lambda b: b[:-200] + bytes(200)),
    "half-written index": ("index", "*.json", lambda b: b[:20]),
    "half-written scan": ("scan", "*.json", lambda b: b[:20]),
    "truncated render": ("synthetic", "*.mp4", lambda b: b[:5000]),
}


def damage_cache(cache: Path, kind: str) -> list[Path]:
    """Damage every third entry of one kind (:data:`CACHE_DAMAGE`); return the entries."""
    folder, pattern, damage = CACHE_DAMAGE[kind]
    damaged = sorted((cache / folder).rglob(pattern))[::3]
    for entry in damaged:
        entry.write_bytes(damage(entry.read_bytes()))
    return damaged


def synthetic_corpus(folder: Path, extra_rows: list[dict], n: int = 2) -> Path:
    """A local-source folder: ``n`` rendered synthetic clips (test partition, ``s0.mp4``…)
    plus ``extra_rows`` (whose files the caller puts there)."""
    from tests.helpers.media import write_jsonl
    from thud_dataset.sources.synthetic import render_clip

    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        c = render_clip(i, 0, folder / f"s{i}.mp4")
        rows.append({"file": f"s{i}.mp4", "visual_event": c.visual_event, "visual_time": c.visual_time,
                     "audio_event": c.audio_event, "audio_time": c.audio_time, "category": c.category, "split": "test"})
    write_jsonl(folder / "annotations.jsonl", rows + extra_rows)
    return folder


#: the extra rows of the damaged-source corpora (:func:`damaged_sources`)
DTSLESS_ROW = {"file": "obs.mkv", "clip_id": "obs", "visual_event": "the bar fills", "visual_time": 1.2,
               "audio_event": "a burst", "audio_time": 1.2, "category": "burst", "split": "test"}
TRUNCATED_ROWS = [
    # the header says 17.4 s; the streams end near 4.6 s
    {"file": "cut.mp4", "clip_id": "cut_early", "visual_event": "hikers", "visual_time": 4.0,
     "audio_event": "voices", "audio_time": 4.0, "category": "speech", "split": "test"},
    {"file": "cut.mp4", "clip_id": "cut_late", "visual_event": "hikers", "visual_time": 10.0,
     "audio_event": "voices", "audio_time": 10.0, "category": "speech", "split": "test"},
]


def damaged_sources(folder: Path, kind: str, real_clips: Path) -> Path:
    """A corpus with one damaged source: ``"dtsless"`` (Matroska, B-frames, no DTS) or
    ``"truncated"`` (an mp4 cut after its index; two rows on it)."""
    from tests.helpers.media import MP4_LONG

    if kind == "dtsless":
        synthetic_corpus(folder, [DTSLESS_ROW])
        dtsless_mkv(folder / "obs.mkv")
    else:
        synthetic_corpus(folder, TRUNCATED_ROWS)
        truncate_after_index(real_clips / MP4_LONG, folder / "cut.mp4", keep_seconds=4.6, duration=17.4)
    return folder


def crash_on(item):
    """For the worker-crash test: a process that dies (as a segfault would) on ``"crash"``."""
    if item == "crash":
        os._exit(139)
    return item * 2


# -- the planted kills (python -m tests.helpers.faults --kill-at POINT build ...) --------------


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(60)  # never reached


def _after(module, name: str) -> None:
    original = getattr(module, name)

    def wrapper(*args, **kwargs):
        result = original(*args, **kwargs)
        _die()
        return result

    setattr(module, name, wrapper)


def plant_kill(point: str) -> None:
    """Make this process SIGKILL itself at ``point`` (one of :data:`KILL_POINTS`)."""
    from thud_dataset.hub import layout, output

    if point == "staging":
        original = output.OutputTransaction.__enter__

        def enter(self):
            original(self)
            _die()

        output.OutputTransaction.__enter__ = enter
    elif point == "materialized":
        _after(layout, "materialize_all")
    elif point == "first-shard":
        _after(layout, "write_shard")
    elif point == "report":
        _after(layout, "_write_report_and_card")
    elif point == "linked":
        # the first directory flush of the commit comes right after the extras are linked
        original_fsync = output.fsync_path
        output.fsync_path = lambda path: _die() if path.name.startswith(".") else original_fsync(path)
    elif point == "swapped":
        original_exchange, original_rename = output._exchange, output.os.rename

        def exchange(a, b):
            done = original_exchange(a, b)
            if done:
                _die()
            return done

        output._exchange = exchange

        class _Os:  # a fresh build swaps in with a rename
            def __getattr__(self, name):
                return getattr(os, name)

            @staticmethod
            def rename(a, b):
                original_rename(a, b)
                if ".thud-staging-" in str(a):
                    _die()

        output.os = _Os()
    elif point == "committed":
        _after(output.OutputTransaction, "commit")
    else:
        raise SystemExit(f"unknown kill point {point!r}; one of {KILL_POINTS}")


def main(argv: list[str]) -> int:
    if argv[:1] == ["--kill-at"]:
        plant_kill(argv[1])
        argv = argv[2:]
    from thud_cli.main import main as thud

    return thud(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
