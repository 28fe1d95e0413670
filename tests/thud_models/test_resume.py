"""The predictions file's rules, which resuming relies on (issue 20).

Read with the file's own reader, written by hand here: a probe id twice is an error naming
both lines; a half-written last line is what a kill leaves (resuming ignores it, scoring
reads it only when it is complete JSON); ``_meta`` only first; an answer of null keeps
its error; an empty file is refused unless a run asks for it.
"""

from __future__ import annotations

import json

import pytest

from thud_metrics.predictions.thud_jsonl import (
    append_line,
    is_thud_jsonl,
    read_thud_jsonl,
    write_thud_jsonl,
)


def _write(path, *lines, end="\n"):
    path.write_text("\n".join(lines) + end)
    return path


META = json.dumps({"_meta": {"model": "m", "dataset": "d"}})


def _row(pid, answer="A", error=None):
    return json.dumps({"probe_id": pid, "answer": answer, "error": error, "seconds": 0.1})


def test_a_probe_id_twice_names_both_lines(tmp_path):
    f = _write(tmp_path / "r.jsonl", META, _row("p1"), _row("p2"), _row("p1", "B"))
    with pytest.raises(ValueError, match=r"r\.jsonl:4: probe_id 'p1' appears twice \(first on line 2\)"):
        read_thud_jsonl(f)


def test_a_half_written_last_line_is_left_for_the_resume(tmp_path):
    f = _write(tmp_path / "r.jsonl", META, _row("p1"), '{"probe_id": "p2", "answ', end="")
    ps = read_thud_jsonl(f, partial_ok=True)
    assert ps.answers == {"p1": "A"} and ps.meta == {"model": "m", "dataset": "d"}
    with pytest.raises(ValueError, match=r"r\.jsonl:3"):
        read_thud_jsonl(f)  # scoring: an incomplete line is an error naming it
    # a complete last line without its newline is read by both
    g = _write(tmp_path / "g.jsonl", META, _row("p1"), _row("p2"), end="")
    assert set(read_thud_jsonl(g).answers) == {"p1", "p2"}
    assert set(read_thud_jsonl(g, partial_ok=True).answers) == {"p1"}


def test_failed_calls_are_null_answers_with_their_error(tmp_path):
    f = _write(tmp_path / "r.jsonl", META, _row("p1"), _row("p2", None, "TimeoutError: slow"))
    ps = read_thud_jsonl(f)
    assert ps.answers == {"p1": "A", "p2": None}
    assert ps.errors == {"p2": "TimeoutError: slow"}
    assert ps.lines == {"p1": 2, "p2": 3} and ps.rows["p2"]["seconds"] == 0.1


def test_meta_only_first_and_answers_checked(tmp_path):
    with pytest.raises(ValueError, match=r"r\.jsonl:3: a \{\"_meta\": \.\.\.\} line may only be the first line"):
        read_thud_jsonl(_write(tmp_path / "r.jsonl", META, _row("p1"), META))
    with pytest.raises(ValueError, match=r"may only be the first line"):
        read_thud_jsonl(_write(tmp_path / "r.jsonl", META, META))
    with pytest.raises(ValueError, match=r"r\.jsonl:1: _meta must be an object"):
        read_thud_jsonl(_write(tmp_path / "r.jsonl", json.dumps({"_meta": "m"}), _row("p1")))
    with pytest.raises(ValueError, match=r"r\.jsonl:2: each line needs a string \"probe_id\"; got 3"):
        read_thud_jsonl(_write(tmp_path / "r.jsonl", META, json.dumps({"probe_id": 3, "answer": "A"})))
    with pytest.raises(ValueError, match=r"needs a string \"probe_id\"; got ''"):
        read_thud_jsonl(_write(tmp_path / "r.jsonl", json.dumps({"probe_id": "", "answer": "A"})))
    with pytest.raises(ValueError, match=r"r\.jsonl:1: \"answer\" must be a string or null; got 7"):
        read_thud_jsonl(_write(tmp_path / "r.jsonl", json.dumps({"probe_id": "p", "answer": 7})))


def test_an_empty_run_file_only_when_asked(tmp_path):
    only_meta = _write(tmp_path / "r.jsonl", META)
    with pytest.raises(ValueError, match=r"r\.jsonl: no predictions in the file"):
        read_thud_jsonl(only_meta)
    ps = read_thud_jsonl(only_meta, allow_empty=True)
    assert ps.answers == {} and ps.meta["model"] == "m"
    empty = tmp_path / "e.jsonl"
    empty.write_text("")
    assert read_thud_jsonl(empty, partial_ok=True, allow_empty=True).answers == {}


def test_written_files_read_back_and_appended_lines_are_whole(tmp_path):
    f = tmp_path / "w.jsonl"
    rows = [{"probe_id": "p1", "answer": "早", "error": None}, {"probe_id": "p2", "answer": None, "error": "x"}]
    write_thud_jsonl(f, {"model": "m"}, rows)
    with f.open("a", encoding="utf-8") as fh:
        append_line(fh, {"probe_id": "p3", "answer": "C", "error": None})
    text = f.read_text(encoding="utf-8")
    assert text.endswith("\n") and "早" in text  # one line per row, unescaped
    ps = read_thud_jsonl(f)
    assert ps.meta == {"model": "m"} and ps.answers == {"p1": "早", "p2": None, "p3": "C"}
    write_thud_jsonl(f, None, rows[:1])
    assert read_thud_jsonl(f).meta in (None, {}) and list(read_thud_jsonl(f).answers) == ["p1"]


def test_the_format_is_recognised_by_its_first_line():
    assert is_thud_jsonl([META])
    assert is_thud_jsonl([_row("p1")])
    assert not is_thud_jsonl([json.dumps({"question_id": 1})])
    assert not is_thud_jsonl(["not json"]) and not is_thud_jsonl([]) and not is_thud_jsonl(["[1, 2]"])
