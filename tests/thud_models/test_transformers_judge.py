"""``transformers:PATH`` judges: a local causal LM answers the judge prompt (tiny models
built from a config here; nothing is downloaded)."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from thud_metrics.judge import JudgeError  # noqa: E402
from thud_metrics.parsing import read_answers  # noqa: E402
from thud_models import make_judge  # noqa: E402


@pytest.fixture(scope="module")
def says_mismatched(tmp_path_factory):
    """A one-layer Llama whose final norm is zero: every logit is 0, so greedy decoding picks
    token 0, the word "mismatched", which is also its end-of-sequence token."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    vocab = {"mismatched": 0, "<|im_end|>": 1, "<unk>": 2, "<pad>": 3}
    word = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    word.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=word, unk_token="<unk>", pad_token="<pad>", eos_token="<|im_end|>")
    config = LlamaConfig(vocab_size=4, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, pad_token_id=3, eos_token_id=0)  # fmt: skip
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    with torch.no_grad():
        model.model.norm.weight.zero_()
    model.generation_config.eos_token_id = 0
    model.generation_config.pad_token_id = 3
    out = tmp_path_factory.mktemp("judge-lm")
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def test_a_local_model_judges_the_answers_the_rules_cannot_read(says_mismatched, tmp_path):
    judge = make_judge(f"transformers:{says_mismatched}", device="cpu", cache=tmp_path / "v.judge-cache")
    assert judge.name == f"transformers:{says_mismatched.resolve()}"
    index, labels, _, report = read_answers(["mumble", "B", "mumble"], ["consistency"] * 3, judge=judge)
    assert [labels[i] for i in index] == ["mismatched"] * 3
    assert report["asked"] == 1 and report["unreadable_replies"] == 0 and judge.requests == 1


def test_a_reply_that_is_not_a_reading_stays_unknown_and_is_reported(tmp_path):
    from thud_train.tiny import save_tiny_causal_lm

    path = save_tiny_causal_lm(str(tmp_path / "random-lm"))  # random weights: babble
    judge = make_judge(f"transformers:{path}", device="cpu", max_new_tokens=4)
    index, labels, _, report = read_answers(["mumble"], ["sync"], judge=judge)
    assert labels == ["unknown"] and report["unreadable_replies"] == 1
    assert report["unreadable"][0]["answer"] == "mumble" and isinstance(report["unreadable"][0]["reply"], str)


def test_a_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(JudgeError, match="not a local checkpoint folder with a config.json"):
        make_judge(f"transformers:{tmp_path / 'nowhere'}")
