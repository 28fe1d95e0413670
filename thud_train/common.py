"""What the SFT and DPO stages share: model loading, LoRA, TRL arguments, training with
resume, saving (the thinker alone, or inside the full Omni model)."""

from __future__ import annotations

import dataclasses
import difflib
import importlib.util
import json
import logging
import os
import typing
from dataclasses import dataclass, field
from typing import Any

from thud_train.config import ConfigError, LoraSettings, TrainConfig, coerce
from thud_train.models import load_model_and_processor

logger = logging.getLogger(__name__)

SUMMARY_FILE = "thud_train.json"

#: trainer keys older recipes use, and what replaced them (transformers 5 / TRL 1)
RENAMED_TRAINER_KEYS = {
    "warmup_ratio": "warmup_steps (a float in [0, 1) is a ratio of the total steps, e.g. 0.03)",
    "evaluation_strategy": "eval_strategy",
    "max_seq_length": "max_length",
    "logging_dir": "the TENSORBOARD_LOGGING_DIR environment variable (default: OUTPUT_DIR/runs/)",
}


@dataclass
class StageResult:
    """What a finished stage left: where, on what data, and TRL's log history."""

    stage: str
    output_dir: str
    data: dict[str, Any]
    log_history: list[dict[str, Any]] = field(default_factory=list)
    global_step: int = 0
    #: the checkpoint the run resumed from, if any
    resumed_from: str | None = None
    #: ``"thinker"``, ``"full"`` (thinker inside the full Omni model) or ``"adapter"``;
    #: empty on the processes that did not save (``accelerate launch``)
    layout: str = "thinker"


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


def default_report_to() -> str:
    """``"tensorboard"`` where TensorBoard is installed, else ``"none"``."""
    return "tensorboard" if importlib.util.find_spec("tensorboard") else "none"


def trainer_settings(config_cls: type, user: dict[str, Any], where: str) -> dict[str, Any]:
    """``user``'s keys checked against ``config_cls``'s fields, each value of its field's type.

    A key the class does not have is an error that says what replaced it (``warmup_ratio``
    became ``warmup_steps`` in transformers 5) or which field names are close; a value is
    converted to the type its field declares (:func:`thud_train.config.coerce`).
    """
    fields = {f.name for f in dataclasses.fields(config_cls) if f.init}
    hints = typing.get_type_hints(config_cls)
    out = {}
    for key, value in user.items():
        if key not in fields:
            hint = RENAMED_TRAINER_KEYS.get(key)
            if hint is None:
                close = difflib.get_close_matches(key, sorted(fields), n=3)
                hint = f"one of {close}" if close else None
            raise ConfigError(
                f"{where}: {config_cls.__name__} has no field {key!r}"
                + (f"; use {hint}" if hint else " (see the TRL and transformers docs of its fields)")
            )
        out[key] = coerce(value, hints.get(key, Any), f"{where}: {key}")
    return out


def trl_arguments(
    config_cls: type, output_dir: str, seed: int, user: dict[str, Any], where: str = "trainer", **ours: Any
):
    """``config_cls(**defaults | user | ours)``; ``ours`` are the settings the pipeline relies on."""
    user = trainer_settings(config_cls, user, where)
    clash = sorted(k for k in ours if k in user and user[k] != ours[k])
    if clash:
        raise ConfigError(f"{where}: setting(s) {clash} are fixed by thud_train and cannot be changed")
    defaults = {"report_to": default_report_to(), "save_strategy": "no", "logging_steps": 1}
    try:
        return config_cls(output_dir=output_dir, seed=seed, **{**defaults, **user, **ours})
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{where}: {config_cls.__name__}: {e}") from None


def load_stage_model(config: TrainConfig, stage: str) -> tuple[Any, Any, str]:
    return load_model_and_processor(config.model_for(stage), seed=config.seed)


def resolve_resume(output_dir: str, resume: bool | str | None) -> str | None:
    """The checkpoint folder a run resumes from: ``resume`` itself when it is a path, the
    newest ``checkpoint-N`` in ``output_dir`` when it is ``True``; ``None`` for a fresh run.

    Raises :class:`ConfigError` when there is nothing to resume from.
    """
    if not resume:
        return None
    from transformers.trainer_utils import get_last_checkpoint

    if isinstance(resume, str):
        if not os.path.isfile(os.path.join(resume, "trainer_state.json")):
            raise ConfigError(f"--resume {resume}: not a checkpoint folder (no trainer_state.json)")
        return resume
    last = get_last_checkpoint(output_dir) if os.path.isdir(output_dir) else None
    if last is None:
        raise ConfigError(
            f"--resume: no checkpoint-N folder in {output_dir}; a stage writes them when its "
            "trainer has save_strategy: steps (and save_steps), as the shipped recipes do"
        )
    return last


class ResumeLoadsLikeFromPretrained:
    """Trainer mixin: resuming reads a full model's checkpoint weights the way
    ``from_pretrained`` does.

    ``Trainer._load_from_checkpoint`` loads ``model.safetensors`` with a raw
    ``load_state_dict``, but ``save_pretrained`` wrote it in the checkpoint's original key
    layout (transformers' conversion mapping, e.g. the Qwen-Omni thinker's ``model.layers``
    for ``model.language_model.layers``): no key matches, and a resumed run silently goes on
    from the *initial* weights (huggingface/transformers#43701, open in 5.24). Here the
    checkpoint is loaded with ``from_pretrained`` and copied in, every key required. LoRA
    adapters, FSDP and DeepSpeed checkpoints keep the trainer's own path.
    """

    def _load_from_checkpoint(self, resume_from_checkpoint: str, model: Any = None) -> None:
        from peft import PeftModel
        from transformers import PreTrainedModel

        target = self.model if model is None else model
        plain = isinstance(target, PreTrainedModel) and not isinstance(target, PeftModel)
        sharded = getattr(self, "is_fsdp_enabled", False) or getattr(self, "is_deepspeed_enabled", False)
        if plain and not sharded and os.path.isfile(os.path.join(resume_from_checkpoint, "config.json")):
            dtype = next(target.parameters()).dtype
            restored = type(target).from_pretrained(resume_from_checkpoint, dtype=dtype)
            target.load_state_dict(restored.state_dict())
            return
        super()._load_from_checkpoint(resume_from_checkpoint, model)


def pin_tensorboard_dir(trainer: Any) -> None:
    """Point the TensorBoard callback at ``OUTPUT_DIR/runs/<time>_<host>`` now.

    transformers sets that folder in ``on_train_begin``; anything logged before (a
    ``trainer.evaluate()`` before ``train()``) would otherwise go to ``./runs`` in the
    current directory. ``TENSORBOARD_LOGGING_DIR`` still wins.
    """
    from transformers.integrations import TensorBoardCallback
    from transformers.integrations.integration_utils import default_logdir

    for callback in trainer.callback_handler.callbacks:
        if isinstance(callback, TensorBoardCallback) and callback.logging_dir is None:
            callback.logging_dir = os.path.join(trainer.args.output_dir, default_logdir())


def with_resume_fix(trainer_class: type) -> type:
    """``trainer_class`` (TRL's ``SFTTrainer`` / ``DPOTrainer``) with
    :class:`ResumeLoadsLikeFromPretrained`."""
    return type(f"Thud{trainer_class.__name__}", (ResumeLoadsLikeFromPretrained, trainer_class), {})


def train_stage(trainer: Any, checkpoint: str | None) -> None:
    """``trainer.train()``, from ``checkpoint`` (:func:`resolve_resume`) when given."""
    if checkpoint:
        logger.info("resuming from %s", checkpoint)
    trainer.train(resume_from_checkpoint=checkpoint)


def save_stage(
    trainer: Any,
    processing: Any,
    output_dir: str,
    lora: LoraSettings,
    base: str | None = None,
    save_full_model: bool | str = False,
) -> tuple[Any, str]:
    """Save model and processing class to ``output_dir``; a LoRA adapter is merged if asked.

    With ``save_full_model`` (``True``, or ``"auto"`` when ``base`` is a full Omni
    checkpoint) the trained thinker is saved inside ``base``'s full model
    (:func:`thud_train.export.save_full_omni`). Returns the model that was saved (the merged
    one for a merged adapter) and the layout: ``"thinker"``, ``"full"`` or ``"adapter"``.
    """
    from peft import PeftModel

    from thud_train.export import is_full_omni, save_full_omni

    model = trainer.model
    if isinstance(model, PeftModel) and lora.merge:
        model = model.merge_and_unload()
    full = save_full_model is True or (save_full_model == "auto" and base is not None and is_full_omni(base))
    if save_full_model is True and (base is None or not is_full_omni(base)):
        raise ConfigError(
            f"save_full_model: true needs a stage that starts from a full Omni checkpoint "
            f"(thinker + talker); {base!r} is not one"
        )
    os.makedirs(output_dir, exist_ok=True)
    if isinstance(model, PeftModel):
        if full:
            logger.warning(
                "lora.merge is false: %s holds a LoRA adapter of the thinker, not the full model",
                output_dir,
            )
        layout = "adapter"
        model.save_pretrained(output_dir)
    elif full:
        layout = "full"
        save_full_omni(model, base, output_dir)
    else:
        layout = "thinker"
        model.save_pretrained(output_dir)
    processing.save_pretrained(output_dir)
    return model, layout


def finish_stage(
    name: str, trainer: Any, processing: Any, config: TrainConfig, info: dict, resumed_from: str | None
) -> StageResult:
    """Save the trained stage (:func:`save_stage`) and its summary, from the main process only
    (under ``accelerate launch`` every process gets here; one writes)."""
    stage = config.stage(name)
    accelerator = trainer.accelerator
    layout = ""
    if accelerator.is_main_process:
        _, layout = save_stage(
            trainer, processing, stage.output_dir, config.lora, info["base"], config.save_full_model
        )
    data = {**info, "processes": accelerator.num_processes}
    result = StageResult(
        name, stage.output_dir, data, trainer.state.log_history, trainer.state.global_step, resumed_from, layout
    )
    if accelerator.is_main_process:
        write_summary(result, config)
    accelerator.wait_for_everyone()
    return result


def write_summary(result: StageResult, config: TrainConfig) -> None:
    summary = {
        "stage": result.stage,
        "data": result.data,
        "global_step": result.global_step,
        "resumed_from": result.resumed_from,
        "layout": result.layout,
        "config": config.to_dict(),
        "log_history": result.log_history,
    }
    with open(os.path.join(result.output_dir, SUMMARY_FILE), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2, default=str)
