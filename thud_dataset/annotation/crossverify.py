"""Annotation cross-verification (the paper's section 2.2).

Several annotators label the same clips: visual times from some (models that see frame
sequences, Oops' crowd labels, people), audio times from others (a model that hears the
audio, a person, :mod:`thud_dataset.annotation.onsets`). Each annotator is one JSON-lines
file, one clip a line, keyed by ``clip_id`` (or the stem of ``file``); it may carry
``visual_time``/``visual_event`` and/or ``audio_time``/``audio_event`` and the clip's
``file``, ``category``, ``split``, ``license``.

A clip is **accepted automatically** when at least ``min_visual`` visual annotators gave a
time and all of them lie within ``visual_tol`` of each other (max − min ≤ tol), and the
same holds for the audio annotators with ``min_audio``/``audio_tol``. Its merged times are
the medians. Every other clip goes to a **review queue** (JSON lines): each item says why
it was queued, shows every annotator's time, and carries suggested ``visual_time`` /
``audio_time`` (the medians) and ``"decision": null``. A person edits the times, sets
``decision`` to ``"accept"`` or ``"reject"``, and :func:`apply_review` merges the accepted
items into the annotations file. The merged file is a valid ``annotations.jsonl`` for the
local source; each row keeps its evidence under ``crossverify``.

:func:`agreement_report` gives, per annotator pair and modality, how many clips both
labelled, the agreement rate (``|a − b| ≤ tol``) and the mean absolute difference.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

from thud_dataset.jsonl import iter_jsonl, write_jsonl

__all__ = [
    "AnnotatorFile",
    "CrossVerifyError",
    "CrossVerifyResult",
    "PairAgreement",
    "ReviewResult",
    "agreement_report",
    "apply_review",
    "cross_verify",
    "format_report",
    "parse_source",
    "read_annotator",
    "read_jsonl",
    "write_jsonl",
]

MODALITIES = ("visual", "audio")
#: keys copied from the annotators into a merged row (first annotator that has one wins)
_CLIP_KEYS = ("file", "category", "split", "license")
#: float comparisons of times in seconds: a tolerance of 0.1 accepts a difference of 0.1
_EPS = 1e-9


class CrossVerifyError(ValueError):
    """An annotator or review file that cannot be read; the message names file and line."""


# ------------------------------------------------------------------ reading / writing


def read_jsonl(path: str | Path) -> list[tuple[int, dict]]:
    """``(line number, object)`` for every non-blank line; errors name file and line."""
    return list(iter_jsonl(path, error=CrossVerifyError))


def _clip_key(row: dict) -> str | None:
    cid = row.get("clip_id")
    if isinstance(cid, str) and cid.strip():
        return cid
    file = row.get("file")
    if isinstance(file, str) and file.strip():
        return Path(file).stem
    return None


def _time_problem(value: Any) -> str | None:
    """Why ``value`` is not a usable time, or None if it is (None itself means "no label")."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{value!r} is not a number of seconds"
    if math.isnan(value) or math.isinf(value):
        return f"{value} is not a finite time"
    if value < 0:
        return f"{value} is negative"
    return None


@dataclass
class AnnotatorFile:
    """One annotator's labels: ``rows[clip_id]`` and where each came from."""

    name: str
    path: Path
    rows: dict[str, dict] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)

    def time(self, clip_id: str, modality: str) -> tuple[float | None, str | None]:
        """``(time, problem)``: the annotator's time for the clip, or why it is unusable."""
        row = self.rows.get(clip_id)
        if row is None:
            return None, None
        value = row.get(f"{modality}_time")
        if value is None:
            return None, None
        problem = _time_problem(value)
        if problem:
            return None, f"{self.origins[clip_id]}: {modality}_time {problem}"
        return float(value), None


def parse_source(spec: str) -> tuple[str, Path]:
    """``"name=path"`` or ``"path"`` (name = file stem) → ``(name, path)``."""
    if "=" in spec and not Path(spec).exists():
        name, _, path = spec.partition("=")
        if name.strip() and path.strip():
            return name.strip(), Path(path.strip())
    return Path(spec).stem, Path(spec)


def read_annotator(path: str | Path, name: str | None = None) -> AnnotatorFile:
    """Read one annotator file; every row needs ``clip_id`` or ``file``, ids are unique."""
    path = Path(path)
    ann = AnnotatorFile(name=name or path.stem, path=path)
    for lineno, row in read_jsonl(path):
        origin = f"{path.name}:{lineno}"
        key = _clip_key(row)
        if key is None:
            raise CrossVerifyError(f"{origin}: a row needs 'clip_id' or 'file'")
        if key in ann.rows:
            raise CrossVerifyError(
                f"{origin}: clip {key!r} appears twice in {path.name} (first at {ann.origins[key]})"
            )
        ann.rows[key] = row
        ann.origins[key] = origin
    return ann


# ------------------------------------------------------------------ agreement


@dataclass(frozen=True)
class PairAgreement:
    modality: str
    a: str
    b: str
    n: int  # clips both annotators gave a usable time for
    agree: int  # of those, |a - b| <= tol
    mean_abs_diff: float | None  # s; None when n == 0
    tol: float

    @property
    def rate(self) -> float | None:
        return self.agree / self.n if self.n else None

    def to_dict(self) -> dict:
        return {
            "modality": self.modality,
            "a": self.a,
            "b": self.b,
            "n": self.n,
            "agree": self.agree,
            "agreement_rate": self.rate,
            "mean_abs_diff_s": self.mean_abs_diff,
            "tol_s": self.tol,
        }


def _pairs(anns: Sequence[AnnotatorFile], modality: str, tol: float) -> list[PairAgreement]:
    out = []
    for a, b in combinations(anns, 2):
        diffs = []
        for cid in a.rows.keys() & b.rows.keys():
            ta, _ = a.time(cid, modality)
            tb, _ = b.time(cid, modality)
            if ta is not None and tb is not None:
                diffs.append(abs(ta - tb))
        out.append(
            PairAgreement(
                modality,
                a.name,
                b.name,
                len(diffs),
                sum(d <= tol + _EPS for d in diffs),
                statistics.fmean(diffs) if diffs else None,
                tol,
            )
        )
    return out


def agreement_report(
    visual: Sequence[AnnotatorFile],
    audio: Sequence[AnnotatorFile],
    visual_tol: float,
    audio_tol: float,
) -> list[PairAgreement]:
    """Agreement of every annotator pair, visual pairs first."""
    return _pairs(visual, "visual", visual_tol) + _pairs(audio, "audio", audio_tol)


# ------------------------------------------------------------------ merging


@dataclass
class CrossVerifyResult:
    accepted: list[dict]  # merged annotation rows (annotations.jsonl)
    queued: list[dict]  # review items
    pairs: list[PairAgreement]
    settings: dict

    @property
    def report(self) -> dict:
        reasons = Counter(r.split(":", 1)[0] for q in self.queued for r in q["reasons"])
        return {
            "settings": self.settings,
            "clips": len(self.accepted) + len(self.queued),
            "accepted": len(self.accepted),
            "queued": len(self.queued),
            "queued_reasons": dict(reasons),
            "pairs": [p.to_dict() for p in self.pairs],
        }


def _first(anns: Sequence[AnnotatorFile], cid: str, key: str) -> Any:
    for ann in anns:
        value = ann.rows.get(cid, {}).get(key)
        if value is not None and value != "":
            return value
    return None


def _check_modality(
    anns: Sequence[AnnotatorFile], cid: str, modality: str, tol: float, minimum: int
) -> tuple[dict[str, float], float | None, list[str]]:
    """Times per annotator, the merged (median) time, and reasons to queue."""
    times: dict[str, float] = {}
    reasons: list[str] = []
    for ann in anns:
        t, problem = ann.time(cid, modality)
        if problem:
            reasons.append(f"invalid {modality} time: {problem}")
        elif t is not None:
            times[ann.name] = t
    merged = statistics.median(times.values()) if times else None
    if len(times) < minimum:
        have = ", ".join(times) or "none"
        reasons.append(
            f"too few {modality} annotations: {len(times)} of the {minimum} needed (from: {have})"
        )
    elif times:
        spread = max(times.values()) - min(times.values())
        if spread > tol + _EPS:
            detail = ", ".join(f"{k} {v:.3f}" for k, v in times.items())
            reasons.append(
                f"{modality} times disagree: spread {spread:.3f} s > {tol:g} s ({detail})"
            )
    return times, merged, reasons


def cross_verify(
    visual: Sequence[AnnotatorFile],
    audio: Sequence[AnnotatorFile],
    *,
    visual_tol: float = 0.2,
    audio_tol: float = 0.1,
    min_visual: int = 2,
    min_audio: int = 2,
) -> CrossVerifyResult:
    """Merge the annotators' labels; accept agreeing clips, queue the rest for review.

    Parameters
    ----------
    visual, audio
        Annotator files whose ``visual_*`` (resp. ``audio_*``) fields are used, in
        priority order: the first annotator's event text, ``file``, ``category``, … win.
        The same file may appear in both.
    visual_tol, audio_tol
        Maximum spread (max − min, seconds) of the annotators' times for automatic
        acceptance.
    min_visual, min_audio
        How many annotators must have given a usable time.

    Returns
    -------
    CrossVerifyResult
        ``accepted`` rows (annotations.jsonl, with ``crossverify`` evidence), ``queued``
        review items, pairwise agreement, the settings. Clips are in first-seen order.
    """
    if visual_tol < 0 or audio_tol < 0:
        raise ValueError("tolerances must be >= 0 s")
    for modality, anns, minimum in (("visual", visual, min_visual), ("audio", audio, min_audio)):
        names = [a.name for a in anns]
        if len(set(names)) != len(names):
            raise CrossVerifyError(f"two {modality} annotators share a name: {names}")
        if minimum < 1:
            raise ValueError(f"min_{modality} must be >= 1")
        if len(anns) < minimum:
            raise CrossVerifyError(
                f"{len(anns)} {modality} annotation file(s) given but {minimum} are needed to "
                f"cross-verify (lower min_{modality} to accept single-source times)"
            )
    everyone = list({(a.name, str(a.path)): a for a in [*visual, *audio]}.values())
    clip_ids = list(dict.fromkeys(cid for ann in everyone for cid in ann.rows))

    accepted: list[dict] = []
    queued: list[dict] = []
    for cid in clip_ids:
        vt, v_merged, v_reasons = _check_modality(visual, cid, "visual", visual_tol, min_visual)
        at, a_merged, a_reasons = _check_modality(audio, cid, "audio", audio_tol, min_audio)
        reasons = v_reasons + a_reasons
        row: dict[str, Any] = {"clip_id": cid}
        row["file"] = _first(everyone, cid, "file")
        row["visual_event"] = _first(visual, cid, "visual_event") or _first(
            everyone, cid, "visual_event"
        )
        row["visual_time"] = v_merged
        row["audio_event"] = _first(audio, cid, "audio_event") or _first(
            everyone, cid, "audio_event"
        )
        row["audio_time"] = a_merged
        for key in _CLIP_KEYS[1:]:
            value = _first(everyone, cid, key)
            if value is not None:
                row[key] = value
        for key in ("file", "visual_event", "audio_event"):
            if not row[key]:
                reasons.append(f"missing {key}: no annotator gives one")
        evidence = {"visual": vt, "audio": at}
        if reasons:
            queued.append(
                {
                    **row,
                    "reasons": reasons,
                    **evidence,
                    "decision": None,
                    "note": "",
                }
            )
        else:
            accepted.append({**row, "crossverify": {"status": "auto", **evidence}})
    settings = {
        "visual": [a.name for a in visual],
        "audio": [a.name for a in audio],
        "visual_tol_s": visual_tol,
        "audio_tol_s": audio_tol,
        "min_visual": min_visual,
        "min_audio": min_audio,
        "merge": "median",
    }
    pairs = agreement_report(visual, audio, visual_tol, audio_tol)
    return CrossVerifyResult(accepted, queued, pairs, settings)


def format_report(report: dict) -> str:
    """The agreement report as text (what ``thud crossverify`` prints)."""
    s = report.get("settings", {})
    lines = [
        f"clips: {report['clips']}  accepted: {report['accepted']}  queued for review: "
        f"{report['queued']}",
        f"tolerances: visual {s.get('visual_tol_s')} s, audio {s.get('audio_tol_s')} s; "
        f"needed: {s.get('min_visual')} visual, {s.get('min_audio')} audio annotations",
        "",
        f"{'modality':8}  {'pair':32}  {'n':>5}  {'agree':>7}  {'mean |diff|':>11}",
    ]
    for p in report["pairs"]:
        rate = "-" if p["agreement_rate"] is None else f"{100 * p['agreement_rate']:.1f}%"
        mad = "-" if p["mean_abs_diff_s"] is None else f"{p['mean_abs_diff_s']:.3f} s"
        pair = f"{p['a']} vs {p['b']}"
        lines.append(f"{p['modality']:8}  {pair:32}  {p['n']:>5}  {rate:>7}  {mad:>11}")
    if report.get("queued_reasons"):
        lines.append("")
        lines.append("queued because:")
        lines.extend(f"  {n:4d}  {r}" for r, n in sorted(report["queued_reasons"].items()))
    return "\n".join(lines)


# ------------------------------------------------------------------ review round-trip


@dataclass
class ReviewResult:
    rows: list[dict]  # the merged annotations after the review
    accepted: list[str]  # clip ids accepted by the reviewer
    rejected: list[str]
    pending: list[dict]  # review items still without a decision


_REVIEW_DROP = ("reasons", "visual", "audio", "decision", "note")


def apply_review(
    queue: str | Path,
    merged: str | Path | Iterable[dict] | None = None,
) -> ReviewResult:
    """Merge a reviewed queue file into the annotations.

    Each queue line's ``decision`` is ``"accept"`` (its — possibly edited — ``visual_time``
    and ``audio_time`` are taken), ``"reject"`` (the clip is left out) or null (still
    pending). Accepted clips replace rows of the same ``clip_id`` in ``merged`` (a path to
    the earlier merged file, or its rows); a decision with invalid times is an error naming
    the queue file and line.
    """
    queue = Path(queue)
    if merged is None:
        base: list[dict] = []
    elif isinstance(merged, (str, Path)):
        base = [row for _, row in read_jsonl(merged)] if Path(merged).is_file() else []
    else:
        base = list(merged)
    by_id = {r.get("clip_id") or _clip_key(r): r for r in base}
    accepted, rejected, pending = [], [], []
    for lineno, item in read_jsonl(queue):
        origin = f"{queue.name}:{lineno}"
        cid = _clip_key(item)
        if cid is None:
            raise CrossVerifyError(f"{origin}: a review item needs 'clip_id' or 'file'")
        decision = item.get("decision")
        if isinstance(decision, str):
            decision = decision.strip().lower()
        if decision in (None, ""):
            pending.append(item)
            continue
        if decision == "reject":
            rejected.append(cid)
            by_id.pop(cid, None)
            continue
        if decision != "accept":
            raise CrossVerifyError(
                f'{origin}: decision must be "accept", "reject" or null, got {decision!r}'
            )
        for key in ("visual_time", "audio_time"):
            value = item.get(key)
            problem = "is missing" if value is None else _time_problem(value)
            if problem:
                raise CrossVerifyError(f"{origin}: clip {cid!r} accepted but {key} {problem}")
        for key in ("file", "visual_event", "audio_event"):
            if not isinstance(item.get(key), str) or not item[key].strip():
                raise CrossVerifyError(f"{origin}: clip {cid!r} accepted but {key} is empty")
        row = {k: v for k, v in item.items() if k not in _REVIEW_DROP}
        row["clip_id"] = cid
        row["crossverify"] = {
            "status": "reviewed",
            "visual": item.get("visual") or {},
            "audio": item.get("audio") or {},
            **({"note": item["note"]} if item.get("note") else {}),
        }
        by_id[cid] = row
        accepted.append(cid)
    return ReviewResult(list(by_id.values()), accepted, rejected, pending)
