"""``thud score``: score prediction files against a built Thud dataset.

    thud score run.jsonl --dataset ./thud
    thud score qwen.jsonl minicpm.jsonl --dataset ./thud --out-dir scores/

Prints the Table-1 view (original / intervened accuracy per dimension, avg gap with its
95% CI, pair accuracy), writes ``results.json`` (every number, per model, plus paired
comparisons of each later file against the first) and three PNG plots to the output
folder (default: next to the first predictions file). A thin layer over
:mod:`thud_metrics.report`, :mod:`thud_metrics.plots` and :func:`thud_metrics.compare`.
"""

from __future__ import annotations

import sys
from pathlib import Path


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
    p.add_argument("--no-plots", action="store_true", help="write results.json only")
    p.add_argument("--cache-dir", default=None, help="datasets cache folder for loading --dataset")
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
    p.set_defaults(func=run)


def _bands(text: str | None) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"--bands must be comma-separated numbers of seconds, e.g. 0,0.5,1,inf; got {text!r}") from None


def _audio_check_line(meta: dict) -> str | None:
    """The run's audio-path verdict (``_meta["audio_check"]``, written by ``thud run``)."""
    check = meta.get("audio_check")
    if check is None:
        return None
    if not isinstance(check, dict) or "verdict" not in check:
        return str(check)
    line = str(check["verdict"]) + (f": {check['reason']}" if check.get("reason") else "")
    if check["verdict"] == "does_not_reach":
        line += "\n  WARNING: the audio never reached the model; these scores measure the serving path"
    return line


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


def run(args) -> int:
    from thud_metrics.judge import JudgeError

    try:
        return _run(args)
    except (ValueError, FileNotFoundError, JudgeError) as exc:
        print(f"thud score: error: {exc}", file=sys.stderr)
        return 2


def _run(args) -> int:
    from thud_metrics import compare
    from thud_metrics.predictions import read_predictions
    from thud_metrics.report import (
        align_predictions,
        format_table,
        headline,
        load_probes,
        run_summary,
        score_answers,
        unique_names,
        write_json,
    )
    from thud_metrics.scores import DEFAULT_BANDS

    bands = _bands(args.bands) or DEFAULT_BANDS
    sets = [read_predictions(path) for path in args.predictions]  # fail early on a bad file
    judges = _judges(args)
    probes = load_probes(args.dataset, cache_dir=args.cache_dir)
    names = unique_names(sets)
    aligned = [align_predictions(pset, probes, allow_missing=args.allow_missing) for pset in sets]
    results = {}
    for name, pset, (answers, n_missing), judge in zip(names, sets, aligned, judges, strict=True):
        results[name] = score_answers(
            answers, probes, bands=bands, n_resamples=args.n_resamples, seed=args.seed, judge=judge, judge_all=args.judge_all
        )
        results[name]["run"] = run_summary(pset, n_missing)

    # each later file against the first, paired on the same probes
    comparisons = {}
    if len(sets) > 1 and args.n_resamples > 0:
        for name, (answers, _), judge in zip(names[1:], aligned[1:], judges[1:], strict=True):
            comparisons[f"{name} vs {names[0]}"] = compare(
                aligned[0][0], answers, probes["label"], probes["condition"], probes["dimension"],
                probes["pair_id"], probes["clip_id"], n_resamples=args.n_resamples, seed=args.seed,
                judge=judges[0], judge_b=judge, judge_all=args.judge_all,
            )  # fmt: skip

    first = args.predictions[0]
    out_dir = args.out_dir or first.with_name(first.stem + "_score" if len(sets) == 1 else "thud_score")
    from thud_metrics.judge import write_judge_files

    judge_files = write_judge_files(out_dir, results)  # the judge's lists move to their own files
    json_path = write_json(
        out_dir / "results.json",
        {"dataset": str(args.dataset), "bands": list(bands), "models": results, "comparisons": comparisons},
    )

    n = len(probes["probe_id"])
    print(f"Thud scores on {n} probes of {args.dataset}\n")
    print(format_table(results))
    print()
    for name, r in results.items():
        run_info = r["run"]
        notes = [headline(r)]
        if run_info["failed_calls"]:
            notes.append(f"{run_info['failed_calls']} failed calls scored as unknown")
        if run_info["missing_probes_scored_unknown"]:
            notes.append(f"{run_info['missing_probes_scored_unknown']} missing probes scored as unknown")
        print(f"{name}: " + "; ".join(notes))
        check = _audio_check_line(run_info["meta"])
        if check:
            print(f"  audio path check: {check}")
        print(f"  {_refusal_line(r)}")
        if r.get("judge"):
            print(f"  {_judge_line(r['judge'], judges[list(results).index(name)])}")
    for label, c in comparisons.items():
        row = c["paired_bootstrap"]["avg_pair_accuracy"]
        print(
            f"{label}: avg pair accuracy {100 * row['diff']:+.1f} pts "
            f"(95% CI {100 * row['ci'][0]:+.1f} to {100 * row['ci'][1]:+.1f}, p = {row['p_value']:.3g})"
        )
    print(f"\nresults: {json_path}")
    for path in judge_files:
        print(f"judge:   {path}")
    if not args.no_plots:
        from thud_metrics.plots import plot_all

        for path in plot_all(results, out_dir):
            print(f"plot:    {path}")
    return 0
