"""``thud run`` through the real entry point: a kill -9 mid-run, a second run into the same
file, a server that is not there, and the model options it shares with ``check-audio``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.helpers.wire import ContentHash, closed_port
from thud_cli.main import build_parser, main
from thud_metrics.predictions import read_predictions


def _rows(path) -> set[str]:
    """The probe lines of a predictions file without their timings."""
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {json.dumps({k: v for k, v in x.items() if k != "seconds"}, sort_keys=True) for x in lines[1:]}


def test_kill_9_mid_concurrent_run_then_resume_equals_the_serial_run(
    loopback, dataset_dir, media_cache, tmp_path, capsys
):
    n = 16
    fast = loopback(answerer=ContentHash())
    reference = tmp_path / "serial.jsonl"
    common = ["--dataset", str(dataset_dir), "--limit", str(n), "--no-check-audio", "--no-progress"]
    assert main(["run", "--model", "openai:omni", "--base-url", fast.base_url, "--concurrency", "1",
                 "--out", str(reference), *common]) == 0  # fmt: skip

    slow = loopback(answerer=ContentHash(), hold_s=0.3)
    out = tmp_path / "run.jsonl"
    argv = ["run", "--model", "openai:omni", "--base-url", slow.base_url, "--concurrency", "4",
            "--out", str(out), *common]  # fmt: skip
    env = {**os.environ, "THUD_CACHE": str(media_cache)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "thud_cli.main", *argv],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if out.exists() and out.read_text().count("\n") >= 1 + 6:
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read().decode()

        # a second run into the same file while the first is writing: refused at once
        capsys.readouterr()
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert "another thud run is writing" in err and str(out) in err

        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()
    killed = _rows(out)
    assert 6 <= len(killed) < n and killed <= _rows(reference)  # what finished is on disk

    # the resume (its lock was released with the killed process) finishes the set
    assert main(argv) == 0
    assert _rows(out) == _rows(reference)
    assert len(read_predictions(out).answers) == n  # no probe twice


def test_run_against_a_closed_port_stops_at_once(dataset_dir, tmp_path, connects, capsys):
    port = closed_port()
    out = tmp_path / "run.jsonl"
    code = main(["run", "--model", "openai:omni", "--base-url", f"http://127.0.0.1:{port}/v1",
                 "--dataset", str(dataset_dir), "--out", str(out), "--no-progress"])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 1
    lines = [line for line in captured.err.splitlines() if line.startswith("thud run:")]
    assert len(lines) == 1 and "connection refused" in lines[0] and f"127.0.0.1:{port}" in lines[0]
    # the audio-path check came first; its canaries in flight (8 by default), none retried
    assert 1 <= len([c for c in connects if c.endswith(f":{port}")]) <= 8
    # nothing recorded: the rerun, once the server is up, starts cleanly
    assert not out.exists()


def test_check_audio_against_a_closed_port_exits_in_seconds(connects, canary_dir, capsys):
    port = closed_port()
    url = f"http://127.0.0.1:{port}/v1"
    t0 = time.monotonic()
    code = main(["check-audio", "--model", "openai:omni", "--base-url", url, "--concurrency", "1",
                 "--work-dir", str(canary_dir), "--quiet"])  # fmt: skip
    elapsed = time.monotonic() - t0
    captured = capsys.readouterr()
    assert code == 4 and captured.out == ""
    assert captured.err.strip().splitlines() == [
        f"thud check-audio: {url}/chat/completions: cannot reach the server, connection refused: "
        "is the server running, on this host and port?"
    ]
    # one request, one attempt: nothing retried (calls of an earlier test's abandoned
    # threads, to their own ports, may land here too: only this port counts)
    assert [c for c in connects if c.endswith(f":{port}")] == [f"127.0.0.1:{port}"]
    assert elapsed < 5


def test_model_options_are_one_definition():
    """`thud run` and `thud check-audio` take the same model options, with the same defaults."""
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices
    names = (
        "--model", "--cache-dir", "--base-url", "--api-key", "--audio-mode", "--concurrency",
        "--timeout", "--batch-size", "--device", "--dtype", "--num-frames", "--max-new-tokens",
    )  # fmt: skip
    for option in names:
        actions = []
        for command in ("run", "check-audio"):
            action = next(a for a in sub[command]._actions if option in a.option_strings)
            actions.append((action.dest, action.default, action.choices, action.type))
        assert actions[0] == actions[1], option


def test_options_a_model_does_not_take_are_errors(dataset_dir, tmp_path, capsys):
    out = str(tmp_path / "x.jsonl")
    base = ["--dataset", str(dataset_dir), "--out", out]
    assert main(["run", "--model", "prior", "--concurrency", "4", *base]) == 2
    assert "option concurrency does not apply to --model prior" in capsys.readouterr().err
    assert main(["run", "--model", "openai:m", "--base-url", "http://127.0.0.1:9", "--batch-size", "8", *base]) == 2
    assert "option batch_size does not apply to --model openai" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["run", "--model", "openai:m", "--concurrency", "0", *base])
    assert "must be >= 1" in capsys.readouterr().err
