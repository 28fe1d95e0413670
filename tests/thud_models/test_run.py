"""``run_probes`` / ``thud run``: resumable, per-probe failures, one line per probe."""

from __future__ import annotations

import json
import sys
import threading
import time

import pytest

from tests.helpers.wire import ContentHash
from thud_cli.main import main as thud_main
from thud_metrics.predictions import read_predictions
from thud_metrics.predictions.thud_jsonl import read_thud_jsonl
from thud_models import PriorBaseline, run_probes


class Scripted:
    """An answerer that records its calls, fails on chosen probes and can be 'killed'."""

    def __init__(self, name="scripted", fail_on=(), stop_after=None):
        self.name = name
        self.calls: list[str] = []
        self.fail_on = set(fail_on)
        self.stop_after = stop_after

    def answer(self, video_path: str, prompt: str) -> str:
        if self.stop_after is not None and len(self.calls) >= self.stop_after:
            raise KeyboardInterrupt  # the user pressed Ctrl-C while this probe was asked
        self.calls.append(video_path)
        if any(key in prompt for key in self.fail_on):
            raise TimeoutError("server took too long")
        return f"answer {len(self.calls)}"


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_fresh_run_writes_meta_then_one_line_per_probe(dataset_dir, all_probes, tmp_path):
    out = tmp_path / "run.jsonl"
    report = run_probes(Scripted(), dataset_dir, out, check_audio=False, progress=False)
    lines = _lines(out)
    meta = lines[0]["_meta"]
    assert meta["model"] == "scripted" and meta["dataset"] == str(dataset_dir.resolve())
    assert meta["audio_check"] is None and meta["thud_version"] and meta["started"]
    assert [line["probe_id"] for line in lines[1:]] == [r["probe_id"] for r in all_probes]
    assert all(set(line) == {"probe_id", "answer", "error", "seconds"} for line in lines[1:])
    assert report.total == report.answered == len(all_probes) and report.done_before == 0
    assert len(read_predictions(out).answers) == len(all_probes)  # what thud score reads


def test_resume_after_interruption_neither_duplicates_nor_loses(dataset_dir, all_probes, tmp_path):
    out = tmp_path / "run.jsonl"
    killed = Scripted(stop_after=7)
    with pytest.raises(KeyboardInterrupt):
        run_probes(killed, dataset_dir, out, check_audio=False, progress=False)
    first = _lines(out)[1:]
    assert len(first) == 7  # every probe answered before the interruption is on disk

    # a kill while a line was being written leaves half a line: it is dropped and redone
    with out.open("a") as f:
        f.write('{"probe_id": "' + all_probes[7]["probe_id"] + '", "answ')

    resumed = Scripted()
    report = run_probes(resumed, dataset_dir, out, check_audio=False, progress=False)
    assert report.done_before == 7 and report.answered == len(all_probes) - 7
    assert len(resumed.calls) == len(all_probes) - 7
    lines = _lines(out)
    ids = [line["probe_id"] for line in lines[1:]]
    assert sorted(ids) == sorted(r["probe_id"] for r in all_probes)  # none lost, none twice
    assert lines[1:8] == first  # the answers from before the interruption are kept as they were
    assert "_meta" in lines[0] and sum("_meta" in line for line in lines) == 1

    again = Scripted()
    report = run_probes(again, dataset_dir, out, check_audio=False, progress=False)
    assert again.calls == [] and report.answered == 0 and report.done_before == len(all_probes)
    assert _lines(out) == lines


def test_failures_are_recorded_per_probe_and_retried_on_request(dataset_dir, all_probes, tmp_path):
    out = tmp_path / "run.jsonl"
    failing = Scripted(fail_on=["Is the sound of this event synchronized"])  # every sync probe
    report = run_probes(failing, dataset_dir, out, check_audio=False, progress=False)
    n_sync = sum(r["dimension"] == "sync" for r in all_probes)
    assert report.failed == n_sync and report.answered == len(all_probes) - n_sync
    errors = [line for line in _lines(out)[1:] if line["error"]]
    assert len(errors) == n_sync
    assert all(e["answer"] is None and e["error"].startswith("TimeoutError") for e in errors)
    assert report.errors and "TimeoutError" in report.errors[0]

    skip = Scripted()
    run_probes(skip, dataset_dir, out, check_audio=False, progress=False)
    assert skip.calls == []  # failed probes are not retried unless asked

    retry = Scripted()
    report = run_probes(retry, dataset_dir, out, check_audio=False, progress=False, retry_errors=True)
    assert len(retry.calls) == n_sync and report.answered == n_sync and report.failed == 0
    predictions = read_predictions(out)  # raises on a duplicated probe id
    assert len(predictions.answers) == len(all_probes) and not predictions.errors


def test_stops_after_consecutive_failures_and_resumes(dataset_dir, all_probes, tmp_path):
    out = tmp_path / "run.jsonl"
    down = Scripted(fail_on=["Watch the video"])  # every prompt: a server that is down
    report = run_probes(down, dataset_dir, out, check_audio=False, progress=False, max_consecutive_failures=3)
    assert report.stopped_early and report.failed == 3 and len(down.calls) == 3
    assert "too many probes failed in a row" in report.summary()
    up = Scripted()
    report = run_probes(up, dataset_dir, out, check_audio=False, progress=False, retry_errors=True)
    assert not report.stopped_early and report.answered == len(all_probes)
    assert not read_predictions(out).errors


def test_limit_and_splits(dataset_dir, probe_rows, tmp_path):
    out = tmp_path / "run.jsonl"
    report = run_probes(Scripted(), dataset_dir, out, splits=("mute",), limit=3, check_audio=False, progress=False)
    assert report.total == 3
    assert [line["probe_id"] for line in _lines(out)[1:]] == [r["probe_id"] for r in probe_rows["mute"][:3]]
    with pytest.raises(ValueError, match="unknown splits"):
        run_probes(Scripted(), dataset_dir, out, splits=("muted",), check_audio=False)


def test_refuses_another_models_file(dataset_dir, tmp_path):
    out = tmp_path / "run.jsonl"
    run_probes(Scripted(name="a"), dataset_dir, out, limit=1, check_audio=False, progress=False)
    with pytest.raises(ValueError, match="predictions of model 'a'"):
        run_probes(Scripted(name="b"), dataset_dir, out, limit=1, check_audio=False, progress=False)


def test_audio_check_verdict_recorded(dataset_dir, tmp_path):
    out = tmp_path / "prior.jsonl"
    report = run_probes(PriorBaseline(), dataset_dir, out, limit=2, progress=False, echo=False)
    meta = read_thud_jsonl(out, allow_empty=True).meta
    # the prior never listens: the canaries' answers do not move with their sound
    assert meta["audio_check"]["verdict"] == "does_not_reach" == report.audio_check


def test_missing_audio_check_module_records_null(dataset_dir, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "thud_models.audio_check", None)  # as if not written yet
    out = tmp_path / "prior.jsonl"
    with pytest.warns(UserWarning, match="audio path was not checked"):
        run_probes(PriorBaseline(), dataset_dir, out, limit=1, progress=False)
    assert read_thud_jsonl(out, allow_empty=True).meta["audio_check"] is None


def test_thud_run_cli_resumes(dataset_dir, tmp_path, capsys):
    out = tmp_path / "cli.jsonl"
    argv = ["run", "--model", "prior", "--dataset", str(dataset_dir), "--out", str(out), "--no-check-audio", "--no-progress"]
    assert thud_main([*argv, "--limit", "5"]) == 0
    assert len(_lines(out)) == 1 + 5
    assert thud_main(argv) == 0
    printed = capsys.readouterr().out
    assert "5 already done" in printed and "thud score" in printed
    assert len(read_predictions(out).answers) == len(_lines(out)) - 1


def test_thud_run_cli_errors(dataset_dir, tmp_path, capsys):
    out = str(tmp_path / "x.jsonl")
    assert thud_main(["run", "--model", "gpt", "--dataset", str(dataset_dir), "--out", out]) == 2
    assert "unknown --model 'gpt'" in capsys.readouterr().err
    assert thud_main(["run", "--model", "openai:m", "--dataset", str(dataset_dir), "--out", out]) == 2
    assert "--base-url" in capsys.readouterr().err
    assert thud_main(["run", "--model", "prior", "--base-url", "http://x", "--dataset", str(dataset_dir), "--out", out]) == 2
    assert "does not apply" in capsys.readouterr().err


# -- concurrency, locking and stale files (issue 15, issue 13) --------------------------------


def _rows(path):
    """The probe lines of a predictions file without their timings, as a set."""
    return {
        json.dumps({k: v for k, v in line.items() if k != "seconds"}, sort_keys=True)
        for line in _lines(path)[1:]
    }


class Interrupted(ContentHash):
    """Answers like :class:`ContentHash`, slowly, and is 'interrupted' (Ctrl-C) on call k."""

    def __init__(self, stop_at: int | None = None, hold_s: float = 0.05):
        self.stop_at, self.hold_s = stop_at, hold_s
        self.calls = 0
        self.lock = threading.Lock()

    def answer(self, video_path, prompt):
        with self.lock:
            self.calls += 1
            n = self.calls
        time.sleep(self.hold_s)
        if self.stop_at is not None and n >= self.stop_at:
            raise KeyboardInterrupt
        return super().answer(video_path, prompt)


def test_concurrent_run_keeps_n_requests_in_flight_and_equals_the_serial_run(loopback, dataset_dir, tmp_path):
    from thud_models.adapters.openai_compat import OpenAICompatAnswerer

    files = {}
    for n in (1, 4):
        server = loopback(answerer=ContentHash(), hold_s=0.15)
        answerer = OpenAICompatAnswerer("omni", server.base_url, concurrency=n)
        out = tmp_path / f"c{n}.jsonl"
        report = run_probes(answerer, dataset_dir, out, limit=10, check_audio=False, progress=False)
        assert report.answered == 10 and report.failed == 0 and report.concurrency == n
        assert server.max_in_flight == n  # exactly n at once: never more, and it gets there
        assert len(server.requests) == 10
        files[n] = out
    serial, concurrent = _rows(files[1]), _rows(files[4])
    assert serial == concurrent and len(serial) == 10
    assert len({json.loads(r)["answer"] for r in serial}) == 10  # every probe its own answer
    # the file is still one line per probe, readable by thud score
    assert len(read_predictions(files[4]).answers) == 10


def test_interrupted_concurrent_run_resumes_to_the_same_set(dataset_dir, all_probes, tmp_path):
    reference = tmp_path / "serial.jsonl"
    run_probes(ContentHash(), dataset_dir, reference, check_audio=False, progress=False)

    out = tmp_path / "run.jsonl"
    with pytest.raises(KeyboardInterrupt):
        run_probes(Interrupted(stop_at=9), dataset_dir, out, check_audio=False, progress=False, concurrency=4)
    before = _lines(out)[1:]
    assert 0 < len(before) < 9  # what finished before the interrupt is on disk, nothing else
    assert _rows(out) <= _rows(reference)

    resumed = Interrupted()
    report = run_probes(resumed, dataset_dir, out, check_audio=False, progress=False, concurrency=4)
    assert report.done_before == len(before) and resumed.calls == len(all_probes) - len(before)
    assert _rows(out) == _rows(reference)  # the same set as the serial run: none lost, none twice
    assert len(_lines(out)) == 1 + len(all_probes)


def test_failures_under_concurrency_are_recorded_per_probe(dataset_dir, all_probes, tmp_path):
    out = tmp_path / "run.jsonl"
    failing = Scripted(fail_on=["Is the sound of this event synchronized"])
    report = run_probes(failing, dataset_dir, out, check_audio=False, progress=False, concurrency=3)
    n_sync = sum(r["dimension"] == "sync" for r in all_probes)
    assert report.failed == n_sync and report.answered == len(all_probes) - n_sync
    errors = {line["probe_id"] for line in _lines(out)[1:] if line["error"]}
    assert errors == {r["probe_id"] for r in all_probes if r["dimension"] == "sync"}


def test_a_model_that_cannot_be_reached_ends_the_run_at_once(dataset_dir, tmp_path):
    from thud_models.base import AnswererUnavailable

    class Down:
        name = "down"
        concurrency = 4
        calls = 0

        def answer(self, video_path, prompt):
            Down.calls += 1
            raise AnswererUnavailable("http://127.0.0.1:9/v1: cannot reach the server, connection refused")

    out = tmp_path / "down.jsonl"
    with pytest.raises(AnswererUnavailable, match="connection refused"):
        run_probes(Down(), dataset_dir, out, check_audio=False, progress=False)
    assert Down.calls <= 4  # the calls already in flight, no more
    assert _lines(out)[1:] == []  # nothing recorded for probes never asked: a rerun asks them


def test_a_rebuilt_dataset_is_not_appended_to_stale_answers(media_cache, tmp_path):
    from thud_dataset import build

    root = tmp_path / "thud"
    build(root, num_clips=4, seed=1, media_cache_dir=str(media_cache), progress=False)
    out = tmp_path / "run.jsonl"
    run_probes(Scripted(), root, out, check_audio=False, progress=False, limit=5)
    fingerprint = read_thud_jsonl(out).meta["probes_fingerprint"]
    assert set(fingerprint) == {"original", "shift", "mute", "swap"}

    # the same build resumes
    report = run_probes(Scripted(), root, out, check_audio=False, progress=False)
    assert report.done_before == 5 and report.answered > 0

    # rebuilt with another seed into the same folder: refused, the file left as it was
    build(root, num_clips=4, seed=2, media_cache_dir=str(media_cache), progress=False)
    before = out.read_bytes()
    with pytest.raises(ValueError, match="another build of .* rebuilt"):
        run_probes(Scripted(), root, out, check_audio=False, progress=False)
    assert out.read_bytes() == before


def test_a_file_from_before_fingerprints_gets_one(dataset_dir, tmp_path):
    out = tmp_path / "old.jsonl"
    run_probes(Scripted(), dataset_dir, out, check_audio=False, progress=False, limit=2)
    lines = _lines(out)
    del lines[0]["_meta"]["probes_fingerprint"]
    out.write_text("".join(json.dumps(line) + "\n" for line in lines))
    report = run_probes(Scripted(), dataset_dir, out, check_audio=False, progress=False, limit=4)
    assert report.done_before == 2 and report.answered == 2
    assert set(read_thud_jsonl(out).meta["probes_fingerprint"]) == {"original", "shift", "mute", "swap"}


def test_a_second_run_into_the_same_file_fails_at_once(dataset_dir, tmp_path):
    from thud_models.run import RunInProgress

    out = tmp_path / "run.jsonl"
    started, release = threading.Event(), threading.Event()

    class Slow(Scripted):
        def answer(self, video_path, prompt):
            started.set()
            release.wait(30)
            return super().answer(video_path, prompt)

    first: dict = {}
    t = threading.Thread(
        target=lambda: first.update(report=run_probes(Slow(), dataset_dir, out, limit=3, check_audio=False, progress=False))
    )
    t.start()
    try:
        assert started.wait(30)
        with pytest.raises(RunInProgress, match="another thud run is writing"):
            run_probes(Scripted(), dataset_dir, out, limit=3, check_audio=False, progress=False)
    finally:
        release.set()
        t.join(30)
    assert first["report"].answered == 3
    assert len(read_predictions(out).answers) == 3  # the second run wrote nothing
    # once the first run is over, the file is free again
    assert run_probes(Scripted(), dataset_dir, out, limit=3, check_audio=False, progress=False).done_before == 3
