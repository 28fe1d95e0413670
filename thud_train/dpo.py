"""Stage 2: DPO on Thud's preference pairs mixed with general video preferences (TRL ``DPOTrainer``).

Chosen responses verify the audio; rejected ones follow the visual shortcut (paper 2.2).
General video pairs (``dpo.general_data``, share ``dpo.general_fraction``) keep the model
from over-specialising to interventions (paper 2.3).
"""

from __future__ import annotations

import copy
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
from thud_train.data import describe, dpo_dataset, load_preferences
from thud_train.general_data import load_general_preferences, mix_preferences


def build_dpo_trainer(
    config: TrainConfig,
    preferences: Dataset | None = None,
    general: Dataset | None = None,
    model: Any = None,
    processing: Any = None,
    callbacks: list | None = None,
):
    """A ready ``DPOTrainer`` for ``config`` (not yet trained) and the data it uses.

    ``preferences`` defaults to ``config.dataset``'s preferences config, ``general`` to
    ``config.dpo.general_data`` (read with :func:`load_general_preferences`); ``model`` and
    ``processing`` to the stage's model (the SFT output when it exists). ``callbacks`` are
    added after the listening check of ``config.eval`` when it is on. Returns
    ``(trainer, processing, data_info)``; ``data_info["base"]`` is the checkpoint the model
    was loaded from (None for a model passed in).
    """
    from trl import DPOConfig, DPOTrainer

    from thud_train.collators import OmniDPOCollator, media_kind
    from thud_train.evaluation import attach_probe_eval

    stage = config.dpo
    trainer_settings(DPOConfig, stage.trainer, "dpo.trainer")  # a bad key fails before any loading
    if general is None and stage.general_data and stage.general_fraction > 0:
        # before the model: a missing file fails in a second, not after a 10 GB load
        general = load_general_preferences(stage.general_data)
    base = None
    if model is None:
        base = config.model_for("dpo")
        model, processing, kind = load_stage_model(config, "dpo")
    else:
        kind = media_kind(processing)
    rows = load_preferences(preferences if preferences is not None else config.dataset)
    mixed, report = mix_preferences(
        rows, general, stage.general_fraction, seed=config.seed, max_samples=stage.max_samples
    )
    train = dpo_dataset(mixed, kind, config.system_prompt)
    lora = peft_config(config.lora)
    if kind == "text":
        args = trl_arguments(DPOConfig, stage.output_dir, config.seed, stage.trainer, "dpo.trainer")
        collator = None
    else:
        args = trl_arguments(
            DPOConfig,
            stage.output_dir,
            config.seed,
            stage.trainer,
            "dpo.trainer",
            remove_unused_columns=False,  # the collator needs "video" and the texts
        )
        collator = OmniDPOCollator(
            processing, config.media, config.system_prompt, max_length=args.max_length
        )
    # The frozen reference: with LoRA, the base model under disabled adapters; otherwise a
    # copy (TRL would reload it by name, which a model built in memory does not have).
    ref_model = None if lora is not None else copy.deepcopy(model).eval()
    trainer = with_resume_fix(DPOTrainer)(
        model=model,
        ref_model=ref_model,
        args=args,
        train_dataset=train,
        processing_class=processing,
        data_collator=collator,
        peft_config=lora,
    )
    pin_tensorboard_dir(trainer)
    attach_probe_eval(trainer, config, processing, kind)
    for callback in callbacks or []:
        trainer.add_callback(callback)
    info = {"kind": kind, "base": base, "mix": str(report), **describe(mixed)}
    return trainer, processing, info


def run_dpo(
    config: TrainConfig,
    preferences: Dataset | None = None,
    general: Dataset | None = None,
    resume: bool | str | None = None,
    callbacks: list | None = None,
) -> StageResult:
    """Train the DPO stage and save model + processor to ``config.dpo.output_dir``.

    ``resume`` as in :func:`thud_train.sft.run_sft`.
    """
    resumed_from = resolve_resume(config.dpo.output_dir, resume)  # before any loading
    trainer, processing, info = build_dpo_trainer(config, preferences, general, callbacks=callbacks)
    train_stage(trainer, resumed_from)
    return finish_stage("dpo", trainer, processing, config, info, resumed_from)
