"""Benchmark: the transformers adapter at batch sizes 1, 8, 32 on a real-size Qwen2.5-Omni thinker.

The thinker is built from the published Qwen2.5-Omni-7B (or 3B) configuration with random
weights — nothing is downloaded — directly on the device in the chosen dtype, with the tiny
tokenizer and processor of :mod:`thud_train.tiny` (its special-token ids are written into
the config; the text vocabulary keeps the published size, so the embedding and the LM head
cost what they cost in the real model). A random model rarely emits its end-of-turn token,
so every probe generates ``--max-new-tokens`` tokens: the same work at every batch size.

For each batch size, ``thud run``'s own path (:func:`thud_models.run.run_probes` with the
adapter's ``answer_many``: probes grouped by length, decoding and processing in worker
threads ahead of the model) answers the same ``--probes`` probes of a synthetic build; one
warm-up batch runs first, untimed. Recorded: probes/s of the answering step, peak GPU
memory (``torch.cuda.max_memory_allocated``), the CPU preparation time per probe (decode +
processor, measured alone), and how many answers equal batch size 1's (bf16 kernels may
round differently at another batch shape; in fp32 on the CPU they are identical, see the
tests).

Results go to ``--out-dir``: ``gpu_throughput.json`` and ``gpu_throughput.md`` (a table for
``docs/benchmarks.md``). The last line is ``batch8_vs_batch1: X`` (goal >= 4).

    python bench/gpu_throughput.py --shape 7b --device cuda --dtype bfloat16 --out-dir $OUT
    python bench/gpu_throughput.py --shape tiny --device cpu --dtype float32 --probes 16 \\
        --batch-sizes 1 8 --out-dir /tmp/gpu-check      # the same code on the CPU, in seconds
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: the vision and audio towers of Qwen2.5-Omni (the same in the 7B and 3B; only their output
#: width follows the text model)
_VISION = {"depth": 32, "hidden_size": 1280, "intermediate_size": 3420, "num_heads": 16,
           "window_size": 112, "fullatt_block_indexes": [7, 15, 23, 31]}  # fmt: skip
_AUDIO = {"encoder_layers": 32, "encoder_attention_heads": 20, "encoder_ffn_dim": 5120,
          "d_model": 1280, "num_mel_bins": 128, "max_source_positions": 1500}  # fmt: skip
_MROPE = {"rope_theta": 1000000.0, "mrope_section": [16, 24, 24]}

#: published dimensions of the text model (Qwen2.5-Omni-7B / -3B config.json, thinker part)
TEXT: dict[str, dict] = {
    "7b": {"vocab_size": 152064, "hidden_size": 3584, "intermediate_size": 18944,
           "num_hidden_layers": 28, "num_attention_heads": 28, "num_key_value_heads": 4, **_MROPE},
    "3b": {"vocab_size": 151936, "hidden_size": 2048, "intermediate_size": 11008,
           "num_hidden_layers": 36, "num_attention_heads": 16, "num_key_value_heads": 2, **_MROPE},
}  # fmt: skip


def shape_dims(shape: str) -> dict[str, dict]:
    """Text, vision and audio configuration of a published shape (fresh dicts)."""
    text = dict(TEXT[shape])
    width = text["hidden_size"]
    return {
        "text": text,
        "vision": {**_VISION, "out_hidden_size": width},
        "audio": {**_AUDIO, "output_dim": width},
    }


def build_thinker(shape: str, tokenizer, device: str, dtype: str, layers: int | None = None):
    """A random-weight thinker of ``shape`` made on ``device`` in ``dtype`` (no CPU copy).

    ``layers`` keeps only that many layers in each tower (a check of the real widths on a
    small machine; the benchmark itself uses the published depths)."""
    import torch
    from transformers import Qwen2_5OmniThinkerConfig, Qwen2_5OmniThinkerForConditionalGeneration

    from thud_train.tiny import _set_generation_tokens, _token_ids, tiny_omni_thinker

    if shape == "tiny":
        return tiny_omni_thinker(tokenizer, seed=0).to(device=device, dtype=getattr(torch, dtype)).eval()
    dims = shape_dims(shape)
    if layers:
        dims["text"]["num_hidden_layers"] = layers
        dims["audio"]["encoder_layers"] = layers
        dims["vision"]["depth"] = layers
        dims["vision"]["fullatt_block_indexes"] = [layers - 1]
    ids = _token_ids(tokenizer)
    text = dict(dims["text"])
    rope = {"rope_type": "default", "rope_theta": text.pop("rope_theta"), "mrope_section": text.pop("mrope_section")}
    config = Qwen2_5OmniThinkerConfig(
        text_config={**text, "rope_parameters": rope, "max_position_embeddings": 32768,
                     "pad_token_id": tokenizer.pad_token_id, "eos_token_id": tokenizer.eos_token_id,
                     "tie_word_embeddings": False},
        vision_config=dims["vision"],
        audio_config=dims["audio"],
        audio_start_token_id=ids["audio_start_token_id"],
        audio_end_token_id=ids["audio_end_token_id"],
        image_token_index=ids["image_token_id"],
        video_token_index=ids["video_token_id"],
        audio_token_index=ids["audio_token_id"],
    )  # fmt: skip
    config.vision_start_token_id = ids["vision_start_token_id"]
    before = torch.get_default_dtype()
    torch.set_default_dtype(getattr(torch, dtype))
    torch.manual_seed(0)
    try:
        with torch.device(device):
            model = Qwen2_5OmniThinkerForConditionalGeneration(config)
    finally:
        torch.set_default_dtype(before)
    _set_generation_tokens(model, tokenizer)
    return model.eval()


def build_dataset(out: Path, probes: int) -> Path:
    """A synthetic build with at least ``probes`` probes (6 per test clip, ~3/4 test clips)."""
    from datasets import load_dataset

    from thud_dataset import build
    from thud_dataset.vocab import CONDITIONS

    if not (out / "README.md").exists():
        clips = math.ceil(probes / 6 / 0.75 * 1.2) + 2  # 20 % spare: the partition is seeded, not exact
        build(out, num_clips=clips, seed=0, test_fraction=0.75, progress=False)
    n = sum(len(load_dataset(str(out), "probes", split=s)) for s in CONDITIONS)
    if n < probes:
        raise SystemExit(f"{out} has {n} probes, fewer than --probes {probes}")
    return out


def prep_seconds(answerer, dataset: Path, n: int = 8) -> float:
    """CPU time to decode and process one probe (one thread, nothing else running)."""
    from datasets import load_dataset

    from thud_dataset import video_file

    rows = list(load_dataset(str(dataset), "probes", split="original").select(range(n)))
    paths = [(video_file(r["video"]), r["prompt"]) for r in rows]
    t0 = time.perf_counter()
    for p, q in paths:
        answerer.prepare(p, q)
    return (time.perf_counter() - t0) / n


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shape", choices=[*TEXT, "tiny"], default="7b")
    p.add_argument("--device", default="cuda")
    p.add_argument("--dtype", default="bfloat16")
    p.add_argument("--probes", type=int, default=64)
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8, 32])
    p.add_argument("--max-new-tokens", type=int, default=16)
    p.add_argument("--num-frames", type=int, default=16)
    p.add_argument("--workers", type=int, default=None, help="preparation threads (default: the adapter's)")
    p.add_argument("--layers", type=int, help="keep only N layers per tower (a quick check of the real widths)")
    p.add_argument("--dataset", help="a built dataset (default: build a synthetic one in --work)")
    p.add_argument("--work", help="scratch folder (default: a temporary one)")
    p.add_argument("--out-dir", required=True)
    args = p.parse_args(argv)

    import torch

    from thud_models.adapters.transformers_omni import TransformersOmniAnswerer
    from thud_models.run import run_probes
    from thud_train.tiny import tiny_omni_processor

    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(args.work or tempfile.mkdtemp(prefix="thud-gpu-"))
    os.environ.setdefault("THUD_CACHE", str(work / "cache"))
    t0 = time.perf_counter()
    dataset = Path(args.dataset) if args.dataset else build_dataset(work / "thud", args.probes)
    print(f"dataset: {dataset} ({time.perf_counter() - t0:.1f} s)", flush=True)

    processor = tiny_omni_processor()
    t0 = time.perf_counter()
    model = build_thinker(args.shape, processor.tokenizer, args.device, args.dtype, args.layers)
    n_params = sum(p.numel() for p in model.parameters())
    cuda = args.device.startswith("cuda")
    if cuda:
        torch.cuda.synchronize()
    depth = f", {args.layers} layer(s) per tower" if args.layers else ""
    print(f"model: {args.shape} thinker{depth}, {n_params / 1e9:.2f} B parameters, {args.dtype} on {args.device} "
          f"({time.perf_counter() - t0:.1f} s)", flush=True)  # fmt: skip

    results = []
    answers: dict[int, dict] = {}
    for b in args.batch_sizes:
        extra = {"workers": args.workers} if args.workers else {}
        answerer = TransformersOmniAnswerer(
            model, processor, num_frames=args.num_frames, max_new_tokens=args.max_new_tokens,
            batch_size=b, name=f"transformers:qwen2.5-omni-{args.shape}-shape", **extra,
        )  # fmt: skip
        # warm-up: one batch of this size, untimed (kernel selection, allocator)
        warmup = work / f"warmup-b{b}.jsonl"
        warmup.unlink(missing_ok=True)
        run_probes(answerer, dataset, warmup, limit=b, check_audio=False, progress=False)
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        out = work / f"b{b}.jsonl"
        out.unlink(missing_ok=True)
        report = run_probes(answerer, dataset, out, limit=args.probes, check_audio=False, progress=False)
        if cuda:
            torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else None
        from thud_metrics.predictions import read_predictions

        ps = read_predictions(out)
        answers[b] = ps.answers
        row = {
            "batch_size": b,
            "probes": report.answered,
            "failed": report.failed,
            "probes_per_s": report.probes_per_s,
            "answer_seconds": report.answer_seconds,
            "peak_gib": peak,
        }
        if report.failed:
            row["first_error"] = report.errors[0]
        results.append(row)
        print(f"batch {b}: {report.probes_per_s:.2f} probes/s, {report.answered} answered, "
              f"{report.failed} failed" + (f", peak {peak:.1f} GiB" if peak is not None else ""), flush=True)  # fmt: skip
    base = results[0]
    for r in results:
        r["vs_batch_1"] = r["probes_per_s"] / base["probes_per_s"] if base["probes_per_s"] else None
        same = sum(answers[r["batch_size"]].get(k) == v for k, v in answers[base["batch_size"]].items())
        r["same_answers_as_first"] = f"{same}/{len(answers[base['batch_size']])}"
    prep = prep_seconds(answerer, dataset)

    machine = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "torch": torch.__version__,
        "gpu": torch.cuda.get_device_name(0) if cuda else None,
        "gpu_memory_gib": torch.cuda.get_device_properties(0).total_memory / 2**30 if cuda else None,
    }
    import transformers

    machine["transformers"] = transformers.__version__
    summary = {
        "shape": args.shape, "device": args.device, "dtype": args.dtype, "parameters": n_params,
        "probes": args.probes, "max_new_tokens": args.max_new_tokens, "num_frames": args.num_frames,
        "cpu_prep_s_per_probe": prep, "machine": machine, "results": results,
        "command": " ".join([sys.executable, *sys.argv]),
    }  # fmt: skip
    (out_dir / "gpu_throughput.json").write_text(json.dumps(summary, indent=2))
    lines = [
        f"{args.shape} thinker ({n_params / 1e9:.2f} B parameters, random weights), {args.dtype} on "
        f"{machine['gpu'] or args.device}; {args.probes} probes, {args.max_new_tokens} new tokens, "
        f"up to {args.num_frames} frames; CPU preparation {prep:.3f} s per probe",
        "",
        "| batch size | probes/s | vs batch 1 | peak GPU memory | answers equal to batch 1 |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        peak = f"{r['peak_gib']:.1f} GiB" if r["peak_gib"] is not None else "-"
        lines.append(f"| {r['batch_size']} | {r['probes_per_s']:.2f} | {r['vs_batch_1']:.2f}x | {peak} | "
                     f"{r['same_answers_as_first']} |")  # fmt: skip
    (out_dir / "gpu_throughput.md").write_text("\n".join(lines) + "\n")
    print("\n" + "\n".join(lines))
    b8 = next((r for r in results if r["batch_size"] == 8), None)
    if b8 is not None and b8["vs_batch_1"] is not None:
        print(f"batch8_vs_batch1: {b8['vs_batch_1']:.2f}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
