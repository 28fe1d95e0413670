"""The output folder belongs to Thud: refused where a build would lose files, replaced whole."""

from __future__ import annotations

import fcntl
import json
import os
import stat

import pytest

from tests.helpers.faults import judge, leftovers, tree_digest
from tests.helpers.media import row, write_jsonl
from thud_cli.main import main
from thud_dataset.sources.synthetic import render_clip

ARGS = ["--num-clips", "8", "--quiet"]


@pytest.fixture
def cli(media_cache, capsys):
    """``thud build ARGS...`` in this process: ``(exit code, stdout, stderr)``."""

    def run(*args):
        code = main(["build", "--cache-dir", str(media_cache), *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture
def built(tmp_path, cli):
    """A complete build in ``tmp_path/thud`` and the digest of every file in it."""
    out = tmp_path / "thud"
    code, _, err = cli("--out", str(out), *ARGS)
    assert code == 0, err
    return out, tree_digest(out)


def _corpus(folder):
    folder.mkdir(parents=True)
    rows = []
    for i in range(4):
        c = render_clip(i, 0, folder / f"clip{i}.mp4")
        rows.append(row(f"clip{i}.mp4", visual_time=c.visual_time, audio_time=c.audio_time,
                        category=c.category, split="test" if i < 2 else "train"))
    write_jsonl(folder / "annotations.jsonl", rows)
    (folder / "README.md").write_text("my corpus\n")
    return folder


def _one_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_out_equal_to_inside_or_holding_the_sources_is_refused(tmp_path, cli):
    data = _corpus(tmp_path / "corpus")
    before = tree_digest(tmp_path)
    for out in (data, data / "thud", tmp_path):
        code, _, err = cli("--source", "local", "--data-dir", str(data), "--out", str(out), "--overwrite")
        assert code == 2
        assert "source folder" in _one_line(err)
    assert tree_digest(tmp_path) == before  # videos and the user's README untouched


def test_a_folder_that_is_not_a_thud_build_is_refused_unless_overwrite(tmp_path, cli):
    out = tmp_path / "mine"
    (out / "data" / "clips").mkdir(parents=True)
    (out / "data" / "clips" / "a.mp4").write_bytes(b"my video")
    (out / "README.md").write_text("my notes\n")
    (out / "notes.txt").write_text("keep me\n")
    before = tree_digest(out)
    code, _, err = cli("--out", str(out), *ARGS)
    assert code == 2
    line = _one_line(err)
    assert "not a Thud build" in line and "--overwrite" in line and "notes.txt" in line
    assert tree_digest(out) == before and not any(tmp_path.glob(".mine.thud-staging-*"))
    # with --overwrite: README.md and data/ are the build's, everything else is kept
    code, printed, err = cli("--out", str(out), *ARGS, "--overwrite")
    assert code == 0, err
    assert judge(out, None).state == "new"
    assert (out / "notes.txt").read_text() == "keep me\n" and not (out / "data" / "clips" / "a.mp4").exists()
    assert "kept from the folder's previous content: notes.txt" in printed


def test_a_rebuild_keeps_what_the_folder_holds_besides_the_build(built, cli):
    out, _ = built
    (out / "predictions").mkdir()
    (out / "predictions" / "prior.jsonl").write_text("{}\n")
    (out / "scores").mkdir()
    (out / "scores" / "results.json").write_text("{}\n")
    code, printed, err = cli("--out", str(out), *ARGS, "--seed", "5")
    assert code == 0, err
    assert (out / "predictions" / "prior.jsonl").read_text() == "{}\n"
    assert (out / "scores" / "results.json").read_text() == "{}\n"
    report = json.loads((out / "build_report.json").read_text())
    assert report["kept"] == ["predictions/", "scores/"] and report["settings"]["seed"] == 5
    assert stat.S_IMODE(out.stat().st_mode) & 0o055 == 0o055  # not a private staging folder


def test_a_rebuild_where_every_row_is_bad_keeps_the_previous_build(tmp_path, built, cli):
    out, before = built
    data = tmp_path / "bad"
    data.mkdir()
    write_jsonl(data / "annotations.jsonl", [row("missing.mp4"), '{"broken'])
    (data / "junk.mp4").write_bytes(b"not a video")
    code, printed, err = cli("--source", "local", "--data-dir", str(data), "--out", str(out))
    assert code == 1
    assert "nothing written" in err and "no clip could be used" in err
    assert "annotations.jsonl:1" in printed and "annotations.jsonl:2" in printed  # the reasons
    assert tree_digest(out) == before and leftovers(out) == []


def test_test_fraction_zero_exits_non_zero_and_says_why(built, cli):
    out, before = built
    code, _, err = cli("--out", str(out), *ARGS, "--test-fraction", "0")
    assert code == 1
    assert "no probe" in err and "--test-fraction 0" in err
    assert tree_digest(out) == before


def test_asked_for_preferences_without_a_train_clip_exit_non_zero(tmp_path, cli):
    out = tmp_path / "thud"
    code, _, err = cli("--out", str(tmp_path / "new" / "thud"), *ARGS, "--test-fraction", "1", "--configs", "probes,preferences")
    assert code == 1 and "no preference row" in err
    assert not (tmp_path / "new").exists()  # a failed build leaves no folder behind
    # not asked for: an evaluation-only build, the empty split reported
    code, printed, err = cli("--out", str(out), *ARGS, "--test-fraction", "1")
    assert code == 0, err
    assert "preferences/train" in printed


def test_a_build_that_crashes_midway_keeps_the_previous_build(built, cli, monkeypatch):
    from thud_dataset.hub import layout

    out, before = built
    original, calls = layout.write_shard, []

    def crash(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("planted crash")
        return original(*args, **kwargs)

    monkeypatch.setattr(layout, "write_shard", crash)
    with pytest.raises(RuntimeError, match="planted crash"):
        cli("--out", str(out), *ARGS, "--seed", "9")
    assert tree_digest(out) == before and leftovers(out) == []
    monkeypatch.undo()
    code, _, err = cli("--out", str(out), *ARGS, "--seed", "9")  # the lock was released
    assert code == 0, err


def test_a_second_build_into_the_same_folder_stops_at_once(built, cli):
    out, before = built
    fd = os.open(out.parent / ".thud.thud-lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.pwrite(fd, b"4242\n", 0)
        code, _, err = cli("--out", str(out), *ARGS)
    finally:
        os.close(fd)
    assert code == 75
    assert "another thud build (pid 4242) is writing" in _one_line(err)
    assert tree_digest(out) == before


def test_out_or_cache_that_is_a_file_is_one_clear_line(tmp_path, cli, monkeypatch):
    target = tmp_path / "thud"
    target.write_text("a file\n")
    code, _, err = cli("--out", str(target), *ARGS)
    assert code == 2 and "is a file, not a folder" in _one_line(err)
    assert target.read_text() == "a file\n"
    cache = tmp_path / "cache-file"
    cache.write_text("x")
    monkeypatch.setenv("THUD_CACHE", str(cache))
    code = main(["build", "--out", str(tmp_path / "new"), *ARGS])
    assert code == 2 and not (tmp_path / "new").exists()


def test_the_current_folder_cannot_be_the_output(tmp_path, cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli("--out", ".", *ARGS)
    assert code == 2 and "current folder" in _one_line(err)


def test_an_annotations_file_with_a_byte_order_mark_builds(tmp_path, cli):
    data = _corpus(tmp_path / "corpus")
    ann = data / "annotations.jsonl"
    ann.write_bytes(b"\xef\xbb\xbf" + ann.read_bytes())
    out = tmp_path / "thud"
    code, printed, err = cli("--source", "local", "--data-dir", str(data), "--out", str(out))
    assert code == 0, err
    assert "clips skipped: 0" in printed
    assert json.loads((out / "build_report.json").read_text())["rows"]["probes"]["shift"] == 4  # 2 test clips, 2 shifts each
