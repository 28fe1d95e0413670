#!/usr/bin/env python
"""Verify a built Thud folder by decoding it: every probe against its source clip.

    python builder_scripts/verify.py thud

For every probe: the video packets are the source's, byte for byte; an original or shift
probe's audio is the source's displaced by its ``offset_s`` (within 1 ms); a mute probe
decodes to digital silence. Exit status 0 when every probe passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys

from thud_dataset.verify import verify_build


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("folder", help="a folder written by `thud build`")
    parser.add_argument("--tolerance-ms", type=float, default=1.0, help="allowed offset error (default: 1 ms)")
    args = parser.parse_args(argv)
    report = verify_build(args.folder, tolerance_s=args.tolerance_ms / 1000)
    print(report.summary())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
