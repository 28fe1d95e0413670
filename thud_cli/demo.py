"""`thud demo` (placeholder)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("demo", help="(not yet available)")
    p.set_defaults(func=lambda args: print("thud demo: not implemented yet") or 2)
