"""A local ``transformers`` omni model (Qwen2.5-Omni style) as a Thud answerer.

The adapter decodes the probe's video itself with PyAV (:mod:`thud_models.omni.media`, the same
decoding the trainer uses, so a model is evaluated on exactly the inputs it was trained
on): ``num_frames`` frames sampled evenly at up to ``fps`` frames per second and resized to
multiples of 28 px, and the whole audio track as 16 kHz mono on the video's timeline. It
hands both to the processor as one video with its own audio (``load_audio_from_video=True``,
the audio given, so transformers needs no torchcodec) and generates with
``use_audio_in_video=True``: the model sees video and audio tokens interleaved in time, the
way Qwen-Omni models hear a video. Nothing here needs torchvision.

**Throughput.** With ``batch_size > 1``, :meth:`~TransformersOmniAnswerer.answer_many`
(what ``thud run --batch-size N`` uses) answers many probes at once:

* probes are ordered by their expected input length (frames x frame size, audio length,
  prompt; read from the file headers) and cut into batches, so padding stays small;
* each probe is decoded and processed **on its own** (so its frame rate and token layout
  are exactly those of batch size 1) by ``workers`` threads running ahead of the model —
  PyAV, the tokenizer and numpy release the GIL, and the model never waits for the CPU;
* the prepared probes are collated (the tokenizer left-pads the token ids; the media
  tensors are concatenated) and generated together, greedily: the answers equal batch
  size 1's (checked on a tiny model in fp32).

Weights load straight onto ``device`` (``device_map``) in the requested ``dtype``.

>>> answerer = TransformersOmniAnswerer.from_pretrained(
...     "Qwen/Qwen2.5-Omni-7B", device="cuda", dtype="bfloat16", batch_size=8)  # doctest: +SKIP
>>> answerer.answer("probe.mp4", prompt)  # doctest: +SKIP
'C'

Needs the ``train`` extra (torch, transformers).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

log = logging.getLogger(__name__)

#: processor outputs that are per-video or per-audio tensors, concatenated along dim 0
_MEDIA_KEYS = (
    "pixel_values_videos",
    "video_grid_thw",
    "video_second_per_grid",
    "input_features",
    "feature_attention_mask",
)

__all__ = ["TransformersOmniAnswerer", "load_omni_processor"]

def load_omni_processor(path_or_id: str, **kwargs: Any) -> Any:
    """The processor of an omni checkpoint, without torchvision where possible.

    A folder saved with Thud's processor reloads as it is
    (:func:`thud_models.omni.processing.load_processor`). A stock Qwen2.5-Omni checkpoint's own
    video processor needs torchvision; when that import fails, the processor is rebuilt
    from the checkpoint's tokenizer and Whisper feature extractor with Thud's numpy video
    processor (same patching and CLIP normalisation).
    """
    from thud_models.omni.processing import load_processor

    try:
        return load_processor(path_or_id, **kwargs)
    except (ImportError, ValueError, TypeError) as first_error:
        try:
            from transformers import AutoTokenizer, WhisperFeatureExtractor
            from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
                Qwen2VLImageProcessorPil,
            )

            from thud_models.omni.processing import NumpyVideoProcessor, ThudOmniProcessor

            tokenizer = AutoTokenizer.from_pretrained(path_or_id, **kwargs)
            return ThudOmniProcessor(
                image_processor=Qwen2VLImageProcessorPil(),
                video_processor=NumpyVideoProcessor(),
                feature_extractor=WhisperFeatureExtractor.from_pretrained(path_or_id, **kwargs),
                tokenizer=tokenizer,
                chat_template=getattr(tokenizer, "chat_template", None),
            )
        except Exception:
            raise first_error from None


class TransformersOmniAnswerer:
    """Answer probes with a local omni model and its processor.

    Parameters
    ----------
    model
        A thinker (``Qwen2_5OmniThinkerForConditionalGeneration``, ...) or a full omni model
        (its text output is used, no speech is generated).
    processor
        Its processor: tokenizer with a chat template, video processor and (for audio) a
        feature extractor. Without a feature extractor the model is given frames only.
    num_frames
        At most this many frames per video (a multiple of the temporal patch, 2).
    fps
        Frames are sampled at this rate until ``num_frames`` is reached.
    max_new_tokens
        Length limit of an answer.
    use_audio_in_video
        Interleave the video's own audio with its frames (the Omni "audio in video" mode).
        ``False`` gives the model the frames only: a vision-only control run.
    system_prompt
        An optional system message.
    min_pixels, max_pixels
        Frame area bounds; frames are resized to multiples of 28 px within them.
    name
        The name predictions are recorded under (default: the model's ``name_or_path``).
    generate_kwargs
        Extra arguments of ``model.generate`` (greedy decoding by default).
    batch_size
        Probes generated together by :meth:`answer_many` (1: one at a time).
    workers
        Threads decoding and processing probes ahead of the model in :meth:`answer_many`
        (default: the CPU count, at most 8).
    """

    def __init__(
        self,
        model: Any,
        processor: Any,
        *,
        num_frames: int = 16,
        fps: float = 2.0,
        max_new_tokens: int = 64,
        use_audio_in_video: bool = True,
        system_prompt: str | None = None,
        min_pixels: int = 56 * 56,
        max_pixels: int = 448 * 448,
        name: str | None = None,
        generate_kwargs: dict[str, Any] | None = None,
        batch_size: int = 1,
        workers: int | None = None,
    ) -> None:
        if workers is None:
            workers = min(8, os.cpu_count() or 2)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        if num_frames < 2:
            raise ValueError(f"num_frames must be >= 2 (the temporal patch), got {num_frames}")
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.model = model
        self.processor = processor
        self.num_frames = int(num_frames)
        self.fps = float(fps)
        self.max_new_tokens = int(max_new_tokens)
        self.system_prompt = system_prompt
        self.min_pixels = min_pixels
        self.max_pixels = max_pixels
        self.has_audio_input = getattr(processor, "feature_extractor", None) is not None
        self.use_audio_in_video = bool(use_audio_in_video) and self.has_audio_input
        self.generate_kwargs = {"do_sample": False, **(generate_kwargs or {})}
        self.batch_size = int(batch_size)
        self.workers = int(workers)
        tokenizer = getattr(processor, "tokenizer", None)
        if tokenizer is not None:
            # a decoder-only model continues the last token: pad on the left
            tokenizer.padding_side = "left"
            if tokenizer.pad_token is None:
                tokenizer.pad_token = tokenizer.eos_token
        source = getattr(getattr(model, "config", None), "name_or_path", "") or type(model).__name__
        self.name = name or f"transformers:{source}"

    @classmethod
    def from_pretrained(
        cls,
        path_or_id: str,
        *,
        device: str | None = None,
        dtype: str | None = None,
        **kwargs: Any,
    ) -> TransformersOmniAnswerer:
        """Load a model and its processor from a folder or a Hub id.

        Omni checkpoints load their thinker (a full Qwen2.5-Omni / Qwen3-Omni model is
        loaded and its thinker kept); anything else loads with
        ``AutoModelForImageTextToText``.

        Parameters
        ----------
        path_or_id : a local folder or a Hub model id
        device : ``"cpu"``, ``"cuda"``, ``"cuda:1"``…; default: CUDA when available. The
            weights are loaded straight onto it (``device_map``), never all on the CPU first
        dtype : ``"auto"``, ``"bfloat16"``, ``"float32"``…; default: the checkpoint's own
        kwargs : the constructor's keyword arguments (``num_frames``, ``batch_size``…)
        """
        import torch

        processor = load_omni_processor(path_or_id)
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        load_kwargs: dict[str, Any] = {"device_map": device}
        if dtype:
            load_kwargs["dtype"] = dtype
        from thud_models.omni.loading import load_pretrained_model

        model = load_pretrained_model(path_or_id, "AutoModelForImageTextToText", **load_kwargs)
        model.eval()
        kwargs.setdefault("name", f"transformers:{path_or_id}")
        return cls(model, processor, **kwargs)

    def __repr__(self) -> str:
        return (
            f"TransformersOmniAnswerer(name={self.name!r}, num_frames={self.num_frames}, "
            f"use_audio_in_video={self.use_audio_in_video})"
        )

    def metadata(self) -> dict[str, Any]:
        """What a predictions file records about this answerer."""
        return {
            "adapter": "transformers_omni",
            "model_class": type(self.model).__name__,
            "num_frames": self.num_frames,
            "fps": self.fps,
            "max_new_tokens": self.max_new_tokens,
            "use_audio_in_video": self.use_audio_in_video,
            "batch_size": self.batch_size,
            "dtype": str(next(self.model.parameters()).dtype).removeprefix("torch."),
            "generate_kwargs": {k: v for k, v in self.generate_kwargs.items() if isinstance(v, (int, float, str, bool))},
        }

    def _messages(self, prompt: str) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        if self.system_prompt:
            messages.append({"role": "system", "content": [{"type": "text", "text": self.system_prompt}]})
        messages.append({"role": "user", "content": [{"type": "video"}, {"type": "text", "text": prompt}]})
        return messages

    def prepare(self, video_path: str, prompt: str) -> Any:
        """The processor's output for one probe (what :meth:`answer` feeds the model).

        ``input_ids``, ``pixel_values_videos``, ``video_grid_thw`` and, with audio,
        ``input_features`` / ``feature_attention_mask`` of the video's own track.
        """
        from thud_models.omni.media import decode_clip, frame_count, probe_duration
        from thud_models.omni.processing import frame_factor

        duration = probe_duration(video_path)
        clip = decode_clip(
            video_path,
            num_frames=frame_count(duration, self.fps, self.num_frames),
            min_pixels=self.min_pixels,
            max_pixels=self.max_pixels,
            factor=frame_factor(self.processor),
        )
        text = self.processor.apply_chat_template(
            self._messages(prompt), tokenize=False, add_generation_prompt=True
        )
        kwargs: dict[str, Any] = {"videos_kwargs": {"fps": clip.fps}}
        if self.use_audio_in_video:
            kwargs.update(audio=[clip.audio], load_audio_from_video=True, audio_from_video_indices=[0])
        return self.processor(
            text=[text], videos=[clip.frames], padding=True, return_tensors="pt", **kwargs
        )

    def length(self, video_path: str, prompt: str) -> int:
        """The expected input length of a probe in tokens — video patches, audio frames and
        the prompt's tokens — from the file's headers alone (nothing decoded): what
        :meth:`answer_many` sorts probes by. It differs from the real length by the chat
        template's fixed tokens and the interleaving markers."""
        from thud_models.omni.media import frame_count, probe_geometry, smart_resize
        from thud_models.omni.processing import frame_factor

        factor = frame_factor(self.processor)
        duration, height, width = probe_geometry(video_path)
        h, w = smart_resize(height, width, factor, self.min_pixels, self.max_pixels)
        frames = frame_count(duration, self.fps, self.num_frames)
        video = -(-frames // 2) * (h // factor) * (w // factor)
        audio = 0
        if self.use_audio_in_video:  # Whisper frames (100/s), then two stride-2 stages
            mel = round(duration * 100)
            audio = ((mel - 1) // 2 + 1 - 2) // 2 + 1
        return video + audio + len(self.processor.tokenizer(prompt)["input_ids"])

    def collate(self, prepared: Sequence[Any]) -> dict[str, Any]:
        """One batch from several :meth:`prepare` outputs: token ids and masks left-padded by
        the tokenizer, media tensors concatenated (each probe keeps its own frame rate)."""
        import torch

        if len(prepared) == 1:
            return dict(prepared[0])
        tokenizer = self.processor.tokenizer
        batch = dict(
            tokenizer.pad(
                [{"input_ids": x["input_ids"][0], "attention_mask": x["attention_mask"][0]} for x in prepared],
                padding=True,
                padding_side="left",
                return_tensors="pt",
            )
        )
        for key in _MEDIA_KEYS:
            if key in prepared[0]:
                batch[key] = torch.cat([x[key] for x in prepared])
        return batch

    def generate(self, inputs: dict[str, Any]) -> list[str]:
        """Greedy answers (by default) for a prepared or collated batch, in its order."""
        import torch

        param = next(self.model.parameters())
        inputs = {k: (v.to(param.device) if hasattr(v, "to") else v) for k, v in inputs.items()}
        for key in ("pixel_values_videos", "input_features"):
            if key in inputs and inputs[key].is_floating_point():
                inputs[key] = inputs[key].to(param.dtype)
        kwargs = dict(self.generate_kwargs)
        if self.use_audio_in_video:
            kwargs["use_audio_in_video"] = True
        with torch.inference_mode():
            out = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, **kwargs)
        if isinstance(out, tuple):  # a full omni model returns (text ids, speech)
            out = out[0]
        sequences = getattr(out, "sequences", out)
        new_tokens = sequences[:, inputs["input_ids"].shape[1] :]
        return [t.strip() for t in self.processor.batch_decode(new_tokens, skip_special_tokens=True)]

    def answer(self, video_path: str, prompt: str) -> str:
        return self.generate(self.prepare(str(video_path), prompt))[0]

    def answer_many(
        self, items: Sequence[tuple[str, str]]
    ) -> Iterator[tuple[int, str | Exception, float]]:
        """Answer ``(video_path, prompt)`` items in batches of :attr:`batch_size`.

        Yields ``(index into items, answer or the exception of that probe, seconds)`` as
        each batch finishes (batches in length order, not in item order). A probe whose
        video cannot be prepared fails alone; a batch whose generation fails is retried
        one probe at a time, so errors stay per probe.
        """
        if not items:
            return
        lengths = []
        for i, (path, prompt) in enumerate(items):
            try:
                lengths.append((self.length(path, prompt), i))
            except Exception:  # unreadable header: prepare() reports it with its reason
                lengths.append((0, i))
        order = [i for _, i in sorted(lengths)]
        batches = [order[k : k + self.batch_size] for k in range(0, len(order), self.batch_size)]
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="thud-prepare")
        ahead: list[list[Future]] = []
        try:
            queued = iter(batches)
            for batch in batches:
                # keep the workers busy: up to two batches prepared ahead of the model
                while len(ahead) < 3:
                    nxt = next(queued, None)
                    if nxt is None:
                        break
                    ahead.append([pool.submit(self.prepare, *items[i]) for i in nxt])
                futures = ahead.pop(0)
                t0 = time.perf_counter()
                ready, inputs = [], []
                for i, fut in zip(batch, futures, strict=True):
                    try:
                        inputs.append(fut.result())
                        ready.append(i)
                    except Exception as e:  # this probe's video: its failure alone
                        yield i, e, time.perf_counter() - t0
                if not ready:
                    continue
                try:
                    answers: list[str | Exception] = list(self.generate(self.collate(inputs)))
                except Exception as e:
                    if len(ready) == 1:
                        answers = [e]
                    else:
                        log.warning("a batch of %d failed (%s); answering it one probe at a time", len(ready), e)
                        answers = [self._answer_one(x) for x in inputs]
                seconds = (time.perf_counter() - t0) / len(ready)
                for i, answer in zip(ready, answers, strict=True):
                    yield i, answer, seconds
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _answer_one(self, prepared: Any) -> str | Exception:
        try:
            return self.generate(dict(prepared))[0]
        except Exception as e:
            return e
