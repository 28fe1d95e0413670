"""Prediction sets with a known shape, for the pipeline, table and plot tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from thud_metrics.predictions import PredictionSet


def lopsided_answers(probes: dict[str, list], seed: int = 0) -> list[str]:
    """A model that hears early audio (and states the offset) but calls delayed audio synced,
    hallucinates a delay of 0.4 s on 15% of synced clips, half-hears silence, rarely spots a
    swap, and gives 5% unreadable answers on original probes."""
    rng = np.random.default_rng(seed)
    out = []
    for cond, tau in zip(probes["condition"], probes["offset_s"], strict=True):
        u = rng.random()
        if cond == "original":
            out.append("The audio is delayed by 0.4 s." if u < 0.15 else "synced" if u < 0.95 else "hmm")
        elif cond == "shift":
            out.append(f"The sound comes {abs(tau) + rng.normal(0, 0.05):.2f} s early." if tau < 0 else "synced")
        elif cond == "mute":
            out.append("silent" if u < 0.5 else "synced")
        else:
            out.append("mismatched" if u < 0.3 else "synced")
    return out


def prediction_set(name: str, probes: dict[str, list], answers: list[str | None]) -> PredictionSet:
    """A prediction set answering ``probes`` in order, named ``name`` by its metadata."""
    return PredictionSet(
        path=Path(f"{name}.jsonl"),
        format="thud-jsonl",
        answers=dict(zip(probes["probe_id"], answers, strict=True)),
        meta={"model": name},
    )
