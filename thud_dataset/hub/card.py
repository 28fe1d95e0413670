"""The dataset card (``README.md``) of a built Thud dataset.

:func:`render_card` turns the report of one build (:class:`~thud_dataset.hub.report.BuildReport`)
into the card a Hub user expects: YAML
front matter whose ``configs:`` list names the parquet files per config/split (this is
what makes ``load_dataset(folder_or_repo, config)`` work), then what Thud is, how to load
it, the configs/splits and columns, how the interventions were made (offsets, seed,
codec), what was skipped, licences and attribution of the sources, and the citation.

Imports only the standard library, PyYAML and the project's own light modules (no
``datasets`` until the column list is asked for), so the builder can call it anywhere.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from ..citation import CITATION
from ..sources.base import Skipped
from ..vocab import CONFIGS, PARTITIONS, SPLITS
from .report import BuildReport, BuildSettings

__all__ = ["CITATION", "CardError", "card_configs", "data_files_pattern", "license_ids", "read_front_matter", "render_card"]

#: the configs of a build, in card order; the first present one is the default config
_CONFIG_ORDER = CONFIGS
_SPLIT_ORDER = (*SPLITS["probes"], *PARTITIONS)

_CONFIG_ABOUT = {
    "probes": "one row per probe: a video with original or intervened audio, a prompt and its gold label",
    "preferences": "chosen / rejected answers per probe, for preference training (DPO)",
    "clips": "the annotated source clips with their event-time labels",
}
_SPLIT_ABOUT = {
    "original": "unedited audio (re-encoded like every condition); one probe per clip and dimension",
    "shift": "audio displaced by `offset_s`; one probe per clip and offset",
    "mute": "audio replaced by digital silence (the audio stream stays); one probe per clip",
    "swap": "audio replaced by a donor clip's audio; one probe per clip",
    "test": "clips of the evaluation partition",
    "train": "clips of the training partition (never overlaps test)",
}
_COLUMN_ABOUT = {
    "probe_id": "opaque unique id (hash)",
    "pair_id": "shared by the original probe of one clip and dimension and its intervened probe(s) (every shift of the clip)",
    "clip_id": "the source clip",
    "file": "the source file name",
    "dimension": "`sync` (original vs shift), `existence` (original vs mute), `consistency` (original vs swap)",
    "condition": "`original`, `shift`, `mute` or `swap`",
    "offset_s": "`tau` of a shift probe (s; > 0 audio delayed, < 0 audio early); 0.0 otherwise",
    "donor_clip_id": "the clip whose audio a swap probe carries",
    "video": "`{bytes, path}`: the mp4 file itself (bytes embedded), `path` an opaque content-hash name",
    "audio": "`{bytes, path}`: what a decoder hears in `video`, as a WAV file of 32-bit float samples at the clip's own sample rate and channel count (`Audio(decode=False)`)",
    "prompt": "the question put to the model; its options are `choices` as letters A, B, C",
    "choices": "labels in the order of the prompt's letters",
    "label": "gold label: `synced`, `early`, `delayed`, `silent` or `mismatched`",
    "chosen": "the audio-verified answer",
    "rejected": "the visually plausible but wrong answer",
    "visual_event": "what is seen",
    "visual_time": "when it is seen (s from the first video frame)",
    "audio_event": "what is heard",
    "audio_time": "when it is heard in the original audio (s)",
    "category": "sound category, if annotated",
    "edited_audio_time": "where the audio event is in the edited audio (s); null for mute",
    "duration_s": "clip duration (s)",
    "partition": "`train` or `test` (seeded, recorded, never overlapping)",
    "source": "`synthetic` or `local`",
    "license": "licence and attribution of the source clip",
}

_SKIPPED_SHOWN = 50
#: clips whose shift offsets the card lists (all of them are in ``build_report.json``)
_PLAN_SHOWN = 200


def data_files_pattern(config: str, split: str) -> str:
    """The ``data_files`` glob of one config/split in the built layout."""
    return f"data/{config}/{split}-*.parquet"


def _ordered(keys: Iterable[str], order: tuple[str, ...]) -> list[str]:
    keys = list(keys)
    return [k for k in order if k in keys] + sorted(k for k in keys if k not in order)


_CC = re.compile(r"\bCC[\s-]*(BY(?:[\s-]*(?:NC|SA|ND))*)[\s-]*(\d\.\d)", re.IGNORECASE)
_CC0 = re.compile(r"\bCC[\s-]*0\b|public domain", re.IGNORECASE)
_SPDX = {
    "apache-2.0": re.compile(r"\bapache(?:[\s-]*license)?[\s,-]*(?:version\s*)?2(?:\.0)?\b", re.I),
    "mit": re.compile(r"\bMIT\b"),
}


def license_ids(licences: Iterable[str | None]) -> list[str]:
    """Hub licence identifiers for free-text licence/attribution strings.

    ``"CC BY 2.0, Copyright 2012 …"`` gives ``cc-by-2.0``; CC variants keep their
    NC/SA/ND parts; ``CC0`` or "public domain" gives ``cc0-1.0``; a missing string gives
    ``unknown``; anything unrecognised gives ``other``. Sorted, without repeats.

    >>> license_ids(["CC BY 3.0, (c) Blender Foundation", "CC BY-NC-SA 4.0", None])
    ['cc-by-3.0', 'cc-by-nc-sa-4.0', 'unknown']
    """
    ids: set[str] = set()
    for text in licences:
        if not text or not str(text).strip():
            ids.add("unknown")
            continue
        text = str(text)
        m = _CC.search(text)
        if m:
            parts = re.split(r"[\s-]+", m.group(1).lower())
            ids.add("cc-" + "-".join(parts) + "-" + m.group(2))
        elif _CC0.search(text):
            ids.add("cc0-1.0")
        else:
            ids.add(next((k for k, rx in _SPDX.items() if rx.search(text)), "other"))
    return sorted(ids)


def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")):
        if n < limit:
            return name
    return "100K<n<1M" if n < 1_000_000 else "n>1M"


def _license_value(report: BuildReport, override: str | None) -> str | list[str]:
    if override:
        return override
    if report.licenses:
        ids = license_ids(report.licenses)
        return ids[0] if len(ids) == 1 else ids
    # synthetic clips are generated by Thud itself and released as CC0
    return "cc0-1.0" if report.settings.source == "synthetic" else "unknown"


def _front_matter(report: BuildReport, license_value: str | list[str], pretty_name: str) -> dict:
    configs = report.written()
    total = sum(n for splits in configs.values() for n in splits.values())
    meta: dict[str, Any] = {
        "pretty_name": pretty_name,
        "license": license_value,
        "task_categories": ["video-text-to-text", "visual-question-answering"],
        "tags": [
            "audio-visual",
            "audio",
            "video",
            "benchmark",
            "hallucination",
            "audio-visual-synchronization",
            "clever-hans",
            "counterfactual",
            "dpo",
        ],
        "size_categories": [_size_category(total)],
        "configs": [],
    }
    names = _ordered(configs, _CONFIG_ORDER)
    sizes = report.split_bytes()
    if names and all(split in sizes.get(name, {}) for name in names for split in configs[name]):
        # datasets (5.2) keys its cache of a local folder on the card's configs and
        # dataset_info only, not on the files: without content-dependent sizes here, a
        # rebuilt folder (or another folder of the same name) loads stale cached rows
        meta["dataset_info"] = [
            {
                "config_name": name,
                "splits": [
                    {"name": split, "num_bytes": sizes[name][split], "num_examples": int(configs[name][split])}
                    for split in _ordered(configs[name], _SPLIT_ORDER)
                ],
                "download_size": sum(sizes[name][s] for s in configs[name]),
                "dataset_size": sum(sizes[name][s] for s in configs[name]),
            }
            for name in names
        ]
    for i, name in enumerate(names):
        entry: dict[str, Any] = {"config_name": name}
        if i == 0:
            entry["default"] = True
        entry["data_files"] = [
            {"split": split, "path": data_files_pattern(name, split)}
            for split in _ordered(configs[name], _SPLIT_ORDER)
        ]
        meta["configs"].append(entry)
    return meta


def _num_key(kv: tuple[str, int]) -> tuple[float, str]:
    try:
        return (float(kv[0]), "")
    except (TypeError, ValueError):
        return (math.inf, str(kv[0]))


def _fmt_offsets(offsets: tuple[float, ...]) -> str:
    return ", ".join(f"{float(o):+g} s" for o in offsets) if offsets else "the builder's default set"


def _audio_policy(settings: BuildSettings) -> str:
    return (
        f"codec `{settings.audio_codec}`, {settings.audio_bitrate_per_channel // 1000} kb/s per channel, "
        "sample rate: the source's own sample rate"
    )


_GAP_FILL_ABOUT = {
    "silence": "digital silence, as in the paper (a cue: where the exact zeros sit gives a shift's direction away; "
    "the `silence_cue` baseline measures how much)",
    "room_tone": "the clip's own room tone (seeded noise shaped like its quietest stretch), so no gap of digital "
    "silence betrays the edit",
}


def _gap_fill_lines(settings: BuildSettings, configs: Iterable[str]) -> list[str]:
    fills = settings.gap_fills
    return [f"  * `{name}`: {_GAP_FILL_ABOUT.get(fills[name], fills[name])}" for name in fills if name in configs]


def _shift_policy(settings: BuildSettings) -> str:
    k = settings.shifts_per_clip
    if k == 1:
        count = "one shift per clip, its direction drawn per clip"
    elif k == 2:
        count = "two shifts per clip, one early and one delayed, each `|tau|` drawn from the offsets that fit"
    else:
        count = f"{k} shifts per clip, half early and half delayed where the offsets that fit allow (a sweep)"
    if k >= 2 and settings.one_sided == "skip":
        sided = (
            "A clip where only early or only delayed offsets fit (its event near one end) is skipped: its "
            "shifts would all point the way the picture suggests. Both shifts of a clip share its picture, "
            "so the picture alone gets at most half of them right."
        )
    else:
        sided = (
            "A clip where only one direction fits is kept (listed below as one-sided): there the "
            "position of the event in the picture tells the direction."
        )
    return f"{count}. {sided}"


def _plan_lines(report: BuildReport) -> list[str]:
    lines = ["<details><summary>Shift offsets per clip</summary>", "", "| clip | partition | tau (s) |", "| --- | --- | --- |"]
    for plan in report.plan[:_PLAN_SHOWN]:
        taus = ", ".join(f"{t:+g}" for t in plan.taus)
        lines.append(f"| `{plan.clip_id}` | {plan.partition} | {taus}" + (f" (one-sided: {plan.one_sided})" if plan.one_sided else "") + " |")
    if len(report.plan) > _PLAN_SHOWN:
        lines.append(f"| … | | {len(report.plan) - _PLAN_SHOWN} more clips in `build_report.json` |")
    return [*lines, "", "</details>"]


def _skipped_lines(skipped: list[Skipped]) -> list[str]:
    lines = [f"* {str(s).replace(chr(10), ' ')}" for s in skipped[:_SKIPPED_SHOWN]]
    if len(skipped) > _SKIPPED_SHOWN:
        lines.append(f"* … and {len(skipped) - _SKIPPED_SHOWN} more (see `build_report.json`)")
    return lines


def _columns(config: str, audio_column: bool = True) -> list[str]:
    # the schema is the single truth about columns; descriptions are ours
    from ..features import FEATURES, features_for

    return list(features_for(config, audio_column)) if config in FEATURES else []


def render_card(
    report: BuildReport,
    *,
    repo_id: str | None = None,
    license: str | None = None,
    pretty_name: str = "Thud",
) -> str:
    """The dataset card ``README.md`` of one build, from its report.

    Parameters
    ----------
    report
        The build's :class:`~thud_dataset.hub.report.BuildReport`: its ``rows`` drive the
        YAML ``configs:`` (splits with rows only), its ``files`` give the ``dataset_info``
        sizes (``datasets`` caches a local folder by its card, so without them a rebuilt
        folder would load stale rows), its settings, plan counts, skipped clips, licences
        and transcoded clips fill the body.
    repo_id
        How the card's snippets name the dataset (default ``"<org>/thud"``).
    license
        A Hub licence id that overrides the one derived from the clips' licences.
    pretty_name
        The dataset's display name.

    Returns
    -------
    str
        Markdown with YAML front matter.
    """
    settings = report.settings
    configs = report.written()
    license_value = _license_value(report, license)
    meta = _front_matter(report, license_value, pretty_name)
    repo = repo_id or "<org>/thud"
    default_config = next(iter(_ordered(configs, _CONFIG_ORDER)), "probes")
    source = settings.source
    out: list[str] = [
        "---",
        yaml.safe_dump(meta, sort_keys=False, allow_unicode=True).rstrip(),
        "---",
        "",
    ]
    w = out.append

    w("# Thud: does your omni model listen?")
    w("")
    w(
        "Thud (Temporal and Hallucination Unmasking Diagnostics) probes whether a "
        "video-capable multimodal model really *listens* to the sound of a video, or guesses it "
        'from the picture (the audio-visual "Clever Hans" effect). Each clip shows an event '
        "whose picture implies a sound; its audio is then moved (**shift**), removed "
        "(**mute**) or replaced (**swap**), and the model is asked about the sound. A model that "
        'answers from the picture keeps saying "synchronized" after the audio was edited.'
    )
    w("")
    w("## Quick start")
    w("")
    w("```python")
    w("from datasets import load_dataset")
    w("")
    w(f'probes = load_dataset("{repo}", "{default_config}", split="shift")  # or the built folder: "./thud"')
    w("ex = probes[0]")
    w('open(ex["video"]["path"], "wb").write(ex["video"]["bytes"])  # the clip, audio included')
    w('print(ex["prompt"], ex["choices"], ex["label"])')
    w("```")
    w("")
    w(
        "Rows need neither torch nor torchcodec: `video` is a `Video(decode=False)` column. "
        "Score answers with the `thud_gap` metric (`evaluate.load(...)`), which reports "
        "accuracy per condition, the original-minus-intervened gap per dimension, pair "
        "accuracy and hallucination rates."
    )
    w("")
    w(
        "Load by Hub id or by path (`./thud`, `/data/thud`). A bare name that is no folder in "
        'the current directory, such as `"thud"`, is a Hub id to `datasets`: offline with a '
        "warm cache it returns whatever it cached under that name before (it logs \"Using the "
        'latest cached version\"), which can be an older build.'
    )
    w("")

    w("## Configs and splits")
    w("")
    if configs:
        w("| config | split | rows | what it holds |")
        w("| --- | --- | ---: | --- |")
        for name in _ordered(configs, _CONFIG_ORDER):
            for split in _ordered(configs[name], _SPLIT_ORDER):
                w(f"| `{name}` | `{split}` | {configs[name][split]} | {_SPLIT_ABOUT.get(split, '')} |")
        w("")
        for name in _ordered(configs, _CONFIG_ORDER):
            if name in _CONFIG_ABOUT:
                w(f"* `{name}`: {_CONFIG_ABOUT[name]}.")
        w("")
    else:
        w("(no configs recorded for this build)")
        w("")
    if "probes" in configs:
        k = settings.shifts_per_clip
        w(
            "A *pair* is the original probe of one clip and dimension and one of its intervened "
            "probes (same `pair_id`): `original` holds one probe per (clip, dimension), "
            f"`shift` {k} per clip (one per offset), `mute`/`swap` one per clip; the original "
            "sync probe of a clip pairs with each of its shifts. Gold labels: original → "
            "`synced`; shift → `early` (`offset_s` < 0) or `delayed` (> 0); mute → `silent`; "
            "swap → `mismatched`."
        )
        w("")

    w("## Columns")
    w("")
    for name in _ordered(configs, _CONFIG_ORDER) or list(_CONFIG_ORDER[:1]):
        cols = _columns(name, settings.audio_column)
        if not cols:
            continue
        w(f"`{name}`:")
        w("")
        w("| column | meaning |")
        w("| --- | --- |")
        for col in cols:
            w(f"| `{col}` | {_COLUMN_ABOUT.get(col, '')} |")
        w("")

    if "probes" in configs and settings.audio_column:
        w(
            "The `audio` column holds exactly what a decoder hears in the probe's mp4: its audio "
            "decoded by FFmpeg's decoder (PyAV) at the clip's own sample rate (no resampling), sample 0 "
            "at the first video frame, stored as a WAV of 32-bit float samples (lossless, so nothing is "
            "rounded). Without torch it reads as `{bytes, path}` (e.g. `soundfile.read(io.BytesIO("
            "ex[\"audio\"][\"bytes\"]))`); with torchcodec, `probes.cast_column(\"audio\", "
            "Audio(sampling_rate=16_000))` decodes and resamples it."
        )
        w("")

    w("## How the interventions were made")
    w("")
    w(
        "* **Shift**: `a'(t) = a(t - tau)`, same length. "
        f"Offsets `tau`: {_fmt_offsets(settings.offsets)}; {_shift_policy(settings)} "
        f"A shift is used only if the shifted audio event stays at least {settings.margin_s:g} s inside "
        "the clip. Every probe records `offset_s` and `edited_audio_time`."
    )
    w("* **Gaps**: what fills the gap a shift leaves, and a swap wherever the donor does not reach:")
    out.extend(_gap_fill_lines(settings, configs or ("probes",)))
    w(
        "* **Mute**: the samples are replaced by digital silence of the same length, rate and "
        "channel count; the audio stream stays in the file."
    )
    w(
        "* **Swap**: the audio of a donor clip, length-matched, with the donor's audio event placed "
        "at the recipient's visual-event time; the donor is chosen from the seed, is never the "
        "clip itself nor another clip of the same source file, is not silent, and prefers a "
        "different sound category."
    )
    w(
        f"* **Encoding**: the audio of a clip is decoded once; every condition, the original "
        f"included, is re-encoded the same way ({_audio_policy(settings)}) and muxed with the "
        "video packets copied unchanged (the picture is never re-encoded"
        + (", except for the clips listed below as transcoded" if report.transcoded else "")
        + "). File names are content hashes, so nothing but the sound tells the conditions "
        "apart. The offset a decoder hears in each output equals `tau` to within a millisecond "
        "(checked by decoding the outputs)."
    )
    w(f"* **Determinism**: seed `{settings.seed}`; same inputs and seed give byte-identical files.")
    w(
        f"* **Partition**: clips are assigned to `train`/`test` deterministically (test fraction "
        f"{settings.test_fraction:g}); training and evaluation clips never overlap, and a clip's "
        "annotated `split` wins."
    )
    w("")
    w(
        "**Media rule**: every video is embedded in the parquet files as bytes (`video.bytes`); "
        "the repository holds no loose media files, so `load_dataset` and streaming need "
        "nothing else."
    )
    w("")

    w("## Build")
    w("")
    w(
        f"* source: `{source}`"
        + (
            " (procedurally generated clips with exact event times)"
            if source == "synthetic"
            else " (a folder of videos with `annotations.jsonl`)"
        )
    )
    w(f"* clips used: {report.clips_used}")
    w(f"* clips skipped: {len(report.skipped)}")
    if report.partitions:
        w("* clips per partition: " + ", ".join(f"{k}: {v}" for k, v in sorted(report.partitions.items())))
    if report.offsets:
        w(f"* shifts per clip: {settings.shifts_per_clip}" + "".join(f", {k}: {v}" for k, v in sorted(report.directions.items())))
        w(
            "* shift offsets used (tau → shift probes): "
            + ", ".join(f"{k} s: {v}" for k, v in sorted(report.offsets.items(), key=_num_key))
        )
    one_sided = report.one_sided()
    if one_sided:
        w(f"* one-sided clips kept (only one shift direction fits them): {len(one_sided)}")
    if report.transcoded:
        w(
            "* clips whose video was transcoded (its codec cannot be carried by the output "
            "container; one transcode serves all four conditions): "
            + ", ".join(f"`{c}`" for c in report.transcoded)
        )
    if report.thud_version:
        w(f"* thud version: {report.thud_version}")
    if settings.command:
        w("* command:")
        w("")
        w("  ```")
        w(f"  {settings.command}")
        w("  ```")
    w("")
    if report.plan:
        out.extend(_plan_lines(report))
        w("")
    if report.skipped:
        w("Skipped clips and why:")
        w("")
        out.extend(_skipped_lines(report.skipped))
        w("")
    w("`build_report.json` holds the full plan (offset and donor per clip), every skip, and every parquet file with its rows and SHA-256.")
    w("")

    w("## Licence and attribution")
    w("")
    w(f"Licence of this dataset: `{', '.join(license_value) if isinstance(license_value, list) else license_value}`.")
    if source == "synthetic" and not report.licenses:
        w("The clips are synthetic: generated by Thud, they contain no third-party footage.")
    if report.licenses:
        w("The source clips keep their own licences; keep this attribution when you redistribute them:")
        w("")
        for text in report.licenses:
            w(f"* {text}")
    w("")
    w("## Citation")
    w("")
    w("```bibtex")
    w(CITATION)
    w("```")
    w("")
    return "\n".join(out)


# -- reading a card back ------------------------------------------------------------------


class CardError(ValueError):
    """A dataset card that cannot be read; the message names the file."""


def read_front_matter(readme: Path) -> dict:
    text = readme.read_text(encoding="utf-8")
    if not text.startswith("---"):
        raise CardError(f"{readme}: no YAML front matter (the card must start with '---')")
    try:
        _, block, _ = text.split("---", 2)
        meta = yaml.safe_load(block) or {}
    except (ValueError, yaml.YAMLError) as exc:
        raise CardError(f"{readme}: YAML front matter cannot be read ({exc})") from None
    if not isinstance(meta, dict):
        raise CardError(f"{readme}: YAML front matter is not a mapping")
    return meta


def card_configs(folder: str | Path) -> dict[str, dict[str, list[str]]]:
    """``{config: {split: [data_files patterns]}}`` from the card's YAML ``configs:``."""
    readme = Path(folder) / "README.md"
    if not readme.is_file():
        raise CardError(f"{readme}: no dataset card; build the folder with `thud build` first")
    meta = read_front_matter(readme)
    configs = meta.get("configs")
    if not configs:
        raise CardError(f"{readme}: the YAML front matter has no 'configs:' list")
    out: dict[str, dict[str, list[str]]] = {}
    for i, entry in enumerate(configs):
        name = entry.get("config_name") if isinstance(entry, dict) else None
        files = entry.get("data_files") if isinstance(entry, dict) else None
        if not name or not files:
            raise CardError(f"{readme}: configs[{i}] needs config_name and data_files")
        splits: dict[str, list[str]] = {}
        if isinstance(files, (str, list)) and not (
            isinstance(files, list) and files and isinstance(files[0], dict)
        ):
            splits["train"] = [files] if isinstance(files, str) else list(files)
        else:
            for item in files:
                paths = item.get("path")
                splits[item.get("split", "train")] = (
                    [paths] if isinstance(paths, str) else list(paths)
                )
        out[str(name)] = splits
    return out
