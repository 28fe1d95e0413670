"""The ``qwen2_5_omni_3b`` recipe at full size, random weights: seconds per step and peak memory.

No download: the thinker is built from the published Qwen2.5-Omni-3B dimensions
(:data:`QWEN2_5_OMNI_3B`, vocabulary 151936) around the tiny local tokenizer, on the GPU, in
bf16. The data are the preference pairs of a synthetic Thud build whose videos are replaced
by 16-second clips at 672x504 (so the recipe's media settings bind: 32 frames, each resized
to ~200 kpx, and 16 s of audio, about 4.5k media tokens a sequence). Each run is one stage
(SFT or DPO) with LoRA (the recipe's) or full fine-tuning, ``--steps`` optimizer steps of
``--accumulate`` micro-batches, the recipe's trainer settings otherwise (bf16, activation
checkpointing, cosine schedule, batch 1); checkpoints and the listening check off. A run
that runs out of memory is recorded as such and the next one starts.

Writes ``OUT/gpu_train.json`` (every number) and ``OUT/gpu_train.md`` (the table for
docs/training.md)::

    python bench/gpu_train.py --out OUT                      # on the GPU (bench/gpu_train.sh)
    python bench/gpu_train.py --out OUT --size tiny --device cpu --steps 2   # the CPU check

Seconds per step: the median of the steps after the first (the first includes CUDA
warm-up); peak memory: ``torch.cuda.max_memory_allocated`` / ``_reserved`` over the run.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path

#: Qwen2.5-Omni-3B's thinker (text, vision, audio), as published
QWEN2_5_OMNI_3B = {
    "text": {
        "hidden_size": 2048,
        "intermediate_size": 11008,
        "num_hidden_layers": 36,
        "num_attention_heads": 16,
        "num_key_value_heads": 2,
        "max_position_embeddings": 32768,
        "tie_word_embeddings": False,
    },
    "vision": {
        "depth": 32,
        "hidden_size": 1280,
        "intermediate_size": 3420,
        "num_heads": 16,
        "window_size": 112,
        "fullatt_block_indexes": [7, 15, 23, 31],
    },
    "audio": {
        "encoder_layers": 32,
        "encoder_attention_heads": 20,
        "encoder_ffn_dim": 5120,
        "d_model": 1280,
        "num_mel_bins": 128,
        "max_source_positions": 1500,
    },
}
VOCAB_SIZE = 151936
RECIPE = "qwen2_5_omni_3b"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, help="folder for gpu_train.json / gpu_train.md")
    p.add_argument("--size", choices=("3b", "tiny"), default="3b", help="3b: the published shape")
    p.add_argument("--device", default="cuda", help="cuda, or cpu for the check of this script")
    p.add_argument("--stages", default="sft,dpo", help="comma-separated: sft, dpo")
    p.add_argument("--modes", default="lora,full", help="comma-separated: lora, full")
    p.add_argument("--steps", type=int, default=4, help="optimizer steps a run")
    p.add_argument("--accumulate", type=int, default=2, help="micro-batches a step (the recipe: 16)")
    p.add_argument("--clips", type=int, default=2, help="distinct long clips the pairs cycle over")
    p.add_argument("--seconds", type=float, default=16.0, help="length of each clip")
    p.add_argument("--scale", type=int, default=3, help="frame upscale of the 224x168 synthetic render")
    p.add_argument("--dataset", help="a built Thud dataset to take the pairs from (default: build one)")
    p.add_argument("--work", help="scratch folder (default: a temporary one)")
    return p.parse_args(argv)


def build_data(work: Path, clips: int, seconds: float, scale: int, dataset: str | None = None):
    """The preference rows of a synthetic build, their videos replaced by long, large clips."""
    import numpy as np
    from datasets import load_dataset

    from thud_dataset import build
    from thud_dataset.sources.synthetic import (
        SYNTHETIC_DURATION_S,
        render_audio,
        render_frames,
        scene_params,
        write_mp4,
    )

    dataset = Path(dataset) if dataset else work / "thud"
    if not (dataset / "README.md").exists():
        build(dataset, num_clips=8, seed=0, test_fraction=0.5, progress=False)
    repeat = max(1, round(seconds / SYNTHETIC_DURATION_S))
    videos = []
    for i in range(clips):
        path = work / f"long_{i}_{scale}x{repeat}.mp4"
        if not path.exists():
            scene = scene_params(i, 0)
            frames = render_frames(scene).repeat(scale, axis=1).repeat(scale, axis=2)
            write_mp4(np.tile(frames, (repeat, 1, 1, 1)), np.tile(render_audio(scene), repeat), path)
        videos.append(str(path))
    rows = load_dataset(str(dataset), "preferences", split="train")
    rows = rows.map(
        lambda ex, i: {"video": {"bytes": None, "path": videos[i % len(videos)]}},
        with_indices=True,
        features=rows.features,
    )
    return dataset, rows


def build_model(size: str, device: str):
    """A random-weight Qwen2.5-Omni thinker (bf16 on a GPU) and Thud's processor."""
    import torch
    from transformers import Qwen2_5OmniThinkerForConditionalGeneration

    from thud_train.tiny import qwen2_5_omni_thinker_config, tiny_omni_processor

    processor = tiny_omni_processor()
    if size == "tiny":
        config = qwen2_5_omni_thinker_config(processor.tokenizer)
    else:
        config = qwen2_5_omni_thinker_config(processor.tokenizer, QWEN2_5_OMNI_3B, vocab_size=VOCAB_SIZE)
    torch.manual_seed(0)
    with torch.device(device):
        model = Qwen2_5OmniThinkerForConditionalGeneration(config)
    if device != "cpu":
        model = model.to(torch.bfloat16)
    model.generation_config.pad_token_id = processor.tokenizer.pad_token_id
    return model, processor


def step_timer():
    """A callback recording each optimizer step's seconds (the GPU synchronised around it)."""
    import torch
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def __init__(self) -> None:
            self.seconds: list[float] = []
            self._start = 0.0

        def _sync(self) -> None:
            if torch.cuda.is_available():
                torch.cuda.synchronize()

        def on_step_begin(self, args, state, control, **kwargs):
            self._sync()
            self._start = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            self._sync()
            self.seconds.append(time.perf_counter() - self._start)

    return StepTimer()


def run_one(stage: str, mode: str, args, dataset: Path, rows, work: Path) -> dict:
    import torch

    from thud_train.config import TrainConfig
    from thud_train.dpo import build_dpo_trainer
    from thud_train.sft import build_sft_trainer

    on_gpu = args.device != "cpu"
    overrides = [
        f"dataset={dataset}",
        f"{stage}.output_dir={work / f'{stage}-{mode}'}",
        f"{stage}.trainer.max_steps={args.steps}",
        f"{stage}.trainer.gradient_accumulation_steps={args.accumulate}",
        f"{stage}.trainer.save_strategy=no",
        f"{stage}.trainer.logging_steps=1",
        f"{stage}.trainer.report_to=none",
        f"lora.enabled={'true' if mode == 'lora' else 'false'}",
        "eval.every_steps=0",
        "dpo.general_fraction=0",  # no general file on the machine; the media set the cost
        f"sft.output_dir={work / 'no-sft'}",
    ]
    if not on_gpu:
        overrides.append(f"{stage}.trainer.use_cpu=true")
    config = TrainConfig.from_yaml(RECIPE, overrides)
    model, processor = build_model(args.size, args.device)
    n_params = sum(p.numel() for p in model.parameters())
    timer = step_timer()
    result = {"stage": stage, "mode": mode, "params": n_params, "steps": args.steps, "accumulate": args.accumulate}
    trainer = None
    try:
        if on_gpu:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        build = build_sft_trainer if stage == "sft" else build_dpo_trainer
        trainer, _, _ = build(config, rows, model=model, processing=processor, callbacks=[timer])
        result["trainable_params"] = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
        batch = next(iter(trainer.get_train_dataloader()))
        result["sequence_tokens"] = int(batch["input_ids"].shape[1])
        started = time.perf_counter()
        trainer.train()
        result["wall_s"] = round(time.perf_counter() - started, 2)
        result["step_s"] = [round(s, 3) for s in timer.seconds]
        later = timer.seconds[1:] or timer.seconds
        result["s_per_step"] = round(statistics.median(later), 3)
        result["s_per_micro_batch"] = round(result["s_per_step"] / args.accumulate, 3)
        result["losses"] = [h["loss"] for h in trainer.state.log_history if "loss" in h]
        result["status"] = "ok"
    except torch.OutOfMemoryError as e:
        result["status"] = f"out of memory: {str(e).splitlines()[0]}"
    except Exception as e:  # one failed run must not cost the others
        result["status"] = f"failed: {type(e).__name__}: {e}"
        result["traceback"] = traceback.format_exc()[-4000:]
    finally:
        if on_gpu:
            result["peak_allocated_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
            result["peak_reserved_gib"] = round(torch.cuda.max_memory_reserved() / 2**30, 2)
        del trainer, model
        gc.collect()
        if on_gpu:
            torch.cuda.empty_cache()
    return result


def environment(device: str) -> dict:
    import torch
    import transformers
    import trl

    env = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "trl": trl.__version__,
        "device": device,
    }
    if device != "cpu" and torch.cuda.is_available():
        env["gpu"] = torch.cuda.get_device_name()
        env["gpu_memory_gib"] = round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1)
    return env


def table(results: list[dict]) -> str:
    lines = [
        "| stage | fine-tuning | trainable params | tokens / sequence | s / step | s / micro-batch | peak allocated GiB | peak reserved GiB | status |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        lines.append(
            f"| {r['stage']} | {r['mode']} | {r.get('trainable_params', 0) / 1e6:.3g} M | "
            f"{r.get('sequence_tokens', '-')} | {r.get('s_per_step', '-')} | {r.get('s_per_micro_batch', '-')} | "
            f"{r.get('peak_allocated_gib', '-')} | {r.get('peak_reserved_gib', '-')} | {r['status'][:60]} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="thud-gpu-train-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    dataset, rows = build_data(work, args.clips, args.seconds, args.scale, args.dataset)
    report = {
        "recipe": RECIPE,
        "size": args.size,
        "command": " ".join([os.path.basename(sys.argv[0]), *(argv if argv is not None else sys.argv[1:])]),
        "environment": environment(args.device),
        "data": {"pairs": len(rows), "clips": args.clips, "clip_seconds": args.seconds, "scale": args.scale},
        "runs": [],
    }
    report["data_s"] = round(time.perf_counter() - started, 1)
    for stage in [s for s in args.stages.split(",") if s]:
        for mode in [m for m in args.modes.split(",") if m]:
            result = run_one(stage, mode, args, dataset, rows, work)
            report["runs"].append(result)
            print(json.dumps({k: v for k, v in result.items() if k != "traceback"}), flush=True)
            (out / "gpu_train.json").write_text(json.dumps(report, indent=2))
    (out / "gpu_train.md").write_text(table(report["runs"]) + "\n")
    print(table(report["runs"]))
    return 0 if all(r["status"] == "ok" for r in report["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
