"""Load the model a stage trains, with its processing class.

Omni checkpoints are trained through their *thinker* (the part that reads video and audio
and writes text); a full Qwen2.5-Omni / Qwen3-Omni checkpoint is loaded and its thinker kept.
Anything else loads with ``AutoModelForImageTextToText`` when its processor has a video
processor, else ``AutoModelForCausalLM``.
"""

from __future__ import annotations

from typing import Any

from thud_models.omni.loading import load_pretrained_model
from thud_models.omni.processing import load_processor
from thud_train.collators import media_kind

#: model names that build a tiny random-weight model here instead of loading one
TINY_MODELS = ("tiny-omni", "tiny-causal-lm")


def load_model_and_processor(
    name_or_path: str, dtype: str | None = None, seed: int = 0
) -> tuple[Any, Any, str]:
    """``(model, processing_class, kind)``; ``kind`` is what :func:`media_kind` says."""
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
    fallback = "AutoModelForCausalLM" if kind == "text" else "AutoModelForImageTextToText"
    model = load_pretrained_model(name_or_path, fallback, **kwargs)
    return model, processing, kind
