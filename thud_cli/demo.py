"""``thud demo``: the whole pipeline on the synthetic set, in about a minute.

1. builds the synthetic dataset into OUT (default ``./thud``, 24 clips);
2. runs two reference answerers over every probe (``thud run`` logic): the *prior*
   baseline (always "synchronized": what a model that guesses the sound from the picture
   answers) and the *signal* baseline (listens: energy, onsets against motion, no learned
   weights), after checking that the audio reaches each of them;
3. scores both with the ``thud_gap`` numbers, prints the table side by side and writes
   ``results.json`` and the plots.

A model's row belongs between these two: near the prior, it guesses from the picture.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from .build import add_build_arguments, build_kwargs
from .push import write_metric_next_to

BASELINES = ("prior", "signal")


def register(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="build the synthetic set, run the prior and signal baselines, score them side by side",
        description="On a fresh machine: build the synthetic Thud dataset, answer every probe with "
        "the prior baseline (never listens) and the signal baseline (listens, no learned "
        "weights), score both with thud_gap, print the table and write the plots.",
    )
    p.add_argument("--out", default="thud", help="output folder (default: ./thud)")
    add_build_arguments(p)
    p.add_argument("--no-check-audio", action="store_true", help="skip the audio-path check")
    p.add_argument("--n-resamples", type=int, default=1000, help="bootstrap resamples for the CIs (0: none)")
    p.add_argument("--no-plots", action="store_true", help="write results.json only")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except (ValueError, FileNotFoundError) as e:
        print(f"thud demo: {e}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    from thud_dataset import build
    from thud_dataset.sources import ClipError
    from thud_metrics.predictions import read_predictions
    from thud_metrics.report import (
        align_predictions,
        format_table,
        headline,
        load_probes,
        run_summary,
        score_answers,
        write_json,
    )
    from thud_models.registry import make_answerer
    from thud_models.run import run_probes

    t0 = time.perf_counter()
    out = Path(args.out)
    if args.source == "local" and not args.data_dir:
        print("thud demo: --source local needs --data-dir DIR (videos + annotations.jsonl)", file=sys.stderr)
        return 2

    # 1. the dataset
    print(f"[1/3] building the {args.source} dataset into {out} ...", flush=True)
    try:
        report = build(
            out,
            num_proc=args.num_proc,
            progress=False,
            command="thud demo " + " ".join(shlex.quote(a) for a in sys.argv[2:]),
            **build_kwargs(args),
        )
    except ClipError as e:
        print(f"thud demo: {e}", file=sys.stderr)
        return 2
    print(report.summary())
    if report.clips_used == 0:
        print("thud demo: no clip could be used (see the skipped clips above)", file=sys.stderr)
        return 1

    # 2. the baselines; a rebuilt dataset may have other probes, so start the files afresh
    print(f"\n[2/3] answering every probe with the {' and '.join(BASELINES)} baselines ...", flush=True)
    pred_dir = out / "predictions"
    pred_dir.mkdir(parents=True, exist_ok=True)
    files = {}
    for spec in BASELINES:
        path = pred_dir / f"{spec}.jsonl"
        path.unlink(missing_ok=True)
        run = run_probes(
            make_answerer(spec),
            out,
            path,
            check_audio=not args.no_check_audio,
            cache_dir=args.cache_dir,
            echo=False,
        )
        verdict = f", audio-path check: {run.audio_check}" if run.audio_check else ""
        print(f"  {spec}: {run.answered} answered, {run.failed} failed in {run.seconds:.1f} s{verdict}")
        files[spec] = path

    # 3. scores, side by side
    print("\n[3/3] scoring ...", flush=True)
    probes = load_probes(out)
    results = {}
    for spec, path in files.items():
        predictions = read_predictions(path)
        answers, n_missing = align_predictions(predictions, probes)
        results[spec] = score_answers(answers, probes, n_resamples=args.n_resamples, seed=0)
        results[spec]["run"] = run_summary(predictions, n_missing)
    score_dir = out / "scores"
    json_path = write_json(score_dir / "results.json", {"dataset": str(out), "models": results})

    n = len(probes["probe_id"])
    print(f"\nThud scores on {n} probes ({report.clips_used} clips) of {out}\n")
    print(format_table(results))
    print()
    for spec, r in results.items():
        print(f"{spec}: {headline(r)}")
    err = results["signal"].get("offset_error") or {}
    if err.get("n"):
        print(
            f"signal: states an offset on {err['n']} sync probes; mean absolute error "
            f"{1000 * err['mean_abs_error']:.0f} ms, median {1000 * err['median_abs_error']:.0f} ms"
        )
    print(
        "\nThe prior never listens: its gap is the Clever-Hans ceiling and its pair accuracy 0. "
        "The signal baseline listens without learning: it tells silence and timing apart, but "
        "it can tell a swapped sound only when the bounces differ (docs/baselines.md). "
        "A model's row belongs between these two."
    )
    print(f"\ndataset:     {out}  (load_dataset({str(out)!r}, 'probes', split='shift'))")
    write_metric_next_to(out)  # ./thud_gap, so evaluate.load("thud_gap") works here too
    print(f"predictions: {', '.join(str(p) for p in files.values())}")
    print(f"results:     {json_path}")
    if not args.no_plots:
        from thud_metrics.plots import plot_all

        for path in plot_all(results, score_dir):
            print(f"plot:        {path}")
    print(f"\nnext: thud run --model <yours> --dataset {out} --out mine.jsonl && "
          f"thud score {pred_dir / 'prior.jsonl'} mine.jsonl --dataset {out}")  # fmt: skip
    print(f"(demo took {time.perf_counter() - t0:.0f} s)")
    return 0
