"""`thud build` (placeholder)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("build", help="(not yet available)")
    p.set_defaults(func=lambda args: print("thud build: not implemented yet") or 2)
