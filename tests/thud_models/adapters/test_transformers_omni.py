"""The transformers adapter on a tiny random-weight Qwen2.5-Omni thinker (built from a
config, nothing downloaded): a real synthetic probe's frames *and* audio reach the model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.helpers.models import torch_available, video_path

pytestmark = pytest.mark.skipif(
    not torch_available(), reason="torch/transformers not installed (the train extra); CI installs them"
)


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """The tiny model is launch-bound: one intra-op thread is fastest, and on a shared
    machine several spin against each other (10x slower); restored afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny_omni_dir(tmp_path_factory):
    """A tiny Qwen2.5-Omni thinker and its processor saved to a folder (thud_train.tiny)."""
    from thud_train.tiny import save_tiny_omni

    return save_tiny_omni(str(tmp_path_factory.mktemp("tiny-omni")), seed=0)


@pytest.fixture(scope="module")
def answerer(tiny_omni_dir):
    from thud_models import TransformersOmniAnswerer

    return TransformersOmniAnswerer.from_pretrained(tiny_omni_dir, device="cpu", num_frames=8, max_new_tokens=5)


def _clip_probes(probe_rows):
    original = next(r for r in probe_rows["original"] if r["dimension"] == "existence")
    muted = next(r for r in probe_rows["mute"] if r["clip_id"] == original["clip_id"])
    return original, muted


def test_generates_an_answer_from_frames_and_audio(answerer, probe_rows):
    original, _ = _clip_probes(probe_rows)
    text = answerer.answer(video_path(original), original["prompt"])
    assert isinstance(text, str)
    assert answerer.name.startswith("transformers:") and answerer.use_audio_in_video


def test_frames_are_sized_for_the_processors_vision_patch(answerer, probe_rows):
    """Qwen3-Omni's tower takes 16 px patches merged 2x2: frame sides must be multiples of
    32 px, not Qwen2.5-Omni's 28, or the processor cuts patches across the frame edge."""
    from thud_models import TransformersOmniAnswerer
    from thud_train.tiny import tiny_omni_processor

    processor = tiny_omni_processor(answerer.processor.tokenizer, family="qwen3_omni")
    qwen3 = TransformersOmniAnswerer(None, processor, num_frames=8, max_pixels=224 * 168)
    original, _ = _clip_probes(probe_rows)
    x = qwen3.prepare(video_path(original), original["prompt"])
    t, gh, gw = x["video_grid_thw"][0].tolist()
    assert t == 4 and (gh * 16) % 32 == 0 and (gw * 16) % 32 == 0
    assert (gh * 16, gw * 16) == (160, 224)  # 168 px rounds to 160, 224 stays
    # the length estimate counts the same merged patches the processor makes
    video_tokens = t * gh * gw // 4
    assert qwen3.length(video_path(original), original["prompt"]) >= video_tokens


def test_inputs_hold_the_probe_video_and_its_own_audio(answerer, probe_rows):
    original, muted = _clip_probes(probe_rows)
    tokenizer = answerer.processor.tokenizer
    audio_id = tokenizer.convert_tokens_to_ids("<|AUDIO|>")
    video_id = tokenizer.convert_tokens_to_ids("<|VIDEO|>")
    inputs = {}
    for name, row in (("original", original), ("mute", muted)):
        x = answerer.prepare(video_path(row), row["prompt"])
        ids = x["input_ids"][0].tolist()
        assert ids.count(video_id) > 0 and ids.count(audio_id) > 0  # interleaved audio-in-video
        grid = x["video_grid_thw"][0].tolist()
        assert grid[0] == 8 // 2 and grid[1] * 14 == 168 and grid[2] * 14 == 224  # 8 frames, 224x168
        # 4 s of 16 kHz audio -> 400 mel frames of the 3000-frame (30 s) window
        assert int(x["feature_attention_mask"].sum()) == 400
        inputs[name] = x
    # same picture, different sound: only the audio features differ
    assert np.array_equal(inputs["original"]["pixel_values_videos"].numpy(), inputs["mute"]["pixel_values_videos"].numpy())
    on = inputs["original"]["input_features"][0, :, :400].numpy()
    off = inputs["mute"]["input_features"][0, :, :400].numpy()
    assert on.std() > 10 * off.std()  # the impact is in the mel features; the muted track is flat


def test_frames_only_control(tiny_omni_dir, probe_rows):
    from thud_models import TransformersOmniAnswerer

    blind = TransformersOmniAnswerer.from_pretrained(
        tiny_omni_dir, device="cpu", num_frames=4, max_new_tokens=2, use_audio_in_video=False
    )
    original, _ = _clip_probes(probe_rows)
    x = blind.prepare(video_path(original), original["prompt"])
    assert "input_features" not in x
    assert isinstance(blind.answer(video_path(original), original["prompt"]), str)


def test_thud_run_with_a_transformers_spec(tiny_omni_dir, dataset_dir, tmp_path):
    from thud_models import make_answerer, run_probes

    answerer = make_answerer(f"transformers:{tiny_omni_dir}", device="cpu", num_frames=4, max_new_tokens=3)
    out = tmp_path / "tiny.jsonl"
    report = run_probes(answerer, dataset_dir, out, splits=("shift",), limit=2, check_audio=False, progress=False)
    assert report.answered == 2 and report.failed == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines[0]["_meta"]["answerer_settings"]["use_audio_in_video"] is True
    assert all(isinstance(line["answer"], str) and line["error"] is None for line in lines[1:])


# -- batched generation (issue 15) -------------------------------------------------------------


def _mixed_probes(probe_rows, n_per_split=2):
    """Probes of every split and several clips: different audio, prompts and lengths."""
    return [row for split in ("original", "shift", "mute", "swap") for row in probe_rows[split][:n_per_split]]


def test_batched_generation_equals_one_at_a_time(tiny_omni_dir, probe_rows):
    from thud_models import TransformersOmniAnswerer

    rows = _mixed_probes(probe_rows)
    items = [(video_path(r), r["prompt"]) for r in rows]
    single = TransformersOmniAnswerer.from_pretrained(tiny_omni_dir, device="cpu", dtype="float32", num_frames=8, max_new_tokens=6)
    expected = [single.answer(path, prompt) for path, prompt in items]
    assert len(set(expected)) > 2  # the probes get different answers: the comparison can fail

    batched = TransformersOmniAnswerer.from_pretrained(
        tiny_omni_dir, device="cpu", dtype="float32", num_frames=8, max_new_tokens=6, batch_size=4
    )
    prepared = [batched.prepare(path, prompt) for path, prompt in items[:4]]
    lengths = {x["input_ids"].shape[1] for x in prepared}
    assert len(lengths) > 1  # a batch with padding in it
    collated = batched.collate(prepared)
    assert (collated["attention_mask"][:, -1] == 1).all()  # left-padded: every row ends on its prompt

    got = {}
    for index, answer, seconds in batched.answer_many(items):
        assert index not in got and seconds >= 0
        got[index] = answer
    assert [got[i] for i in range(len(items))] == expected


def test_batches_group_probes_of_similar_length(tiny_omni_dir, probe_rows):
    from thud_models import TransformersOmniAnswerer

    a = TransformersOmniAnswerer.from_pretrained(tiny_omni_dir, device="cpu", num_frames=8, max_new_tokens=2)
    rows = _mixed_probes(probe_rows, 3)
    estimated = [a.length(video_path(r), r["prompt"]) for r in rows]
    actual = [a.prepare(video_path(r), r["prompt"])["input_ids"].shape[1] for r in rows]
    assert len(set(actual)) > 2
    # the estimate (headers and prompt only, nothing decoded) is the real length less the
    # chat template's fixed tokens: it orders probes exactly as their real lengths do
    assert len({x - e for x, e in zip(actual, estimated, strict=True)}) == 1


def test_a_bad_video_fails_alone_in_its_batch(tiny_omni_dir, probe_rows, tmp_path):
    from thud_models import TransformersOmniAnswerer

    a = TransformersOmniAnswerer.from_pretrained(tiny_omni_dir, device="cpu", num_frames=4, max_new_tokens=2, batch_size=4)
    rows = _mixed_probes(probe_rows, 1)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypisom" + b"junk" * 100)
    items = [(video_path(r), r["prompt"]) for r in rows] + [(str(broken), rows[0]["prompt"])]
    results = {i: answer for i, answer, _ in a.answer_many(items)}
    assert set(results) == set(range(len(items)))
    assert isinstance(results[len(items) - 1], Exception)
    assert all(isinstance(results[i], str) for i in range(len(items) - 1))


def test_thud_run_with_a_batch_size_equals_batch_size_one(tiny_omni_dir, dataset_dir, tmp_path):
    from thud_models import make_answerer, run_probes

    files = {}
    for batch_size in (1, 4):
        answerer = make_answerer(
            f"transformers:{tiny_omni_dir}", device="cpu", dtype="float32", num_frames=4, max_new_tokens=4, batch_size=batch_size
        )
        out = tmp_path / f"b{batch_size}.jsonl"
        report = run_probes(answerer, dataset_dir, out, splits=("original", "shift"), limit=8, check_audio=False, progress=False)
        assert report.answered == 8 and report.batch_size == batch_size
        lines = [json.loads(line) for line in out.read_text().splitlines()]
        assert lines[0]["_meta"]["answerer_settings"]["batch_size"] == batch_size
        files[batch_size] = {line["probe_id"]: line["answer"] for line in lines[1:]}
    assert files[4] == files[1] and len(files[1]) == 8
