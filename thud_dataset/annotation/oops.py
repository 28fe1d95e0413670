"""Oops adapter: Oops' failure-transition labels → candidate ``visual_time`` annotations.

The Oops dataset (Epstein, Chen & Vondrick, CVPR 2020; https://oops.cs.columbia.edu,
code at github.com/cvlab-columbia/oops) ships ``annotations/transition_times.json``: a
dictionary keyed by clip name (the video's file name without ``.mp4``; the videos are
``oops_video/{train,val}/{name}.mp4``), each value holding

* ``t``: the failure-transition times in seconds from three independent workers, ``-1``
  where a worker found no failure;
* ``n_notfound``: how many workers gave ``-1``; ``len``: the clip's length (s);
* ``rel_t`` (``t / len``), ``stdev``, ``rel_stdev``.

``heldout_transition_times.json`` has the same format with one (fourth) worker.

Conversion rule (:func:`candidate_time`):

1. keep the workers' valid times (numbers ≥ 0; ``-1`` means "no failure");
2. need at least ``min_found`` of them (default 2: a majority of the three workers, which
   is what Oops' own loaders keep when they take the middle of the sorted times and drop
   videos where it is ``-1``);
3. candidate ``visual_time`` = the **median** of the valid times;
4. it must lie inside ``[0, len]``; with ``max_spread`` set, the valid times must lie
   within ``max_spread`` seconds of each other.

The result is a *visual* annotator file for :mod:`thud_dataset.annotation.crossverify`: Oops labels
when the action turns unintentional, which is usually, not always, the moment the sound
(impact, crash) happens, so audio times come from other annotators. Every input clip that
is not converted is returned with its reason.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "OOPS_VISUAL_EVENT",
    "OopsSkip",
    "candidate_time",
    "convert_oops_dir",
    "convert_transition_times",
    "load_transition_times",
]

OOPS_VISUAL_EVENT = "the action turns unintentional (Oops failure transition)"
OOPS_LICENSE_NOTE = (
    "Oops! dataset (Epstein, Chen, Vondrick, CVPR 2020), https://oops.cs.columbia.edu; "
    "see its terms of use"
)


@dataclass(frozen=True)
class OopsSkip:
    name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


def load_transition_times(path: str | Path) -> dict[str, dict]:
    """Read ``transition_times.json``; errors name the file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: file not found") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected an object keyed by clip name")
    return data


def _valid(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )


def candidate_time(
    entry: dict, *, min_found: int = 2, max_spread: float | None = None
) -> tuple[float | None, str | None, list[float]]:
    """``(visual_time, reason_if_none, valid_times)`` for one ``transition_times`` entry."""
    ts = entry.get("t") if isinstance(entry, dict) else None
    if isinstance(ts, (int, float)) and not isinstance(ts, bool):
        ts = [ts]  # tolerate a bare number
    if not isinstance(ts, list):
        return None, "entry has no list 't' of transition times", []
    valid = sorted(float(t) for t in ts if _valid(t))
    if len(valid) < min_found:
        return (
            None,
            f"only {len(valid)} of {len(ts)} workers marked a failure (need {min_found}); t={ts}",
            valid,
        )
    t = float(statistics.median(valid))
    length = entry.get("len")
    if _valid(length) and t > float(length):
        return None, f"median transition {t:.3f} s is past the clip's length {length} s", valid
    if max_spread is not None and valid[-1] - valid[0] > max_spread:
        return (
            None,
            f"workers disagree: spread {valid[-1] - valid[0]:.3f} s > {max_spread:g} s (t={ts})",
            valid,
        )
    return t, None, valid


def convert_transition_times(
    transitions: dict[str, dict],
    *,
    names: Iterable[str] | None = None,
    split_of: dict[str, str] | None = None,
    min_found: int = 2,
    max_spread: float | None = None,
    visual_event: str = OOPS_VISUAL_EVENT,
) -> tuple[list[dict], list[OopsSkip]]:
    """Rows of a visual annotator file, and the clips not converted with their reasons.

    Parameters
    ----------
    transitions
        The loaded ``transition_times.json``.
    names
        Clips to convert (e.g. the lines of ``val_filtered.txt``); default all keys.
    split_of
        ``{name: "train"|"val"}``: gives the row's ``file`` as ``{split}/{name}.mp4``
        (relative to ``oops_video/``); without it ``file`` is ``{name}.mp4``.
    """
    rows: list[dict] = []
    skipped: list[OopsSkip] = []
    for name in names if names is not None else transitions:
        entry = transitions.get(name)
        if entry is None:
            skipped.append(OopsSkip(name, "not in transition_times.json"))
            continue
        t, reason, valid = candidate_time(entry, min_found=min_found, max_spread=max_spread)
        if t is None:
            skipped.append(OopsSkip(name, reason or "no candidate time"))
            continue
        split = (split_of or {}).get(name)
        rows.append(
            {
                "clip_id": name,
                "file": f"{split}/{name}.mp4" if split else f"{name}.mp4",
                "visual_event": visual_event,
                "visual_time": round(t, 4),
                "oops": {
                    "t": entry.get("t"),
                    "n_notfound": entry.get("n_notfound"),
                    "len": entry.get("len"),
                    "spread": round(valid[-1] - valid[0], 4),
                    **({"split": split} if split else {}),
                },
                "license": OOPS_LICENSE_NOTE,
            }
        )
    return rows, skipped


def _read_names(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def convert_oops_dir(
    oops_dir: str | Path,
    *,
    splits: Iterable[str] = ("val",),
    filtered: bool = True,
    transitions_file: str = "transition_times.json",
    **kwargs: Any,
) -> tuple[list[dict], list[OopsSkip]]:
    """Convert an extracted Oops folder (``annotations/`` and ``oops_video/``).

    Clips come from ``annotations/{split}_filtered.txt`` (or ``{split}.txt`` with
    ``filtered=False``); files are ``{split}/{name}.mp4`` relative to ``oops_video/`` (pass
    that folder as the local source's data folder). Other keyword arguments go to
    :func:`convert_transition_times`.
    """
    oops_dir = Path(oops_dir)
    ann = oops_dir / "annotations" if (oops_dir / "annotations").is_dir() else oops_dir
    transitions = load_transition_times(ann / transitions_file)
    names: list[str] = []
    split_of: dict[str, str] = {}
    for split in splits:
        listing = ann / (f"{split}_filtered.txt" if filtered else f"{split}.txt")
        if not listing.is_file():
            raise ValueError(f"{listing}: split listing not found")
        for name in _read_names(listing):
            if name not in split_of:
                names.append(name)
                split_of[name] = split
    return convert_transition_times(transitions, names=names, split_of=split_of, **kwargs)
