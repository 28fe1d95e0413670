"""The README runs verbatim: every python / bash block a user would paste, in order, in one
fresh folder after the quick start (``thud demo``, run once for all of them).

Blocks marked in the README's source (``<!-- readme-test: skip: REASON -->``, or
``requires MODULE``; see ``tests/helpers/readme.py``) are reported as skipped with their
reason: ``pytest -rs tests/test_readme.py`` lists them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.readme import ReadmeRunner, blocks

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
BLOCKS = blocks(README)
RUNNABLE = [b for b in BLOCKS if b.runnable]


@pytest.fixture(scope="session")
def readme(tmp_path_factory, media_cache) -> ReadmeRunner:
    """One user's folder for the whole README (the quick start runs once)."""
    root = tmp_path_factory.mktemp("readme")
    return ReadmeRunner(
        README, REPO, root / "user", root / "scratch", env_extra={"THUD_CACHE": str(media_cache)}
    )


def _quick_start() -> int:
    first = RUNNABLE[0]
    assert "thud demo" in first.code, f"{first.label}: the README's first command block is the quick start"
    return first.index


def test_markers_are_known_and_the_quick_start_comes_first():
    for block in RUNNABLE:
        block.skip_reason()  # an unknown marker raises
    quick = BLOCKS[_quick_start()]
    assert quick.marker is None, "the quick start must run"
    assert any(b.marker is None for b in RUNNABLE[1:]), "no block after the quick start runs"


@pytest.mark.parametrize("index", [b.index for b in RUNNABLE], ids=[f"line{b.line}-{b.lang}" for b in RUNNABLE])
def test_readme_block(readme, index):
    outcome = readme.run_through(index)
    if outcome.skipped is not None:
        pytest.skip(f"{outcome.block.label}: {outcome.skipped}")
    assert outcome.returncode == 0, (
        f"{outcome.block.label} failed (exit {outcome.returncode}) in {readme.workdir}:\n"
        f"{outcome.block.code}\n--- output (last 4000 characters) ---\n{outcome.output[-4000:]}"
    )


def test_the_quick_start_prints_the_table_the_readme_shows(readme):
    """The README's table is what `thud demo` prints on a fresh folder."""
    quick = _quick_start()
    outcome = readme.run_through(quick)
    assert outcome.returncode == 0, outcome.output[-4000:]
    table = next(b for b in BLOCKS[quick + 1 :] if b.lang == "")
    printed = {line.rstrip() for line in outcome.stdout.splitlines()}
    missing = [line for line in table.code.splitlines() if line.strip() and line.rstrip() not in printed]
    assert missing == [], f"{table.label}: lines `thud demo` did not print:\n" + "\n".join(missing)


LITERAL = r"""
import inspect, json, sys
from datasets import load_dataset
import evaluate

probes = load_dataset("thud", "probes", split="shift")
metric = evaluate.load("thud_gap")
thud_loaded = sorted(m for m in sys.modules if m.split(".")[0].startswith("thud_"))
for split in ("original", "shift"):  # a listening model's answers: the gold labels
    rows = load_dataset("thud", "probes", split=split)
    metric.add_batch(predictions=list(rows["label"]), references=list(rows["label"]),
                     conditions=list(rows["condition"]), dimensions=list(rows["dimension"]),
                     pair_ids=list(rows["pair_id"]))
results = metric.compute(n_resamples=0)
print(json.dumps({
    "probe_ids": list(probes["probe_id"]),
    "metric_file": inspect.getfile(type(metric)),
    "thud_modules": thud_loaded,
    "shift_accuracy": results["accuracy"]["sync"]["shift"],
}))
"""


def test_both_literal_spellings_work_from_the_quick_start_folder(readme):
    """`load_dataset("thud", ...)` and `evaluate.load("thud_gap")`, as written, offline, load
    the quick start's folders (not a cache, not Thud's package)."""
    import pyarrow.parquet as pq

    outcome = readme.run_through(_quick_start())
    assert outcome.returncode == 0, outcome.output[-4000:]
    done = subprocess.run(
        [sys.executable, "-c", LITERAL], cwd=readme.workdir, env=readme.env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-4000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    built = readme.workdir / "thud" / "data" / "probes"
    ids = [i for f in sorted(built.glob("shift-*.parquet")) for i in pq.read_table(f, columns=["probe_id"])["probe_id"].to_pylist()]
    assert got["probe_ids"] == ids and ids
    # the metric came from ./thud_gap (evaluate copies it into its module cache) and ran
    # without importing any Thud package
    module = Path(got["metric_file"])
    assert module.read_bytes() == (readme.workdir / "thud_gap" / "thud_gap.py").read_bytes()
    assert got["thud_modules"] == []
    assert got["shift_accuracy"] == 1.0
