#!/usr/bin/env python
"""Merge several annotators' event times into one ``annotations.jsonl`` (``thud crossverify``).

    python builder_scripts/crossverify.py --visual a.jsonl --visual b.jsonl \
        --audio onsets.jsonl --out my_videos/annotations.jsonl --queue review.jsonl
"""

from __future__ import annotations

import sys

from thud_cli.main import main as thud


def main(argv: list[str] | None = None) -> int:
    return thud(["crossverify", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
