"""Stage 1: SFT warm-up on the chosen (audio-verifying) responses, with TRL's ``SFTTrainer``.

The warm-up establishes the response pattern ("the crash is seen at 2.1 s but heard at
2.6 s: the audio is delayed") before DPO teaches the preference over the visual shortcut.
"""

from __future__ import annotations

from typing import Any

from datasets import Dataset

from thud_train.common import (
    StageResult,
    finish_stage,
    load_stage_model,
    peft_config,
    pin_tensorboard_dir,
    resolve_resume,
    train_stage,
    trainer_settings,
    trl_arguments,
    with_resume_fix,
)
from thud_train.config import TrainConfig
from thud_train.data import describe, load_preferences, sft_dataset


def build_sft_trainer(
    config: TrainConfig,
    preferences: Dataset | None = None,
    model: Any = None,
    processing: Any = None,
    callbacks: list | None = None,
):
    """A ready ``SFTTrainer`` for ``config`` (not yet trained) and the data it uses.

    ``preferences`` defaults to ``config.dataset``'s preferences config; ``model`` and
    ``processing`` to the stage's model. ``callbacks`` are added to the trainer's, after the
    listening check of ``config.eval`` (:mod:`thud_train.evaluation`) when it is on.
    Returns ``(trainer, processing, data_info)``; ``data_info["base"]`` is the checkpoint
    the model was loaded from (None for a model passed in).
    """
    from trl import SFTConfig, SFTTrainer

    from thud_train.collators import OmniSFTCollator, media_kind
    from thud_train.evaluation import attach_probe_eval

    stage = config.sft
    trainer_settings(SFTConfig, stage.trainer, "sft.trainer")  # a bad key fails before any loading
    base = None
    if model is None:
        base = config.model_for("sft")
        model, processing, kind = load_stage_model(config, "sft")
    else:
        kind = media_kind(processing)
    rows = load_preferences(
        preferences if preferences is not None else config.dataset, stage.max_samples, config.seed
    )
    train = sft_dataset(rows, kind, config.system_prompt)
    if kind == "text":
        # TRL's own path: conversational prompt/completion, loss on the completion only
        args = trl_arguments(SFTConfig, stage.output_dir, config.seed, stage.trainer, "sft.trainer")
        collator = None
    else:
        args = trl_arguments(
            SFTConfig,
            stage.output_dir,
            config.seed,
            stage.trainer,
            "sft.trainer",
            remove_unused_columns=False,  # the collator needs "video" and "prompt"
            dataset_kwargs={"skip_prepare_dataset": True},
        )
        collator = OmniSFTCollator(
            processing, config.media, config.system_prompt, max_length=args.max_length
        )
    trainer = with_resume_fix(SFTTrainer)(
        model=model,
        args=args,
        train_dataset=train,
        processing_class=processing,
        data_collator=collator,
        peft_config=peft_config(config.lora),
    )
    pin_tensorboard_dir(trainer)
    attach_probe_eval(trainer, config, processing, kind)
    for callback in callbacks or []:
        trainer.add_callback(callback)
    return trainer, processing, {"kind": kind, "base": base, **describe(rows)}


def run_sft(
    config: TrainConfig,
    preferences: Dataset | None = None,
    resume: bool | str | None = None,
    callbacks: list | None = None,
) -> StageResult:
    """Train the SFT stage and save model + processor to ``config.sft.output_dir``.

    ``resume``: ``True`` continues from the newest ``checkpoint-N`` in the output folder, a
    path from that checkpoint (the trainer's ``save_strategy`` decides when they are written).
    """
    resumed_from = resolve_resume(config.sft.output_dir, resume)  # before any loading
    trainer, processing, info = build_sft_trainer(config, preferences, callbacks=callbacks)
    train_stage(trainer, resumed_from)
    return finish_stage("sft", trainer, processing, config, info, resumed_from)
