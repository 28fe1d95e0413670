"""Tiny random-weight models, their processor and a locally trained tokenizer.

Nothing here is downloaded: the tokenizer is a byte-level BPE trained on a few hundred
sentences (the preference templates among them), the models are built from configs. They
exist for tests and smoke runs of the trainer, and for adapter tests elsewhere:

* :func:`tiny_tokenizer` — Qwen-style special tokens (``<|im_start|>``, ``<|VIDEO|>``,
  ``<|AUDIO|>``, …) and a short chat template that renders video/audio/text content;
* :func:`tiny_omni_processor` — a :class:`~thud_models.omni.processing.ThudOmniProcessor`
  (Qwen2.5-Omni processor with the numpy video processor, Whisper features with 128 mel bins);
* :func:`tiny_omni_thinker` — a Qwen2.5-Omni thinker with ~0.27 M parameters;
* :func:`tiny_qwen3_omni_thinker` — a Qwen3-Omni MoE thinker (16 px patches, deepstack);
* :func:`save_tiny_full_omni` — a full Qwen2.5-Omni checkpoint (thinker, talker, vocoder);
* :func:`tiny_causal_lm` — a text-only Llama, so the trainer is checked on a second family.
"""

from __future__ import annotations

import os
from typing import Any

#: the multimodal special tokens of Qwen2.5-Omni, by the tokenizer attribute that names them
OMNI_SPECIAL_TOKENS: dict[str, str] = {
    "image_token": "<|IMAGE|>",
    "video_token": "<|VIDEO|>",
    "audio_token": "<|AUDIO|>",
    "vision_bos_token": "<|vision_bos|>",
    "vision_eos_token": "<|vision_eos|>",
    "audio_bos_token": "<|audio_bos|>",
    "audio_eos_token": "<|audio_eos|>",
}

#: a Qwen-like chat template; a message's content is a string or a list of typed parts
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' -}}"
    "{%- if message['content'] is string -%}{{- message['content'] -}}"
    "{%- else -%}{%- for part in message['content'] -%}"
    "{%- if part['type'] == 'video' -%}{{- '<|vision_bos|><|VIDEO|><|vision_eos|>' -}}"
    "{%- elif part['type'] == 'image' -%}{{- '<|vision_bos|><|IMAGE|><|vision_eos|>' -}}"
    "{%- elif part['type'] == 'audio' -%}{{- '<|audio_bos|><|AUDIO|><|audio_eos|>' -}}"
    "{%- elif part['type'] == 'text' -%}{{- part['text'] -}}"
    "{%- endif -%}{%- endfor -%}{%- endif -%}"
    "{{- '<|im_end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)

_EXTRA_CORPUS = (
    "Is the sound in sync with the picture? Answer with the letter of one option.",
    "A. synced B. early C. delayed. A. synced B. silent. A. synced B. mismatched.",
    "The audio is synced. The audio is early. The audio is delayed. The audio is silent.",
    "The sound is mismatched. A ball hits the floor. A glass breaks. A door slams.",
    "0 1 2 3 4 5 6 7 8 9 0.5 s 1.2 s 2.6 s seen heard at the same moment before after",
    "Describe what happens in the video and what you hear. A dog barks. Music plays.",
)


def _corpus() -> list[str]:
    from thud_dataset.preferences import TEMPLATES, VERDICTS

    lines = list(_EXTRA_CORPUS)
    for templates in TEMPLATES.values():
        lines += [t.replace("{", "").replace("}", "") for t in templates]
    lines += [v.replace("{", "").replace("}", "") for v in VERDICTS]
    return lines * 4


def tiny_tokenizer(vocab_size: int = 640):
    """A byte-level BPE tokenizer trained here, wrapped as ``PreTrainedTokenizerFast``.

    Every byte is in the alphabet, so any text (e.g. a clip's event names) tokenizes.
    ``eos_token`` is ``<|im_end|>`` (what ends an assistant turn), ``pad_token``
    ``<|endoftext|>``.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", *OMNI_SPECIAL_TOKENS.values()]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(_corpus(), trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        extra_special_tokens=dict(OMNI_SPECIAL_TOKENS),
        chat_template=CHAT_TEMPLATE,
        padding_side="left",
        model_max_length=4096,
    )


def tiny_omni_processor(tokenizer: Any | None = None, family: str = "qwen2_5_omni"):
    """An Omni processor around ``tokenizer`` (or a new :func:`tiny_tokenizer`).

    ``family`` ``"qwen2_5_omni"`` gives a :class:`~thud_models.omni.processing.ThudOmniProcessor`
    (14 px patches), ``"qwen3_omni"`` a
    :class:`~thud_models.omni.processing.ThudQwen3OmniProcessor` (16 px patches).
    """
    from transformers import WhisperFeatureExtractor
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )

    from thud_models.omni.processing import (
        NumpyVideoProcessor,
        ThudOmniProcessor,
        ThudQwen3OmniProcessor,
    )

    if family not in ("qwen2_5_omni", "qwen3_omni"):
        raise ValueError(f"family must be 'qwen2_5_omni' or 'qwen3_omni', got {family!r}")
    cls, patch = (ThudOmniProcessor, 14) if family == "qwen2_5_omni" else (ThudQwen3OmniProcessor, 16)
    tokenizer = tokenizer or tiny_tokenizer()
    return cls(
        image_processor=Qwen2VLImageProcessorPil(patch_size=patch),
        video_processor=NumpyVideoProcessor(patch_size=patch),
        # the Omni audio tower reads 128 mel bins (Whisper's default is 80)
        feature_extractor=WhisperFeatureExtractor(feature_size=128),
        tokenizer=tokenizer,
        chat_template=CHAT_TEMPLATE,
    )


def _token_ids(tokenizer: Any) -> dict[str, int]:
    ids = {name: tokenizer.convert_tokens_to_ids(tok) for name, tok in OMNI_SPECIAL_TOKENS.items()}
    return {
        "image_token_id": ids["image_token"],
        "video_token_id": ids["video_token"],
        "audio_token_id": ids["audio_token"],
        "audio_start_token_id": ids["audio_bos_token"],
        "audio_end_token_id": ids["audio_eos_token"],
        "vision_start_token_id": ids["vision_bos_token"],
        "vision_end_token_id": ids["vision_eos_token"],
    }


#: a 2-layer audio tower reading 128 mel bins (both families' tiny thinkers)
_TINY_AUDIO = {
    "encoder_layers": 2,
    "encoder_attention_heads": 2,
    "encoder_ffn_dim": 64,
    "d_model": 32,
    "num_mel_bins": 128,
    "max_source_positions": 1500,
}
_TINY_VISION = {"depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2}

#: the tiny Qwen2.5-Omni thinker's parts (hidden 64, 4 heads / 2 KV heads, 2 layers each)
TINY_QWEN2_5_OMNI = {
    "text": {
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 4096,
        "tie_word_embeddings": False,
    },
    "vision": {**_TINY_VISION, "fullatt_block_indexes": [1], "window_size": 56},
    "audio": _TINY_AUDIO,
}

#: the tiny Qwen3-Omni MoE thinker's parts (4 experts, top 2; vision patch 16, deepstack at 0)
TINY_QWEN3_OMNI = {
    "text": {
        "hidden_size": 64,
        "intermediate_size": 128,
        "moe_intermediate_size": 32,
        "num_experts": 4,
        "num_experts_per_tok": 2,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 16,
        "max_position_embeddings": 4096,
    },
    "vision": {**_TINY_VISION, "patch_size": 16, "num_position_embeddings": 64, "deepstack_visual_indexes": [0]},
    "audio": {**_TINY_AUDIO, "downsample_hidden_size": 16},
}


def _sub_configs(tokenizer: Any, parts: dict, vocab_size: int | None, **rope: Any) -> dict:
    """The text / vision / audio sub-configs of an Omni thinker from ``parts``: the M-RoPE
    sections, the vision and audio output widths follow the text hidden size."""
    text = dict(parts["text"])
    hidden = text["hidden_size"]
    head_dim = text.get("head_dim") or hidden // text["num_attention_heads"]
    return {
        "text_config": {
            **text,
            "vocab_size": vocab_size or len(tokenizer),
            # M-RoPE splits head_dim/2 rotary frequencies over (time, height, width)
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 1000000.0,
                "mrope_section": _mrope_section(head_dim),
                **rope,
            },
            "pad_token_id": tokenizer.pad_token_id,
            "eos_token_id": tokenizer.eos_token_id,
        },
        "vision_config": {**parts["vision"], "out_hidden_size": hidden},
        "audio_config": {**parts["audio"], "output_dim": hidden},
    }


def _thinker_config(config_class: type, tokenizer: Any, parts: dict, vocab_size: int | None,
                    fields: dict[str, str], attributes: tuple[str, ...], **rope: Any):
    """``config_class`` with ``parts``' sub-configs and ``tokenizer``'s special-token ids:
    ``fields`` maps a declared field to the id it takes; ``attributes`` are ids the model
    reads although the config does not declare them."""
    ids = _token_ids(tokenizer)
    config = config_class(
        **_sub_configs(tokenizer, parts, vocab_size, **rope),
        **{field_name: ids[key] for field_name, key in fields.items()},
    )
    for name in attributes:
        setattr(config, name, ids[name])
    return config


def qwen2_5_omni_thinker_config(tokenizer: Any, parts: dict | None = None, vocab_size: int | None = None):
    """A ``Qwen2_5OmniThinkerConfig`` whose special-token ids are ``tokenizer``'s.

    ``parts`` gives the ``text`` / ``vision`` / ``audio`` sub-config fields (default
    :data:`TINY_QWEN2_5_OMNI`); the M-RoPE sections, the vision output width and the audio
    output width follow the text hidden size. ``vocab_size`` defaults to the tokenizer's
    (a larger one sizes the embeddings like a published checkpoint's).
    """
    from transformers import Qwen2_5OmniThinkerConfig

    fields = {
        "audio_start_token_id": "audio_start_token_id",
        "audio_end_token_id": "audio_end_token_id",
        "image_token_index": "image_token_id",
        "video_token_index": "video_token_id",
        "audio_token_index": "audio_token_id",
    }
    # vision_start_token_id: the rope index reads it to find where a video begins
    return _thinker_config(
        Qwen2_5OmniThinkerConfig, tokenizer, parts or TINY_QWEN2_5_OMNI, vocab_size, fields,
        ("vision_start_token_id",),
    )


def qwen3_omni_thinker_config(tokenizer: Any, parts: dict | None = None, vocab_size: int | None = None):
    """A ``Qwen3OmniMoeThinkerConfig`` whose special-token ids are ``tokenizer``'s
    (``parts`` default :data:`TINY_QWEN3_OMNI`; interleaved M-RoPE, as the published model)."""
    from transformers import Qwen3OmniMoeThinkerConfig

    fields = {k: k for k in ("audio_start_token_id", "audio_token_id", "image_token_id", "video_token_id")}
    return _thinker_config(
        Qwen3OmniMoeThinkerConfig, tokenizer, parts or TINY_QWEN3_OMNI, vocab_size, fields,
        ("vision_start_token_id", "vision_end_token_id", "audio_end_token_id"),
        mrope_interleaved=True,
    )


def tiny_omni_thinker(tokenizer: Any, seed: int = 0):
    """A random-weight ``Qwen2_5OmniThinkerForConditionalGeneration`` for ``tokenizer``.

    Two text layers (hidden 64, 4 heads / 2 KV heads, M-RoPE sections 2/3/3), a 2-block
    vision tower (patch 14, temporal patch 2, merge 2) and a 2-layer audio tower
    (128 mel bins), so the video and the audio both reach the loss.
    """
    from transformers import Qwen2_5OmniThinkerForConditionalGeneration

    config = qwen2_5_omni_thinker_config(tokenizer)
    return _random_model(Qwen2_5OmniThinkerForConditionalGeneration, config, tokenizer, seed)


def tiny_qwen3_omni_thinker(tokenizer: Any, seed: int = 0):
    """A random-weight ``Qwen3OmniMoeThinkerForConditionalGeneration`` (~0.3 M parameters):
    MoE text layers (4 experts, top 2), a vision tower with 16 px patches and deepstack
    features, and an audio tower, for ``tokenizer``."""
    from transformers import Qwen3OmniMoeThinkerForConditionalGeneration

    config = qwen3_omni_thinker_config(tokenizer)
    return _random_model(Qwen3OmniMoeThinkerForConditionalGeneration, config, tokenizer, seed)


def _mrope_section(head_dim: int) -> list[int]:
    half = head_dim // 2
    t = half // 4
    h = (half - t) // 2
    return [t, h, half - t - h]


def tiny_causal_lm(tokenizer: Any, seed: int = 0, hidden_size: int = 64):
    """A random-weight, text-only ``LlamaForCausalLM`` for ``tokenizer`` (~0.15 M parameters)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
        tie_word_embeddings=False,
    )
    return _random_model(LlamaForCausalLM, config, tokenizer, seed)


def _random_model(model_class: type, config: Any, tokenizer: Any, seed: int):
    """``model_class(config)`` initialised from ``seed``, generating with ``tokenizer``'s tokens."""
    import torch

    torch.manual_seed(seed)
    model = model_class(config)
    _set_generation_tokens(model, tokenizer)
    return model


def _set_generation_tokens(model: Any, tokenizer: Any) -> None:
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.bos_token_id = None


def save_tiny_omni(out_dir: str, seed: int = 0) -> str:
    """Write a tiny Qwen2.5-Omni thinker and its processor to ``out_dir``; returns it.

    The folder loads with :func:`thud_train.models.load_model_and_processor` (and is what the
    example configs' ``model: tiny-omni`` builds on the fly).
    """
    processor = tiny_omni_processor()
    model = tiny_omni_thinker(processor.tokenizer, seed=seed)
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    return out_dir


#: a talker and a vocoder just big enough to build (the full model's speech side)
_TINY_TALKER = {
    "vocab_size": 64,
    "embedding_size": 64,
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "head_dim": 16,
    "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]},
    "tts_codec_start_token_id": 60,
    "tts_codec_end_token_id": 61,
    "tts_codec_pad_token_id": 62,
    "tts_codec_mask_token_id": 63,
}
_TINY_TOKEN2WAV = {
    "dit_config": {
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "head_dim": 16,
        "emb_dim": 16,
        "ff_mult": 1,
        "look_ahead_layers": [1],
        "look_backward_layers": [0],
        "num_embeds": 65,
        "enc_emb_dim": 16,
        "enc_dim": 16,
        "enc_channels": [16, 16, 16, 16, 48],
        "enc_attention_channels": 8,
        "enc_se_channels": 8,
    },
    "bigvgan_config": {
        "upsample_initial_channel": 128,
        "resblock_kernel_sizes": [3],
        "resblock_dilation_sizes": [[1, 3, 5]],
    },
}


def save_tiny_full_omni(out_dir: str, seed: int = 0) -> str:
    """Write a tiny *full* Qwen2.5-Omni model (thinker, talker, vocoder, speaker table) and
    its processor to ``out_dir``, laid out like a published checkpoint; returns it.

    A stage started from it trains the thinker alone and, with ``save_full_model``, saves it
    back inside the full model (:mod:`thud_train.export`).
    """
    import torch
    from transformers import Qwen2_5OmniConfig, Qwen2_5OmniForConditionalGeneration

    processor = tiny_omni_processor()
    thinker = tiny_omni_thinker(processor.tokenizer, seed=seed)
    config = Qwen2_5OmniConfig(
        thinker_config=thinker.config.to_dict(),
        talker_config=_TINY_TALKER,
        token2wav_config=_TINY_TOKEN2WAV,
    )
    torch.manual_seed(seed + 1)
    model = Qwen2_5OmniForConditionalGeneration(config)
    model.thinker.load_state_dict(thinker.state_dict())
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    # the speaker table Qwen2_5OmniForConditionalGeneration.from_pretrained reads
    speaker = {"cond": torch.zeros(1, 16), "ref_mel": torch.zeros(1, 8, 80), "bos_token": 0}
    torch.save({"Chelsie": speaker}, os.path.join(out_dir, "spk_dict.pt"))
    return out_dir


def save_tiny_causal_lm(out_dir: str, seed: int = 0) -> str:
    """Write a tiny text-only Llama and its tokenizer to ``out_dir``; returns it."""
    tokenizer = tiny_tokenizer()
    model = tiny_causal_lm(tokenizer, seed=seed)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir
