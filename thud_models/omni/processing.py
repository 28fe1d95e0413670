"""Processors for Qwen-Omni style models that work without torchvision.

transformers' video processors (and so ``AutoProcessor`` for the Omni models) need
torchvision, whose registry wheel does not load against the CPU build of torch. Frames are
already decoded, resized and sampled by :mod:`thud_models.omni.media`, so all a video processor has
to do here is normalise them and cut them into Qwen2-VL patches: :class:`NumpyVideoProcessor`
does that in numpy, and :class:`ThudOmniProcessor` is the Qwen2.5-Omni processor that uses it
and reloads itself without the Auto classes (:class:`ThudQwen3OmniProcessor` the same for
Qwen3-Omni, whose vision patch is 16 px).
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
from transformers import AutoTokenizer, WhisperFeatureExtractor
from transformers.image_processing_utils import BatchFeature
from transformers.models.qwen2_5_omni.processing_qwen2_5_omni import Qwen2_5OmniProcessor
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil
from transformers.models.qwen3_omni_moe.processing_qwen3_omni_moe import Qwen3OmniMoeProcessor
from transformers.video_processing_utils import VideoProcessorMixin

#: CLIP normalisation, as the Qwen2-VL / Qwen-Omni vision towers expect
OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

PROCESSOR_CONFIG = "processor_config.json"


class NumpyVideoProcessor(VideoProcessorMixin):
    """Normalise ``T×H×W×3`` uint8 frames and flatten them into Qwen2-VL patches.

    Output matches ``Qwen2VLVideoProcessor`` (``pixel_values_videos`` of shape
    ``(sum T·h·w, 3·temporal_patch·patch²)`` and ``video_grid_thw``) for frames that need no
    resizing: height and width must be multiples of ``patch_size * merge_size``. A video with
    an odd frame count is padded by repeating its last frame, as transformers does.
    """

    model_input_names = ["pixel_values_videos", "video_grid_thw"]

    def __init__(
        self,
        patch_size: int = 14,
        temporal_patch_size: int = 2,
        merge_size: int = 2,
        image_mean: tuple[float, ...] = OPENAI_CLIP_MEAN,
        image_std: tuple[float, ...] = OPENAI_CLIP_STD,
        rescale_factor: float = 1 / 255,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("video_processor_type", None)
        kwargs.pop("image_processor_type", None)
        super().__init__(**kwargs)
        self.patch_size = patch_size
        self.temporal_patch_size = temporal_patch_size
        self.merge_size = merge_size
        self.image_mean = list(image_mean)
        self.image_std = list(image_std)
        self.rescale_factor = rescale_factor

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out.pop("image_processor_type", None)
        out["video_processor_type"] = type(self).__name__
        return out

    def preprocess(self, videos: Any, return_tensors: str | None = None, **_: Any) -> BatchFeature:
        # Other keys (size, fps, do_resize, …) come from the Omni processor's defaults; the
        # frames are already sampled and sized, so they do not apply.
        if isinstance(videos, np.ndarray) and videos.ndim == 4:
            videos = [videos]
        factor = self.patch_size * self.merge_size
        mean = np.asarray(self.image_mean, dtype=np.float32).reshape(1, 3, 1, 1)
        std = np.asarray(self.image_std, dtype=np.float32).reshape(1, 3, 1, 1)
        patches, grids = [], []
        for i, video in enumerate(videos):
            v = np.asarray(video)
            if v.ndim != 4 or 3 not in (v.shape[1], v.shape[-1]):
                raise ValueError(f"video {i}: expected T×H×W×3 frames, got shape {v.shape}")
            if v.shape[-1] != 3:  # T×3×H×W
                v = v.transpose(0, 2, 3, 1)
            t, h, w, _c = v.shape
            if h % factor or w % factor:
                raise ValueError(
                    f"video {i}: frames are {w}x{h}; width and height must be multiples of "
                    f"{factor} (resize while decoding, see thud_models.omni.media)"
                )
            x = (v.astype(np.float32) * self.rescale_factor).transpose(0, 3, 1, 2)
            x = (x - mean) / std
            if pad := -t % self.temporal_patch_size:
                x = np.concatenate([x, np.repeat(x[-1:], pad, axis=0)])
                t += pad
            gt, gh, gw = t // self.temporal_patch_size, h // self.patch_size, w // self.patch_size
            m, p = self.merge_size, self.patch_size
            x = x.reshape(gt, self.temporal_patch_size, 3, gh // m, m, p, gw // m, m, p)
            # the same axis order as Qwen2VLVideoProcessor.patchify
            x = x.transpose(0, 3, 6, 4, 7, 2, 1, 5, 8)
            patches.append(x.reshape(gt * gh * gw, 3 * self.temporal_patch_size * p * p))
            grids.append([gt, gh, gw])
        data = {
            "pixel_values_videos": np.concatenate(patches).astype(np.float32),
            "video_grid_thw": np.asarray(grids, dtype=np.int64),
        }
        return BatchFeature(data=data, tensor_type=return_tensors)


class _NumpyVideoOmniProcessor:
    """What Thud's Omni processors add: a numpy video processor, reloading without torchvision."""

    def check_argument_for_proper_class(self, argument_name: str, argument: Any):
        # transformers looks the video base class up in its video-processor registry, which
        # is a placeholder without torchvision; the check itself is still made here.
        if argument_name == "video_processor":
            if not isinstance(argument, VideoProcessorMixin):
                raise TypeError(f"video_processor must be a VideoProcessorMixin, got {argument!r}")
            return VideoProcessorMixin
        return super().check_argument_for_proper_class(argument_name, argument)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, **kwargs: Any):
        path = os.fspath(pretrained_model_name_or_path)
        with open(os.path.join(path, PROCESSOR_CONFIG), encoding="utf-8") as f:
            config = json.load(f)
        tokenizer = AutoTokenizer.from_pretrained(path, **kwargs)
        image = dict(config.get("image_processor") or {})
        image.pop("image_processor_type", None)
        video = dict(config.get("video_processor") or {})
        audio = dict(config.get("feature_extractor") or {})
        audio.pop("feature_extractor_type", None)
        chat_template = None
        template_file = os.path.join(path, "chat_template.jinja")
        if os.path.exists(template_file):
            with open(template_file, encoding="utf-8") as f:
                chat_template = f.read()
        return cls(
            image_processor=Qwen2VLImageProcessorPil(**image),
            video_processor=NumpyVideoProcessor(**video),
            feature_extractor=WhisperFeatureExtractor(**audio),
            tokenizer=tokenizer,
            chat_template=chat_template or tokenizer.chat_template,
        )


class ThudOmniProcessor(_NumpyVideoOmniProcessor, Qwen2_5OmniProcessor):
    """``Qwen2_5OmniProcessor`` with :class:`NumpyVideoProcessor`; reloads without torchvision."""


class ThudQwen3OmniProcessor(_NumpyVideoOmniProcessor, Qwen3OmniMoeProcessor):
    """``Qwen3OmniMoeProcessor`` with :class:`NumpyVideoProcessor` (``patch_size=16``: frames
    are multiples of 32 px); reloads without torchvision."""


#: Thud's processors by the ``processor_class`` their folders record
THUD_PROCESSORS = {cls.__name__: cls for cls in (ThudOmniProcessor, ThudQwen3OmniProcessor)}


def frame_factor(processor: Any) -> int:
    """The side, in pixels, that frame heights and widths must be multiples of for this
    processor's vision tower: ``patch_size * merge_size`` of its video processor (28 for
    Qwen2.5-Omni, 32 for Qwen3-Omni); 28 when the processor does not say.

    >>> frame_factor(None)
    28
    """
    video = getattr(processor, "video_processor", None)
    return int(getattr(video, "patch_size", 14)) * int(getattr(video, "merge_size", 2))


def load_processor(name_or_path: str | os.PathLike, **kwargs: Any):
    """The processing class saved at ``name_or_path``.

    A :class:`ThudOmniProcessor` (or :class:`ThudQwen3OmniProcessor`) folder reloads as one
    (no torchvision needed); any other
    processor goes through ``AutoProcessor`` (an Omni checkpoint's own video processor then
    needs torchvision); a folder with only a tokenizer gives the tokenizer.
    """
    from transformers import AutoProcessor

    path = os.fspath(name_or_path)
    config_file = os.path.join(path, PROCESSOR_CONFIG)
    if os.path.isfile(config_file):
        with open(config_file, encoding="utf-8") as f:
            thud_class = THUD_PROCESSORS.get(json.load(f).get("processor_class"))
        if thud_class is not None:
            return thud_class.from_pretrained(path, **kwargs)
    try:
        # a plain language model's folder gives its tokenizer here
        return AutoProcessor.from_pretrained(path, **kwargs)
    except ImportError as e:
        # never fall back to the tokenizer: the model would silently train without media
        raise ImportError(
            f"{path}: its processor needs {e.name or 'a missing package'} ({e}); Omni and video "
            "processors in transformers need torchvision next to a matching torch build"
        ) from e
