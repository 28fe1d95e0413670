"""General video preference data (e.g. FineVideo-derived) and its mixing with Thud's pairs.

The paper (section 2.3) mixes the intervention pairs with general video preferences so the
model does not over-specialise to counterfactual cases. Thud does not ship such data; users
bring it in this schema, or convert a public set with :mod:`thud_train.general_import`
(``thud train import-general``; LLaVA-Hound's video DPO pairs).

Schema: a JSON Lines file, one pair a line (or a parquet/json file with the same columns)::

    {"video": "clips/abc.mp4",          # path to a video with its audio track, relative to the
                                         #   file's folder (or absolute); in parquet also
                                         #   {"bytes": ..., "path": ...}
     "prompt": "What happens between 0:05 and 0:12, and what do you hear?",
     "chosen": "A man hammers a nail; three sharp knocks are heard at 0:06, 0:08, 0:10.",
     "rejected": "A man is painting a wall in silence.",
     "source": "finevideo",              # optional, e.g. the corpus
     "task": "FV-A-L",                   # optional, e.g. the instruction type
     "id": "fv-000123"}                  # optional

``prompt``, ``chosen`` and ``rejected`` are plain text (the collator applies the model's chat
template). A row with a missing or empty field, or a video file that does not exist, is an
error naming the file and line; nothing is dropped silently.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

from datasets import Dataset, Video, concatenate_datasets, load_dataset

from thud_dataset.jsonl import iter_jsonl

REQUIRED = ("video", "prompt", "chosen", "rejected")
COLUMNS = ("video", "prompt", "chosen", "rejected", "origin")


class GeneralDataError(ValueError):
    """A general preference row that cannot be used; the message names file and line."""


def _video_value(value, base: str, where: str) -> dict:
    if isinstance(value, dict):
        if value.get("bytes"):
            return {"bytes": value["bytes"], "path": value.get("path")}
        value = value.get("path")
    if not isinstance(value, str) or not value:
        raise GeneralDataError(f"{where}: 'video' must be a file path or {{bytes, path}}")
    path = value if os.path.isabs(value) else os.path.join(base, value)
    if not os.path.isfile(path):
        raise GeneralDataError(f"{where}: video file {path} does not exist")
    return {"bytes": None, "path": os.path.abspath(path)}


def _check(row: dict, base: str, where: str) -> dict:
    if not isinstance(row, dict):
        raise GeneralDataError(f"{where}: expected a JSON object, got {type(row).__name__}")
    missing = [k for k in REQUIRED if row.get(k) in (None, "")]
    if missing:
        raise GeneralDataError(f"{where}: missing or empty {', '.join(missing)}")
    for key in ("prompt", "chosen", "rejected"):
        if not isinstance(row[key], str):
            raise GeneralDataError(f"{where}: '{key}' must be text, got {type(row[key]).__name__}")
    if row["chosen"].strip() == row["rejected"].strip():
        raise GeneralDataError(f"{where}: chosen and rejected are the same text")
    source = row.get("source") or "general"
    task = row.get("task")
    return {
        "video": _video_value(row["video"], base, where),
        "prompt": row["prompt"],
        "chosen": row["chosen"],
        "rejected": row["rejected"],
        "origin": f"general:{source}" + (f":{task}" if task else ""),
    }


def load_general_preferences(path: str | os.PathLike) -> Dataset:
    """Read and validate a general preference file; columns ``video, prompt, chosen, rejected, origin``."""
    path = os.fspath(path)
    base = os.path.dirname(os.path.abspath(path))
    if not os.path.isfile(path):
        raise GeneralDataError(
            f"{path}: no such file; make it from a public video preference set with "
            "`thud train import-general` (docs/training.md), or train on Thud's pairs alone "
            "with --set dpo.general_fraction=0"
        )
    rows: list[dict] = []
    if path.endswith((".jsonl", ".ndjson")):
        for lineno, row in iter_jsonl(path, error=GeneralDataError):
            rows.append(_check(row, base, f"{path}:{lineno}"))
    else:
        kind = "parquet" if path.endswith(".parquet") else "json"
        raw = load_dataset(kind, data_files=path, split="train")
        if "video" in raw.column_names and isinstance(raw.features["video"], Video):
            raw = raw.cast_column("video", Video(decode=False))
        for i, row in enumerate(raw):
            rows.append(_check(row, base, f"{path}: row {i}"))
    if not rows:
        raise GeneralDataError(f"{path}: no rows")
    ds = Dataset.from_list(rows)
    return ds.cast_column("video", Video(decode=False))


@dataclass
class MixReport:
    """What a mix took: rows from each side and the fraction of general rows."""

    thud_rows: int
    general_rows: int
    general_fraction: float
    dropped: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        total = self.thud_rows + self.general_rows
        text = (
            f"{total} pairs: {self.thud_rows} Thud + {self.general_rows} general "
            f"({self.general_fraction:.0%} general)"
        )
        if any(self.dropped.values()):
            text += f"; not used: {self.dropped}"
        return text


def mix_counts(
    n_thud: int, n_general: int, general_fraction: float, max_samples: int | None = None
) -> tuple[int, int]:
    """How many rows of each side give ``general_fraction`` general rows, as many as possible.

    The fraction is kept: the side that runs out first bounds the total, and the other side
    is subsampled (so a small general set shrinks the Thud side rather than being drowned).
    """
    if not 0.0 <= general_fraction <= 1.0:
        raise ValueError(f"general_fraction must be in [0, 1], got {general_fraction}")
    if general_fraction == 0.0:
        return min(n_thud, max_samples or n_thud), 0
    if general_fraction == 1.0:
        return 0, min(n_general, max_samples or n_general)
    total = min(n_thud / (1 - general_fraction), n_general / general_fraction)
    if max_samples is not None:
        total = min(total, max_samples)
    n_g = min(n_general, round(total * general_fraction))
    n_t = min(n_thud, math.floor(total + 1e-9) - n_g)
    return n_t, n_g


def mix_preferences(
    thud: Dataset,
    general: Dataset | None,
    general_fraction: float,
    seed: int = 0,
    max_samples: int | None = None,
) -> tuple[Dataset, MixReport]:
    """Thud preference rows mixed with general ones at ``general_fraction``, shuffled by ``seed``.

    Both sides come out with the columns ``video, prompt, chosen, rejected, origin``.
    """
    thud = thud.map(lambda ex: {"origin": _origin_of(ex)})
    thud = thud.select_columns(list(COLUMNS))
    if general is None or general_fraction == 0.0:
        if general_fraction > 0.0:
            raise ValueError("general_fraction > 0 needs general data (dpo.general_data)")
        n_t, _ = mix_counts(len(thud), 0, 0.0, max_samples)
        return thud.shuffle(seed=seed).select(range(n_t)), MixReport(n_t, 0, 0.0, {"thud": len(thud) - n_t})
    general = general.select_columns(list(COLUMNS)).cast(thud.features)
    n_t, n_g = mix_counts(len(thud), len(general), general_fraction, max_samples)
    parts = [
        thud.shuffle(seed=seed).select(range(n_t)),
        general.shuffle(seed=seed + 1).select(range(n_g)),
    ]
    mixed = concatenate_datasets([p for p in parts if len(p)]).shuffle(seed=seed)
    report = MixReport(
        n_t,
        n_g,
        n_g / max(1, n_t + n_g),
        {"thud": len(thud) - n_t, "general": len(general) - n_g},
    )
    return mixed, report


def _origin_of(example: dict) -> str:
    return f"thud:{example.get('condition') or 'unknown'}"
