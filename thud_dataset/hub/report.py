"""The build report: what a build made, from what, and what it left out.

:class:`BuildReport` is written to ``build_report.json`` beside the card. It is the
folder's manifest: its ``thud_build`` key marks the folder as made by Thud (so a rebuild
may replace it), and ``files`` lists every parquet file with its rows, size and SHA-256,
so :func:`thud_dataset.hub.layout.check_build_folder` can tell a complete build from a damaged one by reading the
files back. The dataset card (:func:`thud_dataset.hub.card.render_card`) is rendered from
the same object.

Imports only the standard library and PyArrow (to read parquet back), so a shard writer
anywhere (a process, a cluster worker) can describe what it wrote with :class:`ParquetFile`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from ..planning import ClipPlan
from ..sources.base import Skipped

__all__ = [
    "REPORT_FORMAT",
    "REPORT_NAME",
    "BuildReport",
    "BuildSettings",
    "ParquetFile",
    "is_thud_build",
    "read_report",
]

REPORT_NAME = "build_report.json"
#: one-sided clips named in the terminal summary (all of them are in the report's plan)
_ONE_SIDED_SHOWN = 20
#: the value of the ``thud_build`` key: the format of the report (bump when it changes;
#: 2: a plan holds ``taus``, several shifts per clip; format 1 reports still read)
REPORT_FORMAT = 2


@dataclass(frozen=True)
class BuildSettings:
    """The settings a build was made with (what reproduces it).

    The fields with defaults came later; a report that lacks them is read with the value
    builds had then (one shift per clip, one-sided clips kept, one gap fill for every
    config, no audio column).
    """

    source: str
    data_dir: str | None
    num_clips: int | None  # synthetic source only
    source_seed: int
    seed: int
    offsets: tuple[float, ...]
    margin_s: float
    test_fraction: float
    audio_codec: str
    audio_bitrate_per_channel: int
    gap_fill: str  # the probes' gap fill
    command: str
    shifts_per_clip: int = 1
    one_sided: str = "keep"
    preferences_gap_fill: str | None = None  # None: the same as ``gap_fill``
    audio_column: bool = False

    @classmethod
    def from_json(cls, d: dict) -> BuildSettings:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in d.items() if k in known}
        values["offsets"] = tuple(values.get("offsets") or ())
        return cls(**values)

    @property
    def gap_fills(self) -> dict[str, str]:
        """What fills the gaps of shifts and swaps, per config."""
        return {"probes": self.gap_fill, "preferences": self.preferences_gap_fill or self.gap_fill}


@dataclass(frozen=True)
class ParquetFile:
    """One parquet file of a build, as read back after writing it."""

    path: str  # relative to the build folder, "/"-separated
    config: str
    split: str
    num_rows: int
    num_bytes: int
    sha256: str

    @classmethod
    def measure(cls, folder: str | Path, path: str, config: str, split: str) -> ParquetFile:
        """Read ``folder/path`` back in full (every row group, every column) and describe it.

        Raises ``OSError`` or ``pyarrow.ArrowInvalid`` when the file cannot be read.
        """
        import pyarrow.parquet as pq

        full = Path(folder) / path
        table = pq.read_table(full)
        data = full.read_bytes()
        return cls(path, config, split, table.num_rows, len(data), hashlib.sha256(data).hexdigest())


@dataclass
class BuildReport:
    """What a build made and what it left out (``build_report.json``).

    ``rows`` holds every config and split asked for, 0 for a split with no usable clip (such
    a split is not written: ``datasets`` cannot load a split without data). ``transcoded``
    lists the clips whose video was re-encoded because the output container cannot carry
    its codec (all conditions of such a clip share the one transcoded picture).
    """

    out_dir: str
    settings: BuildSettings
    rows: dict[str, dict[str, int]] = field(default_factory=dict)  # config → split → rows
    clips_used: int = 0
    partitions: dict[str, int] = field(default_factory=dict)
    offsets: dict[str, int] = field(default_factory=dict)  # "+0.5" → shift probes (clips with that tau)
    directions: dict[str, int] = field(default_factory=dict)  # "early"/"delayed" → shift probes
    skipped: list[Skipped] = field(default_factory=list)
    plan: list[ClipPlan] = field(default_factory=list)
    files: list[ParquetFile] = field(default_factory=list)
    licenses: list[str] = field(default_factory=list)  # distinct licence strings of the clips used
    transcoded: list[str] = field(default_factory=list)
    #: entries of an earlier folder that the build kept (e.g. ``predictions/`` of ``thud demo``)
    kept: list[str] = field(default_factory=list)
    thud_version: str = ""

    # -- JSON ------------------------------------------------------------------------------

    def to_json(self) -> dict:
        d = asdict(self)
        d["settings"]["offsets"] = list(self.settings.offsets)
        d["thud_build"] = REPORT_FORMAT
        return d

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, d: dict) -> BuildReport:
        return cls(
            out_dir=d.get("out_dir", ""),
            settings=BuildSettings.from_json(d.get("settings") or {}),
            rows={c: dict(s) for c, s in (d.get("rows") or {}).items()},
            clips_used=int(d.get("clips_used", 0)),
            partitions=dict(d.get("partitions") or {}),
            offsets=dict(d.get("offsets") or {}),
            directions=dict(d.get("directions") or {}),
            skipped=[Skipped(**s) for s in d.get("skipped") or []],
            plan=[ClipPlan.from_json(p) for p in d.get("plan") or []],
            files=[ParquetFile(**f) for f in d.get("files") or [] if isinstance(f, dict)],
            licenses=list(d.get("licenses") or []),
            transcoded=list(d.get("transcoded") or []),
            kept=list(d.get("kept") or []),
            thud_version=d.get("thud_version", ""),
        )

    # -- views ------------------------------------------------------------------------------

    def one_sided(self) -> dict[str, str]:
        """The clips used although only one shift direction fits them: clip id → that
        direction (the one-sided clips that were skipped are in ``skipped``)."""
        return {p.clip_id: p.one_sided for p in self.plan if p.one_sided}

    def written(self) -> dict[str, dict[str, int]]:
        """``{config: {split: rows}}`` of the splits that have rows (what the card names)."""
        return {c: {s: n for s, n in splits.items() if n} for c, splits in self.rows.items() if any(splits.values())}

    def split_bytes(self) -> dict[str, dict[str, int]]:
        """``{config: {split: bytes of its parquet files}}``."""
        sizes: dict[str, dict[str, int]] = {}
        for f in self.files:
            sizes.setdefault(f.config, {}).setdefault(f.split, 0)
            sizes[f.config][f.split] += f.num_bytes
        return sizes

    def summary(self) -> str:
        """A plain-text table of the build, for the terminal."""
        lines = [f"Thud build → {self.out_dir}", ""]
        lines.append(f"clips used: {self.clips_used}  " + "  ".join(f"{k}: {v}" for k, v in sorted(self.partitions.items())))
        lines.append(f"clips skipped: {len(self.skipped)}")
        for s in self.skipped:
            lines.append(f"  - {s}")
        if self.transcoded:
            lines.append(f"clips whose video was transcoded: {', '.join(self.transcoded)}")
        if self.rows:
            lines.append("")
            lines.append(f"{'config':<12} {'split':<10} {'rows':>6}")
            for config, splits in self.rows.items():
                for split, n in splits.items():
                    lines.append(f"{config:<12} {split:<10} {n:>6}")
        empty = [f"{c}/{s}" for c, splits in self.rows.items() for s, n in splits.items() if not n]
        if empty:
            lines.append(f"empty splits (no usable clip in that partition; not written): {', '.join(empty)}")
        if self.offsets:
            lines.append("")
            lines.append(
                f"shifts per clip: {self.settings.shifts_per_clip}  "
                + "  ".join(f"{k}: {v}" for k, v in sorted(self.directions.items()))
            )
            lines.append(
                "shift offsets (tau, s → shift probes): "
                + ", ".join(f"{k}: {v}" for k, v in sorted(self.offsets.items(), key=lambda kv: float(kv[0])))
            )
        one_sided = self.one_sided()
        if one_sided:
            shown = sorted(one_sided.items())[:_ONE_SIDED_SHOWN]
            more = f", … ({len(one_sided) - len(shown)} more in {REPORT_NAME})" if len(one_sided) > len(shown) else ""
            lines.append(
                f"one-sided clips kept (only one direction fits; the picture tells it): {len(one_sided)}: "
                + ", ".join(f"{c} ({d})" for c, d in shown)
                + more
            )
        if self.kept:
            lines.append(f"kept from the folder's previous content: {', '.join(self.kept)}")
        return "\n".join(lines)


def read_report(folder: str | Path) -> BuildReport:
    """The :class:`BuildReport` of a built folder.

    Raises ``FileNotFoundError`` when the folder has no report and ``ValueError`` (naming
    the file) when it is not a Thud build report.
    """
    path = Path(folder) / REPORT_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a Thud build report ({exc})") from None
    if not isinstance(data, dict) or "thud_build" not in data:
        raise ValueError(f"{path}: not a Thud build report (no 'thud_build' key)")
    try:
        return BuildReport.from_json(data)
    except (TypeError, ValueError, KeyError) as exc:
        raise ValueError(f"{path}: a damaged Thud build report ({exc})") from None


def is_thud_build(folder: str | Path) -> bool:
    """Was ``folder`` made by ``thud build``? (Its report carries the ``thud_build`` mark;
    folders from before the mark are recognised by their report's ``settings`` and
    ``plan``.)"""
    path = Path(folder) / REPORT_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(data, dict) and ("thud_build" in data or {"settings", "plan", "skipped"} <= data.keys())
