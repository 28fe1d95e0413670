"""``--model thud_answerer``: lmms-eval asks a Thud answerer (a baseline or a served model).

Imported by lmms-eval only (it needs ``lmms_eval``); see the package docstring.
"""

from __future__ import annotations

from typing import Any

from lmms_eval.api.instance import Instance
from lmms_eval.api.model import lmms
from tqdm import tqdm

from thud_models.registry import make_answerer


class ThudAnswererBase(lmms):
    """What both Thud models share: the answerer built from ``--model_args``.

    Parameters (``--model_args``, all strings)
    ----------
    answerer
        A ``thud run --model`` spec: ``signal``, ``prior``, ``openai:<served model name>``...
    base_url, api_key, audio_mode, num_frames, timeout, max_tokens
        For ``openai:`` answerers (:class:`~thud_models.adapters.openai_compat.OpenAICompatAnswerer`).
    """

    def __init__(
        self,
        answerer: str = "signal",
        base_url: str | None = None,
        api_key: str | None = None,
        audio_mode: str = "video",
        num_frames: str | int = 8,
        timeout: str | float = 120.0,
        max_tokens: str | int = 256,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        options: dict[str, Any] = {}
        if answerer.startswith("openai:"):
            options = {
                "base_url": base_url,
                "api_key": api_key,
                "audio_mode": audio_mode,
                "num_frames": int(num_frames),
                "timeout": float(timeout),
                "max_tokens": int(max_tokens),
            }
        self.answerer = make_answerer(answerer, **options)

    def loglikelihood(self, requests: list[Instance]) -> list[tuple[float, bool]]:
        raise NotImplementedError(
            "Thud answerers generate text; loglikelihood tasks are not supported"
        )

    def generate_until_multi_round(self, requests: list[Instance]) -> list[str]:
        raise NotImplementedError("Thud probes are single-turn")


class ThudAnswererModel(ThudAnswererBase):
    """Answers each request with ``answerer.answer(video_path, prompt)`` (the mp4 the task's
    ``doc_to_visual`` gives, byte for byte). ``--model_args``: see :class:`ThudAnswererBase`."""

    def generate_until(self, requests: list[Instance]) -> list[str]:
        answers = []
        for context, _gen_kwargs, doc_to_visual, doc_id, task, split in tqdm(
            [r.args for r in requests], disable=self.rank != 0, desc="Thud answerer"
        ):
            visuals = doc_to_visual(self.task_dict[task][split][doc_id])
            videos = [
                v
                for v in (visuals if isinstance(visuals, list) else [visuals])
                if isinstance(v, str)
            ]
            if len(videos) != 1:
                raise ValueError(f"{task} doc {doc_id}: expected one video path, got {visuals!r}")
            answer = self.answerer.answer(videos[0], context)
            answers.append(answer)
            self.cache_hook.add_partial("generate_until", (context, _gen_kwargs), answer)
        return answers

