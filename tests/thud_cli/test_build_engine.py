"""``thud build --engine``: the options' rules, checked before anything is created (no Ray
needed; the Ray builds themselves: tests/thud_dataset/hub/test_ray_engine.py)."""

from __future__ import annotations

import sys

from thud_cli.build import recorded_command
from thud_cli.main import main


def test_without_ray_the_engine_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails, as where it is not installed
    out = tmp_path / "thud"
    assert main(["build", "--engine", "ray", "--out", str(out), "--num-clips", "2", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and 'pip install "thud[ray]"' in err, err
    assert not out.exists() and not list(tmp_path.iterdir())  # nothing created


def test_ray_address_needs_the_ray_engine(tmp_path, capsys):
    assert main(["build", "--ray-address", "auto", "--out", str(tmp_path / "thud")]) == 2
    assert "--ray-address is for --engine ray" in capsys.readouterr().err
    assert not (tmp_path / "thud").exists()


def test_the_card_records_the_command_without_the_engine_options():
    assert recorded_command(["--engine", "ray", "--num-clips", "8", "--ray-address=ray://h:10001", "--out", "a b"]) == (
        "thud build --num-clips 8 --out 'a b'"
    )
    assert recorded_command(["--engine=local", "--ray-address", "auto"]) == "thud build"
