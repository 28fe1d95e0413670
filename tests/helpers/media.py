"""Real test clips and the files tests make from them (bad media, hub-layout folders)."""

from __future__ import annotations

import json
from pathlib import Path

import av

MP4 = "openmpf__openmpf__video_01.mp4"  # h264 + aac, 3.0 s
MP4_LONG = "openmpf__openmpf__video_02.mp4"  # 17.4 s, loud at ~3.8 s
WEBM = "Zulko__moviepy__big_buck_bunny_432_433.webm"  # vp8 + vorbis, 1.0 s, hits at ~0.49/0.74 s
MP3 = "Zulko__moviepy__example3.mp4"  # h264 + mp3, 2.0 s
ROAD = "openmpf__openmpf-components__toronto-highway-shortened.mp4"  # 5.0 s


def write_jsonl(path: Path, rows: list) -> Path:
    """Rows are dicts (dumped) or strings (written as they are: broken lines on purpose)."""
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write((row if isinstance(row, str) else json.dumps(row)) + "\n")
    return path


def remux_streams(src: Path, dst: Path, kinds: tuple[str, ...]) -> Path:
    """Copy only the streams of ``kinds`` ("video", "audio") from src into dst, no re-encode."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        pairs = {}
        for s in inp.streams:
            if s.type in kinds:
                pairs[s.index] = out.add_stream_from_template(s)
        for packet in inp.demux(*[inp.streams[i] for i in pairs]):
            if packet.dts is None:
                continue
            packet.stream = pairs[packet.stream.index]
            out.mux(packet)
    return dst


def row(file: str, **kw) -> dict:
    base = {
        "file": file,
        "visual_event": "something is seen",
        "visual_time": 1.0,
        "audio_event": "something is heard",
        "audio_time": 1.0,
    }
    base.update(kw)
    return base


def make_hub_folder(
    root: Path, video: bytes, *, splits=None, with_report=True, path_only=False
) -> Path:
    """A small folder in the built layout: parquet per config/split + the rendered card.

    ``splits``: ``{config: {split: rows}}``; ``path_only`` writes media as paths, not bytes.
    """
    from datasets import Dataset, Features, Value, Video

    from thud_dataset.hub.card import render_card
    from thud_dataset.hub.report import BuildReport, BuildSettings, ParquetFile

    splits = splits or {"probes": {"original": 3, "shift": 2}, "clips": {"test": 2}}
    feats = Features(
        {"probe_id": Value("string"), "video": Video(decode=False), "label": Value("string")}
    )
    if path_only:  # a media file on this disk, referenced by path (not embedded)
        local = root / "local.mp4"
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(video)
    files = []
    for config, counts in splits.items():
        folder = root / "data" / config
        folder.mkdir(parents=True, exist_ok=True)
        for split, n in counts.items():
            media = (
                {"bytes": None, "path": str(root / "local.mp4")}
                if path_only
                else {"bytes": video, "path": "a1b2.mp4"}
            )
            ds = Dataset.from_dict(
                {
                    "probe_id": [f"{split}-{i}" for i in range(n)],
                    "video": [media] * n,
                    "label": ["synced"] * n,
                },
                features=feats,
            )
            rel = f"data/{config}/{split}-00000-of-00001.parquet"
            ds.to_parquet(str(root / rel))
            files.append(ParquetFile.measure(root, rel, config, split))
    settings = BuildSettings("synthetic", None, 1, 0, 0, (0.5,), 0.2, 0.5, "aac", 64000, "silence", "test")
    report = BuildReport(str(root), settings, rows={c: dict(s) for c, s in splits.items()}, files=files)
    (root / "README.md").write_text(render_card(report))
    if with_report:
        (root / "build_report.json").write_text(report.dumps())
    return root
