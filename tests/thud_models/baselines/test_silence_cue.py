"""The silence-cue baseline: it reads only runs of exact digital silence, and what that is worth.

On probes built with the paper's gap fill (digital silence) it tells the direction of every
shift without timing anything; on probes built with room tone it is left at chance. Both
builds are 32 synthetic clips, every one in the test partition (the session's media cache
holds the renders).
"""

from __future__ import annotations

import numpy as np
import pytest

from thud_dataset.prompts import make_prompt
from thud_dataset.vocab import CHOICES, DIMENSIONS
from thud_metrics import parse_answer, score_probes
from thud_models.baselines.silence_cue import (
    SilenceCue,
    SilenceCueBaseline,
    SilenceCueSettings,
    zero_runs,
)

#: clips of each build: enough shift probes (two per clip) for a direction rate to mean
#: something, cheap with the session's cache
NUM_CLIPS = 32


def test_zero_runs_are_exact_zeros_in_every_channel_and_long_enough():
    sr = 1000
    x = np.full((2, 1000), 0.01, np.float32)
    x[:, :200] = 0.0  # a leading run of 200 ms
    x[0, 500:600] = 0.0  # one channel only: not silence
    x[:, 700:730] = 0.0  # 30 ms: too short for the default 50 ms
    x[:, 920:] = 0.0
    x[:, 950] = 1e-9  # not exactly zero: splits the trailing 80 ms into 30 + 49 ms
    assert zero_runs(x, sr) == [(0, 200)]
    assert zero_runs(x, sr, min_run_s=0.02) == [(0, 200), (700, 730), (920, 950), (951, 1000)]
    assert zero_runs(x[0], sr, min_run_s=0.04) == [(0, 200), (500, 600), (951, 1000)]
    assert zero_runs(np.zeros((1, 0)), sr) == []
    with pytest.raises(ValueError, match="min_run_s"):
        SilenceCueSettings(min_run_s=0)


@pytest.mark.parametrize(
    "runs, dimension, label",
    [
        (((0.0, 0.48),), "sync", "delayed"),  # zeros first: the sound was pushed later
        (((3.5, 4.0),), "sync", "early"),
        (((0.0, 0.1), (3.2, 4.0)), "sync", "early"),  # the longer end decides
        (((1.0, 1.2),), "sync", "synced"),  # a run inside says nothing about direction
        ((), "sync", "synced"),
        (((0.0, 0.3),), "consistency", "mismatched"),
        (((1.0, 1.2),), "consistency", "mismatched"),
        ((), "consistency", "synced"),
        (((0.0, 0.3),), "existence", "synced"),
        (((0.0, 4.0),), "existence", "silent"),
        (((0.0, 4.0),), "sync", "silent"),
    ],
)
def test_the_rules_and_their_answers_read_back_as_the_label(runs, dimension, label):
    baseline = SilenceCueBaseline()
    cue = SilenceCue(4.0, runs)
    assert baseline.decide(cue, dimension)[0] == label
    if label in CHOICES[dimension]:  # answered on Thud's prompt: its letter and a sentence
        answer = baseline.answer_cue(cue, make_prompt(dimension, "a ball hits the floor"))
        assert answer[0] == "ABC"[CHOICES[dimension].index(label)]
        assert parse_answer(answer, dimension) == label
        assert parse_answer(answer[3:], dimension) == label  # the sentence alone reads the same


def test_it_counts_sound_stretches_and_reads_a_file_without_sound_as_silent(media_dir):
    from thud_models.baselines.silence_cue import read_silence

    assert SilenceCue(3.0, ((0.0, 0.4), (0.65, 1.0), (1.25, 3.0))).sound_stretches == 2
    assert SilenceCue(3.0, ()).sound_stretches == 1 and SilenceCue(3.0, ((0.0, 3.0),)).sound_stretches == 0
    cue = read_silence(media_dir / "silent_film.mp4")
    assert cue.silent and not cue.has_audio
    assert SilenceCueBaseline().answer(str(media_dir / "silent_film.mp4"), "How many beeps do you hear?").startswith("0.")


def test_registered_as_a_model_spec():
    from thud_models.registry import make_answerer

    assert make_answerer("silence_cue").name == "silence_cue"
    assert make_answerer("silence_cue", min_run_s=0.1).settings.min_run_s == 0.1
    with pytest.raises(ValueError, match="does not apply to --model silence_cue"):
        make_answerer("silence_cue", base_url="http://x")


@pytest.fixture(scope="module")
def cue_scores(tmp_path_factory, media_cache):
    """silence_cue's answers on the same clips built with each gap fill: ``{fill: (rows, answers)}``."""
    from datasets import load_dataset

    from thud_dataset import build, video_file

    baseline = SilenceCueBaseline()
    got = {}
    for fill in ("silence", "room_tone"):
        out = tmp_path_factory.mktemp(f"cue-{fill}") / "thud"
        build(out, num_clips=NUM_CLIPS, seed=0, test_fraction=1.0, gap_fill=fill, configs=("probes",),
              media_cache_dir=str(media_cache), progress=False)
        rows = [r for s in ("original", "shift", "mute", "swap") for r in load_dataset(str(out), "probes", split=s)]
        got[fill] = rows, [baseline.answer(video_file(r["video"]), r["prompt"]) for r in rows]
    return got


def _scores(rows, answers):
    return score_probes(
        answers, [r["label"] for r in rows], [r["condition"] for r in rows], [r["dimension"] for r in rows],
        [r["pair_id"] for r in rows], [r["offset_s"] for r in rows], [r["clip_id"] for r in rows], n_resamples=0,
    )


def direction_accuracy(rows, answers) -> float:
    """Shift direction as a forced choice: right 1, the opposite direction 0, no direction
    (synced, silent, unreadable) 0.5, the expected score of a coin flip. Chance is 0.5."""
    score = []
    for r, a in zip(rows, answers, strict=True):
        if r["condition"] == "shift":
            said = parse_answer(a, "sync", r["choices"])
            score.append(1.0 if said == r["label"] else 0.0 if said in ("early", "delayed") else 0.5)
    return float(np.mean(score))


def test_the_silence_cue_tells_the_shift_direction_and_room_tone_leaves_it_at_chance(cue_scores):
    rows, answers = cue_scores["silence"]
    n_shift = sum(r["condition"] == "shift" for r in rows)
    assert n_shift == 2 * NUM_CLIPS
    silence = _scores(rows, answers)
    # digital silence: where the zeros sit gives every direction away, and most swaps
    assert direction_accuracy(rows, answers) >= 0.95
    assert silence["accuracy"]["sync"]["shift"] >= 0.95 and silence["pair_accuracy"]["sync"] >= 0.95
    assert silence["accuracy"]["consistency"]["swap"] >= 0.5
    # natural sound holds no run of exact zeros: originals are never called edited
    for d in DIMENSIONS:
        assert silence["accuracy"][d]["original"] == 1.0

    rows, answers = cue_scores["room_tone"]
    toned = _scores(rows, answers)
    # room tone: the cue is gone; the same reader is at chance on direction, no better than the prior
    assert abs(direction_accuracy(rows, answers) - 0.5) <= 0.05
    assert toned["accuracy"]["sync"]["shift"] <= 0.05 and toned["pair_accuracy"]["sync"] <= 0.05
    assert toned["accuracy"]["consistency"]["swap"] <= 0.05
    assert toned["accuracy"]["existence"]["mute"] == 1.0  # a mute is silence by definition
