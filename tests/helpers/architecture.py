"""Reading the import graph of the packages: layer violations, cycles, forbidden imports.

Every import counts, also those inside functions (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: the packages from the bottom up: a package may import those below it, never above
LAYERS: tuple[str, ...] = ("thud_dataset", "thud_metrics", "thud_models", "thud_train", "thud_cli")


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    target: str  # the imported module, dotted (absolute)
    line: int


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path) -> dict[str, Path]:
    """Every module of the layered packages under ``root``: dotted name -> file."""
    out = {}
    for package in LAYERS:
        for path in sorted((root / package).rglob("*.py")):
            out[module_name(root, path)] = path
    return out


def _resolve(module: str, is_package: bool, level: int, target: str | None) -> str:
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, *([target] if target else [])])


def imports(root: Path) -> Iterator[Import]:
    """Every import statement of every module, resolved to absolute dotted names."""
    known = modules(root)
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield Import(name, alias.name, node.lineno)
            elif isinstance(node, ast.ImportFrom):
                target = (
                    _resolve(name, is_package, node.level, node.module) if node.level else node.module or ""
                )
                yield Import(name, target, node.lineno)
                for alias in node.names:  # `from pkg import submodule`
                    sub = f"{target}.{alias.name}"
                    if sub in known:
                        yield Import(name, sub, node.lineno)


def layer(dotted: str) -> int | None:
    top = dotted.split(".")[0]
    return LAYERS.index(top) if top in LAYERS else None


def upward_imports(root: Path) -> list[str]:
    """``"module:line imports target"`` for every import of a higher layer."""
    bad = []
    for imp in imports(root):
        here, there = layer(imp.module), layer(imp.target)
        if there is not None and here is not None and there > here:
            bad.append(f"{imp.module}:{imp.line} imports {imp.target} ({LAYERS[there]} is above {LAYERS[here]})")
    return bad


def cycles(root: Path) -> list[list[str]]:
    """The import cycles among the modules (strongly connected components of size > 1)."""
    known = modules(root)
    graph: dict[str, set[str]] = {m: set() for m in known}
    for imp in imports(root):
        target = imp.target
        while target and target not in known:  # `import a.b.c` of a name inside a module
            target = target.rpartition(".")[0]
        if target and target != imp.module and not imp.module.startswith(target + "."):
            graph[imp.module].add(target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def third_party_imports(root: Path, module_prefix: str) -> dict[str, set[str]]:
    """Top-level names of what the modules under ``module_prefix`` import, per module."""
    out: dict[str, set[str]] = {}
    for imp in imports(root):
        if imp.module == module_prefix or imp.module.startswith(module_prefix + "."):
            out.setdefault(imp.module, set()).add(imp.target.split(".")[0])
    return out
