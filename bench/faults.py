"""Fault injection, the long version: break many builds and check that none loses data.

Each fault is planted in a real ``thud build`` run as a subprocess (as a user runs it):

* ``kill -9`` at random moments and at every planted stage, of a fresh build and of a
  rebuild over a previous build that holds a user's ``predictions/`` file;
* two builds into one folder at once, each trial with a fresh media cache;
* a full disk (a tmpfs mount with room for 70 % of the new build) and a disk far too
  small, and a read-only destination (skipped, with the reason, where mounting is not
  allowed);
* damaged cache entries (truncated and flipped media objects, half-written index and scan
  JSON, a truncated synthetic render);
* damaged sources (a Matroska file without DTS, an mp4 cut short after its index).

After each fault the output folder must be the previous build byte for byte, a complete
new build (every parquet read in full and compared with ``build_report.json``; the probe
rows compared with the report's plan), or absent when nothing was there; a user's files
kept in the folder must survive; and the exit code must be the documented one. The
judgement is :func:`tests.helpers.faults.judge`, the one the fast suite (``tests/faults``)
uses. The last line::

    faults: N injected, L lost, C corrupted

    python bench/faults.py                        # >= 20 kills each way, 20 concurrent trials
    python bench/faults.py --kills 5 --concurrent 3   # quicker
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.helpers.faults import (  # noqa: E402
    CACHE_DAMAGE,
    KILL_POINTS,
    NoSmallFilesystem,
    damage_cache,
    damaged_sources,
    finish,
    folder_bytes,
    judge,
    leftovers,
    run_build,
    small_filesystem,
    start_build,
    tree_digest,
)

LOCKED = 75


@dataclass
class Row:
    """One kind of fault: how many were planted and what they left."""

    fault: str
    states: Counter = field(default_factory=Counter)
    bad_exit: int = 0
    #: a build after the fault that did not come out complete (it must clear what the dead one left)
    bad_recovery: int = 0
    notes: list[str] = field(default_factory=list)

    def add(self, state: str, exit_ok: bool, note: str = "") -> None:
        self.states[state] += 1
        self.bad_exit += not exit_ok
        if note and len(self.notes) < 5:
            self.notes.append(note)

    @property
    def injected(self) -> int:
        return sum(self.states.values())


class Bench:
    def __init__(self, work: Path, clips: int) -> None:
        self.work = work
        self.args = ("--num-clips", str(clips))
        self.cache = work / "cache"
        self.rows: list[Row] = []
        self.skipped: list[str] = []

    def row(self, name: str) -> Row:
        self.rows.append(Row(name))
        return self.rows[-1]

    def fresh(self, name: str) -> Path:
        path = self.work / name
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path / "thud"

    def previous(self, name: str) -> tuple[Path, dict, dict]:
        """A complete build (seed 0) with a user's file in it: ``(out, digest, extras)``."""
        out = self.fresh(name)
        res = run_build(out, self.cache, *self.args, "--seed", "0")
        assert res.returncode == 0, res.stderr
        (out / "predictions").mkdir()
        (out / "predictions" / "mine.jsonl").write_text('{"probe_id": "x", "answer": "A"}\n')
        before = tree_digest(out)
        return out, before, {p: h for p, h in before.items() if p.startswith("predictions/")}

    # -- kill -9 ------------------------------------------------------------------------------

    def kills(self, n: int, over_previous: bool, rng: random.Random) -> None:
        row = self.row(f"kill -9, {'over a previous build' if over_previous else 'fresh build'}")
        t0 = time.perf_counter()
        probe = self.fresh("timing")
        assert run_build(probe, self.cache, *self.args, "--seed", "1").returncode == 0
        span = time.perf_counter() - t0
        plans = [("at", p) for p in KILL_POINTS] + [("after", rng.uniform(0.2, span * 1.1)) for _ in range(n)]
        for i, (how, when) in enumerate(plans):
            if over_previous:
                out, before, extras = self.previous("kill")
            else:
                out, before, extras = self.fresh("kill"), None, {}
            seed = str(1 + i % 5)
            if how == "at":
                res = run_build(out, self.cache, *self.args, "--seed", seed, kill_at=when)
            else:
                res = run_build(out, self.cache, *self.args, "--seed", seed, kill_after=when)
            verdict = judge(out, before, extras)
            exit_ok = (res.returncode == -9) if (how == "at" or res.killed) else (res.returncode == 0 and verdict.state == "new")
            row.add(verdict.state, exit_ok, f"{how} {when}: {verdict.problems or res.stderr[-300:]}" if not (verdict.ok and exit_ok) else "")
            # the next build must clear what the dead one left, keep the user's file, and succeed
            again = run_build(out, self.cache, *self.args, "--seed", "6")
            after = judge(out, before, extras)
            if again.returncode != 0 or after.state != "new" or leftovers(out):
                row.bad_recovery += 1
                row.notes.append(f"rebuild after {how} {when}: {again.returncode} {after.problems} {leftovers(out)}")

    # -- two builds at once --------------------------------------------------------------------

    def concurrent(self, n: int) -> None:
        row = self.row("two builds into one folder")
        exits: Counter = Counter()
        for i in range(n):
            out = self.fresh("concurrent")
            cache = self.work / "concurrent-cache"
            shutil.rmtree(cache, ignore_errors=True)
            a = start_build(out, cache, *self.args, "--seed", "1")
            b = start_build(out, cache, *self.args, "--seed", "2")
            ra, rb = finish(a), finish(b)
            codes = sorted([ra.returncode, rb.returncode])
            verdict = judge(out, None)
            seed = json.loads((out / "build_report.json").read_text())["settings"]["seed"] if verdict.state == "new" else None
            winners = {s for s, r in ((1, ra), (2, rb)) if r.returncode == 0}
            exit_ok = codes in ([0, LOCKED], [0, 0]) and seed in winners
            row.add(verdict.state, exit_ok, f"trial {i}: exits {codes}, seed {seed}: {verdict.problems}" if not (verdict.ok and exit_ok) else "")
            exits[f"{codes[0]}/{codes[1]}"] += 1
        row.notes.append("exit codes (0 built, 75 the other build held the lock): " + ", ".join(f"{k}: {v}x" for k, v in sorted(exits.items())))

    # -- disks ------------------------------------------------------------------------------

    def disks(self) -> None:
        row = self.row("full / read-only disk")
        out, before, extras = self.previous("disk-src")
        size = folder_bytes(out)
        try:
            with small_filesystem(self.work / "mnt-full", int(size * 1.7)) as mnt:
                target = mnt / "thud"
                shutil.copytree(out, target)
                res = run_build(target, self.cache, *self.args, "--seed", "1")
                verdict = judge(target, tree_digest(out), extras)
                ok = res.returncode == 1 and "no space left" in res.stderr and "Traceback" not in res.stderr
                row.add(verdict.state, ok and not leftovers(target), f"full: {res.returncode} {res.stderr.strip()[-200:]}")
            with small_filesystem(self.work / "mnt-tiny", 64 * 1024) as mnt:
                res = run_build(mnt / "thud", self.work / "tiny-cache", *self.args)
                verdict = judge(mnt / "thud", None)
                ok = res.returncode == 1 and "not enough space" in res.stderr and not (self.work / "tiny-cache" / "objects").exists()
                row.add(verdict.state, ok, f"tiny: {res.returncode} {res.stderr.strip()[-200:]}")
            with small_filesystem(self.work / "mnt-ro", int(size * 1.5)) as mnt:
                target = mnt / "thud"
                shutil.copytree(out, target)
                if subprocess.run(["mount", "-o", "remount,ro", str(mnt)], capture_output=True).returncode == 0:
                    res = run_build(target, self.work / "ro-cache", *self.args, "--seed", "1")
                    verdict = judge(target, tree_digest(out), extras)
                    ok = res.returncode == 2 and "Read-only" in res.stderr and not (self.work / "ro-cache" / "objects").exists()
                    row.add(verdict.state, ok, f"read-only: {res.returncode} {res.stderr.strip()[-200:]}")
                else:
                    self.skipped.append("read-only disk: cannot remount read-only here")
        except NoSmallFilesystem as exc:
            self.skipped.append(f"disks: cannot mount a small filesystem here ({exc})")

    # -- damaged cache and sources ----------------------------------------------------------

    def cache_damage(self) -> None:
        row = self.row("damaged cache entries")
        root = self.work / "cache-damage"
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir()
        ref = run_build(root / "ref", root / "cache", *self.args)
        assert ref.returncode == 0, ref.stderr
        want = json.loads((root / "ref" / "build_report.json").read_text())
        shutil.copytree(root / "cache", root / "pristine")
        for kind in CACHE_DAMAGE:
            shutil.rmtree(root / "cache")
            shutil.copytree(root / "pristine", root / "cache")
            damage_cache(root / "cache", kind)
            out = root / f"out-{kind.replace(' ', '-')}"
            res = run_build(out, root / "cache", *self.args)
            verdict = judge(out, None)
            got = json.loads((out / "build_report.json").read_text()) if verdict.state == "new" else {}
            same = got.get("files") == want["files"] and got.get("skipped") == want["skipped"]
            row.add(verdict.state, res.returncode == 0, f"{kind}: {'same bytes as the clean build' if same else 'built, differs from the clean build (entry not rebuilt)'}")

    def source_damage(self) -> None:
        row = self.row("damaged sources")
        for kind in ("dtsless", "truncated"):
            root = self.work / f"source-{kind}"
            shutil.rmtree(root, ignore_errors=True)
            folder = damaged_sources(root / "corpus", kind, REPO / "tests" / "data" / "real")
            out = root / "thud"
            res = run_build(out, self.cache, "--source", "local", "--data-dir", str(folder), "--configs", "probes,clips")
            verdict = judge(out, None)
            report = json.loads((out / "build_report.json").read_text()) if verdict.state == "new" else {}
            skipped = {s["clip_id"]: s["reason"][:80] for s in report.get("skipped", [])}
            row.add(verdict.state, res.returncode == 0 and "Traceback" not in res.stderr, f"{kind}: skipped {skipped or 'none'}")

    # -- the table ---------------------------------------------------------------------------

    def table(self) -> tuple[str, int, int, int]:
        """The table, and the counts of faults injected, lost and corrupted outcomes (a
        build that could not recover after a fault counts as corrupted)."""
        head = f"{'fault':<36} {'n':>4} {'previous':>9} {'new':>5} {'absent':>7} {'lost':>5} {'corrupt':>8} {'bad exit':>9} {'no recovery':>12}"
        lines = [head]
        for r in self.rows:
            s = r.states
            lines.append(
                f"{r.fault:<36} {r.injected:>4} {s['previous']:>9} {s['new']:>5} {s['absent']:>7} "
                f"{s['lost']:>5} {s['corrupted']:>8} {r.bad_exit:>9} {r.bad_recovery:>12}"
            )
        lines += [f"  {r.fault}: {note}" for r in self.rows for note in r.notes if note]
        lines += [f"  skipped: {s}" for s in self.skipped]
        total = sum(r.injected for r in self.rows)
        lost = sum(r.states["lost"] for r in self.rows)
        corrupted = sum(r.states["corrupted"] + r.bad_recovery for r in self.rows)
        return "\n".join(lines), total, lost, corrupted


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=20, help="random kill moments per kind (fresh, over a previous build); every planted stage comes on top")
    ap.add_argument("--concurrent", type=int, default=20, help="trials of two builds at once")
    ap.add_argument("--clips", type=int, default=8, help="synthetic clips per build")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random kill moments")
    ap.add_argument("--work", help="scratch folder (default: a temporary one, removed)")
    ap.add_argument("--json", help="write the counts here")
    args = ap.parse_args(argv)

    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="thud-faults-"))
    bench = Bench(work, args.clips)
    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    try:
        bench.kills(args.kills, over_previous=False, rng=rng)
        bench.kills(args.kills, over_previous=True, rng=rng)
        bench.concurrent(args.concurrent)
        bench.disks()
        bench.cache_damage()
        bench.source_damage()
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    text, total, lost, corrupted = bench.table()
    bad_exit = sum(r.bad_exit for r in bench.rows)
    print(text)
    print(f"({time.perf_counter() - t0:.0f} s; wrong exit codes: {bad_exit})")
    if args.json:
        Path(args.json).write_text(json.dumps({r.fault: {**r.states, "bad_exit": r.bad_exit} for r in bench.rows}, indent=2))
    print(f"faults: {total} injected, {lost} lost, {corrupted} corrupted")
    return 0 if not (lost or corrupted or bad_exit) else 1


if __name__ == "__main__":
    sys.exit(main())
