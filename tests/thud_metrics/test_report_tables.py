"""Every export format of the score table carries the numbers of ``results.json``: each
format is parsed back here and compared with the JSON file the same run wrote."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from tests.helpers.probes import make_probes
from tests.helpers.scoring import lopsided_answers
from tests.helpers.scoring import prediction_set as _set
from thud_metrics.report import save_scores, score_predictions
from thud_metrics.tables import FORMATS, comparisons_csv, format_p_value, render, table_columns

NAMES = ("prior_1%", "lop|sided & co")  # characters each format must escape


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    probes = make_probes(60, seed=4)
    sets = [_set(NAMES[0], probes, ["synced"] * len(probes["probe_id"])), _set(NAMES[1], probes, lopsided_answers(probes, 2))]
    scored = score_predictions(probes, sets, dataset="tiny", n_resamples=200, seed=1)
    out = tmp_path_factory.mktemp("scores")
    save_scores(scored, out, plots=False)
    return scored, json.loads((out / "results.json").read_text())


def _lookup(tree: dict, key: str):
    for part in key.split("."):
        tree = tree[part]
    return tree


def _expected(results_json: dict) -> dict[str, dict[str, tuple]]:
    """{model: {column key: (value, [lo, hi] or None)}} from results.json."""
    models = results_json["models"]
    out = {}
    for name, r in models.items():
        out[name] = {c.key: (_lookup(r, c.key), _lookup(r["ci"], c.key)) for c in table_columns(models)}
    return out


def _pct(v):
    return None if v is None else round(100 * v, 1)


_NUM = r"-?\d+\.\d"
_CELL = re.compile(rf"^(?P<v>{_NUM}|-|–|--)(?:\s*(?:\{{\\scriptsize\s*)?\[(?P<lo>{_NUM}), (?P<hi>{_NUM})\]\}}?)?$")


def _parse_cell(text: str) -> tuple:
    m = _CELL.match(text.strip())
    assert m, f"cannot read the cell {text!r}"
    v = None if m["v"] in ("-", "–", "--") else float(m["v"])
    ci = None if m["lo"] is None else [float(m["lo"]), float(m["hi"])]
    return v, ci


def _check_rounded(parsed: dict, results_json: dict) -> None:
    expected = _expected(results_json)
    assert list(parsed) == list(expected)
    for name, cells in expected.items():
        assert list(parsed[name]) == list(cells)
        for key, (value, ci) in cells.items():
            v, got_ci = parsed[name][key]
            assert v == _pct(value), (name, key)
            if got_ci is not None or ci is not None:
                assert got_ci == [_pct(ci[0]), _pct(ci[1])], (name, key)


def test_markdown_round_trips(saved):
    scored, results_json = saved
    text = render(scored.results, scored.comparisons, "markdown")
    table, comparisons = text.split("\n\n")
    lines = table.splitlines()
    keys = [c.key for c in table_columns(scored.results)]
    parsed = {}
    for line in lines[2:]:
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        parsed[cells[0].replace("\\|", "|")] = dict(zip(keys, map(_parse_cell, cells[1:]), strict=True))
    _check_rounded(parsed, results_json)
    rows = comparisons.splitlines()[2:]
    comp = results_json["comparisons"][f"{NAMES[1]} vs {NAMES[0]}"]["paired_bootstrap"]
    first = [c.strip() for c in re.split(r"(?<!\\)\|", rows[0])[1:-1]]
    assert first[1] == "avg gap" and float(first[4]) == _pct(comp["avg_gap"]["diff"])
    assert first[6] == format_p_value(comp["avg_gap"]["p_value"], 200)


def test_latex_round_trips(saved):
    scored, results_json = saved
    text = render(scored.results, scored.comparisons, "latex")
    keys = [c.key for c in table_columns(scored.results)]
    body = text.split(r"\midrule")[1].split(r"\bottomrule")[0]
    parsed = {}
    for line in body.strip().splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)&", line.rstrip().removesuffix(r"\\"))]
        name = cells[0].replace(r"\_", "_").replace(r"\%", "%").replace(r"\&", "&")
        parsed[name] = dict(zip(keys, map(_parse_cell, cells[1:]), strict=True))
    _check_rounded(parsed, results_json)
    assert text.count(r"\begin{tabular}") == 2 and r"\toprule" in text
    assert "prior\\_1\\%" in text and "lop|sided \\& co" in text


def test_text_round_trips(saved):
    scored, results_json = saved
    text = render(scored.results, scored.comparisons, "text")
    cols = table_columns(scored.results)
    parsed = {}
    for line in text.splitlines()[2:4]:
        name = next(n for n in NAMES if line.startswith(n))
        tokens = re.findall(rf"\[{_NUM}, {_NUM}\]|{_NUM}|(?<=\s)-(?=\s|$)", line[len(name):])
        cells = {}
        for c in cols:
            cells[c.key] = (_parse_cell(tokens.pop(0))[0], None)
            if c.key == "avg_gap":  # the text table shows the avg gap's interval only
                cells[c.key] = (cells[c.key][0], _parse_cell("0.0 " + tokens.pop(0))[1])
        assert tokens == []
        parsed[name] = cells
    expected = _expected(results_json)
    for name, cells in expected.items():
        for key, (value, _) in cells.items():
            assert parsed[name][key][0] == _pct(value), (name, key)
        assert parsed[name]["avg_gap"][1] == [_pct(v) for v in cells["avg_gap"][1]]
    assert "avg pair accuracy" in text.splitlines()[-1] and "p < 1/200" in text


def test_csv_carries_the_exact_numbers(saved):
    scored, results_json = saved
    rows = list(csv.DictReader(io.StringIO(render(scored.results, scored.comparisons, "csv"))))
    expected = _expected(results_json)
    assert len(rows) == sum(len(v) for v in expected.values())
    for row in rows:
        value, ci = expected[row["model"]][row["metric"]]
        got = None if row["value"] == "" else float(row["value"])
        assert got == value
        assert [float(row["ci_low"]), float(row["ci_high"])] == ci
    comp = list(csv.DictReader(io.StringIO(comparisons_csv(scored.comparisons))))
    saved_comp = results_json["comparisons"][f"{NAMES[1]} vs {NAMES[0]}"]["paired_bootstrap"]
    assert {r["metric"] for r in comp} == set(saved_comp)
    for r in comp:
        assert float(r["diff"]) == saved_comp[r["metric"]]["diff"]
        assert float(r["p_value"]) == saved_comp[r["metric"]]["p_value"]


def test_json_carries_the_exact_numbers(saved):
    scored, results_json = saved
    payload = json.loads(render(scored.results, scored.comparisons, "json"))
    expected = _expected(results_json)
    for name, cells in expected.items():
        for key, (value, ci) in cells.items():
            assert payload["models"][name][key] == {"value": value, "ci": ci}
    comp = payload["comparisons"][f"{NAMES[1]} vs {NAMES[0]}"]["avg_pair_accuracy"]
    saved_row = results_json["comparisons"][f"{NAMES[1]} vs {NAMES[0]}"]["paired_bootstrap"]["avg_pair_accuracy"]
    assert (comp["diff"], comp["ci"], comp["p_value"]) == (saved_row["diff"], saved_row["ci"], saved_row["p_value"])
    assert comp["p"] == "p < 1/200"  # the lopsided model beats the prior on every resample


def test_p_values_and_bad_formats(saved):
    scored, _ = saved
    assert format_p_value(0.0, 1000) == "p < 1/1000"
    assert format_p_value(0.0) == "p = 0"  # an exact test's p (no resamples) is printed as it is
    assert format_p_value(float("nan"), 10) == "p = n/a"
    assert format_p_value(0.5, 10) == "p = 0.5"
    with pytest.raises(ValueError, match="unknown table format 'html'"):
        render(scored.results, {}, "html")
    with pytest.raises(ValueError, match="no results"):
        render({}, {}, "csv")
    assert set(FORMATS) == {"text", "markdown", "latex", "csv", "json"}


def test_save_scores_writes_the_table_of_the_format(saved, tmp_path):
    scored, _ = saved
    for fmt, names in (("csv", ["table.csv", "comparisons.csv"]), ("latex", ["table.tex"]), ("markdown", ["table.md"])):
        paths = save_scores(scored, tmp_path / fmt, plots=False, fmt=fmt)
        assert [p.name for p in paths["tables"]] == names
        assert paths["tables"][0].read_text() == render(scored.results, scored.comparisons, fmt)
