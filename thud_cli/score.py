"""``thud score``: score prediction files against a built Thud dataset.

    thud score run.jsonl --dataset ./thud
    thud score qwen.jsonl minicpm.jsonl --dataset ./thud --out-dir scores/
    thud score qwen.jsonl --dataset ./thud --format latex > table.tex
    thud score qwen.jsonl --dataset ./thud --judge openai:qwen2.5-7b-instruct --judge-base-url URL

Prints the Table-1 view (original / intervened accuracy per dimension, avg gap with its
95% CI, pair accuracy), writes ``results.json`` (every number, per model, plus paired
comparisons of each later file against the first) and the plots to the output folder
(default: next to the first predictions file). With ``--format markdown|latex|csv|json``
standard output is the table alone (notes go to standard error) and the folder gets
``table.<ext>`` too. A thin layer over :func:`thud_metrics.report.score_predictions`,
:mod:`thud_metrics.tables` and :mod:`thud_metrics.plots`.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

from thud_metrics.tables import FORMATS


def register(sub) -> None:
    p = sub.add_parser(
        "score",
        help="score prediction files: accuracy, avg gap, pair accuracy, error rates, plots",
        description="Score one or more prediction files (JSON lines of probe_id/answer/error) "
        "against a built Thud dataset; several files are shown side by side.",
    )
    p.add_argument("predictions", nargs="+", type=Path, help="prediction file(s), one per model")
    p.add_argument("--dataset", required=True, help="built Thud dataset: a local folder or a Hub repo id")
    p.add_argument(
        "--out-dir",
        type=Path,
        default=None,
        help="where results.json and the plots go (default: <first file>_score/ next to it)",
    )
    add_scoring_arguments(p)
    p.add_argument("--no-plots", action="store_true", help="write results.json only")
    p.add_argument("--cache-dir", default=None, help="datasets cache folder for loading --dataset")
    add_judge_arguments(p)
    p.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="how the tables are printed: text (default), markdown, latex, csv or json; any but "
        "text also writes table.<ext> to the output folder and keeps standard output to the table",
    )
    add_quiet_argument(p)
    p.set_defaults(func=run)


def add_scoring_arguments(p) -> None:
    """The options that choose how predictions are scored (``thud score`` and ``thud report``)."""
    p.add_argument(
        "--allow-missing",
        action="store_true",
        help="score dataset probes that have no prediction as unknown (counted wrong) instead of failing",
    )
    p.add_argument("--n-resamples", type=int, default=1000, help="bootstrap resamples for the CIs (0: none)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    p.add_argument(
        "--bands",
        default=None,
        help="|tau| band edges in seconds, comma-separated (default 0,0.4,0.65,1,inf: one band per default offset)",
    )


def add_judge_arguments(p) -> None:
    """The LLM-judge options (``thud score`` and ``thud report``)."""
    p.add_argument(
        "--judge",
        default=None,
        metavar="openai:MODEL|transformers:PATH",
        help="an LLM judge for the answers the rules cannot read (verdicts cached beside each predictions file)",
    )
    p.add_argument("--judge-base-url", default=None, help="the OpenAI-compatible server of an openai: judge")
    p.add_argument(
        "--judge-all",
        action="store_true",
        help="judge every answer, score the judge's verdicts and report its agreement with the rules",
    )


def add_quiet_argument(p) -> None:
    p.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="no progress bars (datasets' included) and minimal output: the table, warnings and errors",
    )


@contextlib.contextmanager
def quiet_libraries(quiet: bool) -> Iterator[None]:
    """While the command runs with ``--quiet``: no progress bars from ``datasets`` and no
    info logs from Thud's packages. Everything is restored afterwards (a command run from
    Python leaves the process as it found it)."""
    if not quiet:
        yield
        return
    import datasets

    bars, verbosity = datasets.is_progress_bar_enabled(), datasets.logging.get_verbosity()
    loggers = [logging.getLogger(p) for p in ("thud_dataset", "thud_metrics", "thud_models", "thud_train")]
    levels = [lg.level for lg in loggers]
    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        if bars:
            datasets.enable_progress_bars()
        datasets.logging.set_verbosity(verbosity)
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def parse_bands(text: str | None) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"--bands must be comma-separated numbers of seconds, e.g. 0,0.5,1,inf; got {text!r}") from None


def _judges(args) -> list:
    """One judge per predictions file (one model loaded, one verdict cache beside each file)."""
    if args.judge is None:
        if args.judge_all or args.judge_base_url:
            raise ValueError("--judge-all and --judge-base-url need --judge openai:MODEL or transformers:PATH")
        return [None] * len(args.predictions)
    from thud_metrics.judge import CachedJudge, judge_cache_path
    from thud_models import make_judge

    client = make_judge(args.judge, base_url=args.judge_base_url)
    return [CachedJudge(client, judge_cache_path(path)) for path in args.predictions]


def _refusal_line(results: dict) -> str:
    """The refusal rate, said as evidence about the audio path (printed beside the verdict)."""
    rate, n = results["refusal_rate"], results["counts"]["refused"]
    line = f"refusal rate: {100 * rate:.1f}% ({n} answers say the model has no audio or cannot hear it)"
    if n:
        line += "; a refusing model is evidence that the audio does not reach it (see thud check-audio)"
    return line


def _judge_line(report: dict, judge) -> str:
    """What the judge did: answers asked, requests made (0 on a cached re-score), agreement."""
    asked = f"judge {report['judge']} ({report['mode']}): asked about {report['asked']} distinct answers"
    if judge is not None and hasattr(judge, "requests"):
        asked += f" ({judge.requests} new requests, {judge.hits} cached)"
    parts = [asked, f"{report['unreadable_replies']} unreadable replies (scored unknown)"]
    agree = report.get("agreement")
    if agree:
        parts.append(f"agrees with the rules on {agree['agreed']}/{agree['n']} probes, Cohen's kappa {agree['kappa']:.2f}")
    else:
        parts.append(f"{report['changed']} probes read by the judge")
    return "; ".join(parts)


def guarded(command: str, body, args) -> int:
    """``body(args)``, with bad input (a file, a row, a judge) as one line on stderr and exit 2."""
    from thud_metrics.judge import JudgeError

    try:
        return body(args)
    except (ValueError, FileNotFoundError, JudgeError) as exc:
        print(f"thud {command}: error: {exc}", file=sys.stderr)
        return 2


def run(args) -> int:
    return guarded("score", _run, args)


def score_from_args(args, predictions: list[Path]):
    """Read the files, load the probes and score them (shared with ``thud report``)."""
    from thud_metrics.predictions import read_predictions
    from thud_metrics.report import load_probes, score_predictions

    bands = parse_bands(args.bands)
    sets = [read_predictions(path) for path in predictions]  # fail early on a bad file
    judges = _judges(args)
    probes = load_probes(args.dataset, cache_dir=args.cache_dir)
    return score_predictions(
        probes,
        sets,
        dataset=args.dataset,
        allow_missing=args.allow_missing,
        bands=bands,
        n_resamples=args.n_resamples,
        seed=args.seed,
        judges=judges,
        judge_all=args.judge_all,
    )


def _run(args) -> int:
    from thud_metrics.report import save_scores

    with quiet_libraries(args.quiet):
        scored = score_from_args(args, args.predictions)
    first = args.predictions[0]
    out_dir = args.out_dir or first.with_name(first.stem + "_score" if len(args.predictions) == 1 else "thud_score")
    paths = save_scores(scored, out_dir, plots=not args.no_plots, fmt=args.format)
    print_scores(scored, fmt=args.format, quiet=args.quiet, title=f"of {args.dataset}")
    notes = sys.stdout if args.format == "text" else sys.stderr
    if not args.quiet:
        for label, path in [("results", paths["results"]), *(("table", p) for p in paths["tables"]),
                            *(("judge", p) for p in paths["judge"]), *(("plot", p) for p in paths["plots"])]:  # fmt: skip
            print(f"{label + ':':<9}{path}", file=notes)
    return 0


def print_scores(scored, *, fmt: str = "text", quiet: bool = False, title: str = "") -> None:
    """Print the table in ``fmt`` and, per model, its headline, failed/missing calls and the
    audio-path verdict (with the warning when the audio never reached it).

    With a format other than text, standard output gets the table alone and the notes go to
    standard error; ``quiet`` keeps only the table and the warnings.
    """
    from thud_metrics.report import AUDIO_WARNING, audio_check_line
    from thud_metrics.tables import format_comparisons, format_table, headline, render

    notes = sys.stdout if fmt == "text" else sys.stderr
    if fmt != "text":
        sys.stdout.write(render(scored.results, scored.comparisons, fmt))
    elif quiet:
        print(format_table(scored.results))
    else:
        n = len(scored.probes["probe_id"])
        print(f"Thud scores on {n} probes {title}".rstrip() + "\n")
        print(format_table(scored.results))
        print()
    for name, r in scored.results.items():
        run_info = r["run"]
        check = audio_check_line(run_info["meta"])
        if quiet:
            if check and AUDIO_WARNING in check:
                print(f"{name}: {AUDIO_WARNING}", file=notes)
            continue
        extra = [headline(r)]
        if run_info["failed_calls"]:
            extra.append(f"{run_info['failed_calls']} failed calls scored as unknown")
        if run_info["missing_probes_scored_unknown"]:
            extra.append(f"{run_info['missing_probes_scored_unknown']} missing probes scored as unknown")
        print(f"{name}: " + "; ".join(extra), file=notes)
        if check:
            print(f"  audio path check: {check}", file=notes)
        if "refusal_rate" in r:
            print(f"  {_refusal_line(r)}", file=notes)
        if r.get("judge"):
            print(f"  {_judge_line(r['judge'], scored.judges[scored.names.index(name)])}", file=notes)
    if scored.comparisons and not quiet:
        print(format_comparisons(scored.comparisons), file=notes)
    if not quiet:
        print(file=notes)
