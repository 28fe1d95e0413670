"""The architecture, as the imports show it: cli -> train -> models -> metrics -> dataset.

The checks read every module's imports (also those inside functions): no package imports
one above it, no module imports itself in a circle, the pure parts import only numpy, and
nothing in the core install imports torch.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

from tests.helpers.architecture import LAYERS, cycles, modules, third_party_imports, upward_imports

REPO = Path(__file__).resolve().parents[1]
STDLIB = set(sys.stdlib_module_names)


def test_no_package_imports_one_above_it():
    assert upward_imports(REPO) == []


def test_no_import_cycles():
    assert cycles(REPO) == []


def _copy_tree(tmp_path: Path) -> Path:
    for package in LAYERS:
        shutil.copytree(REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_the_checks_fail_on_an_upward_import_and_a_cycle(tmp_path):
    root = _copy_tree(tmp_path)
    (root / "thud_dataset" / "throwaway.py").write_text("def f():\n    from thud_models import run\n")
    assert upward_imports(root) == [
        "thud_dataset.throwaway:2 imports thud_models (thud_models is above thud_dataset)",
        "thud_dataset.throwaway:2 imports thud_models.run (thud_models is above thud_dataset)",
    ]
    (root / "thud_metrics" / "cycle_a.py").write_text("from . import cycle_b\n")
    (root / "thud_metrics" / "cycle_b.py").write_text("def g():\n    from .cycle_a import x\n")
    assert cycles(root) == [["thud_metrics.cycle_a", "thud_metrics.cycle_b"]]


PURE = {
    # the interventions and the metric functions: numpy (and scipy's binomial test) only
    "thud_dataset.interventions": {"numpy"},
    "thud_dataset.vocab": set(),
    "thud_dataset.citation": set(),
    "thud_metrics.parsing": {"numpy"},
    "thud_metrics.probes": {"numpy"},
    "thud_metrics.stats": {"numpy"},
    "thud_metrics.scores": {"numpy"},
    "thud_metrics.bootstrap": {"numpy"},
    "thud_metrics.compare": {"numpy", "scipy"},
}


@pytest.mark.parametrize("prefix", sorted(PURE))
def test_pure_parts_import_only_numpy(prefix):
    allowed = PURE[prefix] | set(LAYERS) | STDLIB | {"__future__"}
    found = third_party_imports(REPO, prefix)
    assert found, f"no module {prefix}"
    bad = {m: sorted(names - allowed) for m, names in found.items() if names - allowed}
    assert bad == {}


#: where torch may be imported: the trainer and the local omni model path
TORCH_ALLOWED = (
    "thud_train",
    "thud_models.omni",
    "thud_models.adapters.transformers_omni",
    "thud_models.adapters.transformers_judge",
)


def test_nothing_in_the_core_install_imports_torch():
    users = {m for m, names in third_party_imports(REPO, "").items() if names & {"torch", "transformers", "trl", "peft"}}
    outside = sorted(m for m in users if not m.startswith(TORCH_ALLOWED) and not m.startswith("thud_cli"))
    assert outside == []


def test_architecture_doc_lists_every_module():
    doc = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"`((?:thud_\w+)(?:/\w+)*\.py)`", doc))
    tree = {p.relative_to(REPO).as_posix() for p in modules(REPO).values() if p.name != "__init__.py"}
    assert sorted(tree - listed) == [], "modules missing from docs/architecture.md"
    assert sorted(listed - tree) == [], "docs/architecture.md names modules that do not exist"
