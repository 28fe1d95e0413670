"""The listening check during training: held-out test probes, answered by the current policy,
scored with thud_gap, logged beside the loss (log history and TensorBoard)."""

from __future__ import annotations

import glob

import pytest

for _name in ("torch", "transformers", "trl", "peft"):
    pytest.importorskip(_name, reason=f"{_name} is not installed (pip install -e '.[train]')")

from thud_dataset.hub.load import load_config  # noqa: E402
from thud_dataset.vocab import CHOICES  # noqa: E402
from thud_train.config import TrainConfig  # noqa: E402
from thud_train.dpo import build_dpo_trainer  # noqa: E402
from thud_train.evaluation import ProbeEvalCallback, load_eval_probes, probe_metrics  # noqa: E402

EVERY, STEPS = 2, 4


def test_the_probes_are_whole_test_clips_fixed_by_the_seed(train_build, preferences):
    probes = load_eval_probes(train_build, num_clips=2, seed=0)
    clips = set(probes["clip_id"])
    assert len(clips) == 2 and set(probes["partition"]) == {"test"}
    assert not clips & set(preferences["clip_id"])  # never a clip the policy trains on
    everything = load_config(train_build, "probes")
    for clip in clips:  # every probe of each chosen clip: all pairs complete
        n = sum(split["clip_id"].count(clip) for split in everything.values())
        assert probes["clip_id"].count(clip) == n
    again = load_eval_probes(train_build, num_clips=2, seed=0)
    assert again["probe_id"] == probes["probe_id"]
    assert len(set(load_eval_probes(train_build, num_clips=99, seed=0)["clip_id"])) == len(
        {c for s in everything.values() for c in s["clip_id"]}
    )


def _answer(label: str, dimension: str, style: str) -> str:
    letter = "ABC"[CHOICES[dimension].index(label)]
    return {"letter": f"Answer: {letter}", "text": f"I hear it: the answer is ({letter}) {label}."}[style]


def test_logged_numbers_of_planted_answers(train_build):
    probes = load_eval_probes(train_build, num_clips=3, seed=1)
    rows = list(zip(probes["label"], probes["dimension"], strict=True))
    listening = probe_metrics([_answer(lab, dim, "text") for lab, dim in rows], probes)
    assert listening["thud/avg_gap"] == 0.0 and listening["thud/pair_accuracy"] == 1.0
    assert listening["thud/unparseable_rate"] == 0.0 and listening["thud/probes"] == len(rows)
    clever_hans = probe_metrics(["Answer: A"] * len(rows), probes)  # always "synced"
    assert clever_hans["thud/avg_gap"] == 1.0 and clever_hans["thud/pair_accuracy"] == 0.0
    for dim in CHOICES:
        assert clever_hans[f"thud/pair_accuracy/{dim}"] == 0.0 and clever_hans[f"thud/gap/{dim}"] == 1.0
    mumbling = probe_metrics(["hmm"] * len(rows), probes)
    assert mumbling["thud/unparseable_rate"] == 1.0 and mumbling["thud/pair_accuracy"] == 0.0


def test_dpo_with_lora_logs_the_check_beside_the_loss(tmp_path, train_build):
    config = TrainConfig.from_dict({
        "model": "tiny-omni",
        "dataset": str(train_build),
        "media": {"fps": 2.0, "max_frames": 4, "max_pixels": 56 * 84},
        "lora": {"enabled": True, "r": 4},
        "eval": {"every_steps": EVERY, "num_clips": 1, "max_new_tokens": 6, "batch_size": 4},
        "sft": {"output_dir": str(tmp_path / "no-sft")},
        "dpo": {
            "output_dir": str(tmp_path / "dpo"),
            "max_samples": 8,
            "trainer": {
                "beta": 0.1, "max_steps": STEPS, "per_device_train_batch_size": 2, "learning_rate": 1e-2,
                "use_cpu": True, "activation_checkpointing": False, "report_to": "tensorboard",
            },
        },
    })
    trainer, _, _ = build_dpo_trainer(config)
    (check,) = [c for c in trainer.callback_handler.callbacks if isinstance(c, ProbeEvalCallback)]
    # the policy gets each probe's video with its own (intervened) audio track
    inputs = check.collator.generation_inputs([dict(check.probes[0])])
    assert "input_features" in inputs and inputs["use_audio_in_video"] is True
    trainer.train()

    history = trainer.state.log_history
    checks = [h for h in history if "thud/avg_gap" in h]
    assert [h["step"] for h in checks] == [0, *range(EVERY, STEPS + 1, EVERY)]
    assert all(h["thud/probes"] == len(check.probes) == 7 for h in checks)  # one clip: 3 originals, 2 shifts, mute, swap
    assert {"thud/pair_accuracy", "thud/pair_accuracy/sync", "thud/gap/existence", "thud/unparseable_rate"} <= set(checks[0])
    losses = [h for h in history if "loss" in h]
    assert [h["step"] for h in losses] == list(range(1, STEPS + 1))
    # TRL's own training metrics still reach their loss lines
    assert all("rewards/margins" in h for h in losses)

    # what was logged at the last step is what the final policy answers
    assert [step for step, _ in check.history] == [h["step"] for h in checks]
    last = {k: v for k, v in checks[-1].items() if k.startswith("thud/")}
    assert check.evaluate() == pytest.approx(last, nan_ok=True)

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (run,) = glob.glob(str(tmp_path / "dpo" / "runs" / "*"))
    events = EventAccumulator(run)
    events.Reload()
    tags = events.Tags()["scalars"]
    assert "train/thud/avg_gap" in tags and "train/thud/pair_accuracy" in tags and "train/loss" in tags
    assert [e.step for e in events.Scalars("train/thud/avg_gap")] == [h["step"] for h in checks]
    assert [e.value for e in events.Scalars("train/thud/pair_accuracy")] == pytest.approx(
        [h["thud/pair_accuracy"] for h in checks]
    )
