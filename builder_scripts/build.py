#!/usr/bin/env python
"""Build the Thud dataset into a folder in the Hub layout (the same as ``thud build``).

    python builder_scripts/build.py --source synthetic --num-clips 24 --out thud
    python builder_scripts/build.py --source local --data-dir my_videos/ --out thud_oops
"""

from __future__ import annotations

import sys

from thud_cli.main import main as thud


def main(argv: list[str] | None = None) -> int:
    return thud(["build", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
