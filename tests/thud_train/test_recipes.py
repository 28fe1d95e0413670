"""Every shipped recipe runs to its first optimizer step, and ``--set`` keeps field types.

Each recipe in ``thud_train/configs/`` is loaded as shipped and run for one optimizer step of
each stage on the tiny model of its family, with its trainer settings kept (bf16, activation
checkpointing, warm-up ratio, scheduler, checkpoint schedule, LoRA...) except what a CPU
needs: the tiny stand-in model, ``use_cpu``, one step of two accumulated micro-batches, small
frames, and a listening check on one clip with two-token answers. A transformers / TRL upgrade that breaks a recipe fails here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

for _name in ("torch", "transformers", "trl", "peft"):
    pytest.importorskip(_name, reason=f"{_name} is not installed (pip install -e '.[train]')")

from trl import DPOConfig, SFTConfig  # noqa: E402

from thud_train.common import trl_arguments  # noqa: E402
from thud_train.config import EXAMPLES_DIR, ConfigError, TrainConfig  # noqa: E402
from thud_train.dpo import build_dpo_trainer  # noqa: E402
from thud_train.models import tiny_stand_in  # noqa: E402
from thud_train.sft import build_sft_trainer  # noqa: E402

RECIPES = sorted(p.stem for p in EXAMPLES_DIR.glob("*.yaml"))

#: what the CPU run changes in a recipe's trainer mapping (everything else is kept)
CPU_TRAINER = {"max_steps": 1, "use_cpu": True}


def test_the_shipped_recipes():
    assert {"tiny_omni", "qwen2_5_omni_3b", "qwen3_omni_30b_a3b"} <= set(RECIPES)
    qwen3 = TrainConfig.from_yaml("qwen3_omni_30b_a3b")
    assert tiny_stand_in(qwen3.model) == "tiny-qwen3-omni"
    for name in RECIPES:
        config = TrainConfig.from_yaml(name)
        if config.model.startswith("tiny-"):
            continue
        for stage in (config.sft, config.dpo):
            # checkpoints on a schedule, so a killed run can --resume
            assert stage.trainer["save_strategy"] == "steps" and stage.trainer["save_steps"] > 0, name
        assert config.eval.every_steps > 0, f"{name}: no listening check"
        if config.dpo.general_fraction > 0:
            assert config.dpo.general_data, name


def _cpu_overrides(config: TrainConfig, stage: str, tmp: Path, dataset: Path, general: Path) -> list[str]:
    trainer = getattr(config, stage).trainer
    accumulate = min(2, int(trainer.get("gradient_accumulation_steps", 1)))
    out = [
        f"model={tiny_stand_in(config.model)}",
        f"dataset={dataset}",
        f"sft.output_dir={tmp / 'sft'}",  # not there: dpo starts from the model
        f"{stage}.output_dir={tmp / stage}",
        f"{stage}.trainer.gradient_accumulation_steps={accumulate}",
        "media.max_frames=4",
        "media.max_pixels=4704",
        "eval.num_clips=1",  # the recipe's check, on one clip's probes, two tokens an answer
        "eval.max_new_tokens=2",
    ]
    out += [f"{stage}.trainer.{k}={str(v).lower()}" for k, v in CPU_TRAINER.items()]
    if stage == "dpo" and config.dpo.general_data:
        out.append(f"dpo.general_data={general}")  # made by the documented importer
    return out


@pytest.mark.parametrize("stage", ["sft", "dpo"])
@pytest.mark.parametrize("recipe", RECIPES)
def test_recipe_reaches_its_first_optimizer_step(recipe, stage, tmp_path, train_build, llava_hound_general):
    shipped = TrainConfig.from_yaml(recipe)
    config = TrainConfig.from_yaml(
        recipe, _cpu_overrides(shipped, stage, tmp_path, train_build, llava_hound_general)
    )
    build = build_sft_trainer if stage == "sft" else build_dpo_trainer
    trainer, _, info = build(config)
    # the recipe's trainer settings reached TRL, each as its field's type
    cls = SFTConfig if stage == "sft" else DPOConfig
    changed = {"gradient_accumulation_steps", *CPU_TRAINER}
    kept = {k: v for k, v in getattr(shipped, stage).trainer.items() if k not in changed}
    for key, value in kept.items():
        got = getattr(trainer.args, key)
        assert got == value, (recipe, key, got, value)  # enums are str enums: "cosine" == COSINE
    assert isinstance(trainer.args, cls) and trainer.args.max_steps == 1
    if stage == "dpo" and shipped.dpo.general_fraction > 0:
        assert any(k.startswith("general:llava-hound") for k in info["by_origin"]), info
    trainer.train()
    assert trainer.state.global_step == 1
    # the step's gradients, as the optimizer saw them (the first step's learning rate may be
    # 0 under a warm-up, so the weights themselves need not move)
    names = {id(p): n for n, p in trainer.model.named_parameters()}
    stepped = [
        names[id(p)]
        for group in trainer.optimizer.param_groups
        for p in group["params"]
        if p in trainer.optimizer.state and trainer.optimizer.state[p]["exp_avg"].abs().sum() > 0
    ]
    assert stepped, f"{recipe} {stage}: no gradient reached the optimizer"
    # the sound reached the loss: the audio tower got gradients (its adapters, under LoRA)
    assert any("audio_tower" in n for n in stepped), f"{recipe} {stage}: no gradient in the audio tower"
    if shipped.lora.enabled:
        assert all("lora_" in n for n in stepped)
    # the recipe's listening check answered its probes before the first step
    (check,) = [h for h in trainer.state.log_history if "thud/avg_gap" in h]
    assert check["step"] == 0 and check["thud/probes"] == 7  # one clip: 3 originals, 2 shifts, mute, swap


# -- --set keeps the type a field expects -------------------------------------------------


def test_set_values_take_the_type_of_their_field(tmp_path):
    config = TrainConfig.from_yaml(
        "tiny_omni",
        [
            "dpo.trainer.save_strategy=no",  # YAML 1.1 would make this False
            "sft.trainer.learning_rate=1e-4",  # and this the text "1e-4"
            "sft.trainer.logging_steps=5",
            "dpo.trainer.beta=1",  # an int where a float is expected
            "lora.enabled=yes",  # a boolean field reads yes/no
            "model=2024",  # a text field keeps a number as text
            "eval.num_clips=3",
        ],
    )
    assert config.dpo.trainer["save_strategy"] == "no"
    assert config.sft.trainer["learning_rate"] == 1e-4
    assert config.lora.enabled is True and config.model == "2024" and config.eval.num_clips == 3
    dpo = trl_arguments(DPOConfig, str(tmp_path), 0, config.dpo.trainer, "dpo.trainer")
    assert dpo.save_strategy == "no" and isinstance(dpo.beta, float)
    sft = trl_arguments(SFTConfig, str(tmp_path), 0, config.sft.trainer, "sft.trainer")
    assert sft.learning_rate == 1e-4 and sft.logging_steps == 5

    with pytest.raises(ConfigError, match=r"sft.trainer: max_steps: expected an integer, got str 'many'"):
        trl_arguments(SFTConfig, str(tmp_path), 0, {"max_steps": "many"}, "sft.trainer")
    with pytest.raises(ConfigError, match=r"has no field 'warmup_ratio'; use warmup_steps \(a float in \[0, 1\)"):
        trl_arguments(SFTConfig, str(tmp_path), 0, {"warmup_ratio": 0.03}, "sft.trainer")
    with pytest.raises(ConfigError, match=r"no field 'lerning_rate'; use one of \['learning_rate'"):
        trl_arguments(SFTConfig, str(tmp_path), 0, {"lerning_rate": 0.1}, "sft.trainer")
    with pytest.raises(ConfigError, match=r"lora: enabled: expected a boolean, got str 'maybe'"):
        TrainConfig.from_yaml("tiny_omni", ["lora.enabled=maybe"])
    with pytest.raises(ConfigError, match="save_full_model must be true, false or auto"):
        TrainConfig.from_yaml("tiny_omni", ["save_full_model=sometimes"])


def test_cli_set_save_strategy_no_runs(tmp_path, train_build, monkeypatch):
    """The issue's command line: ``--set dpo.trainer.save_strategy=no`` reaches TRL as "no"."""
    from thud_cli.main import main

    monkeypatch.chdir(tmp_path)
    code = main([
        "train", "dpo", "--config", "tiny_omni", "--dataset", str(train_build),
        "--set", "dpo.trainer.save_strategy=no", "--set", "dpo.trainer.max_steps=1",
        "--set", "dpo.trainer.per_device_train_batch_size=2", "--set", "eval.every_steps=0",
    ])
    assert code == 0
    out = tmp_path / "runs" / "tiny-omni-dpo"
    summary = json.loads((out / "thud_train.json").read_text())
    assert summary["global_step"] == 1 and summary["config"]["dpo"]["trainer"]["save_strategy"] == "no"
    assert not list(out.glob("checkpoint-*"))  # "no" meant no checkpoints, not an error


def test_thud_train_help_lists_the_subcommands():
    out = subprocess.run(
        [sys.executable, "-m", "thud_cli.main", "train", "--help"], capture_output=True, text=True, check=True
    )
    assert "import-general" in out.stdout and "sft" in out.stdout and "dpo" in out.stdout
