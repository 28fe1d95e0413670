"""Reading VLMEvalKit prediction files: what is read, and every bad file named with its row."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from thud_metrics.predictions import read_predictions
from thud_metrics.predictions.vlmevalkit import FAIL_MARKER, tsv_rows, write_tsv


def _tsv(path: Path, header: list[str], rows: list[list]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter="\t", quoting=csv.QUOTE_ALL)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _xlsx(path: Path, header: list[str], rows: list[list]) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    for line in [header, *rows]:
        book.active.append(line)
    book.save(path)
    return path


@pytest.mark.parametrize("write", [_tsv, _xlsx])
def test_reads_answers_failures_and_multiline_text(tmp_path, write):
    header = ["index", "question", "probe_id", "prediction"]
    rows = [[0, "q", "p1", "B"], [1, "q", "p2", f"{FAIL_MARKER} via API."],
            [2, "q", "p3", "The sound is late.\nAnswer: C"], [3, "q", "p4", None]]  # fmt: skip
    ext = ".tsv" if write is _tsv else ".xlsx"
    pset = read_predictions(write(tmp_path / f"model_Thud{ext}", header, rows))
    assert pset.format == "vlmevalkit" and pset.name == "model_Thud"
    assert pset.answers == {"p1": "B", "p2": None, "p3": "The sound is late.\nAnswer: C", "p4": None}
    assert pset.errors == {"p2": f"{FAIL_MARKER} via API.", "p4": "empty prediction"}
    assert pset.lines == {"p1": 2, "p2": 3, "p3": 4, "p4": 5}


@pytest.mark.parametrize("write", [_tsv, _xlsx])
def test_bad_files_are_named_with_their_row(tmp_path, write):
    ext = ".tsv" if write is _tsv else ".xlsx"
    no_id = write(tmp_path / f"a{ext}", ["index", "prediction"], [[0, "A"]])
    with pytest.raises(ValueError, match=r"no 'probe_id' column.*thud export"):
        read_predictions(no_id)
    twice = write(tmp_path / f"b{ext}", ["index", "probe_id", "prediction"], [[0, "p1", "A"], [1, "p1", "B"]])
    with pytest.raises(ValueError, match=r"b\.\w+:3: probe_id 'p1' appears twice \(first on row 2\)"):
        read_predictions(twice)
    blank = write(tmp_path / f"c{ext}", ["index", "probe_id", "prediction"], [[0, "p1", "A"], [1, None, "B"]])
    with pytest.raises(ValueError, match=r"c\.\w+:3: a row without a probe_id"):
        read_predictions(blank)
    empty = write(tmp_path / f"d{ext}", ["index", "probe_id", "prediction"], [])
    with pytest.raises(ValueError, match="no predictions"):
        read_predictions(empty)


def test_damaged_xlsx_and_binary_files(tmp_path):
    bad = tmp_path / "m_Thud.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(ValueError, match=r"m_Thud\.xlsx: not a readable \.xlsx file"):
        read_predictions(bad)
    binary = tmp_path / "m.bin"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ValueError, match=r"not UTF-8 text.*\.xlsx"):
        read_predictions(binary)


def test_tsv_rows_check_each_probe(tmp_path):
    probe = {"probe_id": "p1", "pair_id": "a", "clip_id": "c", "dimension": "existence",
             "condition": "mute", "offset_s": 0.0, "label": "silent", "choices": ["synced", "silent"],
             "prompt": "Can you hear it?\n(A) Yes: heard.\n(B) No: silent.\nAnswer with a letter.",
             "video": {"path": "0f3a.mp4"}}  # fmt: skip
    (row,) = tsv_rows([probe])
    assert row["answer"] == "B" and row["candidates"] == "['(A) Yes: heard.', '(B) No: silent.']"
    path = write_tsv([row], tmp_path / "T.tsv")
    assert read_predictions(_tsv(tmp_path / "p.tsv", [*row, "prediction"], [[*row.values(), "B"]])).answers == {"p1": "B"}
    assert path.read_text().count("\n") == 5  # header + one row whose question spans 4 lines
    with pytest.raises(ValueError, match="probe 'p1': the prompt lists 1 options, its choices 2"):
        tsv_rows([dict(probe, prompt="Can you hear it?\n(A) Yes.")])
    with pytest.raises(ValueError, match="probe 'p1': gold label 'early' is not one of its choices"):
        tsv_rows([dict(probe, label="early")])
