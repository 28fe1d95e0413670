"""Lazy package exports: names that load their module on first use.

Thud's packages keep ``import <package>`` cheap (no datasets, PyAV, torch or matplotlib
until a name that needs them is used), so the ``thud`` command and the pure-numpy parts
start fast and the core install never touches torch.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, names: dict[str, tuple[str, str]]) -> Callable[[str], Any]:
    """A module ``__getattr__`` resolving ``names[name] = (submodule, attribute)``.

    >>> getattr_ = lazy_exports("thud_dataset", {"gold": ("vocab", "gold_label")})
    >>> getattr_("gold")("mute")
    'silent'
    """

    def __getattr__(name: str) -> Any:
        if name in names:
            module, attr = names[name]
            return getattr(importlib.import_module(f".{module}", package), attr)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
