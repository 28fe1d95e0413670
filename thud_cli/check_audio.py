"""``thud check-audio``: does the video's sound reach the model at all?

Sends the canary probes (clips that differ only in their audio, questions only the sound
can answer) and prints the verdict with its evidence: audio reaches the model / does not
reach it / cannot tell. ``--all-modes`` tries every way the OpenAI-compatible adapter can
send audio and says which one works on this server.

Exit status: 0 reaches, 1 does not reach, 3 cannot tell (2 is argparse's usage error).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EXIT = {"reaches": 0, "does_not_reach": 1, "cannot_tell": 3}


def run(args: argparse.Namespace) -> int:
    from thud_models.audio_check import check_audio, recommend_audio_mode

    openai = args.model.startswith("openai:")
    http_options = {
        "timeout": args.timeout,
        "max_tokens": args.max_tokens,
        "num_frames": args.num_frames,
    }
    if args.all_modes:
        if not openai:
            print("thud check-audio: --all-modes needs --model openai:<model>", file=sys.stderr)
            return 2
        if not args.base_url:
            print("thud check-audio: --model openai:<model> needs --base-url", file=sys.stderr)
            return 2
        report = recommend_audio_mode(
            args.base_url,
            args.model.partition(":")[2],
            api_key=args.api_key,
            work_dir=args.work_dir,
            progress=not args.quiet,
            **http_options,
        )
        print(report.summary())
        if args.verbose:
            for mode, result in report.results.items():
                print(f"\n[{mode}]\n{result.summary()}")
        _write_json(args.json, report.to_dict())
        return 0 if report.recommended else EXIT["does_not_reach"]
    options = {}
    if openai:
        if not args.base_url:
            print("thud check-audio: --model openai:<model> needs --base-url", file=sys.stderr)
            return 2
        options = {
            "base_url": args.base_url,
            "api_key": args.api_key,
            "audio_mode": args.audio_mode,
            **http_options,
        }
    elif args.base_url or args.audio_mode != "video":
        print(
            "thud check-audio: --base-url and --audio-mode apply to --model openai:<model> only",
            file=sys.stderr,
        )
        return 2
    from thud_models.registry import make_answerer

    try:
        answerer = make_answerer(args.model, **options)
    except ValueError as e:
        print(f"thud check-audio: {e}", file=sys.stderr)
        return 2
    result = check_audio(answerer, work_dir=args.work_dir, progress=not args.quiet)
    print(result.summary())
    _write_json(args.json, result.to_dict())
    return EXIT[result.verdict]


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
        "before trusting a Thud score. Exit status: 0 reaches, 1 does not reach, 3 cannot tell.",
    )
    p.add_argument(
        "--model", required=True, help="openai:<served model name> (with --base-url), signal, prior"
    )
    p.add_argument("--base-url", help="OpenAI-compatible API root, e.g. http://127.0.0.1:8000/v1")
    p.add_argument("--api-key", help="bearer token (default: $OPENAI_API_KEY)")
    p.add_argument(
        "--audio-mode",
        choices=("video", "video+audio", "frames+audio"),
        default="video",
        help="how the sound is sent (default: video, with use_audio_in_video); see docs/harnesses.md",
    )
    p.add_argument(
        "--all-modes", action="store_true", help="try every audio mode and recommend one"
    )
    p.add_argument(
        "--num-frames", type=int, default=8, help="frames sent in frames+audio mode (default: 8)"
    )
    p.add_argument(
        "--timeout", type=float, default=120.0, help="seconds per request (default: 120)"
    )
    p.add_argument(
        "--max-tokens", type=int, default=256, help="max tokens per answer (default: 256)"
    )
    p.add_argument(
        "--work-dir", help="where the canary clips are cached (default: $THUD_CACHE/canaries)"
    )
    p.add_argument("--json", metavar="PATH", help="also write the full evidence as JSON")
    p.add_argument("--quiet", action="store_true", help="no per-canary progress lines")
    p.add_argument("--verbose", action="store_true", help="with --all-modes: every mode's evidence")
    p.set_defaults(func=run)
