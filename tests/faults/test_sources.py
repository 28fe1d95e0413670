"""Damaged and unusual sources never end a build: each clip is built or skipped with its reason."""

from __future__ import annotations

import io
import json

import av
import numpy as np
import pytest

from tests.helpers.faults import damaged_sources, judge, run_build
from thud_dataset.verify import measure_lag


def _build(root, media_cache, folder, *args):
    out = root / "out"
    res = run_build(out, media_cache, "--source", "local", "--data-dir", str(folder), "--configs", "probes,clips", *args)
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr[-3000:]
    assert judge(out, None).state == "new"
    return out, json.loads((out / "build_report.json").read_text())


def _decode(data: bytes) -> tuple[np.ndarray, int]:
    with av.open(io.BytesIO(data)) as c:
        s = c.streams.audio[0]
        chunks = [f.to_ndarray().mean(axis=0) for f in c.decode(s)]
        return np.concatenate(chunks), s.codec_context.sample_rate


def _probes(out, split: str) -> list[dict]:
    import pyarrow.parquet as pq

    return [r for f in sorted((out / "data" / "probes").glob(f"{split}-*.parquet")) for r in pq.read_table(f).to_pylist()]


@pytest.fixture(scope="module")
def damaged_build(tmp_path_factory, real_clips_dir, media_cache):
    """``damaged_build(kind)``: the corpus with one damaged source (see
    :func:`~tests.helpers.faults.damaged_sources`), built once per kind: ``(out, report)``."""
    built = {}

    def get(kind: str):
        if kind not in built:
            root = tmp_path_factory.mktemp(kind)
            built[kind] = _build(root, media_cache, damaged_sources(root / "corpus", kind, real_clips_dir))
        return built[kind]

    return get


@pytest.fixture
def dtsless_build(damaged_build):
    return damaged_build("dtsless")


def test_a_source_without_dts_never_ends_the_build(dtsless_build):
    _, report = dtsless_build
    used = {p["clip_id"] for p in report["plan"]}
    skipped = {s["clip_id"]: s["reason"] for s in report["skipped"]}
    assert "obs" in used or "obs" in skipped
    assert used >= {"s0", "s1"}


def test_a_source_without_dts_builds_with_an_exact_shift(dtsless_build):
    out, report = dtsless_build
    assert "obs" in {p["clip_id"] for p in report["plan"]}, report["skipped"]
    original = next(r for r in _probes(out, "original") if r["clip_id"] == "obs" and r["dimension"] == "sync")
    shift = next(r for r in _probes(out, "shift") if r["clip_id"] == "obs")
    a, sr = _decode(original["video"]["bytes"])
    b, _ = _decode(shift["video"]["bytes"])
    tau = shift["offset_s"]
    assert abs(measure_lag(a, b, sr, max_lag_s=2.0) - round(tau * sr)) <= sr // 1000


@pytest.fixture
def truncated_build(damaged_build):
    return damaged_build("truncated")


def test_a_truncated_source_never_ends_the_build(truncated_build):
    _, report = truncated_build
    skipped = {s["clip_id"]: s["reason"] for s in report["skipped"]}
    assert "cut_late" in skipped  # its event lies past the end of what decodes
    used = {p["clip_id"] for p in report["plan"]}
    assert {"s0", "s1"} <= used
    assert all(p["donor_clip_id"] in used for p in report["plan"])  # no skipped clip donates


def test_a_truncated_source_is_judged_by_its_decoded_length(truncated_build):
    out, report = truncated_build
    skipped = {s["clip_id"]: s["reason"] for s in report["skipped"]}
    assert "decod" in skipped["cut_late"]  # the reason names the decoded length
    for r in _probes(out, "shift"):
        x, sr = _decode(r["video"]["bytes"])
        assert r["edited_audio_time"] <= len(x) / sr - 0.2, r["clip_id"]  # the label holds
