"""Probe tables shaped like the built dataset's, a tiny built dataset on disk (parquet per
split + a card with YAML ``configs:``) and predictions files, for the metric and CLI tests."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from thud_dataset.vocab import CHOICES, CONDITIONS, INTERVENTION_OF, gold_label

TAUS = (-1.5, -0.6, -0.3, 0.3, 0.6, 1.5)


def make_probes(n_clips: int, seed: int = 0) -> dict[str, list]:
    """Probe columns (probe_id, pair_id, clip_id, dimension, condition, offset_s, label) for
    ``n_clips`` clips: per clip 3 original probes and one shift, mute and swap probe."""
    rng = np.random.default_rng(seed)
    cols: dict[str, list] = {k: [] for k in ("probe_id", "pair_id", "clip_id", "dimension", "condition", "offset_s", "label")}
    for i in range(n_clips):
        clip = f"clip{i:05d}"
        tau = float(TAUS[rng.integers(len(TAUS))])
        for dim, intervention in INTERVENTION_OF.items():
            for cond in ("original", intervention):
                offset = tau if cond == "shift" else 0.0
                cols["probe_id"].append(hashlib.sha1(f"{clip}/{dim}/{cond}".encode()).hexdigest()[:16])
                cols["pair_id"].append(f"{clip}/{dim}")
                cols["clip_id"].append(clip)
                cols["dimension"].append(dim)
                cols["condition"].append(cond)
                cols["offset_s"].append(offset)
                cols["label"].append(gold_label(cond, offset))
    return cols


def perfect_answers(probes: dict[str, list]) -> list[str]:
    """A listening model answering with the letter of the gold label."""
    return [
        "ABC"[CHOICES[dim].index(label)] for dim, label in zip(probes["dimension"], probes["label"], strict=True)
    ]


def noisy_answers(probes: dict[str, list], p_right: float, seed: int = 1) -> list[str]:
    """Right with probability ``p_right``, otherwise "synced" (the visual prior)."""
    rng = np.random.default_rng(seed)
    right = rng.random(len(probes["label"])) < p_right
    return [label if ok else "synced" for label, ok in zip(probes["label"], right, strict=True)]


def write_dataset(root: Path, probes: dict[str, list]) -> Path:
    """A built-dataset folder with the probes config (video bytes are a stand-in)."""
    import datasets

    from thud_dataset.features import features_for

    root.mkdir(parents=True, exist_ok=True)
    n = len(probes["probe_id"])
    full = {
        **probes,
        "donor_clip_id": [None] * n,
        "video": [{"bytes": b"\x00\x00\x00\x18ftypmp42", "path": f"{pid}.mp4"} for pid in probes["probe_id"]],
        "prompt": ["(prompt)"] * n,
        "choices": [list(CHOICES[d]) for d in probes["dimension"]],
        "visual_event": ["a box hits the floor"] * n,
        "visual_time": [1.0] * n,
        "audio_event": ["thud"] * n,
        "audio_time": [1.0] * n,
        "category": ["impact"] * n,
        "edited_audio_time": [None if c == "mute" else 1.0 + o for c, o in zip(probes["condition"], probes["offset_s"], strict=True)],
        "duration_s": [4.0] * n,
        "partition": ["test"] * n,
        "source": ["synthetic"] * n,
    }
    yaml_files = []
    for split in CONDITIONS:
        rows = [i for i, c in enumerate(probes["condition"]) if c == split]
        part = {k: [v[i] for i in rows] for k, v in full.items()}
        path = root / "data" / "probes" / f"{split}-00000-of-00001.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        datasets.Dataset.from_dict(part, features=features_for("probes", audio_column=False)).to_parquet(str(path))
        yaml_files.append(f"  - split: {split}\n    path: data/probes/{split}-*.parquet\n")
    (root / "README.md").write_text(
        "---\nconfigs:\n- config_name: probes\n  data_files:\n" + "".join(yaml_files) + "---\n# tiny Thud build\n"
    )
    return root


def write_predictions(path: Path, probe_ids: list[str], answers: list[str | None], meta: dict | None = None) -> Path:
    lines = [json.dumps({"_meta": meta})] if meta is not None else []
    lines += [
        json.dumps({"probe_id": pid, "answer": a, "error": None if a is not None else "timeout"})
        for pid, a in zip(probe_ids, answers, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path
