"""``thud check-audio`` against loopback servers, through the real entry point."""

from __future__ import annotations

import json

from thud_cli.main import main


def test_check_audio_reaches(loopback, canary_dir, tmp_path, capsys):
    server = loopback(behaviour="honest")
    out = tmp_path / "check.json"
    code = main(
        ["check-audio", "--model", "openai:omni", "--base-url", server.base_url,
         "--work-dir", str(canary_dir), "--json", str(out), "--quiet"]
    )  # fmt: skip
    text = capsys.readouterr().out
    assert code == 0, text
    assert "audio reaches the model" in text and "[discriminates] presence-440hz" in text
    evidence = json.loads(out.read_text())
    assert evidence["verdict"] == "reaches" and evidence["audio_mode"] == "video"
    assert len(evidence["evidence"]) == 8


def test_check_audio_does_not_reach(loopback, canary_dir, capsys):
    server = loopback(behaviour="strip")
    code = main(
        ["check-audio", "--model", "openai:omni", "--base-url", server.base_url,
         "--audio-mode", "video+audio", "--work-dir", str(canary_dir), "--quiet"]
    )  # fmt: skip
    assert code == 1
    assert "audio does NOT reach the model" in capsys.readouterr().out
    assert all(c.parts[:2] == ["video_url", "input_audio"] for c in server.captured)


def test_check_audio_all_modes(loopback, canary_dir, capsys):
    server = loopback(behaviour="ignores_flag")
    code = main(
        ["check-audio", "--model", "openai:omni", "--base-url", server.base_url, "--all-modes",
         "--num-frames", "3", "--work-dir", str(canary_dir), "--quiet"]
    )  # fmt: skip
    text = capsys.readouterr().out
    assert code == 0
    assert "use: --audio-mode video+audio" in text
    lines = {line.split()[0]: line for line in text.splitlines()[1:4]}
    assert "does NOT reach" in lines["video"] and "audio reaches" in lines["frames+audio"]


def test_check_audio_local_baseline_and_usage_errors(canary_dir, capsys):
    assert main(["check-audio", "--model", "signal", "--work-dir", str(canary_dir), "--quiet"]) == 0
    assert "audio-path check of signal: audio reaches the model" in capsys.readouterr().out
    assert main(["check-audio", "--model", "openai:omni", "--quiet"]) == 2
    assert "--base-url" in capsys.readouterr().err
    assert main(["check-audio", "--model", "signal", "--all-modes"]) == 2


def test_run_records_the_verdict_and_score_shows_it(loopback, synthetic_build, tmp_path, capsys):
    """`thud run` checks the audio path first and stores it in _meta; `thud score` shows it."""
    out, _ = synthetic_build
    server = loopback(behaviour="strip")
    preds = tmp_path / "pred.jsonl"
    code = main(
        ["run", "--model", "openai:omni", "--base-url", server.base_url, "--dataset", str(out),
         "--out", str(preds), "--limit", "2", "--no-progress"]
    )  # fmt: skip
    assert code == 0
    meta = json.loads(preds.read_text().splitlines()[0])["_meta"]
    assert meta["audio_check"]["verdict"] == "does_not_reach"
    assert (
        meta["audio_check"]["audio_mode"] == "video" and len(meta["audio_check"]["evidence"]) == 8
    )
    capsys.readouterr()
    code = main(["score", str(preds), "--dataset", str(out), "--allow-missing", "--no-plots",
                 "--n-resamples", "0", "--out-dir", str(tmp_path / "s")])  # fmt: skip
    assert code == 0
    text = capsys.readouterr().out
    assert "audio path check: does_not_reach" in text and "only the audio changed" in text


def test_check_audio_cache_dir_holds_the_canaries(tmp_path, capsys):
    """`--cache-dir DIR` is the cache root, as in `thud run`: the canaries go to DIR/canaries."""
    assert main(["check-audio", "--model", "signal", "--cache-dir", str(tmp_path), "--quiet"]) == 0
    assert len(list((tmp_path / "canaries").glob("*/*.mp4"))) == 8  # under its version folder
    assert main(["check-audio", "--model", "signal", "--concurrency", "2", "--quiet"]) == 2
    assert "option concurrency does not apply to --model signal" in capsys.readouterr().err
