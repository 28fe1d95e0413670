"""The trained thinker, saved where users serve it: inside the full Omni model.

A stage trains an Omni checkpoint's *thinker* (video + audio in, text out); the talker and
the vocoder are not loaded. Servers and harnesses (vLLM, lmms-eval, the model cards'
examples) load the full model (``Qwen2_5OmniForConditionalGeneration``,
``Qwen3OmniMoeForConditionalGeneration``), so :func:`save_full_omni` writes the trained
thinker into the full model of the checkpoint the stage started from, with that
checkpoint's talker, vocoder and speaker files unchanged.
"""

from __future__ import annotations

import logging
import os
import shutil
from typing import Any

from thud_models.omni.loading import OMNI_CLASSES, model_type

logger = logging.getLogger(__name__)

#: files a full Omni checkpoint needs besides its config and weights (Qwen2.5-Omni's
#: ``from_pretrained`` refuses a folder without its speaker table)
EXTRA_FILES = ("spk_dict.pt",)


def is_full_omni(name_or_path: str) -> bool:
    """Whether ``name_or_path`` is a full Omni checkpoint (a thinker plus a talker)."""
    if name_or_path in ("", None) or name_or_path.startswith("tiny-"):
        return False
    try:
        kind = model_type(name_or_path)
    except (OSError, ValueError):
        return False
    return kind in OMNI_CLASSES and OMNI_CLASSES[kind][1] is not None


def save_full_omni(thinker: Any, base: str, output_dir: str) -> None:
    """Save ``thinker`` inside ``base``'s full Omni model to ``output_dir``.

    ``base`` is the full checkpoint (folder or Hub id) the thinker was trained from; its
    talker, vocoder, config and :data:`EXTRA_FILES` are kept. The result loads with the full
    class's ``from_pretrained`` (and, through :mod:`thud_models.omni.loading`, as a thinker
    again for the next stage or ``thud run``). Needs memory for ``base`` once more.

    Raises ``ValueError`` when ``base`` is not a full Omni checkpoint or its thinker does not
    have the trained thinker's parameters (a different size).
    """
    import transformers
    from transformers.utils.hub import cached_file

    kind = model_type(base)
    if kind not in OMNI_CLASSES or OMNI_CLASSES[kind][1] is None:
        raise ValueError(f"{base}: not a full Omni checkpoint (model_type {kind!r})")
    cls_name, part = OMNI_CLASSES[kind]
    dtype = next(thinker.parameters()).dtype
    full = getattr(transformers, cls_name).from_pretrained(base, dtype=dtype)
    target = getattr(full, part)
    trained = thinker.state_dict()
    missing, unexpected = target.load_state_dict(trained, strict=False)
    if missing or unexpected:
        raise ValueError(
            f"{base}: its {part} does not match the trained thinker "
            f"(missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    full.save_pretrained(output_dir)
    for name in EXTRA_FILES:
        path = cached_file(base, name, _raise_exceptions_for_missing_entries=False)
        if path:
            shutil.copy2(path, os.path.join(output_dir, name))
    logger.info("saved the trained %s inside the full %s to %s", part, cls_name, output_dir)
