"""``thud run``: answer a built dataset's probes with a model, into a predictions file.

    thud run --model signal --dataset ./thud --out signal.jsonl
    thud run --model transformers:Qwen/Qwen2.5-Omni-7B --batch-size 8 --dtype bfloat16 \\
        --dataset ./thud --out qwen.jsonl
    thud run --model openai:Qwen/Qwen2.5-Omni-7B --base-url http://127.0.0.1:8000/v1 \\
        --concurrency 16 --dataset ./thud --out qwen-api.jsonl

Resumable: run the same command again and it answers only what is missing. A thin layer
over :func:`thud_models.registry.make_answerer` and :func:`thud_models.run.run_probes`;
the model options are those of :mod:`thud_cli.options`, shared with ``thud check-audio``.
"""

from __future__ import annotations

import argparse
import sys

from thud_dataset.vocab import CONDITIONS

from .options import add_model_arguments, answerer_options


def register(sub) -> None:
    p = sub.add_parser(
        "run",
        help="answer the probes of a built dataset with a model; writes predictions.jsonl",
        description="Run a model over a built Thud dataset's probes and append its answers to a "
        "JSON-lines predictions file (score it with `thud score`). A rerun with the same --out "
        "skips the probes already answered. The audio path is checked first.",
    )
    add_model_arguments(
        p, model_help="prior | signal | transformers:<folder or Hub id> | openai:<served model name>"
    )
    p.add_argument("--dataset", required=True, help="built dataset folder (thud build --out) or Hub id")
    p.add_argument("--out", required=True, help="predictions file (JSON lines); an existing one is resumed")
    p.add_argument(
        "--split",
        action="append",
        choices=CONDITIONS,
        help="probe split(s) to run (repeatable; default: all)",
    )
    p.add_argument("--limit", type=int, help="run only the first N probes")
    p.add_argument("--no-check-audio", action="store_true", help="skip the audio-path check")
    p.add_argument("--retry-errors", action="store_true", help="ask again the probes whose call failed")
    p.add_argument(
        "--max-consecutive-failures",
        type=int,
        default=25,
        metavar="N",
        help="stop after N failed probes in a row, e.g. a server that is down (default 25; 0: never)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from thud_models.base import AnswererUnavailable
    from thud_models.registry import make_answerer
    from thud_models.run import RunInProgress, run_probes

    if args.limit is not None and args.limit < 1:
        print("thud run: --limit must be >= 1", file=sys.stderr)
        return 2
    try:
        answerer = make_answerer(args.model, **answerer_options(args))
    except (ValueError, RuntimeError) as e:
        print(f"thud run: {e}", file=sys.stderr)
        return 2
    try:
        report = run_probes(
            answerer,
            args.dataset,
            args.out,
            splits=tuple(args.split or CONDITIONS),
            limit=args.limit,
            check_audio=not args.no_check_audio,
            retry_errors=args.retry_errors,
            max_consecutive_failures=args.max_consecutive_failures,
            progress=not args.no_progress,
            cache_dir=args.cache_dir,
        )
    except (ValueError, FileNotFoundError) as e:
        print(f"thud run: {e}", file=sys.stderr)
        return 2
    except (RunInProgress, AnswererUnavailable) as e:
        print(f"thud run: {e}", file=sys.stderr)
        return 1
    print(report.summary())
    if report.stopped_early:
        return 1
    print(f"next: thud score {args.out} --dataset {args.dataset}")
    return 1 if report.failed and not report.answered and not report.done_before else 0
