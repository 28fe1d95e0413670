"""The audio-path check: canaries, verdict rules, and servers that do or do not pass the audio."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from thud_dataset.media import decode_audio, probe, read_video_packets
from thud_models.adapters.openai_compat import OpenAICompatAnswerer
from thud_models.audio_check import (
    AudioCheckResult,
    check_audio,
    decide,
    parse_count,
    recommend_audio_mode,
)
from thud_models.canaries import CANARY_VERSION, build_canaries


def _packets(path: str) -> list[bytes]:
    with read_video_packets(path) as v:
        return [bytes(p) for p in v.packets]


# -- canaries --------------------------------------------------------------------------------


def test_canary_pairs_differ_only_in_their_audio(canaries):
    pairs: dict[str, list] = {}
    for c in canaries:
        pairs.setdefault(c.pair, []).append(c)
    assert sorted(len(v) for v in pairs.values()) == [2, 2, 2, 2]
    for members in pairs.values():
        a, b = members
        # the same video packets, byte for byte; same duration and stream layout
        assert _packets(a.path) == _packets(b.path)
        ia, ib = probe(a.path), probe(b.path)
        assert ia.duration == ib.duration and len(ia.audio_streams) == len(ib.audio_streams) == 1
        assert a.prompt == b.prompt
        sa, sb = decode_audio(a.path).samples, decode_audio(b.path).samples
        assert not np.array_equal(sa, sb)
    for c in canaries:
        peak = float(np.abs(decode_audio(c.path).samples).max())
        if c.variant == "muted":
            assert peak == 0.0  # digital silence, the stream kept
        else:
            assert peak > 0.4
        # nothing in the file name tells the variants apart: a content hash
        assert re.fullmatch(r"[0-9a-f]{24}\.mp4", Path(c.path).name)


def test_canaries_are_deterministic_and_cached(tmp_path, canaries):
    again = build_canaries(tmp_path / "other")
    assert [c.path.rsplit("/", 1)[1] for c in again] == [c.path.rsplit("/", 1)[1] for c in canaries]
    for a, b in zip(again, canaries, strict=True):
        assert Path(a.path).read_bytes() == Path(b.path).read_bytes()
    # a damaged file is rendered again, not trusted
    victim = again[0].path
    Path(victim).write_bytes(b"broken")
    rebuilt = build_canaries(tmp_path / "other")
    assert Path(rebuilt[0].path).read_bytes() == Path(canaries[0].path).read_bytes()


def test_count_beeps(canaries):
    from thud_models.canaries import COUNT_PROMPT

    counts = {c.expected: c for c in canaries if c.kind == "count"}
    assert set(counts) == {1, 3} and all(c.prompt == COUNT_PROMPT for c in counts.values())
    for n, c in counts.items():
        x = np.abs(decode_audio(c.path).samples[0])
        loud = x > 0.1
        # bursts separated by at least 0.1 s of quiet
        onsets = np.flatnonzero(loud[1:] & ~loud[:-1])
        gaps = np.diff(np.flatnonzero(loud))
        assert 1 + int(np.sum(gaps > 1600)) == n, onsets


# -- parsing and the verdict rules -----------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "count"),
    [
        ("3", 3),
        ("Three.", 3),
        ("I hear two beeps.", 2),
        ("There are 3 short beeps in the audio.", 3),
        ("Answer: 1", 1),
        ("<think>maybe 2?</think> 4", 4),
        ("No beeps at all.", 0),
        ("The audio is silent.", 0),
        ("Yes, a sound can be heard (loudest 50 ms at -9 dBFS).", None),
        ("1.2 s", None),
        ("I'm not sure.", None),
        ("", None),
    ],
)
def test_parse_count(answer, count):
    assert parse_count(answer) == count


def test_decide_rules():
    assert decide(["discriminates"] * 4)[0] == "reaches"
    assert decide(["discriminates", "discriminates", "discriminates", "unreadable"])[0] == "reaches"
    assert decide(["discriminates", "discriminates", "same", "unreadable"])[0] == "reaches"
    assert decide(["same"] * 4)[0] == "does_not_reach"
    assert decide(["same", "same", "same", "unreadable"])[0] == "does_not_reach"
    assert decide(["same", "same", "unreadable", "unreadable"])[0] == "does_not_reach"
    assert decide(["same", "unreadable", "unreadable", "unreadable"])[0] == "cannot_tell"
    assert decide(["discriminates", "same", "same", "same"])[0] == "cannot_tell"
    assert decide(["reversed", "same", "same", "same"])[0] == "cannot_tell"
    assert decide(["unreadable"] * 4)[0] == "cannot_tell"
    assert decide([])[0] == "cannot_tell"
    verdict, reason = decide(["unreadable"] * 4)
    assert "failed or could not be read" in reason


class Scripted:
    """An answerer that answers from a table keyed by the canary's variant."""

    name = "scripted"

    def __init__(self, canaries, table):
        self.by_path = {c.path: c for c in canaries}
        self.table = table

    def answer(self, video_path, prompt):
        out = self.table[self.by_path[video_path].variant]
        if isinstance(out, Exception):
            raise out
        return out


def test_check_reads_answers_per_pair(canaries):
    hears = Scripted(
        canaries, {"beeps": "A", "muted": "B. No sound.", "1 beep": "one", "3 beeps": "3 beeps"}
    )
    r = check_audio(hears, canaries=canaries)
    assert r.verdict == "reaches" and r.reaches
    assert r.counts == {"discriminates": 4, "same": 0, "reversed": 0, "refused": 0, "unreadable": 0}
    ev = {e["canary_id"]: e for e in r.evidence}
    assert ev["presence-440hz/muted"]["parsed"] == "silent"
    assert ev["presence-440hz/muted"]["expected"] == "silent"
    assert ev["count-1-vs-3/3"]["parsed"] == 3
    assert "440 Hz" in ev["presence-440hz/beeps"]["sent"]

    deaf = Scripted(
        canaries,
        {"beeps": "A", "muted": "A", "1 beep": "I cannot listen.", "3 beeps": "I cannot listen."},
    )
    r = check_audio(deaf, canaries=canaries)
    assert r.verdict == "does_not_reach"
    # word-for-word the same unparseable answer still shows the sound did not move it
    assert r.counts["same"] == 4
    assert all(p["identical_text"] for p in r.pairs)

    backwards = Scripted(canaries, {"beeps": "B", "muted": "A", "1 beep": "3", "3 beeps": "1"})
    r = check_audio(backwards, canaries=canaries)
    assert r.verdict == "cannot_tell" and "against the sound" in r.reason


def test_failing_requests_are_evidence_not_crashes(canaries):
    broken = Scripted(
        canaries,
        {v: RuntimeError("HTTP 500 at http://x") for v in ("beeps", "muted", "1 beep", "3 beeps")},
    )
    r = check_audio(broken, canaries=canaries)
    assert r.verdict == "cannot_tell"
    assert "8 request(s) failed" in r.reason and "HTTP 500" in r.reason
    assert all(e["error"] for e in r.evidence)


def test_result_is_json_and_round_trips(canaries):
    r = check_audio(
        Scripted(canaries, {"beeps": "A", "muted": "B", "1 beep": "1", "3 beeps": "3"}),
        canaries=canaries,
    )
    d = json.loads(json.dumps(r.to_dict()))
    assert d["verdict"] == "reaches" and d["answerer"] == "scripted" and d["canary_version"] == CANARY_VERSION
    assert AudioCheckResult.from_dict(d) == r
    text = r.summary()
    assert "audio reaches the model" in text and "[discriminates] presence-880hz" in text


# -- through a loopback server ---------------------------------------------------------------


def test_reaches_when_the_server_passes_the_audio(loopback, canary_dir):
    """The signal baseline behind an honest server: the sound gets there and is heard."""
    from thud_models.baselines.signal import SignalBaseline

    server = loopback(behaviour="honest", answerer=SignalBaseline())
    r = check_audio(
        OpenAICompatAnswerer("omni", server.base_url, audio_mode="video"), work_dir=canary_dir
    )
    assert r.verdict == "reaches", r.summary()
    assert r.audio_mode == "video" and r.answerer == "openai:omni"
    assert {c.heard for c in server.captured} == {"video audio"}
    presence = [p for p in r.pairs if p["kind"] == "presence"]
    assert all(p["outcome"] == "discriminates" for p in presence)


def test_does_not_reach_when_the_server_strips_the_audio(loopback, canary_dir):
    from thud_models.baselines.signal import SignalBaseline

    server = loopback(behaviour="strip", answerer=SignalBaseline())
    r = check_audio(
        OpenAICompatAnswerer("omni", server.base_url, audio_mode="video"), work_dir=canary_dir
    )
    assert r.verdict == "does_not_reach", r.summary()
    assert {c.heard for c in server.captured} == {"muted"}
    # the listener said "silent" to every presence canary, beeps included
    assert {e["parsed"] for e in r.evidence if e["kind"] == "presence"} == {"silent"}


def test_recommend_audio_mode_finds_the_mode_that_works(loopback, canary_dir):
    """A server that ignores use_audio_in_video: the video mode is deaf, a separate part works."""
    server = loopback(behaviour="ignores_flag")
    report = recommend_audio_mode(
        server.base_url, "omni", work_dir=canary_dir, modes=["video", "video+audio"]
    )
    assert report.results["video"].verdict == "does_not_reach"
    assert report.results["video+audio"].verdict == "reaches"
    assert report.recommended == "video+audio"
    assert "--audio-mode video+audio" in report.summary()
    assert json.loads(json.dumps(report.to_dict()))["recommended"] == "video+audio"


def test_frames_plus_audio_reaches_through_an_honest_server(loopback, canary_dir):
    server = loopback(behaviour="honest")
    r = check_audio(
        OpenAICompatAnswerer("omni", server.base_url, audio_mode="frames+audio", num_frames=4),
        work_dir=canary_dir,
    )
    assert r.verdict == "reaches", r.summary()
    assert {c.heard for c in server.captured} == {"audio part"}


@pytest.mark.parametrize("behaviour", ["honest", "strip"])
def test_energy_listener_server_all_pairs(loopback, canary_dir, behaviour):
    """With a listener that also counts, every pair (the count pair too) moves or stays."""
    server = loopback(behaviour=behaviour)
    r = check_audio(
        OpenAICompatAnswerer("omni", server.base_url, audio_mode="video"), work_dir=canary_dir
    )
    if behaviour == "honest":
        assert r.verdict == "reaches" and r.counts["discriminates"] == 4, r.summary()
        assert {e["canary_id"]: e["parsed"] for e in r.evidence if e["kind"] == "count"} == {
            "count-1-vs-3/1": 1,
            "count-1-vs-3/3": 3,
        }
    else:
        assert r.verdict == "does_not_reach" and r.counts["same"] == 4, r.summary()


# -- concurrency, refusals, unreachable servers ------------------------------------------------


def test_canaries_are_asked_concurrently_with_the_same_verdict(loopback, canary_dir):
    results = {}
    for n in (1, 4):
        server = loopback(behaviour="honest", hold_s=0.1)
        r = check_audio(
            OpenAICompatAnswerer("omni", server.base_url, concurrency=n), work_dir=canary_dir
        )
        assert server.max_in_flight == n and len(server.requests) == 8
        results[n] = r
    assert results[4].verdict == results[1].verdict == "reaches"
    # the evidence stays in canary order whatever order the answers came back in
    assert results[4].evidence == results[1].evidence


def test_a_model_that_refuses_to_discuss_audio_does_not_reach(canaries, monkeypatch):
    """Refusals read as ``refused`` (thud_metrics.parsing) are evidence of a deaf setup, even
    when the two refusals of a pair are worded differently (so not word-for-word 'same')."""
    import thud_models.audio_check as ac

    def parse(answer):  # the refusal reading of parse_answer, as the parser gives it
        return "refused" if "cannot" in (answer or "") else "unknown"

    monkeypatch.setattr(ac, "_parse_presence", parse)
    refusing = Scripted(
        canaries,
        {
            "beeps": "I cannot hear audio.",
            "muted": "As a text model I cannot listen to sounds.",
            "1 beep": "I cannot process audio input.",
            "3 beeps": "Sorry, I cannot access the audio track.",
        },
    )
    r = check_audio(refusing, canaries=canaries)
    assert r.verdict == "does_not_reach", r.summary()
    assert r.counts["refused"] == 4 and "cannot hear the audio" in r.reason
    assert {p["outcome"] for p in r.pairs} == {"refused"}


def test_decide_counts_refusals_as_deaf():
    assert decide(["refused"] * 4)[0] == "does_not_reach"
    assert decide(["refused", "same", "unreadable", "unreadable"])[0] == "does_not_reach"
    assert decide(["discriminates", "discriminates", "refused", "refused"])[0] == "cannot_tell"
    assert decide(["discriminates"] * 3 + ["refused"])[0] == "reaches"


def test_an_unreachable_server_ends_the_check_with_its_error(canaries):
    from tests.helpers.wire import closed_port
    from thud_models.base import AnswererUnavailable

    a = OpenAICompatAnswerer("omni", f"http://127.0.0.1:{closed_port()}/v1")
    with pytest.raises(AnswererUnavailable, match="connection refused"):
        check_audio(a, canaries=canaries)
