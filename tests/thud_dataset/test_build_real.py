"""A build over the real clips in tests/data/real with hand-written annotations.

The annotations follow SOURCES.md (percussive hits at ~0.49 s / ~0.74 s in the 1.0 s
webm, loud voices at ~3.8 s in video_02, the crowd louder from ~2.3 s in video_01; the
road and wind clips have no single event, so their times are nominal). The offsets
(-0.8, +0.3, +0.8 s) are chosen so that the second webm hit cannot be shifted with the
0.2 s margin: the planner must skip it, and say so. With a single early offset most of
these clips fit only one direction, so the build takes one shift per clip (the default two,
one early and one delayed, would skip them as one-sided).
"""

from __future__ import annotations

import io
import shutil
import subprocess

import av
import numpy as np
import pytest

from tests.helpers.media import MP3, MP4, MP4_LONG, ROAD, WEBM, write_jsonl
from thud_dataset.verify import measure_lag

LICENSES = {
    WEBM: "Big Buck Bunny, CC BY 3.0, (c) copyright Blender Foundation, www.bigbuckbunny.org",
    MP4_LONG: "CC BY 2.0, Copyright 2009 Peter Stevens (Flickr 4094034478), no changes",
    MP4: 'CC BY 2.0, Copyright 2012 Aaron "tango" Tang (Flickr 7484510910), no changes',
    ROAD: "CC BY 3.0, Copyright 2016 Toronto Road Cams (YouTube ElzlmFMwMnw), trimmed 5:00-5:05",
    MP3: "Sintel, CC BY 3.0, (c) copyright Blender Foundation, durian.blender.org",
}
OFFSETS = (-0.8, 0.3, 0.8)


def _rows() -> list[dict]:
    def r(file, vt, ve, at, ae, category, split, **kw):
        return {
            "file": file,
            "visual_event": ve,
            "visual_time": vt,
            "audio_event": ae,
            "audio_time": at,
            "category": category,
            "split": split,
            "license": LICENSES[file],
            **kw,
        }

    return [
        r(
            WEBM,
            0.49,
            "the bunny scene cuts",
            0.49,
            "a percussive hit",
            "music",
            "test",
            clip_id="bunny_hit1",
        ),
        r(
            WEBM,
            0.74,
            "the bunny scene cuts",
            0.74,
            "a second percussive hit",
            "music",
            "test",
            clip_id="bunny_hit2",
        ),
        r(MP4_LONG, 3.8, "hikers on a trail", 3.8, "loud voices", "speech", "test"),
        r(MP4, 2.3, "an indoor crowd", 2.3, "the crowd gets louder", "crowd", "test"),
        # train clips (the preferences config needs a train partition with a donor pair)
        r(ROAD, 2.5, "cars on a highway", 2.5, "road noise", "traffic", "train"),
        r(MP3, 1.0, "a windy landscape", 1.0, "wind", "wind", "train"),
        {
            "file": "missing_clip.mp4",
            "visual_event": "v",
            "visual_time": 1.0,
            "audio_event": "a",
            "audio_time": 1.0,
        },
    ]


@pytest.fixture(scope="module")
def real_build(tmp_path_factory, real_clips_dir, media_cache):
    from thud_dataset import build

    work = tmp_path_factory.mktemp("real-build")
    ann = write_jsonl(work / "annotations.jsonl", _rows())
    out = work / "thud"
    report = build(
        out,
        source="local",
        data_dir=real_clips_dir,
        annotations=str(ann),
        offsets=OFFSETS,
        shifts_per_clip=1,
        margin_s=0.2,
        seed=0,
        media_cache_dir=str(media_cache),
        progress=False,
        command="thud build --source local --data-dir tests/data/real ...",
    )
    return out, report


def test_build_reports_what_it_built_and_skipped(real_build):
    out, report = real_build
    skipped = {s.clip_id: s for s in report.skipped}
    assert set(skipped) == {"missing_clip", "bunny_hit2"}
    # the local source's reason, with file and line
    assert skipped["missing_clip"].origin == "annotations.jsonl:7"
    assert "file 'missing_clip.mp4': not found" in skipped["missing_clip"].reason
    # the planner's reason: too short for the offsets with the margin
    assert skipped["bunny_hit2"].origin == "annotations.jsonl:2"
    assert "no shift offset" in skipped["bunny_hit2"].reason
    assert report.clips_used == 5
    assert report.rows["probes"] == {"original": 9, "shift": 3, "mute": 3, "swap": 3}
    assert report.rows["clips"] == {"train": 2, "test": 3}
    for f in ("README.md", "build_report.json"):
        assert (out / f).is_file()


def _decode(data: bytes) -> tuple[np.ndarray, int]:
    """Mono float64 samples of the first audio stream of an in-memory file (PyAV)."""
    with av.open(io.BytesIO(data)) as c:
        stream = c.streams.audio[0]
        sr = stream.codec_context.sample_rate
        # same rate, mono double: a format change only, sample positions are kept
        resampler = av.AudioResampler(format="dbl", layout="mono", rate=sr)
        chunks = [
            out.to_ndarray().reshape(-1)
            for frame in c.decode(stream)
            for out in resampler.resample(frame)
        ]
        chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    return np.concatenate(chunks), sr


def _decode_ffmpeg(data: bytes, tmp_path, sr: int) -> np.ndarray:
    """The same with the ffmpeg CLI: an independent decoder and demuxer."""
    src = tmp_path / "probe.bin"
    src.write_bytes(data)
    raw = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(src),
            "-map",
            "0:a:0",
            "-ac",
            "1",
            "-ar",
            str(sr),
            "-f",
            "f64le",
            "-",
        ],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(raw, dtype="<f8")


def test_shift_outputs_move_the_event_by_tau(real_build, tmp_path):
    from datasets import load_dataset

    out, _ = real_build
    # a fresh cache: datasets keys its cache of a local folder on the card, not the files
    cache = str(tmp_path / "hf-cache")
    shift = load_dataset(str(out), "probes", split="shift", cache_dir=cache)
    original = load_dataset(str(out), "probes", split="original", cache_dir=cache)
    by_pair = {r["pair_id"]: r for r in original}
    assert sorted(shift["clip_id"]) == [
        "bunny_hit1",
        "openmpf__openmpf__video_01",
        "openmpf__openmpf__video_02",
    ]
    containers = set()
    for probe in shift:
        tau = probe["offset_s"]
        assert tau in OFFSETS
        assert probe["label"] == ("delayed" if tau > 0 else "early")
        assert probe["edited_audio_time"] == pytest.approx(probe["audio_time"] + tau, abs=1e-6)
        ref = by_pair[probe["pair_id"]]  # the original probe: same decode → encode path
        assert ref["condition"] == "original" and ref["dimension"] == "sync"
        a, sr = _decode(ref["video"]["bytes"])
        b, sr_b = _decode(probe["video"]["bytes"])
        assert sr == sr_b == 44100
        assert len(a) == len(b)  # the clip keeps its length
        lag = measure_lag(a, b, sr, max_lag_s=len(a) / sr)
        assert abs(lag - round(tau * sr)) <= 0.001 * sr, (probe["clip_id"], tau, lag / sr)
        containers.add(probe["video"]["path"].rsplit(".", 1)[-1])
        if shutil.which("ffmpeg"):
            fa = _decode_ffmpeg(ref["video"]["bytes"], tmp_path, sr)
            fb = _decode_ffmpeg(probe["video"]["bytes"], tmp_path, sr)
            assert abs(measure_lag(fa, fb, sr, max_lag_s=len(fa) / sr) - round(tau * sr)) <= 0.001 * sr
    # every probe is an mp4, the webm's too (its VP8 video transcoded once to H.264)
    assert containers == {"mp4"}


def test_card_of_the_real_build(real_build):
    from huggingface_hub import DatasetCard

    out, _ = real_build
    card = DatasetCard.load(out / "README.md")
    assert sorted(card.data.license) == ["cc-by-2.0", "cc-by-3.0"]
    names = [c["config_name"] for c in card.data.configs]
    assert names == ["probes", "preferences", "clips"]
    text = card.text
    for attribution in LICENSES.values():
        assert attribution in text  # every source keeps its attribution
    assert "missing_clip" in text and "bunny_hit2" in text  # skips are explained
    assert "-0.8 s, +0.3 s, +0.8 s" in text  # offsets
    assert "@misc{wen2026thud" in text


def test_real_build_round_trips_and_plans_its_upload(real_build):
    from thud_dataset.hub.push import push_dataset

    out, _ = real_build
    result = push_dataset(out, "thud-org/thud-real", dry_run=True)
    assert result.counts == {
        "probes": {"original": 9, "shift": 3, "mute": 3, "swap": 3},
        "preferences": {"train": 12},
        "clips": {"test": 3, "train": 2},
    }
    sent = [op.path_in_repo for op in result.plan.operations]
    assert sent[-1] == "README.md" and "build_report.json" in sent
    assert sorted(p for p in sent if p.endswith(".parquet")) == sorted(
        p.relative_to(out).as_posix() for p in (out / "data").rglob("*.parquet")
    )
