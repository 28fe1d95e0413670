"""`thud run` (placeholder until its issue lands)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("run", help="(not yet available)")
    p.set_defaults(func=lambda args: print("thud run: not implemented yet") or 2)
