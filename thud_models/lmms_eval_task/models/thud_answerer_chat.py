"""``--model thud_answerer_chat``: a Thud answerer behind lmms-eval's *chat* interface.

A chat class (``is_simple = False``) gets the task's ``doc_to_messages``, not a file path.
This one hears what lmms-eval's chat omni classes hear (``qwen2_5_omni`` and ``qwen3_omni``
hard-code ``use_audio_in_video = False``): the picture of the video block and the sound of the
*audio block*; the video's own audio track is ignored. It builds that input as a file — the
video packets, remuxed unchanged, with the audio block's samples as the only audio (digital
silence when there is no block) — and asks the answerer about it. With ``answerer=signal``
(no weights) it shows whether the task's audio block reaches a chat class.

Imported by lmms-eval only (it needs ``lmms_eval``).
"""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path
from typing import Any

import numpy as np
from lmms_eval.api.instance import Instance
from lmms_eval.protocol import ChatMessages
from tqdm import tqdm

from .thud_answerer import ThudAnswererBase

#: ``audio`` model argument: use the audio block, or drop it (a deaf chat path, for checks)
AUDIO_CHOICES = ("block", "none")


def block_samples(url: Any, default_rate: int) -> tuple[np.ndarray, int]:
    """An audio block's ``url`` as float32 ``(channels, n)`` samples and their rate.

    Accepts what the lmms-eval chat classes accept: a file path (or ``file://``), a
    ``data:audio/...;base64,`` URL, ``{"array", "sampling_rate"}``, or a 1-D array (taken to
    be at ``default_rate``).
    """
    import soundfile as sf

    if isinstance(url, dict) and "array" in url:
        samples, rate = np.asarray(url["array"], np.float32), int(url["sampling_rate"])
    elif isinstance(url, np.ndarray):
        samples, rate = url.astype(np.float32), default_rate
    elif isinstance(url, str):
        if url.startswith("data:"):
            source: Any = io.BytesIO(base64.b64decode(url.split("base64,", 1)[1]))
        else:
            source = url.removeprefix("file://")
        data, rate = sf.read(source, dtype="float32", always_2d=True)
        samples = data.T
    else:
        raise TypeError(f"an audio block of type {type(url).__name__} cannot be read")
    samples = samples[None, :] if samples.ndim == 1 else samples
    return np.ascontiguousarray(samples), int(rate)


class ThudAnswererChatModel(ThudAnswererBase):
    """Answers chat requests with a Thud answerer, hearing the audio block under the picture.

    Parameters (``--model_args``, all strings; the answerer's as for :class:`ThudAnswererBase`)
    ----------
    audio
        ``block`` (default): the audio block is what the answerer hears; ``none``: it hears
        digital silence whatever the request holds (a deaf serving path, to check that the
        task's audio-path check says so).
    audio_rate
        Rate assumed for an audio block given as a bare array (default 16000).
    """

    is_simple = False

    def __init__(self, audio: str = "block", audio_rate: str | int = 16000, **kwargs: Any) -> None:
        if audio not in AUDIO_CHOICES:
            raise ValueError(f"audio must be one of {AUDIO_CHOICES}, not {audio!r}")
        super().__init__(**kwargs)
        self.audio = audio
        self.audio_rate = int(audio_rate)
        from thud_dataset.video_files import default_cache_dir

        self.work_dir = default_cache_dir() / "lmms_eval_chat"
        self.work_dir.mkdir(parents=True, exist_ok=True)

    def heard_file(self, video: str, audios: list[Any]) -> str:
        """The video's packets with the first audio block (or silence) as its only audio."""
        from thud_dataset.media import content_name, encode_audio, mux, probe, read_video_packets

        if self.audio == "block" and audios:
            samples, rate = block_samples(audios[0], self.audio_rate)
        else:
            rate = self.audio_rate
            samples = np.zeros((1, round(probe(video).duration * rate)), np.float32)
        with read_video_packets(video) as packets:
            data = mux(packets, encode_audio(samples, rate))
        target = self.work_dir / content_name(data, Path(video).suffix or ".mp4")
        if not target.is_file() or target.stat().st_size != len(data):
            tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            tmp.write_bytes(data)
            tmp.replace(target)
        return str(target)

    def generate_until(self, requests: list[Instance]) -> list[str]:
        answers = []
        for request in tqdm(requests, disable=self.rank != 0, desc="Thud answerer (chat)"):
            context, doc_to_messages, gen_kwargs, doc_id, task, split = request.args
            messages = ChatMessages(messages=doc_to_messages(self.task_dict[task][split][doc_id]))
            _images, videos, audios = messages.extract_media()
            if len(videos) != 1:
                raise ValueError(f"{task} doc {doc_id}: expected one video block, got {len(videos)}")
            text = "\n".join(
                c.text for m in messages.messages for c in m.content if c.type == "text"
            )
            answer = self.answerer.answer(self.heard_file(videos[0], audios), text)
            answers.append(answer)
            self.cache_hook.add_partial("generate_until", (context, gen_kwargs), answer)
        return answers

