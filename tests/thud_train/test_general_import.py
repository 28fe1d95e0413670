"""The LLaVA-Hound video-DPO importer: a small file written in that format, with local videos."""

from __future__ import annotations

import json
import os

import pytest

from tests.thud_train.conftest import USABLE
from thud_train.general_data import load_general_preferences
from thud_train.general_import import GeneralImportError, import_general


def test_llava_hound_rows_become_general_pairs(llava_hound, tmp_path):
    out = tmp_path / "data" / "general_prefs.jsonl"
    report = import_general("llava-hound", llava_hound["file"], llava_hound["video_dir"], out)
    lines = llava_hound["lines"]
    assert report.written == len(USABLE) and report.videos == 3
    skipped = {reason: where for reason, where in report.skipped.items()}
    by_line = {w.split(" ")[1]: reason for reason, ws in skipped.items() for w in ws}
    assert by_line[str(lines["silent"])].startswith("no audio track")
    assert by_line[str(lines["frames"])].startswith("a folder of frames")
    assert by_line[str(lines["missing"])] == "video not found under the video folder"
    assert by_line[str(lines["broken"])].startswith("not a readable video")
    assert by_line[str(lines["same"])] == "chosen and rejected are the same text"
    assert by_line[str(lines["noprompt"])] == "missing or empty prompt"
    assert by_line[str(lines["badjson"])].startswith("not valid JSON")
    assert sum(len(w) for w in skipped.values()) == len(lines) - len(USABLE)  # nothing lost silently
    assert f"line {lines['frames']} (hound-frames)" in str(report)

    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == list(USABLE)
    for row, name in zip(rows, USABLE.values(), strict=True):
        assert not os.path.isabs(row["video"])  # relative to the output folder: they move together
        target = os.path.normpath(os.path.join(out.parent, row["video"]))
        assert os.path.splitext(target)[0].endswith(os.path.splitext(name)[0])
        assert row["prompt"].startswith("What happens") and "<video>" not in row["prompt"]
        assert row["source"] == "llava-hound" and "chosen_score" not in row

    ds = load_general_preferences(out)  # the trainer's general-data input reads it
    assert len(ds) == len(USABLE) and set(ds["origin"]) == {"general:llava-hound"}
    assert all(os.path.isfile(v["path"]) for v in ds["video"])

    again = out.parent / "again.jsonl"  # the same inputs give the same bytes
    import_general("llava-hound", llava_hound["file"], llava_hound["video_dir"], again)
    assert again.read_bytes() == out.read_bytes()


def test_options_and_refusals(llava_hound, tmp_path):
    kept = import_general(
        "llava-hound", llava_hound["file"], llava_hound["video_dir"], tmp_path / "a.jsonl",
        require_audio=False, source="sharegptvideo", task="qa",
    )
    assert kept.written == len(USABLE) + 1  # the silent video too
    ds = load_general_preferences(tmp_path / "a.jsonl")
    assert set(ds["origin"]) == {"general:sharegptvideo:qa"}

    with pytest.raises(GeneralImportError, match="unknown format 'finevideo'"):
        import_general("finevideo", llava_hound["file"], llava_hound["video_dir"], tmp_path / "b.jsonl")
    with pytest.raises(GeneralImportError, match="no such video folder"):
        import_general("llava-hound", llava_hound["file"], tmp_path / "nope", tmp_path / "b.jsonl")
    only_bad = tmp_path / "bad.jsonl"
    only_bad.write_text(json.dumps({"id": "x", "video": "v_frames", "prompt": "q", "chosen": "a", "rejected": "b"}) + "\n")
    with pytest.raises(GeneralImportError, match=r"(?s)no usable pair; nothing written.*a folder of frames.*line 1 \(x\)"):
        import_general("llava-hound", only_bad, llava_hound["video_dir"], tmp_path / "b.jsonl")
    assert not (tmp_path / "b.jsonl").exists()

    as_list = tmp_path / "list.json"  # the format's JSON-list spelling
    as_list.write_text(json.dumps([json.loads(x) for x in llava_hound["file"].read_text().splitlines()[:2]]))
    assert import_general("llava-hound", as_list, llava_hound["video_dir"], tmp_path / "c.jsonl").written == 2


def test_cli_import_general(llava_hound, tmp_path, capsys):
    from thud_cli.main import main

    out = tmp_path / "general_prefs.jsonl"
    code = main([
        "train", "import-general", str(llava_hound["file"]), "--video-dir", str(llava_hound["video_dir"]),
        "--out", str(out),
    ])
    printed = capsys.readouterr()
    assert code == 0 and out.is_file()
    assert f"{len(USABLE)} pairs (3 videos) written" in printed.out and "no audio track" in printed.out
    assert main(["train", "import-general", str(tmp_path / "none.jsonl"), "--video-dir", str(tmp_path),
                 "--out", str(out)]) == 1
    assert "no such file" in capsys.readouterr().err
