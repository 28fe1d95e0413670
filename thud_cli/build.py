"""``thud build``: materialize the dataset into a folder in the Hub layout.

Exit status: 0 built; 1 the build made nothing usable (no probe, no asked-for preference
row) or stopped (disk full or read-only; the previous folder is unchanged); 2 invalid
arguments or inputs, or a refused output folder; 75 another build is writing the same
folder (try again later).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

#: exit status when another build holds the output folder (EX_TEMPFAIL: try again later)
EXIT_LOCKED = 75


def _offsets(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(t) for t in text.replace(",", " ").split())
    except ValueError:
        raise argparse.ArgumentTypeError(f"offsets must be numbers of seconds, e.g. '-0.5,0.5', got {text!r}") from None
    if not values or any(v == 0 or v != v for v in values):
        raise argparse.ArgumentTypeError(f"offsets must be non-zero numbers of seconds, got {text!r}")
    return values


def _bounded(convert, low: float, high: float | None, what: str):
    """An argparse type: ``convert(text)`` within ``[low, high]``, else one clear line."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not (low <= value and (high is None or value <= high)):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return parse


_positive_int = _bounded(int, 1, None, "a whole number >= 1")
_seed = _bounded(int, 0, None, "a whole number >= 0")
_fraction = _bounded(float, 0, 1, "a number from 0 to 1")
_seconds = _bounded(float, 0, None, "a number of seconds >= 0")


def _configs(text: str) -> tuple[str, ...]:
    from thud_dataset.vocab import CONFIGS

    names = tuple(t for t in text.replace(",", " ").split() if t)
    bad = [n for n in names if n not in CONFIGS]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"configs must be some of {', '.join(CONFIGS)}, got {text!r}")
    return names


def add_build_arguments(p: argparse.ArgumentParser) -> None:
    """The build options, shared by ``thud build`` and ``thud demo``."""
    p.add_argument("--source", choices=("synthetic", "local"), default="synthetic", help="clip source (default: synthetic)")
    p.add_argument("--data-dir", help="local source: folder with the videos and annotations.jsonl")
    p.add_argument("--annotations", help="local source: annotations file (default: DATA_DIR/annotations.jsonl)")
    p.add_argument("--num-clips", type=_positive_int, default=24, help="synthetic source: number of clips (default: 24)")
    p.add_argument("--seed", type=_seed, default=0, help="seed of the plan: offsets and donors (default: 0)")
    p.add_argument("--offsets", type=_offsets, help="shift offsets tau in seconds, e.g. '-1,-0.5,0.5,1'")
    p.add_argument("--margin", type=_seconds, help="seconds the shifted audio event must stay inside the clip (default: 0.2)")
    p.add_argument("--test-fraction", type=_fraction, help="share of clips in the test partition, 0 to 1 (default: 0.5)")
    p.add_argument(
        "--shifts-per-clip",
        type=_positive_int,
        metavar="K",
        help="shift probes per clip (default: 2, one early and one delayed, each |tau| drawn from the "
        "offsets that fit); up to the number of offsets: every offset that fits (a sweep)",
    )
    p.add_argument(
        "--one-sided",
        choices=("skip", "keep"),
        help="with 2 or more shifts per clip, a clip where only early or only delayed offsets fit: skip it "
        "(default: its shifts would all point the way the picture suggests) or keep it",
    )
    p.add_argument(
        "--gap-fill",
        choices=("silence", "room_tone"),
        help="what fills the gap a shift or swap leaves in the probes: digital silence (default, as in the "
        "paper) or the clip's room tone",
    )
    p.add_argument(
        "--preferences-gap-fill",
        choices=("silence", "room_tone"),
        help="the same for the preferences: room tone (default: training must not learn where the "
        "digital silence is) or digital silence",
    )
    p.add_argument(
        "--no-audio-column",
        action="store_true",
        help="leave the probes' audio column out (by default each probe row also holds its mp4's "
        "decoded audio as a float32 WAV)",
    )
    p.add_argument("--num-proc", type=_positive_int, default=1, help="processes checking and materializing clips in parallel (default: 1)")
    p.add_argument("--cache-dir", help="where materialized media are kept (default: $THUD_CACHE or ~/.cache/thud)")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="allow an existing OUT that is not a Thud build: its README.md, build_report.json "
        "and data/ are replaced, everything else in it is kept",
    )


def build_kwargs(args: argparse.Namespace) -> dict:
    kwargs = {"source": args.source, "num_clips": args.num_clips, "seed": args.seed, "overwrite": args.overwrite}
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
    if args.shifts_per_clip is not None:
        kwargs["shifts_per_clip"] = args.shifts_per_clip
    if args.one_sided:
        kwargs["one_sided"] = args.one_sided
    if args.gap_fill:
        kwargs["gap_fill"] = args.gap_fill
    if args.preferences_gap_fill:
        kwargs["preferences_gap_fill"] = args.preferences_gap_fill
    if args.no_audio_column:
        kwargs["audio_column"] = False
    if args.cache_dir:
        kwargs["media_cache_dir"] = args.cache_dir
    return kwargs


def register(sub) -> None:
    from thud_dataset.vocab import CONFIGS

    p = sub.add_parser(
        "build",
        help="build the dataset (parquet + dataset card) into a folder",
        description="Materialize Original / Shift / Mute / Swap probes, preference pairs and the clip table "
        "into OUT in the Hub layout; load it with load_dataset(OUT, 'probes', split='shift'). The build is "
        "written beside OUT and swapped in when complete: a failed build leaves OUT as it was.",
    )
    p.add_argument("--out", default="thud", help="output folder (default: ./thud)")
    p.add_argument(
        "--configs",
        type=_configs,
        help=f"configs to build, comma-separated, each of which must get rows (default: {','.join(CONFIGS)}, "
        "preferences only when the train partition has clips)",
    )
    add_build_arguments(p)
    p.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="where the work runs: 'local' (this machine, --num-proc processes; the default) or 'ray' "
        "(a Ray cluster, see --ray-address; needs: pip install \"thud[ray]\"). Both write the same files, "
        "byte for byte; a ray build that was interrupted resumes when the same command is run again",
    )
    p.add_argument(
        "--ray-address",
        metavar="ADDRESS",
        help="--engine ray: the cluster to run on: 'auto' (the one this machine belongs to), HOST:6379, or "
        "ray://HOST:10001 (default: $RAY_ADDRESS, else a local Ray on this machine's cores). Every node must "
        "see the sources, the cache and the folder beside --out at the same paths (docs/scaling.md)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars (the summary is still printed)")
    p.set_defaults(func=run)


#: options that choose where a build runs, not what it makes: left out of the command the
#: card records (a local and a Ray build of the same clips are the same dataset)
_ENGINE_OPTIONS = ("--engine", "--ray-address")


def recorded_command(argv: list[str]) -> str:
    """The ``thud build`` command line for the card, without the engine options.

    >>> recorded_command(["--engine", "ray", "--out", "x", "--ray-address=auto"])
    'thud build --out x'
    """
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _ENGINE_OPTIONS:
            skip = True
        elif not arg.startswith(tuple(f"{o}=" for o in _ENGINE_OPTIONS)):
            kept.append(arg)
    return " ".join(["thud", "build", *(shlex.quote(a) for a in kept)])


def load_call(out: str | Path, config: str = "probes", split: str = "shift") -> str:
    """The ``load_dataset(...)`` call for a built folder: its absolute path, never a bare
    name (a bare name can pick up an older cached build of the same name)."""
    return f"load_dataset({json.dumps(str(Path(out).resolve()))}, {json.dumps(config)}, split={json.dumps(split)})"


def run(args: argparse.Namespace) -> int:
    from thud_dataset import build
    from thud_dataset.hub.layout import EmptyBuild
    from thud_dataset.hub.output import BuildError, BuildStopped, OutputLocked
    from thud_dataset.sources import ClipError

    if args.source == "local" and not args.data_dir:
        print("thud build: --source local needs --data-dir DIR (videos + annotations.jsonl)", file=sys.stderr)
        return 2
    if args.ray_address and args.engine != "ray":
        print("thud build: --ray-address is for --engine ray", file=sys.stderr)
        return 2
    try:
        report = build(
            args.out,
            configs=args.configs,
            num_proc=args.num_proc,
            progress=not args.quiet,
            command=recorded_command(sys.argv[2:]),
            engine=args.engine,
            ray_address=args.ray_address,
            **build_kwargs(args),
        )
    except EmptyBuild as e:
        print(e.report.summary())
        print(f"thud build: nothing written: {e}", file=sys.stderr)
        return 1
    except OutputLocked as e:
        print(f"thud build: {e}", file=sys.stderr)
        return EXIT_LOCKED
    except BuildStopped as e:
        print(f"thud build: {e}", file=sys.stderr)
        return 1
    except BuildError as e:
        print(f"thud build: {e}", file=sys.stderr)
        return 2
    except (ClipError, ValueError, FileNotFoundError) as e:
        print(f"thud build: {e}", file=sys.stderr)
        return 2
    print(report.summary())
    written = report.written()
    config = next(iter(written))
    split = "shift" if config == "probes" and "shift" in written[config] else next(iter(written[config]))
    print(f"\nload it with:  from datasets import load_dataset; {load_call(args.out, config, split)}")
    from .push import write_metric_next_to

    write_metric_next_to(args.out)  # ./thud_gap next to the dataset: evaluate.load("thud_gap")
    return 0
