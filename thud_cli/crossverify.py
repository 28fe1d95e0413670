"""`thud crossverify`, `thud annotate-onsets`, `thud oops-import`: building real annotations.

Thin layers over :mod:`thud_dataset.annotation.crossverify`, :mod:`thud_dataset.annotation.onsets`
and :mod:`thud_dataset.annotation.oops`. The workflow (``docs/corpora.md``)::

    thud oops-import --oops-dir OOPS --out ann/oops.jsonl               # a visual source
    thud annotate-onsets --data-dir OOPS/oops_video --rows ann/oops.jsonl --out ann/onset.jsonl
    thud crossverify --visual ann/oops.jsonl gemini=ann/gem.jsonl \\
                     --audio gemini=ann/gem.jsonl ann/onset.jsonl \\
                     --out OOPS/oops_video/annotations.jsonl --queue review.jsonl
    # a person edits review.jsonl (times, "decision": "accept" / "reject"), then
    thud crossverify --apply-review review.jsonl --out OOPS/oops_video/annotations.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser(
        "crossverify",
        help="merge several annotators' event times; accept agreement, queue the rest",
        description=(
            "Cross-verify event-time annotations (paper section 2.2). Each --visual / --audio "
            "source is a JSON-lines file (clip_id or file, visual_time / audio_time, event "
            "texts), optionally named NAME=PATH. A clip is accepted when its visual times "
            "agree within --visual-tol and its audio times within --audio-tol; the rest go to "
            "the --queue file for a person, who sets each item's decision and feeds it back "
            "with --apply-review."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--visual",
        nargs="+",
        default=[],
        metavar="[NAME=]FILE",
        help="visual annotator files (JSON lines with visual_time), each optionally named NAME=",
    )
    p.add_argument(
        "--audio",
        nargs="+",
        default=[],
        metavar="[NAME=]FILE",
        help="audio annotator files (JSON lines with audio_time), each optionally named NAME=",
    )
    p.add_argument("--visual-tol", type=float, default=0.2, help="s (default 0.2)")
    p.add_argument("--audio-tol", type=float, default=0.1, help="s (default 0.1)")
    p.add_argument("--min-visual", type=int, default=2, help="visual times needed (default 2)")
    p.add_argument("--min-audio", type=int, default=2, help="audio times needed (default 2)")
    p.add_argument("--out", required=True, help="merged annotations.jsonl to write")
    p.add_argument("--queue", default=None, help="review queue to write (default OUT.review.jsonl)")
    p.add_argument("--report", default=None, help="also write the agreement report as JSON")
    p.add_argument(
        "--apply-review",
        default=None,
        metavar="QUEUE",
        help="merge a reviewed queue into --out (rows of the same clip_id are replaced)",
    )
    p.set_defaults(func=_crossverify)

    o = sub.add_parser(
        "annotate-onsets",
        help="candidate audio times from librosa onset detection (an audio source)",
        description=(
            "Decode each clip's audio and take its strongest acoustic onset (near the clip's "
            "visual_time when the rows give one) as a candidate audio_time, with a confidence "
            "in [0, 1]. The output is an audio annotator file for `thud crossverify`."
        ),
    )
    o.add_argument("--data-dir", required=True, help="folder of the videos")
    o.add_argument(
        "--rows",
        default=None,
        help="JSON-lines file naming the clips (clip_id, file, optional visual_time); "
        "default: every video in --data-dir",
    )
    o.add_argument("--out", required=True, help="audio annotator file (JSON lines) to write")
    o.add_argument(
        "--min-confidence",
        type=float,
        default=0.0,
        help="leave audio_time empty (with a note) below this onset confidence, in [0, 1] "
        "(default 0: keep every onset found)",
    )
    o.add_argument("--ignore-visual-time", action="store_true", help="search the whole clip")
    o.set_defaults(func=_onsets)

    x = sub.add_parser(
        "oops-import",
        help="Oops transition_times.json → candidate visual_time annotations",
        description=(
            "Convert Oops' failure-transition labels (three workers per clip, -1 = no failure) "
            "into a visual annotator file: visual_time = median of the valid times, kept when "
            "at least --min-found workers marked a failure. File paths are relative to "
            "oops_video/."
        ),
    )
    x.add_argument(
        "--oops-dir", required=True, help="extracted Oops folder (annotations/, oops_video/)"
    )
    x.add_argument("--splits", nargs="+", default=["val"], help="Oops splits (default: val)")
    x.add_argument("--unfiltered", action="store_true", help="use {split}.txt, not *_filtered.txt")
    x.add_argument(
        "--transitions",
        default="transition_times.json",
        help="transition-times file in OOPS_DIR/annotations/ (default: transition_times.json)",
    )
    x.add_argument(
        "--min-found",
        type=int,
        default=2,
        help="workers (of three) who must mark a failure for a clip to be kept (default 2)",
    )
    x.add_argument(
        "--max-spread", type=float, default=None, help="s; drop clips whose workers disagree more"
    )
    x.add_argument("--out", required=True, help="visual annotator file (JSON lines) to write")
    x.set_defaults(func=_oops)


def _crossverify(args: argparse.Namespace) -> int:
    from thud_dataset.annotation import crossverify as cv

    out = Path(args.out)
    try:
        if args.apply_review:
            res = cv.apply_review(args.apply_review, out)
            cv.write_jsonl(res.rows, out)
            print(
                f"review {args.apply_review}: {len(res.accepted)} accepted, {len(res.rejected)} "
                f"rejected, {len(res.pending)} still pending (no decision)"
            )
            print(f"wrote {len(res.rows)} annotation rows to {out}")
            return 0
        if not args.visual or not args.audio:
            print(
                "thud crossverify: give --visual and --audio sources (or --apply-review)",
                file=sys.stderr,
            )
            return 2
        visual, audio, cache = [], [], {}
        for specs, into in ((args.visual, visual), (args.audio, audio)):
            for spec in specs:
                name, path = cv.parse_source(spec)
                key = (name, str(path))
                if key not in cache:  # one file in both lists is read once
                    cache[key] = cv.read_annotator(path, name)
                into.append(cache[key])
        res = cv.cross_verify(
            visual,
            audio,
            visual_tol=args.visual_tol,
            audio_tol=args.audio_tol,
            min_visual=args.min_visual,
            min_audio=args.min_audio,
        )
    except (cv.CrossVerifyError, ValueError) as exc:
        print(f"thud crossverify: {exc}", file=sys.stderr)
        return 1
    queue = Path(args.queue) if args.queue else out.with_suffix(".review.jsonl")
    cv.write_jsonl(res.accepted, out)
    cv.write_jsonl(res.queued, queue)
    report = res.report
    print(cv.format_report(report))
    print()
    print(f"accepted → {out} ({len(res.accepted)} rows)")
    print(
        f'review queue → {queue} ({len(res.queued)} items): set each "decision" to '
        f'"accept" (after fixing visual_time / audio_time) or "reject", then run '
        f"thud crossverify --apply-review {queue} --out {out}"
    )
    if args.report:
        Path(args.report).write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0


def _onsets(args: argparse.Namespace) -> int:
    from thud_dataset.annotation.crossverify import CrossVerifyError, read_jsonl, write_jsonl
    from thud_dataset.annotation.onsets import annotate_clips
    from thud_dataset.sources.local import VIDEO_EXTENSIONS

    data_dir = Path(args.data_dir)
    if args.rows:
        try:
            rows = [r for _, r in read_jsonl(args.rows)]
        except CrossVerifyError as exc:
            print(f"thud annotate-onsets: {exc}", file=sys.stderr)
            return 1
    else:
        rows = [
            {"file": p.relative_to(data_dir).as_posix()}
            for p in sorted(data_dir.rglob("*"))
            if p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file()
        ]
    out = annotate_clips(
        rows,
        data_dir,
        use_visual_time=not args.ignore_visual_time,
        min_confidence=args.min_confidence,
    )
    write_jsonl(out, args.out)
    found = sum(r.get("audio_time") is not None for r in out)
    print(f"{found} of {len(out)} clips got a candidate audio_time → {args.out}")
    for r in out:
        if r.get("error") or r.get("note"):
            print(f"  {r.get('clip_id')}: {r.get('error') or r.get('note')}")
    return 0


def _oops(args: argparse.Namespace) -> int:
    from thud_dataset.annotation.crossverify import write_jsonl
    from thud_dataset.annotation.oops import convert_oops_dir

    try:
        rows, skipped = convert_oops_dir(
            args.oops_dir,
            splits=args.splits,
            filtered=not args.unfiltered,
            transitions_file=args.transitions,
            min_found=args.min_found,
            max_spread=args.max_spread,
        )
    except ValueError as exc:
        print(f"thud oops-import: {exc}", file=sys.stderr)
        return 1
    write_jsonl(rows, args.out)
    print(f"{len(rows)} clips with a candidate visual_time → {args.out}; {len(skipped)} skipped")
    for s in skipped:
        print(f"  skipped {s}")
    return 0
