"""``thud export``: the probes in another harness's dataset layout.

    thud export --format vlmevalkit vlmeval_data/Thud.tsv --dataset ./thud

``vlmevalkit`` writes the TSV layout of VLMEvalKit's video datasets (columns in
:mod:`thud_metrics.predictions.vlmevalkit`) with the probe videos in ``video/`` and their
audio as WAV files in ``audio/`` beside it; ``thud score`` then reads the prediction file
VLMEvalKit writes for it (``.xlsx`` or ``.tsv``). See docs/harnesses.md for the dataset
class VLMEvalKit needs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

FORMATS = ("vlmevalkit",)


def _write_once(target: Path, data: bytes) -> None:
    if target.is_file() and target.stat().st_size == len(data) and target.read_bytes() == data:
        return
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(target)


def export_vlmevalkit(
    dataset: str | Path,
    out_tsv: str | Path,
    *,
    audio_rate: int | None = 16000,
    cache_dir: str | Path | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Write every probe of ``dataset`` as a VLMEvalKit video TSV at ``out_tsv``.

    The videos go to ``video/<name>.mp4`` beside the TSV (the probe files byte for byte,
    under their content-hash names) and their audio to ``audio/<name>.wav`` (16-bit PCM at
    ``audio_rate`` Hz, ``None``: the probe's own rate; sample 0 is the first video frame).
    Probes are in condition order (original, shift, mute, swap), each split in dataset order.

    Returns ``{"tsv", "rows", "videos", "audio_rate"}``. Raises ``ValueError`` for a dataset
    without probes and for a probe whose prompt does not list its choices.
    """
    from tqdm.auto import tqdm

    from thud_dataset.hub.load import load_config
    from thud_dataset.vocab import CONDITIONS
    from thud_metrics.predictions.vlmevalkit import tsv_rows, write_tsv
    from thud_models.adapters.openai_compat import extract_wav

    out_tsv = Path(out_tsv)
    if out_tsv.suffix.lower() != ".tsv":
        raise ValueError(f"{out_tsv}: the VLMEvalKit data file must end in .tsv")
    try:
        dd = load_config(dataset, "probes", cache_dir=cache_dir)
    except (FileNotFoundError, ValueError) as exc:
        raise ValueError(f"cannot load the probes config of dataset {str(dataset)!r}: {exc}") from exc
    probes = [row for split in CONDITIONS if split in dd for row in dd[split]]
    if not probes:
        raise ValueError(f"dataset {str(dataset)!r} has no probes")
    rows = tsv_rows(probes)  # checks every probe before a file is written
    root = out_tsv.parent
    (root / "video").mkdir(parents=True, exist_ok=True)
    (root / "audio").mkdir(parents=True, exist_ok=True)
    for probe, row in tqdm(
        list(zip(probes, rows, strict=True)), desc="Export", unit="probe", disable=not progress
    ):
        video = root / "video" / f"{row['video']}.mp4"
        data = probe["video"].get("bytes")
        if data is None:
            data = Path(probe["video"]["path"]).read_bytes()
        _write_once(video, data)
        _write_once(root / "audio" / f"{row['video']}.wav", extract_wav(video, sample_rate=audio_rate))
    write_tsv(rows, out_tsv)
    return {"tsv": str(out_tsv), "rows": len(rows), "videos": len({r["video"] for r in rows}), "audio_rate": audio_rate}


def run(args) -> int:
    try:
        summary = export_vlmevalkit(
            args.dataset, args.out, audio_rate=args.audio_rate or None, cache_dir=args.cache_dir
        )
    except (ValueError, FileNotFoundError) as exc:
        print(f"thud export: error: {exc}", file=sys.stderr)
        return 2
    rate = f"{summary['audio_rate']} Hz" if summary["audio_rate"] else "the probes' own rate"
    print(
        f"wrote {summary['tsv']}: {summary['rows']} probes; videos in {Path(summary['tsv']).parent / 'video'}, "
        f"their audio ({rate}) in {Path(summary['tsv']).parent / 'audio'}\n"
        f"score VLMEvalKit's prediction file with: thud score <model>_<dataset>.xlsx --dataset {args.dataset}"
    )
    return 0


def register(sub) -> None:
    p = sub.add_parser(
        "export",
        help="write the probes in another harness's dataset layout (VLMEvalKit)",
        description="Write the probes of a built Thud dataset in a harness's layout: "
        "--format vlmevalkit writes a VLMEvalKit video TSV with the videos and their audio beside it.",
    )
    p.add_argument("out", type=Path, help="the data file to write (vlmevalkit: a .tsv)")
    p.add_argument("--format", choices=FORMATS, required=True, help="the harness layout")
    p.add_argument("--dataset", required=True, help="built Thud dataset: a local folder or a Hub repo id")
    p.add_argument(
        "--audio-rate",
        type=int,
        default=16000,
        help="sample rate of the audio/*.wav files in Hz (default 16000; 0: the probes' own rate)",
    )
    p.add_argument("--cache-dir", default=None, help="datasets cache folder for loading --dataset")
    p.set_defaults(func=run)
