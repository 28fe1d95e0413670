"""Config files, the general-data schema, mixing and the leakage guard (no torch needed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from datasets import Dataset

from thud_train.config import ConfigError, TrainConfig
from thud_train.data import LeakageError, dpo_dataset, load_preferences, sft_dataset
from thud_train.general_data import (
    GeneralDataError,
    load_general_preferences,
    mix_counts,
    mix_preferences,
)

CONFIGS = Path(__file__).resolve().parents[2] / "thud_train" / "configs"


def test_example_configs_load():
    names = sorted(p.name for p in CONFIGS.glob("*.yaml"))
    assert names, "no example configs"
    for path in CONFIGS.glob("*.yaml"):
        config = TrainConfig.from_yaml(path)
        assert config.model and config.dataset and config.sft.output_dir and config.dpo.output_dir
    big = TrainConfig.from_yaml("qwen2_5_omni_3b")  # by name
    assert big.lora.enabled and big.dpo.general_fraction > 0 and big.dpo.trainer["beta"] == 0.1


def test_config_errors_and_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model: tiny-omni\ndataset: d\nsft:\n  trainer: {max_steps: 2}\n")
    config = TrainConfig.from_yaml(path, ["sft.trainer.learning_rate=0.01", "media.max_frames=4"])
    assert config.sft.trainer == {"max_steps": 2, "learning_rate": 0.01}
    assert config.media.max_frames == 4 and config.media.fps == 2.0  # the rest keeps its default
    assert config.dpo.trainer == {"beta": 0.1}
    # dpo starts from the SFT output once it exists
    assert config.model_for("dpo") == "tiny-omni"
    out = tmp_path / "sft-out"
    out.mkdir()
    assert TrainConfig.from_yaml(path, [f"sft.output_dir={out}"]).model_for("dpo") == str(out)

    path.write_text("model: m\nmdoel: typo\n")
    with pytest.raises(ConfigError, match=r"c.yaml.*unknown key.*mdoel"):
        TrainConfig.from_yaml(path)
    path.write_text("model: m\ndpo: {general_fraction: 0.5}\n")
    with pytest.raises(ConfigError, match="general_fraction > 0 needs general_data"):
        TrainConfig.from_yaml(path)
    path.write_text("model: m\nmedia: {fps: 0}\n")
    with pytest.raises(ConfigError, match="fps"):
        TrainConfig.from_yaml(path)
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        TrainConfig.from_yaml(path, ["no-equals-sign"])


def _general_file(tmp_path: Path, real_clips_dir: Path, rows: list[dict]) -> Path:
    path = tmp_path / "general.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _general_rows(real_clips_dir: Path, n: int) -> list[dict]:
    videos = ["Zulko__moviepy__example3.mp4", "openmpf__openmpf__video_01.mp4"]
    return [
        {
            "video": str(real_clips_dir / videos[i % 2]),
            "prompt": f"What do you hear in the video? ({i})",
            "chosen": "Steady wind, and nothing else." if i % 2 == 0 else "A crowd talking indoors.",
            "rejected": "A dog barking.",
            "source": "finevideo",
            "task": "FV-A-L",
        }
        for i in range(n)
    ]


def test_general_data_schema(tmp_path, real_clips_dir):
    path = _general_file(tmp_path, real_clips_dir, _general_rows(real_clips_dir, 3))
    ds = load_general_preferences(path)
    assert len(ds) == 3 and ds.column_names == ["video", "prompt", "chosen", "rejected", "origin"]
    assert ds[0]["origin"] == "general:finevideo:FV-A-L"
    assert ds[0]["video"]["path"].endswith("example3.mp4")

    rows = _general_rows(real_clips_dir, 3)
    rows[1]["rejected"] = ""
    with pytest.raises(GeneralDataError, match=r"general.jsonl:2: missing or empty rejected"):
        load_general_preferences(_general_file(tmp_path, real_clips_dir, rows))
    rows = _general_rows(real_clips_dir, 2)
    rows[1]["video"] = "nowhere.mp4"
    with pytest.raises(GeneralDataError, match=r":2: video file .*nowhere.mp4 does not exist"):
        load_general_preferences(_general_file(tmp_path, real_clips_dir, rows))
    path.write_text('{"video": 1\n')
    with pytest.raises(GeneralDataError, match=":1: not valid JSON"):
        load_general_preferences(path)


def test_mix_keeps_the_fraction():
    assert mix_counts(100, 1000, 0.5) == (100, 100)
    assert mix_counts(100, 20, 0.5) == (20, 20)  # a small general set bounds the mix
    assert mix_counts(100, 1000, 0.25, max_samples=40) == (30, 10)
    assert mix_counts(100, 0, 0.0) == (100, 0)
    assert mix_counts(100, 50, 1.0) == (0, 50)
    with pytest.raises(ValueError):
        mix_counts(1, 1, 1.5)


def test_mixing_and_trl_shapes(preferences, tmp_path, real_clips_dir):
    general = load_general_preferences(
        _general_file(tmp_path, real_clips_dir, _general_rows(real_clips_dir, 40))
    )
    thud = load_preferences(preferences)
    mixed, report = mix_preferences(thud, general, 0.25, seed=0)
    origins = mixed["origin"]
    n_general = sum(o.startswith("general:") for o in origins)
    assert report.thud_rows == len(thud) and n_general == report.general_rows
    assert n_general / len(mixed) == pytest.approx(0.25, abs=0.02)
    assert mixed["origin"] != sorted(mixed["origin"])  # shuffled together
    again, _ = mix_preferences(thud, general, 0.25, seed=0)
    assert again["prompt"] == mixed["prompt"]

    dpo = dpo_dataset(mixed, "video+audio")
    assert dpo.column_names == ["video", "prompt", "chosen", "rejected", "images"]
    text = dpo_dataset(mixed, "text", system_prompt="Listen.")
    assert text[0]["prompt"][0] == {"role": "system", "content": "Listen."}
    assert text[0]["chosen"][0]["role"] == "assistant"
    sft = sft_dataset(thud, "video+audio")
    assert sft.column_names == ["video", "prompt", "completion"]
    assert sft["completion"] == thud["chosen"]


def test_load_preferences_refuses_test_clips(preferences):
    leaked = preferences.map(lambda ex, i: {"partition": "test" if i == 0 else ex["partition"]}, with_indices=True)
    with pytest.raises(LeakageError, match="test-partition"):
        load_preferences(leaked)
    assert len(load_preferences(preferences, max_samples=3)) == 3
    with pytest.raises(ValueError, match="no rows"):
        load_preferences(Dataset.from_dict({"prompt": []}))


def test_core_imports_do_not_load_torch():
    code = (
        "import argparse, sys\n"
        "import thud_cli.train, thud_train, thud_train.config, thud_train.data, "
        "thud_train.general_data, thud_dataset.preferences\n"
        "p = argparse.ArgumentParser(); thud_cli.train.register(p.add_subparsers())\n"
        "print(sorted(m for m in ('torch', 'transformers', 'trl') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
