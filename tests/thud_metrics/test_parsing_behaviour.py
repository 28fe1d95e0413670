"""Reading answers, by what the answers say (issue 20).

The letters a model answers are read literally from the prompt text it was shown, and
scored through the metric (not only through the parser), so a prompt that lists its
options in another order than the parser reads them fails here as well as in
``test_prompt_letters``. Negations and refusals are read as what they mean in many
phrasings, each clause of the reading rules on its own.
"""

from __future__ import annotations

import re

import pytest

from thud_dataset.prompts import make_prompt
from thud_metrics import score_probes
from thud_metrics.parsing import parse_answer, parse_answers

#: what an option's first word means, written here (not vocab.CHOICES)
MEANING = {
    "sync": {"Synchronized": "synced", "Early": "early", "Delayed": "delayed"},
    "existence": {"Yes": "synced", "No": "silent"},
    "consistency": {"Yes": "synced", "No": "mismatched"},
}
OPTION = re.compile(r"^\(([A-Z])\) (\w+):", re.M)
PROBES = [
    # gold, condition, dimension
    ("synced", "original", "sync"), ("early", "shift", "sync"), ("delayed", "shift", "sync"),
    ("synced", "original", "existence"), ("silent", "mute", "existence"),
    ("synced", "original", "consistency"), ("mismatched", "swap", "consistency"),
]  # fmt: skip


def letter_for(dimension: str, label: str) -> str:
    """The letter the prompt text shows next to the option that means ``label``."""
    text = make_prompt(dimension, "a ball bounces twice")
    (letter,) = [letter for letter, word in OPTION.findall(text) if MEANING[dimension][word] == label]
    return letter


@pytest.mark.parametrize("style", ["{}", "({})", "Answer: {}", "The answer is {}.", "{}) because I hear it"])
def test_answering_the_gold_options_letter_scores_every_cell_right(style):
    answers = [style.format(letter_for(dim, gold)) for gold, _, dim in PROBES]
    golds, conds, dims = (list(col) for col in zip(*PROBES, strict=True))
    r = score_probes(answers, golds, conds, dims, None, n_resamples=0)
    assert all(v == 1.0 for cells in r["accuracy"].values() for v in cells.values()), r["accuracy"]
    assert r["unparseable_rate"] == 0.0


def test_answering_another_options_letter_scores_it_wrong():
    for gold, cond, dim in PROBES:
        for word, label in MEANING[dim].items():
            if label == gold:
                continue
            answer = letter_for(dim, label)
            r = score_probes([answer], [gold], [cond], [dim], None, n_resamples=0)
            assert r["accuracy"][dim][cond] == 0.0, (dim, word, answer)
            assert r["confusion"][cond][gold][label] == 1, (dim, word, answer)


#: Chinese direction sentences and what they say about the sound, read by hand: which side
#: (sound 声音 or picture 画面) is the subject, and whether the word says earlier or later
DIRECTIONS_ZH = [
    ("声音比画面早", "early"),  # the sound, compared with the picture, is early
    ("画面比声音早", "delayed"),  # the picture is early: the sound lags
    ("声音比画面晚", "delayed"),
    ("画面比声音晚", "early"),
    ("比画面早的是声音", "early"),  # 比 opens the clause: the one earlier than the picture is the sound
    ("声音先于画面", "early"),
    ("画面先于声音", "delayed"),
    ("声音晚于画面", "delayed"),
    ("画面晚于声音", "early"),
    ("先于画面响起", "early"),  # sounding before the picture
    ("早于声音出现的是画面", "delayed"),  # what appeared before the sound is the picture
    ("提前出现的是声音", "early"),  # what came early is the sound
    ("提前了", "early"),  # no side named: the question is about the sound
    ("视频中的声音提前了", "early"),  # 视频中 is a place ("in the video"), not the picture
    ("画面之前就有声音", "early"),  # before the picture there is already sound
    ("画面之后才有声音", "delayed"),
    ("声音之前就有画面", "delayed"),  # before the sound there is already the picture
    ("声音在画面之前", "early"),
    ("声音在画面之后", "delayed"),
    ("在那之前", "early"),
    ("随后才听到声音", "delayed"),  # the sound is heard only afterwards
    ("然后才出现画面", "early"),  # the picture appears only afterwards
]


@pytest.mark.parametrize("clause,expected", DIRECTIONS_ZH)
def test_a_chinese_direction_is_read_from_its_subject(clause, expected):
    from thud_metrics.parsing.zh import directions_zh

    assert [label for label, _ in directions_zh(clause)] == [expected]
    assert parse_answer(clause, "sync") == expected


def test_the_choices_an_answer_was_offered_tell_its_question():
    # "No." means silent to "can you hear it?" and mismatched to "does it match?"
    from thud_dataset.vocab import CHOICES

    assert [parse_answer("No.", choices=CHOICES[d]) for d in ("sync", "existence", "consistency")] == [
        "unknown", "silent", "mismatched"]  # fmt: skip
    assert parse_answer("No.") == "unknown"


def test_the_judge_prompt_reads_as_the_question_its_options_and_the_allowed_replies():
    from thud_metrics.parsing.judging import judge_prompt

    lines = judge_prompt("  It is a bit late.  ", "sync").splitlines()
    assert "Question asked: Is the sound synchronized with the visible event, or is it early or late?" in lines
    i = lines.index("The options the question offered, as letters:")
    assert [line.split(":")[0] for line in lines[i + 1 : i + 4]] == ["(A) synced", "(B) early", "(C) delayed"]
    assert lines[i + 4] == ""
    assert [line.split(":")[0] for line in lines[i + 6 : i + 9]] == ["- silent", "- mismatched", "- refused"]
    assert lines[lines.index("<<<") + 1] == "It is a bit late." and lines[lines.index("<<<") + 2] == ">>>"
    assert "Reply with exactly one word: synced, early, delayed, silent, mismatched, refused, or unknown." in lines
    # without a dimension: a neutral question, every label an option, no other claim
    lines = judge_prompt("hmm").splitlines()
    assert "Question asked: What does the sound of the video do?" in lines
    i = lines.index("The options the question offered, as letters:")
    assert [line.split(":")[0] for line in lines[i + 1 : i + 6]] == [
        "(A) synced", "(B) early", "(C) delayed", "(D) silent", "(E) mismatched"]  # fmt: skip
    assert lines[i + 8] == "- (none)"


def test_agreement_between_rules_and_judge_by_hand():
    from thud_metrics.parsing.judging import agreement

    a = agreement(["early", "synced", "silent"], ["early", "delayed", "silent"])
    # observed 2/3; chance (1*1 + 1*0 + 1*1) / 9 = 2/9; kappa (2/3 - 2/9) / (1 - 2/9) = 4/7
    assert {k: a[k] for k in ("n", "agreed", "disagreed", "pairs")} == {
        "n": 3, "agreed": 2, "disagreed": 1, "pairs": {"synced->delayed": 1}}  # fmt: skip
    assert a["share_agreed"] == pytest.approx(2 / 3) and a["kappa"] == pytest.approx(4 / 7)
    empty = agreement([], [])
    assert empty["n"] == 0 and empty["share_agreed"] != empty["share_agreed"] and empty["kappa"] != empty["kappa"]


def test_answers_that_are_not_text_are_named():
    with pytest.raises(TypeError, match=r"^answers must be str or None; got int: 1$"):
        parse_answers(["A", 1])
    with pytest.raises(TypeError, match=r"^answers must be str or None; got int: 1$"):
        score_probes(["A", 1], ["synced", "synced"], ["original", "original"], ["sync", "sync"], None, n_resamples=0)
    # an answer that cannot even be grouped with the others (unhashable) is named the same way
    with pytest.raises(TypeError, match=r"^answers must be str or None; got list: \['x'\]$"):
        parse_answers(["A", ["x"]])


def test_answers_read_without_dimensions():
    from thud_metrics.parsing import read_answers

    index, labels, _, _ = read_answers(["synced", None, "synced"])
    assert [labels[i] for i in index] == ["synced", "unknown", "synced"]


def test_the_judge_report_names_the_judge_and_the_prompt_version():
    from thud_metrics.parsing.judging import JUDGE_PROMPT_VERSION

    class Named:
        name = "my-judge"

        def __call__(self, answer, dimension):
            return "early"

    def plain(answer, dimension):
        return "early"

    for judge, name in ((Named(), "my-judge"), (plain, plain.__qualname__)):
        r = score_probes(["A", "hmm"], ["synced", "early"], ["original", "shift"], ["sync", "sync"], None,
                         n_resamples=0, judge=judge)  # fmt: skip
        assert r["judge"]["judge"] == name and r["judge"]["prompt_version"] == JUDGE_PROMPT_VERSION


def test_a_stated_offset_is_read_from_early_and_delayed_answers():
    r = score_probes(["The sound comes 0.3 seconds early.", "The sound is 0.9 s late."], ["early", "delayed"],
                     ["shift", "shift"], ["sync", "sync"], None, offsets=[-0.5, 1.0], n_resamples=0)  # fmt: skip
    assert r["offset_error"]["n"] == 2 and r["offset_error"]["mean_abs_error"] == pytest.approx(0.15)


@pytest.mark.parametrize(
    "answer,expected",
    [
        ("<think>it is early</think> The sound is delayed.", "delayed"),  # the reasoning is not the answer
        ("<THINK>It is early.</THINK>The sound is delayed.", "delayed"),
        ("it seems early</think> The sound is delayed.", "delayed"),  # the template opened the block
        ("It seems EARLY</THINK>The sound is delayed.", "delayed"),
        ("The sound is delayed. <think>no wait, it is early, surely early", "delayed"),  # never closed: cut off
        ("At first I thought it was early. Final answer: delayed.", "delayed"),  # the final answer decides
        ("The sound is  in   sync\n with the picture.", "synced"),  # any run of spaces is one space
    ],
)
def test_only_the_answer_the_model_gives_last_is_read(answer, expected):
    assert parse_answer(answer, "sync") == expected


#: English timing sentences and what they say about the sound, read by hand
DIRECTIONS_EN = [
    ("It is seen before it is heard.", "delayed"),
    ("You hear it before you see it happen.", "early"),
    ("The sound comes first.", "early"),
    ("The noise comes first.", "early"),
    ("The impact happens first.", "delayed"),
    ("It happens before the impact.", "early"),  # no subject: the unnamed sound comes before the impact
    ("It happens before the sound.", "delayed"),  # ... or before the sound
    ("The impact sound comes late.", "delayed"),  # "impact" names the sound, it is not the picture
    ("The man behind the car is late.", "delayed"),  # "behind the car" relates nothing; "late" is the sound's
    ("The man stood behind the car.", "unknown"),
    ("It appears to be early.", "early"),  # an appearance word in the only sentence is the answer
    ("At first it seemed early.", "early"),  # a provisional clause that is also the last one counts
]


@pytest.mark.parametrize("answer,expected", DIRECTIONS_EN)
def test_an_english_direction_is_read_from_its_subject(answer, expected):
    assert parse_answer(answer, "sync") == expected


# -- framing, contrast and clause cutting: each answer read by hand ----------------------

@pytest.mark.parametrize(
    "answer, dimension, expected",
    [
        # a provisional word ("as you might expect") in the last clause, which nothing corrects:
        # the claim stands, whatever follows that asserts nothing (a full stop, "no doubt")
        ("The thud lands in sync with the jump as you might expect.", "sync", "synced"),
        ("The thud lands in sync with the jump as you might expect, no doubt.", "sync", "synced"),
        # a tentative appearance with no contrast after it is the answer
        ("The sound may seem to come before the impact.", "sync", "early"),
        ("The audio might seem slightly delayed.", "sync", "delayed"),
        # two tentative guesses ("maybe ..., perhaps ...") are no choice; the firm claim is
        ("Maybe the sound is slightly early, perhaps by a frame. Overall the sound is in sync.", "sync", "synced"),
        ("Maybe the audio is a bit early, perhaps it is a bit delayed. Either way, it is in sync overall.",
         "sync", "synced"),
        # a sound named, then what the picture shows instead: a mismatch
        ("I hear a car engine, but the video shows a dog barking.", "consistency", "mismatched"),
        ("I hear a car engine revving, not a dog barking.", "consistency", "mismatched"),
        # the picture named first, then the sound matching it: no mismatch
        ("While the video shows a hammer hitting a nail, the sound matches it.", "consistency", "synced"),
        ("Whereas the video shows a glass breaking, the sound matches it exactly.", "consistency", "synced"),
        # a question the answer asks itself asserts nothing; the statement after it does
        ("Is the sound early? No, the sound is in sync with the picture.", "sync", "synced"),
        ("Is the audio delayed? It is not; the sound matches the impact exactly.", "sync", "synced"),
        # only what follows "Final answer:" is the answer
        ("The crash looks early to me. Final answer: the sound is in sync.", "sync", "synced"),
        # markdown emphasis leaves no gap that breaks a phrase
        ("I would say **no**.", "existence", "silent"),
        # "I would say no" after a contrast corrects a leading yes (this was read as yes)
        ("Yes. Although, on closer listening, I would say no.", "existence", "silent"),
        ("I would say yes, but actually the sound is missing.", "existence", "silent"),
        # a reading written as a sentence
        ("Refused.", None, "refused"),
        # "the sound before the landing had already appeared": a sound word that starts at
        # the postposition itself (之前的声响) is the sound it speaks of, not its subject
        ("落地之前的声响就已经出现了。", "sync", "early"),
    ],
)  # fmt: skip
def test_framing_contrast_and_clauses_are_read_as_the_answer_means(answer, dimension, expected):
    assert parse_answer(answer, dimension) == expected


def test_the_dimension_wins_over_choices_in_another_order():
    # a prompt that shuffled its options: the dimension says which question was asked
    assert parse_answer("No.", "consistency", ("mismatched", "synced")) == "mismatched"
    assert parse_answer("No.", "existence", ("silent", "synced")) == "silent"
    assert parse_answer("(A)", "consistency", ("mismatched", "synced")) == "mismatched"


def test_the_judge_prompt_offers_every_label_for_a_dimension_it_does_not_know():
    from thud_metrics.parsing.judging import judge_prompt

    lines = judge_prompt("It is late.", "pitch").splitlines()
    assert "Question asked: What does the sound of the video do?" in lines
    i = lines.index("The options the question offered, as letters:")
    assert [line.split(":")[0] for line in lines[i + 1 : i + 6]] == [
        "(A) synced", "(B) early", "(C) delayed", "(D) silent", "(E) mismatched"]  # fmt: skip


@pytest.mark.parametrize(
    ("answer", "dimension", "reading"),
    [
        # a leading "no" without its comma is the answer, not "no ... sound" (silence)
        ("No the sound is not delayed.", "sync", "unknown"),  # not synced, yet not late: no direction
        ("No it is early.", "sync", "early"),
        ("No the sound can not be heard.", "existence", "silent"),
        ("No there is no sound.", "existence", "silent"),
        ("No I hear rain instead.", "consistency", "mismatched"),
        # and "no" before a noun still denies that noun
        ("No sound at all.", "existence", "silent"),
        ("No delay: the sound lands with the impact.", "sync", "synced"),
    ],
)
def test_a_leading_no_without_its_comma(answer, dimension, reading):
    assert parse_answer(answer, dimension) == reading
