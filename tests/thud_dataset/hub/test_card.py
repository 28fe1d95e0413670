"""The dataset card: what a Hub user expects, and YAML that load_dataset and the Hub read."""

from __future__ import annotations

import dataclasses

import pytest
import yaml
from huggingface_hub import DatasetCard

from tests.helpers.media import MP3, make_hub_folder
from thud_dataset.citation import CITATION
from thud_dataset.hub.card import license_ids, render_card
from thud_dataset.hub.report import BuildReport, BuildSettings, ParquetFile
from thud_dataset.sources.base import Skipped

SETTINGS = BuildSettings(
    source="local",
    data_dir="/data/corpus",
    num_clips=None,
    source_seed=0,
    seed=7,
    offsets=(-1.2, -0.5, 0.5, 1.2),
    margin_s=0.2,
    test_fraction=0.5,
    audio_codec="aac",
    audio_bitrate_per_channel=64000,
    gap_fill="silence",
    command="thud build --source local --data-dir corpus --seed 7",
)


def _files(rows: dict) -> list[ParquetFile]:
    return [
        ParquetFile(f"data/{c}/{s}-00000-of-00001.parquet", c, s, n, 1000 * n + 17, "0" * 64)
        for c, splits in rows.items()
        for s, n in splits.items()
        if n
    ]


ROWS = {
    "probes": {"original": 30, "shift": 10, "mute": 10, "swap": 10},
    "preferences": {"train": 40},
    "clips": {"train": 10, "test": 10},
}
REPORT = BuildReport(
    out_dir="thud",
    settings=SETTINGS,
    rows=ROWS,
    clips_used=20,
    partitions={"test": 10, "train": 10},
    offsets={"+0.5": 4, "-1.2": 3, "-0.5": 3},
    skipped=[
        Skipped("a", "annotations.jsonl:3", "file 'a.mp4': no audio stream"),
        Skipped("b", "annotations.jsonl:9", "no shift offset keeps the event inside"),
    ],
    files=_files(ROWS),
    licenses=["CC BY 2.0, Copyright 2009 Peter Stevens", "Sintel, CC BY 3.0, (c) Blender Foundation"],
    thud_version="0.1.0",
)


def _report(**changes) -> BuildReport:
    return dataclasses.replace(REPORT, **changes)


def _meta(text: str) -> dict:
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---", 2)[1])


def test_front_matter_names_every_config_and_split():
    meta = _meta(render_card(REPORT, repo_id="thud-org/thud"))
    configs = {c["config_name"]: c for c in meta["configs"]}
    assert list(configs) == ["probes", "preferences", "clips"]
    assert configs["probes"]["default"] is True
    assert configs["probes"]["data_files"] == [
        {"split": s, "path": f"data/probes/{s}-*.parquet"}
        for s in ("original", "shift", "mute", "swap")
    ]
    assert configs["clips"]["data_files"][0] == {
        "split": "test",
        "path": "data/clips/test-*.parquet",
    }
    assert meta["license"] == ["cc-by-2.0", "cc-by-3.0"]
    assert "video-text-to-text" in meta["task_categories"] and "audio-visual" in meta["tags"]
    assert meta["size_categories"] == ["n<1K"]
    # the Hub's own parser accepts it
    card = DatasetCard(render_card(REPORT, repo_id="thud-org/thud"))
    assert card.data.pretty_name == "Thud"


def test_body_says_what_a_hub_user_needs():
    text = render_card(REPORT, repo_id="thud-org/thud")
    for needle in (
        "Thud (Temporal and Hallucination Unmasking Diagnostics)",  # what Thud is
        'load_dataset("thud-org/thud", "probes", split="shift")',  # how to load
        "| `probes` | `shift` | 10 |",  # configs and splits
        "| `offset_s` |",  # columns
        "-1.2 s, -0.5 s, +0.5 s, +1.2 s",  # offsets
        "at least 0.2 s inside the clip",  # margin
        "seed `7`",  # seed
        "codec `aac`, 64 kb/s per channel",  # codec
        "test fraction 0.5",
        "video packets copied unchanged",
        "embedded in the parquet files as bytes",  # the media rule
        "annotations.jsonl:3: a: file 'a.mp4': no audio stream",  # skipped, and why
        "clips skipped: 2",
        "-1.2 s: 3, -0.5 s: 3, +0.5 s: 4",  # offsets used
        "thud build --source local --data-dir corpus --seed 7",  # the command
        "* Sintel, CC BY 3.0, (c) Blender Foundation",  # attribution
        CITATION,
    ):
        assert needle in text, needle
    assert "Wen, Xiaofei" not in CITATION and "Xiaofei Wen and Wenjie Jacky Mo" in CITATION


def test_the_card_records_the_shifts_the_gap_fills_and_the_audio_column():
    from thud_dataset.planning import ClipPlan

    settings = dataclasses.replace(
        SETTINGS, shifts_per_clip=2, one_sided="keep", preferences_gap_fill="room_tone", audio_column=True
    )
    plan = [ClipPlan("c1", "test", (-0.5, 1.2), "c2"), ClipPlan("c2", "test", (0.3, 0.5), "c1", "delayed")]
    text = render_card(_report(settings=settings, plan=plan, directions={"delayed": 3, "early": 1}))
    for needle in (
        "two shifts per clip, one early and one delayed",
        "A clip where only one direction fits is kept",
        "* shifts per clip: 2, delayed: 3, early: 1",
        "* one-sided clips kept (only one shift direction fits them): 1",
        "| `c1` | test | -0.5, +1.2 |",  # the offsets of every clip
        "| `c2` | test | +0.3, +0.5 (one-sided: delayed) |",
        "* `probes`: digital silence, as in the paper",
        "* `preferences`: the clip's own room tone",
        "| `audio` |",
        "a WAV file of 32-bit float samples at the clip's own sample rate",
        "at the clip's own sample rate (no resampling)",
        'cast_column("audio", Audio(sampling_rate=16_000))',
    ):
        assert needle in text, needle
    # the defaults skip one-sided clips and say why; a report from before says what it was
    skipping = render_card(_report(settings=dataclasses.replace(settings, one_sided="skip")))
    assert "is skipped: its shifts would all point the way the picture suggests" in skipping
    old = render_card(REPORT)  # a report without the newer settings: one shift, one gap fill
    assert "one shift per clip" in old and "| `audio` |" not in old
    assert "* `preferences`: digital silence" in old


def test_dataset_info_carries_the_parquet_sizes_of_the_report():
    meta = _meta(render_card(REPORT))
    info = {c["config_name"]: c for c in meta["dataset_info"]}
    assert info["probes"]["splits"][0] == {"name": "original", "num_bytes": 30017, "num_examples": 30}
    assert info["clips"]["download_size"] == 10017 + 10017


@pytest.mark.parametrize(
    "changes",
    [
        {"rows": {}, "files": [], "clips_used": 0, "partitions": {}, "offsets": {}},
        {"rows": {"probes": {"original": 0, "shift": 0, "mute": 0, "swap": 0}}, "files": []},
        {"rows": {"probes": {"shift": 1}}, "files": _files({"probes": {"shift": 1}})},
        {"skipped": [], "licenses": [], "transcoded": ["clip_a"], "thud_version": ""},
        {"settings": dataclasses.replace(SETTINGS, source="synthetic", offsets=(), command="")},
    ],
)
def test_render_card_renders_every_report(changes):
    text = render_card(_report(**changes))
    meta = _meta(text)
    assert "configs" in meta and "license" in meta
    assert [c["config_name"] for c in meta["configs"]] == list(_report(**changes).written())
    DatasetCard(text)  # parses


def test_card_says_which_clips_were_transcoded_and_how_gaps_were_filled():
    text = render_card(_report(transcoded=["bunny_hit1"], settings=dataclasses.replace(SETTINGS, gap_fill="room_tone")))
    assert "clips whose video was transcoded" in text and "`bunny_hit1`" in text
    assert "room tone" in text and "digital silence (as in the paper)" not in text
    assert "clips whose video was transcoded" not in render_card(REPORT)


def test_licence_ids():
    assert license_ids(["CC BY-NC-SA 4.0 (Oops)", "cc-by-4.0", "CC0-1.0 (generated by Thud)"]) == [
        "cc-by-4.0",
        "cc-by-nc-sa-4.0",
        "cc0-1.0",
    ]
    assert license_ids(["All rights reserved", None]) == ["other", "unknown"]
    synthetic = _report(licenses=[], settings=dataclasses.replace(SETTINGS, source="synthetic"))
    assert _meta(render_card(synthetic))["license"] == "cc0-1.0"
    assert _meta(render_card(_report(licenses=[])))["license"] == "unknown"
    assert _meta(render_card(REPORT, license="mit"))["license"] == "mit"


def test_many_skips_are_cut_short():
    skipped = [Skipped(f"clip{i}", "", "reason") for i in range(60)]
    text = render_card(_report(skipped=skipped))
    assert "* clip49: reason" in text and "clip50" not in text
    assert "… and 10 more (see `build_report.json`)" in text


def test_card_round_trips_and_rebuilds_are_not_stale(tmp_path, real_clips_dir):
    """load_dataset reads the card's configs; a rebuilt folder does not load cached old rows.

    datasets keys its cache of a local folder on the card (configs, dataset_info), not on
    the files, so the card carries the parquet sizes (``dataset_info``) when it knows them.
    """
    from datasets import load_dataset

    video = (real_clips_dir / MP3).read_bytes()
    cache = str(tmp_path / "hf-cache")
    folder = make_hub_folder(tmp_path / "thud", video, splits={"probes": {"shift": 2}})
    meta = _meta((folder / "README.md").read_text())
    size = (folder / "data/probes/shift-00000-of-00001.parquet").stat().st_size
    assert meta["dataset_info"] == [
        {
            "config_name": "probes",
            "splits": [{"name": "shift", "num_bytes": size, "num_examples": 2}],
            "download_size": size,
            "dataset_size": size,
        }
    ]
    ds = load_dataset(str(folder), "probes", split="shift", cache_dir=cache)
    assert ds.num_rows == 2 and ds[0]["video"]["bytes"] == video

    # rebuild the same folder with other content: the same cache must give the new rows
    make_hub_folder(tmp_path / "thud", video, splits={"probes": {"shift": 3}})
    ds = load_dataset(str(folder), "probes", split="shift", cache_dir=cache)
    assert ds.num_rows == 3
