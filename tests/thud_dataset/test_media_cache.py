"""A cache that cannot lie (issue 13): what the media cache, the scan cache and
``video_file`` serve is what their names and keys say, or it is made again.

* A content-addressed object that was truncated or altered is found (its hash is checked
  on first use in a process, then its size and mtime), removed, remade and reported once.
* A half-written or foreign JSON entry (index, scan) is rebuilt, with a warning naming it.
* Keys hold the event times: an annotation fix is never served the old swap file or the
  old ``edited_audio_time`` (issue 20).
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import pytest

from tests.helpers.containers import write_source
from tests.helpers.media import MP3, MP4
from thud_dataset import cache_files, media
from thud_dataset.materialize import ClipScan, EncodeSettings, MediaCache, conform
from thud_dataset.planning import ClipPlan
from thud_dataset.sources.base import Clip, ClipError
from thud_dataset.verify import measure_lag
from thud_dataset.video_files import video_file

PLAN = ClipPlan("c", "test", -0.8, "d")
SETTINGS = EncodeSettings()


def _clip(path, visual, audio, clip_id="c") -> Clip:
    return Clip(clip_id, str(path), "seen", visual, "heard", audio, source="local")


@pytest.fixture
def setup(real_clips_dir, tmp_path):
    cache = MediaCache(tmp_path / "cache")
    clip, donor = _clip(real_clips_dir / MP4, 2.1, 2.3), _clip(real_clips_dir / MP3, 0.8, 1.0, "d")
    return cache, clip, donor


def _sha_name(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:24]


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("damage", ["truncated", "same-size-new-process"])
def test_a_corrupt_object_is_removed_remade_and_reported_once(setup, caplog, damage):
    cache, clip, donor = setup
    outputs = cache.get_or_make(clip, PLAN, donor, SETTINGS)
    target = cache.path(outputs["shift/0"].file_name)
    good = target.read_bytes()
    if damage == "truncated":
        target.write_bytes(good[:20000])
    else:  # the same size and mtime, another byte: found by the hash a new process computes
        st = target.stat()
        target.write_bytes(good[:-1] + bytes([good[-1] ^ 0xFF]))
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
        cache_files._verified.clear()
    caplog.set_level(logging.WARNING)
    again = cache.get_or_make(clip, PLAN, donor, SETTINGS)
    assert again == outputs
    assert target.read_bytes() == good and _sha_name(target) == target.name[:24]
    (warning,) = _warnings(caplog)
    assert str(target) in warning and "corrupt" in warning
    caplog.clear()
    cache.get_or_make(clip, PLAN, donor, SETTINGS)
    assert _warnings(caplog) == []  # reported once


def test_read_serves_only_bytes_that_match_their_name(setup):
    cache, clip, donor = setup
    outputs = cache.get_or_make(clip, PLAN, donor, SETTINGS)
    name = outputs["mute"].file_name
    assert hashlib.sha256(cache.read(name)).hexdigest()[:24] == name[:24]
    data = cache.path(name).read_bytes()
    cache.path(name).write_bytes(data[: len(data) // 2])
    with pytest.raises(media.MediaError, match=rf"{name}: the cached media file is missing or corrupt"):
        cache.read(name)
    assert not cache.path(name).exists()  # removed: the next get_or_make remakes it
    assert cache.get_or_make(clip, PLAN, donor, SETTINGS) == outputs
    assert cache.read(name) == data


@pytest.mark.parametrize("content", [b'{"original": {"condition": "orig', b"[1, 2]", b"\xff\xfe"], ids=["half-written", "foreign", "not-utf8"])
def test_an_unreadable_index_entry_is_rebuilt_naming_the_file(setup, caplog, content):
    cache, clip, donor = setup
    outputs = cache.get_or_make(clip, PLAN, donor, SETTINGS)
    (index,) = cache.index.glob("*.json")
    index.write_bytes(content)
    caplog.set_level(logging.WARNING)
    assert cache.get_or_make(clip, PLAN, donor, SETTINGS) == outputs
    (warning,) = _warnings(caplog)
    assert str(index) in warning
    assert index.read_bytes().startswith(b"{") and b'"shift/0"' in index.read_bytes()


@pytest.mark.parametrize("content", [b'{"scan": {"clip_id": "c", "dur', b'"a string"', b'{"scan": {"nope": 1}}'], ids=["half-written", "foreign", "old-fields"])
def test_an_unreadable_scan_entry_is_rebuilt_naming_the_file(setup, caplog, content):
    cache, clip, _ = setup
    scan = cache.scan(clip)
    assert isinstance(scan, ClipScan) and scan.clip_id == "c"
    (entry,) = cache.scans.glob("*.json")
    entry.write_bytes(content)
    caplog.set_level(logging.WARNING)
    assert cache.scan(clip) == scan
    (warning,) = _warnings(caplog)
    assert str(entry) in warning


def test_the_scan_cache_is_keyed_by_the_event_times(setup):
    cache, clip, _ = setup
    late = _clip(clip.path, 2.1, 3.5)  # after the end: an error, remembered for this row only
    with pytest.raises(ClipError, match="audio_time=3.5"):
        cache.scan(late)
    with pytest.raises(ClipError, match="audio_time=3.5"):
        cache.scan(late)  # served from the cache
    assert cache.scan(_clip(clip.path, 2.1, 2.3)).duration > 3  # the fixed row is scanned anew
    missing = _clip(clip.path.replace(".mp4", "-gone.mp4"), 1.0, 1.0)
    with pytest.raises(ClipError, match="-gone.mp4"):
        cache.scan(missing)


def test_an_annotation_fix_is_never_served_the_old_files(real_clips_dir, tmp_path):
    """visual_time 2.3 → 1.5 (and audio_time 2.3 → 2.0): the swap is made again with the
    donor's event at the new visual time; the shift reports the new edited time."""
    donor_path = write_source(tmp_path / "donor.mkv", fmt="matroska", vcodec="mpeg4", acodec="aac", seconds=2.0, event_time=0.7)
    donor = _clip(donor_path, 0.5, 0.7, "d")
    cache = MediaCache(tmp_path / "cache")
    before = _clip(real_clips_dir / MP4, 2.3, 2.3)
    after = _clip(real_clips_dir / MP4, 1.5, 2.0)  # the same file, the labels fixed
    old = cache.get_or_make(before, PLAN, donor, SETTINGS)
    new = cache.get_or_make(after, PLAN, donor, SETTINGS)
    assert new["swap"].file_name != old["swap"].file_name
    assert new["swap"].edited_audio_time == 1.5
    assert new["shift/0"].edited_audio_time == pytest.approx(2.0 - 0.8)
    # decoded: the donor's event sits at the new visual time
    swapped = media.decode_audio(cache.path(new["swap"].file_name))
    d = media.decode_audio(donor_path)
    reference = conform(d.samples, d.sample_rate, swapped.sample_rate, swapped.samples.shape[0])
    lag = measure_lag(reference, swapped.samples, swapped.sample_rate, max_lag_s=3.0)
    assert abs(lag / swapped.sample_rate - (1.5 - 0.7)) <= 0.001


def test_video_file_rewrites_a_damaged_copy_and_names_it_by_content(tmp_path, real_clips_dir, caplog):
    data = (real_clips_dir / MP4).read_bytes()
    row = {"bytes": data, "path": "shift_clip.mp4"}  # a name that tells the condition
    path = video_file(row, tmp_path)
    assert os.path.basename(path) == hashlib.sha256(data).hexdigest()[:24] + ".mp4"
    with open(path, "r+b") as f:  # truncated, as a killed writer would leave it
        f.truncate(1000)
    caplog.set_level(logging.WARNING)
    assert video_file(row, tmp_path) == path and Path(path).read_bytes() == data
    assert any(path in w for w in _warnings(caplog))
    # the same size, another byte, in a new process: found by the hash
    st = os.stat(path)
    with open(path, "r+b") as f:
        f.seek(500)
        f.write(b"\x00" if data[500] else b"\x01")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    cache_files._verified.clear()
    assert video_file(row, tmp_path) == path and Path(path).read_bytes() == data


def test_writes_leave_no_partial_files(tmp_path):
    target = tmp_path / "sub" / "x.json"
    cache_files.write_json(target, {"a": 1})
    with pytest.raises(TypeError):
        cache_files.atomic_write(tmp_path / "sub" / "y.bin", object())  # fails mid-write
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["x.json"]
