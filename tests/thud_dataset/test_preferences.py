"""The ``preferences`` config: train clips only, and chosen/rejected mean what they must.

Semantics are checked by *reading* the texts (the metric's answer parser, plus what the
reasoning states: times, sounds, direction), against the gold label of each row.
"""

from __future__ import annotations

import re

import pytest

from thud_dataset.features import PREFERENCE_FEATURES
from thud_dataset.hub.load import load_config
from thud_dataset.preferences import (
    VERDICTS,
    _fmt,
    preference_labels,
    preference_row,
    preference_texts,
)
from thud_dataset.vocab import CHOICES
from thud_metrics.parsing import parse_answer

#: what a rejected response may claim, per condition (original: per dimension)
SHORTCUT = {
    "shift": {"early": {"synced", "delayed"}, "delayed": {"synced", "early"}},
    "mute": {"silent": {"synced"}},
    "swap": {"mismatched": {"synced"}},
}
FALSE_ALARM = {"sync": {"early", "delayed"}, "existence": {"silent"}, "consistency": {"mismatched"}}

_OPENERS = "|".join(re.escape(v.split("{")[0].strip()) for v in VERDICTS)
_VERDICT = re.compile(rf"\s*(?:{_OPENERS}).*$", re.S)


def body(text: str) -> str:
    """The reasoning of a response, its closing verdict (letter + label) removed."""
    stripped = _VERDICT.sub("", text)
    assert stripped != text, f"no verdict in {text!r}"
    return stripped


def read(text: str, row: dict) -> str:
    return parse_answer(text, dimension=row["dimension"], choices=CHOICES[row["dimension"]])


def test_preferences_come_from_train_clips_only(train_build, preferences):
    clips_test = load_config(train_build, "clips", split="test")
    clips_train = load_config(train_build, "clips", split="train")
    test_ids = set(clips_test["clip_id"])
    pref_ids = set(preferences["clip_id"])
    assert test_ids, "the build has no test clips: the check would be empty"
    assert not pref_ids & test_ids, f"test clips in preferences: {sorted(pref_ids & test_ids)}"
    assert set(preferences["partition"]) == {"train"}
    # every train clip gives its 3 original probes, its two shifts (one early, one delayed),
    # its mute and its swap
    assert pref_ids == set(clips_train["clip_id"])
    for clip_id in pref_ids:
        conditions = sorted(c for c, i in zip(preferences["condition"], preferences["clip_id"], strict=True) if i == clip_id)
        assert conditions == ["mute", "original", "original", "original", "shift", "shift", "swap"]
        labels = sorted(r["label"] for r in preferences if r["clip_id"] == clip_id and r["condition"] == "shift")
        assert labels == ["delayed", "early"]
    # the probes (evaluation) are the test clips
    probes = load_config(train_build, "probes", split="shift")
    assert not set(probes["clip_id"]) & pref_ids


def test_chosen_verifies_the_audio_and_rejected_takes_the_shortcut(train_build, preferences):
    clips = load_config(train_build, "clips", split="train")
    sound_of = dict(zip(clips["clip_id"], clips["audio_event"], strict=True))
    clips_test = load_config(train_build, "clips", split="test")
    sound_of.update(zip(clips_test["clip_id"], clips_test["audio_event"], strict=True))
    seen = set()
    for row in preferences.remove_columns("video"):
        gold, chosen, rejected = row["label"], row["chosen"], row["rejected"]
        where = f"{row['condition']}/{row['dimension']} {row['probe_id']}"
        assert read(chosen, row) == gold, f"{where}: chosen {chosen!r} does not say {gold}"
        claim = read(rejected, row)
        if row["condition"] == "original":
            assert claim in FALSE_ALARM[row["dimension"]], f"{where}: {rejected!r} is no false alarm"
        else:
            assert claim in SHORTCUT[row["condition"]][gold], f"{where}: {rejected!r} is no shortcut"
        seen.add((row["condition"], claim))

        if row["condition"] == "shift":
            # the reasoning itself states the direction, and when the sound is heard
            assert read(body(chosen), row) == gold
            assert read(body(rejected), row) == claim
            assert f"{_fmt(row['edited_audio_time'])} s" in chosen
            lag = abs(row["edited_audio_time"] - row["visual_time"])
            assert f"{_fmt(lag)} s" in chosen
        elif row["condition"] == "mute":
            assert read(body(chosen), row) == "silent"
            assert "heard at" not in chosen.lower()
            # the shortcut "hears" the expected sound when the event is seen
            assert row["audio_event"] in rejected
            assert f"{_fmt(row['visual_time'])} s" in rejected
        elif row["condition"] == "swap":
            donor_sound = sound_of[row["donor_clip_id"]]
            assert donor_sound != row["audio_event"]
            assert donor_sound in chosen, f"{where}: chosen does not name the foreign sound"
            assert read(body(chosen), row) == "mismatched"
            assert donor_sound in rejected or row["audio_event"] in rejected
        else:
            assert row["audio_event"] in chosen
            assert f"{_fmt(row['audio_time'])} s" in chosen
    # both kinds of shift shortcut (claimed sync, wrong direction) occur
    assert {("shift", "synced")} <= seen
    assert any(c == "shift" and claim != "synced" for c, claim in seen)


def _row(**kw) -> dict:
    row = {
        "probe_id": "p0",
        "dimension": "sync",
        "condition": "shift",
        "offset_s": 0.5,
        "visual_event": "a glass cup hits the stone floor",
        "visual_time": 2.1,
        "audio_event": "a sharp glass crash",
        "audio_time": 2.1,
        "edited_audio_time": 2.6,
        "choices": list(CHOICES["sync"]),
        "donor_clip_id": None,
    }
    row.update(kw)
    return row


def test_texts_are_deterministic_and_paraphrased():
    rows = [_row(probe_id=f"p{i}") for i in range(40)]
    first = [preference_texts(r, seed=0) for r in rows]
    assert first == [preference_texts(r, seed=0) for r in rows]
    assert first != [preference_texts(r, seed=1) for r in rows]
    # several paraphrase templates are in use for the same label
    openings = {t["chosen"][:25] for t in first}
    assert len(openings) >= 3
    verdicts = {t["chosen"].rsplit(".", 2)[-2][:8] for t in first}
    assert len(verdicts) >= 2


def test_wrong_direction_is_never_before_the_clip_starts():
    # tau = +0.8 s with the event at 0.5 s: "heard 0.8 s before it is seen" would be at -0.3 s
    rows = [
        _row(probe_id=f"q{i}", offset_s=0.8, visual_time=0.5, audio_time=0.5, edited_audio_time=1.3)
        for i in range(30)
    ]
    for row in rows:
        assert preference_labels(row, 0) == ("delayed", "synced")
        assert "-0" not in preference_texts(row, 0)["rejected"]


def test_swap_without_donor_text_and_original_sync_false_alarm():
    swap = _row(condition="swap", dimension="consistency", offset_s=0.0, edited_audio_time=2.1,
                choices=list(CHOICES["consistency"]))
    texts = preference_texts(swap, 0)
    assert "a different sound" in texts["chosen"]
    assert read(texts["chosen"], swap) == "mismatched"
    assert read(texts["rejected"], swap) == "synced"
    claims = set()
    for i in range(30):
        original = _row(probe_id=f"o{i}", condition="original", offset_s=0.0, edited_audio_time=2.1)
        texts = preference_texts(original, 0)
        assert read(texts["chosen"], original) == "synced"
        claims.add(read(texts["rejected"], original))
    assert claims == {"early", "delayed"}


def test_bad_rows_are_named():
    with pytest.raises(ValueError, match="p0.*visual_event"):
        preference_texts(_row(visual_event=None), 0)
    with pytest.raises(ValueError, match="unknown condition"):
        preference_texts(_row(condition="louder"), 0)


def test_preference_row_has_the_config_columns():
    row = _row(video={"bytes": b"", "path": "x.mp4"}, pair_id="q", clip_id="c", prompt="?",
               label="delayed", category=None, duration_s=4.0, partition="train",
               source="synthetic", donor_audio_event=None)
    out = preference_row(row, seed=0)
    assert set(out) == set(PREFERENCE_FEATURES)


def test_preferences_by_default_hold_no_digital_silence_in_shifts_and_swaps(train_build, preferences, tmp_path):
    """Training must not learn where the zeros are: a default build fills the gaps of the
    preferences' shifts and swaps with room tone (probes keep the paper's silence), and the
    card and report say so."""
    import json

    import numpy as np

    from thud_dataset import media, video_file
    from thud_models.baselines.silence_cue import zero_runs

    edited = [r for r in preferences if r["condition"] in ("shift", "swap")]
    assert {r["condition"] for r in edited} == {"shift", "swap"}
    for r in edited:
        audio = media.decode_audio(video_file(r["video"]))
        # nothing longer than a few milliseconds of exact zeros (a 10 ms run would be the cue)
        assert zero_runs(audio.samples, audio.sample_rate, min_run_s=0.003) == [], (r["probe_id"], r["condition"])
    # the probes of the same build keep digital silence: their shifts open or close with it
    probes = load_config(train_build, "probes", split="shift")
    for r in probes:
        audio = media.decode_audio(video_file(r["video"]))
        runs = zero_runs(audio.samples, audio.sample_rate, min_run_s=0.1)  # |tau| >= 0.3 s, less AAC edges
        assert runs and (runs[0][0] == 0) == (r["offset_s"] > 0), r["probe_id"]
        assert np.any(audio.samples)
    settings = json.loads((train_build / "build_report.json").read_text())["settings"]
    assert (settings["gap_fill"], settings["preferences_gap_fill"]) == ("silence", "room_tone")
    card = (train_build / "README.md").read_text()
    assert "* `probes`: digital silence, as in the paper" in card
    assert "* `preferences`: the clip's own room tone" in card
