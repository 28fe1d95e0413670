"""``thud train sft|dpo --config FILE``: the companion trainer (needs the ``train`` extra).

A thin layer over :func:`thud_train.run_sft` / :func:`thud_train.run_dpo`. torch and TRL
are imported only when a stage runs, so ``thud --help`` works on a core install.
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
        "preference data. Settings come from a YAML config (see thud_train/configs/ and "
        "docs/training.md).",
    )
    p.add_argument("stage", choices=("sft", "dpo"), help="which stage to run")
    p.add_argument(
        "--config", required=True, help="YAML config file, or an example by name (tiny_omni, qwen2_5_omni_3b)"
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set sft.trainer.max_steps=10 (repeatable)",
    )
    p.add_argument("--dataset", help="built Thud dataset (overrides the config's 'dataset')")
    p.add_argument("--model", help="model to start from (overrides the stage's model)")
    p.add_argument("--output-dir", help="where the stage saves (overrides STAGE.output_dir)")
    p.set_defaults(func=run)


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
        result = (run_sft if args.stage == "sft" else run_dpo)(config)
    except (ConfigError, ValueError, OSError) as e:
        print(f"thud train {args.stage}: {e}", file=sys.stderr)
        return 1
    losses = [h["loss"] for h in result.log_history if "loss" in h]
    trend = f"loss {losses[0]:.4g} -> {losses[-1]:.4g}" if losses else "no loss logged"
    print(f"thud train {args.stage}: {result.data.get('rows')} rows, {trend}; saved to {result.output_dir}")
    if "mix" in result.data:
        print(f"  data: {result.data['mix']}")
    return 0
