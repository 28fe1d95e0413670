"""Cross-verification on made-up annotator files: accepted, queued, merged, reviewed."""

from __future__ import annotations

import json

import pytest

from tests.helpers.media import MP4, WEBM
from tests.helpers.media import write_jsonl as write_lines
from thud_cli.main import main
from thud_dataset.annotation.crossverify import (
    CrossVerifyError,
    apply_review,
    cross_verify,
    format_report,
    parse_source,
    read_annotator,
    read_jsonl,
    write_jsonl,
)
from thud_dataset.sources.local import load_clips

# clip → file; all clips point at real media so the merged file loads as a local source
FILES = {"c1": MP4, "c2": MP4, "c3": MP4, "c4": WEBM, "c5": MP4, "c6": WEBM, "c7": None}


def v(cid, t, **kw):
    row = {"clip_id": cid, "visual_time": t, "visual_event": f"{cid} is seen"}
    if FILES.get(cid):
        row["file"] = FILES[cid]
    return {**row, **kw}


def a(cid, t, **kw):
    return {"clip_id": cid, "audio_time": t, "audio_event": f"{cid} is heard", **kw}


@pytest.fixture
def annotators(tmp_path):
    """Three visual and two audio annotators over seven clips.

    c1 all agree → accepted            c2 gpt's visual time is 0.5 s off → queued
    c3 the audio times disagree → queued  c4 only gemini saw it → queued (too few)
    c5 claude gave -1 → queued (invalid)  c6 spread exactly at the tolerances → accepted
    c7 no annotator names a file → queued
    """
    gemini = write_lines(
        tmp_path / "gemini.jsonl",
        [
            {
                **v("c1", 1.00, category="impact", license="CC BY 2.0"),
                "audio_time": 1.05,
                "audio_event": "thud",
            },
            {**v("c2", 1.00), "audio_time": 1.10, "audio_event": "c2 is heard"},
            {**v("c3", 2.00), "audio_time": 2.00, "audio_event": "c3 is heard"},
            {**v("c4", 0.49), "audio_time": 0.49, "audio_event": "c4 is heard"},
            {**v("c5", 1.50), "audio_time": 1.50, "audio_event": "c5 is heard"},
            {**v("c6", 0.50), "audio_time": 0.50, "audio_event": "c6 is heard"},
            {**v("c7", 1.00), "audio_time": 1.00, "audio_event": "c7 is heard"},
        ],
    )
    gpt = write_lines(
        tmp_path / "gpt.jsonl",
        [
            v("c1", 1.10),
            v("c2", 1.50),
            v("c3", 2.05),
            v("c5", 1.55),
            v("c6", 0.70),
            v("c7", 1.00),
        ],
    )
    claude = write_lines(
        tmp_path / "claude.jsonl",
        [
            v("c1", 1.05),
            v("c2", 1.02),
            v("c3", 1.95),
            v("c5", -1),
            v("c6", 0.60),
            v("c7", 1.00),
        ],
    )
    human = write_lines(
        tmp_path / "human.jsonl",
        [
            a("c1", 1.00, audio_event="a dull thud"),
            a("c2", 1.12),
            a("c3", 2.40),
            a("c4", 0.50),
            a("c5", 1.52),
            a("c6", 0.60),
            a("c7", 1.00),
        ],
    )
    return {"gemini": gemini, "gpt": gpt, "claude": claude, "human": human}


def _run(annotators, **kw):
    g = read_annotator(annotators["gemini"])
    visual = [g, read_annotator(annotators["gpt"]), read_annotator(annotators["claude"])]
    audio = [g, read_annotator(annotators["human"])]
    return cross_verify(visual, audio, visual_tol=0.2, audio_tol=0.1, **kw)


def test_accepted_queued_and_merged(annotators):
    res = _run(annotators)
    assert [r["clip_id"] for r in res.accepted] == ["c1", "c6"]
    assert [q["clip_id"] for q in res.queued] == ["c2", "c3", "c4", "c5", "c7"]

    c1 = res.accepted[0]
    assert c1["visual_time"] == pytest.approx(1.05)  # median of 1.00, 1.10, 1.05
    assert c1["audio_time"] == pytest.approx(1.025)  # median (mean) of 1.05, 1.00
    # texts and clip fields from the first annotator that has them
    assert (c1["visual_event"], c1["audio_event"]) == ("c1 is seen", "thud")
    assert (c1["file"], c1["category"], c1["license"]) == (MP4, "impact", "CC BY 2.0")
    assert c1["crossverify"] == {
        "status": "auto",
        "visual": {"gemini": 1.0, "gpt": 1.1, "claude": 1.05},
        "audio": {"gemini": 1.05, "human": 1.0},
    }
    c6 = res.accepted[1]  # spread 0.2 visual / 0.1 audio: on the tolerance is inside
    assert c6["visual_time"] == pytest.approx(0.6) and c6["audio_time"] == pytest.approx(0.55)

    q = {item["clip_id"]: item for item in res.queued}
    assert q["c2"]["reasons"] == [
        "visual times disagree: spread 0.500 s > 0.2 s (gemini 1.000, gpt 1.500, claude 1.020)"
    ]
    assert q["c3"]["reasons"] == [
        "audio times disagree: spread 0.400 s > 0.1 s (gemini 2.000, human 2.400)"
    ]
    assert q["c4"]["reasons"] == ["too few visual annotations: 1 of the 2 needed (from: gemini)"]
    assert q["c5"]["reasons"] == ["invalid visual time: claude.jsonl:4: visual_time -1 is negative"]
    assert q["c7"]["reasons"] == ["missing file: no annotator gives one"]
    # what a reviewer gets: every annotator's time, a suggestion, an empty decision
    assert q["c2"]["visual"] == {"gemini": 1.0, "gpt": 1.5, "claude": 1.02}
    assert q["c2"]["visual_time"] == pytest.approx(1.02) and q["c2"]["decision"] is None


def test_agreement_report(annotators):
    res = _run(annotators)
    pairs = {(p.modality, p.a, p.b): p for p in res.pairs}
    assert set(pairs) == {
        ("visual", "gemini", "gpt"),
        ("visual", "gemini", "claude"),
        ("visual", "gpt", "claude"),
        ("audio", "gemini", "human"),
    }
    gg = pairs[("visual", "gemini", "gpt")]
    # clips both labelled: c1 c2 c3 c5 c6 c7; |diff| = .1 .5 .05 .05 .2 0
    assert gg.n == 6 and gg.agree == 5
    assert gg.rate == pytest.approx(5 / 6)
    assert gg.mean_abs_diff == pytest.approx((0.1 + 0.5 + 0.05 + 0.05 + 0.2 + 0.0) / 6)
    gc = pairs[("visual", "gemini", "claude")]
    assert gc.n == 5  # claude's -1 on c5 is not a time
    ah = pairs[("audio", "gemini", "human")]
    assert ah.n == 7 and ah.agree == 6
    text = format_report(res.report)
    assert "gemini vs gpt" in text and "83.3%" in text and "accepted: 2" in text
    assert res.report["queued_reasons"]["visual times disagree"] == 1


def test_review_round_trip(annotators, tmp_path, media_dir):
    res = _run(annotators)
    merged = write_jsonl(res.accepted, tmp_path / "annotations.jsonl")
    queue = tmp_path / "review.jsonl"
    edited = []
    for item in res.queued:
        item = dict(item)
        if item["clip_id"] == "c2":  # the reviewer checks the frames: gpt was wrong
            item.update(decision="accept", visual_time=1.01, note="gpt off by 0.5 s")
        elif item["clip_id"] == "c3":
            item["decision"] = "reject"
        elif item["clip_id"] == "c5":
            item["decision"] = " Accept "  # case and spaces are forgiven
        edited.append(item)
    write_jsonl(edited, queue)

    out = apply_review(queue, merged)
    assert out.accepted == ["c2", "c5"] and out.rejected == ["c3"]
    assert [p["clip_id"] for p in out.pending] == ["c4", "c7"]
    rows = {r["clip_id"]: r for r in out.rows}
    assert list(rows) == ["c1", "c6", "c2", "c5"]
    assert rows["c2"]["visual_time"] == 1.01
    assert rows["c2"]["crossverify"]["status"] == "reviewed"
    assert rows["c2"]["crossverify"]["note"] == "gpt off by 0.5 s"
    assert "decision" not in rows["c2"] and "reasons" not in rows["c2"]

    # the merged file is a valid annotations.jsonl for the local source
    final = write_jsonl(out.rows, tmp_path / "final.jsonl")
    clips, skipped = load_clips(media_dir, final, report_unannotated=False)
    assert skipped == []
    assert [c.clip_id for c in clips] == ["c1", "c6", "c2", "c5"]
    assert clips[0].extra["crossverify"]["status"] == "auto"

    # re-applying is idempotent: reviewed rows replace rows of the same clip
    again = apply_review(queue, final)
    assert [r["clip_id"] for r in again.rows] == ["c1", "c6", "c2", "c5"]


def test_review_errors_name_file_and_line(annotators, tmp_path):
    res = _run(annotators)
    bad = [dict(res.queued[0], decision="maybe")]
    write_jsonl(bad, tmp_path / "q1.jsonl")
    with pytest.raises(
        CrossVerifyError, match=r'q1.jsonl:1: decision must be "accept", "reject" or null'
    ):
        apply_review(tmp_path / "q1.jsonl")
    bad = [dict(res.queued[0]), dict(res.queued[1], decision="accept", audio_time=None)]
    write_jsonl(bad, tmp_path / "q2.jsonl")
    with pytest.raises(
        CrossVerifyError, match=r"q2.jsonl:2: clip 'c3' accepted but audio_time is missing"
    ):
        apply_review(tmp_path / "q2.jsonl")


def test_bad_annotator_files(tmp_path):
    write_lines(tmp_path / "a.jsonl", [v("c1", 1.0), '{"clip_id": "c2", '])
    with pytest.raises(CrossVerifyError, match=r"a.jsonl:2: not valid JSON"):
        read_annotator(tmp_path / "a.jsonl")
    write_lines(tmp_path / "b.jsonl", [v("c1", 1.0), "", v("c1", 1.2)])
    with pytest.raises(
        CrossVerifyError,
        match=r"b.jsonl:3: clip 'c1' appears twice in b.jsonl \(first at b.jsonl:1\)",
    ):
        read_annotator(tmp_path / "b.jsonl")
    write_lines(tmp_path / "c.jsonl", [{"visual_time": 1.0}])
    with pytest.raises(CrossVerifyError, match=r"c.jsonl:1: a row needs 'clip_id' or 'file'"):
        read_annotator(tmp_path / "c.jsonl")
    one = read_annotator(write_lines(tmp_path / "d.jsonl", [v("c1", 1.0)]))
    with pytest.raises(CrossVerifyError, match="1 visual annotation file"):
        cross_verify([one], [one])
    # one source is fine when asked for explicitly
    res = cross_verify([one], [one], min_visual=1, min_audio=1)
    assert res.queued[0]["reasons"] == [
        "too few audio annotations: 0 of the 1 needed (from: none)",
        "missing audio_event: no annotator gives one",
    ]


def test_file_stem_keys_and_named_sources(tmp_path):
    assert parse_source("gemini=x/y.jsonl") == (
        "gemini",
        tmp_path.joinpath("x/y.jsonl").relative_to(tmp_path),
    )
    assert parse_source("x/human.jsonl")[0] == "human"
    # rows without clip_id are keyed by the stem of file
    ann = read_annotator(
        write_lines(tmp_path / "e.jsonl", [{"file": "sub/clip9.mp4", "visual_time": 2}]), "eve"
    )
    assert ann.name == "eve" and list(ann.rows) == ["clip9"]


def test_cli_round_trip(annotators, tmp_path, capsys):
    out = tmp_path / "merged.jsonl"
    queue = tmp_path / "review.jsonl"
    report = tmp_path / "report.json"
    rc = main(
        [
            "crossverify",
            "--visual",
            f"gemini={annotators['gemini']}",
            str(annotators["gpt"]),
            str(annotators["claude"]),
            "--audio",
            f"gemini={annotators['gemini']}",
            str(annotators["human"]),
            "--visual-tol",
            "0.2",
            "--audio-tol",
            "0.1",
            "--out",
            str(out),
            "--queue",
            str(queue),
            "--report",
            str(report),
        ]
    )
    assert rc == 0
    printed = capsys.readouterr().out
    assert "accepted: 2  queued for review: 5" in printed
    assert "gemini vs human" in printed
    assert [r["clip_id"] for _, r in read_jsonl(out)] == ["c1", "c6"]
    items = [r for _, r in read_jsonl(queue)]
    assert [r["clip_id"] for r in items] == ["c2", "c3", "c4", "c5", "c7"]
    assert json.loads(report.read_text())["pairs"][0]["a"] == "gemini"

    items[0]["decision"] = "accept"
    items[1]["decision"] = "reject"
    write_jsonl(items, queue)
    rc = main(["crossverify", "--apply-review", str(queue), "--out", str(out)])
    assert rc == 0
    assert "1 accepted, 1 rejected, 3 still pending" in capsys.readouterr().out
    assert [r["clip_id"] for _, r in read_jsonl(out)] == ["c1", "c6", "c2"]

    # a broken annotator file is a clean error, not a traceback
    write_lines(tmp_path / "broken.jsonl", ["{oops"])
    rc = main(
        [
            "crossverify",
            "--visual",
            str(tmp_path / "broken.jsonl"),
            str(annotators["gpt"]),
            "--audio",
            str(annotators["human"]),
            str(annotators["gemini"]),
            "--out",
            str(out),
        ]
    )
    assert rc == 1
    assert "broken.jsonl:1: not valid JSON" in capsys.readouterr().err
