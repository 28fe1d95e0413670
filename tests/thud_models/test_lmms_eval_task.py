"""The lmms-eval task: its functions, its yaml, and (where lmms-eval is installed) a real run.

lmms-eval is not a Thud dependency (it pins ``av<16`` and pulls CUDA torch), so CI tests the
task's functions directly and the end-to-end run is skipped unless an ``lmms-eval``
executable is found (``$THUD_LMMS_EVAL`` or ``PATH``); see docs/harnesses.md for the setup.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from thud_models.lmms_eval_task import LMMS_EVAL_TASK_DIR, write_task_config

UTILS_PATH = Path(LMMS_EVAL_TASK_DIR) / "utils.py"


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
    """The probes as lmms-eval gets them: all four splits as one ``test`` split, then process_docs."""
    import datasets

    out, _ = synthetic_build
    ds = datasets.load_dataset(str(out), "probes", data_files={"test": "data/probes/*.parquet"})[
        "test"
    ]
    return utils.process_docs(ds)


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
    assert config["task"] == "thud" and config["dataset_name"] == "probes"
    assert config["dataset_kwargs"]["data_files"] == {"test": "data/probes/*.parquet"}
    assert config["test_split"] == "test" and config["output_type"] == "generate_until"
    functions = [v[1] for v in config.values() if isinstance(v, tuple)]
    functions += [m["aggregation"][1] for m in config["metric_list"]]
    for name in functions:
        module, attr = name.split(".")
        assert module == "utils" and callable(getattr(utils, attr)), name
    assert [m["metric"] for m in config["metric_list"]] == list(utils.METRICS)
    lower = {m["metric"] for m in config["metric_list"] if not m["higher_is_better"]}
    assert lower == {
        "avg_gap",
        "gap_sync",
        "gap_existence",
        "gap_consistency",
        "mute_hallucination",
        "unparseable_rate",
    }


def test_write_task_config(synthetic_build, tmp_path):
    out, _ = synthetic_build
    path = write_task_config(out, tmp_path / "task")
    config = yaml.safe_load(path.read_text())
    assert config == {
        "include": str(Path(LMMS_EVAL_TASK_DIR) / "thud.yaml"),
        "task": "thud",
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


# -- the functions ---------------------------------------------------------------------------


def test_docs_hold_all_probes_with_pairs_together(docs, synthetic_build):
    import datasets

    out, _ = synthetic_build
    n = sum(
        len(datasets.load_dataset(str(out), "probes", split=s))
        for s in ("original", "shift", "mute", "swap")
    )
    assert len(docs) == n
    # a pair's original comes right before its intervened probe, clip by clip
    first = docs.select(range(6))
    assert len(set(first["clip_id"])) == 1
    assert first["condition"] == ["original", "shift", "original", "mute", "original", "swap"]
    assert len(set(first["pair_id"][:2])) == 1


def test_doc_functions(docs, utils):
    from thud_dataset.media import probe

    doc = docs[0]
    (path,) = utils.doc_to_visual(doc)
    assert path.endswith(".mp4") and probe(path).audio is not None  # the audio is in the file
    assert utils.doc_to_text(doc) == doc["prompt"]
    assert (
        utils.doc_to_text(doc, {"pre_prompt": "<v> ", "post_prompt": "\nLetter only."})
        == f"<v> {doc['prompt']}\nLetter only."
    )
    assert utils.doc_to_target(doc) == doc["label"]
    records = utils.process_results(doc, ["B"])
    assert set(records) == set(utils.METRICS)
    assert records["avg_gap"] == {
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


def test_aggregations_are_the_thud_gap_numbers(docs, utils):
    from thud_metrics import score_probes

    answers = [varied_answer(d) for d in docs]
    records = [utils.process_results(d, [a]) for d, a in zip(docs, answers, strict=True)]
    expected = score_probes(
        answers, docs["label"], docs["condition"], docs["dimension"], docs["pair_id"],
        docs["offset_s"], docs["clip_id"], n_resamples=0,
    )  # fmt: skip
    got = {
        name: getattr(utils, f"agg_{name}")([r[name] for r in records]) for name in utils.METRICS
    }
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
    cut = [r["avg_gap"] for r in records[:5]]  # 2 whole pairs + an original
    assert not math.isnan(utils.agg_avg_gap(cut))
    assert math.isnan(utils.agg_avg_gap([records[1]["avg_gap"]]))  # a shift probe alone


# -- lmms-eval's samples files through `thud score` ------------------------------------------


def _score(predictions: Path, dataset: Path, out_dir: Path) -> dict:
    from thud_cli.main import main

    code = main(["score", str(predictions), "--dataset", str(dataset), "--no-plots", "--n-resamples", "0",
                 "--out-dir", str(out_dir)])  # fmt: skip
    assert code == 0
    (result,) = json.loads((out_dir / "results.json").read_text())["models"].values()
    result.pop("run")
    return result


def _plain_from_samples(samples: Path, out: Path) -> Path:
    from thud_metrics.predictions.lmms_eval import read_lmms_eval_answers

    answers, _ = read_lmms_eval_answers(samples)
    out.write_text(
        "".join(json.dumps({"probe_id": k, "answer": v}) + "\n" for k, v in answers.items())
    )
    return out


def test_score_reads_lmms_eval_samples_like_plain_predictions(
    docs, utils, synthetic_build, tmp_path
):
    """A samples file in lmms-eval 0.7's layout (written here from the task's own functions)
    and the plain {probe_id, answer} file of the same answers give the same numbers."""
    out, _ = synthetic_build
    samples = tmp_path / "20260101_000000_samples_thud.jsonl"
    plain = tmp_path / "plain.jsonl"
    with samples.open("w") as s, plain.open("w") as p:
        for i, doc in enumerate(docs):
            answer = varied_answer(doc)
            logged = {"doc_id": i, "target": utils.doc_to_target(doc), "filtered_resps": answer,
                      "resps": [[answer]], "doc_hash": "x", **utils.process_results(doc, [answer]),
                      "input": utils.doc_to_text(doc)}  # fmt: skip
            s.write(json.dumps(logged) + "\n")
            p.write(json.dumps({"probe_id": doc["probe_id"], "answer": answer}) + "\n")
    from_samples = _score(samples, out, tmp_path / "s")
    assert from_samples == _score(plain, out, tmp_path / "p")
    assert 0 < from_samples["avg_pair_accuracy"] < 1


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


# -- a real lmms-eval run ----------------------------------------------------------------------


def _lmms_eval() -> str | None:
    exe = os.environ.get("THUD_LMMS_EVAL") or shutil.which("lmms-eval")
    return exe if exe and Path(exe).exists() else None


@pytest.mark.skipif(
    _lmms_eval() is None, reason="lmms-eval not installed (set THUD_LMMS_EVAL=<path to lmms-eval>)"
)
def test_lmms_eval_end_to_end(synthetic_build, tmp_path):
    """lmms-eval runs the task on the synthetic build with the signal baseline (no weights)
    through the thud_answerer plugin; its table and `thud score` on its samples agree."""
    from thud_metrics import score_probes
    from thud_metrics.predictions.lmms_eval import read_lmms_eval_samples

    out, _ = synthetic_build
    task_dir = write_task_config(out, tmp_path / "task").parent
    env = {**os.environ, "LMMS_EVAL_PLUGINS": "thud_models.lmms_eval_task", "HF_HUB_OFFLINE": "1",
           "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}  # fmt: skip
    repo = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join([repo, env.get("PYTHONPATH", "")])
    run = subprocess.run(
        [_lmms_eval(), "--model", "thud_answerer", "--model_args", "answerer=signal", "--tasks", "thud",
         "--include_path", str(task_dir), "--output_path", str(tmp_path / "out"), "--log_samples"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "|thud |" in run.stdout and "avg_gap" in run.stdout
    (samples,) = (tmp_path / "out").rglob("*_samples_thud.jsonl")
    (results,) = (tmp_path / "out").rglob("*_results.json")
    table = json.loads(results.read_text())["results"]["thud"]
    pset = read_lmms_eval_samples(samples)
    assert (
        pset.format == "lmms-eval-samples"
        and pset.meta["model"] == "thud_answerer (answerer=signal)"
    )

    import datasets

    ds = datasets.load_dataset(str(out), "probes", data_files={"test": "data/probes/*.parquet"})[
        "test"
    ]
    assert set(pset.answers) == set(ds["probe_id"])
    answers = [pset.answers[p] for p in ds["probe_id"]]
    direct = score_probes(answers, ds["label"], ds["condition"], ds["dimension"], ds["pair_id"],
                          ds["offset_s"], ds["clip_id"], n_resamples=0)  # fmt: skip
    assert table["avg_gap,none"] == pytest.approx(direct["avg_gap"])
    assert table["pair_acc_existence,none"] == pytest.approx(direct["pair_accuracy"]["existence"])
    assert table["acc_existence_mute,none"] == 1.0  # the signal baseline hears digital silence
    # `thud score` on lmms-eval's own samples file == on the plain file of the same answers
    plain = _plain_from_samples(samples, tmp_path / "plain.jsonl")
    scored = _score(samples, out, tmp_path / "s")
    assert scored == _score(plain, out, tmp_path / "p")
    assert scored["avg_gap"] == pytest.approx(direct["avg_gap"])
