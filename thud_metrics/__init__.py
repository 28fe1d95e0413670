"""thud_metrics: answer parsing, the thud_gap numbers (pure numpy), plots and reports.

``THUD_GAP`` is the path of the ``thud_gap`` evaluate module, for
``evaluate.load(thud_metrics.THUD_GAP)``; this package itself imports no ``evaluate``.
"""

from __future__ import annotations

from pathlib import Path

from .bootstrap import bootstrap_ci
from .compare import compare, mcnemar
from .parsing import JUDGE_PROMPT, judge_prompt, parse_answer, parse_answers, stated_offset
from .scores import (
    DECOMPOSITION_CATEGORIES,
    DEFAULT_BANDS,
    accuracy,
    accuracy_by_offset,
    confusion,
    decomposition,
    error_rates,
    gaps,
    offset_error,
    pair_accuracy,
    refusal_rate,
    score_probes,
    unparseable_rate,
)
from .stats import RATE_NAMES

#: path of the evaluate module folder: ``evaluate.load(THUD_GAP)`` works from any directory
THUD_GAP: str = str(Path(__file__).resolve().parent / "thud_gap")

__all__ = [
    "DECOMPOSITION_CATEGORIES",
    "DEFAULT_BANDS",
    "JUDGE_PROMPT",
    "RATE_NAMES",
    "THUD_GAP",
    "accuracy",
    "accuracy_by_offset",
    "bootstrap_ci",
    "compare",
    "confusion",
    "decomposition",
    "error_rates",
    "gaps",
    "judge_prompt",
    "mcnemar",
    "offset_error",
    "pair_accuracy",
    "parse_answer",
    "parse_answers",
    "refusal_rate",
    "score_probes",
    "stated_offset",
    "unparseable_rate",
]
