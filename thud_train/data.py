"""The rows the trainers see: the ``preferences`` config, shaped for SFT and for DPO.

Models with a video processor get ``video`` + plain-text ``prompt`` / ``completion`` (or
``chosen`` / ``rejected``) and the media collators of :mod:`thud_train.collators`. Text-only
models get TRL's conversational format and TRL's own tokenization and collators; the video
is left out (such a model can only learn the text side: a control, not a listener).
"""

from __future__ import annotations

import os
from typing import Any

from datasets import Dataset

from thud_dataset.hub.load import load_config


class LeakageError(ValueError):
    """Training rows that come from clips of the test partition."""


def load_preferences(
    source: str | os.PathLike | Dataset, max_samples: int | None = None, seed: int = 0
) -> Dataset:
    """The ``preferences`` rows of a built Thud dataset (a folder, a Hub id, or a Dataset).

    Raises :class:`LeakageError` if any row is not from the train partition: the probes
    evaluate on the test partition, and training on its clips would inflate every number.
    """
    if isinstance(source, Dataset):
        ds = source
    else:
        ds = load_config(source, "preferences", split="train")
    if "partition" in ds.column_names:
        bad = [
            pid
            for pid, part in zip(ds["probe_id"], ds["partition"], strict=True)
            if part != "train"
        ]
        if bad:
            raise LeakageError(
                f"{len(bad)} preference rows come from test-partition clips "
                f"(first: {bad[:3]}); rebuild the dataset or filter on partition == 'train'"
            )
    if len(ds) == 0:
        raise ValueError(f"{source}: the preferences config has no rows")
    if max_samples is not None and max_samples < len(ds):
        ds = ds.shuffle(seed=seed).select(range(max_samples))
    return ds


def _conversation(prompt: str, system_prompt: str | None) -> list[dict]:
    system = [{"role": "system", "content": system_prompt}] if system_prompt else []
    return system + [{"role": "user", "content": prompt}]


def sft_dataset(ds: Dataset, kind: str, system_prompt: str | None = None) -> Dataset:
    """SFT rows: the prompt and the *chosen* response (the audio-verifying answer)."""
    if kind == "text":
        return ds.map(
            lambda ex: {
                "prompt": _conversation(ex["prompt"], system_prompt),
                "completion": [{"role": "assistant", "content": ex["chosen"]}],
            },
            remove_columns=ds.column_names,
        )
    return ds.select_columns(["video", "prompt", "chosen"]).rename_column("chosen", "completion")


def dpo_dataset(ds: Dataset, kind: str, system_prompt: str | None = None) -> Dataset:
    """DPO rows: prompt, chosen, rejected (and the video for a model that sees it)."""
    if kind == "text":
        return ds.map(
            lambda ex: {
                "prompt": _conversation(ex["prompt"], system_prompt),
                "chosen": [{"role": "assistant", "content": ex["chosen"]}],
                "rejected": [{"role": "assistant", "content": ex["rejected"]}],
            },
            remove_columns=ds.column_names,
        )
    out = ds.select_columns(["video", "prompt", "chosen", "rejected"])
    # DPOTrainer tokenizes a dataset itself unless it looks like a vision one (an
    # "images" column); that tokenization cannot place video or audio, the collator does.
    return out.add_column("images", [[] for _ in range(len(out))])


def describe(ds: Dataset) -> dict[str, Any]:
    """Row counts by origin / condition, for logs and run summaries."""
    key = "origin" if "origin" in ds.column_names else "condition"
    counts: dict[str, int] = {}
    if key in ds.column_names:
        for value in ds[key]:
            counts[value] = counts.get(value, 0) + 1
    return {"rows": len(ds), "by_" + key: counts}
