"""``thud`` — the command line entry point.

Each sub-command lives in its own module of this package and exposes
``register(subparsers)``, which adds its parser and sets ``func`` (called with the parsed
arguments; its return value is the exit code). Modules are imported lazily by name so a
command's heavy imports (torch, matplotlib, …) cost nothing to the others.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

#: sub-command modules of ``thud_cli``, in the order ``thud --help`` lists them
COMMAND_MODULES = (
    "demo",
    "build",
    "score",
    "report",
    "export",
    "run",
    "check_audio",
    "crossverify",
    "push",
    "train",
    "env",
)


def version() -> str:
    """The installed Thud's version ("unknown" when run from a tree that was never installed)."""
    from importlib import metadata

    try:
        return metadata.version("thud")
    except metadata.PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="thud",
        description="Thud: does your omni model listen, or guess the sound from the picture?",
        epilog="A bug report: include the output of `thud env`.",
    )
    parser.add_argument(
        "--version", action="version", version=f"thud {version()}", help="print Thud's version and exit"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"thud_cli.{name}")
        module.register(sub)
    return parser


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (tests and notebooks replace it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def _show_library_logs() -> None:
    """The library logs (``logging.getLogger(__name__)``); the command shows its messages."""
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    for package in ("thud_dataset", "thud_metrics", "thud_models", "thud_train"):
        logger = logging.getLogger(package)
        if not logger.handlers:
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)


def main(argv: list[str] | None = None) -> int:
    _show_library_logs()
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
