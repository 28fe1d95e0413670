"""The functions of the lmms-eval ``thud`` task (``thud.yaml`` names them with ``!function``).

lmms-eval loads this file by path, once per ``!function`` it names, so it keeps no state
between calls and imports Thud by absolute name. Each probe's answer goes through
``process_results`` into one record per metric; each metric's aggregation scores the whole
list with :func:`thud_metrics.score_probes` (rules-based parsing: an unreadable answer is
``unknown`` and counted wrong, never a guessed option) and returns its one number.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from thud_dataset.vocab import CONDITIONS, DIMENSIONS, INTERVENTION_OF

#: the numbers in lmms-eval's results table: (metric name, path into score_probes' dict)
METRICS: dict[str, tuple[str, ...]] = {
    "avg_gap": ("avg_gap",),
    **{f"gap_{d}": ("gap", d) for d in DIMENSIONS},
    "avg_pair_acc": ("avg_pair_accuracy",),
    **{f"pair_acc_{d}": ("pair_accuracy", d) for d in DIMENSIONS},
    **{
        f"acc_{d}_{c}": ("accuracy", d, c)
        for d in DIMENSIONS
        for c in ("original", INTERVENTION_OF[d])
    },
    "mute_hallucination": ("rates", "mute_hallucination"),
    "unparseable_rate": ("unparseable_rate",),
}
_RECORD_KEYS = ("probe_id", "pair_id", "clip_id", "dimension", "condition", "label", "offset_s")


def process_docs(dataset):
    """Order the probes clip by clip, each pair's original first.

    The probes of all four splits arrive as one split (``data_files`` in ``thud.yaml``), so
    a pair can be scored; this order makes ``--limit N`` take whole pairs, not N mute probes.
    """
    cond = {c: i for i, c in enumerate(CONDITIONS)}
    dim = {d: i for i, d in enumerate(DIMENSIONS)}
    rows = [
        (clip, dim[d], cond[c], probe)
        for clip, d, c, probe in zip(
            dataset["clip_id"],
            dataset["dimension"],
            dataset["condition"],
            dataset["probe_id"],
            strict=True,
        )
    ]
    order = sorted(range(len(rows)), key=rows.__getitem__)
    return dataset.select(order)


def doc_to_visual(doc: dict[str, Any]) -> list[str]:
    """The probe's video as a file path (its audio is muxed in)."""
    from thud_dataset import video_file

    return [video_file(doc["video"])]


def doc_to_text(
    doc: dict[str, Any], lmms_eval_specific_kwargs: dict[str, Any] | None = None
) -> str:
    """The probe's prompt, between the model's optional ``pre_prompt`` and ``post_prompt``."""
    kw = lmms_eval_specific_kwargs or {}
    return f"{kw.get('pre_prompt', '')}{doc['prompt']}{kw.get('post_prompt', '')}"


def doc_to_target(doc: dict[str, Any]) -> str:
    """The gold label."""
    return doc["label"]


def process_results(doc: dict[str, Any], results: Sequence[Any]) -> dict[str, dict[str, Any]]:
    """One record per metric: the probe's identity and the model's raw answer."""
    answer = results[0] if results else None
    if isinstance(answer, (list, tuple)):  # some models return a list of candidates
        answer = answer[0] if answer else None
    record = {k: doc.get(k) for k in _RECORD_KEYS}
    record["answer"] = None if answer is None else str(answer)
    return {name: record for name in METRICS}


def _complete(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop intervened probes whose original is missing (an incomplete ``--limit`` run)."""
    originals = {(r["pair_id"]) for r in records if r["condition"] == "original"}
    return [r for r in records if r["condition"] == "original" or r["pair_id"] in originals]


@lru_cache(maxsize=4)
def _score(key: tuple[tuple[Any, ...], ...]) -> dict[str, Any]:
    from thud_metrics import score_probes

    records = [dict(zip((*_RECORD_KEYS, "answer"), row, strict=True)) for row in key]
    return score_probes(
        [r["answer"] for r in records],
        [r["label"] for r in records],
        [r["condition"] for r in records],
        [r["dimension"] for r in records],
        [r["pair_id"] for r in records],
        [r["offset_s"] for r in records],
        [r["clip_id"] for r in records],
        n_resamples=0,
    )


def score(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """:func:`thud_metrics.score_probes` over the records ``process_results`` made."""
    rows = _complete(records)
    if not rows:
        return {}
    key = tuple(sorted(tuple(r.get(k) for k in (*_RECORD_KEYS, "answer")) for r in rows))
    return _score(key)


def _aggregate(name: str) -> Callable[[Sequence[dict[str, Any]]], float]:
    path = METRICS[name]

    def aggregate(records: Sequence[dict[str, Any]]) -> float:
        value: Any = score(records)
        for step in path:
            if not isinstance(value, dict) or step not in value:
                return math.nan
            value = value[step]
        return float(value)

    aggregate.__name__ = f"agg_{name}"
    aggregate.__doc__ = f"``{'/'.join(path)}`` of the thud_gap scores of all probes."
    return aggregate


agg_avg_gap = _aggregate("avg_gap")
agg_gap_sync = _aggregate("gap_sync")
agg_gap_existence = _aggregate("gap_existence")
agg_gap_consistency = _aggregate("gap_consistency")
agg_avg_pair_acc = _aggregate("avg_pair_acc")
agg_pair_acc_sync = _aggregate("pair_acc_sync")
agg_pair_acc_existence = _aggregate("pair_acc_existence")
agg_pair_acc_consistency = _aggregate("pair_acc_consistency")
agg_acc_sync_original = _aggregate("acc_sync_original")
agg_acc_sync_shift = _aggregate("acc_sync_shift")
agg_acc_existence_original = _aggregate("acc_existence_original")
agg_acc_existence_mute = _aggregate("acc_existence_mute")
agg_acc_consistency_original = _aggregate("acc_consistency_original")
agg_acc_consistency_swap = _aggregate("acc_consistency_swap")
agg_mute_hallucination = _aggregate("mute_hallucination")
agg_unparseable_rate = _aggregate("unparseable_rate")
