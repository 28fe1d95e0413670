"""The judge: strict reading of replies, agreement, the HTTP client against a loopback
OpenAI-compatible server, and the verdict cache."""

from __future__ import annotations

import json
import math
import socket

import numpy as np
import pytest

from tests.helpers.judge_server import JudgeServer
from thud_metrics import score_probes
from thud_metrics.judge import CachedJudge, JudgeError, OpenAIJudge, judge_cache_path, make_judge
from thud_metrics.parsing import (
    JUDGE_PROMPT_VERSION,
    agreement,
    cohen_kappa,
    judge_prompt,
    parse_answers,
    read_answers,
    read_verdict,
)


@pytest.mark.parametrize(
    ("reply", "dimension", "expected"),
    [
        ("early", "sync", "early"),
        ("Mismatched.", "consistency", "mismatched"),
        ("**Refused**", "existence", "refused"),
        ("  unknown\n", "sync", "unknown"),
        ("B", "sync", "early"),
        ("(B)", "existence", "silent"),
        ("(C) delayed", "sync", "delayed"),
        ("<think>the answer hedges</think>unknown", "sync", "unknown"),
        ("C", "existence", None),  # no option C on the existence question
        ("(B) delayed", "sync", None),  # the word contradicts the letter
        ("B", None, None),  # a letter without a question
        ("The answer is early.", "sync", None),  # not one word: unreadable
        ("early or delayed", "sync", None),
        ("", "sync", None),
        (None, "sync", None),
    ],
)
def test_judge_replies_are_read_strictly(reply, dimension, expected):
    assert read_verdict(reply, dimension) == expected


def test_cohen_kappa_by_hand():
    # 10 items: rules and judge agree on 8; both say x 6 times and y 4 times
    a = ["x"] * 6 + ["y"] * 4
    b = ["x"] * 5 + ["y"] + ["y"] * 3 + ["x"]
    po, pe = 0.8, (6 * 6 + 4 * 4) / 100  # kappa = 0.28 / 0.48
    assert cohen_kappa(a, b) == pytest.approx((po - pe) / (1 - pe))
    assert math.isnan(cohen_kappa([], []))
    assert cohen_kappa(["x", "x"], ["x", "x"]) == 1.0
    with pytest.raises(ValueError, match="same items"):
        cohen_kappa(["x"], [])
    rep = agreement(["early", "synced", "unknown"], ["early", "delayed", "synced"], [2, 1, 1])
    assert (rep["n"], rep["agreed"], rep["disagreed"]) == (4, 2, 2)
    assert rep["pairs"] == {"synced->delayed": 1, "unknown->synced": 1}


def test_the_prompt_offers_refused_and_the_options_as_letters():
    prompt = judge_prompt("No audio was given to me.", "existence")
    assert "(A) synced" in prompt and "(B) silent" in prompt and "(C)" not in prompt
    assert "refused" in prompt and "No audio was given to me." in prompt
    assert len(JUDGE_PROMPT_VERSION) == 12


def test_default_mode_asks_only_about_unreadable_answers_and_reports_it():
    asked = []

    def judge(answer, dimension):
        asked.append((answer, dimension))
        return {"mumble": "Mismatched", "grumble": "I'd say early, maybe"}[answer]

    answers = ["B", "mumble", "mumble", "", None, "grumble", "I can't process audio."]
    dims = ["consistency", "consistency", "consistency", "consistency", "consistency", "sync", "sync"]
    index, labels, _, report = read_answers(answers, dims, judge=judge)
    got = np.array(labels, dtype=object)[index].tolist()
    assert got == ["mismatched", "mismatched", "mismatched", "unknown", "unknown", "unknown", "refused"]
    assert sorted(asked) == [("grumble", "sync"), ("mumble", "consistency")]  # never empty answers, never refusals
    assert report["mode"] == "unread" and report["asked"] == 2 and report["probes_asked"] == 3
    assert report["unreadable_replies"] == 1
    assert report["unreadable"] == [{"answer": "grumble", "dimension": "sync", "reply": "I'd say early, maybe"}]
    assert report["changed"] == 2 and "agreement" not in report


def test_judge_all_asks_about_every_answer_and_scores_its_verdicts():
    replies = {"A": "A", "B": "synced", "The audio lags.": "delayed"}
    answers = ["A", "B", "B", "The audio lags.", ""]
    labels, _ = parse_answers(answers, ["sync"] * 5, judge=lambda a, d: replies[a], judge_all=True)
    assert labels.tolist() == ["synced", "synced", "synced", "delayed", "unknown"]
    _, _, _, report = read_answers(answers, ["sync"] * 5, judge=lambda a, d: replies[a], judge_all=True)
    agree = report["agreement"]
    assert (agree["n"], agree["agreed"], agree["pairs"]) == (4, 2, {"early->synced": 2})
    assert report["disagreements"] == [
        {"answer": "B", "dimension": "sync", "rules": "early", "judge": "synced", "probes": 2}
    ]


def test_score_probes_carries_the_judge_report():
    r = score_probes(["mumble", "B"], ["synced", "early"], ["original", "shift"], ["sync"] * 2, ["p", "p"],
                     n_resamples=0, judge=lambda a, d: "synced")  # fmt: skip
    assert r["accuracy"]["sync"] == {"original": 1.0, "shift": 1.0}
    assert r["judge"]["asked"] == 1 and r["judge"]["mode"] == "unread"
    assert "judge" not in score_probes(["A"], ["synced"], ["original"], ["sync"], ["p"], n_resamples=0)


# -- the HTTP client -------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_openai_judge_against_a_loopback_server():
    with JudgeServer(lambda answer: "early" if "before" in answer else "unknown") as server:
        judge = OpenAIJudge("judge-model", server.base_url, workers=3)
        assert judge("The bang comes before the fall.", "sync") == "early"
        replies = judge.judge_many([(f"thing {i} before", "sync") for i in range(5)] + [("hm", "sync")])
        assert replies == ["early"] * 5 + ["unknown"]  # in order, although sent 3 at a time
        body = server.requests[0]
        assert body["model"] == "judge-model" and body["temperature"] == 0
        assert "The bang comes before the fall." in body["messages"][0]["content"]
        assert len(server.requests) == 7 == judge.requests


def test_a_refused_connection_fails_at_once_with_one_line():
    judge = OpenAIJudge("m", f"http://127.0.0.1:{_closed_port()}", retries=5)
    with pytest.raises(JudgeError, match=r"refused the connection: is it running\? \(check --judge-base-url\)") as e:
        judge("mumble", "sync")
    assert judge.requests == 1  # no retry loop
    assert "\n" not in str(e.value)
    assert judge.url.endswith("/v1/chat/completions")  # a bare host:port gets /v1


def test_server_errors_are_clear_and_bad_specs_too():
    with JudgeServer(lambda answer: "early", fail_after=0) as server:
        judge = OpenAIJudge("m", server.base_url)
        with pytest.raises(JudgeError, match=r"HTTP 400: .*the judge server broke down"):
            judge("x", "sync")
        assert judge.requests == 1  # a 400 is not retried
    with pytest.raises(JudgeError, match="must be 'openai:MODEL' or 'transformers:PATH'"):
        make_judge("llama")
    with pytest.raises(JudgeError, match="base URL must be http"):
        make_judge("openai:m", base_url="localhost:8000")
    with pytest.raises(JudgeError, match="--judge-base-url is for openai"):
        make_judge("transformers:/x", base_url="http://127.0.0.1:1")


# -- the cache -------------------------------------------------------------------------------


def test_cached_verdicts_are_reused_and_keyed_by_judge_and_dimension(tmp_path):
    cache = judge_cache_path(tmp_path / "run.jsonl")
    assert cache.name == "run.jsonl.judge-cache"
    with JudgeServer(lambda answer: "mismatched") as server:
        first = make_judge("openai:m", base_url=server.base_url, cache=cache)
        items = [("mumble", "consistency"), ("grumble", "consistency"), ("mumble", "sync")]
        assert first.judge_many(items) == ["mismatched"] * 3
        assert len(server.requests) == 3 and first.requests == 3
        again = make_judge("openai:m", base_url=server.base_url, cache=cache)
        assert again.judge_many(items) == ["mismatched"] * 3
        assert len(server.requests) == 3 and again.requests == 0 and again.hits == 3
        other = make_judge("openai:another-model", base_url=server.base_url, cache=cache)
        other.judge_many(items[:1])
        assert len(server.requests) == 4  # another judge's verdicts are not reused
    rows = [json.loads(line) for line in cache.read_text().splitlines()]
    assert [r["judge"] for r in rows] == ["openai:m"] * 3 + ["openai:another-model"]
    assert rows[0]["answer"] == "mumble" and rows[0]["prompt_version"] == JUDGE_PROMPT_VERSION


def test_an_interrupted_run_resumes_from_its_cache(tmp_path):
    cache = tmp_path / "run.jsonl.judge-cache"
    items = [(f"mumble {i}", "sync") for i in range(6)]
    with JudgeServer(lambda answer: "early", fail_after=4) as server:
        judge = make_judge("openai:m", base_url=server.base_url, cache=cache, workers=1)
        with pytest.raises(JudgeError, match="HTTP 400"):
            judge.judge_many(items)
    assert len(cache.read_text().splitlines()) == 4  # every verdict written as it came
    cache.write_text(cache.read_text() + '{"judge": "openai:m", "prompt')  # a kill mid-line
    with JudgeServer(lambda answer: "early") as server:
        judge = make_judge("openai:m", base_url=server.base_url, cache=cache)
        assert judge.judge_many(items) == ["early"] * 6
        assert len(server.requests) == 2


def test_a_broken_cache_line_names_the_file_and_line(tmp_path):
    cache = tmp_path / "c.judge-cache"
    cache.write_text('{"judge": "openai:m"}\n{"judge": "openai:m"}\n')
    with pytest.raises(JudgeError, match=r"c.judge-cache:1: a judge cache line without 'prompt_version'"):
        CachedJudge(OpenAIJudge("m", "http://127.0.0.1:1"), cache)


def test_a_callable_judge_can_be_cached(tmp_path):
    calls = []

    def judge(answer, dimension):
        calls.append(answer)
        return "silent"

    judge.name = "my-judge"
    cached = make_judge(judge, cache=tmp_path / "v.judge-cache")
    labels, _ = parse_answers(["hmm", "hmm", "uh"], ["existence"] * 3, judge=cached)
    assert labels.tolist() == ["silent"] * 3 and calls == ["hmm", "uh"]
    again = make_judge(judge, cache=tmp_path / "v.judge-cache")
    parse_answers(["hmm", "uh"], ["existence"] * 2, judge=again)
    assert calls == ["hmm", "uh"] and again.requests == 0
