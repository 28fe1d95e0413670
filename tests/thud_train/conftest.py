"""Fixtures of the trainer tests: a small file in LLaVA-Hound's video-DPO format with local
videos (real clips with sound, a silent one, a folder of frames, a missing one), and the
general-data file the importer makes of it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers.media import MP3, MP4, WEBM, remux_streams

#: LLaVA-Hound rows (``sft_dpo_17k.jsonl`` style) whose video is usable: id -> video name
USABLE = {
    "hound-0": "v_crowd_indoor",  # no extension: found as .mp4
    "hound-1": "v_bunny.webm",  # with its extension
    "hound-2": "webvid/v_wind",  # in a sub-folder, found as .mp4
    "hound-3": "v_crowd_indoor",  # a second question on the same video
}


def _hound_row(rid: str, video: str, i: int) -> dict:
    return {
        "id": rid,
        "video": video,
        "prompt": f"<video>\nWhat happens in the video, and what can be heard? ({i})",
        "chosen": f"People talk in a room; the voices get louder towards the end. ({i})",
        "rejected": "A silent landscape with nobody in it.",
        "chosen_score": 4.0,
        "rejected_score": 1.5,
    }


@pytest.fixture(scope="session")
def llava_hound(tmp_path_factory, real_clips_dir) -> dict:
    """``{"file", "video_dir", "lines"}``: a LLaVA-Hound DPO file, its video folder, and the
    line number of each planted problem."""
    root = tmp_path_factory.mktemp("llava-hound")
    videos = root / "videos"
    (videos / "webvid").mkdir(parents=True)
    shutil.copy(real_clips_dir / MP4, videos / "v_crowd_indoor.mp4")
    shutil.copy(real_clips_dir / WEBM, videos / "v_bunny.webm")
    shutil.copy(real_clips_dir / MP3, videos / "webvid" / "v_wind.mp4")
    remux_streams(real_clips_dir / MP4, videos / "v_silent.mp4", ("video",))  # no audio track
    frames = videos / "v_frames"  # LLaVA-Hound's own release: a folder of jpg frames
    frames.mkdir()
    (frames / "c01_0001.jpg").write_bytes(b"\xff\xd8\xff")
    (videos / "v_broken.mp4").write_bytes(b"not a video at all")

    rows: list[str] = []
    lines: dict[str, int] = {}

    def add(text: str, name: str | None = None) -> None:
        rows.append(text)
        if name:
            lines[name] = len(rows)

    for i, (rid, video) in enumerate(USABLE.items()):
        add(json.dumps(_hound_row(rid, video, i)), rid)
    add(json.dumps(_hound_row("hound-silent", "v_silent", 10)), "silent")
    add(json.dumps(_hound_row("hound-frames", "v_frames", 11)), "frames")
    add(json.dumps(_hound_row("hound-missing", "v_nowhere", 12)), "missing")
    add(json.dumps(_hound_row("hound-broken", "v_broken", 13)), "broken")
    same = _hound_row("hound-same", "v_crowd_indoor", 14)
    same["rejected"] = same["chosen"]
    add(json.dumps(same), "same")
    no_prompt = _hound_row("hound-noprompt", "v_crowd_indoor", 15)
    del no_prompt["prompt"]
    add(json.dumps(no_prompt), "noprompt")
    add('{"id": "hound-cut", "video": ', "badjson")
    path = root / "sft_dpo_17k.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return {"file": path, "video_dir": videos, "lines": lines}


@pytest.fixture(scope="session")
def llava_hound_general(llava_hound, tmp_path_factory) -> Path:
    """The general-data file ``import_general("llava-hound", ...)`` writes of :func:`llava_hound`."""
    from thud_train.general_import import import_general

    out = tmp_path_factory.mktemp("general") / "general_prefs.jsonl"
    import_general("llava-hound", llava_hound["file"], llava_hound["video_dir"], out)
    return out


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """Tiny models are all overhead: one intra-op thread runs them several times faster than
    two threads that wait on each other (and far faster on a busy machine)."""
    try:
        import torch
    except ImportError:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
