"""``thud build``: materialize the dataset into a folder in the Hub layout."""

from __future__ import annotations

import argparse
import shlex
import sys


def _offsets(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(t) for t in text.replace(",", " ").split())
    except ValueError:
        raise argparse.ArgumentTypeError(f"offsets must be numbers of seconds, e.g. '-0.5,0.5', got {text!r}") from None
    if not values or any(v == 0 for v in values):
        raise argparse.ArgumentTypeError(f"offsets must be non-zero numbers of seconds, got {text!r}")
    return values


def add_build_arguments(p: argparse.ArgumentParser) -> None:
    """The build options, shared by ``thud build`` and ``thud demo``."""
    p.add_argument("--source", choices=("synthetic", "local"), default="synthetic", help="clip source (default: synthetic)")
    p.add_argument("--data-dir", help="local source: folder with the videos and annotations.jsonl")
    p.add_argument("--annotations", help="local source: annotations file (default: DATA_DIR/annotations.jsonl)")
    p.add_argument("--num-clips", type=int, default=24, help="synthetic source: number of clips (default: 24)")
    p.add_argument("--seed", type=int, default=0, help="seed of the plan: offsets and donors (default: 0)")
    p.add_argument("--offsets", type=_offsets, help="shift offsets tau in seconds, e.g. '-1,-0.5,0.5,1'")
    p.add_argument("--margin", type=float, help="seconds the shifted audio event must stay inside the clip")
    p.add_argument("--test-fraction", type=float, help="share of clips in the test partition (default: 0.5)")
    p.add_argument(
        "--gap-fill",
        choices=("silence", "room_tone"),
        help="what fills the gap a shift or swap leaves: digital silence (default) or the clip's room tone",
    )
    p.add_argument("--num-proc", type=int, default=1, help="processes materializing shards in parallel")
    p.add_argument("--cache-dir", help="where materialized media are kept (default: $THUD_CACHE or ~/.cache/thud)")


def build_kwargs(args: argparse.Namespace) -> dict:
    kwargs = {"source": args.source, "num_clips": args.num_clips, "seed": args.seed}
    if args.data_dir:
        kwargs["data_dir"] = args.data_dir
    if args.annotations:
        kwargs["annotations"] = args.annotations
    if args.offsets:
        kwargs["offsets"] = args.offsets
    if args.margin is not None:
        kwargs["margin_s"] = args.margin
    if args.test_fraction is not None:
        kwargs["test_fraction"] = args.test_fraction
    if args.gap_fill:
        kwargs["gap_fill"] = args.gap_fill
    if args.cache_dir:
        kwargs["media_cache_dir"] = args.cache_dir
    return kwargs


def register(sub) -> None:
    p = sub.add_parser(
        "build",
        help="build the dataset (parquet + dataset card) into a folder",
        description="Materialize Original / Shift / Mute / Swap probes, preference pairs and the clip table "
        "into OUT in the Hub layout; load it with load_dataset(OUT, 'probes', split='shift').",
    )
    p.add_argument("--out", default="thud", help="output folder (default: ./thud)")
    add_build_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from thud_dataset import build
    from thud_dataset.sources import ClipError

    if args.source == "local" and not args.data_dir:
        print("thud build: --source local needs --data-dir DIR (videos + annotations.jsonl)", file=sys.stderr)
        return 2
    try:
        report = build(
            args.out,
            num_proc=args.num_proc,
            command="thud build " + " ".join(shlex.quote(a) for a in sys.argv[2:]),
            **build_kwargs(args),
        )
    except (ClipError, ValueError, FileNotFoundError) as e:
        print(f"thud build: {e}", file=sys.stderr)
        return 2
    print(report.summary())
    if report.clips_used == 0:
        print("thud build: no clip could be used (see the skipped clips above)", file=sys.stderr)
        return 1
    from .push import write_metric_next_to

    write_metric_next_to(args.out)  # ./thud_gap next to the dataset: evaluate.load("thud_gap")
    return 0
