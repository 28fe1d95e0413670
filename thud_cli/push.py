"""`thud push` (placeholder until its issue lands)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("push", help="(not yet available)")
    p.set_defaults(func=lambda args: print("thud push: not implemented yet") or 2)
