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
TINY_MODELS = ("tiny-omni", "tiny-qwen3-omni", "tiny-causal-lm")

#: the tiny model that stands in for a published family in smoke tests of its recipe
#: (lower-cased name fragment -> tiny model; the first match wins)
TINY_STAND_INS = (("qwen3-omni", "tiny-qwen3-omni"), ("qwen2.5-omni", "tiny-omni"))


def tiny_stand_in(name_or_path: str) -> str:
    """The tiny model of ``name_or_path``'s family (``Qwen/Qwen3-Omni-30B-A3B-Instruct`` ->
    ``tiny-qwen3-omni``); a tiny name is its own stand-in.

    Raises ``ValueError`` for a family without one, so a new recipe cannot skip its smoke test.

    >>> tiny_stand_in("Qwen/Qwen2.5-Omni-3B"), tiny_stand_in("tiny-omni")
    ('tiny-omni', 'tiny-omni')
    """
    if name_or_path in TINY_MODELS:
        return name_or_path
    lowered = name_or_path.lower()
    for fragment, tiny in TINY_STAND_INS:
        if fragment in lowered:
            return tiny
    raise ValueError(f"no tiny stand-in for {name_or_path!r}; add its family to TINY_STAND_INS")


def load_model_and_processor(
    name_or_path: str, dtype: str | None = None, seed: int = 0
) -> tuple[Any, Any, str]:
    """``(model, processing_class, kind)``; ``kind`` is what :func:`media_kind` says."""
    if name_or_path in ("tiny-omni", "tiny-qwen3-omni"):
        from thud_train.tiny import tiny_omni_processor, tiny_omni_thinker, tiny_qwen3_omni_thinker

        if name_or_path == "tiny-omni":
            processor = tiny_omni_processor()
            model = tiny_omni_thinker(processor.tokenizer, seed=seed)
        else:
            processor = tiny_omni_processor(family="qwen3_omni")
            model = tiny_qwen3_omni_thinker(processor.tokenizer, seed=seed)
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
