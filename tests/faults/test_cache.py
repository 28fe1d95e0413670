"""Damaged cache entries: a build never serves them; it remakes them and gives the same bytes."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from tests.helpers.faults import CACHE_DAMAGE, damage_cache, judge, run_build

ARGS = ("--num-clips", "6", "--configs", "probes")


def _files(out) -> tuple[dict, dict[str, str]]:
    report = json.loads((out / "build_report.json").read_text())
    return report, {f["path"]: f["sha256"] for f in report["files"]}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """A build made with a fresh cache: ``(root, ({parquet path: sha256}, skipped))``.

    ``root/cache`` is the cache (cache keys name the files' paths, so a damaged copy must
    sit at the same place: every test restores it from ``root/pristine``)."""
    root = tmp_path_factory.mktemp("cache-reference")
    res = run_build(root / "out", root / "cache", *ARGS)
    assert res.returncode == 0, res.stderr[-2000:]
    shutil.copytree(root / "cache", root / "pristine")
    report, files = _files(root / "out")
    return root, (files, report["skipped"])


@pytest.fixture(scope="module", params=list(CACHE_DAMAGE))
def rebuilt(request, reference):
    """Damage some entries of the reference cache (restored first), then build again."""
    root, want = reference
    cache = root / "cache"
    shutil.rmtree(cache)
    shutil.copytree(root / "pristine", cache)  # copy2: same names, sizes and times
    damaged = damage_cache(cache, request.param)
    assert damaged
    out = root / f"out-{request.param.replace(' ', '-')}"
    res = run_build(out, cache, *ARGS)
    return request.param, res, out, want, damaged


def test_a_damaged_cache_entry_never_ends_the_build(rebuilt):
    _, res, out, _, _ = rebuilt
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr[-2000:]
    assert judge(out, None).state == "new"


def test_a_damaged_cache_entry_is_rebuilt_and_gives_the_same_bytes(rebuilt):
    kind, _, out, want, damaged = rebuilt
    report, got = _files(out)
    assert (got, report["skipped"]) == want
    for entry in damaged:  # made whole again
        if entry.suffix == ".json":
            json.loads(entry.read_text())
        elif entry.parent.name == "objects":
            assert hashlib.sha256(entry.read_bytes()).hexdigest().startswith(entry.stem)
