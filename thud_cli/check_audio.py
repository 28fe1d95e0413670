"""`thud check-audio` (placeholder until its issue lands)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("check-audio", help="(not yet available)")
    p.set_defaults(func=lambda args: print("thud check-audio: not implemented yet") or 2)
