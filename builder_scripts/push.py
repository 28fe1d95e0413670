#!/usr/bin/env python
"""Publish a built Thud folder to the Hub as a dataset repository (the same as ``thud push``).

    python builder_scripts/push.py thud --repo-id my-org/thud --dry-run
"""

from __future__ import annotations

import sys

from thud_cli.main import main as thud


def main(argv: list[str] | None = None) -> int:
    return thud(["push", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
