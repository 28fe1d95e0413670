"""Answer parsing: free-form model text -> one reading.

Every probe's answer is read as one of :data:`thud_dataset.vocab.LABELS` (``synced``,
``early``, ``delayed``, ``silent``, ``mismatched``), ``refused`` (the answer says the model
has no audio) or ``unknown`` (no readable claim). The rules are deterministic: the same
text, dimension and choices always give the same reading. Nothing is guessed: an answer
the rules cannot read is ``unknown`` (counted wrong by the metric and reported as the
unparseable rate), or goes to a judge when one is given.

How an answer is read, in order:

1. ``None``/empty, or an exact reading (``"early"``) -> that reading.
2. Reasoning is dropped: ``<think>...</think>`` (a never-closed ``<think>`` drops the rest).
3. **Refusal** (anywhere in what is left, English or Chinese): "I can't process audio",
   "as an AI ...", "I only see the frames", "no audio was provided to me", "我无法处理音频"
   -> ``refused``, whatever the answer guesses next. A refusal is not a claim of silence:
   "I can't hear anything" is ``silent``, "I can't hear audio, I only get frames" is ``refused``.
4. Only what follows the last "Answer:" / "Final answer:" / "答案：" marker is read (when
   something follows it). Full-width characters, traditional Chinese and markdown are
   normalised first.
5. An **option letter**: "B", "(B)", "B) ...", "B. ...", "Answer: B", "I choose (B)", "答案是C",
   "选B". Letters index the probe's choices (``vocab.CHOICES[dimension]``, as the prompt
   lists them) and win over words; an out-of-range letter, or two letters ("B or C"), is
   ``unknown``. Without choices a bare letter is ``unknown`` and the words after it are read.
6. **Claims**, clause by clause (:mod:`~thud_metrics.parsing.rules`, :mod:`~thud_metrics.parsing.zh`):
   ordered patterns find what each clause asserts (``synced``, ``offsync``, ``early``,
   ``delayed``, ``no_offset``, ``silent``, ``present``, ``source_silent``, ``match``,
   ``mismatch``, and a leading ``yes``/``no``); the sign of a direction comes from its
   subject ("the sound comes before the impact" and "the video lags behind the audio" are
   early, "the impact happens before the sound" delayed). Then:

   * negation scope: a negator earlier in the clause ("not", "no", "never", "without",
     "don't think", "wouldn't call it", "isn't"; "不", "没有", "并非" just before) turns a claim
     into its opposite: "not synchronized" -> ``offsync``, "no delay" / "not late" ->
     ``no_offset``, "doesn't match" -> ``mismatch``, "can't hear the crash" -> ``silent``;
   * rejection: "rather than X", "instead of X" drop X (and, when X is not a timing word,
     say the heard sound is another one: ``mismatch``); "X, not Y" after a named sound and
     "I hear X, whereas the video shows Y" are ``mismatch``;
   * hedges drop their clause ("hard to say whether it is early", "I'm not sure if ...";
     "很难判断"), and so do offered alternatives ("either early or late", "maybe X, maybe Y");
     a hedge that still commits keeps its claim ("a bit late, I think" is ``delayed``);
   * provisional clauses ("at first", "initially", "it may look ...", "一开始") are dropped
     when a later clause follows, and after a contrast ("but", "however", "actually", "但是")
     the later claim about the same thing (timing, presence, source) corrects the earlier.

7. The dimension's **precedence table** (:data:`~thud_metrics.parsing.rules.PRECEDENCE`)
   turns the claims into a label: e.g. for sync, two directions -> ``unknown``, a direction
   -> it, silence -> ``silent``, out of sync without direction -> ``unknown``, a bare "no"
   -> ``unknown``, in sync / no offset / matches / "yes" -> ``synced``.

"Out of sync" without a direction is ``unknown``: the label space has no directionless
shift. Languages: English and Chinese (simplified, traditional, and mixed with English).

>>> parse_answer("B", dimension="sync"), parse_answer("B", dimension="existence")
('early', 'silent')
>>> parse_answer("The sound comes before the skateboard hits the ground.")
'early'
>>> parse_answer("No, I can't hear anything.", dimension="existence")
'silent'
>>> parse_answer("I'm sorry, I can't process audio; I only see the frames.", dimension="existence")
'refused'
>>> parse_answer("I would not call it late; it lines up with the impact.", dimension="sync")
'synced'
>>> parse_answer("声音比画面晚，存在延迟。", dimension="sync"), parse_answer("答案是B", dimension="sync")
('delayed', 'early')
>>> stated_offset("The audio lags behind the video by about 0.5 s.")
0.5
>>> parse_answer("B")  # a letter means nothing without the choices
'unknown'
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import numpy as np

from thud_dataset.vocab import CHOICES, DIMENSIONS, LABELS, REFUSED, UNKNOWN

from .judging import (
    JUDGE_PROMPT,
    JUDGE_PROMPT_VERSION,
    Judge,
    agreement,
    cohen_kappa,
    judge_prompt,
    read_verdict,
)
from .offsets import stated_magnitude
from .read import READINGS, read

__all__ = [
    "JUDGE_PROMPT",
    "JUDGE_PROMPT_VERSION",
    "Judge",
    "agreement",
    "cohen_kappa",
    "judge_prompt",
    "parse_answer",
    "parse_answers",
    "read_answers",
    "read_verdict",
    "stated_offset",
]

logger = logging.getLogger(__name__)

#: judge modes: ask about the answers the rules cannot read, or about every answer
JUDGE_MODES: tuple[str, ...] = ("unread", "all")


def _choices_for(dimension: str | None, choices: Sequence[str] | None) -> tuple[str, ...] | None:
    if choices is not None:
        choices = tuple(choices)
        bad = [c for c in choices if c not in LABELS]
        if bad:
            raise ValueError(f"choices must be labels from {LABELS}; got {bad}")
        return choices
    if dimension is None:
        return None
    if dimension not in CHOICES:
        raise ValueError(f"unknown dimension {dimension!r}; expected one of {DIMENSIONS} or None")
    return CHOICES[dimension]


def _dimension_of(dimension: str | None, choices: tuple[str, ...] | None) -> str | None:
    if dimension is not None or choices is None:
        return dimension
    return next((d for d, c in CHOICES.items() if c == choices), None)


def parse_answer(
    answer: str | None,
    dimension: str | None = None,
    choices: Sequence[str] | None = None,
) -> str:
    """Read one answer.

    Parameters
    ----------
    answer : str or None
        The model's free-form answer (or a label, or a letter). ``None``, empty and
        non-string answers are ``"unknown"``.
    dimension : {"sync", "existence", "consistency"} or None
        The probe's dimension: which question was asked. It maps letters through
        ``vocab.CHOICES[dimension]`` and picks the precedence table (a plain "no" is
        ``silent`` for existence, ``mismatched`` for consistency, ``unknown`` for sync).
    choices : sequence of str, optional
        The labels the prompt listed as (A), (B), (C)...; overrides the dimension's.

    Returns
    -------
    reading : str
        One of ``synced``, ``early``, ``delayed``, ``silent``, ``mismatched`` (the labels),
        ``refused`` (the answer says the model has no audio or cannot hear; never a claim
        of silence) or ``unknown``.

    Examples
    --------
    >>> parse_answer("(C) The audio is delayed.", dimension="sync")
    'delayed'
    >>> parse_answer("Yes, you can clearly hear the thud.", dimension="existence")
    'synced'
    >>> parse_answer("The video is ahead of the audio.")
    'delayed'
    >>> parse_answer("There is no noticeable delay; sound and picture are in sync.")
    'synced'
    >>> parse_answer("The sound is out of sync.")  # no direction given
    'unknown'
    >>> parse_answer("Initially it seemed early to me, but listening again it matches.", "sync")
    'synced'
    >>> parse_answer("I'm sorry, I am unable to process audio.", dimension="existence")
    'refused'
    >>> parse_answer("A", choices=["synced", "mismatched"])
    'synced'
    """
    if not isinstance(answer, str):
        return UNKNOWN
    choices_t = _choices_for(dimension, choices)
    dimension = _dimension_of(dimension, choices_t)
    text = answer.strip()
    if not text:
        return UNKNOWN
    if text in READINGS:
        return text
    return read(text, dimension, choices_t)


def stated_offset(answer: str | None, label: str | None = None) -> float | None:
    """The signed offset in seconds that an answer states, if it states one.

    The sign comes from the answer's direction: ``early`` is negative (the audio is heard
    before it is seen, ``tau < 0``), ``delayed`` positive. An answer without a number of
    seconds, or without a direction, states no offset (``None``). Times *in* the clip
    ("at 2.5 s the man falls") are not offsets.

    Parameters
    ----------
    answer : str or None
    label : str, optional
        The answer's reading, if already known (saves parsing it again).

    Examples
    --------
    >>> stated_offset("The sound comes about 300 ms before the impact.")
    -0.3
    >>> stated_offset("Delayed by half a second.")
    0.5
    >>> stated_offset("声音比画面晚了大约0.5秒。")
    0.5
    >>> stated_offset("The audio is late.") is None
    True
    """
    if not isinstance(answer, str):
        return None
    if label is None:
        label = parse_answer(answer)
    if label not in ("early", "delayed"):
        return None
    magnitude = stated_magnitude(answer)
    if magnitude is None:
        return None
    return -magnitude if label == "early" else magnitude


def parse_answers(
    answers: Iterable[str | None],
    dimensions: Iterable[str | None] | None = None,
    *,
    judge: Judge | None = None,
    judge_all: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Parse many answers; each distinct (answer, dimension) is read once.

    Parameters
    ----------
    answers : iterable of str or None, length n
    dimensions : iterable of str or None, length n, optional
        Each probe's dimension (maps letters and picks the precedence table); ``None`` for
        all if omitted.
    judge : callable, optional
        ``judge(answer, dimension) -> reply`` (see :data:`JUDGE_PROMPT` and
        :mod:`thud_metrics.judge` for LLM clients). By default it is asked about each
        distinct answer the rules read as ``unknown`` (an empty answer is never sent). Its
        reply is read strictly (:func:`read_verdict`): a reply that is not a reading or an
        option letter stays ``unknown`` and is logged.
    judge_all : bool
        Ask the judge about every non-empty answer and use its verdicts (the rules' readings
        are kept for the agreement report of :func:`read_answers`).

    Returns
    -------
    labels : ndarray of str, shape (n,)
    offsets : ndarray of float, shape (n,)
        The signed offset each answer states, in seconds; NaN where none is stated.

    Examples
    --------
    >>> labels, offsets = parse_answers(["A", "The sound is 0.5 s late", "hmm"], ["sync"] * 3)
    >>> labels.tolist(), offsets.tolist()
    (['synced', 'delayed', 'unknown'], [nan, 0.5, nan])
    >>> labels, _ = parse_answers(["hmm"], ["sync"], judge=lambda answer, dim: "early")
    >>> labels.tolist()
    ['early']
    """
    index, labels, offsets, _ = read_answers(answers, dimensions, judge=judge, judge_all=judge_all)
    return np.array(labels, dtype=object)[index], offsets[index]


def read_answers(
    answers: Iterable[str | None],
    dimensions: Iterable[str | None] | None = None,
    *,
    judge: Judge | None = None,
    judge_all: bool = False,
) -> tuple[np.ndarray, list[str], np.ndarray, dict | None]:
    """Each distinct (answer, dimension) read once: (row -> distinct index, reading and
    stated offset of each distinct answer, judge report).

    The judge report (None without a judge) says what the judge did: ``judge`` (its name),
    ``mode`` ("unread" or "all"), ``asked`` (distinct answers sent), ``probes_asked``,
    ``unreadable_replies`` (distinct replies that were not a reading; counted ``unknown``),
    ``changed`` (probes whose reading differs from the rules'), ``unreadable`` (each
    unreadable reply with its answer) and ``disagreements`` (each distinct answer the rules
    and the judge read differently, with its probe count); with ``judge_all`` also
    ``agreement`` (:func:`agreement` over the probes asked: counts and Cohen's kappa).
    """
    answers = answers if isinstance(answers, list) else list(answers)
    dims = [None] * len(answers) if dimensions is None else list(dimensions)
    if len(dims) != len(answers):
        raise ValueError(f"got {len(answers)} answers but {len(dims)} dimensions")
    # factorize answers and dimensions separately (C-level dict passes, no per-row tuples),
    # then combine the two codes into one integer key per row
    try:
        answer_codes, answer_names = _first_seen_codes(answers)
    except TypeError:
        bad = next(a for a in answers if not isinstance(a, str | None))
        raise TypeError(f"answers must be str or None; got {type(bad).__name__}: {bad!r}") from None
    dim_codes, dim_names = _first_seen_codes(dims)
    keys, index, counts = np.unique(answer_codes * len(dim_names) + dim_codes, return_inverse=True, return_counts=True)
    distinct = [(answer_names[k // len(dim_names)], dim_names[k % len(dim_names)]) for k in keys.tolist()]
    labels: list[str] = []
    for answer, dim in distinct:
        if not (isinstance(answer, str) or answer is None):
            raise TypeError(f"answers must be str or None; got {type(answer).__name__}: {answer!r}")
        labels.append(parse_answer(answer, dim))
    report = None
    if judge is not None:
        labels, report = _ask_judge(judge, distinct, labels, counts, judge_all)
    offsets = np.full(len(distinct), np.nan)
    for j, ((answer, _), label) in enumerate(zip(distinct, labels, strict=True)):
        if label in ("early", "delayed"):
            offset = stated_offset(answer, label)
            if offset is not None:
                offsets[j] = offset
    return index.astype(np.int64, copy=False), labels, offsets, report


def _judge_name(judge: object) -> str:
    return str(getattr(judge, "name", None) or getattr(judge, "__qualname__", None) or type(judge).__name__)


def _ask_judge(
    judge: Judge, distinct: list[tuple[str | None, str | None]], rules: list[str], counts: np.ndarray, judge_all: bool
) -> tuple[list[str], dict]:
    """The judge's readings where it was asked; the report of what it did."""
    ask = [
        j for j, ((answer, _), label) in enumerate(zip(distinct, rules, strict=True))
        if isinstance(answer, str) and answer.strip() and (judge_all or label == UNKNOWN)
    ]  # fmt: skip
    items = [(distinct[j][0], distinct[j][1]) for j in ask]
    many = getattr(judge, "judge_many", None)  # one call for all: progress, parallel requests, a cache
    replies = list(many(items)) if callable(many) else [judge(a, d) for a, d in items]
    if len(replies) != len(items):
        raise ValueError(f"the judge returned {len(replies)} replies for {len(items)} answers")
    labels = list(rules)
    unreadable, disagreements = [], []
    for j, (answer, dim), reply in zip(ask, items, replies, strict=True):
        verdict = read_verdict(reply, dim)
        if verdict is None:
            unreadable.append({"answer": answer, "dimension": dim, "reply": reply})
            verdict = UNKNOWN
        labels[j] = verdict
        if verdict != rules[j]:
            disagreements.append(
                {"answer": answer, "dimension": dim, "rules": rules[j], "judge": verdict, "probes": int(counts[j])}
            )
    if unreadable:
        logger.warning(
            "judge %s: %d of %d replies were not a reading and count as unknown (first: %r)",
            _judge_name(judge), len(unreadable), len(items), unreadable[0]["reply"],
        )  # fmt: skip
    report = {
        "judge": _judge_name(judge),
        "mode": "all" if judge_all else "unread",
        "prompt_version": JUDGE_PROMPT_VERSION,
        "asked": len(items),
        "probes_asked": int(counts[ask].sum()) if ask else 0,
        "unreadable_replies": len(unreadable),
        "changed": int(sum(d["probes"] for d in disagreements)),
        "unreadable": unreadable,
        "disagreements": disagreements,
    }
    if judge_all:
        report["agreement"] = agreement([rules[j] for j in ask], [labels[j] for j in ask], [int(counts[j]) for j in ask])
    return labels, report


def _first_seen_codes(values: list) -> tuple[np.ndarray, list]:
    table = dict.fromkeys(values)
    table.update(zip(table, range(len(table)), strict=True))
    return np.fromiter(map(table.__getitem__, values), dtype=np.int64, count=len(values)), list(table)


REFUSED_READING = REFUSED  # the reading of a refusal, for callers that import it from here
