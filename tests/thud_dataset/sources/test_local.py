"""The local-folder source: good rows become clips, every kind of bad row its own reason."""

from __future__ import annotations

import pytest

from tests.helpers.media import MP4, WEBM, row, write_jsonl
from thud_dataset.sources import ClipError, Skipped, get_clips
from thud_dataset.sources.local import load_clips


def test_good_rows_become_clips(media_dir, tmp_path):
    ann = write_jsonl(
        tmp_path / "annotations.jsonl",
        [
            row(
                MP4,
                visual_time=2.3,
                audio_time=2.35,
                category="crowd",
                split="test",
                license="CC BY 2.0, Copyright 2012 Aaron Tang",
                annotator_notes="loud",
            ),
            "",  # blank lines are ignored but still counted
            row(WEBM, clip_id="bunny", visual_time=0.49, audio_time=0.49),
        ],
    )
    clips, skipped = load_clips(media_dir, ann, report_unannotated=False)
    assert skipped == []
    assert [c.clip_id for c in clips] == ["openmpf__openmpf__video_01", "bunny"]
    a, b = clips
    assert (a.visual_time, a.audio_time, a.category, a.split) == (2.3, 2.35, "crowd", "test")
    assert a.license.startswith("CC BY 2.0")
    assert a.source == "local" and a.origin == "annotations.jsonl:1"
    assert a.path == str(media_dir / MP4)
    assert a.extra["annotator_notes"] == "loud"
    assert a.extra["duration_s"] == pytest.approx(3.0, abs=0.05)
    assert b.origin == "annotations.jsonl:3"  # physical line numbers, blank line included
    assert b.extra["duration_s"] == pytest.approx(1.0, abs=0.01)  # the webm reads too


# (bad row or line, text the reason must contain, clip id the skip names)
BAD_ROWS = {
    "missing file": (row("nope.mp4"), "file 'nope.mp4': not found", "nope"),
    "unreadable video": (
        row("broken.mp4"),
        "file 'broken.mp4': cannot be read as a video",
        "broken",
    ),
    "no audio stream": (
        row("silent_film.mp4"),
        "file 'silent_film.mp4': no audio stream",
        "silent_film",
    ),
    "no video stream": (
        row("only_sound.m4a"),
        "file 'only_sound.m4a': no video stream",
        "only_sound",
    ),
    "time after the end": (
        row(MP4, clip_id="late", audio_time=7.5),
        "audio_time 7.5 s is outside the clip [0, 3.",
        "late",
    ),
    "negative time": (
        row(MP4, clip_id="neg", visual_time=-0.5),
        "visual_time is -0.5 s; event times cannot be negative",
        "neg",
    ),
    # json.dumps writes NaN / Infinity literals, which Python's json reads back
    "NaN time": (row(MP4, clip_id="nan", visual_time=float("nan")), "visual_time is NaN", "nan"),
    "infinite time": (row(MP4, clip_id="inf", audio_time=float("inf")), "audio_time is inf", "inf"),
    "time as text": (
        row(MP4, clip_id="txt", audio_time="1.2"),
        "audio_time must be a number of seconds, got '1.2'",
        "txt",
    ),
    "time as bool": (
        row(MP4, clip_id="bool", visual_time=True),
        "visual_time must be a number of seconds, got True",
        "bool",
    ),
    "duplicate id": (
        row(WEBM, clip_id="first"),
        "duplicate clip_id 'first' (first used at annotations.jsonl:1)",
        "first",
    ),
    "broken JSON": ('{"file": "a.mp4", "visual_time": 1.0', "not valid JSON", "?"),
    "not an object": ('["a.mp4", 1.0]', "expected a JSON object, got list", "?"),
    "missing key": (
        {k: v for k, v in row(MP4, clip_id="nokey").items() if k != "audio_time"},
        "missing required key(s) audio_time",
        "nokey",
    ),
    "empty event text": (
        row(MP4, clip_id="empty", visual_event="  "),
        "visual_event must be a non-empty string",
        "empty",
    ),
    "bad split": (
        row(MP4, clip_id="split", split="validation"),
        "split must be 'train' or 'test'",
        "split",
    ),
    "clip_id not a string": (row(MP4, clip_id=7), "clip_id must be a non-empty string, got 7", "?"),
    # json reads a 401-digit integer as an int that no float can hold
    "huge number": (
        f'{{"file": "{MP4}", "clip_id": "huge", "visual_event": "v", "visual_time": {"9" * 401}, '
        '"audio_event": "a", "audio_time": 1.0}',
        "visual_time is a number of 401 digits",
        "huge",
    ),
    # beyond Python's integer-string limit the JSON line itself cannot be read
    "5000-digit number": (f'{{"file": "{MP4}", "visual_time": {"1" * 5000}}}', "not valid JSON (Exceeds the limit", "?"),
}


@pytest.mark.parametrize("kind", list(BAD_ROWS))
def test_each_bad_row_is_skipped_with_its_own_reason(kind, media_dir, tmp_path):
    bad, expected, clip_id = BAD_ROWS[kind]
    ann = write_jsonl(tmp_path / "annotations.jsonl", [row(MP4, clip_id="first"), bad])
    clips, skipped = load_clips(media_dir, ann, report_unannotated=False)
    assert [c.clip_id for c in clips] == ["first"]  # the good row survives
    assert len(skipped) == 1, skipped
    s = skipped[0]
    assert isinstance(s, Skipped)
    assert s.origin == "annotations.jsonl:2"
    assert expected in s.reason, s.reason
    assert s.clip_id == clip_id
    # no path of this machine: reasons end up in the dataset card
    assert str(media_dir) not in s.reason
    # the message names the file and line
    assert str(s).startswith("annotations.jsonl:2: ")

    # strict mode raises the same message instead of skipping
    with pytest.raises(ClipError) as info:
        load_clips(media_dir, ann, strict=True, report_unannotated=False)
    assert str(info.value) == str(s)


def test_reasons_are_distinct_per_kind():
    # every kind of problem reads differently, so a user can tell them apart
    texts = [expected for _, expected, _ in BAD_ROWS.values()]
    assert len(set(texts)) == len(texts)


def test_unannotated_videos_are_reported_not_dropped(media_dir, tmp_path):
    ann = write_jsonl(tmp_path / "ann.jsonl", [row(MP4)])
    clips, skipped = load_clips(media_dir, ann)
    assert [c.clip_id for c in clips] == ["openmpf__openmpf__video_01"]
    reported = {s.clip_id: s for s in skipped}
    # every video file no row names: the real webm and the two bad mp4s (not notes.txt)
    assert set(reported) == {"Zulko__moviepy__big_buck_bunny_432_433", "broken", "silent_film"}
    assert reported["broken"].reason == "file 'broken.mp4': video has no row in ann.jsonl"
    assert reported["broken"].origin == str(media_dir)
    # reported even when strict: an unannotated file is not a bad row
    clips2, skipped2 = load_clips(media_dir, ann, strict=True)
    assert len(clips2) == 1 and len(skipped2) == 3


def test_missing_folder_or_annotations_file_is_an_error(media_dir, tmp_path):
    with pytest.raises(ClipError, match="annotations file not found"):
        load_clips(media_dir)  # the folder has no annotations.jsonl
    with pytest.raises(ClipError, match="data folder not found"):
        load_clips(tmp_path / "nowhere", tmp_path / "x.jsonl")


def test_default_annotations_file_and_get_clips(media_dir, tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "clip.mp4").write_bytes((media_dir / MP4).read_bytes())
    write_jsonl(folder / "annotations.jsonl", [row("clip.mp4", category="crowd")])
    clips, skipped = get_clips("local", data_dir=folder, work_dir=tmp_path)
    assert [c.clip_id for c in clips] == ["clip"] and skipped == []
    assert clips[0].origin == "annotations.jsonl:1"


def test_a_byte_order_mark_is_accepted(media_dir, tmp_path):
    ann = write_jsonl(tmp_path / "annotations.jsonl", [row(MP4, clip_id="one"), row(WEBM, clip_id="two")])
    ann.write_bytes(b"\xef\xbb\xbf" + ann.read_bytes())  # what Windows editors write
    clips, skipped = load_clips(media_dir, ann, report_unannotated=False)
    assert [c.clip_id for c in clips] == ["one", "two"] and skipped == []


def test_a_line_that_is_not_utf8_is_skipped_by_its_line_number(media_dir, tmp_path):
    ann = tmp_path / "annotations.jsonl"
    good = write_jsonl(tmp_path / "good.jsonl", [row(MP4, clip_id="one"), row(WEBM, clip_id="two")]).read_bytes()
    first, second = good.splitlines(keepends=True)
    latin1 = '{"file": "x.mp4", "visual_event": "caf\xe9", "visual_time": 1, "audio_event": "a", "audio_time": 1}\n'
    ann.write_bytes(first + latin1.encode("latin-1") + second)
    clips, skipped = load_clips(media_dir, ann, report_unannotated=False)
    assert [c.clip_id for c in clips] == ["one", "two"]  # only that row is lost
    assert len(skipped) == 1 and skipped[0].origin == "annotations.jsonl:2"
    assert "not UTF-8 text (byte 0xe9" in skipped[0].reason


def test_header_reads_run_as_a_map_with_the_same_result(media_dir, tmp_path):
    """A cluster engine reads the files' headers as a map (``mapper``): the same clips and
    the same reasons, in the same order, as reading them inline."""
    from thud_dataset.builder import run_isolated

    bad = [b for b, _, _ in BAD_ROWS.values()]
    rows = [row(MP4, clip_id="first"), *bad, row(WEBM, clip_id="second"), row("broken.mp4", clip_id="junk")]
    ann = write_jsonl(tmp_path / "annotations.jsonl", rows)
    asked = []

    def mapper(fn, items, crashed, desc):
        asked.extend(items)
        return run_isolated(fn, items, 2, crashed, desc=desc, progress=False)

    inline = load_clips(media_dir, ann)
    mapped = load_clips(media_dir, ann, mapper=mapper)
    assert mapped == inline
    assert {c.clip_id for c in mapped[0]} == {"first", "second"}
    assert any(s.clip_id == "junk" and "cannot be read as a video" in s.reason for s in mapped[1])
    assert {p.name for p, _ in asked} >= {MP4, WEBM, "broken.mp4"}
