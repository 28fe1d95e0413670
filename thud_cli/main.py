"""``thud`` — the command line entry point.

Each sub-command lives in its own module of this package and exposes
``register(subparsers)``, which adds its parser and sets ``func`` (called with the parsed
arguments; its return value is the exit code). Modules are imported lazily by name so a
command's heavy imports (torch, matplotlib, …) cost nothing to the others.
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: sub-command modules of ``thud_cli``, in the order ``thud --help`` lists them
COMMAND_MODULES = (
    "demo",
    "build",
    "score",
    "run",
    "check_audio",
    "crossverify",
    "push",
    "train",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="thud",
        description="Thud: does your omni model listen, or guess the sound from the picture?",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"thud_cli.{name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
