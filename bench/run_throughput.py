"""Benchmark: ``thud run`` against a serving engine, serially and with N requests in flight.

A real OpenAI-compatible HTTP server runs in a subprocess (real sockets, ``http.server``)
and behaves like a serving engine whose batch is never full: it holds every request for a
fixed latency ``L`` and serves at most ``C`` requests at once (more wait their turn), so its
throughput bound at concurrency ``N`` is ``min(N, C) / L`` requests per second. It answers
each probe with the **signal baseline's** answer for that probe (looked up by the video's
bytes and the prompt, computed beforehand with ``thud run --model signal``), so every run's
predictions must equal the baseline's, whatever order the answers come back in.

``thud run`` (the real command, one process per run) answers a build of >= 200 probes
serially (``--concurrency 1``) and with ``--concurrency`` 4, 16 and 64. Printed per run:
probes/s of the answering step (what the run itself reports), probes/s as the server saw
them (first arrival to last answer), probes/s over the whole command (start-up and dataset
loading included), the capacity bound, and the fraction of the bound reached. Then every
run's predictions are checked to be identical (and equal to the signal baseline's).

A second table: the transformers adapter on the tiny random-weight Qwen2.5-Omni thinker
(:mod:`thud_train.tiny`, built from a config, nothing downloaded), ``--batch-size`` 1 vs 8,
on the CPU in fp32 with one torch thread (``OMP_NUM_THREADS=1``), the answers checked
identical. Both sizes prepare probes ahead of the model in worker threads, so the table
isolates batching; on a CPU the tiny model is bound by that preparation (decoding and the
processor), which batching does not shrink.

The last line is ``ratio_vs_serial: X``: probes/s at ``--concurrency 16`` over probes/s
serially (goal >= 14, i.e. >= 0.9 of the bound's ratio of 16).

Run from the repository root::

    python bench/run_throughput.py                      # 48 clips (216 probes), L = 0.2 s, C = 64
    python bench/run_throughput.py --clips 36 --no-tiny # quicker
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


# -- the server (runs in its own process: python bench/run_throughput.py --serve ...) ---------


def replay_key(video: bytes, prompt: str) -> str:
    """How the server finds a probe's answer: its video's bytes and its prompt."""
    return hashlib.sha256(video).hexdigest() + ":" + hashlib.sha256(prompt.encode()).hexdigest()


def _request_key(body: dict) -> str:
    video, prompt = b"", ""
    for message in body["messages"]:
        content = message["content"]
        for part in content if isinstance(content, list) else [{"type": "text", "text": content}]:
            if part["type"] == "video_url":
                video = base64.b64decode(part["video_url"]["url"].split(";base64,", 1)[1])
            elif part["type"] == "text":
                prompt = part["text"]
    return replay_key(video, prompt)


def serve(table_path: Path, latency: float, capacity: int, ready_file: Path) -> None:
    """Serve until killed; writes ``host:port`` to ``ready_file`` once listening."""
    table = json.loads(table_path.read_text())
    slots = threading.BoundedSemaphore(capacity)
    lock = threading.Lock()
    stats = {"requests": 0, "unknown": 0, "in_flight": 0, "max_in_flight": 0, "first": None, "last": None}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _send(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # /stats
            with lock:
                self._send(200, dict(stats))

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.path == "/reset":
                with lock:
                    stats.update(requests=0, unknown=0, max_in_flight=0, first=None, last=None)
                self._send(200, {})
                return
            arrived = time.monotonic()
            answer = table.get(_request_key(json.loads(body)))
            with slots:  # at most `capacity` requests served at once; the rest queue here
                with lock:
                    stats["in_flight"] += 1
                    stats["max_in_flight"] = max(stats["max_in_flight"], stats["in_flight"])
                time.sleep(latency)
                with lock:
                    stats["in_flight"] -= 1
                    stats["requests"] += 1
                    stats["unknown"] += answer is None
                    stats["first"] = arrived if stats["first"] is None else min(stats["first"], arrived)
                    stats["last"] = time.monotonic()
            self._send(
                200,
                {
                    "object": "chat.completion",
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": answer or "unknown"}}
                    ],
                },
            )

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 1024  # a burst of connections is queued, never refused

    httpd = Server(("127.0.0.1", 0), Handler)
    host, port = httpd.server_address[:2]
    ready_file.write_text(f"{host}:{port}")
    httpd.serve_forever(poll_interval=0.05)


class ServerProcess:
    def __init__(self, table: Path, latency: float, capacity: int, work: Path):
        ready = work / "server.ready"
        ready.unlink(missing_ok=True)
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(table), "--latency", str(latency),
             "--capacity", str(capacity), "--ready-file", str(ready)],
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while not ready.exists() or not ready.read_text():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("the replay server did not start")
            time.sleep(0.05)
        self.url = f"http://{ready.read_text()}"

    def call(self, method: str, path: str) -> dict:
        import urllib.request

        req = urllib.request.Request(self.url + path, data=b"{}" if method == "POST" else None, method=method)
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


# -- the benchmark -------------------------------------------------------------------------


def thud_run(args: list[str], env: dict) -> tuple[float, float, str]:
    """Run ``thud run ARGS`` as its own process: (wall s, answering probes/s, output)."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "thud_cli.main", "run", *args, "--no-progress"],
        env=env, capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"thud run {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    m = re.search(r"answering: ([0-9.]+) probes/s", proc.stdout)
    if not m:
        raise RuntimeError(f"no answering rate in the output of thud run:\n{proc.stdout}")
    return wall, float(m.group(1)), proc.stdout


def answers_of(path: Path) -> dict[str, str | None]:
    from thud_metrics.predictions import read_predictions

    ps = read_predictions(path)
    if ps.errors:
        raise RuntimeError(f"{path}: {len(ps.errors)} probes failed, first: {next(iter(ps.errors.values()))}")
    return dict(ps.answers)


def build_dataset(out: Path, clips: int, cache: Path) -> int:
    from datasets import load_dataset

    from thud_dataset import build
    from thud_dataset.vocab import CONDITIONS

    if not (out / "README.md").exists():
        build(out, num_clips=clips, seed=0, test_fraction=0.75, media_cache_dir=str(cache / "media"), progress=False)
    return sum(len(load_dataset(str(out), "probes", split=s)) for s in CONDITIONS)


def replay_table(dataset: Path, predictions: Path) -> dict[str, str]:
    """``replay_key(video, prompt) -> answer`` from a run's predictions file."""
    from datasets import load_dataset

    from thud_dataset.vocab import CONDITIONS

    answers = answers_of(predictions)
    table = {}
    for split in CONDITIONS:
        for row in load_dataset(str(dataset), "probes", split=split):
            table[replay_key(row["video"]["bytes"], row["prompt"])] = answers[row["probe_id"]]
    return table


def http_table(args, work: Path, env: dict, n_probes: int) -> tuple[list[dict], float]:
    signal_file = work / "signal.jsonl"
    if not signal_file.exists():
        print(f"answering {n_probes} probes with the signal baseline (the server's answers) ...", flush=True)
        thud_run(["--model", "signal", "--dataset", str(work / "thud"), "--out", str(signal_file), "--no-check-audio"], env)
    table_file = work / "replay.json"
    table_file.write_text(json.dumps(replay_table(work / "thud", signal_file)))
    reference = answers_of(signal_file)

    server = ServerProcess(table_file, args.latency, args.capacity, work)
    rows = []
    try:
        for n in args.concurrency:
            out = work / f"http-c{n}.jsonl"
            out.unlink(missing_ok=True)
            server.call("POST", "/reset")
            wall, rate, _ = thud_run(
                ["--model", "openai:signal-replay", "--base-url", server.url + "/v1", "--concurrency", str(n),
                 "--dataset", str(work / "thud"), "--out", str(out), "--no-check-audio"],
                env,
            )  # fmt: skip
            stats = server.call("GET", "/stats")
            if stats["unknown"]:
                raise RuntimeError(f"the server got {stats['unknown']} requests it has no answer for")
            got = answers_of(out)
            if got != reference:
                bad = sum(got.get(k) != v for k, v in reference.items())
                raise RuntimeError(f"--concurrency {n}: {bad} answers differ from the signal baseline's")
            bound = min(n, args.capacity) / args.latency
            served = stats["requests"] / (stats["last"] - stats["first"])
            rows.append(
                {
                    "concurrency": n,
                    "probes": len(got),
                    "probes_per_s": rate,
                    "server_probes_per_s": served,
                    "command_probes_per_s": len(got) / wall,
                    "bound_probes_per_s": bound,
                    "of_bound": rate / bound,
                    "max_in_flight": stats["max_in_flight"],
                    "wall_s": wall,
                }
            )
            print(f"  --concurrency {n}: {rate:.1f} probes/s (bound {bound:.1f})", flush=True)
    finally:
        server.stop()
    serial = next(r for r in rows if r["concurrency"] == 1)["probes_per_s"]
    for r in rows:
        r["vs_serial"] = r["probes_per_s"] / serial
    return rows, serial


def tiny_table(args, work: Path, env: dict) -> list[dict]:
    from thud_train.tiny import save_tiny_omni

    model = work / "tiny-omni"
    if not (model / "config.json").exists():
        save_tiny_omni(str(model), seed=0)
    rows, answers = [], {}
    # the tiny model is launch-bound: one intra-op thread is its fastest setting at every
    # batch size (several spin against each other on a small shared machine)
    env = {**env, "OMP_NUM_THREADS": "1"}
    for b in args.batch_size:
        out = work / f"tiny-b{b}.jsonl"
        out.unlink(missing_ok=True)
        wall, rate, _ = thud_run(
            ["--model", f"transformers:{model}", "--device", "cpu", "--dtype", "float32", "--batch-size", str(b),
             "--max-new-tokens", "8", "--dataset", str(work / "thud"), "--out", str(out), "--no-check-audio",
             "--limit", str(args.tiny_probes)],
            env,
        )  # fmt: skip
        answers[b] = answers_of(out)
        rows.append({"batch_size": b, "probes": len(answers[b]), "probes_per_s": rate, "wall_s": wall})
        print(f"  --batch-size {b}: {rate:.2f} probes/s", flush=True)
    first = answers[args.batch_size[0]]
    for b, got in answers.items():
        if got != first:
            bad = sum(got.get(k) != v for k, v in first.items())
            raise RuntimeError(f"--batch-size {b}: {bad} answers differ from --batch-size {args.batch_size[0]}")
    for r in rows:
        r["vs_batch_1"] = r["probes_per_s"] / rows[0]["probes_per_s"]
    return rows


def machine() -> str:
    return f"{os.cpu_count()} CPUs, {platform.machine()}, Python {platform.python_version()}, {platform.platform()}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clips", type=int, default=48, help="synthetic clips to build (3/4 are test clips, 6 probes each)")
    p.add_argument("--latency", type=float, default=0.2, help="seconds the server holds each request (L)")
    p.add_argument("--capacity", type=int, default=64, help="requests the server serves at once (C)")
    p.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16, 64])
    p.add_argument("--batch-size", type=int, nargs="+", default=[1, 8], help="tiny-model batch sizes")
    p.add_argument("--tiny-probes", type=int, default=48, help="probes answered by the tiny model per batch size")
    p.add_argument("--no-tiny", action="store_true", help="skip the transformers table")
    p.add_argument("--work", help="keep the build, the answers and the predictions here")
    p.add_argument("--json", help="write the numbers here")
    p.add_argument("--serve", help=argparse.SUPPRESS)  # the server process: its replay table
    p.add_argument("--ready-file", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve:
        serve(Path(args.serve), args.latency, args.capacity, Path(args.ready_file))
        return 0
    if 1 not in args.concurrency or 16 not in args.concurrency:
        p.error("--concurrency must include 1 (the serial run) and 16 (the ratio)")

    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="thud-run-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "THUD_CACHE": str(work / "cache"), "PYTHONPATH": str(ROOT)}
    try:
        n_probes = build_dataset(work / "thud", args.clips, work / "cache")
        if n_probes < 200:
            print(f"warning: {n_probes} probes (< 200); raise --clips", file=sys.stderr)
        print(f"machine: {machine()}\nbuild: {n_probes} probes ({args.clips} clips) in {work / 'thud'}\n", flush=True)
        rows, _ = http_table(args, work, env, n_probes)
        tiny = [] if args.no_tiny else tiny_table(args, work, env)

        print(f"\nthud run --model openai:... against a server holding each request {args.latency:g} s, "
              f"serving at most {args.capacity} at once ({rows[0]['probes']} probes)\n")  # fmt: skip
        print("| --concurrency | probes/s (answering) | server-side probes/s | whole command probes/s "
              "| bound min(N, C)/L | of bound | vs serial | max in flight |")  # fmt: skip
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for r in rows:
            print(f"| {r['concurrency']} | {r['probes_per_s']:.1f} | {r['server_probes_per_s']:.1f} | "
                  f"{r['command_probes_per_s']:.1f} | {r['bound_probes_per_s']:.1f} | {r['of_bound']:.2f} | "
                  f"{r['vs_serial']:.2f}x | {r['max_in_flight']} |")  # fmt: skip
        print("\npredictions: every run identical, and equal to the signal baseline's answers")
        if tiny:
            print(f"\nthud run --model transformers:<tiny Qwen2.5-Omni thinker> on the CPU, fp32 "
                  f"({tiny[0]['probes']} probes)\n")  # fmt: skip
            print("| --batch-size | probes/s (answering) | vs batch 1 |")
            print("| ---: | ---: | ---: |")
            for r in tiny:
                print(f"| {r['batch_size']} | {r['probes_per_s']:.2f} | {r['vs_batch_1']:.2f}x |")
            print("\npredictions: identical at every batch size")
        if args.json:
            Path(args.json).write_text(json.dumps({"machine": machine(), "http": rows, "tiny": tiny}, indent=2))
        ratio = next(r for r in rows if r["concurrency"] == 16)["vs_serial"]
        print(f"ratio_vs_serial: {ratio:.2f}")
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
