"""CLI manners: `thud --version`, `thud env`, a help text on every option of every command,
and the metric folder `thud export-metric` / `thud build` write."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from importlib import metadata

import pytest

from thud_cli.main import build_parser, main
from thud_metrics.thud_gap_export import is_export


def _options_without_help(parser: argparse.ArgumentParser, path: str) -> list[str]:
    """``"thud CMD --opt"`` for every argument (options and positionals) of ``parser`` and
    its sub-commands, at any depth, that has no help text."""
    missing = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                missing += _options_without_help(sub, f"{path} {name}")
        elif isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            continue
        elif not (action.help or "").strip():
            missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")
    return missing


def test_every_option_of_every_command_has_a_help_text():
    assert _options_without_help(build_parser(), "thud") == []


def test_the_help_walker_finds_an_option_without_help():
    parser = argparse.ArgumentParser(prog="thud")
    sub = parser.add_subparsers()
    deep = sub.add_parser("train").add_subparsers().add_parser("sft")
    deep.add_argument("--config", help="the recipe")
    deep.add_argument("--steps", type=int)
    assert _options_without_help(parser, "thud") == ["thud train sft --steps"]


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"thud {metadata.version('thud')}"


def test_env_names_what_a_bug_report_needs(capsys):
    assert main(["env"]) == 0
    text = capsys.readouterr().out
    for label in ("Thud", "Python", "datasets", "evaluate", "huggingface_hub", "PyAV", "ffmpeg CLI", "torch", "transformers", "TRL"):
        assert f"- {label}: " in text, label
    assert f"- datasets: {metadata.version('datasets')}" in text
    assert "FFmpeg" in text and "libavcodec" in text  # the libraries PyAV was built with
    assert main(["env", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["evaluate"] == metadata.version("evaluate") and info["Thud"].startswith(metadata.version("thud"))


def test_env_imports_no_torch():
    code = "import sys; from thud_cli.main import main; main(['env']); assert 'torch' not in sys.modules"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_export_metric_writes_a_self_contained_folder_and_keeps_foreign_ones(tmp_path, capsys):
    out = tmp_path / "thud_gap"
    assert main(["export-metric", str(out)]) == 0
    printed = capsys.readouterr().out
    assert is_export(out) and f"evaluate.load({str(out)!r})" in printed and "needs only" in printed
    assert main(["export-metric", str(out)]) == 0 and "(unchanged)" in capsys.readouterr().out
    foreign = tmp_path / "other"
    foreign.mkdir()
    (foreign / "other.py").write_text("x = 1\n")
    assert main(["export-metric", str(foreign)]) == 1
    assert "was not written by `thud export-metric`" in capsys.readouterr().err
    assert (foreign / "other.py").read_text() == "x = 1\n"


def test_build_writes_the_metric_next_to_the_dataset(tmp_path, media_cache, capsys):
    args = ["--num-clips", "4", "--seed", "1", "--cache-dir", str(media_cache)]
    assert main(["build", "--out", str(tmp_path / "a" / "thud"), *args]) == 0
    assert is_export(tmp_path / "a" / "thud_gap")
    assert "metric:" in capsys.readouterr().out
    mine = tmp_path / "b" / "thud_gap"  # a folder of that name Thud did not write: kept
    mine.mkdir(parents=True)
    (mine / "notes.md").write_text("mine\n")
    assert main(["build", "--out", str(tmp_path / "b" / "thud"), *args]) == 0
    assert "metric:      not written" in capsys.readouterr().err
    assert [p.name for p in mine.iterdir()] == ["notes.md"]
