"""The answer parser on answers phrased the way omni models (Qwen2.5/3-Omni, MiniCPM-o,
Gemini, GPT-style chat models, video-SALMONN-style captioners) actually answer."""

from __future__ import annotations

import math

import numpy as np
import pytest

from thud_metrics.parsing import judge_prompt, parse_answer, parse_answers, stated_offset

# (answer, dimension, expected label)
TABLE = [
    # --- multiple-choice letters, mapped through the dimension's choices -------------------
    ("A", "sync", "synced"),
    ("B", "sync", "early"),
    ("C", "sync", "delayed"),
    ("B", "existence", "silent"),
    ("B", "consistency", "mismatched"),
    ("C", "existence", "unknown"),  # the existence prompt has no option C
    ("(B)", "sync", "early"),
    ("B.", "existence", "silent"),
    ("(A) Synchronized", "sync", "synced"),
    ("C) The audio is delayed relative to the video.", "sync", "delayed"),
    ("Answer: B", "consistency", "mismatched"),
    ("The answer is C.", "sync", "delayed"),
    ("**Answer: (B) Early**\n\nThe crash is heard roughly half a second before the bike hits the curb.", "sync", "early"),
    ("<think>\nThe man slips on the ice. I hear the thud slightly after he lands, so the audio lags.\n</think>\n\nC", "sync", "delayed"),
    ("I would choose option (A), since the sound clearly matches the skateboard.", "consistency", "synced"),
    ("Based on the audio, I'd go with B.", "existence", "silent"),
    ("A man falls off the ladder and the sound is perfectly synchronized.", "sync", "synced"),
    ("B", None, "unknown"),  # a bare letter means nothing without the choices
    ("(B) The sound comes early.", None, "early"),  # ...but the words after it do
    # --- sync: synchronized ---------------------------------------------------------------
    ("The audio and video are synchronized.", "sync", "synced"),
    ("Synchronized.", "sync", "synced"),
    ("Yes, the sound of the skateboard hitting the ground occurs at the same time as the impact.", "sync", "synced"),
    ("The thud is heard exactly when the box lands on the floor, so they are in sync.", "sync", "synced"),
    ("There is no noticeable delay between the impact and the sound.", "sync", "synced"),
    ("The audio is neither early nor late; it lines up with the fall.", "sync", "synced"),
    ("I don't notice any lag: the splash happens right as he hits the water.", "sync", "synced"),
    ("After carefully watching the video, I found the audio is synchronized with the visual events.", "sync", "synced"),
    ("Yes.", "sync", "synced"),
    # --- sync: early ----------------------------------------------------------------------
    ("The sound comes before the skateboarder hits the ground.", "sync", "early"),
    ("Early - the crash is audible before the car makes contact.", "sync", "early"),
    ("The audio leads the video by about 0.3 seconds.", "sync", "early"),
    ("The video lags behind the audio.", "sync", "early"),
    ("The impact sound is heard before it is seen.", "sync", "early"),
    ("We hear the thud before he actually lands on the mat.", "sync", "early"),
    ("The audio is ahead of the visuals.", "sync", "early"),
    ("It's not synchronized: the sound plays too early.", "sync", "early"),
    ("The visual impact happens slightly after the sound.", "sync", "early"),
    ("No, the audio comes first and the picture follows.", "sync", "early"),
    ("The bang occurs earlier than the collision shown on screen.", "sync", "early"),
    # --- sync: delayed --------------------------------------------------------------------
    ("The audio lags behind the video.", "sync", "delayed"),
    ("Late.", "sync", "delayed"),
    ("The sound is delayed relative to the video.", "sync", "delayed"),
    ("The impact happens before the sound.", "sync", "delayed"),
    ("He lands before we hear the thud.", "sync", "delayed"),
    ("The sound of the impact arrives about 0.5 s after the ball hits the floor.", "sync", "delayed"),
    ("There is a delay between the visual impact and the crash sound.", "sync", "delayed"),
    ("No. The thud is heard after the fall is seen, so the audio is late.", "sync", "delayed"),
    ("The audio is not early; it's late by roughly a second.", "sync", "delayed"),
    ("In the video the sound comes after the skateboard hits the rail.", "sync", "delayed"),
    ("Hard to tell at first, but I think the audio is slightly behind the picture.", "sync", "delayed"),
    # --- sync: no readable direction ------------------------------------------------------
    ("The audio is out of sync with the video.", "sync", "unknown"),
    ("No.", "sync", "unknown"),
    ("It could be either early or late, I can't be sure.", "sync", "unknown"),
    ("I cannot determine whether the audio is synchronized.", "sync", "unknown"),
    ("There is no sound in this video, so synchronization cannot be judged.", "sync", "silent"),
    # --- existence ------------------------------------------------------------------------
    ("Yes, you can clearly hear the thud when he hits the ground.", "existence", "synced"),
    ("Yes.", "existence", "synced"),
    ("No.", "existence", "silent"),
    ("No, the video is silent.", "existence", "silent"),
    ("There is no sound in the video.", "existence", "silent"),
    ("No sound can be heard when the glass shatters.", "existence", "silent"),
    ("I can't hear anything; the audio track seems to be muted.", "existence", "silent"),
    ("The audio is not silent: there is a loud crash as the shelf collapses.", "existence", "synced"),
    ("There is a loud bang as the tire bursts.", "existence", "synced"),
    ("The sound of the impact is audible.", "existence", "synced"),
    ("No, there's no audible impact; only silence.", "existence", "silent"),
    ("I'm sorry, but I can't process audio. I can only see the video frames.", "existence", "refused"),
    ("As an AI, I don't have access to the audio of this video.", "existence", "refused"),
    # --- consistency ----------------------------------------------------------------------
    ("Yes, the sound matches the visual event.", "consistency", "synced"),
    ("Yes.", "consistency", "synced"),
    ("No.", "consistency", "mismatched"),
    ("No, it sounds like a dog barking rather than a car crash.", "consistency", "mismatched"),
    ("The audio does not match the video; it seems to come from a different source.", "consistency", "mismatched"),
    ("The sound is inconsistent with the visual content.", "consistency", "mismatched"),
    ("The sound is consistent with a skateboard hitting concrete.", "consistency", "synced"),
    ("There is no mismatch: the crash is what you would expect from the bike hitting the fence.", "consistency", "synced"),
    ("The splash is not the sound of a person falling onto a trampoline.", "consistency", "mismatched"),
    ("Mismatched.", "consistency", "mismatched"),
    ("The audio doesn't correspond to what is happening on screen.", "consistency", "mismatched"),
    ("The sound seems to be from another video.", "consistency", "mismatched"),
    ("There is no sound at all.", "consistency", "silent"),
    # --- echoes of the prompt's own option text (thud_dataset.prompts), without the letter ---
    ("Synchronized: the sound is heard at the moment it is seen.", "sync", "synced"),
    ("Early: the sound is heard before it is seen.", "sync", "early"),
    ("Delayed: the sound is heard after it is seen.", "sync", "delayed"),
    ("(B) Delayed: the sound is heard after it is seen.", "sync", "early"),  # the letter wins: B is early
    ("Yes: its sound can be heard.", "existence", "synced"),
    ("No: there is no sound at all, the audio is silent.", "existence", "silent"),
    ("Yes: the sound is the sound of what is seen.", "consistency", "synced"),
    ("No: the sound comes from a different source.", "consistency", "mismatched"),
    # --- no dimension given ---------------------------------------------------------------
    ("synced", None, "synced"),
    ("silent", None, "silent"),
    ("The sound comes before the impact.", None, "early"),
    ("The audio is muted.", None, "silent"),
    ("The audio is from a different clip.", None, "mismatched"),
    ("Yes.", None, "synced"),  # "yes" means synced under every dimension's question
    ("No.", None, "unknown"),  # "no" does not
    ("", None, "unknown"),
    (None, "sync", "unknown"),
    ("Hmm, interesting video!", "sync", "unknown"),
]


@pytest.mark.parametrize(("answer", "dimension", "expected"), TABLE)
def test_parse_answer_table(answer, dimension, expected):
    assert parse_answer(answer, dimension) == expected


def test_table_is_large_and_varied():
    assert len(TABLE) >= 60
    assert {label for _, _, label in TABLE} == {"synced", "early", "delayed", "silent", "mismatched", "refused", "unknown"}


def test_parse_is_deterministic_and_labels_pass_through():
    for label in ("synced", "early", "delayed", "silent", "mismatched", "unknown"):
        assert parse_answer(label, "sync") == label
    assert [parse_answer("The audio lags.", "sync") for _ in range(3)] == ["delayed"] * 3


def test_explicit_choices_override_the_dimension():
    assert parse_answer("B", choices=["synced", "early", "delayed"]) == "early"
    assert parse_answer("B", "sync", choices=["silent", "synced"]) == "synced"
    with pytest.raises(ValueError, match="choices must be labels"):
        parse_answer("B", choices=["yes", "no"])
    with pytest.raises(ValueError, match="unknown dimension"):
        parse_answer("B", "timing")


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("The audio lags behind the video by about 0.5 s.", 0.5),
        ("The sound comes about 300 ms before the impact.", -0.3),
        ("The audio is roughly 1.5 seconds early.", -1.5),
        ("Delayed by half a second.", 0.5),
        ("At 2.5 s the man falls, and the thud is 0.4 s late.", 0.4),
        ("The audio is late.", None),
        ("The sound is synchronized within 0.1 seconds.", None),  # no direction, no offset
        (None, None),
    ],
)
def test_stated_offset(answer, expected):
    got = stated_offset(answer)
    assert got == expected if expected is None else math.isclose(got, expected)


def test_parse_answers_memoises_and_asks_the_judge_once_per_distinct_answer():
    calls = []

    def judge(answer, dimension):
        calls.append((answer, dimension))
        return "Mismatched."

    answers = ["B", "mumble", "mumble", "", None, "mumble"]
    dims = ["consistency", "consistency", "consistency", "consistency", "consistency", "sync"]
    labels, offsets = parse_answers(answers, dims, judge=judge)
    assert labels.tolist() == ["mismatched", "mismatched", "mismatched", "unknown", "unknown", "mismatched"]
    assert calls == [("mumble", "consistency"), ("mumble", "sync")]  # never for empty answers
    assert np.isnan(offsets).all()


def test_judge_replies_the_rules_cannot_read_stay_unknown():
    labels, _ = parse_answers(["mumble"], ["sync"], judge=lambda a, d: "I am not sure")
    assert labels.tolist() == ["unknown"]


def test_parse_answers_rejects_bad_input():
    with pytest.raises(ValueError, match="2 answers but 1 dimensions"):
        parse_answers(["a", "b"], ["sync"])
    with pytest.raises(TypeError, match="must be str or None"):
        parse_answers([3], ["sync"])


def test_judge_prompt_lists_the_dimension_options_as_letters():
    prompt = judge_prompt("It sounds off.", "existence")
    assert "(A) synced" in prompt and "(B) silent" in prompt and "(C)" not in prompt
    assert "It sounds off." in prompt
    assert "- mismatched" in prompt  # the other claims an answer can make


# -- negation and refusal, class by class -----------------------------------------------------

NEGATED = [
    # every way a negation of "in sync" is written: never "synced"
    ("The audio is not synchronized with the video.", "sync", "unknown"),
    ("The sound isn't in sync with the picture.", "sync", "unknown"),
    ("The sound and the picture are never aligned.", "sync", "unknown"),
    ("I don't think the audio is synchronized.", "sync", "unknown"),
    ("It does not line up with the impact.", "sync", "unknown"),
    ("Not synchronized.", "sync", "unknown"),
    ("The audio is not synchronized; the sound comes late.", "sync", "delayed"),
    ("声音与画面并不同步。", "sync", "unknown"),
    # and a negated negation is in sync
    ("The audio is not out of sync.", "sync", "synced"),
    ("There is no delay at all.", "sync", "synced"),
    ("I wouldn't say it's early or late.", "sync", "synced"),
    ("声音没有延迟。", "sync", "synced"),
    # a negation turns any claim into its opposite
    ("It is not in sync: the sound comes before the impact.", "sync", "early"),
    ("The sound is not early.", "sync", "synced"),
    ("Not synced; the sound arrives late.", "sync", "delayed"),
    ("I do not hear any sound.", "existence", "silent"),
    ("The sound does not match what we see.", "consistency", "mismatched"),
    ("The audio is not missing.", "existence", "synced"),
    ("No, it doesn't come from the ball.", "consistency", "mismatched"),
]


@pytest.mark.parametrize(("answer", "dimension", "expected"), NEGATED)
def test_negations_are_read(answer, dimension, expected):
    assert parse_answer(answer, dimension) == expected


REFUSALS = [
    # refusals that contain the words of a claim of silence: never "silent"
    "No audio track was provided to me, so there is nothing I can hear.",
    "As a model that only sees frames, I cannot hear the sound; it would seem silent to me.",
    "I'm unable to process audio, so to me the clip is silent.",
    "I don't have access to the audio, so I can't hear anything.",
    "I can only see the video frames; no sound reaches me.",
    "作为一个AI模型，我无法处理音频，所以听不到任何声音。",
    # refusals followed by a guess
    "I'm sorry, but I can't process audio.",
    "As an AI language model, I cannot listen to the audio. The video looks synchronized.",
    "I am unable to hear sounds; I only receive the video frames. (A)",
    "No audio was provided to me, so I'd guess B.",
    "我无法处理音频。",
]


@pytest.mark.parametrize("answer", REFUSALS)
@pytest.mark.parametrize("dimension", ["sync", "existence", "consistency", None])
def test_refusals_are_refused_never_silent(answer, dimension):
    assert parse_answer(answer, dimension) == "refused"
    if dimension is not None:  # and the answer after it is read on its own
        labels, _ = parse_answers([answer, "A"], [dimension, dimension])
        assert list(labels) == ["refused", "synced"]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("I can't hear anything; the audio is muted.", "silent"),
        ("I cannot hear any sound when the glass breaks.", "silent"),
        ("There is no audio in this clip.", "silent"),
        ("听不到任何声音。", "silent"),
    ],
)
def test_claims_of_silence_are_not_refusals(answer, expected):
    assert parse_answer(answer, "existence") == expected


def test_the_precedence_tables_in_the_docs_are_the_code():
    """docs/metrics.md shows each dimension's precedence table; it must be the one in
    thud_metrics.parsing.rules (rows "a, b → L" are consecutive rows with one label)."""
    import re
    from pathlib import Path

    from thud_metrics.parsing.rules import PRECEDENCE

    doc = (Path(__file__).resolve().parents[2] / "docs" / "metrics.md").read_text(encoding="utf-8")
    table = doc[doc.index("| sync | existence | consistency |") :].split("\n\n")[0].splitlines()[2:]
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in table]
    for column, dimension in enumerate(("sync", "existence", "consistency")):
        rows = []
        for row in cells:
            if not row[column]:
                continue
            claims, label = (part.strip() for part in row[column].split("→"))
            for need in re.split(r",\s*", claims):
                rows.append((frozenset(c.strip() for c in need.split("+")), label))
        code = [(need, label) for need, label in PRECEDENCE[dimension]]
        # the docs spell out "early, delayed → that": each direction gives its own label
        expanded = [(need, next(iter(need)) if label == "that" else label) for need, label in rows]
        assert expanded == code, dimension


def test_the_traditional_table_covers_the_characters_the_rules_use():
    """Every entry maps a traditional character to one the Chinese patterns contain, and the
    traditional forms of the words the rules rely on are mapped (e.g. 聲音 -> 声音)."""
    import re
    from pathlib import Path

    from thud_metrics.parsing import zh

    package = Path(zh.__file__).parent
    source = "".join(p.read_text(encoding="utf-8") for p in package.glob("*.py"))
    table = "".join(zh._T2S_PAIRS)
    used = set(re.findall(r"[\u4e00-\u9fff]", source.replace(table, "")))
    assert set(table[1::2]) <= used
    for traditional, simplified in [("聲音", "声音"), ("畫面", "画面"), ("延遲", "延迟"), ("滯後", "滞后"), ("無聲", "无声"),
                                    ("聽不到", "听不到"), ("音訊", "音讯"), ("對不上", "对不上"), ("選", "选"),
                                    ("無法處理", "无法处理"), ("靜音", "静音"), ("與", "与")]:  # fmt: skip
        assert zh.to_simplified(traditional) == simplified
