"""Tiny random-weight models, their processor and a locally trained tokenizer.

Nothing here is downloaded: the tokenizer is a byte-level BPE trained on a few hundred
sentences (the preference templates among them), the models are built from configs. They
exist for tests and smoke runs of the trainer, and for adapter tests elsewhere:

* :func:`tiny_tokenizer` — Qwen-style special tokens (``<|im_start|>``, ``<|VIDEO|>``,
  ``<|AUDIO|>``, …) and a short chat template that renders video/audio/text content;
* :func:`tiny_omni_processor` — a :class:`~thud_models.omni.processing.ThudOmniProcessor`
  (Qwen2.5-Omni processor with the numpy video processor, Whisper features with 128 mel bins);
* :func:`tiny_omni_thinker` — a Qwen2.5-Omni thinker with ~0.27 M parameters;
* :func:`tiny_causal_lm` — a text-only Llama, so the trainer is checked on a second family.
"""

from __future__ import annotations

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


def tiny_omni_processor(tokenizer: Any | None = None):
    """A Qwen2.5-Omni processor around ``tokenizer`` (or a new :func:`tiny_tokenizer`)."""
    from transformers import WhisperFeatureExtractor
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )

    from thud_models.omni.processing import NumpyVideoProcessor, ThudOmniProcessor

    tokenizer = tokenizer or tiny_tokenizer()
    return ThudOmniProcessor(
        image_processor=Qwen2VLImageProcessorPil(),
        video_processor=NumpyVideoProcessor(),
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


def tiny_omni_thinker(tokenizer: Any, seed: int = 0, hidden_size: int = 64):
    """A random-weight ``Qwen2_5OmniThinkerForConditionalGeneration`` for ``tokenizer``.

    Two text layers (hidden 64, 4 heads / 2 KV heads, M-RoPE sections 2/3/3), a 2-block
    vision tower (patch 14, temporal patch 2, merge 2) and a 2-layer audio tower
    (128 mel bins), so the video and the audio both reach the loss.
    """
    import torch
    from transformers import (
        Qwen2_5OmniThinkerConfig,
        Qwen2_5OmniThinkerForConditionalGeneration,
    )

    ids = _token_ids(tokenizer)
    head_dim = hidden_size // 4
    config = Qwen2_5OmniThinkerConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": hidden_size,
            "intermediate_size": 2 * hidden_size,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "max_position_embeddings": 4096,
            # M-RoPE splits head_dim/2 rotary frequencies over (time, height, width)
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 10000.0,
                "mrope_section": _mrope_section(head_dim),
            },
            "pad_token_id": tokenizer.pad_token_id,
            "eos_token_id": tokenizer.eos_token_id,
            "tie_word_embeddings": False,
        },
        vision_config={
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_heads": 2,
            "out_hidden_size": hidden_size,
            "fullatt_block_indexes": [1],
            "window_size": 56,
        },
        audio_config={
            "encoder_layers": 2,
            "encoder_attention_heads": 2,
            "encoder_ffn_dim": 64,
            "d_model": 32,
            "output_dim": hidden_size,
            "num_mel_bins": 128,
            "max_source_positions": 1500,
        },
        audio_start_token_id=ids["audio_start_token_id"],
        audio_end_token_id=ids["audio_end_token_id"],
        image_token_index=ids["image_token_id"],
        video_token_index=ids["video_token_id"],
        audio_token_index=ids["audio_token_id"],
    )
    # not a declared field, but the rope index reads it to find where a video begins
    config.vision_start_token_id = ids["vision_start_token_id"]
    torch.manual_seed(seed)
    model = Qwen2_5OmniThinkerForConditionalGeneration(config)
    _set_generation_tokens(model, tokenizer)
    return model


def _mrope_section(head_dim: int) -> list[int]:
    half = head_dim // 2
    t = half // 4
    h = (half - t) // 2
    return [t, h, half - t - h]


def tiny_causal_lm(tokenizer: Any, seed: int = 0, hidden_size: int = 64):
    """A random-weight, text-only ``LlamaForCausalLM`` for ``tokenizer`` (~0.15 M parameters)."""
    import torch
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
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
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


def save_tiny_causal_lm(out_dir: str, seed: int = 0) -> str:
    """Write a tiny text-only Llama and its tokenizer to ``out_dir``; returns it."""
    tokenizer = tiny_tokenizer()
    model = tiny_causal_lm(tokenizer, seed=seed)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir
