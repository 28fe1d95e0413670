"""`thud push` (a built dataset to the Hub), `thud export-metric` (the metric as a
self-contained folder) and `thud push-metric` (that folder as an evaluate Space).

Thin layers over :mod:`thud_dataset.hub.push`, :mod:`thud_metrics.thud_gap_export` and
:mod:`thud_metrics.hub_space`; see there for the rules.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser(
        "push",
        help="upload a built dataset folder to the Hugging Face Hub",
        description=(
            "Upload the Hub layout of a `thud build` folder (README.md card, build_report.json, "
            "data/**/*.parquet with the media embedded) to a dataset repository. The folder is "
            "checked first: every config must load with load_dataset(folder, config). "
            "Fails at once when HF_HUB_OFFLINE is set, unless --dry-run."
        ),
    )
    p.add_argument("folder", help="the built dataset folder (thud build --out)")
    p.add_argument("--repo-id", required=True, help="ORG/NAME of the dataset repository")
    p.add_argument("--token", default=None, help="Hub token (default: the stored login / HF_TOKEN)")
    p.add_argument("--private", action="store_true", help="create the repository private")
    p.add_argument("--message", default="Upload Thud dataset", help="commit message")
    p.add_argument("--dry-run", action="store_true", help="plan and verify only; send nothing")
    p.add_argument(
        "--no-verify", action="store_true", help="skip the local load_dataset round-trip"
    )
    p.set_defaults(func=_push)

    e = sub.add_parser(
        "export-metric",
        help="write the thud_gap metric as a self-contained evaluate module folder",
        description=(
            "Write DIR/DIR.py (the thud_gap evaluate module), the Thud modules it uses "
            "(vendored next to it), its metric card and a requirements.txt without Thud, so "
            "evaluate.load('DIR') works in any environment with evaluate, datasets and numpy. "
            "`thud demo` and `thud build` write ./thud_gap next to their output folder. An "
            "existing DIR is replaced only if an earlier export wrote it."
        ),
    )
    e.add_argument(
        "out",
        nargs="?",
        default="thud_gap",
        metavar="DIR",
        help="folder to write; its name is the module's (default: ./thud_gap)",
    )
    e.set_defaults(func=_export_metric)

    m = sub.add_parser(
        "push-metric",
        help="upload the thud_gap metric module as an evaluate Space",
        description=(
            "Upload the thud_gap metric as a Hugging Face Space in evaluate's layout "
            "(NAME.py, app.py with launch_gradio_widget, requirements.txt, README.md with "
            "sdk: gradio and tags evaluate/metric), so evaluate.load('ORG/NAME') works. By "
            "default the folder is the one `thud export-metric` writes: self-contained, so "
            "the Space needs no Thud."
        ),
    )
    m.add_argument("--repo-id", required=True, help="ORG/NAME of the Space (e.g. my-org/thud_gap)")
    m.add_argument(
        "--metric-dir",
        default=None,
        help="a metric folder to upload as it is (default: Thud's thud_gap, exported)",
    )
    m.add_argument(
        "--requirement",
        action="append",
        default=[],
        metavar="REQ",
        help="extra line for the Space's requirements.txt (repeatable); a line for a package "
        "the folder already lists replaces it (the default folder needs no Thud)",
    )
    m.add_argument("--sdk-version", default=None, help="gradio version the Space runs")
    m.add_argument("--token", default=None, help="Hub token (default: the stored login / HF_TOKEN)")
    m.add_argument("--private", action="store_true", help="create the Space private")
    m.add_argument("--dry-run", action="store_true", help="list the Space's files; send nothing")
    m.add_argument("--write", default=None, metavar="DIR", help="also write the Space's files here")
    m.set_defaults(func=_push_metric)


def _push(args: argparse.Namespace) -> int:
    from thud_dataset.hub.push import push_dataset
    from thud_dataset.hub.upload import PushError

    try:
        result = push_dataset(
            args.folder,
            args.repo_id,
            token=args.token,
            private=args.private,
            commit_message=args.message,
            dry_run=args.dry_run,
            verify=not args.no_verify,
        )
    except PushError as exc:
        print(f"thud push: {exc}", file=sys.stderr)
        return 1
    print(result.plan.describe())
    if result.counts is not None:
        rows = "; ".join(
            f"{c}: " + ", ".join(f"{s}={n}" for s, n in splits.items())
            for c, splits in result.counts.items()
        )
        print(f"round-trip ok (load_dataset): {rows}")
    if args.dry_run:
        print(f"dry run: nothing sent (would push to {result.url})")
    else:
        print(f"pushed to {result.url}")
    return 0


def _print_export(export) -> None:
    where = str(export.folder)
    note = "" if export.changed else " (unchanged)"
    needs = ", ".join(re.split(r"[<>=!~\[ ;@]", r, maxsplit=1)[0] for r in export.requirements)
    print(
        f"metric:      {where}{note}  (evaluate.load({where!r}); self-contained: "
        f"{len(export.vendored)} Thud modules vendored, needs only {needs})"
    )


def _export_metric(args: argparse.Namespace) -> int:
    from thud_metrics.thud_gap_export import ExportError, export_metric

    try:
        export = export_metric(args.out)
    except ExportError as exc:
        print(f"thud export-metric: {exc}", file=sys.stderr)
        return 1
    _print_export(export)
    print(f"push it as a Space: thud push-metric --repo-id ORG/{export.folder.name}")
    return 0


def write_metric_next_to(dataset_dir: str | Path) -> None:
    """``thud demo`` / ``thud build``: export ``thud_gap/`` next to the dataset folder, so
    ``evaluate.load("thud_gap")`` works where ``load_dataset("thud", ...)`` does. A folder of
    that name that Thud did not write is left alone (with a note)."""
    from thud_metrics.thud_gap_export import DEFAULT_NAME, ExportError, export_metric

    out = Path(dataset_dir).parent / DEFAULT_NAME
    try:
        _print_export(export_metric(out))
    except ExportError as exc:
        print(f"metric:      not written: {exc}", file=sys.stderr)


def _push_metric(args: argparse.Namespace) -> int:
    from thud_dataset.hub.upload import PushError, write_plan
    from thud_metrics.hub_space import DEFAULT_GRADIO_VERSION, push_metric_space

    try:
        result = push_metric_space(
            args.repo_id,
            args.metric_dir,
            token=args.token,
            private=args.private,
            requirements=args.requirement,
            sdk_version=args.sdk_version or DEFAULT_GRADIO_VERSION,
            dry_run=args.dry_run,
        )
    except PushError as exc:
        print(f"thud push-metric: {exc}", file=sys.stderr)
        return 1
    print(result.plan.describe())
    if args.write:
        print(f"Space files written to {write_plan(result.plan, args.write)}")
    if args.dry_run:
        print(f"dry run: nothing sent (would push to {result.url})")
    else:
        print(f"pushed to {result.url}")
    return 0
