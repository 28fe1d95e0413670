"""SFT then DPO with TRL, end to end on CPU, from the built ``preferences`` config.

A tiny random-weight Qwen2.5-Omni thinker (video + audio through the collator) and a tiny
text-only Llama train a few real optimisation steps each; the losses fall, the DPO reward
margin grows, the media encoders learn, and the saved checkpoints reload and generate.
"""

from __future__ import annotations

import json
import os

import pytest

# skipped, with the reason, only where the train extra is not installed
for _name in ("torch", "transformers", "trl", "peft"):
    pytest.importorskip(_name, reason=f"{_name} is not installed (pip install -e '.[train]')")

import torch  # noqa: E402
from datasets import Dataset  # noqa: E402

from thud_models.omni.processing import ThudOmniProcessor  # noqa: E402
from thud_train.common import save_stage  # noqa: E402
from thud_train.config import TrainConfig  # noqa: E402
from thud_train.dpo import build_dpo_trainer  # noqa: E402
from thud_train.general_data import load_general_preferences  # noqa: E402
from thud_train.models import load_model_and_processor  # noqa: E402
from thud_train.sft import build_sft_trainer  # noqa: E402

#: rows trained on: of two train clips, every intervention and the original sync probe
ROWS = 8
FAST = {"use_cpu": True, "per_device_train_batch_size": 4, "learning_rate": 3e-3, "activation_checkpointing": False}
MEDIA = {"fps": 2.0, "max_frames": 4, "max_pixels": 56 * 84}


def _subset(preferences: Dataset) -> Dataset:
    clips = sorted(set(preferences["clip_id"]))[:2]
    return preferences.filter(
        lambda ex: ex["clip_id"] in clips
        and (ex["condition"] != "original" or ex["dimension"] == "sync")
        and (ex["condition"] != "shift" or ex["offset_s"] > 0)  # one of a clip's two shifts
    )


def _config(tmp, model: str, **stages) -> TrainConfig:
    data = {
        "model": model,
        "dataset": "unused: rows are passed in",
        "media": MEDIA,
        "sft": {"output_dir": str(tmp / "sft"), "trainer": {**FAST, "max_steps": 3}},
        "dpo": {"output_dir": str(tmp / "dpo"), "trainer": {**FAST, "max_steps": 4, "beta": 0.1}},
    }
    for name, extra in stages.items():
        data[name] = {**data[name], **extra}
    return TrainConfig.from_dict(data)


def _weights(model, part: str) -> torch.Tensor:
    return torch.cat([p.detach().flatten().clone() for n, p in model.named_parameters() if part in n])


def _dpo_numbers(trainer) -> tuple[dict, dict]:
    before = trainer.evaluate(trainer.train_dataset)
    trainer.train()
    after = trainer.evaluate(trainer.train_dataset)
    return before, after


@pytest.fixture(scope="module")
def omni_run(tmp_path_factory, preferences, real_clips_dir):
    """SFT (3 steps) then DPO (4 steps, a fifth of the pairs general) of the tiny Omni thinker."""
    tmp = tmp_path_factory.mktemp("omni")
    rows = _subset(preferences)
    assert len(rows) == ROWS
    general_file = tmp / "general.jsonl"
    general_file.write_text(
        "".join(
            json.dumps({
                "video": str(real_clips_dir / name),
                "prompt": "What can you hear, and when?",
                "chosen": chosen,
                "rejected": "Nothing at all; the clip is silent.",
                "source": "finevideo",
            }) + "\n"
            for name, chosen in [
                ("Zulko__moviepy__example3.mp4", "A steady wind blows for the whole clip."),
                ("openmpf__openmpf__video_01.mp4", "A crowd talks; it gets louder at 2.3 s."),
            ]
        )
    )
    config = _config(
        tmp, "tiny-omni",
        dpo={"general_fraction": 0.2, "general_data": str(general_file)},
    )
    result: dict = {"config": config, "rows": rows}

    sft, processing, info = build_sft_trainer(config, rows)
    assert info["kind"] == "video+audio"
    result["sft_before"] = sft.evaluate(sft.train_dataset)["eval_loss"]
    sft.train()
    result["sft_after"] = sft.evaluate(sft.train_dataset)["eval_loss"]
    save_stage(sft, processing, config.sft.output_dir, config.lora)  # a thinker folder

    # DPO starts from the saved SFT checkpoint (config.model_for("dpo") finds it)
    assert config.model_for("dpo") == config.sft.output_dir
    general = load_general_preferences(general_file)
    dpo, processing, info = build_dpo_trainer(config, rows, general)
    result["dpo_info"] = info
    start = {part: _weights(dpo.model, part) for part in ("audio_tower", "visual", "lm_head")}
    result["dpo_before"], result["dpo_after"] = _dpo_numbers(dpo)
    result["changed"] = {
        part: float((_weights(dpo.model, part) - w).abs().max()) for part, w in start.items()
    }
    result["model"], _ = save_stage(dpo, processing, config.dpo.output_dir, config.lora)
    result["processing"] = processing
    return result


def test_omni_sft_loss_falls(omni_run):
    before, after = omni_run["sft_before"], omni_run["sft_after"]
    print(f"omni SFT loss on the {ROWS} rows: {before:.4f} -> {after:.4f}")
    assert after < before - 0.1


def test_omni_dpo_loss_falls_and_margin_grows(omni_run):
    before, after = omni_run["dpo_before"], omni_run["dpo_after"]
    info = omni_run["dpo_info"]
    print(f"omni DPO on {info['mix']}: loss {before['eval_loss']:.4f} -> {after['eval_loss']:.4f}, "
          f"margin {before['eval_rewards/margins']:.4f} -> {after['eval_rewards/margins']:.4f}")
    # the general pairs were really mixed in and trained on
    assert info["rows"] == 10 and sum(k.startswith("general:") for k in info["by_origin"]) == 1
    assert before["eval_loss"] == pytest.approx(0.6931, abs=1e-3)  # policy == reference
    assert abs(before["eval_rewards/margins"]) < 1e-3
    assert after["eval_loss"] < before["eval_loss"] - 0.05
    assert after["eval_rewards/margins"] > before["eval_rewards/margins"] + 0.05
    assert after["eval_rewards/accuracies"] > 0.5


def test_omni_media_reach_the_loss(omni_run):
    # had the collator dropped the audio (or the video), its encoder would get no gradient
    changed = omni_run["changed"]
    assert changed["audio_tower"] > 0 and changed["visual"] > 0 and changed["lm_head"] > 0


def test_omni_checkpoint_reloads_and_generates(omni_run):
    from thud_train.collators import OmniSFTCollator

    out = omni_run["config"].dpo.output_dir
    assert {"config.json", "processor_config.json", "chat_template.jinja"} <= set(os.listdir(out))
    model, processing, kind = load_model_and_processor(out)
    assert isinstance(processing, ThudOmniProcessor) and kind == "video+audio"
    examples = [dict(r) for r in omni_run["rows"].select(range(2))]
    inputs = OmniSFTCollator(processing, omni_run["config"].media).generation_inputs(examples)
    original = OmniSFTCollator(omni_run["processing"], omni_run["config"].media).generation_inputs(examples)
    assert inputs.keys() == original.keys()
    for key, value in original.items():  # the processor made the round trip too
        assert torch.equal(inputs[key], value) if torch.is_tensor(value) else inputs[key] == value, key
    model.eval()
    # the trainer ran the model under bf16 autocast (accelerate wraps its forward); the
    # checkpoint is the fp32 weights, so compare with the unwrapped model
    from accelerate.utils import extract_model_from_parallel

    trained_model = extract_model_from_parallel(omni_run["model"], keep_fp32_wrapper=False).eval()
    mine, theirs = model.state_dict(), trained_model.state_dict()
    assert mine.keys() == theirs.keys()
    assert all(mine[k].dtype == theirs[k].dtype and torch.equal(mine[k], theirs[k]) for k in mine)
    with torch.no_grad():
        assert torch.equal(model(**inputs).logits, trained_model(**inputs).logits)
    reloaded = model.generate(**inputs, max_new_tokens=6, do_sample=False)
    trained = trained_model.generate(**inputs, max_new_tokens=6, do_sample=False)
    prompt_len = inputs["input_ids"].shape[1]
    assert reloaded.shape[1] > prompt_len
    assert torch.equal(reloaded, trained)  # the weights made the round trip
    texts = processing.batch_decode(reloaded[:, prompt_len:], skip_special_tokens=True)
    assert all(isinstance(t, str) for t in texts)


def test_text_only_causal_lm(tmp_path, preferences):
    """The same pipeline on a text-only Llama (TRL's own tokenization and collators)."""
    rows = _subset(preferences)
    config = _config(tmp_path, "tiny-causal-lm")
    sft, tokenizer, info = build_sft_trainer(config, rows)
    assert info["kind"] == "text"
    before = sft.evaluate(sft.train_dataset)["eval_loss"]
    sft.train()
    after = sft.evaluate(sft.train_dataset)["eval_loss"]
    print(f"text SFT loss: {before:.4f} -> {after:.4f}")
    assert after < before - 0.1
    save_stage(sft, tokenizer, config.sft.output_dir, config.lora)

    dpo, tokenizer, _ = build_dpo_trainer(config, rows)
    b, a = _dpo_numbers(dpo)
    print(f"text DPO loss {b['eval_loss']:.4f} -> {a['eval_loss']:.4f}, "
          f"margin {b['eval_rewards/margins']:.4f} -> {a['eval_rewards/margins']:.4f}")
    assert a["eval_loss"] < b["eval_loss"] - 0.05
    assert a["eval_rewards/margins"] > b["eval_rewards/margins"] + 0.05
    save_stage(dpo, tokenizer, config.dpo.output_dir, config.lora)

    model, tok, kind = load_model_and_processor(config.dpo.output_dir)
    assert kind == "text" and type(model).__name__ == "LlamaForCausalLM"
    prompt = tok.apply_chat_template(
        [{"role": "user", "content": rows[0]["prompt"]}], add_generation_prompt=True, return_tensors="pt",
        return_dict=True,
    )
    generated = model.generate(**prompt, max_new_tokens=6, do_sample=False)
    assert generated.shape[1] > prompt["input_ids"].shape[1]


def test_cli_lora_sft_on_the_built_dataset(tmp_path, train_build, monkeypatch):
    """``thud train sft`` with the example config, LoRA on, merged into the saved model."""
    from thud_cli.main import main

    monkeypatch.chdir(tmp_path)
    config = "tiny_omni"  # an example config, found by name
    code = main([
        "train", "sft", "--config", config, "--dataset", str(train_build),
        "--set", "lora.enabled=true", "--set", "lora.r=4",
        "--set", "sft.trainer.max_steps=2", "--set", "sft.trainer.per_device_train_batch_size=2",
        "--set", "sft.max_samples=4", "--set", "sft.trainer.learning_rate=0.01",
    ])
    assert code == 0
    out = tmp_path / "runs" / "tiny-omni-sft"
    summary = json.loads((out / "thud_train.json").read_text())
    assert summary["stage"] == "sft" and summary["data"]["rows"] == 4
    assert not (out / "adapter_config.json").exists()  # merged, a plain model
    model, _, _ = load_model_and_processor(str(out))
    fresh, _, _ = load_model_and_processor("tiny-omni")
    q = "model.language_model.layers.0.self_attn.q_proj.weight"
    merged = dict(model.named_parameters())[q]
    assert not torch.allclose(merged, dict(fresh.named_parameters())[q])  # the adapter was merged in
    # a stage that needs data that is not there fails with a message, not a traceback
    assert main(["train", "dpo", "--config", config, "--dataset", str(tmp_path / "missing")]) != 0


@pytest.mark.skipif(not os.environ.get("CI"), reason="checks CI's install of the train extra")
def test_ci_installs_the_cpu_build_of_torch():
    assert torch.__version__.startswith("2.13.0")
    assert torch.version.cuda is None, f"CI installed a CUDA build: {torch.__version__}"
