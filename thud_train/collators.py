"""Data collators that feed a row's video *and its audio* through a model's processor.

TRL's own multimodal collators cover images only. For a Qwen-Omni style processor these
collators decode each row's mp4 with PyAV (:mod:`thud_models.omni.media`), pass the frames as the
video and the decoded track as that video's audio (``load_audio_from_video=True`` with the
audio already given, so transformers does not need torchcodec), and ask the model for
``use_audio_in_video=True``: video and audio tokens are then interleaved in time, which is how
these models hear a video. A processor without an audio side (a video-only VLM) gets the
frames alone.

Sequences are laid out the way TRL's vision collators do: the prompt (with the media
placeholders expanded) left-padded, the completion right-padded, then flushed left. The
completion is whatever the chat template puts after the generation prompt for an assistant
turn (so the end-of-turn token is trained too).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from trl.trainer.utils import flush_left, pad

from thud_models.omni.media import decode_clip, frame_count, probe_duration
from thud_models.omni.processing import frame_factor
from thud_train.config import MediaSettings

__all__ = ["MediaSettings", "OmniDPOCollator", "OmniSFTCollator", "media_kind"]


def media_kind(processing_class: Any) -> str:
    """``"video+audio"``, ``"video"`` or ``"text"``: what the model can be given."""
    if not hasattr(processing_class, "tokenizer"):
        return "text"  # a bare tokenizer
    if getattr(processing_class, "video_processor", None) is None:
        return "text"
    has_audio = getattr(processing_class, "feature_extractor", None) is not None
    return "video+audio" if has_audio else "video"


def user_messages(prompt: str, system_prompt: str | None = None, video: bool = True) -> list[dict]:
    """The chat messages of one probe: the video, then the question."""
    content: list[dict] = [{"type": "video"}] if video else []
    content.append({"type": "text", "text": prompt})
    messages = [{"role": "system", "content": [{"type": "text", "text": system_prompt}]}]
    return (messages if system_prompt else []) + [{"role": "user", "content": content}]


def render_completion(processing_class: Any, prompt_messages: list[dict], response: str) -> str:
    """The text the chat template appends for an assistant turn saying ``response``."""
    tokenizer = getattr(processing_class, "tokenizer", processing_class)
    prompt = processing_class.apply_chat_template(
        prompt_messages, tokenize=False, add_generation_prompt=True
    )
    full = processing_class.apply_chat_template(
        prompt_messages + [{"role": "assistant", "content": response}],
        tokenize=False,
    )
    if full.startswith(prompt):
        return full[len(prompt) :]
    # a template that renders the history differently once an answer follows
    return response + (tokenizer.eos_token or "")


@dataclass
class _MediaCollator:
    processor: Any
    media: MediaSettings = field(default_factory=MediaSettings)
    system_prompt: str | None = None
    max_length: int | None = None

    def __post_init__(self) -> None:
        self.kind = media_kind(self.processor)
        if self.kind == "text":
            raise TypeError(
                f"{type(self.processor).__name__} has no video processor; text-only models train "
                "through TRL's own collators (see thud_train.sft / thud_train.dpo)"
            )
        self.tokenizer = self.processor.tokenizer
        # frame sides are multiples of the vision tower's patch x merge (28 px for
        # Qwen2.5-Omni, 32 px for Qwen3-Omni)
        self.frame_factor = frame_factor(self.processor)
        self._pad_id = self.tokenizer.pad_token_id
        if self._pad_id is None:
            self._pad_id = self.tokenizer.eos_token_id

    def _prompts(self, examples: list[dict], repeat: int = 1) -> dict[str, Any]:
        """Processor outputs of the prompts (left-padded), media decoded once per example."""
        durations = [probe_duration(ex["video"]) for ex in examples]
        # one sampling rate for the batch: the processor takes a single fps
        fps = min(self.media.fps, min(self.media.max_frames / d for d in durations))
        clips = [
            decode_clip(
                ex["video"],
                num_frames=frame_count(d, fps, self.media.max_frames),
                min_pixels=self.media.min_pixels,
                max_pixels=self.media.max_pixels,
                factor=self.frame_factor,
            )
            for ex, d in zip(examples, durations, strict=True)
        ]
        texts = [
            self.processor.apply_chat_template(
                user_messages(ex["prompt"], self.system_prompt), tokenize=False, add_generation_prompt=True
            )
            for ex in examples
        ] * repeat
        videos = [c.frames for c in clips] * repeat
        kwargs: dict[str, Any] = {"videos_kwargs": {"fps": sum(c.fps for c in clips) / len(clips)}}
        if self.kind == "video+audio" and self.media.use_audio:
            kwargs.update(
                audio=[c.audio for c in clips] * repeat,
                load_audio_from_video=True,
                audio_from_video_indices=list(range(len(videos))),
            )
        out = self.processor(
            text=texts,
            videos=videos,
            padding=True,
            padding_side="left",
            return_tensors="pt",
            add_special_tokens=False,
            **kwargs,
        )
        return dict(out)

    def generation_inputs(self, examples: list[dict]) -> dict[str, Any]:
        """Model inputs of the prompts alone (left-padded), for ``model.generate(**inputs)``."""
        out = self._prompts(examples)
        if self.kind == "video+audio" and self.media.use_audio:
            out["use_audio_in_video"] = True
        return out

    def _completions(self, examples: list[dict], key: str) -> dict[str, torch.Tensor]:
        texts = [
            render_completion(self.processor, user_messages(ex["prompt"], self.system_prompt), ex[key])
            for ex in examples
        ]
        return self.tokenizer(
            texts, padding=True, padding_side="right", return_tensors="pt", add_special_tokens=False
        )

    def _finish(self, out: dict, prompt: dict, completion_ids, completion_mask) -> dict:
        input_ids = torch.cat((prompt["input_ids"], completion_ids), dim=1)
        attention_mask = torch.cat((prompt["attention_mask"], completion_mask), dim=1)
        loss_mask = torch.cat((torch.zeros_like(prompt["attention_mask"]), completion_mask), dim=1)
        attention_mask, input_ids, loss_mask = flush_left(attention_mask, input_ids, loss_mask)
        if self.max_length is not None and input_ids.shape[1] > self.max_length:
            if loss_mask[:, self.max_length :].any():
                # cutting the answer would train on less than it shows, or on nothing
                raise ValueError(
                    f"a sequence of {int(attention_mask.sum(1).max())} tokens (video and audio "
                    f"included) exceeds max_length={self.max_length}: raise the trainer's "
                    "max_length, or lower media.max_frames / media.max_pixels"
                )
            input_ids, attention_mask, loss_mask = (
                t[:, : self.max_length] for t in (input_ids, attention_mask, loss_mask)
            )
        out.update(input_ids=input_ids, attention_mask=attention_mask)
        if self.kind == "video+audio" and self.media.use_audio:
            out["use_audio_in_video"] = True
        return {"loss_mask": loss_mask, **out}


class OmniSFTCollator(_MediaCollator):
    """SFT batches from rows with ``video``, ``prompt`` and ``completion`` (the chosen text).

    ``labels`` are the completion tokens; prompt, media placeholders and padding are -100.
    """

    def __call__(self, examples: list[dict]) -> dict[str, Any]:
        prompt = self._prompts(examples)
        completion = self._completions(examples, "completion")
        out = self._finish(
            dict(prompt), prompt, completion["input_ids"], completion["attention_mask"]
        )
        loss_mask = out.pop("loss_mask")
        out["labels"] = out["input_ids"].masked_fill(loss_mask == 0, -100)
        return out


class OmniDPOCollator(_MediaCollator):
    """DPO batches from rows with ``video``, ``prompt``, ``chosen`` and ``rejected``.

    The layout ``DPOTrainer`` expects: the chosen sequences of the batch, then the rejected
    ones (each row's media given twice), and a ``completion_mask``.
    """

    def __call__(self, examples: list[dict]) -> dict[str, Any]:
        prompt = self._prompts(examples, repeat=2)
        chosen = self._completions(examples, "chosen")
        rejected = self._completions(examples, "rejected")
        ids = torch.cat(
            tuple(pad([chosen["input_ids"], rejected["input_ids"]], padding_value=self._pad_id))
        )
        mask = torch.cat(
            tuple(pad([chosen["attention_mask"], rejected["attention_mask"]], padding_value=0))
        )
        out = self._finish(dict(prompt), prompt, ids, mask)
        out["completion_mask"] = out.pop("loss_mask")
        return out
