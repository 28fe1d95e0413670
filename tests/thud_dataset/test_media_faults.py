"""Damaged media and impossible labels are clip errors that name the file — never a wrong
gold label, never a raw ``av.error`` or ``OverflowError`` traceback (issue 13).

* An mp4 truncated after its index (the ``moov`` at the front survives) still claims its
  full length in the header; the scan measures what really decodes and rejects the file,
  naming the decoded length — whether the cut lands between packets (the demuxer simply
  stops) or inside one (the decoder fails).
* A file that breaks while it is materialized, or a broken donor, is a ``ClipError``.
* A planned shift that moves the event out of the *decoded* audio is refused.
* Event times too large for a float are errors about the row.
"""

from __future__ import annotations

import re
import shutil

import av
import pytest

from tests.helpers.media import MP3, MP4, MP4_LONG, write_jsonl
from thud_dataset.materialize import MediaCache, materialize_clip, scan_clip
from thud_dataset.planning import ClipPlan
from thud_dataset.sources.base import Clip, ClipError

#: fractions of MP4_LONG's bytes kept: the cut falls between packets / inside a packet
CUTS = {"between-packets": 0.27, "inside-a-packet": 0.5}
DECODED = re.compile(r"\d+\.\d{3} s")


@pytest.fixture(scope="module")
def truncated(real_clips_dir, tmp_path_factory):
    """``{cut: path}``: MP4_LONG (17.4 s) cut short; its index (at the front) survives."""
    folder = tmp_path_factory.mktemp("cuts")
    data = (real_clips_dir / MP4_LONG).read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")  # the index is before the media data
    paths = {}
    for name, fraction in CUTS.items():
        paths[name] = folder / f"{name}.mp4"
        paths[name].write_bytes(data[: int(len(data) * fraction)])
    return paths


def _clip(path, visual=1.0, audio=1.0, clip_id="c", **kw) -> Clip:
    return Clip(clip_id, str(path), "seen", visual, "heard", audio, source="local", **kw)


@pytest.mark.parametrize("cut", list(CUTS))
@pytest.mark.parametrize("event", [3.8, 13.2], ids=["event-in-what-survives", "event-in-what-is-lost"])
def test_a_truncated_mp4_is_rejected_naming_its_decoded_length(truncated, cut, event, tmp_path):
    path = truncated[cut]
    with av.open(str(path)) as c:  # the header still claims the whole clip
        assert c.duration / av.time_base > 17
    for scan in (scan_clip, MediaCache(tmp_path).scan):
        with pytest.raises(ClipError) as err:
            scan(_clip(path, event, event))
        message = str(err.value)
        assert str(path) in message and "truncated or damaged" in message, message
        decoded = [float(m[:-2]) for m in DECODED.findall(message)]
        assert decoded and min(decoded) < 10, message  # the decoded length, not the header's


def test_a_truncated_mp4_is_skipped_by_the_build_with_the_reason(truncated, real_clips_dir, tmp_path):
    from thud_dataset.builder import ThudConfig, prepare

    folder = tmp_path / "corpus"
    folder.mkdir()
    for name in (MP4, MP3):
        shutil.copy(real_clips_dir / name, folder / name)
    shutil.copy(truncated["between-packets"], folder / "cut.mp4")
    row = {"visual_event": "seen", "audio_event": "heard"}
    write_jsonl(folder / "annotations.jsonl", [
        {**row, "file": MP4, "visual_time": 2.1, "audio_time": 2.3, "split": "test"},
        {**row, "file": MP3, "visual_time": 0.8, "audio_time": 1.0, "split": "test"},
        {**row, "file": "cut.mp4", "visual_time": 3.6, "audio_time": 3.8, "split": "test"},
    ])
    config = ThudConfig(name="probes", source="local", data_dir=str(folder), media_cache_dir=str(tmp_path / "cache"))
    prepared = prepare(config, progress=False)
    assert sorted(prepared.clips) == ["Zulko__moviepy__example3", "openmpf__openmpf__video_01"]
    (skip,) = [s for s in prepared.skipped if s.clip_id == "cut"]
    assert "truncated" in skip.reason and "decodes to only 4.0" in skip.reason, skip.reason


def test_labels_are_checked_against_the_decoded_audio_and_video(real_clips_dir):
    # 3.042 s of decoded audio, video to 3.036 s: an event at 3.04 s is past the picture
    with pytest.raises(ClipError, match=r"audio_time=3.04 s is not before the end of the clip .*decoded audio"):
        scan_clip(_clip(real_clips_dir / MP4, 1.0, 3.04))
    with pytest.raises(ClipError, match="visual_time=3.04 s"):
        scan_clip(_clip(real_clips_dir / MP4, 3.04, 1.0))
    scan = scan_clip(_clip(real_clips_dir / MP4, 3.0, 3.0))
    assert scan.audio_duration == pytest.approx(3.0418, abs=1e-4)
    assert scan.video_duration == pytest.approx(3.0364, abs=1e-4) == scan.duration


def test_a_shift_out_of_the_decoded_audio_is_refused(real_clips_dir, tmp_path):
    clip, donor = _clip(real_clips_dir / MP4, 2.1, 2.3), _clip(real_clips_dir / MP3, 0.8, 1.0, clip_id="d")
    with pytest.raises(ClipError, match=r"audio event shifted by \+1\.2 s at 3\.500 s is outside the decoded audio \(0 to 3\.04"):
        materialize_clip(clip, ClipPlan("c", "test", 1.2, "d"), donor, tmp_path)
    assert not list(tmp_path.iterdir())  # nothing written for a refused clip


def test_media_that_breaks_while_materializing_is_a_clip_error_naming_it(truncated, real_clips_dir, tmp_path):
    good = _clip(real_clips_dir / MP4, 2.1, 2.3)
    broken = truncated["inside-a-packet"]
    # the clip's own file
    with pytest.raises(ClipError) as err:
        materialize_clip(_clip(broken, 3.6, 3.8), ClipPlan("c", "test", -0.5, "d"), _clip(real_clips_dir / MP3, clip_id="d"), tmp_path)
    assert str(broken) in str(err.value) and "cannot be read after" in str(err.value)
    assert not isinstance(err.value, av.error.FFmpegError)
    # its donor's
    with pytest.raises(ClipError, match=rf"its swap donor d: {re.escape(str(broken))}: .*cannot be read after"):
        materialize_clip(good, ClipPlan("c", "test", -0.5, "d"), _clip(broken, 3.6, 3.8, clip_id="d"), tmp_path)
    # a file that is not media at all
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x00\x00\x18ftypisom" + b"garbage" * 100)
    with pytest.raises(ClipError, match="junk.mp4"):
        materialize_clip(_clip(junk), ClipPlan("c", "test", 0.5, "d"), _clip(real_clips_dir / MP3, clip_id="d"), tmp_path)


@pytest.mark.parametrize("value", [10**400, float("inf"), float("nan"), -1.0], ids=["401-digits", "inf", "nan", "negative"])
def test_event_times_no_float_can_hold_are_clip_errors(real_clips_dir, tmp_path, value):
    clip = _clip(real_clips_dir / MP4, 2.1, 2.3)
    # a row that got past its source's checks (a Clip made elsewhere, or changed after)
    object.__setattr__(clip, "visual_time", value)
    donor = _clip(real_clips_dir / MP3, 0.8, 1.0, clip_id="d")
    for call in (
        lambda: scan_clip(clip),
        lambda: MediaCache(tmp_path / "cache").scan(clip),
        lambda: materialize_clip(clip, ClipPlan("c", "test", -0.5, "d"), donor, tmp_path / "out"),
    ):
        with pytest.raises(ClipError, match="visual_time"):
            call()
