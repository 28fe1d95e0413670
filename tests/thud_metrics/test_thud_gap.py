"""The thud_gap evaluate module: loadable offline from any directory, importable as a class,
and the same numbers as the plain functions."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap

import pytest

import thud_metrics
from thud_metrics import score_probes
from thud_metrics.thud_gap.thud_gap import ThudGap

evaluate = pytest.importorskip("evaluate")


def same(a, b) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    return a == b


@pytest.fixture(scope="module")
def data(helpers):
    probes = helpers.make_probes(60, seed=11)
    answers = helpers.noisy_answers(probes, p_right=0.7)
    answers[0] = None  # a failed call
    answers[1] = "The sound comes 0.5 s before the impact."
    return {
        "predictions": answers,
        "references": probes["label"],
        "conditions": probes["condition"],
        "dimensions": probes["dimension"],
        "pair_ids": probes["pair_id"],
        "offsets": probes["offset_s"],
        "clip_ids": probes["clip_id"],
    }


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    return evaluate.load(thud_metrics.THUD_GAP, cache_dir=str(tmp_path_factory.mktemp("eval")))


def test_loads_offline_from_another_directory(tmp_path):
    code = textwrap.dedent(
        """
        import evaluate, thud_metrics
        m = evaluate.load(thud_metrics.THUD_GAP)
        r = m.compute(predictions=["synced", "synced"], references=["synced", "silent"],
                      conditions=["original", "mute"], dimensions=["existence"] * 2,
                      pair_ids=["p", "p"], n_resamples=0)
        print(type(m).__name__, r["gap"]["existence"], r["pair_accuracy"]["existence"])
        """
    )
    # offline, with an empty cache: nothing may come from the network
    env = {"HF_HUB_OFFLINE": "1", "HF_EVALUATE_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["ThudGap", "1.0", "0.0"]


def test_the_package_imports_no_heavy_library():
    code = (
        "import sys, thud_metrics, thud_metrics.thud_gap; "
        "print(sorted(m for m in ('datasets', 'evaluate', 'av', 'torch', 'matplotlib', 'pyarrow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_evaluate_and_plain_functions_give_identical_numbers(loaded, data):
    via_evaluate = loaded.compute(**data, n_resamples=200, seed=4)
    plain = score_probes(**data, n_resamples=200, seed=4)
    assert same(via_evaluate, plain)
    for key in ("avg_gap", "gap", "accuracy", "pair_accuracy", "rates"):
        assert key in via_evaluate
    assert via_evaluate["counts"]["unknown"] >= 1 and via_evaluate["offset_error"]["n"] >= 1


def test_add_and_add_batch_accumulate_like_compute(loaded, data):
    n = len(data["predictions"])
    half = n // 2
    loaded.add_batch(**{k: v[:half] for k, v in data.items()})
    for i in range(half, n):  # singular names, as in an eval loop
        loaded.add(
            prediction=data["predictions"][i], reference=data["references"][i], condition=data["conditions"][i],
            dimension=data["dimensions"][i], pair_id=data["pair_ids"][i], offset=data["offsets"][i],
            clip_id=data["clip_ids"][i],
        )  # fmt: skip
    assert same(loaded.compute(n_resamples=100), score_probes(**data, n_resamples=100))


def test_the_class_can_be_used_directly(data):
    metric = ThudGap(keep_in_memory=True)
    optional_left_out = {k: v for k, v in data.items() if k not in ("offsets", "clip_ids")}
    r = metric.compute(**optional_left_out, n_resamples=50)
    assert r["ci"]["unit"] == "pair"  # no clip ids: pairs are resampled
    assert r["offset_error"]["n"] == 0  # no offsets: nothing to compare a stated offset with
    assert same(r["accuracy"], score_probes(**data, n_resamples=0)["accuracy"])


def test_judge_goes_through_compute(data):
    metric = ThudGap(keep_in_memory=True)
    cols = {k: v[:6] for k, v in data.items()}
    cols["predictions"] = ["hmm"] * 6
    r = metric.compute(**cols, n_resamples=0, judge=lambda answer, dim: "A")
    assert r["unparseable_rate"] == 0.0 and r["accuracy"]["sync"]["original"] == 1.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"conditions": None}, r"thud_gap needs \['conditions'\]"),
        ({"pair_ids": None}, r"thud_gap needs \['pair_ids'\]"),
        ({"tau": [0.0] * 4}, r"unknown arguments \['tau'\]"),
        ({"dimensions": ["sync"] * 3}, r"dimensions has 3 entries but predictions has 4"),
        ({"conditions": ["original", "shifted", "original", "original"]}, r"conditions\[1\] is 'shifted'"),
        ({"pair_ids": ["a", "x", "b", "b"]}, r"pair_id 'x' .* has an intervened probe but no original probe"),
    ],
)
def test_bad_inputs_are_clear_errors(change, message):
    cols = {
        "predictions": ["A", "B", "A", "B"],
        "references": ["synced", "early", "synced", "silent"],
        "conditions": ["original", "shift", "original", "mute"],
        "dimensions": ["sync", "sync", "existence", "existence"],
        "pair_ids": ["a", "a", "b", "b"],
    }
    cols.update(change)
    cols = {k: v for k, v in cols.items() if v is not None}
    with pytest.raises(ValueError, match=message):
        ThudGap(keep_in_memory=True).compute(**cols, n_resamples=0)


@pytest.mark.parametrize("keep_in_memory", [True, False])
def test_compute_with_nothing_added_is_a_clear_error(keep_in_memory):
    with pytest.raises(ValueError, match="thud_gap has no probes"):
        ThudGap(keep_in_memory=keep_in_memory).compute(n_resamples=0)


def test_add_without_a_required_input_is_a_clear_error():
    metric = ThudGap(keep_in_memory=True)
    with pytest.raises(ValueError, match=r"thud_gap needs \['dimensions', 'pair_ids'\]"):
        metric.add(prediction="A", reference="synced", condition="original")
    with pytest.raises(ValueError, match=r"conditions\[0\] is 'orig'"):
        metric.add(prediction="A", reference="synced", condition="orig", dimension="sync", pair_id="p")


def test_wrongly_typed_columns_are_clear_errors():
    cols = {
        "predictions": [1, 2],
        "references": ["synced", "silent"],
        "conditions": ["original", "mute"],
        "dimensions": ["existence"] * 2,
        "pair_ids": ["p", "p"],
    }
    with pytest.raises(ValueError, match="predictions must be strings"):
        ThudGap(keep_in_memory=True).compute(**cols)
    with pytest.raises(ValueError, match="offsets must be numbers"):
        ThudGap(keep_in_memory=True).compute(**{**cols, "predictions": ["A", "B"], "offsets": ["x", "y"]})


def test_a_failed_call_adds_as_unknown_in_the_readme_loop(tmp_path, helpers):
    """The README's eval loop with ``add(prediction=None)`` for a failed model call: scored
    ``unknown`` (counted wrong, reported), like ``add_batch`` and ``compute`` do."""
    metric = evaluate.load(thud_metrics.THUD_GAP, cache_dir=str(tmp_path / "eval"))
    probes = helpers.make_probes(4, seed=2)
    answers = helpers.perfect_answers(probes)
    answers[0] = None  # the model call failed
    answers[5] = "I'm sorry, I can't hear audio, I only get frames."  # a refusal
    for i, answer in enumerate(answers):
        metric.add(prediction=answer, reference=probes["label"][i], condition=probes["condition"][i],
                   dimension=probes["dimension"][i], pair_id=probes["pair_id"][i],
                   offset=probes["offset_s"][i], clip_id=probes["clip_id"][i])  # fmt: skip
    r = metric.compute(n_resamples=0)
    n = len(answers)
    assert r["counts"]["unknown"] == 1 and r["unparseable_rate"] == 1 / n
    assert r["counts"]["refused"] == 1 and r["refusal_rate"] == 1 / n
    assert same(r, score_probes(answers, probes["label"], probes["condition"], probes["dimension"],
                                probes["pair_id"], probes["offset_s"], probes["clip_id"], n_resamples=0))  # fmt: skip


def test_judge_all_goes_through_compute(data):
    cols = {k: v[:6] for k, v in data.items()}
    r = ThudGap(keep_in_memory=True).compute(**cols, n_resamples=0, judge=lambda answer, dim: "synced", judge_all=True)
    asked = sum(a is not None and a.strip() != "" for a in cols["predictions"])
    assert r["judge"]["mode"] == "all" and r["judge"]["agreement"]["n"] == asked
    assert r["counts"]["answers_synced"] == asked  # the judge's verdicts are scored
