"""Checkpoints on a schedule and ``thud train ... --resume``: a run killed mid-way resumes
to the same step count, finishes, and ends where an uninterrupted run ends."""

from __future__ import annotations

import json

import pytest

for _name in ("torch", "transformers", "trl", "peft"):
    pytest.importorskip(_name, reason=f"{_name} is not installed (pip install -e '.[train]')")

import torch  # noqa: E402
import yaml  # noqa: E402
from transformers import TrainerCallback  # noqa: E402

from thud_train.config import ConfigError, TrainConfig  # noqa: E402
from thud_train.dpo import run_dpo  # noqa: E402
from thud_train.models import load_model_and_processor  # noqa: E402

STEPS, SAVE_EVERY, KILLED_AT = 4, 2, 3


class Killed(Exception):
    pass


class KillAt(TrainerCallback):
    """Ends the process's work abruptly inside step ``at`` (after its optimizer step, before
    anything of it is logged or saved), as a killed job would."""

    def __init__(self, at: int) -> None:
        self.at = at

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.at:
            raise Killed(f"killed at step {self.at}")


def _recipe(tmp, dataset, out: str) -> dict:
    return {
        "model": "tiny-omni",
        "dataset": str(dataset),
        "media": {"fps": 2.0, "max_frames": 4, "max_pixels": 56 * 84},
        "sft": {"output_dir": str(tmp / "no-sft")},
        "dpo": {
            "output_dir": str(tmp / out),
            "max_samples": 8,
            "trainer": {
                "beta": 0.1,
                "max_steps": STEPS,
                "per_device_train_batch_size": 2,
                "learning_rate": 3e-3,
                "use_cpu": True,
                "activation_checkpointing": False,
                "save_strategy": "steps",
                "save_steps": SAVE_EVERY,
            },
        },
    }


def _weights(path: str) -> dict[str, torch.Tensor]:
    model, _, _ = load_model_and_processor(path)
    return {k: v.detach() for k, v in model.state_dict().items()}


def test_a_killed_dpo_run_resumes_and_finishes(tmp_path, train_build, monkeypatch):
    from thud_cli.main import main

    # the uninterrupted run
    whole = run_dpo(TrainConfig.from_dict(_recipe(tmp_path, train_build, "whole")))
    assert whole.global_step == STEPS and whole.resumed_from is None

    # killed inside step 3: checkpoint-2 is on disk, no final model
    recipe = _recipe(tmp_path, train_build, "killed")
    with pytest.raises(Killed):
        run_dpo(TrainConfig.from_dict(recipe), callbacks=[KillAt(KILLED_AT)])
    out = tmp_path / "killed"
    assert sorted(p.name for p in out.glob("checkpoint-*")) == [f"checkpoint-{SAVE_EVERY}"]
    assert not (out / "config.json").exists()

    # the same command with --resume
    config_file = tmp_path / "recipe.yaml"
    config_file.write_text(yaml.safe_dump(recipe))
    monkeypatch.chdir(tmp_path)
    assert main(["train", "dpo", "--config", str(config_file), "--resume"]) == 0
    summary = json.loads((out / "thud_train.json").read_text())
    assert summary["global_step"] == STEPS
    assert summary["resumed_from"].endswith(f"checkpoint-{SAVE_EVERY}")
    steps = [h["step"] for h in summary["log_history"] if "loss" in h]
    assert steps == list(range(1, STEPS + 1))  # steps 1-2 from the checkpoint, 3-4 from the resumed run
    assert (out / f"checkpoint-{STEPS}").is_dir()

    # it ends where the uninterrupted run ended: same losses, same weights
    whole_losses = [h["loss"] for h in whole.log_history if "loss" in h]
    resumed_losses = [h["loss"] for h in summary["log_history"] if "loss" in h]
    assert resumed_losses == pytest.approx(whole_losses, rel=1e-4)
    a, b = _weights(str(tmp_path / "whole")), _weights(str(out))
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=1e-5, msg=key)


def test_resume_without_a_checkpoint_says_how_to_get_one(tmp_path, train_build, capsys):
    from thud_cli.main import main

    recipe = _recipe(tmp_path, train_build, "fresh")
    recipe["dpo"]["trainer"]["save_strategy"] = "no"
    config_file = tmp_path / "recipe.yaml"
    config_file.write_text(yaml.safe_dump(recipe))
    assert main(["train", "dpo", "--config", str(config_file), "--resume"]) == 1
    err = capsys.readouterr().err
    assert "no checkpoint-N folder in" in err and "save_strategy: steps" in err
    with pytest.raises(ConfigError, match="not a checkpoint folder"):
        run_dpo(TrainConfig.from_dict(recipe), resume=str(tmp_path))
