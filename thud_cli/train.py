"""``thud train sft|dpo --config FILE`` and ``thud train import-general``: the companion trainer
(needs the ``train`` extra).

A thin layer over :func:`thud_train.run_sft` / :func:`thud_train.run_dpo` and
:func:`thud_train.general_import.import_general`. torch and TRL are imported only when a
stage runs, so ``thud --help`` works on a core install.
"""

from __future__ import annotations

import argparse
import sys


def register(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train a model on the preferences config: SFT warm-up, then DPO (train extra)",
        description="Stage 'sft' fine-tunes on the chosen (audio-verifying) responses; stage 'dpo' "
        "optimises chosen over rejected (visual-shortcut) responses, mixed with general video "
        "preference data ('import-general' makes that file from a public set). Settings come "
        "from a YAML config (see thud_train/configs/ and docs/training.md).",
    )
    stages = p.add_subparsers(dest="stage", required=True, metavar="{sft,dpo,import-general}")
    for stage, text in (
        ("sft", "stage 1: SFT warm-up on the chosen responses"),
        ("dpo", "stage 2: DPO, chosen over rejected, mixed with general video pairs"),
    ):
        s = stages.add_parser(stage, help=text, description=text)
        s.add_argument(
            "--config",
            required=True,
            help="YAML config file, or a shipped recipe by name (tiny_omni, qwen2_5_omni_3b, "
            "qwen3_omni_30b_a3b)",
        )
        s.add_argument(
            "--set",
            dest="overrides",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="override a config value, e.g. --set sft.trainer.max_steps=10 (repeatable; the "
            "value takes the type of its field: --set dpo.trainer.save_strategy=no is the text 'no')",
        )
        s.add_argument("--dataset", help="built Thud dataset (overrides the config's 'dataset')")
        s.add_argument("--model", help="model to start from (overrides the stage's model)")
        s.add_argument("--output-dir", help="where the stage saves (overrides STAGE.output_dir)")
        s.add_argument(
            "--resume",
            nargs="?",
            const=True,
            default=None,
            metavar="CHECKPOINT",
            help="continue a stopped run from the newest checkpoint-N folder in the output "
            "folder (or from CHECKPOINT); the run ends at the same step count a full run does",
        )
        s.set_defaults(func=run)

    g = stages.add_parser(
        "import-general",
        help="convert public video preference pairs (LLaVA-Hound DPO) into the general-data file",
        description="Write the JSON-lines file that dpo.general_data names, from a public video "
        "DPO set and local copies of its videos. Rows whose video is missing, silent (no audio "
        "track) or a folder of frames are skipped and reported.",
    )
    g.add_argument("input", help="the public file, e.g. sft_dpo_17k.jsonl (LLaVA-Hound)")
    g.add_argument("--format", default="llava-hound", choices=("llava-hound",), help="its format")
    g.add_argument("--video-dir", required=True, help="folder its 'video' names are relative to")
    g.add_argument("--out", required=True, help="the general-data file to write (.jsonl)")
    g.add_argument(
        "--keep-silent",
        action="store_true",
        help="keep videos without an audio track (the model then hears silence)",
    )
    g.add_argument("--source", help="source label written on each row (default: the format)")
    g.add_argument("--task", help="task label written on each row")
    g.set_defaults(func=run_import)


def run(args: argparse.Namespace) -> int:
    from thud_train.config import ConfigError, TrainConfig

    overrides = list(args.overrides)
    if args.dataset:
        overrides.append(f"dataset={args.dataset}")
    if args.model:
        overrides.append(f"{args.stage}.model={args.model}")
    if args.output_dir:
        overrides.append(f"{args.stage}.output_dir={args.output_dir}")
    try:
        config = TrainConfig.from_yaml(args.config, overrides)
    except ConfigError as e:
        print(f"thud train: {e}", file=sys.stderr)
        return 2
    try:
        import torch  # noqa: F401
        import trl  # noqa: F401
    except ImportError as e:
        print(
            f"thud train: {e.name} is not installed; install the train extra: "
            "pip install 'thud[train]' (it pins the CPU build torch==2.13.0)",
            file=sys.stderr,
        )
        return 2
    from thud_train.dpo import run_dpo
    from thud_train.sft import run_sft

    try:
        if args.stage == "sft":
            result = run_sft(config, resume=args.resume)
        else:
            result = run_dpo(config, resume=args.resume)
    except (ConfigError, ValueError, OSError) as e:
        print(f"thud train {args.stage}: {e}", file=sys.stderr)
        return 1
    if not _is_main_process():
        return 0
    losses = [h["loss"] for h in result.log_history if "loss" in h]
    trend = f"loss {losses[0]:.4g} -> {losses[-1]:.4g}" if losses else "no loss logged"
    resumed = f" (resumed from {result.resumed_from})" if result.resumed_from else ""
    print(
        f"thud train {args.stage}: {result.data.get('rows')} rows, {result.global_step} steps{resumed}, "
        f"{trend}; saved to {result.output_dir} ({result.layout})"
    )
    if "mix" in result.data:
        print(f"  data: {result.data['mix']}")
    checks = [h for h in result.log_history if "thud/avg_gap" in h]
    if checks:
        first, last = checks[0], checks[-1]
        print(
            f"  listening check ({int(last['thud/probes'])} test probes): avg_gap "
            f"{first['thud/avg_gap']:.3f} (step {first['step']}) -> {last['thud/avg_gap']:.3f} "
            f"(step {last['step']}), pair accuracy {first['thud/pair_accuracy']:.3f} -> "
            f"{last['thud/pair_accuracy']:.3f}"
        )
    return 0


def _is_main_process() -> bool:
    """False on the non-zero ranks of an ``accelerate launch`` / ``torchrun`` run."""
    import os

    return os.environ.get("RANK", "0") == "0"


def run_import(args: argparse.Namespace) -> int:
    from thud_train.general_import import GeneralImportError, import_general

    try:
        report = import_general(
            args.format,
            args.input,
            args.video_dir,
            args.out,
            require_audio=not args.keep_silent,
            source=args.source,
            task=args.task,
        )
    except (GeneralImportError, OSError) as e:
        print(f"thud train import-general: {e}", file=sys.stderr)
        return 1
    print(f"thud train import-general: {report}")
    return 0
