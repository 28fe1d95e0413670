"""``thud build --engine ray``: the local build's bytes, resumable, bad clips skipped alike.

One local Ray for the module (2 CPUs, a small object store, no dashboard): starting Ray is
the slow part. The corpus: four synthetic clips (test partition), two real clips (train;
the webm's VP8 video is transcoded), a file that is not a video (skipped by the check, on a
worker), and a synthetic clip that passes the check but cannot be materialized (its check
is cached, then its media data are zeroed: skipped by a materialize task on a worker, and
the clip that had it as donor re-planned).
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import io
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason='the ray engine needs Ray: pip install "thud[ray]"')

from tests.helpers.faults import synthetic_corpus, tree_digest  # noqa: E402
from tests.helpers.media import MP4, WEBM  # noqa: E402

REPO = Path(__file__).resolve().parents[3]
#: the clip whose check is cached before its bytes are zeroed (fails when materialized)
VICTIM = "s4"


@pytest.fixture(scope="module")
def ray_address():
    """One local Ray for the module; its address, for drivers in other processes."""
    if ray.is_initialized():
        ray.shutdown()
    ray.init(num_cpus=2, object_store_memory=200 * 1024**2, include_dashboard=False, log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, real_clips_dir):
    """The corpus (see the module docstring) and the two media caches, each with the
    victim's check cached from its intact file."""
    from thud_dataset.materialize import MediaCache
    from thud_dataset.sources.local import load_clips

    root = tmp_path_factory.mktemp("ray-engine")
    folder = root / "corpus"
    folder.mkdir()
    for name in (MP4, WEBM):
        shutil.copy(real_clips_dir / name, folder / name)
    (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom" + b"garbage" * 200)
    extra = [
        {"file": MP4, "clip_id": "crowd", "visual_event": "an indoor crowd", "visual_time": 2.3,
         "audio_event": "the crowd gets louder", "audio_time": 2.3, "category": "crowd", "split": "train"},
        {"file": WEBM, "clip_id": "bunny", "visual_event": "the bunny scene cuts", "visual_time": 0.49,
         "audio_event": "a percussive hit", "audio_time": 0.49, "category": "music", "split": "train"},
        {"file": "broken.mp4", "clip_id": "broken", "visual_event": "v", "visual_time": 0.5,
         "audio_event": "a", "audio_time": 0.5, "split": "test"},
    ]
    synthetic_corpus(folder, extra, n=5)
    caches = {engine: root / f"cache-{engine}" for engine in ("local", "ray")}
    victim = next(c for c in load_clips(folder)[0] if c.clip_id == VICTIM)
    for cache in caches.values():
        MediaCache(cache).scan(victim)
    path = Path(victim.path)
    st, data = path.stat(), path.read_bytes()
    media_start = data.index(b"mdat") + 4  # the header (moov first) stays: the listing reads it
    path.write_bytes(data[:media_start] + bytes(len(data) - media_start))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size and mtime: the cached check applies
    return folder, caches


def _argv(corpus, out: Path, engine: str, *extra: str) -> list[str]:
    folder, caches = corpus
    args = ["build", "--source", "local", "--data-dir", str(folder), "--out", str(out),
            "--cache-dir", str(caches[engine]), "--quiet",
            "--one-sided", "keep",  # the real clips' events sit near an end: one shift each
            *extra]
    return args + (["--engine", "ray"] if engine == "ray" else [])


def _cli(monkeypatch, argv: list[str]) -> int:
    from thud_cli.main import main

    monkeypatch.setattr(sys, "argv", ["thud", *argv])  # what the card records
    return main(argv)


@pytest.fixture(scope="module")
def builds(corpus, ray_address, tmp_path_factory):
    """``thud build`` of the corpus, local and ``--engine ray``: ``{engine: (out, stdout)}``."""
    from thud_cli.main import main

    root = tmp_path_factory.mktemp("builds")
    result = {}
    mp = pytest.MonkeyPatch()
    try:
        for engine in ("local", "ray"):
            out = root / engine / "thud"
            argv = _argv(corpus, out, engine, *(["--ray-address", ray_address] if engine == "ray" else []))
            mp.setattr(sys, "argv", ["thud", *argv])
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                code = main(argv)
            assert code == 0, buf.getvalue()
            result[engine] = (out, buf.getvalue())
    finally:
        mp.undo()
    return result


def _card(out: Path, corpus, engine: str) -> str:
    """The card with the build's own paths (``--out``, ``--cache-dir``) made neutral."""
    folder, caches = corpus
    return out.joinpath("README.md").read_text().replace(str(out), "OUT").replace(str(caches[engine]), "CACHE")


def test_ray_build_writes_the_local_build_bytes(builds, corpus):
    from datasets import Video, load_dataset

    from thud_dataset.hub.layout import check_build_folder
    from thud_dataset.hub.report import read_report

    (local, _), (rayed, _) = builds["local"], builds["ray"]
    # every parquet file: same name, same bytes (so the same rows, offsets, donors, video bytes)
    assert tree_digest(rayed / "data") == tree_digest(local / "data")
    assert len(tree_digest(local / "data")) >= 7  # probes x4, preferences, clips x2
    # the same card (the engine options are not part of the recorded command)
    assert _card(rayed, corpus, "ray") == _card(local, corpus, "local")
    assert "--engine" not in rayed.joinpath("README.md").read_text()
    a, b = read_report(local), read_report(rayed)
    assert (a.files, a.plan, a.skipped, a.rows, a.transcoded) == (b.files, b.plan, b.skipped, b.rows, b.transcoded)
    assert b.transcoded == ["bunny"]
    assert check_build_folder(rayed) == []
    # the Hub layout, as a user loads it: Video columns included
    shift = load_dataset(str(rayed), "probes", split="shift")
    assert isinstance(shift.features["video"], Video)
    row = shift[0]
    assert row["video"]["bytes"][4:8] == b"ftyp"
    assert hashlib.sha256(row["video"]["bytes"]).hexdigest().startswith(row["video"]["path"].split(".")[0])
    assert len(load_dataset(str(rayed), "clips", split="train")) == 2


def test_bad_clips_are_skipped_on_workers_with_the_local_reasons(builds):
    from thud_dataset.hub.report import read_report

    (local, local_stdout), (rayed, ray_stdout) = builds["local"], builds["ray"]
    skipped = {s.clip_id: s.reason for s in read_report(rayed).skipped}
    assert skipped == {s.clip_id: s.reason for s in read_report(local).skipped}
    assert "not a readable media file" in skipped["broken"]  # the check, on a worker
    assert skipped[VICTIM].startswith("cannot be materialized")  # a materialize task
    assert VICTIM not in {p.clip_id for p in read_report(rayed).plan}
    assert all(p.donor_clip_id != VICTIM for p in read_report(rayed).plan)  # re-planned
    for reason in skipped.values():
        assert reason in ray_stdout  # the summary names every skipped clip and why
    assert ray_stdout.split("\n\nload it with")[0].replace(str(rayed), "OUT") == local_stdout.split(
        "\n\nload it with"
    )[0].replace(str(local), "OUT")


def _records(out: Path) -> list[Path]:
    """The shard records of ``out``'s resumable staging folder (one per finished shard)."""
    pattern = str(out.parent / f".{out.name}.thud-resume-*" / "state" / "shards" / "**" / "*.json")
    return [Path(p) for p in glob.glob(pattern, recursive=True)]


#: a driver that cuts one shard per clip (many shards: a kill lands between them)
_DRIVER = (
    "import sys; import thud_dataset.hub.shards as s; s.MAX_SHARD_BYTES = 1; "
    "from thud_cli.main import main; sys.exit(main(sys.argv[1:]))"
)


def _driver(argv: list[str]) -> subprocess.Popen:
    env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen([sys.executable, "-c", _DRIVER, *argv], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_killed_ray_build_resumes_and_still_equals_the_local_build(builds, corpus, ray_address, tmp_path, monkeypatch):
    from thud_dataset.hub import shards
    from thud_dataset.hub.layout import check_build_folder

    # the local reference, cut the same way
    monkeypatch.setattr(shards, "MAX_SHARD_BYTES", 1)
    reference = tmp_path / "local" / "thud"
    assert _cli(monkeypatch, _argv(corpus, reference, "local")) == 0
    total = len(tree_digest(reference / "data"))
    assert total >= 12
    # over a previous build, which must stay as it was until the new one is complete
    out = tmp_path / "ray" / "thud"
    shutil.copytree(builds["local"][0], out)
    before = tree_digest(out)
    argv = _argv(corpus, out, "ray", "--ray-address", ray_address)

    proc = _driver(argv)
    deadline = time.monotonic() + 300
    while len(_records(out)) < 3:
        assert proc.poll() is None, f"the build ended before it could be killed: {proc.communicate()[1][-3000:]}"
        assert time.monotonic() < deadline, "no shard was written in 300 s"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    time.sleep(1.0)  # the killed driver's last tasks end
    assert tree_digest(out) == before  # the previous build is untouched
    finished = _records(out)
    assert 3 <= len(finished) < total, "the kill left nothing to redo"
    resume_folder = next(out.parent.glob(f".{out.name}.thud-resume-*"))
    kept = {}
    for record in finished:
        rel = record.relative_to(resume_folder / "state" / "shards").as_posix()[: -len(".json")]
        kept[rel] = (resume_folder / "build" / rel).stat().st_ino

    again = _driver(argv)
    stdout, stderr = again.communicate(timeout=600)
    assert again.returncode == 0, stderr[-3000:]
    assert "kept from the interrupted build" in stderr
    # the finished shards were kept (the same files), the others written
    for rel, inode in kept.items():
        assert (out / rel).stat().st_ino == inode, f"{rel} was written again"
    assert tree_digest(out / "data") == tree_digest(reference / "data")
    assert _card(out, corpus, "ray") == _card(reference, corpus, "local")
    assert check_build_folder(out) == []
    assert not list(out.parent.glob(f".{out.name}.thud-resume-*"))  # nothing left beside


def test_a_worker_that_dies_takes_only_its_own_item(ray_address, monkeypatch):
    from thud_dataset.hub import ray_engine

    def double_or_die(x):
        if x == "crash":
            os._exit(139)  # as a segfault in a media library would
        return x * 2

    monkeypatch.setattr(ray_engine, "TASK_RETRIES", 0)
    engine = ray_engine.RayEngine(progress=False)
    with engine.running():
        got = engine.map(double_or_die, ["a", "crash", "b", "c"], lambda x: f"{x}: died", "Doubling")
        assert got == ["aa", "crash: died", "bb", "cc"]
        with pytest.raises(ZeroDivisionError):  # what the function lets through is raised here
            engine.map(lambda x: 1 / x, [1, 0], lambda x: None, "Dividing")
    assert ray.is_initialized()  # a cluster the engine did not start is left running


def test_an_empty_ray_build_exits_1_and_leaves_nothing_beside_the_folder(corpus, ray_address, tmp_path, monkeypatch, capsys):
    out = tmp_path / "empty" / "thud"
    # no clip can be shifted by 30 s inside itself: the planner skips them all
    assert _cli(monkeypatch, _argv(corpus, out, "ray", "--offsets", "30", "--shifts-per-clip", "1")) == 1
    assert "nothing written" in capsys.readouterr().err
    assert not out.exists() and not list(out.parent.glob(".thud.thud-*"))
