"""Loading an omni checkpoint's model (its thinker when it has one), shared by the trainer and
the ``transformers`` adapter. Imports transformers only when called."""

from __future__ import annotations

import json
import os
from typing import Any

#: config model_type -> (transformers class, attribute holding the thinker or None)
OMNI_CLASSES: dict[str, tuple[str, str | None]] = {
    "qwen2_5_omni_thinker": ("Qwen2_5OmniThinkerForConditionalGeneration", None),
    "qwen2_5_omni": ("Qwen2_5OmniForConditionalGeneration", "thinker"),
    "qwen3_omni_moe_thinker": ("Qwen3OmniMoeThinkerForConditionalGeneration", None),
    "qwen3_omni_moe": ("Qwen3OmniMoeForConditionalGeneration", "thinker"),
}


def model_type(name_or_path: str) -> str:
    """The ``model_type`` of a local folder's ``config.json`` (or of a Hub id's config)."""
    config_file = os.path.join(name_or_path, "config.json")
    if os.path.isfile(config_file):
        with open(config_file, encoding="utf-8") as f:
            return json.load(f).get("model_type", "")
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(name_or_path).model_type


def load_pretrained_model(name_or_path: str, fallback: str, **load_kwargs: Any) -> Any:
    """An omni checkpoint's thinker (the part that reads media and writes text), or
    ``transformers.<fallback>`` for any other model (e.g. ``AutoModelForCausalLM``)."""
    import transformers

    kind = model_type(name_or_path)
    if kind in OMNI_CLASSES:
        cls_name, part = OMNI_CLASSES[kind]
        model = getattr(transformers, cls_name).from_pretrained(name_or_path, **load_kwargs)
        return getattr(model, part) if part else model
    return getattr(transformers, fallback).from_pretrained(name_or_path, **load_kwargs)
