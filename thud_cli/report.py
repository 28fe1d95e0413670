"""``thud report``: the evidence behind the scores as a static HTML folder.

    thud report ./thud thud/predictions/prior.jsonl qwen.jsonl --out report/

Scores the prediction files as ``thud score`` does (the same pipeline,
:func:`thud_metrics.report.score_predictions`) and writes a folder that works from
``file://``, from any static host and as a Hub Space: the score table with intervals, the
audio-path verdict of each model, the plots, the Clever-Hans pairs and an explorer with
both videos of every pair, their waveforms and every model's answers
(:func:`thud_metrics.explorer.write_report`).
"""

from __future__ import annotations

from pathlib import Path

from .score import (
    add_judge_arguments,
    add_quiet_argument,
    add_scoring_arguments,
    guarded,
    print_scores,
    quiet_libraries,
    score_from_args,
)


def register(sub) -> None:
    p = sub.add_parser(
        "report",
        help="write a browsable HTML report: scores, plots, videos, answers, Clever-Hans pairs",
        description="Score prediction files against a built Thud dataset and write a static HTML "
        "report (no server, no network) with the probe videos, waveforms and every answer.",
    )
    p.add_argument("dataset", help="built Thud dataset: a local folder or a Hub repo id")
    p.add_argument("predictions", nargs="+", type=Path, help="prediction file(s), one per model")
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        help="report folder: new, empty, or an earlier Thud report (which is replaced)",
    )
    add_scoring_arguments(p)
    p.add_argument("--cache-dir", default=None, help="datasets cache folder for loading the dataset")
    add_judge_arguments(p)
    add_quiet_argument(p)
    p.set_defaults(func=run)


def run(args) -> int:
    return guarded("report", _run, args)


def _run(args) -> int:
    from thud_metrics.explorer import write_report

    with quiet_libraries(args.quiet):
        scored = score_from_args(args, args.predictions)
        page = write_report(scored, args.out, dataset=args.dataset, cache_dir=args.cache_dir)
    print_scores(scored, quiet=args.quiet, title=f"of {args.dataset}")
    print(f"report: {page}  (open it in a browser; the folder works on any static host)")
    return 0
