"""The lmms-eval task: its yaml, its functions, its canaries, the samples reader, the wrapper,
and (where lmms-eval is installed) real runs through the simple and the chat interface.

lmms-eval is not a Thud dependency (it pins ``av<16`` and pulls CUDA torch), so CI tests the
task's functions directly and the end-to-end runs are skipped unless an ``lmms-eval``
executable is found (``$THUD_LMMS_EVAL`` or ``PATH``) in an environment where Thud is
installed; see docs/harnesses.md for the setup.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

from thud_dataset.verify import measure_lag, onset_time
from thud_models.lmms_eval_task import LMMS_EVAL_TASK_DIR, TASK, write_task_config
from thud_models.lmms_eval_task.__main__ import main as task_main

UTILS_PATH = Path(LMMS_EVAL_TASK_DIR) / "utils.py"
N_CANARIES = 8
SR = 16000


def _load_utils():
    """utils.py the way lmms-eval loads it: by file path, as a module named ``utils``."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("utils", UTILS_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def utils():
    return _load_utils()


@pytest.fixture(scope="module")
def docs(synthetic_build, utils):
    """The docs as lmms-eval gets them: all four splits as one ``test`` split, then process_docs."""
    import datasets

    out, _ = synthetic_build
    ds = datasets.load_dataset(str(out), "probes", data_files={"test": "data/probes/*.parquet"})[
        "test"
    ]
    return utils.process_docs(ds)


@pytest.fixture(scope="module")
def probe_docs(docs):
    return [d for d in docs if d["kind"] == "probe"]


@pytest.fixture(scope="module")
def rows_by_id(synthetic_build):
    import datasets

    out, _ = synthetic_build
    ds = datasets.load_dataset(str(out), "probes", data_files={"test": "data/probes/*.parquet"})[
        "test"
    ]
    return {r["probe_id"]: r for r in ds.remove_columns("video")}


def varied_answer(doc: dict) -> str:
    """Answers that are right on some probes and wrong on others (deterministic), in text
    or letter form, with an unreadable one now and then."""
    h = int(hashlib.sha256(doc["probe_id"].encode()).hexdigest(), 16)
    letters = "ABC"[: len(doc["choices"])]
    if h % 7 == 0:
        return "I am not sure."
    if h % 2:
        return f"({letters[doc['choices'].index(doc['label'])]})"  # right
    return f"{letters[(h // 2) % len(letters)]}. Because of what I see."


def _silenced(path: str, work: Path) -> str:
    """The same video packets with digital silence as the audio: what a deaf path delivers."""
    from thud_dataset.media import encode_audio, mux, probe, read_video_packets

    with read_video_packets(path) as packets:
        data = mux(packets, encode_audio(np.zeros((1, round(probe(path).duration * SR)), np.float32), SR))
    out = work / f"deaf-{Path(path).name}"
    out.write_bytes(data)
    return str(out)


def _answers(docs, utils, answer_probe, answer_canary) -> list[str]:
    return [
        answer_canary(d) if d["kind"] == "canary" else answer_probe(d) for d in docs
    ]


@pytest.fixture(scope="module")
def signal_answers(docs, utils):
    """The signal baseline (no weights) hearing each doc's own file."""
    from thud_models.baselines.signal import SignalBaseline

    listener = SignalBaseline()
    return [listener.answer(utils.video_path(d), utils.doc_to_text(d)) for d in docs]


@pytest.fixture(scope="module")
def deaf_answers(docs, utils, signal_answers, tmp_path_factory):
    """The signal baseline where the sound never arrives (canaries: the picture, silence)."""
    from thud_models.baselines.signal import SignalBaseline

    listener, work = SignalBaseline(), tmp_path_factory.mktemp("deaf")
    return [
        listener.answer(_silenced(utils.video_path(d), work), utils.doc_to_text(d))
        if d["kind"] == "canary"
        else a
        for d, a in zip(docs, signal_answers, strict=True)
    ]


def _records(docs, utils, answers) -> list[dict]:
    return [utils.process_results(d, [a]) for d, a in zip(docs, answers, strict=True)]


def _aggregate(utils, records, name, args=None):
    fn = getattr(utils, f"agg_{name}")
    items = [r[name] for r in records]
    return fn(items, args=args) if name in utils.AUDIO_METRICS else fn(items)


# -- the yaml --------------------------------------------------------------------------------


def _yaml(path: Path) -> dict:
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor(
        "!function", lambda loader, node: ("!function", loader.construct_scalar(node))
    )
    return yaml.load(path.read_text(), Loader=Loader)


def test_yaml_names_existing_functions_and_metrics(utils):
    config = _yaml(Path(LMMS_EVAL_TASK_DIR) / "thud.yaml")
    assert config["task"] == TASK == "thud_probes" and config["dataset_name"] == "probes"
    assert config["dataset_path"] == "./thud"  # the quick-start folder
    assert config["dataset_kwargs"]["data_files"] == {"test": "data/probes/*.parquet"}
    assert config["test_split"] == "test" and config["output_type"] == "generate_until"
    assert config["doc_to_visual"] == ("!function", "utils.doc_to_visual")
    assert config["doc_to_messages"] == ("!function", "utils.doc_to_messages")
    functions = [v[1] for v in config.values() if isinstance(v, tuple)]
    functions += [m["aggregation"][1] for m in config["metric_list"]]
    for name in functions:
        module, attr = name.split(".")
        assert module == "utils" and callable(getattr(utils, attr)), name
    assert [m["metric"] for m in config["metric_list"]] == [*utils.METRICS, *utils.AUDIO_METRICS]
    lower = {m["metric"] for m in config["metric_list"] if not m["higher_is_better"]}
    assert lower == {
        "avg_gap",
        "gap_sync",
        "gap_existence",
        "gap_consistency",
        "mute_hallucination",
        "unparseable_rate",
    }
    # every per-model entry is a valid setting (a typo would silently fall back to defaults)
    per_model = config["lmms_eval_specific_kwargs"]
    for model, entry in per_model.items():
        assert set(entry) <= set(utils.SETTINGS), model
        utils.settings(entry)
    assert per_model["openai"]["audio_block"] == "data_url"
    assert per_model["gemini"]["audio_block"] == "none"
    assert per_model["minicpm_o"]["visual_audio"] == "separate"


def test_write_task_config(synthetic_build, tmp_path):
    out, _ = synthetic_build
    path = write_task_config(out, tmp_path / "task")
    config = yaml.safe_load(path.read_text())
    assert path.name == "thud_probes.yaml"
    assert config == {
        "include": str(Path(LMMS_EVAL_TASK_DIR) / "thud.yaml"),
        "task": "thud_probes",
        "dataset_path": str(Path(out).resolve()),
    }
    hub = yaml.safe_load(
        write_task_config("org/thud", tmp_path / "hub", task="thud_hub").read_text()
    )
    assert hub["dataset_path"] == "org/thud" and hub["task"] == "thud_hub"
    with pytest.raises(FileNotFoundError, match="neither an existing folder nor a Hub id"):
        write_task_config(tmp_path / "nope" / "x", tmp_path)
    with pytest.raises(FileNotFoundError, match="data/probes"):
        write_task_config(tmp_path, tmp_path / "t")
    with pytest.raises(ValueError, match="task must be"):
        write_task_config("org/thud", tmp_path, task="my task")


def test_settings_reject_unknown_values(utils):
    assert utils.settings(None)["audio_rate"] == 16000
    with pytest.raises(ValueError, match="audio_block"):
        utils.settings({"audio_block": "mp3"})
    with pytest.raises(ValueError, match="visual_audio"):
        utils.settings({"visual_audio": "both"})
    with pytest.raises(ValueError, match="audio_rate"):
        utils.settings({"audio_rate": 0})


# -- the docs --------------------------------------------------------------------------------


def test_docs_are_the_canaries_then_all_probes_with_pairs_together(docs, rows_by_id):
    from thud_models.canaries import build_canaries

    canaries = build_canaries()
    assert len(docs) == len(canaries) + len(rows_by_id) and len(canaries) == N_CANARIES
    head = docs.select(range(N_CANARIES))
    assert head["kind"] == ["canary"] * N_CANARIES
    assert head["canary_id"] == [c.canary_id for c in canaries]
    assert head["pair_id"][0::2] == head["pair_id"][1::2]  # each canary pair adjacent
    probes = docs.select(range(N_CANARIES, len(docs)))
    assert set(probes["kind"]) == {"probe"} and set(probes["probe_id"]) == set(rows_by_id)
    # a pair's original comes right before its intervened probes (two shifts), clip by clip
    first = probes.select(range(7))
    assert len(set(first["clip_id"])) == 1
    assert first["condition"] == ["original", "shift", "shift", "original", "mute", "original", "swap"]
    assert len(set(first["pair_id"][:3])) == 1


def _media_dicts(value) -> list:
    """Every dict inside ``value`` that lmms-eval would treat as media (``bytes``/``array``)."""
    if isinstance(value, dict):
        own = [value] if ("bytes" in value or "array" in value) else []
        return own + [d for v in value.values() for d in _media_dicts(v)]
    if isinstance(value, (list, tuple)):
        return [d for v in value for d in _media_dicts(v)]
    return []


def test_docs_keep_no_video_lmms_eval_would_log(docs, rows_by_id):
    """lmms-eval logs the doc without raw bytes, and inlines any {"bytes"} dict up to 300 KB
    as base64 ``input_media``: a doc holds its video as raw bytes only."""
    for doc in docs:
        assert not _media_dicts(doc)
        assert isinstance(doc["video_bytes"], bytes) and doc["video_name"].endswith(".mp4")
        logged = {k: v for k, v in doc.items() if not isinstance(v, bytes)}
        assert len(json.dumps(logged)) < 2000


def test_doc_functions(probe_docs, utils):
    from thud_dataset.media import probe

    doc = probe_docs[0]
    (path,) = utils.doc_to_visual(doc)
    assert path.endswith(".mp4") and probe(path).audio is not None  # the audio is in the file
    assert Path(path).read_bytes() == doc["video_bytes"]
    assert utils.doc_to_text(doc) == doc["prompt"]
    assert (
        utils.doc_to_text(doc, {"pre_prompt": "<v> ", "post_prompt": "\nLetter only."})
        == f"<v> {doc['prompt']}\nLetter only."
    )
    assert utils.doc_to_target(doc) == doc["label"]
    records = utils.process_results(doc, ["B"])
    assert set(records) == {*utils.METRICS, *utils.AUDIO_METRICS}
    assert records["avg_gap"] == {
        "kind": "probe",
        "probe_id": doc["probe_id"],
        "pair_id": doc["pair_id"],
        "clip_id": doc["clip_id"],
        "dimension": doc["dimension"],
        "condition": doc["condition"],
        "label": doc["label"],
        "offset_s": doc["offset_s"],
        "answer": "B",
    }
    assert utils.process_results(doc, [["C", "A"]])["avg_gap"]["answer"] == "C"


def test_canary_docs_and_records(docs, utils):
    from thud_models.canaries import build_canaries

    by_id = {c.canary_id: c for c in build_canaries()}
    for doc in docs.select(range(N_CANARIES)):
        c = by_id[doc["canary_id"]]
        assert Path(utils.video_path(doc)).read_bytes() == Path(c.path).read_bytes()
        assert utils.doc_to_text(doc) == c.prompt and utils.doc_to_target(doc) == str(c.expected)
        record = utils.process_results(doc, ["3"])["audio_reached"]
        assert record == {"kind": "canary", "canary_id": c.canary_id, "pair_id": c.pair,
                          "canary_kind": c.kind, "variant": c.variant, "label": str(c.expected),
                          "answer": "3"}  # fmt: skip


# -- what chat classes get: the audio block ----------------------------------------------------


def _block(messages: list[dict]) -> list[dict]:
    (turn,) = messages
    assert turn["role"] == "user"
    return turn["content"]


def test_doc_to_messages_sends_video_audio_and_prompt(probe_docs, utils):
    doc = probe_docs[1]
    video, audio, text = _block(utils.doc_to_messages(doc))
    assert video == {"type": "video", "url": utils.video_path(doc)}
    assert audio["type"] == "audio" and audio["url"].endswith("-16000.wav")
    assert text == {"type": "text", "text": doc["prompt"]}
    # the data URL form carries the same WAV bytes; `none` sends no audio block
    _, data_url, _ = _block(utils.doc_to_messages(doc, {"audio_block": "data_url"}))
    head, payload = data_url["url"].split(",", 1)
    assert head == "data:audio/wav;base64"
    import base64

    assert base64.b64decode(payload) == Path(audio["url"]).read_bytes()
    assert [c["type"] for c in _block(utils.doc_to_messages(doc, {"audio_block": "none"}))] == [
        "video",
        "text",
    ]
    # other rates are other files, resampled
    _, audio_24k, _ = _block(utils.doc_to_messages(doc, {"audio_rate": 24000}))
    assert sf.info(audio_24k["url"]).samplerate == 24000
    # simple classes that want frames and audio apart (minicpm_o): [[path, audio]]
    ((path, array),) = utils.doc_to_visual(doc, {"visual_audio": "separate"})
    samples, _ = sf.read(audio["url"], dtype="float32", always_2d=True)
    assert path == utils.video_path(doc) and array["sampling_rate"] == SR
    np.testing.assert_array_equal(array["array"], samples.mean(axis=1))


def test_audio_block_decodes_to_the_probe_audio_shift_lands_at_tau(probe_docs, utils, rows_by_id):
    """The block's samples are the probe's audio: the shifted event is at its recorded time,
    tau after the original's, and a muted probe's block is digital silence."""
    from thud_dataset.media import decode_audio

    def block_samples(doc):
        _, audio, _ = _block(utils.doc_to_messages(doc))
        samples, rate = sf.read(audio["url"], dtype="float32", always_2d=True)
        assert rate == SR
        return samples.T

    originals = {
        d["clip_id"]: d for d in probe_docs if d["condition"] == "original" and d["dimension"] == "sync"
    }
    shifts = [d for d in probe_docs if d["condition"] == "shift"]
    assert shifts and {d["offset_s"] > 0 for d in shifts} == {True, False}
    for doc in shifts:
        row = rows_by_id[doc["probe_id"]]
        shifted, original = block_samples(doc), block_samples(originals[doc["clip_id"]])
        assert onset_time(shifted, SR) == pytest.approx(row["edited_audio_time"], abs=0.001)
        assert onset_time(original, SR) == pytest.approx(row["audio_time"], abs=0.001)
        lag = measure_lag(original, shifted, SR, max_lag_s=1.5)
        assert abs(lag / SR - doc["offset_s"]) <= 0.001
        # the same length as the probe's own track: nothing cut, nothing padded
        own = decode_audio(utils.video_path(doc))
        assert abs(shifted.shape[1] / SR - own.samples.shape[1] / own.sample_rate) < 1e-3
    for doc in (d for d in probe_docs if d["condition"] == "mute"):
        assert not np.any(block_samples(doc))


# -- the scores ------------------------------------------------------------------------------


def test_aggregations_are_the_thud_gap_numbers(docs, probe_docs, utils):
    from thud_metrics import score_probes

    answers = _answers(docs, utils, varied_answer, lambda d: "A")
    records = _records(docs, utils, answers)
    probe_answers = [varied_answer(d) for d in probe_docs]
    expected = score_probes(
        probe_answers, [d["label"] for d in probe_docs], [d["condition"] for d in probe_docs],
        [d["dimension"] for d in probe_docs], [d["pair_id"] for d in probe_docs],
        [d["offset_s"] for d in probe_docs], [d["clip_id"] for d in probe_docs], n_resamples=0,
    )  # fmt: skip
    got = {name: _aggregate(utils, records, name) for name in utils.METRICS}
    assert got["avg_gap"] == pytest.approx(expected["avg_gap"])
    assert got["pair_acc_existence"] == pytest.approx(expected["pair_accuracy"]["existence"])
    assert got["acc_sync_shift"] == pytest.approx(expected["accuracy"]["sync"]["shift"])
    assert got["acc_consistency_original"] == pytest.approx(
        expected["accuracy"]["consistency"]["original"]
    )
    assert got["mute_hallucination"] == pytest.approx(expected["rates"]["mute_hallucination"])
    assert (
        got["unparseable_rate"] == pytest.approx(expected["unparseable_rate"])
        and got["unparseable_rate"] > 0
    )
    assert 0 < got["avg_pair_acc"] < 1  # the answers are mixed, so is the score
    # a --limit run that cut a pair: its orphan intervened probe is left out, not a crash
    probe_records = [r["avg_gap"] for r in records[N_CANARIES:]]
    assert not math.isnan(utils.agg_avg_gap(probe_records[:5]))  # 2 whole pairs + an original
    assert math.isnan(utils.agg_avg_gap([probe_records[1]]))  # a shift probe alone
    assert math.isnan(utils.agg_avg_gap([r["avg_gap"] for r in records[:N_CANARIES]]))


def test_judge_reads_what_the_rules_cannot(docs, probe_docs, utils, monkeypatch):
    """THUD_JUDGE=module:function is asked about the unreadable answers only."""
    answers = _answers(docs, utils, lambda d: "hmm", lambda d: "A")
    records = _records(docs, utils, answers)
    assert _aggregate(utils, records, "unparseable_rate") == 1.0
    monkeypatch.setenv("THUD_JUDGE", "thud_dataset.vocab:no_such_judge")
    with pytest.raises(ValueError, match="THUD_JUDGE"):
        _aggregate(utils, records, "unparseable_rate")
    monkeypatch.setenv("THUD_JUDGE", "tests.thud_models.test_lmms_eval_task:judge_synced")
    assert _aggregate(utils, records, "unparseable_rate") == 0.0
    assert _aggregate(utils, records, "acc_sync_original") == 1.0


def judge_synced(answer: str, dimension: str | None) -> str:
    """A judge for the test above: every unreadable answer means "synced"."""
    return "synced"


# -- the audio-path check --------------------------------------------------------------------


def test_a_listening_model_reaches_a_deaf_one_does_not(docs, utils, signal_answers, deaf_answers):
    class Args:
        model, model_args = "my_model", "pretrained=x"

    heard = _records(docs, utils, signal_answers)
    assert _aggregate(utils, heard, "audio_reached", Args()) == "yes"
    assert "4 of 4" in _aggregate(utils, heard, "audio_check")
    deaf = _records(docs, utils, deaf_answers)
    assert _aggregate(utils, deaf, "audio_reached", Args()) == "no"
    assert "lost on the way or ignored" in _aggregate(utils, deaf, "audio_check")
    result = utils.audio_check([r["audio_reached"] for r in deaf], Args())
    assert result.answerer == "my_model (pretrained=x)" and result.counts["same"] == 4
    # the probe scores do not see the canaries: same numbers either way
    assert _aggregate(utils, heard, "avg_gap") == _aggregate(utils, deaf, "avg_gap")


def test_audio_check_without_whole_canary_pairs_cannot_tell(docs, utils, signal_answers):
    records = _records(docs, utils, signal_answers)
    assert _aggregate(utils, records[N_CANARIES:], "audio_reached") == "cannot tell"
    assert "no canary pair" in _aggregate(utils, records[N_CANARIES:], "audio_check")
    # a --limit that cut the last pair in half: the other pairs still decide
    assert _aggregate(utils, records[: N_CANARIES - 1], "audio_reached") == "yes"
    # failed calls (lmms-eval answers "" for a request that raised) are unreadable
    failed = [dict(r, audio_reached=dict(r["audio_reached"], answer="")) for r in records]
    assert _aggregate(utils, failed, "audio_reached") == "cannot tell"


def test_identical_refusals_count_as_not_reaching(docs, utils, signal_answers):
    refusing = _answers(docs, utils, varied_answer, lambda d: "I'm sorry, I cannot process audio.")
    assert _aggregate(utils, _records(docs, utils, refusing), "audio_reached") == "no"


def _has_refused_reading() -> bool:
    from thud_metrics.parsing import parse_answer

    return parse_answer("I'm sorry, I cannot process audio.", dimension="existence") == "refused"


@pytest.mark.xfail(
    not _has_refused_reading(),
    reason="varied refusals are one reading only once the parser reads refusals as `refused`",
    strict=True,
)
def test_varied_refusals_count_as_not_reaching(docs, utils):
    words = ["I'm sorry, I cannot process audio.", "As an AI, I can't listen to sound.",
             "I am unable to hear audio in videos.", "Sorry, I don't have access to the audio."]  # fmt: skip
    # two different refusals in every pair (the first member of a pair gets the even one)
    firsts = set(docs.select(range(0, N_CANARIES, 2))["canary_id"])
    refusing = _answers(docs, utils, varied_answer,
                        lambda d: words[(d["canary_id"] not in firsts) + 2 * (d["canary_kind"] == "count")])  # fmt: skip
    per_pair = {}
    for d, a in zip(docs, refusing, strict=True):
        if d["kind"] == "canary":
            per_pair.setdefault(d["pair_id"], set()).add(a)
    assert all(len(v) == 2 for v in per_pair.values())  # the words differ within every pair
    assert _aggregate(utils, _records(docs, utils, refusing), "audio_reached") == "no"


# -- lmms-eval's samples files through `thud score` ------------------------------------------


def _write_run(docs, utils, answers, out: Path, model: str = "my_model") -> Path:
    """A run's samples file and results file in lmms-eval 0.7's layout, from the task's own
    functions (the records lmms-eval logs per sample, the aggregations it puts in the table)."""
    out.mkdir(parents=True, exist_ok=True)
    records = _records(docs, utils, answers)
    samples = out / f"20260101_000000_samples_{TASK}.jsonl"
    with samples.open("w") as fh:
        for i, (doc, answer, rec) in enumerate(zip(docs, answers, records, strict=True)):
            logged = {"doc_id": i, "target": utils.doc_to_target(doc), "filtered_resps": answer,
                      "token_counts": [None], "doc_hash": "x", **rec, "input": utils.doc_to_text(doc)}  # fmt: skip
            fh.write(json.dumps(logged) + "\n")
    table = {f"{m},none": _aggregate(utils, records, m) for m in (*utils.METRICS, *utils.AUDIO_METRICS)}
    results = {"results": {TASK: {"alias": TASK, **table}},
               "config": {"model": model, "model_args": "x=1"}, "lmms_eval_version": "0.7.3"}  # fmt: skip
    (out / "20260101_000000_results.json").write_text(json.dumps(results))
    return samples


def _score(predictions: Path, dataset: Path, out_dir: Path, capsys=None) -> tuple[dict, str]:
    from thud_cli.main import main

    code = main(["score", str(predictions), "--dataset", str(dataset), "--no-plots", "--n-resamples", "0",
                 "--out-dir", str(out_dir)])  # fmt: skip
    assert code == 0
    (result,) = json.loads((out_dir / "results.json").read_text())["models"].values()
    result.pop("run")
    return result, capsys.readouterr().out if capsys else ""


def test_score_reads_lmms_eval_samples_like_plain_predictions(docs, utils, synthetic_build, tmp_path):
    """A samples file in lmms-eval 0.7's layout and the plain {probe_id, answer} file of the
    same answers give the same numbers; the canary samples are not probes."""
    from thud_metrics.predictions import read_predictions

    out, _ = synthetic_build
    answers = _answers(docs, utils, varied_answer, lambda d: "A")
    samples = _write_run(docs, utils, answers, tmp_path / "run")
    plain = tmp_path / "plain.jsonl"
    plain.write_text("".join(json.dumps({"probe_id": d["probe_id"], "answer": a}) + "\n"
                             for d, a in zip(docs, answers, strict=True) if d["kind"] == "probe"))  # fmt: skip
    from_samples, _ = _score(samples, out, tmp_path / "s")
    assert from_samples == _score(plain, out, tmp_path / "p")[0]
    assert 0 < from_samples["avg_pair_accuracy"] < 1
    pset = read_predictions(samples)
    assert pset.format == "lmms-eval-samples" and pset.meta["model"] == "my_model (x=1)"
    assert len(pset.answers) == len(docs) - N_CANARIES and len(pset.meta["canaries"]) == N_CANARIES


def test_thud_score_warns_when_the_canaries_say_the_audio_did_not_reach(
    docs, utils, synthetic_build, tmp_path, signal_answers, deaf_answers, capsys
):
    out, _ = synthetic_build
    deaf = _write_run(docs, utils, deaf_answers, tmp_path / "deaf")
    _, printed = _score(deaf, out, tmp_path / "sd", capsys)
    assert "audio path check: does_not_reach" in printed
    assert "WARNING: the audio never reached the model; these scores measure the serving path" in printed
    heard = _write_run(docs, utils, signal_answers, tmp_path / "heard")
    _, printed = _score(heard, out, tmp_path / "sh", capsys)
    assert "audio path check: reaches" in printed and "WARNING" not in printed


def test_samples_without_their_results_file_or_canaries_cannot_tell(docs, utils, tmp_path):
    from thud_metrics.predictions import read_predictions

    answers = _answers(docs, utils, varied_answer, lambda d: "A")
    samples = _write_run(docs, utils, answers, tmp_path / "a")
    samples.with_name("20260101_000000_results.json").unlink()
    check = read_predictions(samples).meta["audio_check"]
    assert check["verdict"] == "cannot_tell" and "results file" in check["reason"]
    old = tmp_path / f"x_samples_{TASK}.jsonl"  # a run of the task before it had canaries
    old.write_text("".join(line for line in samples.read_text().splitlines(True) if '"canary_id"' not in line))
    check = read_predictions(old).meta["audio_check"]
    assert check["verdict"] == "cannot_tell" and "thud check-audio" in check["reason"]


def test_lmms_eval_samples_with_foreign_ids_are_refused(synthetic_build, tmp_path, capsys):
    from thud_cli.main import main

    out, _ = synthetic_build
    bad = tmp_path / "x_samples_thud.jsonl"
    bad.write_text(
        json.dumps({"doc_id": 0, "filtered_resps": "A", "doc": {"probe_id": "not-a-probe"}}) + "\n"
    )
    assert (
        main(["score", str(bad), "--dataset", str(out), "--no-plots", "--out-dir", str(tmp_path)])
        == 2
    )
    err = capsys.readouterr().err
    assert "not in the dataset" in err and "not-a-probe" in err
    other = tmp_path / "y_samples_mmmu.jsonl"
    other.write_text(
        json.dumps({"doc_id": 0, "filtered_resps": ["A"], "doc": {"question": "?"}}) + "\n"
    )
    assert (
        main(["score", str(other), "--dataset", str(out), "--no-plots", "--out-dir", str(tmp_path)])
        == 2
    )
    assert "without a probe_id" in capsys.readouterr().err


# -- the wrapper: `python -m thud_models.lmms_eval_task run` -----------------------------------


def _fake_lmms_eval(tmp_path: Path, source: Path | None) -> str:
    """A stand-in for the lmms-eval command: copies a prepared run into --output_path (or
    writes nothing, as lmms-eval does when it finds no task), then exits 0 like lmms-eval."""
    script = tmp_path / "fake_lmms_eval.py"
    script.write_text(
        "import shutil, sys\n"
        "out = sys.argv[sys.argv.index('--output_path') + 1]\n"
        f"src = {str(source) if source else ''!r}\n"
        "if src:\n    shutil.copytree(src, out, dirs_exist_ok=True, copy_function=shutil.copy)\n"
    )
    return f"{sys.executable} {script}"


def test_wrapper_fails_when_nothing_ran(synthetic_build, tmp_path, capsys, monkeypatch):
    out, _ = synthetic_build
    monkeypatch.chdir(tmp_path)
    exe = _fake_lmms_eval(tmp_path, None)
    code = task_main(["run", str(out), "--out", "lmms_out", "--lmms-eval", exe, "--", "--model", "x"])
    assert code == 2 and "wrote no samples" in capsys.readouterr().err
    assert (tmp_path / "lmms_out" / "task" / f"{TASK}.yaml").is_file()
    # a folder named like the task in the current folder would make lmms-eval run nothing
    (tmp_path / TASK).mkdir()
    assert task_main(["run", str(out), "--out", "o2", "--lmms-eval", exe, "--", "--model", "x"]) == 2
    assert f"./{TASK} is a folder" in capsys.readouterr().err
    assert task_main(["run", str(out), "--out", "o3", "--", "--model", "x", "--tasks", "y"]) == 2
    assert "--tasks: set by this command" in capsys.readouterr().err
    assert task_main(["run", str(out), "--out", "o3", "--"]) == 2
    assert "--model" in capsys.readouterr().err


def test_wrapper_reports_the_audio_check(docs, utils, synthetic_build, tmp_path, capsys,
                                         signal_answers, deaf_answers):  # fmt: skip
    out, _ = synthetic_build
    deaf = _write_run(docs, utils, deaf_answers, tmp_path / "deaf").parent
    heard = _write_run(docs, utils, signal_answers, tmp_path / "heard").parent
    args = ["run", str(out), "--out", str(tmp_path / "o1"), "--lmms-eval", _fake_lmms_eval(tmp_path, deaf),
            "--", "--model", "m"]  # fmt: skip
    assert task_main(args) == 1
    printed = capsys.readouterr().out
    assert "audio path check: does_not_reach" in printed and "WARNING" in printed
    assert "thud score" in printed
    args[3], args[5] = str(tmp_path / "o2"), _fake_lmms_eval(tmp_path, heard)
    assert task_main(args) == 0 and "audio path check: reaches" in capsys.readouterr().out


# -- real lmms-eval runs -----------------------------------------------------------------------


def _lmms_eval() -> str | None:
    exe = os.environ.get("THUD_LMMS_EVAL") or shutil.which("lmms-eval")
    return exe if exe and Path(exe).exists() else None


needs_lmms_eval = pytest.mark.skipif(
    _lmms_eval() is None,
    reason="lmms-eval not installed (set THUD_LMMS_EVAL=<lmms-eval of an env with Thud installed>)",
)


def _run_lmms_eval(args: list[str], tmp_path: Path, cwd: Path, **env_extra) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "HF_HOME": str(tmp_path / "hf"), **env_extra}  # fmt: skip
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH", "")])
    return subprocess.run([_lmms_eval(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


def _direct_scores(pset, dataset: Path) -> dict:
    import datasets

    from thud_metrics import score_probes

    ds = datasets.load_dataset(str(dataset), "probes", data_files={"test": "data/probes/*.parquet"})["test"]
    assert set(pset.answers) == set(ds["probe_id"])
    answers = [pset.answers[p] for p in ds["probe_id"]]
    return score_probes(answers, ds["label"], ds["condition"], ds["dimension"], ds["pair_id"],
                        ds["offset_s"], ds["clip_id"], n_resamples=0)  # fmt: skip


@needs_lmms_eval
def test_lmms_eval_chat_class_hears_the_audio_block(synthetic_build, tmp_path, capsys):
    """lmms-eval runs the task from the quick-start folder (it holds ./thud) with a chat-class
    model (no weights) that hears only the audio block: the canaries say the audio reached
    it, the table is Thud's numbers, the samples hold no video; with the block dropped
    (``audio=none``, a deaf chat path) the canaries say no and `thud score` warns."""
    from thud_metrics.predictions.lmms_eval import read_lmms_eval_samples

    out, _ = synthetic_build
    quick = tmp_path / "quick"
    quick.mkdir()
    (quick / "thud").symlink_to(out, target_is_directory=True)
    runs = {}
    for audio in ("block", "none"):
        run = _run_lmms_eval(["--model", "thud_answerer_chat", "--model_args", f"answerer=signal,audio={audio}",
                              "--tasks", TASK, "--include_path", LMMS_EVAL_TASK_DIR,
                              "--output_path", f"out_{audio}", "--log_samples"], tmp_path, quick)  # fmt: skip
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        (samples,) = (quick / f"out_{audio}").rglob(f"*_samples_{TASK}.jsonl")
        (results,) = (quick / f"out_{audio}").rglob("*_results.json")
        runs[audio] = samples, json.loads(results.read_text())["results"][TASK], run.stdout
    samples, table, stdout = runs["block"]
    assert table["audio_reached,none"] == "yes" and "audio_reached" in stdout
    pset = read_lmms_eval_samples(samples)
    assert pset.meta["audio_check"]["verdict"] == "reaches" and len(pset.meta["canaries"]) == N_CANARIES
    direct = _direct_scores(pset, out)
    assert table["avg_gap,none"] == pytest.approx(direct["avg_gap"])
    assert table["acc_existence_mute,none"] == 1.0  # the signal baseline hears digital silence
    assert table["acc_sync_shift,none"] == pytest.approx(direct["accuracy"]["sync"]["shift"])
    assert table["acc_sync_shift,none"] > 0.5  # the block keeps the shift: the baseline hears it
    text = samples.read_text()
    assert "base64" not in text and "input_media" not in text
    assert len(text) / (len(pset.answers) + N_CANARIES) < 10_000  # bytes per sample, no video
    samples, table, _ = runs["none"]
    assert table["audio_reached,none"] == "no"
    _, printed = _score(samples, out, tmp_path / "s_none", capsys)
    assert "audio path check: does_not_reach" in printed and "WARNING: the audio never reached" in printed


@needs_lmms_eval
def test_lmms_eval_simple_class_through_the_entry_point_and_the_legacy_variable(synthetic_build, tmp_path, capsys):
    """`--model thud_answerer` (simple class, the mp4 byte for byte) is found through the
    `lmms_eval.models` entry point, and still through LMMS_EVAL_PLUGINS; `thud score` on its
    samples gives lmms-eval's numbers."""
    from thud_metrics.predictions.lmms_eval import read_lmms_eval_samples

    out, _ = synthetic_build
    task_dir = write_task_config(out, tmp_path / "task").parent
    for name, env in (("ep", {}), ("legacy", {"LMMS_EVAL_PLUGINS": "thud_models.lmms_eval_task"})):
        run = _run_lmms_eval(["--model", "thud_answerer", "--model_args", "answerer=signal", "--tasks", TASK,
                              "--include_path", str(task_dir), "--output_path", f"out_{name}", "--log_samples"],
                             tmp_path, tmp_path, **env)  # fmt: skip
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        (samples,) = (tmp_path / f"out_{name}").rglob(f"*_samples_{TASK}.jsonl")
        (results,) = (tmp_path / f"out_{name}").rglob("*_results.json")
        table = json.loads(results.read_text())["results"][TASK]
        assert table["audio_reached,none"] == "yes"
        pset = read_lmms_eval_samples(samples)
        assert pset.meta["model"] == "thud_answerer (answerer=signal)"
        scored, printed = _score(samples, out, tmp_path / f"s_{name}", capsys)
        assert scored["avg_gap"] == pytest.approx(table["avg_gap,none"])
        assert "audio path check: reaches" in printed


@needs_lmms_eval
def test_wrapper_runs_lmms_eval(synthetic_build, tmp_path, capsys, monkeypatch):
    """The wrapper around the real lmms-eval: a run exits 0; an unknown model (lmms-eval
    prints the error and exits 0 having run nothing) exits 2."""
    out, _ = synthetic_build
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    exe = _lmms_eval()
    ok = task_main(["run", str(out), "--out", "o1", "--lmms-eval", exe, "--",
                    "--model", "thud_answerer_chat", "--model_args", "answerer=signal", "--limit", "14"])  # fmt: skip
    assert ok == 0 and "audio path check: reaches" in capsys.readouterr().out
    assert task_main(["run", str(out), "--out", "o2", "--lmms-eval", exe, "--", "--model", "no_such_model"]) == 2
    assert "wrote no samples" in capsys.readouterr().err
