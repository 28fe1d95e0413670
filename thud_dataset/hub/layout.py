"""``build()``: run the builder for every config and write the Hub layout to a folder.

The folder holds parquet files per config/split, a dataset card ``README.md`` whose YAML
``configs:`` names them, and ``build_report.json`` (settings, plan, skipped clips). So
``load_dataset("<folder>", "probes", split="shift")`` works offline without torch, and the
same folder pushed to the Hub is ``load_dataset("org/name", ...)``.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import datasets

from ..builder import Prepared, ThudBuilder, ThudConfig, prepare
from ..sources.base import Skipped
from ..vocab import CONFIGS, SPLITS

#: parquet files are cut so that none is much larger than this (the Hub prefers < 500 MB)
MAX_SHARD_BYTES = 400 * 1024**2
_SORT_KEY = {"probes": ["clip_id", "dimension"], "preferences": ["clip_id", "dimension", "condition"], "clips": ["clip_id"]}


@dataclass
class BuildReport:
    """What a build made and what it left out."""

    out_dir: str
    settings: dict
    rows: dict[str, dict[str, int]] = field(default_factory=dict)  # config → split → rows
    clips_used: int = 0
    partitions: dict[str, int] = field(default_factory=dict)
    offsets: dict[str, int] = field(default_factory=dict)  # "+0.5" → clips
    skipped: list[Skipped] = field(default_factory=list)
    plan: list[dict] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        d = asdict(self)
        d["skipped"] = [asdict(s) for s in self.skipped]
        return d

    def summary(self) -> str:
        """A plain-text table of the build, for the terminal."""
        lines = [f"Thud build → {self.out_dir}", ""]
        lines.append(f"clips used: {self.clips_used}  " + "  ".join(f"{k}: {v}" for k, v in sorted(self.partitions.items())))
        lines.append(f"clips skipped: {len(self.skipped)}")
        for s in self.skipped:
            lines.append(f"  - {s}")
        lines.append("")
        lines.append(f"{'config':<12} {'split':<10} {'rows':>6}")
        for config, splits in self.rows.items():
            for split, n in splits.items():
                lines.append(f"{config:<12} {split:<10} {n:>6}")
        empty = [f"{c}/{s}" for c, splits in self.rows.items() for s, n in splits.items() if not n]
        if empty:
            lines.append(f"empty splits (no usable clip in that partition; not written): {', '.join(empty)}")
        lines.append("")
        lines.append("shift offsets (tau, s → clips): " + ", ".join(f"{k}: {v}" for k, v in sorted(self.offsets.items(), key=lambda kv: float(kv[0]))))
        return "\n".join(lines)


def _write_parquet(ds: datasets.Dataset, folder: Path, split: str) -> list[Path]:
    n = max(1, math.ceil(ds.data.nbytes / MAX_SHARD_BYTES))
    paths = []
    for i in range(n):
        path = folder / f"{split}-{i:05d}-of-{n:05d}.parquet"
        ds.shard(num_shards=n, index=i, contiguous=True).to_parquet(str(path))
        paths.append(path)
    return paths


def build(
    out_dir: str | Path = "thud",
    *,
    configs: tuple[str, ...] = CONFIGS,
    num_proc: int | None = None,
    progress: bool = True,
    command: str | None = None,
    **config_kwargs,
) -> BuildReport:
    """Build every config of Thud into ``out_dir`` (the Hub layout) and return a report.

    ``config_kwargs`` are :class:`~thud_dataset.builder.ThudConfig` fields: ``source``,
    ``num_clips``, ``seed``, ``data_dir``, ``offsets``, ``margin_s``, ``test_fraction``,
    ``media_cache_dir``… Existing parquet files of the built configs are replaced.
    """
    unknown = set(configs) - set(CONFIGS)
    if unknown:
        raise ValueError(f"unknown configs {sorted(unknown)}; expected some of {CONFIGS}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if config_kwargs.get("data_dir") is not None:
        config_kwargs["data_dir"] = str(Path(config_kwargs["data_dir"]).resolve())
    template = ThudConfig(name="probes", **config_kwargs)
    if not progress:
        datasets.disable_progress_bars()
    prep: Prepared = prepare(template, progress=progress, num_proc=num_proc)
    report = BuildReport(out_dir=str(out), settings=_settings(template, command))
    report.skipped = prep.skipped
    report.clips_used = len(prep.plans)
    report.partitions = dict(Counter(p.partition for p in prep.plans))
    report.offsets = dict(Counter(f"{p.tau:+g}" for p in prep.plans))
    report.plan = [asdict(p) for p in prep.plans]
    with tempfile.TemporaryDirectory(prefix="thud-arrow-") as arrow_cache:
        for config in configs:
            builder = ThudBuilder(config_name=config, cache_dir=arrow_cache, **config_kwargs)
            builder._prepared = prep  # same clips and plan for every config: check and plan once
            builder.download_and_prepare(num_proc=num_proc if num_proc and num_proc > 1 else None)
            folder = out / "data" / config
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir(parents=True)
            report.rows[config] = {}
            for split in SPLITS[config]:
                # an empty split (a partition with no usable clip) is reported, not written:
                # datasets cannot load a split with no data
                report.rows[config][split] = builder.info.splits[split].num_examples
                if not report.rows[config][split]:
                    continue
                ds = _sorted(builder.as_dataset(split=split), _SORT_KEY[config])  # same bytes whatever num_proc was
                report.files += [str(p.relative_to(out)) for p in _write_parquet(ds, folder, split)]
    (out / "build_report.json").write_text(json.dumps(report.to_json(), indent=2, sort_keys=True) + "\n")
    (out / "README.md").write_text(_card(report, prep))
    return report


def _sorted(ds: datasets.Dataset, keys: list[str]) -> datasets.Dataset:
    columns = ds.select_columns(keys).to_dict()
    order = sorted(range(len(ds)), key=lambda i: tuple(columns[k][i] for k in keys))
    return ds.select(order)




def _settings(config: ThudConfig, command: str | None) -> dict:
    return {
        "source": config.source,
        "data_dir": config.data_dir,
        "num_clips": config.num_clips if config.source == "synthetic" else None,
        "source_seed": config.source_seed,
        "seed": config.seed,
        "offsets": list(config.offsets),
        "margin_s": config.margin_s,
        "test_fraction": config.test_fraction,
        "audio_codec": config.audio_codec,
        "audio_bitrate_per_channel": config.audio_bitrate_per_channel,
        "gap_fill": config.gap_fill,
        "command": command or " ".join(sys.argv),
    }


def _card(report: BuildReport, prep: Prepared) -> str:
    from .card import render_card

    licences = sorted({c.license for c in prep.clips.values() if c.license})
    info = dict(report.settings)
    info.update(
        configs={
            c: {s: n for s, n in splits.items() if n} for c, splits in report.rows.items() if any(splits.values())
        },
        clips_used=report.clips_used,
        out_dir=report.out_dir,  # lets the card record the parquet sizes: a rebuilt folder is not loaded stale
        clips_skipped=len(report.skipped),
        skipped=[asdict(s) for s in report.skipped],
        licenses=licences,
        partitions=report.partitions,
        offset_counts=report.offsets,
        audio_bit_rate_per_channel=report.settings["audio_bitrate_per_channel"],
    )
    return render_card(info)
