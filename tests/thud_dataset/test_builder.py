"""The datasets builder and `thud build`, end to end on the synthetic source, decoded back."""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
from pathlib import Path

import datasets
import numpy as np
import pytest

from thud_dataset import ThudBuilder, build, media
from thud_dataset.hub.load import load_config
from thud_dataset.verify import measure_lag, onset_time, video_packets

PROBE_COLUMNS = {
    "probe_id", "pair_id", "clip_id", "dimension", "condition", "offset_s", "donor_clip_id", "video",
    "prompt", "choices", "label", "visual_event", "visual_time", "audio_event", "audio_time", "category",
    "edited_audio_time", "duration_s", "partition", "source", "audio",
}


def rows(out, config, split, columns=None):
    return load_config(out, config, split=split, columns=columns)


def decode_bytes(data: bytes, tmp: Path, name: str) -> media.DecodedAudio:
    path = tmp / name
    path.write_bytes(data)
    return media.decode_audio(path)


def test_load_dataset_gives_the_configs_splits_columns_and_counts(synthetic_build, tmp_path):
    """The spelling users know (in a cache of its own: datasets keys a folder's cache by its
    name and card, see thud_dataset.hub.load)."""
    out, report = synthetic_build
    load_dataset = functools.partial(datasets.load_dataset, cache_dir=str(tmp_path / "hf"))
    n_test = report.partitions["test"]
    n_train = report.partitions["train"]
    assert n_test + n_train == report.clips_used == 12 and not report.skipped
    probes = load_dataset(str(out), "probes")
    assert set(probes) == {"original", "shift", "mute", "swap"}
    assert probes["original"].num_rows == 3 * n_test
    assert probes["shift"].num_rows == 2 * n_test  # the default: two shifts per clip
    for split in ("mute", "swap"):
        assert probes[split].num_rows == n_test
    assert set(probes["shift"].column_names) == PROBE_COLUMNS
    assert {r for r in probes["original"]["partition"]} == {"test"}
    prefs = load_dataset(str(out), "preferences", split="train")
    # 3 originals, 2 shifts, mute, swap per train clip; no audio column there
    assert prefs.num_rows == 7 * n_train and {"chosen", "rejected"} <= set(prefs.column_names)
    assert "audio" not in prefs.column_names
    clips = load_dataset(str(out), "clips")
    assert clips["train"].num_rows == n_train and clips["test"].num_rows == n_test
    card = (out / "README.md").read_text()
    assert card.startswith("---\n") and "config_name: probes" in card
    saved = json.loads((out / "build_report.json").read_text())
    assert saved["settings"]["seed"] == 0 and len(saved["plan"]) == 12


def test_pairs_labels_and_ids(synthetic_build):
    out, _ = synthetic_build
    all_rows = [r for s in ("original", "shift", "mute", "swap") for r in rows(out, "probes", s, columns=[
        "probe_id", "pair_id", "clip_id", "dimension", "condition", "offset_s", "label", "donor_clip_id"])]
    assert len({r["probe_id"] for r in all_rows}) == len(all_rows)
    pairs = {}
    for r in all_rows:
        pairs.setdefault(r["pair_id"], []).append(r)
    for members in pairs.values():
        # an original and its intervened probes: one of mute / swap, the two shifts of sync
        assert len(members) == (3 if members[0]["dimension"] == "sync" else 2)
        assert len({m["clip_id"] for m in members}) == 1 and len({m["dimension"] for m in members}) == 1
        original, *others = sorted(members, key=lambda m: (m["condition"] != "original", m["offset_s"]))
        assert original["condition"] == "original" and original["label"] == "synced"
        for other in others:
            expected = {"shift": "delayed" if other["offset_s"] > 0 else "early", "mute": "silent", "swap": "mismatched"}
            assert other["label"] == expected[other["condition"]]
        if original["dimension"] == "sync":  # one early and one delayed shift of the same picture
            assert [o["label"] for o in others] == ["early", "delayed"]
    for r in all_rows:
        assert r["condition"] not in r["probe_id"] and r["clip_id"] not in r["probe_id"]
        if r["condition"] == "swap":
            assert r["donor_clip_id"] and r["donor_clip_id"] != r["clip_id"]


def test_shift_probes_decode_with_the_event_moved_by_tau(synthetic_build, tmp_path):
    out, _ = synthetic_build
    originals = {r["clip_id"]: r for r in rows(out, "probes", "original") if r["dimension"] == "sync"}
    taus = []
    for r in rows(out, "probes", "shift"):
        shifted = decode_bytes(r["video"]["bytes"], tmp_path, "s" + r["video"]["path"])
        original = decode_bytes(originals[r["clip_id"]]["video"]["bytes"], tmp_path, "o" + r["video"]["path"])
        sr = shifted.sample_rate
        # where the impact actually is in the decoded edited audio
        assert onset_time(shifted.samples, sr) == pytest.approx(r["audio_time"] + r["offset_s"], abs=0.001)
        assert r["edited_audio_time"] == pytest.approx(r["audio_time"] + r["offset_s"])
        assert onset_time(original.samples, sr) == pytest.approx(r["audio_time"], abs=0.001)
        lag = measure_lag(original.samples, shifted.samples, sr, max_lag_s=1.5)
        assert abs(lag / sr - r["offset_s"]) <= 0.001
        assert 0.2 <= r["audio_time"] + r["offset_s"] <= r["duration_s"] - 0.2
        taus.append(r["offset_s"])
    assert min(abs(t) for t in taus) >= 0.3 and any(t < 0 for t in taus) and any(t > 0 for t in taus)


def test_mute_and_swap_probes_decode_as_claimed(synthetic_build, tmp_path):
    out, _ = synthetic_build
    sources = {r["clip_id"]: r for r in rows(out, "clips", "test")}
    sources.update({r["clip_id"]: r for r in rows(out, "clips", "train")})
    for r in rows(out, "probes", "mute"):
        path = tmp_path / r["video"]["path"]
        path.write_bytes(r["video"]["bytes"])
        info = media.probe(path)
        assert info.audio is not None, "a muted probe must keep its audio stream"
        assert not np.any(media.decode_audio(path, info).samples)
    for r in rows(out, "probes", "swap"):
        swapped = decode_bytes(r["video"]["bytes"], tmp_path, "w" + r["video"]["path"])
        donor = decode_bytes(sources[r["donor_clip_id"]]["video"]["bytes"], tmp_path, "d" + r["video"]["path"])
        own = decode_bytes(sources[r["clip_id"]]["video"]["bytes"], tmp_path, "c" + r["video"]["path"])
        sr = swapped.sample_rate
        # the donor's impact sits at the recipient's visual time, and it is the donor's sound;
        # the exact placement is the lag below (1 ms): the onset only shows it is there, AAC
        # pre-echo (64 ms frames at 16 kHz) may lift a sharp impact's lead-in by ~10 ms
        assert onset_time(swapped.samples, sr) == pytest.approx(r["visual_time"], abs=0.015)
        want = round((r["visual_time"] - sources[r["donor_clip_id"]]["audio_time"]) * sr)
        assert abs(measure_lag(donor.samples, swapped.samples, sr, max_lag_s=2.0) - want) <= sr // 1000
        assert sources[r["donor_clip_id"]]["category"] != r["category"]
        n = min(own.samples.shape[1], swapped.samples.shape[1])
        assert not np.allclose(own.samples[:, :n], swapped.samples[:, :n], atol=1e-3)


def test_every_probe_keeps_the_source_video_packets_and_layout(synthetic_build, tmp_path):
    out, _ = synthetic_build
    sources = {r["clip_id"]: r for r in rows(out, "clips", "test")}
    by_clip: dict[str, list] = {}
    for split in ("original", "shift", "mute", "swap"):
        for r in rows(out, "probes", split):
            by_clip.setdefault(r["clip_id"], []).append(r)
    for clip_id, probes in by_clip.items():
        src = tmp_path / f"{clip_id}.mp4"
        src.write_bytes(sources[clip_id]["video"]["bytes"])
        packets = video_packets(src)
        durations = set()
        for r in probes:
            p = tmp_path / r["video"]["path"]
            p.write_bytes(r["video"]["bytes"])
            assert video_packets(p) == packets
            durations.add(media.probe(p).duration)
            assert r["video"]["path"].endswith(".mp4")
            assert hashlib.sha256(r["video"]["bytes"]).hexdigest().startswith(r["video"]["path"][:-4])
        assert max(durations) - min(durations) <= 1 / 25


def test_same_seed_same_bytes_other_seed_other_plan(synthetic_build, tmp_path):
    out, _ = synthetic_build
    again = tmp_path / "again"
    # a fresh media cache, so nothing is reused: the bytes are made anew
    build(again, num_clips=12, seed=0, media_cache_dir=str(tmp_path / "cache"), progress=False, num_proc=2)
    for f in sorted((out / "data").rglob("*.parquet")):
        twin = again / f.relative_to(out)
        assert twin.read_bytes() == f.read_bytes(), f"{f.relative_to(out)} differs between identical builds"
    other = tmp_path / "other"
    build(other, num_clips=12, seed=1, media_cache_dir=str(tmp_path / "cache"), progress=False, configs=("probes",))
    plan0 = {p["clip_id"]: (p["taus"], p["donor_clip_id"]) for p in json.loads((out / "build_report.json").read_text())["plan"]}
    plan1 = {p["clip_id"]: (p["taus"], p["donor_clip_id"]) for p in json.loads((other / "build_report.json").read_text())["plan"]}
    assert plan0.keys() == plan1.keys() and plan0 != plan1
    parts0 = {p["clip_id"]: p["partition"] for p in json.loads((out / "build_report.json").read_text())["plan"]}
    parts1 = {p["clip_id"]: p["partition"] for p in json.loads((other / "build_report.json").read_text())["plan"]}
    assert parts0 == parts1, "the seed must not move clips between train and test"


def test_builder_class_streams_and_shards(media_cache, tmp_path):
    builder = ThudBuilder(config_name="probes", num_clips=6, seed=0, shard_size=2, media_cache_dir=str(media_cache),
                          cache_dir=str(tmp_path / "hf"))
    streamed = builder.as_streaming_dataset(split="mute")
    first = next(iter(streamed))
    assert first["condition"] == "mute" and first["video"]["bytes"][4:8] == b"ftyp"
    gens = builder._split_generators(None)
    assert all(len(g.gen_kwargs["shards"]) >= 1 for g in gens)
    # prepared as a dataset: every clip materialized first (in 2 processes), then the rows
    builder.download_and_prepare(num_proc=2)
    mute = builder.as_dataset(split="mute")
    planned = [p for p in builder.prepared().plans if p.partition == "test"]
    assert sorted(mute["clip_id"]) == sorted(p.clip_id for p in planned)
    assert set(builder.prepared().media) == {p.clip_id for p in builder.prepared().plans}
    assert all(s.reason for s in builder.skipped)


def test_build_reports_skipped_clips_with_reasons(tmp_path, media_cache):
    from thud_dataset.sources.synthetic import render_clip

    data = tmp_path / "folder"
    data.mkdir()
    lines = []
    for i in range(3):
        clip = render_clip(i, 0, data / f"good{i}.mp4")
        lines.append({"file": f"good{i}.mp4", "visual_event": clip.visual_event, "visual_time": clip.visual_time,
                      "audio_event": clip.audio_event, "audio_time": clip.audio_time, "category": clip.category,
                      "split": "test"})
    (data / "corrupt.mp4").write_bytes(b"not a video at all" * 100)
    lines.append({"file": "corrupt.mp4", "visual_event": "x", "visual_time": 1.0, "audio_event": "y", "audio_time": 1.0})
    # a clip whose event sits so near its end that no offset keeps it inside with the margin
    shutil.copy(data / "good0.mp4", data / "late.mp4")
    lines.append({"file": "late.mp4", "visual_event": "x", "visual_time": 3.9, "audio_event": "y", "audio_time": 3.9,
                  "split": "test"})
    (data / "annotations.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    report = build(tmp_path / "out", source="local", data_dir=str(data), offsets=(0.5, 1.2), shifts_per_clip=1,
                   media_cache_dir=str(media_cache), progress=False, configs=("probes",))
    reasons = {s.clip_id: s.reason for s in report.skipped}
    assert report.clips_used == 3
    assert "corrupt" in reasons and "late" in reasons
    assert "inside the clip" in reasons["late"] and "3.900 s" in reasons["late"]
    summary = report.summary()
    assert "clips skipped: 2" in summary and "corrupt" in summary


def test_the_spelling_users_know_works_from_the_build_folder_without_torch(synthetic_build):
    import subprocess
    import sys

    out, _ = synthetic_build
    assert out.name == "thud"
    code = (
        "import sys; from datasets import load_dataset; "
        "d = load_dataset('thud', 'probes', split='shift'); r = d[0]; "
        "assert r['video']['bytes'][4:8] == b'ftyp', r['video']['path']; "
        "assert 'torch' not in sys.modules, 'loading rows imported torch'; print(len(d))"
    )
    env = {**__import__("os").environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    res = subprocess.run([sys.executable, "-c", code], cwd=out.parent, capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    assert int(res.stdout.strip().splitlines()[-1]) >= 1


def test_thud_build_cli_prints_the_summary_and_the_load_call(tmp_path, media_cache, capsys):
    from thud_cli.main import main

    out = tmp_path / "cli"
    code = main(["build", "--out", str(out), "--num-clips", "8", "--seed", "2",
                 "--cache-dir", str(media_cache), "--quiet"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    printed = captured.out
    assert "clips used:" in printed and "probes" in printed and "shift offsets" in printed
    assert (out / "data" / "probes").is_dir()
    # the exact call for what was written: its absolute path, never a bare name
    call = f'load_dataset("{out.resolve()}", "probes", split="shift")'
    assert call in printed
    assert "it/s" not in captured.err and "%|" not in captured.err  # --quiet: no bars
    assert main(["build", "--source", "local", "--out", str(tmp_path / "x")]) == 2


@pytest.mark.parametrize(
    "args, message",
    [
        (["--num-proc", "0"], "whole number >= 1"),
        (["--test-fraction", "1.5"], "from 0 to 1"),
        (["--test-fraction", "nan"], "from 0 to 1"),
        (["--margin", "-1"], "seconds >= 0"),
        (["--num-clips", "0"], "whole number >= 1"),
        (["--seed", "-3"], "whole number >= 0"),
        (["--offsets", "0.5,0"], "non-zero"),
        (["--configs", "probes,nope"], "configs must be some of"),
        (["--shifts-per-clip", "0"], "whole number >= 1"),
        (["--one-sided", "drop"], "invalid choice"),
        (["--preferences-gap-fill", "noise"], "invalid choice"),
    ],
)
def test_invalid_arguments_are_one_line_and_create_nothing(tmp_path, capsys, args, message):
    from thud_cli.main import main

    out = tmp_path / "new" / "thud"
    with pytest.raises(SystemExit) as exc:
        main(["build", "--out", str(out), *args])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "new").exists()


def test_the_protocol_options_reach_the_build_and_impossible_ones_say_why(tmp_path, media_cache, capsys):
    from thud_cli.main import main

    out = tmp_path / "sweep"
    code = main(["build", "--out", str(out), "--num-clips", "6", "--seed", "2", "--cache-dir", str(media_cache),
                 "--configs", "probes", "--shifts-per-clip", "8", "--gap-fill", "room_tone",
                 "--preferences-gap-fill", "silence", "--one-sided", "keep", "--no-audio-column", "--quiet"])
    assert code == 0, capsys.readouterr().err
    settings = json.loads((out / "build_report.json").read_text())["settings"]
    assert (settings["shifts_per_clip"], settings["one_sided"], settings["gap_fill"], settings["preferences_gap_fill"],
            settings["audio_column"]) == (8, "keep", "room_tone", "silence", False)
    shift = rows(out, "probes", "shift")
    # a sweep: every offset that fits each clip (all eight here), one probe each
    assert len(shift) == 8 * len(set(shift["clip_id"])) and "audio" not in shift.column_names
    assert "shifts per clip: 8  delayed:" in capsys.readouterr().out
    # offsets of one sign cannot give one early and one delayed shift: refused before anything is made
    code = main(["build", "--out", str(tmp_path / "never"), "--offsets", "0.5,1", "--cache-dir", str(media_cache)])
    err = capsys.readouterr().err
    assert code == 2 and "are all delayed" in err and "--shifts-per-clip 1" in err
    assert not (tmp_path / "never").exists()


def test_every_build_option_has_a_help_text():
    from thud_cli.main import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for action in sub.choices["build"]._actions:
        if action.dest != "help":
            assert action.help, f"thud build {action.option_strings} has no help text"


def _longest_digital_silence(samples: np.ndarray) -> int:
    quiet = np.all(np.abs(samples) < 1e-6, axis=0).astype(np.int8)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], quiet, [0]])))
    return int(np.max(edges[1::2] - edges[::2])) if len(edges) else 0


def test_room_tone_gap_fill_hides_where_the_gap_is(synthetic_build, tmp_path, media_cache):
    out, _ = synthetic_build
    toned = tmp_path / "toned"
    build(toned, num_clips=12, seed=0, gap_fill="room_tone", media_cache_dir=str(media_cache),
          progress=False, configs=("probes",))
    audio_time = {r["clip_id"]: r["audio_time"] for s in ("test", "train") for r in rows(out, "clips", s)}
    gaps = 0
    for split in ("shift", "swap"):
        plain = {r["probe_id"]: r for r in rows(out, "probes", split)}
        for r in rows(toned, "probes", split):
            sr_audio = decode_bytes(r["video"]["bytes"], tmp_path, "t" + r["video"]["path"])
            sr = sr_audio.sample_rate
            # the default (the paper's zeros) leaves a gap of digital silence as long as the
            # sound was moved (a swap moves the donor's event to the visual time); room tone
            # leaves none
            moved = abs(r["offset_s"]) if split == "shift" else abs(r["visual_time"] - audio_time[r["donor_clip_id"]])
            if moved >= 0.15:
                default = decode_bytes(plain[r["probe_id"]]["video"]["bytes"], tmp_path, "p" + r["video"]["path"])
                assert _longest_digital_silence(default.samples) >= 0.1 * sr
                gaps += 1
            assert _longest_digital_silence(sr_audio.samples) < 0.01 * sr
            # a swap's impact may lead by AAC pre-echo (see test_mute_and_swap_probes_decode_as_claimed)
            tol = 0.001 if split == "shift" else 0.015
            assert onset_time(sr_audio.samples, sr) == pytest.approx(r["edited_audio_time"], abs=tol)
    assert gaps >= 10  # every shift and most swaps
    settings = json.loads((toned / "build_report.json").read_text())["settings"]
    assert settings["gap_fill"] == "room_tone"


def test_a_clip_that_fails_to_materialize_is_skipped_and_its_recipients_get_new_donors(tmp_path):
    from tests.helpers.faults import synthetic_corpus
    from thud_dataset.builder import ThudConfig, materialize_all, prepare

    data = synthetic_corpus(tmp_path / "corpus", [], n=6)
    config = ThudConfig(name="probes", source="local", data_dir=str(data), media_cache_dir=str(tmp_path / "cache"))
    prep = prepare(config, progress=False)
    assert len(prep.plans) == 6
    victim = max({p.donor_clip_id for p in prep.plans}, key=lambda c: sum(p.donor_clip_id == c for p in prep.plans))
    recipients = {p.clip_id for p in prep.plans if p.donor_clip_id == victim}
    (data / f"{victim}.mp4").write_bytes(b"\x00" * 4096)  # damaged between check and materialization

    done = materialize_all(prep, config, num_proc=2, progress=False)
    skipped = {s.clip_id: s for s in done.skipped}
    assert victim in skipped and "cannot be materialized" in skipped[victim].reason
    assert f"{victim}.mp4" in skipped[victim].reason  # names the file
    assert {p.clip_id for p in done.plans} == {p.clip_id for p in prep.plans} - {victim}
    before = {p.clip_id: p for p in prep.plans}
    for p in done.plans:
        assert p.donor_clip_id != victim and p.donor_clip_id in done.clips
        if p.clip_id in recipients:
            assert p.taus == before[p.clip_id].taus  # only the donor changes
        else:
            assert p == before[p.clip_id]  # everyone else keeps the plan
        assert done.media[p.clip_id].plan == p  # and has its files
    assert set(done.media) == {p.clip_id for p in done.plans}


def test_a_worker_that_dies_takes_only_its_own_clip():
    from tests.helpers.faults import crash_on
    from thud_dataset.builder import run_isolated

    got = run_isolated(crash_on, [1, "crash", 3, 4], 2, lambda item: f"died: {item}", desc="x", progress=False)
    assert got == [2, "died: crash", 6, 8]
    assert run_isolated(crash_on, [1, 2], 1, str, desc="x", progress=False) == [2, 4]


def test_machine_errors_are_not_clip_errors():
    import errno

    from thud_dataset.builder import machine_error
    from thud_dataset.sources import ClipError

    full = OSError(errno.ENOSPC, "No space left on device")
    try:
        try:
            raise full
        except OSError as e:
            raise ClipError("x.mp4: cannot write") from e
    except ClipError as wrapped:
        assert machine_error(wrapped) is full
    assert machine_error(OSError(errno.ENOENT, "gone")) is None
    assert machine_error(ValueError("bad clip")) is None


def test_two_shift_probes_per_test_clip_one_early_one_delayed_and_every_pair_scored(synthetic_build):
    """The default build: each usable test clip has two shift probes of its one picture, one
    early and one delayed, both paired with its original sync probe; the metric counts each
    (original, shift) couple as a pair."""
    from thud_metrics import score_probes

    out, report = synthetic_build
    columns = ["probe_id", "pair_id", "clip_id", "dimension", "condition", "offset_s", "label",
               "edited_audio_time", "audio_time", "video"]
    split = {s: list(rows(out, "probes", s, columns=columns)) for s in ("original", "shift", "mute", "swap")}
    test_clips = {r["clip_id"] for r in split["original"]}
    assert len(test_clips) == report.partitions["test"] >= 4
    shifts: dict[str, list] = {}
    for r in split["shift"]:
        shifts.setdefault(r["clip_id"], []).append(r)
        assert r["edited_audio_time"] == pytest.approx(r["audio_time"] + r["offset_s"])
    assert set(shifts) == test_clips
    sync_pair = {r["clip_id"]: r["pair_id"] for r in split["original"] if r["dimension"] == "sync"}
    for clip_id, pair in shifts.items():
        assert sorted(r["label"] for r in pair) == ["delayed", "early"]
        assert {r["pair_id"] for r in pair} == {sync_pair[clip_id]}  # both pair with the original
        assert len({r["video"]["path"] for r in pair}) == 2  # two files
    # the report and the card list the offsets of every clip
    plan = {p.clip_id: p.taus for p in report.plan}
    assert all(sorted(r["offset_s"] for r in shifts[c]) == list(plan[c]) for c in test_clips)
    assert report.directions == {"delayed": 12, "early": 12}
    card = (out / "README.md").read_text()
    for clip_id, taus in plan.items():
        assert f"| `{clip_id}` |" in card and ", ".join(f"{t:+g}" for t in taus) in card

    probes = [r for s in split.values() for r in s]
    # a listener that gets every probe right but the early shift of one clip
    miss = min(test_clips)
    answers = [
        ("delayed" if r["label"] == "early" and r["clip_id"] == miss else r["label"]) for r in probes
    ]
    scores = score_probes(
        answers, [r["label"] for r in probes], [r["condition"] for r in probes], [r["dimension"] for r in probes],
        [r["pair_id"] for r in probes], [r["offset_s"] for r in probes], [r["clip_id"] for r in probes],
        n_resamples=0,
    )
    n = len(test_clips)
    assert scores["counts"]["pairs"] == {"sync": 2 * n, "existence": n, "consistency": n}
    assert scores["pair_accuracy"]["sync"] == pytest.approx((2 * n - 1) / (2 * n))
    assert scores["accuracy"]["sync"]["shift"] == pytest.approx((2 * n - 1) / (2 * n))
    assert scores["rates"]["wrong_direction"] == pytest.approx(1 / (2 * n))
    # the default bands hold one default |tau| each: every magnitude drawn lands in its own band
    bands = {k: v["n"] for k, v in scores["accuracy_by_offset"].items() if k != "synced"}
    assert list(bands) == ["0-0.4 s", "0.4-0.65 s", "0.65-1 s", "≥1 s"] and sum(bands.values()) == 2 * n
    band_of = {0.3: "0-0.4 s", 0.5: "0.4-0.65 s", 0.8: "0.65-1 s", 1.2: "≥1 s"}
    drawn = {abs(r["offset_s"]) for r in split["shift"]}
    assert {b for b, k in bands.items() if k} == {band_of[m] for m in drawn}


_READ_AUDIO_COLUMN = """
import io, json, sys
import numpy as np, soundfile as sf
from datasets import load_dataset
from thud_dataset.verify import onset_time
got = []
for r in load_dataset(sys.argv[1], "probes", split="shift"):
    info = sf.info(io.BytesIO(r["audio"]["bytes"]))
    x, sr = sf.read(io.BytesIO(r["audio"]["bytes"]), dtype="float32", always_2d=True)
    np.save(sys.argv[2] + "/" + r["probe_id"] + ".npy", x.T)
    got.append({"probe_id": r["probe_id"], "subtype": info.subtype, "sr": sr, "onset": onset_time(x.T, sr),
                "event": r["audio_time"] + r["offset_s"], "path": r["audio"]["path"]})
assert "torch" not in sys.modules, "reading the audio column imported torch"
print(json.dumps(got))
"""


def test_the_audio_column_is_what_a_decoder_hears_in_the_mp4_read_without_torch(synthetic_build, tmp_path):
    import subprocess
    import sys

    out, _ = synthetic_build
    res = subprocess.run([sys.executable, "-c", _READ_AUDIO_COLUMN, str(out), str(tmp_path)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    read = {g["probe_id"]: g for g in json.loads(res.stdout.strip().splitlines()[-1])}
    shift = {r["probe_id"]: r for r in rows(out, "probes", "shift", columns=["probe_id", "video", "audio"])}
    assert read.keys() == shift.keys() and len(read) >= 8
    for probe_id, g in read.items():
        # the event where the shift put it, to the millisecond
        assert g["onset"] == pytest.approx(g["event"], abs=0.001), probe_id
        # sample for sample what PyAV decodes from the probe's own mp4, at its own rate
        decoded = decode_bytes(shift[probe_id]["video"]["bytes"], tmp_path, shift[probe_id]["video"]["path"])
        samples = np.load(tmp_path / f"{probe_id}.npy")
        assert g["sr"] == decoded.sample_rate and g["subtype"] == "FLOAT"
        assert samples.shape == decoded.samples.shape and np.array_equal(samples, decoded.samples), probe_id
        assert g["path"].endswith(".wav") and hashlib.sha256(shift[probe_id]["audio"]["bytes"]).hexdigest().startswith(g["path"][:-4])
    # the column is typed Audio: a cast with torchcodec decodes it (README); stored undecoded
    from datasets import Audio

    features = rows(out, "probes", "mute").features
    assert features["audio"] == Audio(decode=False)


def test_no_audio_column_on_request(synthetic_build, tmp_path, media_cache):
    out, _ = synthetic_build
    bare = tmp_path / "bare"
    report = build(bare, num_clips=12, seed=0, media_cache_dir=str(media_cache), progress=False,
                   configs=("probes",), audio_column=False)
    assert report.settings.audio_column is False
    shift = rows(bare, "probes", "shift")
    assert "audio" not in shift.column_names and set(shift.column_names) == PROBE_COLUMNS - {"audio"}
    # the same probes otherwise: ids and videos
    full = rows(out, "probes", "shift", columns=["probe_id", "video"])
    assert shift.select_columns(["probe_id", "video"]).to_list() == full.to_list()
    card = (bare / "README.md").read_text()
    assert "| `audio` |" not in card and "| `audio` |" in (out / "README.md").read_text()


@pytest.mark.parametrize("audio_column", [True, False])
def test_shards_are_cut_by_the_bytes_the_rows_really_hold(tmp_path, media_cache, monkeypatch, audio_column):
    # the shard planner's estimate of a probe split, against the parquet it becomes: the
    # audio column (float32 WAVs, several times the mp4) must be counted at its real size
    from thud_dataset.hub import shards

    estimates: dict[tuple[str, str], int] = {}
    real_clip_bytes = shards._clip_bytes

    def spy(config, split, work, cache, sizes, wav=0):
        n = real_clip_bytes(config, split, work, cache, sizes, wav)
        estimates[config, split] = estimates.get((config, split), 0) + n
        return n

    monkeypatch.setattr(shards, "_clip_bytes", spy)
    report = build(tmp_path / "out", num_clips=12, seed=0, media_cache_dir=str(media_cache), progress=False,
                   configs=("probes",), audio_column=audio_column)
    written: dict[tuple[str, str], int] = {}
    for f in report.files:
        written[f.config, f.split] = written.get((f.config, f.split), 0) + f.num_bytes
    assert written.keys() == estimates.keys() and len(written) == 4
    for key, size in written.items():
        assert 0.8 * size <= estimates[key] <= 1.25 * size, (key, estimates[key], size)
