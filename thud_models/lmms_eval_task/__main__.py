"""``python -m thud_models.lmms_eval_task``: write the lmms-eval task for a dataset, or run it.

    python -m thud_models.lmms_eval_task DATASET OUT_DIR [--task NAME]
    python -m thud_models.lmms_eval_task run DATASET --out OUT [--task NAME] -- <lmms-eval arguments>

The first form writes ``OUT_DIR/NAME.yaml`` (then: ``lmms-eval --tasks NAME --include_path
OUT_DIR ...``). The second writes the task into ``OUT/task/``, runs lmms-eval with
``--tasks NAME --include_path OUT/task --output_path OUT --log_samples`` plus your arguments
(``--model``, ``--model_args``, ``--force_simple``, ``--limit`` ...), and then checks what it
wrote: lmms-eval exits 0 even when it ran nothing (a task it could not find, an error it
caught), so this command reads the samples file of the run and says what happened.

Exit status of ``run``: 0 the run wrote its samples and the audio reached the model (or the
check cannot tell: the reason is printed); 1 the canaries say the audio did **not** reach the
model; 2 nothing ran (no samples file was written), bad arguments, or lmms-eval failed.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time
from pathlib import Path

from . import TASK, write_task_config

#: lmms-eval arguments ``run`` sets itself
_OWN = ("--tasks", "--include_path", "--output_path")


def _write(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m thud_models.lmms_eval_task",
        description="Write an lmms-eval task that runs Thud's probes of DATASET (a folder `thud build` "
        "wrote, or a Hub id); then: lmms-eval --model ... --tasks TASK --include_path OUT_DIR. "
        "`python -m thud_models.lmms_eval_task run --help` runs lmms-eval for you.",
    )
    parser.add_argument("dataset", help="a built Thud folder or a Hub dataset id (org/thud)")
    parser.add_argument("out_dir", help="folder to write the task yaml into")
    parser.add_argument("--task", default=TASK, help=f"task name for --tasks (default: {TASK})")
    args = parser.parse_args(argv)
    try:
        path = write_task_config(args.dataset, args.out_dir, task=args.task)
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(
        f"wrote {path}\nrun: lmms-eval --model <model> --tasks {args.task} --include_path {path.parent}"
        " --output_path <dir> --log_samples"
    )
    return 0


def _new_samples(out: Path, task: str, since: float) -> list[Path]:
    """Samples files of ``task`` under ``out`` written at or after ``since``, newest last."""
    found = [p for p in out.rglob(f"*_samples_{task}.jsonl") if p.stat().st_mtime >= since]
    return sorted(found, key=lambda p: p.stat().st_mtime)


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m thud_models.lmms_eval_task run",
        usage="%(prog)s DATASET --out OUT [--task NAME] [--lmms-eval CMD] -- LMMS_EVAL_ARGUMENTS...",
        description="Run lmms-eval on Thud's probes of DATASET and check the run: "
        "exit 2 when nothing ran, 1 when the audio did not reach the model.",
        epilog="example: python -m thud_models.lmms_eval_task run ./thud --out lmms_out -- "
        "--model qwen2_5_omni --force_simple --model_args pretrained=Qwen/Qwen2.5-Omni-7B",
    )
    parser.add_argument("dataset", help="a built Thud folder or a Hub dataset id (org/thud)")
    parser.add_argument("--out", required=True, type=Path, help="lmms-eval's --output_path; the task goes to OUT/task/")
    parser.add_argument("--task", default=TASK, help=f"task name (default: {TASK})")
    parser.add_argument(
        "--lmms-eval",
        dest="lmms_eval",
        default=None,
        help="the lmms-eval command (default: this Python's `-m lmms_eval`)",
    )
    cut = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:cut])
    rest = argv[cut + 1 :]  # lmms-eval's own arguments, after --
    own = [a for a in rest if a.split("=", 1)[0] in _OWN]
    if own:
        print(f"error: {', '.join(own)}: set by this command (use --task / --out)", file=sys.stderr)
        return 2
    if "--model" not in [a.split("=", 1)[0] for a in rest]:
        print("error: pass lmms-eval's --model (and --model_args) after --", file=sys.stderr)
        return 2
    if Path(args.task).is_dir():
        print(
            f"error: ./{args.task} is a folder: lmms-eval would read `--tasks {args.task}` as a folder "
            "of task files and run nothing; choose another --task or run from another folder",
            file=sys.stderr,
        )
        return 2
    try:
        task_yaml = write_task_config(args.dataset, args.out / "task", task=args.task)
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    command = shlex.split(args.lmms_eval) if args.lmms_eval else [sys.executable, "-m", "lmms_eval"]
    command += ["--tasks", args.task, "--include_path", str(task_yaml.parent),
                "--output_path", str(args.out), "--log_samples", *rest]  # fmt: skip
    print("running: " + shlex.join(command), file=sys.stderr, flush=True)
    since = time.time() - 1.0  # file times may be rounded down
    try:
        code = subprocess.run(command).returncode
    except FileNotFoundError as e:
        print(f"error: cannot run lmms-eval ({e}); is it installed in this environment?", file=sys.stderr)
        return 2
    samples = _new_samples(args.out, args.task, since)
    if not samples:
        print(
            f"error: lmms-eval wrote no samples of task {args.task} under {args.out} (exit status {code}; "
            "lmms-eval exits 0 even when it ran nothing: read its log above)",
            file=sys.stderr,
        )
        return 2
    from thud_metrics.predictions.lmms_eval import read_lmms_eval_samples

    pset = read_lmms_eval_samples(samples[-1])
    check = pset.meta.get("audio_check") or {}
    verdict = check.get("verdict", "cannot_tell")
    print(f"samples: {samples[-1]} ({len(pset.answers)} probes)")
    print(f"audio path check: {verdict}: {check.get('reason', '')}")
    if verdict == "does_not_reach":
        print("WARNING: the audio never reached the model; these scores measure the serving path")
    print(f"score: thud score {shlex.quote(str(samples[-1]))} --dataset {shlex.quote(str(args.dataset))}")
    if code != 0:
        print(f"error: lmms-eval exited with status {code}", file=sys.stderr)
        return 2
    return 1 if verdict == "does_not_reach" else 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["run"]:
        return _run(argv[1:])
    return _write(argv)


if __name__ == "__main__":
    sys.exit(main())
