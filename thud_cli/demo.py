"""``thud demo``: the whole pipeline on the synthetic set, in about a minute.

1. builds the synthetic dataset into OUT (default ``./thud``, 24 clips);
2. runs three reference answerers over every probe (``thud run`` logic): the *prior*
   baseline (always "synchronized": what a model that guesses the sound from the picture
   answers), the *signal* baseline (listens: energy, onsets against motion, no learned
   weights) and the *silence_cue* baseline (reads only where the audio is exact digital
   silence: what the gap-fill cue alone gives away), after checking that the audio reaches
   each of them;
3. scores them with the ``thud_gap`` numbers (:func:`thud_metrics.report.score_predictions`,
   as ``thud score`` does), prints the table side by side and writes ``results.json``, the
   plots and the HTML report (``OUT/report/index.html``, as ``thud report`` does).

A model's row belongs between the prior and the signal baseline: near the prior, it guesses
from the picture; near silence_cue, it may be reading the silence instead of the event.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from .build import add_build_arguments, build_kwargs
from .push import write_metric_next_to
from .score import add_quiet_argument, print_scores, quiet_libraries

BASELINES = ("prior", "signal", "silence_cue")


def register(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="build the synthetic set, run the prior, signal and silence_cue baselines, score them side by side",
        description="On a fresh machine: build the synthetic Thud dataset, answer every probe with "
        "the prior baseline (never listens), the signal baseline (listens, no learned "
        "weights) and the silence_cue baseline (reads only where the audio is exact digital "
        "silence), score them with thud_gap, print the table, write the plots and the HTML report.",
    )
    p.add_argument("--out", default="thud", help="output folder (default: ./thud)")
    add_build_arguments(p)
    p.add_argument("--no-check-audio", action="store_true", help="skip the audio-path check")
    p.add_argument("--n-resamples", type=int, default=1000, help="bootstrap resamples for the CIs (0: none)")
    p.add_argument("--no-plots", action="store_true", help="write results.json only (no plots, no report)")
    p.add_argument("--no-report", action="store_true", help="do not write the HTML report (OUT/report/)")
    add_quiet_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        with quiet_libraries(args.quiet):
            return _run(args)
    except (ValueError, FileNotFoundError) as e:
        print(f"thud demo: {e}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    from thud_dataset import build
    from thud_dataset.sources import ClipError
    from thud_metrics.predictions import read_predictions
    from thud_metrics.report import load_probes, save_scores, score_predictions
    from thud_models.registry import make_answerer
    from thud_models.run import run_probes

    t0 = time.perf_counter()
    out = Path(args.out)
    quiet = args.quiet
    say = (lambda *a, **k: None) if quiet else print
    if args.source == "local" and not args.data_dir:
        print("thud demo: --source local needs --data-dir DIR (videos + annotations.jsonl)", file=sys.stderr)
        return 2

    # 1. the dataset
    say(f"[1/3] building the {args.source} dataset into {out} ...", flush=True)
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
    say(report.summary())
    if report.clips_used == 0:
        print("thud demo: no clip could be used (see the skipped clips above)", file=sys.stderr)
        return 1

    # 2. the baselines; a rebuilt dataset may have other probes, so start the files afresh
    say(f"\n[2/3] answering every probe with the {', '.join(BASELINES[:-1])} and {BASELINES[-1]} baselines ...", flush=True)
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
            progress=not quiet,
        )
        verdict = f", audio-path check: {run.audio_check}" if run.audio_check else ""
        say(f"  {spec}: {run.answered} answered, {run.failed} failed in {run.seconds:.1f} s{verdict}")
        files[spec] = path

    # 3. scores, side by side: the pipeline of `thud score` and `thud report`
    say("\n[3/3] scoring ...", flush=True)
    probes = load_probes(out)
    scored = score_predictions(
        probes, [read_predictions(p) for p in files.values()], dataset=out, n_resamples=args.n_resamples, seed=0
    )
    score_dir = out / "scores"
    paths = save_scores(scored, score_dir, plots=not args.no_plots)
    print_scores(scored, quiet=quiet, title=f"({report.clips_used} clips) of {out}")
    err = scored.results["signal"].get("offset_error") or {}
    if err.get("n"):
        say(
            f"signal: states an offset on {err['n']} sync probes; mean absolute error "
            f"{1000 * err['mean_abs_error']:.0f} ms, median {1000 * err['median_abs_error']:.0f} ms"
        )
    say(
        "\nThe prior never listens: its gap is the Clever-Hans ceiling and its pair accuracy 0. "
        "The signal baseline listens without learning: it tells silence and timing apart, but "
        "it can tell a swapped sound only when the bounces differ (docs/baselines.md). "
        "silence_cue never times anything: it reads where the audio is exact digital silence, "
        "the cue a silence-filled shift or swap leaves (--gap-fill room_tone removes it). "
        "A model's row belongs between the prior and signal; near silence_cue, it may read the silence."
    )
    page = None
    if not (args.no_report or args.no_plots):
        from thud_metrics.explorer import write_report

        page = write_report(scored, out / "report", dataset=out)
    say(f"\ndataset:     {out}  (load_dataset({str(out)!r}, 'probes', split='shift'))")
    write_metric_next_to(out)  # ./thud_gap, so evaluate.load("thud_gap") works here too
    say(f"predictions: {', '.join(str(p) for p in files.values())}")
    print(f"results:     {paths['results']}")
    for path in paths["plots"]:
        say(f"plot:        {path}")
    if page is not None:
        print(f"report:      {page}  (open it in a browser)")
    say(f"\nnext: thud run --model <yours> --dataset {out} --out mine.jsonl && "
        f"thud score {pred_dir / 'prior.jsonl'} mine.jsonl --dataset {out}")  # fmt: skip
    say(f"(demo took {time.perf_counter() - t0:.0f} s)")
    return 0
