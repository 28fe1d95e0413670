"""``thud export --format vlmevalkit``: the TSV VLMEvalKit's video datasets read, its media,
and VLMEvalKit's prediction files (written here in its documented layout) scored back."""

from __future__ import annotations

import ast
import csv
import hashlib
import json
from pathlib import Path

import pytest
import soundfile as sf

from thud_cli.main import main
from thud_dataset.verify import onset_time
from thud_metrics.predictions.vlmevalkit import FAIL_MARKER, TSV_COLUMNS


@pytest.fixture(scope="module")
def exported(synthetic_build, tmp_path_factory):
    out, _ = synthetic_build
    tsv = tmp_path_factory.mktemp("vlmeval") / "LMUData" / "Thud.tsv"
    assert main(["export", "--format", "vlmevalkit", str(tsv), "--dataset", str(out)]) == 0
    return out, tsv


def read_tsv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


@pytest.fixture(scope="module")
def probe_rows(synthetic_build):
    import datasets

    out, _ = synthetic_build
    ds = datasets.load_dataset(str(out), "probes", data_files={"test": "data/probes/*.parquet"})["test"]
    return {r["probe_id"]: r for r in ds}


def test_tsv_has_the_video_dataset_layout(exported, probe_rows):
    _, tsv = exported
    text = tsv.read_text(encoding="utf-8")
    assert text.splitlines()[0] == "\t".join(f'"{c}"' for c in TSV_COLUMNS)  # quoted, as VLMEvalKit writes
    rows = read_tsv(tsv)
    assert [int(r["index"]) for r in rows] == list(range(len(rows)))
    assert sorted(r["probe_id"] for r in rows) == sorted(probe_rows)
    for r in rows:
        probe = probe_rows[r["probe_id"]]
        assert r["question"] == probe["prompt"]
        options = ast.literal_eval(r["candidates"])
        assert len(options) == len(probe["choices"]) and all(o in probe["prompt"] for o in options)
        letter = "ABC"[probe["choices"].index(probe["label"])]
        assert r["answer"] == letter and options["ABC".index(letter)].startswith(f"({letter})")
        assert r["video"] == Path(probe["video"]["path"]).stem  # the opaque content-hash name
        assert r["video_path"] == f"./video/{r['video']}.mp4" and r["audio_path"] == f"./audio/{r['video']}.wav"
        for k in ("pair_id", "clip_id", "dimension", "condition", "label"):
            assert r[k] == probe[k]
        assert float(r["offset_s"]) == probe["offset_s"]


def test_media_beside_the_tsv_are_the_probes(exported, probe_rows):
    """The videos are the probe files byte for byte; the WAVs are their audio at 16 kHz with
    the shifted event where the probe has it."""
    _, tsv = exported
    for r in read_tsv(tsv):
        probe = probe_rows[r["probe_id"]]
        assert (tsv.parent / r["video_path"]).read_bytes() == probe["video"]["bytes"]
        samples, rate = sf.read(tsv.parent / r["audio_path"], dtype="float32", always_2d=True)
        assert rate == 16000
        assert abs(len(samples) / rate - probe["duration_s"]) < 0.05
        if probe["condition"] == "mute":
            assert not samples.any()
        elif probe["condition"] == "shift":
            assert onset_time(samples.T, rate) == pytest.approx(probe["edited_audio_time"], abs=0.001)


def test_export_is_deterministic(exported, tmp_path):
    out, tsv = exported
    again = tmp_path / "Thud.tsv"
    assert main(["export", "--format", "vlmevalkit", str(again), "--dataset", str(out)]) == 0
    assert again.read_bytes() == tsv.read_bytes()
    for kind in ("video", "audio"):
        assert sorted(p.name for p in (tmp_path / kind).iterdir()) == sorted(
            p.name for p in (tsv.parent / kind).iterdir()
        )


def test_export_errors(synthetic_build, tmp_path, capsys):
    out, _ = synthetic_build
    assert main(["export", "--format", "vlmevalkit", str(tmp_path / "x.csv"), "--dataset", str(out)]) == 2
    assert "must end in .tsv" in capsys.readouterr().err
    assert main(["export", "--format", "vlmevalkit", str(tmp_path / "x.tsv"), "--dataset", str(tmp_path / "none")]) == 2
    assert "cannot load the probes" in capsys.readouterr().err


# -- VLMEvalKit's prediction files -------------------------------------------------------------


def answer_for(row: dict) -> str:
    """Right on some probes, wrong on others, unreadable now and then (deterministic)."""
    h = int(hashlib.sha256(row["probe_id"].encode()).hexdigest(), 16)
    if h % 7 == 0:
        return "I cannot tell."
    if h % 2:
        return row["answer"]
    options = ast.literal_eval(row["candidates"])
    return options[(h // 2) % len(options)]  # an option line, right or wrong


def write_predictions(rows: list[dict], path: Path, answers: list[str]) -> Path:
    """A prediction file as VLMEvalKit's video inference writes it: every data column, then
    ``prediction`` (.tsv: tab-separated, every field quoted; .xlsx: one sheet, a header row)."""
    header = [*rows[0].keys(), "prediction"]
    table = [[*r.values(), a] for r, a in zip(rows, answers, strict=True)]
    if path.suffix == ".xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        sheet.append(header)
        for line in table:
            sheet.append([int(c) if h == "index" else c for h, c in zip(header, line, strict=True)])
        book.save(path)
    else:
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, delimiter="\t", quoting=csv.QUOTE_ALL)
            writer.writerow(header)
            writer.writerows(table)
    return path


def _score(path: Path, dataset: Path, out_dir: Path, capsys) -> tuple[dict, str]:
    code = main(["score", str(path), "--dataset", str(dataset), "--no-plots", "--n-resamples", "0",
                 "--out-dir", str(out_dir)])  # fmt: skip
    printed = capsys.readouterr()
    assert code == 0, printed.err
    (result,) = json.loads((out_dir / "results.json").read_text())["models"].values()
    return result, printed.out


@pytest.mark.parametrize("suffix", [".xlsx", ".tsv"])
def test_vlmevalkit_predictions_score_like_thud_jsonl(exported, tmp_path, capsys, suffix):
    out, tsv = exported
    rows = read_tsv(tsv)
    answers = [answer_for(r) for r in rows]
    answers[3] = f"{FAIL_MARKER} via API."  # a failed call, as VLMEvalKit records it
    preds = write_predictions(rows, tmp_path / f"Qwen2.5-Omni-7B_Thud{suffix}", answers)
    plain = tmp_path / "plain.jsonl"
    plain.write_text("".join(
        json.dumps({"probe_id": r["probe_id"], "answer": None if i == 3 else a, "error": "failed" if i == 3 else None}) + "\n"
        for i, (r, a) in enumerate(zip(rows, answers, strict=True))
    ))  # fmt: skip
    got, printed = _score(preds, out, tmp_path / "v", capsys)
    want, _ = _score(plain, out, tmp_path / "p", capsys)
    run, want_run = got.pop("run"), want.pop("run")
    assert got == want
    assert 0 < got["avg_pair_accuracy"] < 1 and got["unparseable_rate"] > 0
    assert run["format"] == "vlmevalkit" and run["failed_calls"] == want_run["failed_calls"] == 1
    assert "1 failed calls scored as unknown" in printed and "Qwen2.5-Omni-7B_Thud:" in printed


def test_vlmevalkit_predictions_from_another_build_are_refused(exported, tmp_path, capsys):
    out, tsv = exported
    rows = read_tsv(tsv)
    rows[5]["probe_id"] = "0123456789abcdef"
    preds = write_predictions(rows, tmp_path / "m_Thud.xlsx", [r["answer"] for r in rows])
    assert main(["score", str(preds), "--dataset", str(out), "--no-plots", "--out-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "not in the dataset" in err and "0123456789abcdef" in err and "line 7" in err
