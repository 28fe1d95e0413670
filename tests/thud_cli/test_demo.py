"""``thud demo``: build, run both baselines, score them side by side, write the plots and the report."""

from __future__ import annotations

import json
import re

from thud_cli.main import main as thud_main


def test_demo_end_to_end(tmp_path, media_cache, capsys):
    out = tmp_path / "thud"
    code = thud_main(["demo", "--out", str(out), "--num-clips", "6", "--n-resamples", "50", "--cache-dir", str(media_cache)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "Thud build" in printed
    table = printed[printed.index("Avg Gap") :]
    prior_row = next(line for line in table.splitlines() if line.startswith("prior "))
    signal_row = next(line for line in table.splitlines() if line.startswith("signal "))
    assert prior_row.split()[7] == "100.0"  # the prior's avg gap: the Clever-Hans ceiling
    assert signal_row.split()[1:5] == ["100.0", "100.0", "100.0", "100.0"]  # sync + existence

    results = json.loads((out / "scores" / "results.json").read_text())["models"]
    assert results["prior"]["avg_gap"] == 1.0 and results["prior"]["avg_pair_accuracy"] == 0.0
    assert results["signal"]["pair_accuracy"]["existence"] == 1.0
    assert results["signal"]["run"]["meta"]["audio_check"]["verdict"] == "reaches"
    assert results["prior"]["run"]["meta"]["audio_check"]["verdict"] == "does_not_reach"
    # the probes keep the paper's digital silence: the silence cue tells every shift's direction
    assert results["silence_cue"]["accuracy"]["sync"]["shift"] == 1.0
    from thud_metrics.plots import PLOT_FILES

    for name in PLOT_FILES:
        assert (out / "scores" / name).stat().st_size > 0
    assert re.search(r"signal vs prior: avg pair accuracy \+\d+\.\d pts \(95% CI .+, p (< 1/50|= [\d.e-]+)\)", printed)
    # the report (browser-tested in test_report.py, on a demo run of its own)
    report = out / "report"
    assert f"report:      {report / 'index.html'}" in printed
    assert json.loads((report / "results.json").read_text())["models"].keys() == {"prior", "signal", "silence_cue"}
    assert len(list((report / "media").glob("*.mp4"))) > 0
    for spec in ("prior", "signal", "silence_cue"):
        assert (out / "predictions" / f"{spec}.jsonl").is_file()
        assert str(out / "predictions" / f"{spec}.jsonl") in printed
