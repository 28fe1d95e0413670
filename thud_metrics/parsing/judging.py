"""The LLM-judge protocol: the prompt, strict reading of a judge's reply, and agreement
between the rules and a judge (counts and Cohen's kappa).

The clients that send the prompt to a model live in :mod:`thud_metrics.judge`; this module
is pure (standard library only) so that the metric can be copied without them.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence

from thud_dataset.vocab import CHOICES, LABELS, REFUSED, UNKNOWN

from .text import visible

#: a judge: ``judge(answer, dimension) -> reply``; the reply is read by :func:`read_verdict`.
#: An object may also offer ``judge_many([(answer, dimension), ...]) -> [reply, ...]`` (one
#: call for every answer to judge: progress bars, parallel requests, a cache).
Judge = Callable[[str, "str | None"], str]

_QUESTION = {
    "sync": "Is the sound synchronized with the visible event, or is it early or late?",
    "existence": "Can the sound of the visible event be heard in the video?",
    "consistency": "Does the sound match the source seen in the video?",
}
_MEANING = {
    "synced": "the sound is present, comes from the visible source and is in time with it",
    "early": "the sound is heard BEFORE the visible event (the audio leads the picture)",
    "delayed": "the sound is heard AFTER the visible event (the audio lags the picture)",
    "silent": "no sound of the event can be heard (the video is silent)",
    "mismatched": "a sound is heard but it does not come from the visible source",
}

#: The protocol an LLM judge follows. Fill it with :func:`judge_prompt`; the judge replies
#: with one word, read strictly by :func:`read_verdict`.
JUDGE_PROMPT = """\
You grade how a video model answered a question about the SOUND of a video.
Do not judge whether the answer is right; only report what the answer claims.

Question asked: {question}
The options the question offered, as letters:
{options}

Other claims an answer can make:
{others}
- refused: the model says it has no audio, cannot hear or process sound, or only sees frames

The model's answer:
<<<
{answer}
>>>

Reply with exactly one word: {labels}, refused, or unknown.
Reply "refused" if the answer says the model cannot access or hear the audio, whatever it
guesses next. Reply "unknown" if the answer hedges between options or does not commit to
one claim. Read negations ("not late", "no delay" means synced) and corrections ("at first
it seemed early, but it matches" means synced): report what the answer finally asserts.
If it names a letter, reply with that option's word. The answer may be in any language.
"""

#: changes whenever the prompt does: cached verdicts of another prompt are not reused
JUDGE_PROMPT_VERSION: str = hashlib.sha256(JUDGE_PROMPT.encode()).hexdigest()[:12]


def judge_prompt(answer: str, dimension: str | None = None) -> str:
    """Fill :data:`JUDGE_PROMPT` for one answer.

    Examples
    --------
    >>> print(judge_prompt("It sounds a bit off, like the crash happens later.", "sync"))
    ... # doctest: +ELLIPSIS
    You grade how a video model answered a question about the SOUND of a video.
    ...
    (A) synced: the sound is present, comes from the visible source and is in time with it
    (B) early: the sound is heard BEFORE the visible event (the audio leads the picture)
    (C) delayed: the sound is heard AFTER the visible event (the audio lags the picture)
    ...
    """
    offered = CHOICES.get(dimension, LABELS) if dimension else LABELS
    options = "\n".join(f"({chr(65 + i)}) {label}: {_MEANING[label]}" for i, label in enumerate(offered))
    others = "\n".join(f"- {label}: {_MEANING[label]}" for label in LABELS if label not in offered)
    question = _QUESTION.get(dimension or "", "What does the sound of the video do?")
    return JUDGE_PROMPT.format(
        question=question, options=options, others=others or "- (none)", answer=answer.strip(),
        labels=", ".join(LABELS),
    )  # fmt: skip


_WORDS = frozenset(LABELS) | {REFUSED, UNKNOWN}
_LETTER_REPLY = re.compile(r"^\(?([a-e])\)?(?:[\s.:)\-]+([a-z]+))?$")


def read_verdict(reply: object, dimension: str | None = None) -> str | None:
    """A judge's reply read strictly: one of the labels, ``refused`` or ``unknown`` (any
    case, quotes, markdown emphasis, a final full stop), or an option letter of the
    dimension's question ("B", "(B) early" when the word agrees with the letter). Anything
    else is unreadable: ``None`` (the caller counts it as ``unknown`` and reports it).

    >>> read_verdict("Mismatched."), read_verdict("**B**", "sync"), read_verdict("(C) delayed", "sync")
    ('mismatched', 'early', 'delayed')
    >>> read_verdict("I think it is early"), read_verdict("C", "existence"), read_verdict(None)
    (None, None, None)
    """
    if not isinstance(reply, str):
        return None
    text = visible(reply).strip().strip("*_`\"'“”‘’ \n\t").rstrip(".!").strip().lower()
    if text in _WORDS:
        return text
    m = _LETTER_REPLY.match(text)
    if m is None or dimension not in CHOICES:
        return None
    index = ord(m.group(1)) - 97
    offered = CHOICES[dimension]
    if index >= len(offered) or (m.group(2) and m.group(2) != offered[index]):
        return None
    return offered[index]


# -- agreement -----------------------------------------------------------------------------


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float:
    """Cohen's kappa between two readings of the same items: 1 is perfect agreement, 0 the
    agreement chance alone gives, negative less than chance. NaN for no items; 1.0 when both
    always give the same single reading.

    >>> cohen_kappa(["x", "x", "y", "y"], ["x", "x", "y", "y"]), cohen_kappa(["x", "y"], ["y", "x"])
    (1.0, -1.0)
    >>> round(cohen_kappa(["x", "x", "y", "y"], ["x", "y", "y", "y"]), 3)
    0.5
    """
    if len(a) != len(b):
        raise ValueError(f"cohen_kappa needs two readings of the same items; got {len(a)} and {len(b)}")
    n = len(a)
    if n == 0:
        return math.nan
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[k] * cb[k] for k in ca) / (n * n)
    if expected == 1.0:
        return 1.0 if observed == 1.0 else math.nan
    return (observed - expected) / (1.0 - expected)


def agreement(rules: Sequence[str], judged: Sequence[str], weights: Sequence[int] | None = None) -> dict:
    """How often the rules and a judge read the same answers alike.

    Parameters
    ----------
    rules, judged : sequence of str, length m
        The two readings of each item.
    weights : sequence of int, length m, optional
        How many probes each item stands for (a distinct answer asked once stands for every
        probe that gave it); counts and kappa are over probes.

    Returns
    -------
    agreement : dict
        ``n``, ``agreed``, ``disagreed``, ``share_agreed``, ``kappa`` (Cohen's, over
        probes), and ``pairs``: ``{"rules->judge": probes}`` for every disagreeing pair.

    >>> a = agreement(["early", "synced"], ["early", "delayed"], [3, 1])
    >>> a["agreed"], a["pairs"], round(a["kappa"], 3)
    (3, {'synced->delayed': 1}, 0.429)
    """
    w = [1] * len(rules) if weights is None else list(weights)
    a = [x for x, k in zip(rules, w, strict=True) for _ in range(k)]
    b = [y for y, k in zip(judged, w, strict=True) for _ in range(k)]
    agreed = sum(x == y for x, y in zip(a, b, strict=True))
    pairs = Counter(f"{x}->{y}" for x, y in zip(a, b, strict=True) if x != y)
    return {
        "n": len(a),
        "agreed": agreed,
        "disagreed": len(a) - agreed,
        "share_agreed": agreed / len(a) if a else math.nan,
        "kappa": cohen_kappa(a, b),
        "pairs": dict(sorted(pairs.items())),
    }
