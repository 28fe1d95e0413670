"""Shared fixtures. Helpers the tests import live in ``tests/helpers/``; the real clips in
``tests/data/real/`` (see its ``SOURCES.md``): nothing here reads outside the repository."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.helpers.media import MP3, MP4, WEBM, make_hub_folder, remux_streams
from tests.helpers.probes import (
    make_probes,
    noisy_answers,
    perfect_answers,
    write_dataset,
    write_predictions,
)
from tests.helpers.wire import (
    LoopbackServer,
    count_connects,
    decode_data_uri,
    decode_image,
    parse_request,
    read_wav,
)
from thud_dataset.vocab import CONDITIONS

REPO = Path(__file__).resolve().parents[1]
REAL_CLIPS = REPO / "tests" / "data" / "real"


@pytest.fixture(scope="session")
def real_clips_dir() -> Path:
    """The real clips kept with the tests (read-only: copy before changing one)."""
    assert REAL_CLIPS.is_dir(), f"{REAL_CLIPS}: the real test clips are part of the repository"
    return REAL_CLIPS


@pytest.fixture(scope="session")
def media_cache(tmp_path_factory) -> Path:
    """One media cache for the session, so builds share rendered/materialized files.

    ``THUD_CACHE`` points at it for the session and is restored afterwards.
    """
    path = tmp_path_factory.mktemp("thud-cache")
    before = os.environ.get("THUD_CACHE")
    os.environ["THUD_CACHE"] = str(path)
    yield path
    if before is None:
        os.environ.pop("THUD_CACHE", None)
    else:
        os.environ["THUD_CACHE"] = before


@pytest.fixture(scope="session")
def synthetic_build(tmp_path_factory, media_cache):
    """A built synthetic dataset (12 clips, seed 0): ``(out_dir, report)``."""
    from thud_dataset import build

    out = tmp_path_factory.mktemp("build") / "thud"
    report = build(out, num_clips=12, seed=0, media_cache_dir=str(media_cache), progress=False)
    return out, report


# -- the answerer tests: the session's build, loaded as a user would -----------------------


@pytest.fixture(scope="session")
def dataset_dir(synthetic_build) -> Path:
    """The built dataset folder (its probes: test clips x 3 dimensions x 2 conditions)."""
    return synthetic_build[0]


@pytest.fixture(scope="session")
def probe_rows(dataset_dir) -> dict[str, list[dict]]:
    """Every probe row by split (video bytes included)."""
    from thud_dataset.hub.load import load_config

    return {s: list(load_config(dataset_dir, "probes", split=s)) for s in CONDITIONS}


@pytest.fixture(scope="session")
def all_probes(probe_rows) -> list[dict]:
    return [row for split in CONDITIONS for row in probe_rows[split]]


# -- the trainer tests: a small build with a train partition --------------------------------

#: clips and seed of the build the trainer tests train on; half the clips are train clips
TRAIN_NUM_CLIPS = 10
TRAIN_SEED = 3


@pytest.fixture(scope="session")
def train_build(tmp_path_factory, media_cache):
    """``thud_dataset.build`` of ``TRAIN_NUM_CLIPS`` synthetic clips into a tmp folder."""
    from thud_dataset import build

    out = tmp_path_factory.mktemp("train-build") / "thud"
    build(
        out,
        source="synthetic",
        num_clips=TRAIN_NUM_CLIPS,
        seed=TRAIN_SEED,
        test_fraction=0.5,
        media_cache_dir=str(media_cache),
        progress=False,
    )
    return out


@pytest.fixture(scope="session")
def preferences(train_build):
    """The built ``preferences`` config, loaded as a user would."""
    from thud_dataset.hub.load import load_config

    ds = load_config(train_build, "preferences", split="train")
    assert len(ds) > 0, "the build has no preference rows"
    return ds


# -- the local-source and Hub tests: real clips and bad files made from them ----------------


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory, real_clips_dir) -> Path:
    """A writable folder: two real clips, a clip without audio, one without video, junk."""
    d = tmp_path_factory.mktemp("corpus")
    for name in (MP4, WEBM):
        shutil.copy(real_clips_dir / name, d / name)
    remux_streams(real_clips_dir / MP4, d / "silent_film.mp4", ("video",))
    remux_streams(real_clips_dir / MP4, d / "only_sound.m4a", ("audio",))
    (d / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom" + b"garbage" * 200)
    (d / "notes.txt").write_text("not a video\n")
    return d


@pytest.fixture
def hub_folder(tmp_path, real_clips_dir) -> Path:
    return make_hub_folder(tmp_path / "thud", (real_clips_dir / MP3).read_bytes())


# -- the metric tests: probe tables and a tiny built dataset --------------------------------


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> tuple[Path, dict[str, list]]:
    probes = make_probes(12, seed=3)
    return write_dataset(tmp_path_factory.mktemp("thud") / "build", probes), probes


@pytest.fixture(scope="session")
def helpers():
    """The probe-table builders of ``tests/helpers/probes.py``."""
    from types import SimpleNamespace

    return SimpleNamespace(
        make_probes=make_probes,
        perfect_answers=perfect_answers,
        noisy_answers=noisy_answers,
        write_dataset=write_dataset,
        write_predictions=write_predictions,
    )


# -- the harness tests: loopback OpenAI-compatible servers and the canaries -----------------


@pytest.fixture
def loopback():
    """A factory: ``loopback(behaviour=..., answerer=..., fail=[...])`` -> a running server.

    Every server it made is stopped (and its thread joined) at teardown.
    """
    servers: list[LoopbackServer] = []

    def make(**kwargs) -> LoopbackServer:
        server = LoopbackServer(**kwargs).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def connects(monkeypatch) -> list[str]:
    """``host:port`` of every TCP connection an HTTP client attempts in the test."""
    return count_connects(monkeypatch)


@pytest.fixture(scope="session")
def canary_dir(tmp_path_factory) -> Path:
    """One canary cache for the session (rendering is deterministic)."""
    return tmp_path_factory.mktemp("canaries")


@pytest.fixture(scope="session")
def canaries(canary_dir):
    from thud_models.canaries import build_canaries

    return build_canaries(canary_dir)


@pytest.fixture(scope="session")
def wire():
    """The request decoders, for tests that inspect what was sent."""
    from types import SimpleNamespace

    return SimpleNamespace(
        parse_request=parse_request,
        read_wav=read_wav,
        decode_image=decode_image,
        decode_data_uri=decode_data_uri,
    )
