"""The exported thud_gap folder: self-contained (no Thud import, no Thud requirement), made
from the package's own code by following its imports, and the same numbers as
``thud_metrics.score_probes`` — in this environment and in a fresh one without Thud."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import venv
from importlib import metadata
from pathlib import Path

import pytest

import thud_metrics
from thud_metrics import score_probes
from thud_metrics.hub_space import plan_metric_space
from thud_metrics.thud_gap_export import (
    SCRIPT_MARK,
    ExportError,
    export_files,
    export_metric,
    is_export,
    library_imports,
)

evaluate = pytest.importorskip("evaluate")

PACKAGE_ROOT = Path(thud_metrics.__file__).resolve().parents[1]
INPUTS = ("predictions", "references", "conditions", "dimensions", "pair_ids", "offsets", "clip_ids")


@pytest.fixture(scope="module")
def probes(helpers) -> dict[str, list]:
    """Metric inputs with every kind of answer: letters, labels, free text with and without
    a stated offset, a failed call (None) and an unreadable one."""
    p = helpers.make_probes(40, seed=5)
    letters = helpers.perfect_answers(p)
    noisy = helpers.noisy_answers(p, p_right=0.6, seed=2)
    free = {
        "synced": "Yes, the thud is in sync with the impact.",
        "early": "The sound comes about 0.4 s before the impact.",
        "delayed": "I hear the crash roughly 0.7 seconds after it lands.",
        "silent": "There is no sound at all.",
        "mismatched": "The sound does not match what I see.",
    }
    answers = []
    for i, label in enumerate(p["label"]):
        kind = i % 5
        answers.append(
            letters[i] if kind == 0 else noisy[i] if kind == 1 else free[label] if kind == 2
            else None if kind == 3 else "hmm, hard to say"
        )
    return {
        "predictions": answers,
        "references": p["label"],
        "conditions": p["condition"],
        "dimensions": p["dimension"],
        "pair_ids": p["pair_id"],
        "offsets": p["offset_s"],
        "clip_ids": p["clip_id"],
    }


def _json(results: dict) -> str:
    """A canonical text of a results dict (float repr is exact; NaN stays NaN)."""

    def plain(o):
        if hasattr(o, "item"):
            return o.item()
        if isinstance(o, tuple):
            return list(o)
        raise TypeError(type(o))

    return json.dumps(json.loads(json.dumps(results, default=plain)), sort_keys=True)


def _reference(probes: dict, **options) -> str:
    return _json(score_probes(*(probes[k] for k in INPUTS), **options))


def _thud_imports(folder: Path) -> dict[str, list[str]]:
    return {
        p.name: [m for m in library_imports(p.read_text(encoding="utf-8")) if m.startswith("thud")]
        for p in folder.glob("*.py")
    }


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    return export_metric(tmp_path_factory.mktemp("export") / "thud_gap").folder


def test_the_export_imports_no_thud_and_requires_no_thud(exported):
    assert {name: mods for name, mods in _thud_imports(exported).items() if mods} == {}
    requirements = (exported / "requirements.txt").read_text().split()
    assert not any("thud" in r for r in requirements)
    assert {r.split("<")[0].split(">")[0].split("=")[0] for r in requirements} >= {"evaluate", "datasets", "numpy"}
    assert (exported / "thud_gap.py").read_text().startswith(SCRIPT_MARK)
    assert (exported / "README.md").read_bytes() == (Path(thud_metrics.THUD_GAP) / "README.md").read_bytes()
    # the vendored set is what the module needs, found from the imports: the scoring chain
    names = {p.name for p in exported.glob("*.py")}
    assert {"thud_metrics__scores.py", "thud_dataset__vocab.py", "thud_metrics__bootstrap.py"} <= names
    assert "thud_metrics__plots.py" not in names and "thud_metrics__report.py" not in names


def test_evaluate_copies_every_vendored_file(exported):
    """evaluate copies only the local modules the script imports itself: all of them."""
    from evaluate.loading import get_imports

    internal = {name for kind, name, _, _ in get_imports(str(exported / "thud_gap.py")) if kind == "internal"}
    external = [imp for imp in get_imports(str(exported / "thud_gap.py")) if imp[0] == "external"]
    assert external == []
    assert internal == {p.stem for p in exported.glob("*.py")} - {"thud_gap"}


def test_the_exported_module_gives_the_numbers_of_thud_metrics(exported, probes, tmp_path):
    module = evaluate.load(str(exported), cache_dir=str(tmp_path / "cache"))
    assert not type(module).__module__.startswith("thud_metrics")
    got = module.compute(**probes, n_resamples=200, seed=3)
    assert _json(got) == _reference(probes, n_resamples=200, seed=3)
    half = len(probes["predictions"]) // 2  # added in two batches, then computed
    module.add_batch(**{k: probes[k][:half] for k in INPUTS})
    module.add_batch(**{k: probes[k][half:] for k in INPUTS})
    assert _json(module.compute(n_resamples=0)) == _reference(probes, n_resamples=0)


def test_the_export_is_deterministic_and_replaces_only_its_own_folder(tmp_path):
    first = export_metric(tmp_path / "a" / "thud_gap")
    second = export_metric(tmp_path / "b" / "thud_gap")
    files = sorted(p.name for p in first.folder.iterdir())
    assert files == sorted(p.name for p in second.folder.iterdir()) == list(first.files)
    assert all((first.folder / f).read_bytes() == (second.folder / f).read_bytes() for f in files)
    assert export_metric(first.folder).changed is False
    (first.folder / "thud_metrics__stats.py").write_text("broken = True\n")
    assert is_export(first.folder) is False  # an edited file is no longer the export's
    (first.folder / "thud_metrics__stats.py").unlink()
    (first.folder / "thud_metrics__old_module.py").write_bytes((second.folder / "thud_metrics__stats.py").read_bytes())
    again = export_metric(first.folder)  # refreshed: the stale vendored file is gone
    assert again.changed and sorted(p.name for p in first.folder.iterdir()) == files
    # a folder Thud did not write is never replaced
    foreign = tmp_path / "mine" / "thud_gap"
    foreign.mkdir(parents=True)
    (foreign / "notes.txt").write_text("mine\n")
    with pytest.raises(ExportError, match=r"mine/thud_gap: exists and was not written by `thud export-metric`"):
        export_metric(foreign)
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]
    (first.folder / "notes.txt").write_text("added by hand\n")
    with pytest.raises(ExportError, match="was not written"):
        export_metric(first.folder)
    assert (first.folder / "notes.txt").read_text() == "added by hand\n"
    # the module is named after the folder, as evaluate.load(DIR) expects
    named = export_metric(tmp_path / "gap_metric")
    assert "gap_metric.py" in named.files and "thud_gap.py" not in named.files


# --------------------------------------------------------------- following the import graph


def _copy_packages(root: Path) -> Path:
    for package in ("thud_dataset", "thud_metrics"):
        shutil.copytree(PACKAGE_ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _top_level_names(source: str) -> list[str]:
    names = []
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [t.id for t in targets if isinstance(t, ast.Name)]
    return names


def test_the_export_follows_a_restructured_package(tmp_path, probes):
    """A module turned into a package (submodules, `from . import x`, a lazy import inside a
    function, a new module only a submodule imports) is still carried whole: the set of
    files comes from the imports, not from a list."""
    root = _copy_packages(tmp_path / "src")
    stats = root / "thud_metrics" / "stats.py"
    source = stats.read_text()
    pkg = root / "thud_metrics" / "stats"
    pkg.mkdir()
    stats.unlink()
    (pkg / "core.py").write_text(
        source.replace("from .probes import", "from ..probes import")
        + "\n\ndef _lazy_marker():\n    from .extra import MARKER\n\n    return MARKER\n"
    )
    (pkg / "extra.py").write_text('MARKER = "restructured"\n')
    names = ", ".join(_top_level_names(source))
    (pkg / "__init__.py").write_text(f"from . import core\nfrom .core import {names}\n")
    # the script takes its scoring names from the package (a re-export), with a comment
    script = root / "thud_metrics" / "thud_gap" / "thud_gap.py"
    text = script.read_text()
    node = next(
        n for n in ast.parse(text).body if isinstance(n, ast.ImportFrom) and n.module == "thud_metrics.scores"
    )
    lines = text.splitlines(keepends=True)
    names = ", ".join(a.name for a in node.names)
    lines[node.lineno - 1 : node.end_lineno] = [f"from thud_metrics import {names}  # re-exported\n"]
    script.write_text("".join(lines))
    out = tmp_path / "thud_gap"
    export = export_metric(out, script=script, root=root)
    assert {"thud_metrics.stats.core", "thud_metrics.stats.extra"} <= set(export.vendored)
    assert "thud_metrics" not in export.vendored  # the package __init__ (plots, scipy…) stays out
    assert {name: mods for name, mods in _thud_imports(out).items() if mods} == {}
    module = evaluate.load(str(out), cache_dir=str(tmp_path / "cache"))
    assert _json(module.compute(**probes, n_resamples=50)) == _reference(probes, n_resamples=50)
    core = next(m for n, m in sys.modules.items() if n.endswith(".thud_metrics__stats__core"))
    assert core._lazy_marker() == "restructured"


def test_the_export_refuses_what_it_cannot_carry(tmp_path):
    root = _copy_packages(tmp_path / "src")
    script = root / "thud_metrics" / "thud_gap" / "thud_gap.py"
    vocab = root / "thud_dataset" / "vocab.py"
    text = vocab.read_text()
    vocab.write_text(text + "\nfrom pathlib import Path\nHERE = Path(__file__).parent\n")
    with pytest.raises(ExportError, match=r"thud_dataset/vocab.py:\d+: uses __file__"):
        export_files(script=script, root=root)
    vocab.write_text(text + "\nimport importlib\nplugin = importlib.import_module('thud_dataset.citation')\n")
    with pytest.raises(ExportError, match=r"vocab.py:\d+: imports by a computed name \(import_module\)"):
        export_files(script=script, root=root)
    vocab.write_text(text + "\nfrom thud_dataset.nowhere import x\n")
    with pytest.raises(ExportError, match=r"imports thud_dataset.nowhere, which is not a module"):
        export_files(script=script, root=root)


# ------------------------------------------------------------------------- the Space


def test_push_metric_uploads_the_export(tmp_path):
    from thud_dataset.hub.upload import write_plan

    plan = plan_metric_space(None, "thud-org/thud_gap")
    assert plan.warnings == []
    files = {op.path_in_repo for op in plan.operations}
    assert set(export_files()) - {"requirements.txt"} <= files and {"app.py", "requirements.txt"} <= files
    space = write_plan(plan, tmp_path / "thud_gap")
    requirements = (space / "requirements.txt").read_text().split()
    assert not any("thud" in r for r in requirements) and any(r.startswith("gradio==") for r in requirements)
    assert sum(r.startswith("evaluate") for r in requirements) == 1
    assert {name: mods for name, mods in _thud_imports(space).items() if mods} == {}
    assert evaluate.load(str(space), cache_dir=str(tmp_path / "cache")).name == "thud_gap"


# ---------------------------------------------------- a fresh environment without Thud

#: what the fresh environment gets: the versions this environment runs, so pip finds them
#: in its cache
FRESH = ("evaluate", "datasets", "numpy")

FRESH_SCRIPT = r"""
import importlib.util, json, sys
import evaluate
assert importlib.util.find_spec("thud_metrics") is None and importlib.util.find_spec("thud_dataset") is None
folder, inputs_file, out_file = sys.argv[1:4]
inputs = json.load(open(inputs_file))
module = evaluate.load(folder)
results = module.compute(**inputs, n_resamples=200, seed=7)
thud = sorted(m for m in sys.modules if m.split(".")[0].startswith("thud"))
json.dump({"results": results, "thud_modules": thud}, open(out_file, "w"), default=lambda o: o.item())
"""


@pytest.fixture(scope="session")
def fresh_python(tmp_path_factory) -> Path:
    """A new virtual environment with only evaluate, datasets and numpy (and what they pull
    in) installed with pip: no Thud, no torch."""
    where = tmp_path_factory.mktemp("fresh-venv") / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False, clear=True).create(where)
    python = where / "bin" / "python"
    pins = [f"{name}=={metadata.version(name)}" for name in FRESH]
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *pins],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    assert done.returncode == 0, f"pip install {' '.join(pins)} into a fresh venv failed:\n{done.stderr[-3000:]}"
    return python


def test_a_fresh_environment_without_thud_loads_the_export(fresh_python, exported, probes, tmp_path):
    installed = subprocess.run(
        [str(fresh_python), "-m", "pip", "list", "--format=json"], capture_output=True, text=True
    )
    names = {p["name"].lower() for p in json.loads(installed.stdout)}
    assert "thud" not in names and "torch" not in names and {"evaluate", "datasets", "numpy"} <= names
    (tmp_path / "inputs.json").write_text(json.dumps(probes))
    (tmp_path / "check.py").write_text(FRESH_SCRIPT)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "THUD_CACHE")}
    env.update(HF_HOME=str(tmp_path / "hf"), HF_HUB_OFFLINE="1")
    done = subprocess.run(
        [str(fresh_python), "-s", str(tmp_path / "check.py"), str(exported), str(tmp_path / "inputs.json"), str(tmp_path / "out.json")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    out = json.loads((tmp_path / "out.json").read_text())
    assert out["thud_modules"] == []
    assert _json(out["results"]) == _reference(probes, n_resamples=200, seed=7)
