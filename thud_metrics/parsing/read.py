"""Reading one answer: refusal, option letter, then the claims of its clauses and the
dimension's precedence table. The steps are documented in :mod:`thud_metrics.parsing`."""

from __future__ import annotations

import re
from collections.abc import Sequence

from thud_dataset.vocab import LABELS, REFUSED, UNKNOWN

from . import rules as en
from . import zh
from .text import Clause, blank, clauses, final_part, normalise, plain, same_length_sub, visible

READINGS = frozenset(LABELS) | {UNKNOWN, REFUSED}

# -- option letters ------------------------------------------------------------------------

_LETTER_ONLY = re.compile(r"^[\s\"'(\[]*([a-eA-E])[\s\"')\].:\u3002]*$")
_LETTER_CUE = re.compile(
    r"(?:(?i:answer|option|choice|choose|chose|pick|picked|select|selected|go with|going with|(?:would|I|I'd) say)"
    r"\s*(?i:is|would be|:)?\s*"
    rf"|{zh.LETTER_CUE_ZH})"
    r"(?:\(([a-eA-E])\)|\[([a-eA-E])\]|([A-E])(?![A-Za-z])|([a-e])(?=\s*$|[.,;:!)]))"
)
# a letter at the start with a marker after it: "(B) early", "B) early", "B. Early", "B: early",
# "B, ..." "B\n...", "B (同步)"; "A man falls" and "a. " in running text are not letters
_LETTER_LEAD = re.compile(
    r"^\s*(?:\(([a-eA-E])\)|\[([a-eA-E])\]|([a-eA-E])\)|([A-E])(?=\s*(?:[.:,]|\n|\(|\s-\s|\u3002))|"
    + zh.LETTER_AFTER_ZH
    + ")"
)
# "B or C", "A/B": no choice made
_AMBIGUOUS = re.compile(r"^\s*[)\]]?\s*(?:or|/|and|或者?)\s*[(\[]?[A-Ea-e](?![A-Za-z])")


def letter(text: str) -> tuple[int | None, str, bool]:
    """The chosen option (0 for A), the text after the letter, and whether the letter was
    offered with another one ("B or C"). The last cue ("Answer: B") wins over a leading letter.

    >>> letter("(B) The sound is early."), letter("答案是C"), letter("Answer: B or C")[2]
    ((1, ' The sound is early.', False), (2, '', False), True)
    """
    m = _LETTER_ONLY.match(text)
    if m is None:
        cues = list(_LETTER_CUE.finditer(text))
        m = cues[-1] if cues else _LETTER_LEAD.match(text)
    if m is None:
        return None, text, False
    chosen = next(g for g in m.groups() if g)
    rest = text[m.end() :]
    return ord(chosen.lower()) - 97, rest, _AMBIGUOUS.match(rest) is not None


# -- refusal -------------------------------------------------------------------------------

_REFUSAL_ZH = re.compile(zh.REFUSAL_ZH)


def is_refusal(text: str) -> bool:
    """Whether an answer (its visible part) says the model has no audio or cannot hear it.

    >>> is_refusal("I'm sorry, but I can't process audio."), is_refusal("I can't hear anything; it's muted.")
    (True, False)
    """
    t = normalise(text)
    return bool(en.REFUSAL_EN.search(t) or _REFUSAL_ZH.search(t))


# -- claims --------------------------------------------------------------------------------

_YES_ZH, _NO_ZH = (re.compile(rf"^\W*(?:{words})(?=[,.!;:\u3002\u3001]|$)") for words in (zh.YES_ZH, zh.NO_ZH))
# each framing cue in either language
_HEDGE, _PROVISIONAL, _APPEARANCE, _ALTERNATIVE = (
    re.compile(f"{english.pattern}|{chinese}")
    for english, chinese in (
        (en.HEDGE_EN, zh.HEDGE_ZH),
        (en.PROVISIONAL_EN, zh.PROVISIONAL_ZH),
        (en.APPEARANCE_EN, zh.APPEARANCE_ZH),
        (en.ALTERNATIVE_EN, zh.ALTERNATIVE_ZH),
    )
)
_RULES_ZH = tuple((kind, re.compile(p)) for kind, p in zh.RULES_ZH)
_TOKEN = re.compile(r"[a-z]+")


def _yes_no(text: str) -> tuple[str | None, str]:
    """A leading yes / no (as a claim) and the text without it."""
    for kind, pattern in (("yes", en.YES_EN), ("no", en.NO_EN), ("yes", _YES_ZH), ("no", _NO_ZH)):
        m = pattern.match(text)
        if m:
            return kind, blank(text, 0, m.end())
    return None, text


def _negated(clause: str, pos: int) -> bool:
    """A negator before ``pos``: an English one anywhere earlier in the clause, a Chinese
    one within a few characters."""
    if any(tok in en.NEGATORS_EN for tok in _TOKEN.findall(clause[:pos])):
        return True
    return zh.NEGATOR_ZH.search(clause, max(0, pos - zh.NEGATION_WINDOW), pos) is not None


def _side(tokens: list[str], i: int) -> str | None:
    """'A' (sound) / 'V' (picture) for token i, or None. A picture word right before a sound
    word is a modifier ("impact sound")."""
    tok = tokens[i]
    if tok in en.AUDIO_TOKENS:
        return "A"
    if tok in en.VISUAL_TOKENS:
        if i + 1 < len(tokens) and tokens[i + 1] in en.AUDIO_TOKENS:
            return None
        return "V"
    return None


def _after_preposition(tokens: list[str], i: int) -> bool:
    j = i - 1
    while j >= 0 and tokens[j] in en.DETERMINERS:
        j -= 1
    return j >= 0 and tokens[j] in en.PREPOSITIONS


def directions_en(clause: str) -> list[tuple[str, int]]:
    """('early' or 'delayed', position) for each direction an English clause states.

    The subject decides the sign: the first sound or picture word of the clause that is not
    inside a prepositional phrase ("in the video"). "The sound comes before the impact" and
    "the video lags behind the audio" are early; "the impact happens before the sound" is
    delayed. Without a subject, the object decides ("before the impact": the unnamed sound
    comes first), and a standalone "late" or "delayed" is said of the sound.

    >>> directions_en("the video lags behind the audio"), directions_en("he lands before we hear the thud")
    ([('early', 10), ('early', 15)], [('delayed', 9)])
    """
    out: list[tuple[str, int]] = []
    for pattern, direction in ((en.HEARD_BEFORE_SEEN, "early"), (en.SEEN_BEFORE_HEARD, "delayed")):
        for m in pattern.finditer(clause):
            out.append((direction, m.start()))
            clause = blank(clause, m.start(), m.end())
    for m in en.FIRST.finditer(clause):
        out.append(("early" if m.group(1) in ("sound", "audio", "noise") else "delayed", m.start()))
        clause = blank(clause, m.start(), m.end())
    for pattern, repl in en.PHRASES:
        clause = same_length_sub(pattern, repl, clause)
    found = list(_TOKEN.finditer(clause))
    tokens = [m.group(0) for m in found]
    for i, tok in enumerate(tokens):
        if tok in en.EARLY_TOKENS:
            early = True
        elif tok in en.LATE_TOKENS:
            early = False
        else:
            continue
        subject = next((s for j in range(i) if (s := _side(tokens, j)) and not _after_preposition(tokens, j)), None)
        obj = next((s for j in range(i + 1, len(tokens)) if (s := _side(tokens, j))), None)
        if subject is not None:
            audio_first = early if subject == "A" else not early
        elif obj is not None and tok not in en.STANDALONE:
            audio_first = early if obj == "V" else not early  # "before the impact": the sound first
        elif tok in en.STANDALONE:
            audio_first = early  # "It's late." - the question is about the sound
        else:
            continue  # "the man behind the car": nothing to relate
        out.append(("early" if audio_first else "delayed", found[i].start()))
    return out


_TIMING = frozenset(["synced", "offsync"])
_ALL_RULES = (*en.RULES_EN, *_RULES_ZH)


def _clause_claims(clause: str) -> list[tuple[str, int]]:
    """(claim, position) for each claim a clause states, negations not yet applied.

    Directions are read on the clause with only the timing phrases blanked: the sound and
    picture words that decide a direction's sign ("the bang ... is heard before ...") are
    also read by presence and source patterns, and must stay visible to it."""
    out: list[tuple[str, int]] = []
    work = timed = clause
    for kind, pattern in _ALL_RULES:
        found = list(pattern.finditer(work))
        if not found:
            continue
        for m in found:
            out += [(k, en.claim_position(m)) for k in kind.split("+")]
            work = blank(work, m.start(), m.end())
            if kind in _TIMING:
                timed = blank(timed, m.start(), m.end())
    out += directions_en(timed)
    out += zh.directions_zh(timed)
    return out


def _framing(cls: list[Clause]) -> set[int]:
    """Indexes of the clauses whose claims do not count: hedges ("hard to say whether ..."),
    alternatives ("either early or late", "maybe X, maybe Y"), provisional and concessive
    clauses ("at first it seemed early", "although it might look off") followed by another
    clause, and tentative appearances ("it may look synchronized") that a contrast corrects."""
    dropped = {c.index for c in cls if _HEDGE.search(c.text) or _ALTERNATIVE.search(c.text)}
    tentative = [c.index for c in cls if en.TENTATIVE_START_EN.match(c.text)]
    if len(tentative) >= 2:
        dropped.update(tentative)
    last = cls[-1].index if cls else -1
    final_segment = cls[-1].segment if cls else 0
    dropped.update(c.index for c in cls if c.index != last and _PROVISIONAL.search(c.text))
    dropped.update(c.index for c in cls if c.segment < final_segment and _APPEARANCE.search(c.text))
    return dropped


def _segment_at(text: str, pos: int) -> int:
    """The contrast segment (see :class:`Clause`) that position ``pos`` of ``text`` is in."""
    before = clauses(text[:pos])
    return before[-1].segment if before else 0


def claims_of(text: str) -> set[str]:
    """The claims an answer (normalised, without its letter) makes, after negation,
    framing and contrast.

    >>> sorted(claims_of("i do not believe the audio lags here; the crash matches the picture"))
    ['match', 'no_offset']
    >>> sorted(claims_of("initially it seemed early to me, but listening again it matches"))
    ['match']
    """
    found: list[tuple[str, int]] = []  # (claim, contrast segment)
    answer, text = _yes_no(text)
    if answer:
        found.append((answer, 0))
    # "I would say no" belongs to the contrast segment it is said in ("Yes. Although, on
    # closer listening, I would say no" is a no)
    found += [(m.group(1) or m.group(2), _segment_at(text, m.start())) for m in en.SAY_YES_NO_EN.finditer(text)]
    text = same_length_sub(en.ONLY_EN, "only", text)
    text = same_length_sub(en.SKIP_EN, "", text)
    cls = clauses(text)
    dropped = _framing(cls)
    heard_before = False  # a sound was named in an earlier clause
    for c in cls:
        if c.index in dropped:
            continue
        body = c.text
        own: list[str] = []
        if heard_before and (en.SHOWN_EN.match(body) or en.NOT_THIS_EN.match(body)):
            own.append("mismatch")  # "I hear music, but the video shows a tree falling"
            body = ""
        reject = en.REJECT_ANY_EN.search(body)
        if reject:
            if en.REJECT_EN.search(body):
                own.append("mismatch")  # "it sounds like a horn rather than a ball bouncing"
            body = body[: reject.start()]
        for kind, pos in _clause_claims(body):
            kind = en.NEGATED[kind] if kind in en.NEGATED and _negated(body, pos) else kind
            own.append("present" if kind == "present_source" else kind)
        heard_before = heard_before or "present" in own
        found += [(kind, c.segment) for kind in own]
    # a later contrast segment corrects an earlier one about the same thing
    last: dict[str, int] = {}
    for kind, segment in found:
        family = en.FAMILIES[kind]
        last[family] = max(last.get(family, 0), segment)
    return {kind for kind, segment in found if segment == last[en.FAMILIES[kind]]}


def read(answer: str, dimension: str | None, choices: Sequence[str] | None) -> str:
    """One non-empty answer -> a reading (a label, ``refused`` or ``unknown``)."""
    shown = visible(answer)
    if not shown.strip():
        return UNKNOWN
    if is_refusal(shown):
        return REFUSED
    text = final_part(plain(shown))
    index, rest, ambiguous = letter(text)
    if ambiguous:
        return UNKNOWN
    if index is not None:
        if choices is not None:
            return choices[index] if index < len(choices) else UNKNOWN
        if not rest.strip():
            return UNKNOWN  # a bare letter without the choices it indexes
        text = rest  # "(B) the sound is early": read the words after the letter
    text = normalise(text)
    stripped = text.strip(" .!\"'")
    if stripped in READINGS:
        return stripped
    return en.decide(claims_of(text), dimension)
