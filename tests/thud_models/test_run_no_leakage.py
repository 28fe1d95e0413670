"""What the answerer is handed carries nothing of the condition (issue 20, planted bug 9).

A model that reads its file path could tell a shifted probe from the original by the name
alone (``shift_<hash>.mp4``, a ``.../mute/...`` folder). Checked on what ``thud run`` really
hands the answerer: every path, for every condition, with and without a cache folder.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from thud_dataset.vocab import CONDITIONS
from thud_models import run_probes

NAME = re.compile(r"[0-9a-f]{24}\.mp4")


class Recorder:
    """An answerer that keeps the path and prompt of every call."""

    name = "recorder"

    def __init__(self):
        self.seen: list[tuple[str, str]] = []

    def answer(self, video_path: str, prompt: str) -> str:
        self.seen.append((video_path, prompt))
        return "A"


@pytest.mark.parametrize("cache", ["cache_dir", "THUD_CACHE"])
def test_the_answerer_sees_content_hash_names_in_one_folder(dataset_dir, all_probes, tmp_path, monkeypatch, cache):
    kwargs = {}
    if cache == "cache_dir":
        kwargs["cache_dir"] = tmp_path / "cache"
    else:
        monkeypatch.setenv("THUD_CACHE", str(tmp_path / "env-cache"))
    answerer = Recorder()
    run_probes(answerer, dataset_dir, tmp_path / "run.jsonl", check_audio=False, progress=False, **kwargs)
    assert len(answerer.seen) == len(all_probes)
    by_prompt: dict[str, list[dict]] = {}
    for row in all_probes:
        by_prompt.setdefault(row["prompt"], []).append(row)
    folders = set()
    for (path, _), row in zip(answerer.seen, all_probes, strict=True):
        p = Path(path)
        # the name is the hash of the very bytes of this probe's video, nothing else
        assert NAME.fullmatch(p.name), path
        assert hashlib.sha256(p.read_bytes()).hexdigest()[:24] == p.name[:24]
        assert p.read_bytes() == row["video"]["bytes"]
        folders.add(p.parent)
        for condition in CONDITIONS:
            assert condition not in p.relative_to(p.parent.parent).as_posix().lower(), path
    # one folder for every condition: the place of a file says nothing either
    assert len(folders) == 1, folders


def test_a_pair_differs_only_in_the_sound_of_its_file(dataset_dir, all_probes, tmp_path):
    """The two probes of a pair get the same prompt; their paths differ only by content."""
    answerer = Recorder()
    run_probes(answerer, dataset_dir, tmp_path / "run.jsonl", check_audio=False, progress=False,
               cache_dir=tmp_path / "cache")  # fmt: skip
    seen = {row["probe_id"]: call for row, call in zip(all_probes, answerer.seen, strict=True)}
    pairs: dict[str, list[dict]] = {}
    for row in all_probes:
        pairs.setdefault(row["pair_id"], []).append(row)
    assert pairs
    for rows in pairs.values():
        prompts = {seen[r["probe_id"]][1] for r in rows}
        assert len(prompts) == 1, prompts
        parents = {Path(seen[r["probe_id"]][0]).parent for r in rows}
        assert len(parents) == 1
