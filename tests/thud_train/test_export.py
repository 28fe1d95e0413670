"""The trained checkpoint loads where users serve it: the full Qwen2.5-Omni layout."""

from __future__ import annotations

import os

import pytest

for _name in ("torch", "transformers", "trl", "peft"):
    pytest.importorskip(_name, reason=f"{_name} is not installed (pip install -e '.[train]')")

import torch  # noqa: E402
from transformers import Qwen2_5OmniForConditionalGeneration  # noqa: E402

from thud_train.collators import OmniSFTCollator  # noqa: E402
from thud_train.common import save_stage  # noqa: E402
from thud_train.config import ConfigError, TrainConfig  # noqa: E402
from thud_train.models import load_model_and_processor  # noqa: E402
from thud_train.sft import build_sft_trainer  # noqa: E402
from thud_train.tiny import save_tiny_full_omni  # noqa: E402


def test_lora_sft_from_a_full_omni_checkpoint_saves_a_full_omni_checkpoint(tmp_path, train_build):
    base = save_tiny_full_omni(str(tmp_path / "base"))
    config = TrainConfig.from_dict({
        "model": base,
        "dataset": str(train_build),
        "media": {"fps": 2.0, "max_frames": 4, "max_pixels": 56 * 84},
        "lora": {"enabled": True, "r": 4},
        "sft": {
            "output_dir": str(tmp_path / "sft"),
            "max_samples": 4,
            "trainer": {"max_steps": 2, "per_device_train_batch_size": 2, "learning_rate": 1e-2,
                        "use_cpu": True, "activation_checkpointing": False},
        },
    })
    assert config.save_full_model == "auto"
    trainer, processing, info = build_sft_trainer(config)
    assert info["base"] == base and type(trainer.model.base_model.model).__name__.endswith("ThinkerForConditionalGeneration")
    trainer.train()
    out = config.sft.output_dir
    trained, layout = save_stage(trainer, processing, out, config.lora, info["base"], config.save_full_model)
    assert layout == "full" and {"spk_dict.pt", "config.json", "processor_config.json"} <= set(os.listdir(out))

    # what servers and lmms-eval load
    full = Qwen2_5OmniForConditionalGeneration.from_pretrained(out).eval()
    original = Qwen2_5OmniForConditionalGeneration.from_pretrained(base)
    got, want = full.thinker.state_dict(), trained.state_dict()
    assert got.keys() == want.keys()
    for key in want:
        assert torch.equal(got[key], want[key]), key  # the trained (merged) thinker
    q = "model.language_model.layers.0.self_attn.q_proj.weight"
    assert not torch.equal(got[q], original.thinker.state_dict()[q])  # LoRA really merged in
    for key, value in original.talker.state_dict().items():
        assert torch.equal(full.talker.state_dict()[key], value), key  # the speech side untouched

    # the full model answers as the trained thinker does
    rows = [dict(r) for r in load_probe_rows(train_build, 2)]
    inputs = OmniSFTCollator(processing, config.media).generation_inputs(rows)
    text_ids = full.generate(**inputs, generation_mode="text", thinker_max_new_tokens=5, thinker_do_sample=False)
    thinker_ids = trained.eval().generate(**inputs, max_new_tokens=5, do_sample=False)
    assert torch.equal(getattr(text_ids, "sequences", text_ids), thinker_ids)

    # the next stage (or thud run) loads the thinker back out of it
    again, _, kind = load_model_and_processor(out)
    assert kind == "video+audio" and torch.equal(again.state_dict()[q], want[q])

    with pytest.raises(ConfigError, match="save_full_model: true needs a stage that starts from a full Omni"):
        save_stage(trainer, processing, str(tmp_path / "x"), config.lora, "tiny-omni", True)


def load_probe_rows(dataset, n):
    from thud_dataset.hub.load import load_config

    return load_config(dataset, "probes", split="shift").select(range(n))
