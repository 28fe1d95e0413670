"""``thud score`` on a tiny built dataset, and the predictions readers it uses."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from thud_cli.main import main
from thud_metrics.predictions import (
    READERS,
    PredictionReader,
    PredictionSet,
    read_predictions,
    register_reader,
)

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def runs(tiny_dataset, helpers, tmp_path_factory):
    """Two prediction files on the tiny dataset: a listener and an always-'synced' model."""
    root, probes = tiny_dataset
    d = tmp_path_factory.mktemp("runs")
    listener = helpers.write_predictions(d / "listener.jsonl", probes["probe_id"], helpers.perfect_answers(probes))
    prior = helpers.write_predictions(
        d / "prior.jsonl",
        probes["probe_id"],
        ["Yes, the sound is synchronized."] * len(probes["probe_id"]),
        meta={"model": "always-synced", "audio_check": {"verdict": "does_not_reach", "reason": "0/3 canaries heard"}},
    )
    return root, probes, listener, prior, d


def _score(capsys, *argv) -> tuple[int, str, str]:
    code = main(["score", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_score_two_models_side_by_side(runs, capsys, tmp_path):
    root, probes, listener, prior, _ = runs
    out_dir = tmp_path / "scores"
    code, out, err = _score(
        capsys, listener, prior, "--dataset", root, "--out-dir", out_dir, "--n-resamples", "100",
        "--cache-dir", tmp_path / "cache",
    )  # fmt: skip
    assert code == 0, err
    table = out.split("\n\n")[1]
    assert "Avg Gap" in table and "Pair accuracy" in table
    listener_row = next(line for line in table.splitlines() if line.startswith("listener"))
    prior_row = next(line for line in table.splitlines() if line.startswith("always-synced"))
    assert listener_row.split()[1:8] == ["100.0"] * 6 + ["0.0"]  # six accuracies, then avg gap 0
    assert prior_row.split()[1:8] == ["100.0", "0.0"] * 3 + ["100.0"]  # avg gap 100
    assert "audio path check: does_not_reach: 0/3 canaries heard" in out
    assert "WARNING: the audio never reached the model" in out
    assert "always-synced vs listener: avg pair accuracy -100.0 pts" in out

    results = json.loads((out_dir / "results.json").read_text())
    models = results["models"]
    assert set(models) == {"listener", "always-synced"}
    assert models["always-synced"]["avg_gap"] == 1.0 and models["listener"]["avg_pair_accuracy"] == 1.0
    assert models["always-synced"]["rates"]["wrong_direction"] is None  # NaN is written as null
    assert models["always-synced"]["run"]["meta"]["model"] == "always-synced"
    assert models["listener"]["counts"]["probes"] == len(probes["probe_id"])
    assert "always-synced vs listener" in results["comparisons"]
    for name in ("error_rates_radar.png", "prediction_decomposition.png", "accuracy_by_offset.png"):
        assert (out_dir / name).read_bytes()[:8] == PNG


def test_default_out_dir_is_next_to_the_predictions(runs, capsys, tmp_path):
    root, _, listener, _, d = runs
    code, out, err = _score(capsys, listener, "--dataset", root, "--n-resamples", "0", "--no-plots",
                            "--cache-dir", tmp_path / "cache")  # fmt: skip
    assert code == 0, err
    assert (d / "listener_score" / "results.json").is_file()
    assert not list((d / "listener_score").glob("*.png"))


def test_missing_probes_fail_unless_allowed(runs, helpers, capsys, tmp_path):
    root, probes, *_ = runs
    partial = helpers.write_predictions(tmp_path / "partial.jsonl", probes["probe_id"][:-3], ["A"] * (len(probes["probe_id"]) - 3))
    code, _, err = _score(capsys, partial, "--dataset", root, "--n-resamples", "0", "--no-plots", "--cache-dir", tmp_path / "c")
    assert code == 2
    assert f"3 of the dataset's {len(probes['probe_id'])} probes have no prediction" in err and "--allow-missing" in err
    code, out, err = _score(capsys, partial, "--dataset", root, "--n-resamples", "0", "--no-plots",
                            "--allow-missing", "--cache-dir", tmp_path / "c")  # fmt: skip
    assert code == 0, err
    assert "3 missing probes scored as unknown" in out
    saved = json.loads((tmp_path / "partial_score" / "results.json").read_text())["models"]["partial"]
    assert saved["counts"]["unknown"] == 3 and saved["run"]["missing_probes_scored_unknown"] == 3


def test_unknown_probe_ids_are_an_error(runs, helpers, capsys, tmp_path):
    root, probes, *_ = runs
    bad = helpers.write_predictions(tmp_path / "other.jsonl", [*probes["probe_id"], "not-a-probe"], ["A"] * (len(probes["probe_id"]) + 1))
    code, _, err = _score(capsys, bad, "--dataset", root, "--no-plots", "--cache-dir", tmp_path / "c")
    assert code == 2
    assert "1 probe ids are not in the dataset (first: 'not-a-probe' on line" in err


def test_bad_bands_and_missing_dataset(runs, capsys, tmp_path):
    root, _, listener, *_ = runs
    code, _, err = _score(capsys, listener, "--dataset", root, "--bands", "0,half,1")
    assert code == 2 and "--bands must be comma-separated numbers" in err
    code, _, err = _score(capsys, listener, "--dataset", tmp_path / "nowhere", "--cache-dir", tmp_path / "c")
    assert code == 2 and "nowhere" in err


@pytest.mark.parametrize(("fmt", "ext"), [("markdown", "md"), ("latex", "tex"), ("csv", "csv"), ("json", "json")])
def test_a_format_prints_the_table_alone_and_writes_it(runs, capsys, tmp_path, fmt, ext):
    root, _, listener, prior, _ = runs
    out_dir = tmp_path / "scores"
    code, out, err = _score(capsys, listener, prior, "--dataset", root, "--out-dir", out_dir, "--n-resamples", "50",
                            "--no-plots", "--format", fmt, "--cache-dir", tmp_path / "cache")  # fmt: skip
    assert code == 0, err
    assert out == (out_dir / f"table.{ext}").read_text()  # stdout is the table, nothing else
    assert "WARNING: the audio never reached the model" in err and f"results: {out_dir / 'results.json'}" in err
    saved = json.loads((out_dir / "results.json").read_text())
    if fmt == "csv":
        rows = {(r["model"], r["metric"]): r for r in csv.DictReader(io.StringIO(out))}
        assert float(rows[("always-synced", "avg_gap")]["value"]) == saved["models"]["always-synced"]["avg_gap"]
        assert [float(rows[("listener", "avg_pair_accuracy")][k]) for k in ("ci_low", "ci_high")] == \
            saved["models"]["listener"]["ci"]["avg_pair_accuracy"]
        assert (out_dir / "comparisons.csv").read_text().splitlines()[0].startswith("comparison,metric,a,b,diff")
    elif fmt == "json":
        table = json.loads(out)
        assert table["models"]["listener"]["avg_gap"]["value"] == saved["models"]["listener"]["avg_gap"]
        assert table["comparisons"]["always-synced vs listener"]["avg_pair_accuracy"]["p"] == "p < 1/50"
    else:
        assert "p < 1/50" in out  # no resample beats a difference of 100 points: never "p = 0"


def test_quiet_prints_the_table_and_warnings_only(runs, capsys, tmp_path):
    import datasets

    root, _, listener, prior, _ = runs
    before = datasets.is_progress_bar_enabled()
    datasets.enable_progress_bars()  # as in a fresh process (a build in this session may have turned them off)
    try:
        code, out, err = _score(capsys, listener, prior, "--dataset", root, "--out-dir", tmp_path / "s",
                                "--n-resamples", "20", "--no-plots", "--quiet", "--cache-dir", tmp_path / "fresh-cache")  # fmt: skip
        assert code == 0
        assert err == ""  # a fresh datasets cache prints "Generating ... split" bars unless quiet
        lines = out.splitlines()
        assert len(lines) == 5 and lines[1].startswith("model") and lines[2].startswith("listener")
        assert lines[4] == "always-synced: WARNING: the audio never reached the model; these scores measure the serving path"
        assert datasets.is_progress_bar_enabled()  # restored after the command
        code, _, err = _score(capsys, listener, "--dataset", root, "--out-dir", tmp_path / "t", "--n-resamples", "0",
                              "--no-plots", "--cache-dir", tmp_path / "another-cache")  # fmt: skip
        assert code == 0 and "Generating original split" in err
    finally:
        if not before:
            datasets.disable_progress_bars()


# -- predictions readers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"probe_id": "a", "answer": "A"}\n{"probe_id": "a", "answer": "B"}\n', r":2: probe_id 'a' appears twice \(first on line 1\)"),
        ('{"probe_id": "a", "answer": "A"}\n{not json\n', r":2: not valid JSON"),
        ('{"probe_id": "a", "answer": "A"}\n{"_meta": {}}\n', r":2: a \{\"_meta\": ...\} line may only be the first line"),
        ('{"probe_id": "a", "answer": 3}\n', r":1: \"answer\" must be a string or null"),
        ('{"probe_id": "a"}\n{"answer": "B"}\n', r":2: each line needs a string \"probe_id\""),
        ('{"_meta": {"model": "m"}}\n', r"no predictions in the file"),
        ("id,answer\np1,B\n", r"not a predictions file this version can read \(formats: thud-jsonl"),
        ("\n\n", r"the predictions file is empty"),
    ],
)
def test_reader_errors_name_the_file_and_line(tmp_path, text, message):
    path = tmp_path / "p.jsonl"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_predictions(path)


def test_reader_keeps_failed_calls_and_meta(tmp_path):
    path = tmp_path / "run.jsonl"
    path.write_text('{"_meta": {"model": "m1"}}\n\n{"probe_id": "a", "answer": null, "error": "timeout"}\n{"probe_id": "b", "answer": "B", "error": null}\n')
    ps = read_predictions(path)
    assert (ps.name, ps.format, ps.answers, ps.errors, ps.lines) == (
        "m1", "thud-jsonl", {"a": None, "b": "B"}, {"a": "timeout"}, {"a": 3, "b": 4},
    )  # fmt: skip
    with pytest.raises(FileNotFoundError):
        read_predictions(tmp_path / "absent.jsonl")


def test_a_new_format_is_dispatched_by_content(tmp_path, monkeypatch):
    monkeypatch.setattr("thud_metrics.predictions.READERS", list(READERS))

    def read_tsv(path: Path) -> PredictionSet:
        rows = [line.split("\t") for line in path.read_text().splitlines()[1:]]
        return PredictionSet(path=path, format="tsv", answers={pid: ans for pid, ans in rows})

    register_reader(PredictionReader("tsv", lambda head: head[0].startswith("probe_id\tanswer"), read_tsv))
    path = tmp_path / "run.tsv"
    path.write_text("probe_id\tanswer\np1\tB\n")
    assert read_predictions(path).answers == {"p1": "B"}
    with pytest.raises(ValueError, match="already registered"):
        register_reader(PredictionReader("tsv", lambda head: False, read_tsv))
