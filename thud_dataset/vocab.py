"""The shared vocabulary of Thud: conditions, dimensions, labels, configs and splits.

Each of these facts is stated here once and imported everywhere else. A new condition is a
row in :data:`CONDITIONS`, :data:`GOLD_LABELS` and :data:`INTERVENTION_OF`, plus its
intervention. Imports nothing, so the metric functions (pure numpy) and the dataset builder
can both depend on it without pulling in each other's libraries.
"""

from __future__ import annotations

CONDITIONS: tuple[str, ...] = ("original", "shift", "mute", "swap")
INTERVENTIONS: tuple[str, ...] = ("shift", "mute", "swap")
DIMENSIONS: tuple[str, ...] = ("sync", "existence", "consistency")

#: the intervention that each dimension pairs with the original
INTERVENTION_OF: dict[str, str] = {"sync": "shift", "existence": "mute", "consistency": "swap"}
DIMENSION_OF: dict[str, str] = {v: k for k, v in INTERVENTION_OF.items()}

LABELS: tuple[str, ...] = ("synced", "early", "delayed", "silent", "mismatched")
UNKNOWN = "unknown"
#: the reading of an answer that says the model has no audio or cannot hear it: not a claim
#: about the clip, never a gold label; counted wrong everywhere and reported as a refusal rate
REFUSED = "refused"

#: the gold labels a probe of each condition can have (shift: by the sign of ``tau``)
GOLD_LABELS: dict[str, tuple[str, ...]] = {
    "original": ("synced",),
    "shift": ("early", "delayed"),
    "mute": ("silent",),
    "swap": ("mismatched",),
}

#: the configs of a built dataset, in card order (the first is the default config)
CONFIGS: tuple[str, ...] = ("probes", "preferences", "clips")
#: the splits of each config: one probe split per condition; clips by partition
SPLITS: dict[str, tuple[str, ...]] = {
    "probes": CONDITIONS,
    "preferences": ("train",),
    "clips": ("test", "train"),
}
PARTITIONS: tuple[str, ...] = ("test", "train")

#: the answer options each dimension's prompt offers, in the order of the letters A, B, C
CHOICES: dict[str, tuple[str, ...]] = {
    "sync": ("synced", "early", "delayed"),
    "existence": ("synced", "silent"),
    "consistency": ("synced", "mismatched"),
}


def gold_label(condition: str, offset_s: float = 0.0) -> str:
    """The label a listening model should give a probe of ``condition``.

    ``offset_s`` is the shift ``tau`` (``a'(t) = a(t - tau)``): positive means the audio
    is heard after it is seen (``delayed``), negative before (``early``).

    >>> gold_label("shift", -0.5), gold_label("shift", 1.0), gold_label("mute")
    ('early', 'delayed', 'silent')
    """
    if condition not in GOLD_LABELS:
        raise ValueError(f"unknown condition {condition!r}; expected one of {CONDITIONS}")
    if condition == "shift":
        if offset_s == 0:
            raise ValueError("a shift probe needs a non-zero offset_s")
        return "delayed" if offset_s > 0 else "early"
    return GOLD_LABELS[condition][0]
