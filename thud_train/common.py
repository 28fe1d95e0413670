"""What the SFT and DPO stages share: model loading, LoRA, TRL arguments, saving."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from thud_train.config import ConfigError, LoraSettings, TrainConfig
from thud_train.models import load_model_and_processor

SUMMARY_FILE = "thud_train.json"


@dataclass
class StageResult:
    """What a finished stage left: where, on what data, and TRL's log history."""

    stage: str
    output_dir: str
    data: dict[str, Any]
    log_history: list[dict[str, Any]] = field(default_factory=list)


def peft_config(lora: LoraSettings):
    """A ``peft.LoraConfig`` for the causal-LM task, or None when LoRA is off."""
    if not lora.enabled:
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=lora.target_modules,
        task_type="CAUSAL_LM",
    )


def trl_arguments(config_cls: type, output_dir: str, seed: int, user: dict[str, Any], **ours: Any):
    """``config_cls(**defaults | user | ours)``; ``ours`` are the settings the pipeline relies on."""
    clash = sorted(k for k in ours if k in user and user[k] != ours[k])
    if clash:
        raise ConfigError(f"trainer setting(s) {clash} are fixed by thud_train and cannot be changed")
    defaults = {"report_to": "none", "save_strategy": "no", "logging_steps": 1}
    try:
        return config_cls(output_dir=output_dir, seed=seed, **{**defaults, **user, **ours})
    except TypeError as e:
        raise ConfigError(f"{config_cls.__name__}: {e}") from None


def load_stage_model(config: TrainConfig, stage: str) -> tuple[Any, Any, str]:
    return load_model_and_processor(config.model_for(stage), seed=config.seed)


def save_stage(trainer: Any, processing: Any, output_dir: str, lora: LoraSettings) -> Any:
    """Save model and processing class to ``output_dir``; a LoRA adapter is merged if asked.

    Returns the model that was saved (the merged one for a merged adapter).
    """
    from peft import PeftModel

    model = trainer.model
    if isinstance(model, PeftModel) and lora.merge:
        model = model.merge_and_unload()
    os.makedirs(output_dir, exist_ok=True)
    model.save_pretrained(output_dir)
    processing.save_pretrained(output_dir)
    return model


def write_summary(result: StageResult, config: TrainConfig) -> None:
    summary = {
        "stage": result.stage,
        "data": result.data,
        "config": config.to_dict(),
        "log_history": result.log_history,
    }
    with open(os.path.join(result.output_dir, SUMMARY_FILE), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2, default=str)
