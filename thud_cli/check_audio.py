"""``thud check-audio``: does the video's sound reach the model at all?

Sends the canary probes (clips that differ only in their audio, questions only the sound
can answer) and prints the verdict with its evidence: audio reaches the model / does not
reach it / cannot tell. ``--all-modes`` tries every way the OpenAI-compatible adapter can
send audio and says which one works on this server. The model options are those of
``thud run`` (:mod:`thud_cli.options`).

Exit status: 0 reaches, 1 does not reach, 3 cannot tell, 4 the model could not be reached
at all (connection refused, unknown host); 2 is a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .options import add_model_arguments, answerer_options

EXIT = {"reaches": 0, "does_not_reach": 1, "cannot_tell": 3, "unreachable": 4}


def _canary_dir(args: argparse.Namespace) -> Path | None:
    if args.work_dir:
        return Path(args.work_dir)
    return Path(args.cache_dir) / "canaries" if args.cache_dir else None


def run(args: argparse.Namespace) -> int:
    from thud_models.base import AnswererUnavailable

    try:
        return _check(args)
    except AnswererUnavailable as e:  # nobody to ask: one line, at once
        print(f"thud check-audio: {e}", file=sys.stderr)
        return EXIT["unreachable"]


def _check(args: argparse.Namespace) -> int:
    from thud_models.audio_check import check_audio, recommend_audio_mode
    from thud_models.registry import make_answerer

    options = answerer_options(args)
    if args.all_modes:
        if not args.model.startswith("openai:"):
            print("thud check-audio: --all-modes needs --model openai:<model>", file=sys.stderr)
            return 2
        if options.pop("audio_mode"):
            print("thud check-audio: --all-modes tries every --audio-mode; give none", file=sys.stderr)
            return 2
    try:
        answerer = make_answerer(args.model, **options)
    except (ValueError, RuntimeError) as e:
        print(f"thud check-audio: {e}", file=sys.stderr)
        return 2
    if not args.all_modes:
        result = check_audio(answerer, work_dir=_canary_dir(args), progress=not args.quiet)
        print(result.summary())
        _write_json(args.json, result.to_dict())
        return EXIT[result.verdict]
    settings = {k: v for k, v in options.items() if v is not None and k not in ("base_url", "api_key")}
    if "max_new_tokens" in settings:  # the adapter's name for it
        settings["max_tokens"] = settings.pop("max_new_tokens")
    report = recommend_audio_mode(
        args.base_url,
        args.model.partition(":")[2],
        api_key=args.api_key,
        work_dir=_canary_dir(args),
        progress=not args.quiet,
        **settings,
    )
    print(report.summary())
    if args.verbose:
        for mode, result in report.results.items():
            print(f"\n[{mode}]\n{result.summary()}")
    _write_json(args.json, report.to_dict())
    return 0 if report.recommended else EXIT["does_not_reach"]


def _write_json(path: str | None, payload: dict) -> None:
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(payload, indent=2))
        print(f"evidence written to {path}")


def register(sub) -> None:
    p = sub.add_parser(
        "check-audio",
        help="check that the video's audio reaches the model (canary probes)",
        description="Ask the model canary questions that only the sound can answer (the same still "
        "clip with beeps vs muted; one beep vs three) and report whether the audio reaches it. A model "
        "that never gets the audio looks exactly like one that guesses from the picture, so run this "
        "before trusting a Thud score. Exit status: 0 reaches, 1 does not reach, 3 cannot tell, "
        "4 the model could not be reached.",
    )
    add_model_arguments(
        p,
        model_help="openai:<served model name> (with --base-url), transformers:<folder or Hub id>, "
        "signal, prior",
    )
    p.add_argument(
        "--all-modes", action="store_true", help="try every audio mode and recommend one"
    )
    # the canary folder itself; older spelling of --cache-dir DIR (= DIR/canaries)
    p.add_argument("--work-dir", help=argparse.SUPPRESS)
    p.add_argument("--json", metavar="PATH", help="also write the full evidence as JSON")
    p.add_argument("--quiet", action="store_true", help="no per-canary progress lines")
    p.add_argument("--verbose", action="store_true", help="with --all-modes: every mode's evidence")
    p.set_defaults(func=run)
