"""``thud score --judge openai:...`` against a loopback OpenAI-compatible judge server, and
the refusal rate in the printed table, the summary and results.json."""

from __future__ import annotations

import json
import socket

import pytest

from tests.helpers.judge_server import JudgeServer
from thud_cli.main import main
from thud_dataset.vocab import CHOICES


@pytest.fixture
def run(tiny_dataset, helpers, tmp_path):
    """A predictions file on the tiny dataset: letters (readable), a few answers the rules
    cannot read, one the scripted judge answers with an unreadable reply, refusals."""
    root, probes = tiny_dataset
    answers = helpers.perfect_answers(probes)
    script: dict[str, str] = {}
    unread = []
    for i, label in enumerate(probes["label"]):
        if i % 7 == 3:  # the rules cannot read these; the judge names the gold label
            answers[i] = f"Well, regarding probe {i}, hmm."
            script[answers[i]] = label.capitalize() + "."
            unread.append(i)
        elif i % 7 == 5:
            answers[i] = "I'm sorry, I can't process audio; I only see the video frames."
    answers[unread[0]] = "Honestly the clip puzzles me."
    script[answers[unread[0]]] = "It could be several things."  # a reply that is not a reading
    for options in CHOICES.values():  # --judge-all also sends the letters: read them back
        for letter in "ABC"[: len(options)]:
            script[letter] = letter
    script["I'm sorry, I can't process audio; I only see the video frames."] = "refused"
    path = helpers.write_predictions(tmp_path / "model.jsonl", probes["probe_id"], answers,
                                     meta={"model": "omni", "audio_check": {"verdict": "reaches"}})  # fmt: skip
    return root, probes, path, script, answers, unread


def _score(capsys, *argv):
    code = main(["score", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_judge_reads_only_unreadable_answers_and_reuses_its_verdicts(run, capsys, tmp_path):
    root, probes, path, script, answers, unread = run
    with JudgeServer(lambda answer: script[answer]) as server:
        argv = [path, "--dataset", root, "--out-dir", tmp_path / "out", "--n-resamples", "0", "--no-plots",
                "--cache-dir", tmp_path / "hf", "--judge", "openai:judge-model", "--judge-base-url", server.base_url]  # fmt: skip
        code, out, err = _score(capsys, *argv)
        assert code == 0, err
        # only the distinct answers the rules left unknown were sent: no letters, no refusals
        assert sorted(server.answers) == sorted({answers[i] for i in unread})
        first = len(server.requests)
        results = json.loads((tmp_path / "out" / "results.json").read_text())["models"]["omni"]
        judge = results["judge"]
        assert judge["mode"] == "unread" and judge["asked"] == len(unread)
        assert judge["unreadable_replies"] == 1  # "It could be several things." stays unknown
        assert results["counts"]["unknown"] == 1
        assert results["accuracy"]["sync"]["original"] < 1.0  # the refusals count wrong
        assert "judge openai:judge-model (unread): asked about" in out and "1 unreadable replies" in out
        unreadable = [json.loads(line) for line in (tmp_path / "out" / "judge_unreadable.jsonl").read_text().splitlines()]
        assert unreadable == [{"model": "omni", "answer": "Honestly the clip puzzles me.",
                               "dimension": probes["dimension"][unread[0]], "reply": "It could be several things."}]  # fmt: skip

        code, out, err = _score(capsys, *argv)  # a re-score: every verdict from the cache
        assert code == 0, err
        assert len(server.requests) == first  # 0 new requests
        assert "(0 new requests" in out
        assert json.loads((tmp_path / "out" / "results.json").read_text())["models"]["omni"]["accuracy"] == results["accuracy"]
    cache = path.with_name(path.name + ".judge-cache")
    assert len(cache.read_text().splitlines()) == len(unread)


def test_judge_all_sends_every_answer_and_writes_the_agreement(run, capsys, tmp_path):
    root, probes, path, script, answers, unread = run
    script = {**script, "B": "synced"}  # this judge reads a "B" as synced: the rules disagree
    with JudgeServer(lambda answer: script[answer]) as server:
        code, out, err = _score(
            capsys, path, "--dataset", root, "--out-dir", tmp_path / "out", "--n-resamples", "0", "--no-plots",
            "--cache-dir", tmp_path / "hf", "--judge", "openai:judge-model", "--judge-base-url", server.base_url,
            "--judge-all",
        )  # fmt: skip
        assert code == 0, err
        distinct = {(a, d) for a, d in zip(answers, probes["dimension"], strict=True)}
        assert len(server.requests) == len(distinct)  # every distinct answer, once
    models = json.loads((tmp_path / "out" / "results.json").read_text())["models"]
    agree = models["omni"]["judge"]["agreement"]
    n_b = sum(a == "B" for a in answers)
    assert agree["n"] == len(answers) and agree["disagreed"] == n_b + len(unread) - 1
    assert 0 < agree["kappa"] < 1
    assert "Cohen's kappa" in out
    rows = [json.loads(line) for line in (tmp_path / "out" / "judge_disagreements.jsonl").read_text().splitlines()]
    assert {r["answer"] for r in rows if r["rules"] != "unknown"} == {"B"}
    assert all(r["judge"] == "synced" for r in rows if r["answer"] == "B")


def test_refusal_rate_in_the_table_the_summary_and_results_json(run, capsys, tmp_path):
    root, probes, path, *_ = run
    code, out, err = _score(capsys, path, "--dataset", root, "--out-dir", tmp_path / "out", "--n-resamples", "0",
                            "--no-plots", "--cache-dir", tmp_path / "hf")  # fmt: skip
    assert code == 0, err
    n_refused = sum(i % 7 == 5 for i in range(len(probes["probe_id"])))
    rate = n_refused / len(probes["probe_id"])
    header = next(line for line in out.splitlines() if line.startswith("model"))
    row = next(line for line in out.splitlines() if line.startswith("omni"))
    assert header.split()[-1] == "Refused" and float(row.split()[-1]) == pytest.approx(100 * rate, abs=0.05)
    lines = out.splitlines()
    check = next(i for i, line in enumerate(lines) if "audio path check: reaches" in line)
    assert lines[check + 1].strip().startswith(f"refusal rate: {100 * rate:.1f}% ({n_refused} answers")
    assert "evidence that the audio does not reach it" in lines[check + 1]
    results = json.loads((tmp_path / "out" / "results.json").read_text())["models"]["omni"]
    assert results["refusal_rate"] == pytest.approx(rate) and results["counts"]["refused"] == n_refused
    assert results["confusion"]["mute"]["silent"]["silent"] + results["confusion"]["mute"]["silent"]["refused"] > 0
    assert results["rates"]["mute_hallucination"] == 0.0  # a refusal is no claim of a sound


def test_an_unreachable_judge_fails_fast_with_one_line(run, capsys, tmp_path):
    root, _, path, *_ = run
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, out, err = _score(capsys, path, "--dataset", root, "--n-resamples", "0", "--no-plots",
                            "--cache-dir", tmp_path / "hf", "--judge", "openai:m",
                            "--judge-base-url", f"http://127.0.0.1:{port}")  # fmt: skip
    assert code == 2
    errors = [line for line in err.splitlines() if "error" in line]  # (datasets' progress bars aside)
    assert len(errors) == 1 and errors[0].startswith("thud score: error: judge server http://127.0.0.1:")
    assert "refused the connection: is it running?" in errors[0]


def test_judge_options_need_a_judge(run, capsys, tmp_path):
    root, _, path, *_ = run
    code, _, err = _score(capsys, path, "--dataset", root, "--judge-all", "--cache-dir", tmp_path / "hf")
    assert code == 2 and "--judge-all and --judge-base-url need --judge" in err
    code, _, err = _score(capsys, path, "--dataset", root, "--judge", "gpt4", "--cache-dir", tmp_path / "hf")
    assert code == 2 and "judge spec must be 'openai:MODEL' or 'transformers:PATH'" in err
