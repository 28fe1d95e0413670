"""``accelerate launch`` with two processes on the CPU (gloo): the tiny recipe trains, each
process takes its share of every batch and of the listening check, one process saves."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

for _name in ("torch", "transformers", "trl", "accelerate"):
    pytest.importorskip(_name, reason=f"{_name} is not installed (pip install -e '.[train]')")


def test_two_processes_on_the_cpu(tmp_path, train_build):
    out = tmp_path / "dpo"
    command = [
        sys.executable, "-m", "accelerate.commands.launch",
        # accelerate's torchrun launcher; with the recipe's use_cpu the two processes join a
        # gloo process group (its --cpu flag alone starts one process, or needs MPI)
        "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
        "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "0",
        "-m", "thud_cli.main", "train", "dpo", "--config", "tiny_omni", "--dataset", str(train_build),
        "--set", f"dpo.output_dir={out}", "--set", "dpo.trainer.max_steps=2",
        "--set", "dpo.trainer.per_device_train_batch_size=2", "--set", "dpo.max_samples=8",
        "--set", "eval.every_steps=2", "--set", "eval.num_clips=1", "--set", "eval.max_new_tokens=4",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.getcwd()}
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("thud train dpo: 8 rows, 2 steps") == 1  # the main process reports

    summary = json.loads((out / "thud_train.json").read_text())
    assert summary["data"]["processes"] == 2 and summary["global_step"] == 2
    losses = [h for h in summary["log_history"] if "loss" in h]
    # 2 processes x 2 pairs a step: 8 pairs are one epoch in 2 steps
    assert [h["epoch"] for h in losses] == [0.5, 1.0]
    checks = [h for h in summary["log_history"] if "thud/avg_gap" in h]
    assert [h["step"] for h in checks] == [0, 2] and all(h["thud/probes"] == 7 for h in checks)  # one clip: 3 originals, 2 shifts, mute, swap
    assert (out / "model.safetensors").is_file() and (out / "checkpoint-2").is_dir()
