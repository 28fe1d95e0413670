"""Thud's companion trainer: SFT warm-up, then DPO with TRL, on the ``preferences`` config.

Needs the ``train`` extra (torch, transformers, trl, peft, accelerate, pillow). Importing
this package does not import torch: the names below load on first use, so the ``thud``
command and the configs work on a core install.

>>> from thud_train import TrainConfig, run_sft, run_dpo          # doctest: +SKIP
>>> cfg = TrainConfig.from_yaml("thud_train/configs/qwen2_5_omni_3b.yaml")  # doctest: +SKIP
>>> run_sft(cfg); run_dpo(cfg)                                   # doctest: +SKIP
"""

from __future__ import annotations

from thud_dataset.lazy import lazy_exports

_LAZY = {
    "TrainConfig": ("config", "TrainConfig"),
    "MediaSettings": ("config", "MediaSettings"),
    "LoraSettings": ("config", "LoraSettings"),
    "StageSettings": ("config", "StageSettings"),
    "ConfigError": ("config", "ConfigError"),
    "run_sft": ("sft", "run_sft"),
    "build_sft_trainer": ("sft", "build_sft_trainer"),
    "run_dpo": ("dpo", "run_dpo"),
    "build_dpo_trainer": ("dpo", "build_dpo_trainer"),
    "OmniSFTCollator": ("collators", "OmniSFTCollator"),
    "OmniDPOCollator": ("collators", "OmniDPOCollator"),
    "load_model_and_processor": ("models", "load_model_and_processor"),
    "load_processor": ("models", "load_processor"),
    "load_preferences": ("data", "load_preferences"),
    "load_general_preferences": ("general_data", "load_general_preferences"),
    "mix_preferences": ("general_data", "mix_preferences"),
    "import_general": ("general_import", "import_general"),
    "ProbeEvalCallback": ("evaluation", "ProbeEvalCallback"),
    "load_eval_probes": ("evaluation", "load_eval_probes"),
    "save_full_omni": ("export", "save_full_omni"),
    "EvalSettings": ("config", "EvalSettings"),
}

__all__ = sorted(_LAZY)

__getattr__ = lazy_exports(__name__, _LAZY)
