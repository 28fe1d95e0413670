"""Full and read-only disks: one clear line, the previous build kept, nothing left behind.

The filesystems are small tmpfs mounts the tests make (skipped, with the reason, where the
machine does not allow mounting).
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.helpers.faults import BUILD_ARGS as ARGS
from tests.helpers.faults import (
    NoSmallFilesystem,
    folder_bytes,
    judge,
    leftovers,
    run_build,
    small_filesystem,
    tree_digest,
)


@pytest.fixture
def small_fs(tmp_path):
    def make(size: int):
        try:
            return small_filesystem(tmp_path / "mnt", size)
        except NoSmallFilesystem as exc:  # pragma: no cover - depends on the machine
            pytest.skip(f"cannot mount a small filesystem here: {exc}")

    return make


def _mounted(cm):
    try:
        return cm.__enter__()
    except NoSmallFilesystem as exc:
        pytest.skip(f"cannot mount a small filesystem here: {exc}")


def _one_clear_line(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr[-3000:]
    return lines[0]


def test_disk_full_while_writing_keeps_the_previous_build(small_fs, previous_build, media_cache):
    size = folder_bytes(previous_build)
    # room for the previous build and 70 % of another: enough to pass the up-front estimate
    # (refused below half the estimate), not enough to write the new build
    cm = small_fs(int(size * 1.7))
    mnt = _mounted(cm)
    try:
        out = mnt / "thud"
        shutil.copytree(previous_build, out)
        before = tree_digest(out)
        extras = {p: h for p, h in before.items() if p.startswith("predictions/")}
        res = run_build(out, media_cache, *ARGS, "--seed", "1")
        assert res.returncode == 1
        line = _one_clear_line(res.stderr)
        assert "no space left on the device" in line and "unchanged" in line
        assert judge(out, before, extras).state == "previous"
        assert leftovers(out) == []
        assert shutil.disk_usage(mnt).used <= size + 64 * 1024  # nothing half-written stays
    finally:
        cm.__exit__(None, None, None)


def test_a_disk_far_too_small_is_found_before_the_media_work(small_fs, tmp_path, media_cache):
    cm = small_fs(64 * 1024)
    mnt = _mounted(cm)
    try:
        cache = tmp_path / "cache"
        out = mnt / "thud"
        res = run_build(out, cache, *ARGS)
        assert res.returncode == 1
        assert "not enough space" in _one_clear_line(res.stderr)
        assert not out.exists() and leftovers(out) == []
        assert not (cache / "objects").exists()  # refused before any clip was materialized
    finally:
        cm.__exit__(None, None, None)


def test_a_read_only_destination_is_refused_before_the_media_work(small_fs, previous_build, tmp_path):
    cm = small_fs(int(folder_bytes(previous_build) * 1.5))
    mnt = _mounted(cm)
    try:
        out = mnt / "thud"
        shutil.copytree(previous_build, out)
        before = tree_digest(out)
        if subprocess.run(["mount", "-o", "remount,ro", str(mnt)], capture_output=True).returncode:
            pytest.skip("cannot remount the test filesystem read-only here")
        cache = tmp_path / "cache"
        res = run_build(out, cache, *ARGS, "--seed", "1")
        assert res.returncode == 2
        line = _one_clear_line(res.stderr)
        assert "cannot write beside --out" in line and "Read-only" in line
        assert tree_digest(out) == before
        assert not (cache / "objects").exists()
    finally:
        cm.__exit__(None, None, None)
