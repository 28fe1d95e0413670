"""What the metric leans on outside itself: the private ``evaluate`` API that ``thud_gap``
overrides (pinned, checked here so that an upgrade fails loudly), and the short import list
that lets the pure metric modules be copied into a self-contained evaluate module."""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

import pytest

from tests.helpers.architecture import imports

REPO = Path(__file__).resolve().parents[2]

#: the evaluate versions whose internals are checked below (the pin in pyproject.toml)
EVALUATE_PIN = ">=0.4.6,<0.5"


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", text)[:3])


def test_the_evaluate_pin_matches_what_is_checked_here():
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert f'"evaluate{EVALUATE_PIN}"' in pyproject, (
        f"pyproject.toml must pin evaluate{EVALUATE_PIN}: thud_gap overrides evaluate internals, "
        "checked by this file for that range only"
    )


def test_the_evaluate_internals_thud_gap_relies_on_are_unchanged():
    """ThudGap.add_batch writes an Arrow table through ``self.writer`` (made by
    ``_init_writer`` once ``selected_feature_format`` is set), and ``ThudGap`` overrides
    ``_enforce_nested_string_type(schema, obj)`` to let None through. If evaluate renames or
    reshapes any of these, the metric would break in a confusing way: say so here instead."""
    evaluate = pytest.importorskip("evaluate")
    from thud_metrics.thud_gap.thud_gap import ThudGap

    problems = []
    if not (0, 4, 6) <= _version(evaluate.__version__) < (0, 5):
        problems.append(f"evaluate {evaluate.__version__} is outside the pin {EVALUATE_PIN}")
    metric = evaluate.Metric
    if not callable(getattr(metric, "_init_writer", None)):
        problems.append("evaluate.Metric._init_writer is gone")
    elif [p for p in inspect.signature(metric._init_writer).parameters.values()
          if p.name != "self" and p.default is inspect.Parameter.empty]:  # fmt: skip
        problems.append(f"evaluate.Metric._init_writer now needs arguments: {inspect.signature(metric._init_writer)}")
    enforce = getattr(metric, "_enforce_nested_string_type", None)
    if not callable(enforce):
        problems.append("evaluate.Metric._enforce_nested_string_type is gone")
    elif list(inspect.signature(enforce).parameters) != ["self", "schema", "obj"]:
        problems.append(f"evaluate.Metric._enforce_nested_string_type(self, schema, obj) is now {inspect.signature(enforce)}")
    source = "".join(inspect.getsource(c) for c in metric.__mro__ if c.__module__.startswith("evaluate"))
    for name in ("self.writer", "selected_feature_format", "_enforce_nested_string_type(", "_init_writer("):
        if name not in source:
            problems.append(f"evaluate.Metric no longer uses {name}")
    if not problems:
        m = ThudGap(keep_in_memory=True)
        if getattr(m, "writer", "missing") is not None:
            problems.append("a new evaluate.Metric no longer starts with writer = None")
        m.add_batch(predictions=["A", None], references=["synced", "silent"], conditions=["original", "mute"],
                    dimensions=["existence"] * 2, pair_ids=["p", "p"])  # fmt: skip
        if not callable(getattr(m.writer, "write_table", None)):
            problems.append("evaluate's writer has no write_table any more")
        elif m.compute(n_resamples=0)["accuracy"]["existence"] != {"original": 1.0, "mute": 0.0}:
            problems.append("rows written through the writer no longer come back in compute")
    if problems:
        pytest.fail(
            "thud_gap relies on evaluate internals that changed: " + "; ".join(problems) + ". Update "
            "ThudGap.add_batch / _enforce_nested_string_type in thud_metrics/thud_gap/thud_gap.py, then the pin "
            "in pyproject.toml and EVALUATE_PIN here."
        )


#: the modules the self-contained evaluate module copies (with thud_dataset/vocab.py)
VENDORED = ("thud_metrics.parsing", "thud_metrics.probes", "thud_metrics.stats", "thud_metrics.scores",
            "thud_metrics.bootstrap")  # fmt: skip


def test_the_metric_modules_need_only_numpy_the_standard_library_and_vocab():
    def vendored(name: str) -> bool:
        return any(name == v or name.startswith(v + ".") for v in VENDORED)

    allowed_third_party = {"numpy", "__future__"} | set(sys.stdlib_module_names)
    bad = sorted(
        f"{imp.module}:{imp.line} imports {imp.target}"
        for imp in imports(REPO)
        if vendored(imp.module)
        and not vendored(imp.target)
        and imp.target != "thud_dataset.vocab"
        and imp.target.split(".")[0] not in allowed_third_party
    )
    assert bad == []
