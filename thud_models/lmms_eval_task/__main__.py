"""``python -m thud_models.lmms_eval_task DATASET OUT_DIR``: an lmms-eval task for a dataset."""

from __future__ import annotations

import argparse
import sys

from . import write_task_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m thud_models.lmms_eval_task",
        description="Write an lmms-eval task that runs Thud's probes of DATASET (a folder `thud build` "
        "wrote, or a Hub id); then: lmms-eval --model ... --tasks TASK --include_path OUT_DIR",
    )
    parser.add_argument("dataset", help="a built Thud folder or a Hub dataset id (org/thud)")
    parser.add_argument("out_dir", help="folder to write the task yaml into")
    parser.add_argument("--task", default="thud", help="task name for --tasks (default: thud)")
    args = parser.parse_args(argv)
    try:
        path = write_task_config(args.dataset, args.out_dir, task=args.task)
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(
        f"wrote {path}\nrun: lmms-eval --model <model> --tasks {args.task} --include_path {path.parent}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
