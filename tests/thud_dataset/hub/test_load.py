"""Loading a built folder for Thud's tools: the folder's own files, never another build's cache."""

from __future__ import annotations

import shutil

import pyarrow.parquet as pq
import pytest

from thud_dataset import build
from thud_dataset.hub.load import config_files, load_config


@pytest.fixture(scope="module")
def twin_builds(tmp_path_factory, media_cache):
    """Two folders named ``thud`` with the same card whose shift probes differ in one byte:
    the case ``datasets`` caches as one dataset (its key is the folder name and the card)."""
    root = tmp_path_factory.mktemp("twins")
    first = root / "a" / "thud"
    build(first, num_clips=4, seed=0, media_cache_dir=str(media_cache), progress=False, configs=("probes",))
    second = root / "b" / "thud"
    shutil.copytree(first, second)
    (shard,) = config_files(second, "probes")["shift"]
    table = pq.read_table(shard)
    videos = table.column("video").to_pylist()
    data = bytearray(videos[0]["bytes"])
    data[-1] ^= 0xFF  # the last byte of the file: the card, the sizes and the row count stay
    videos[0] = {**videos[0], "bytes": bytes(data)}
    col = table.schema.get_field_index("video")
    table = table.set_column(col, table.schema.field(col), [videos])
    pq.write_table(table, shard)
    assert (first / "README.md").read_bytes() == (second / "README.md").read_bytes()
    return first, second, bytes(data)


def test_each_folder_is_read_from_its_own_files(twin_builds, tmp_path):
    import datasets

    first, second, changed = twin_builds
    cache = tmp_path / "hf"
    # the user's spelling fills the cache from the first folder ...
    datasets.load_dataset(str(first), "probes", split="shift", cache_dir=str(cache))
    # ... and Thud's loader still reads the second folder's own bytes
    shift = load_config(second, "probes", split="shift", cache_dir=cache)
    assert shift[0]["video"]["bytes"] == changed
    again = load_config(first, "probes", split="shift", cache_dir=cache)
    assert again[0]["video"]["bytes"] != changed and len(again[0]["video"]["bytes"]) == len(changed)


def test_a_rebuild_in_place_is_read_anew(twin_builds, tmp_path):
    first, _, _ = twin_builds
    folder = tmp_path / "thud"
    shutil.copytree(first, folder)
    cache = tmp_path / "hf"
    before = load_config(folder, "probes", split="mute", cache_dir=cache)[0]["video"]["bytes"]
    (shard,) = config_files(folder, "probes")["mute"]
    table = pq.read_table(shard)
    videos = table.column("video").to_pylist()
    videos[0] = {**videos[0], "bytes": before[:-1] + bytes([before[-1] ^ 0x01])}
    col = table.schema.get_field_index("video")
    pq.write_table(table.set_column(col, table.schema.field(col), [videos]), shard)
    after = load_config(folder, "probes", split="mute", cache_dir=cache)[0]["video"]["bytes"]
    assert after == videos[0]["bytes"] != before


def test_splits_columns_and_features_are_the_builds(twin_builds, tmp_path):
    import datasets

    first, _, _ = twin_builds
    dd = load_config(first, "probes", cache_dir=tmp_path / "hf")
    theirs = datasets.load_dataset(str(first), "probes", cache_dir=str(tmp_path / "hf2"))
    assert set(dd) == set(theirs) == {"original", "shift", "mute", "swap"}
    for split in dd:
        assert dd[split].features == theirs[split].features
        assert dd[split]["probe_id"] == theirs[split]["probe_id"]
    only = load_config(first, "probes", split="swap", columns=["probe_id", "label"], cache_dir=tmp_path / "hf")
    assert only.column_names == ["probe_id", "label"]


def test_what_is_not_a_build_is_named(tmp_path, twin_builds):
    first, _, _ = twin_builds
    with pytest.raises(ValueError, match=r"README\.md: no dataset card"):
        load_config(tmp_path, "probes")
    with pytest.raises(ValueError, match=r"no config 'preferences'; the card lists \['probes'\]"):
        load_config(first, "preferences")
    with pytest.raises(ValueError, match=r"no split 'muted'; it has \['mute', 'original', 'shift', 'swap'\]"):
        load_config(first, "probes", split="muted")
    gone = tmp_path / "gone" / "thud"
    shutil.copytree(first, gone)
    for f in (gone / "data" / "probes").glob("swap-*.parquet"):
        f.unlink()
    with pytest.raises(ValueError, match=r"split 'swap' names .*matches no file"):
        load_config(gone, "probes")
