"""A local ``transformers`` causal LM as the answer judge (``--judge transformers:PATH``).

Importing this module registers the ``transformers`` scheme with
:func:`thud_metrics.judge.make_judge` (re-exported here and as ``thud_models.make_judge``),
so ``make_judge("transformers:/models/qwen2.5-7b-instruct")`` works. The checkpoint must be a
local folder: nothing is downloaded at run time. torch and transformers are imported when a
judge is built (the ``train`` extra).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from thud_metrics.judge import JudgeError, make_judge, register_judge_backend, replies_with_progress
from thud_metrics.parsing import judge_prompt

__all__ = ["TransformersJudge", "make_judge"]

logger = logging.getLogger(__name__)


class TransformersJudge:
    """Greedy replies of a local causal LM to :data:`~thud_metrics.parsing.JUDGE_PROMPT`.

    Parameters
    ----------
    path : str
        A local checkpoint folder (config, weights, tokenizer).
    device : str, optional
        ``"cuda"``, ``"cpu"``...; default CUDA when available.
    max_new_tokens : int
        Reply length limit (the protocol asks for one word). A reasoning model that thinks
        first needs more, or its thinking switched off (``enable_thinking=False`` is passed
        to chat templates that take it).
    dtype : str, optional
        e.g. ``"bfloat16"``; default the checkpoint's.
    """

    def __init__(self, path: str, *, device: str | None = None, max_new_tokens: int = 8, dtype: str | None = None):
        folder = Path(path).expanduser()
        if not (folder / "config.json").is_file():
            raise JudgeError(
                f"transformers judge: {path!r} is not a local checkpoint folder with a config.json "
                "(nothing is downloaded at run time)"
            )
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        kwargs: dict[str, Any] = {"local_files_only": True}
        if dtype is not None:
            kwargs["dtype"] = getattr(torch, dtype)
        self.model = AutoModelForCausalLM.from_pretrained(folder, **kwargs).to(self.device).eval()
        self.max_new_tokens = max_new_tokens
        self.name = f"transformers:{folder.resolve()}"

    def __repr__(self) -> str:
        return f"TransformersJudge({self.name!r})"

    def _text(self, prompt: str) -> str:
        if not getattr(self.tokenizer, "chat_template", None):
            return prompt
        messages = [{"role": "user", "content": prompt}]
        return self.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True, enable_thinking=False
        )

    def __call__(self, answer: str, dimension: str | None) -> str:
        import torch

        inputs = self.tokenizer(self._text(judge_prompt(answer, dimension)), return_tensors="pt").to(self.device)
        with torch.no_grad():
            out = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
        return self.tokenizer.decode(out[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)

    def iter_replies(self, items: list[tuple[str, str | None]]) -> Iterator[str]:
        return (self(answer, dimension) for answer, dimension in items)

    def judge_many(self, items: list[tuple[str, str | None]]) -> list[str]:
        return list(replies_with_progress(self, items))


register_judge_backend("transformers", TransformersJudge)
