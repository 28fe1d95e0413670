"""The Python part of ``bench/gpu_train.sh`` on the CPU, with the tiny thinker: it builds its
long clips, runs the recipe's DPO stage with LoRA and with full fine-tuning, and writes the
numbers docs/training.md reports."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

for _name in ("torch", "transformers", "trl", "peft"):
    pytest.importorskip(_name, reason=f"{_name} is not installed (pip install -e '.[train]')")

BENCH = Path(__file__).resolve().parents[2] / "bench" / "gpu_train.py"


def _bench():
    spec = importlib.util.spec_from_file_location("gpu_train", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gpu_bench_runs_on_the_cpu_with_the_tiny_thinker(tmp_path, train_build):
    from thud_dataset.media import probe

    bench = _bench()
    out = tmp_path / "out"
    code = bench.main([
        "--out", str(out), "--size", "tiny", "--device", "cpu", "--stages", "dpo", "--modes", "lora,full",
        "--steps", "2", "--accumulate", "1", "--clips", "1", "--seconds", "4", "--scale", "2",
        "--dataset", str(train_build), "--work", str(tmp_path / "work"),
    ])
    assert code == 0
    report = json.loads((out / "gpu_train.json").read_text())
    assert report["recipe"] == "qwen2_5_omni_3b" and report["environment"]["device"] == "cpu"
    runs = {r["mode"]: r for r in report["runs"]}
    assert set(runs) == {"lora", "full"} and all(r["status"] == "ok" for r in runs.values())
    assert runs["lora"]["trainable_params"] < runs["full"]["trainable_params"] == runs["full"]["params"]
    for r in runs.values():
        assert len(r["step_s"]) == 2 and r["s_per_step"] > 0 and r["sequence_tokens"] > 100
    table = (out / "gpu_train.md").read_text()
    assert table.count("| dpo |") == 2 and "peak allocated GiB" in table
    # the pairs' videos are the long, upscaled clips (the recipe's frame cap then binds)
    (clip,) = (tmp_path / "work").glob("long_*.mp4")
    info = probe(clip)
    assert (info.video.width, info.video.height) == (448, 336) and info.duration == pytest.approx(4.0, abs=0.1)
    assert info.audio is not None


def test_the_published_3b_shape():
    """The numbers the GPU run builds its thinker from (checked here, where no GPU is needed)."""
    from thud_train.tiny import qwen2_5_omni_thinker_config, tiny_tokenizer

    bench = _bench()
    config = qwen2_5_omni_thinker_config(tiny_tokenizer(), bench.QWEN2_5_OMNI_3B, vocab_size=bench.VOCAB_SIZE)
    text = config.text_config
    assert (text.hidden_size, text.num_hidden_layers, text.num_attention_heads, text.num_key_value_heads) == (2048, 36, 16, 2)
    assert text.rope_parameters["mrope_section"] == [16, 24, 24] and text.vocab_size == 151936
    assert config.vision_config.out_hidden_size == 2048 and config.audio_config.output_dim == 2048
    assert config.vision_config.fullatt_block_indexes == [7, 15, 23, 31]
