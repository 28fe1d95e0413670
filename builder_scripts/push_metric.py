#!/usr/bin/env python
"""Publish the ``thud_gap`` metric as an evaluate Space (the same as ``thud push-metric``).

    python builder_scripts/push_metric.py --repo-id my-org/thud_gap --dry-run
"""

from __future__ import annotations

import sys

from thud_cli.main import main as thud


def main(argv: list[str] | None = None) -> int:
    return thud(["push-metric", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
