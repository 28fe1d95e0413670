"""``make_answerer``: the ``--model`` specs."""

from __future__ import annotations

import pytest

from thud_models import Answerer, PriorBaseline, SignalBaseline
from thud_models.registry import ANSWERERS, AnswererKind, make_answerer, register_answerer


def test_baselines():
    assert isinstance(make_answerer("prior"), PriorBaseline)
    signal = make_answerer("signal", sync_tolerance_s=0.2, silence_dbfs=None)
    assert isinstance(signal, SignalBaseline) and signal.settings.sync_tolerance_s == 0.2
    assert isinstance(signal, Answerer) and signal.name == "signal"


def test_openai_spec_passes_options_through():
    answerer = make_answerer("openai:Qwen/Qwen2.5-Omni-7B", base_url="http://127.0.0.1:9/v1", audio_mode="video+audio")
    assert type(answerer).__name__ == "OpenAICompatAnswerer"
    assert answerer.name == "openai:Qwen/Qwen2.5-Omni-7B" and answerer.audio_mode == "video+audio"


@pytest.mark.parametrize(
    ("spec", "options", "message"),
    [
        ("llama", {}, "unknown --model 'llama'"),
        ("transformers", {}, "needs a model folder or Hub id"),
        ("openai:", {}, "needs the model name"),
        ("openai:m", {}, "needs --base-url"),
        ("prior:x", {}, "takes no ':argument'"),
        ("prior", {"num_frames": 8}, "option num_frames does not apply to --model prior"),
        ("signal", {"base_url": "http://x"}, "option base_url does not apply to --model signal"),
        ("transformers:/x", {"api_key": "k"}, "option api_key does not apply"),
    ],
)
def test_bad_specs(spec, options, message):
    with pytest.raises(ValueError, match=message):
        make_answerer(spec, **options)


def test_register_answerer():
    class Echo:
        def __init__(self, argument):
            self.name = f"echo:{argument}"

        def answer(self, video_path, prompt):
            return prompt

    register_answerer("echo", AnswererKind(lambda argument: Echo(argument), needs_argument="a word"))
    try:
        assert make_answerer("echo:hi").name == "echo:hi"
        with pytest.raises(ValueError, match="already registered"):
            register_answerer("echo", AnswererKind(lambda argument: Echo(argument)))
    finally:
        ANSWERERS.pop("echo", None)


def test_one_name_for_the_answer_length_and_the_throughput_options():
    a = make_answerer("openai:m", base_url="http://127.0.0.1:9/v1", max_new_tokens=32, concurrency=4)
    assert a.max_tokens == 32 and a.concurrency == 4  # sent as the API's max_tokens
    with pytest.raises(ValueError, match="not both"):
        make_answerer("openai:m", base_url="http://127.0.0.1:9/v1", max_new_tokens=32, max_tokens=8)
    with pytest.raises(ValueError, match="option batch_size does not apply to --model openai"):
        make_answerer("openai:m", base_url="http://127.0.0.1:9/v1", batch_size=8)
    with pytest.raises(ValueError, match="option concurrency does not apply to --model transformers"):
        make_answerer("transformers:/x", concurrency=8)
