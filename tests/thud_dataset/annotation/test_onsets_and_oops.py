"""The signal-based audio annotator and the Oops adapter."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.helpers.media import MP4, WEBM
from thud_cli.main import main
from thud_dataset.annotation.crossverify import (
    cross_verify,
    read_annotator,
    read_jsonl,
    write_jsonl,
)
from thud_dataset.annotation.onsets import annotate_clips, annotate_file, estimate_onset
from thud_dataset.annotation.oops import candidate_time, convert_oops_dir, convert_transition_times

SR = 22050


def _click_track(at: float, duration: float = 3.0) -> np.ndarray:
    """Digital silence with one decaying noise burst starting at ``at`` seconds."""
    y = np.zeros(int(duration * SR), np.float32)
    n = int(0.08 * SR)
    burst = np.random.default_rng(0).standard_normal(n).astype(np.float32)
    y[int(at * SR) : int(at * SR) + n] = burst * np.exp(-np.arange(n) / (0.01 * SR))
    return y


def test_single_onset_is_found_with_full_confidence():
    est = estimate_onset(_click_track(1.234), SR)
    assert est.audio_time == pytest.approx(1.234, abs=0.015)
    assert est.confidence > 0.9
    # stereo input is mixed to mono, same answer
    est2 = estimate_onset(np.stack([_click_track(1.234)] * 2), SR)
    assert est2.audio_time == est.audio_time


def test_silence_gives_no_time():
    est = estimate_onset(np.zeros(SR * 2, np.float32), SR)
    assert est.audio_time is None and est.confidence == 0.0


def test_real_webm_percussive_hits(real_clips_dir):
    # SOURCES.md: two percussive onsets at ~0.49 s and ~0.74 s, over music
    near = annotate_file(real_clips_dir / WEBM, near=0.49, window=(0.1, 0.1))
    assert near.audio_time == pytest.approx(0.49, abs=0.05)
    overall = annotate_file(real_clips_dir / WEBM)
    times = [t for t, _ in overall.candidates]
    assert any(abs(t - 0.49) < 0.05 for t in times) and any(abs(t - 0.74) < 0.05 for t in times)
    # several similar events: the annotator says it is unsure
    assert overall.confidence < 0.5


def test_onset_rows_feed_cross_verification(real_clips_dir, tmp_path):
    rows = [
        {"clip_id": "bunny", "file": WEBM, "visual_time": 0.49},
        {"clip_id": "gone", "file": "missing.mp4"},
        {"clip_id": "crowd", "file": MP4, "visual_time": 2.3},
    ]
    out = annotate_clips(rows, real_clips_dir, window=(0.1, 0.1))
    by_id = {r["clip_id"]: r for r in out}
    assert by_id["bunny"]["audio_time"] == pytest.approx(0.49, abs=0.05)
    assert 0 <= by_id["bunny"]["audio_confidence"] <= 1
    assert by_id["gone"]["audio_time"] is None and "not found" in by_id["gone"]["error"]
    strict = annotate_clips(rows[:1], real_clips_dir, window=(0.1, 0.1), min_confidence=1.01)
    assert strict[0]["audio_time"] is None and "not used" in strict[0]["note"]

    onset_file = write_jsonl(out, tmp_path / "onset.jsonl")
    human = write_jsonl(
        [
            {
                "clip_id": "bunny",
                "file": WEBM,
                "visual_time": 0.5,
                "visual_event": "hit",
                "audio_time": 0.48,
                "audio_event": "drum hit",
            }
        ],
        tmp_path / "human.jsonl",
    )
    h, o = read_annotator(human), read_annotator(onset_file)
    res = cross_verify([h], [h, o], min_visual=1, audio_tol=0.05)
    assert [r["clip_id"] for r in res.accepted] == ["bunny"]
    assert res.accepted[0]["audio_event"] == "drum hit"  # the human's text comes first
    # the unreadable clip has no vote, so it is queued, not dropped
    assert {q["clip_id"] for q in res.queued} == {"gone", "crowd"}


def test_cli_annotate_onsets(real_clips_dir, tmp_path, capsys):
    rows = write_jsonl([{"file": WEBM, "visual_time": 0.49}], tmp_path / "rows.jsonl")
    out = tmp_path / "onsets.jsonl"
    rc = main(
        [
            "annotate-onsets",
            "--data-dir",
            str(real_clips_dir),
            "--rows",
            str(rows),
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    [(_, row)] = read_jsonl(out)
    assert row["clip_id"] == "Zulko__moviepy__big_buck_bunny_432_433"
    assert row["audio_time"] is not None
    assert "1 of 1 clips got a candidate audio_time" in capsys.readouterr().out


# ------------------------------------------------------------------ Oops

TRANSITIONS = {
    # three workers agree roughly: median of the three
    "Fail Compilation (May 2017)12": {"t": [2.1, 2.4, 2.2], "n_notfound": 0, "len": 8.0},
    # one worker saw no failure (-1): median of the two valid times
    "Skate Fails7": {"t": [3.0, -1, 3.4], "n_notfound": 1, "len": 6.0},
    # two of three saw no failure: not a failure clip
    "Not A Fail3": {"t": [-1, 4.0, -1], "n_notfound": 2, "len": 6.0},
    # the median is past the clip's end: a broken label
    "Broken Label1": {"t": [9.0, 9.5, 9.2], "n_notfound": 0, "len": 5.0},
    # workers spread over 3 s
    "Vague Fail2": {"t": [1.0, 2.5, 4.0], "n_notfound": 0, "len": 10.0},
}


def test_candidate_time_rule():
    assert candidate_time(TRANSITIONS["Fail Compilation (May 2017)12"])[0] == pytest.approx(2.2)
    t, reason, valid = candidate_time(TRANSITIONS["Skate Fails7"])
    assert t == pytest.approx(3.2) and reason is None and valid == [3.0, 3.4]
    t, reason, _ = candidate_time(TRANSITIONS["Not A Fail3"])
    assert t is None and reason.startswith("only 1 of 3 workers marked a failure (need 2)")
    assert candidate_time(TRANSITIONS["Not A Fail3"], min_found=1)[0] == 4.0
    t, reason, _ = candidate_time(TRANSITIONS["Broken Label1"])
    assert t is None and "past the clip's length 5.0 s" in reason
    t, reason, _ = candidate_time(TRANSITIONS["Vague Fail2"], max_spread=1.0)
    assert t is None and "spread 3.000 s > 1 s" in reason
    assert candidate_time({"len": 3})[1] == "entry has no list 't' of transition times"


def test_convert_transition_times():
    rows, skipped = convert_transition_times(TRANSITIONS, names=[*TRANSITIONS, "Unknown9"])
    assert [r["clip_id"] for r in rows] == [
        "Fail Compilation (May 2017)12",
        "Skate Fails7",
        "Vague Fail2",
    ]
    first = rows[0]
    assert first["file"] == "Fail Compilation (May 2017)12.mp4"
    assert first["visual_time"] == pytest.approx(2.2)
    assert first["oops"]["t"] == [2.1, 2.4, 2.2] and first["oops"]["spread"] == pytest.approx(0.3)
    assert "audio_time" not in first  # audio comes from other annotators
    assert {s.name: s.reason.split(" (")[0] for s in skipped} == {
        "Not A Fail3": "only 1 of 3 workers marked a failure",
        "Broken Label1": "median transition 9.200 s is past the clip's length 5.0 s",
        "Unknown9": "not in transition_times.json",
    }


@pytest.fixture
def oops_dir(tmp_path):
    root = tmp_path / "oops_dataset"
    ann = root / "annotations"
    ann.mkdir(parents=True)
    (ann / "transition_times.json").write_text(json.dumps(TRANSITIONS))
    (ann / "val_filtered.txt").write_text("Fail Compilation (May 2017)12\nNot A Fail3\n")
    (ann / "train_filtered.txt").write_text("Skate Fails7\n\n")
    return root


def test_convert_oops_dir_and_cli(oops_dir, tmp_path, capsys):
    rows, skipped = convert_oops_dir(oops_dir, splits=("val", "train"))
    assert [(r["clip_id"], r["file"]) for r in rows] == [
        ("Fail Compilation (May 2017)12", "val/Fail Compilation (May 2017)12.mp4"),
        ("Skate Fails7", "train/Skate Fails7.mp4"),
    ]
    assert [s.name for s in skipped] == ["Not A Fail3"]
    with pytest.raises(ValueError, match="test_filtered.txt: split listing not found"):
        convert_oops_dir(oops_dir, splits=("test",))

    out = tmp_path / "oops.jsonl"
    rc = main(
        ["oops-import", "--oops-dir", str(oops_dir), "--splits", "val", "train", "--out", str(out)]
    )
    assert rc == 0
    printed = capsys.readouterr().out
    assert "2 clips with a candidate visual_time" in printed and "skipped Not A Fail3" in printed
    # the output is a visual annotator file for cross-verification
    ann = read_annotator(out, "oops")
    assert ann.time("Skate Fails7", "visual") == (pytest.approx(3.2), None)
