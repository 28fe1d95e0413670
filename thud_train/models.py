"""Load the model a stage trains, with its processing class.

Omni checkpoints are trained through their *thinker* (the part that reads video and audio
and writes text); a full Qwen2.5-Omni / Qwen3-Omni checkpoint is loaded and its thinker kept.
Anything else loads with ``AutoModelForImageTextToText`` when its processor has a video
processor, else ``AutoModelForCausalLM``.
"""

from __future__ import annotations

import json
import os
from typing import Any

from thud_train.collators import media_kind
from thud_train.processing import load_processor

#: model names that build a tiny random-weight model here instead of loading one
TINY_MODELS = ("tiny-omni", "tiny-causal-lm")

#: config model_type -> (transformers class, attribute holding the thinker or None)
_OMNI_CLASSES: dict[str, tuple[str, str | None]] = {
    "qwen2_5_omni_thinker": ("Qwen2_5OmniThinkerForConditionalGeneration", None),
    "qwen2_5_omni": ("Qwen2_5OmniForConditionalGeneration", "thinker"),
    "qwen3_omni_moe_thinker": ("Qwen3OmniMoeThinkerForConditionalGeneration", None),
    "qwen3_omni_moe": ("Qwen3OmniMoeForConditionalGeneration", "thinker"),
}


def _model_type(name_or_path: str) -> str:
    config_file = os.path.join(name_or_path, "config.json")
    if os.path.isfile(config_file):
        with open(config_file, encoding="utf-8") as f:
            return json.load(f).get("model_type", "")
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(name_or_path).model_type


def load_model_and_processor(
    name_or_path: str, dtype: str | None = None, seed: int = 0
) -> tuple[Any, Any, str]:
    """``(model, processing_class, kind)``; ``kind`` is what :func:`media_kind` says."""
    import transformers

    if name_or_path == "tiny-omni":
        from thud_train.tiny import tiny_omni_processor, tiny_omni_thinker

        processor = tiny_omni_processor()
        model = tiny_omni_thinker(processor.tokenizer, seed=seed)
        return model, processor, media_kind(processor)
    if name_or_path == "tiny-causal-lm":
        from thud_train.tiny import tiny_causal_lm, tiny_tokenizer

        tokenizer = tiny_tokenizer()
        return tiny_causal_lm(tokenizer, seed=seed), tokenizer, "text"

    kwargs: dict[str, Any] = {}
    if dtype:
        kwargs["dtype"] = dtype
    processing = load_processor(name_or_path)
    kind = media_kind(processing)
    model_type = _model_type(name_or_path)
    if model_type in _OMNI_CLASSES:
        cls_name, part = _OMNI_CLASSES[model_type]
        model = getattr(transformers, cls_name).from_pretrained(name_or_path, **kwargs)
        if part:
            model = getattr(model, part)
    elif kind == "text":
        model = transformers.AutoModelForCausalLM.from_pretrained(name_or_path, **kwargs)
    else:
        model = transformers.AutoModelForImageTextToText.from_pretrained(name_or_path, **kwargs)
    return model, processing, kind
