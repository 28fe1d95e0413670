"""Answer parsing: free-form model text -> one Thud label.

Every probe's answer is turned into one of :data:`thud_dataset.vocab.LABELS`
(``synced``, ``early``, ``delayed``, ``silent``, ``mismatched``) or ``unknown``.
The rules are deterministic: the same text, dimension and choices always give the same
label. Nothing is guessed: an answer the rules cannot read is ``unknown`` (counted wrong
by the metric and reported as the unparseable rate), or goes to a user-supplied *judge*.

How an answer is read, in order:

1. ``None``/empty, or an exact label (``"early"``) -> that label.
2. Reasoning is dropped: a ``<think>...</think>`` block, and everything before the last
   ``Answer:`` / ``Final answer:`` / ``The answer is`` marker.
3. A multiple-choice letter: ``"B"``, ``"(B)"``, ``"B) ..."``, ``"Answer: B"``,
   ``"I choose (B)"``. Letters index the probe's choices (``vocab.CHOICES[dimension]``, as
   the prompt lists them); without a dimension or choices a bare letter is ``unknown``.
4. A refusal ("I cannot process audio", "as an AI I can't listen") is ``unknown``, not
   ``silent``; a hedge ("hard to tell whether ...") drops its own sentence.
5. Phrase rules, with negations handled before the plain phrase ("not in sync" before
   "in sync", "no delay" before "delay", "doesn't match" before "match", "no sound" /
   "can't hear anything" -> silence, "not silent" -> a sound is there).
6. Direction: "before/ahead/leads/early" vs "after/behind/lags/late/delay", with the
   *subject* deciding the sign: "the sound comes before the impact" and "the video lags
   behind the audio" are both ``early``; "the impact happens before the sound" is
   ``delayed``. Contradicting directions give ``unknown``.
7. Yes/no at the start, read through the dimension's question: existence ("can the sound
   be heard?") yes -> ``synced``, no -> ``silent``; consistency ("does the sound match its
   source?") yes -> ``synced``, no -> ``mismatched``; sync ("is it synchronized?")
   yes -> ``synced``, a bare no (no direction) -> ``unknown``.

"Out of sync" without a direction is ``unknown``: the label space has no directionless
shift, so such an answer cannot be credited and is reported as unreadable.

>>> parse_answer("B", dimension="sync"), parse_answer("B", dimension="existence")
('early', 'silent')
>>> parse_answer("The sound comes before the skateboard hits the ground.")
'early'
>>> parse_answer("No, I can't hear anything.", dimension="existence")
'silent'
>>> parse_answer("No.", dimension="consistency")
'mismatched'
>>> parse_answer("The audio lags behind the video by about 0.5 s.")
'delayed'
>>> stated_offset("The audio lags behind the video by about 0.5 s.")
0.5
>>> parse_answer("B")  # a letter means nothing without the choices
'unknown'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from thud_dataset.vocab import CHOICES, DIMENSIONS, LABELS, REFUSED, UNKNOWN

__all__ = [
    "JUDGE_PROMPT",
    "Judge",
    "judge_prompt",
    "parse_answer",
    "parse_answers",
    "stated_offset",
]

#: a judge reads an answer the rules could not and returns a label (or free text that the
#: rules can read, e.g. "Mismatched."); called once per distinct (answer, dimension)
Judge = Callable[[str, "str | None"], str]

_LABEL_SET = frozenset(LABELS) | {UNKNOWN, REFUSED}

# -- normalisation -------------------------------------------------------------------------

_THINK = re.compile(r"<think>.*?</think>", re.S | re.I)
_FINAL = re.compile(
    r"(?:final answer|answer|my answer|the answer is|the correct answer is|correct option)"
    r"\s*(?:is|would be)?\s*[:：]",
    re.I,
)
_CONTRACTIONS = [
    (re.compile(r"\bcan'?t\b"), "can not"),
    (re.compile(r"\bcannot\b"), "can not"),
    (re.compile(r"\bwon'?t\b"), "will not"),
    (re.compile(r"n't\b"), " not"),
    (re.compile(r"\b(it|that|there|what|this)'s\b"), r"\1 is"),
    (re.compile(r"'s\b"), ""),
    (re.compile(r"\b(i|you|we|they)'(m|re|ve|d|ll)\b"), r"\1"),
]


def _normalise(text: str) -> str:
    """Lower-case, straight quotes, no markdown, contractions expanded, spaces collapsed."""
    t = text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    t = t.replace("\u201c", '"').replace("\u201d", '"').replace("\u2014", ", ").replace("\u2013", "-")
    t = re.sub(r"[*#_]+", " ", t).lower()
    for pattern, repl in _CONTRACTIONS:
        t = pattern.sub(repl, t)
    return re.sub(r"\s+", " ", t).strip()


# -- multiple-choice letters ---------------------------------------------------------------

# "answer: B", "option (b)", "I choose B", "select (c)" - the last such mention wins. An
# unbracketed letter must be upper-case or end the phrase: "the answer is a little late"
# holds the article "a", not option A.
_LETTER_CUE = re.compile(
    r"(?i:answer|option|choice|choose|chose|pick|select|selected|go with)\s*(?i:is|would be|:)?\s*"
    r"(?:\(([a-eA-E])\)|([A-E])\b|([a-e])(?=\s*$|[.,;:!]))"
)
# the whole answer is a letter: "B", "(b)", "B.", "[C]"
_LETTER_ONLY = re.compile(r"^[\s\"'(\[]*([a-eA-E])[\s\"')\].:]*$")
# a leading letter with a marker: "(B) early", "B) early", "B. Early", "B: early", "B - early";
# "A man falls" and "a. " in running text are not letters
_LETTER_LEAD = re.compile(r"^\s*(?:\(([a-eA-E])\)|\[([a-eA-E])\]|([a-eA-E])\)|([A-E])\s*[.:]|([A-E])\s+-\s)")


def _letter(text: str) -> tuple[int | None, str]:
    """The chosen option's index (0 for A) and the text after the letter, if any."""
    m = _LETTER_ONLY.match(text)
    if m is None:
        cues = list(_LETTER_CUE.finditer(text))
        m = cues[-1] if cues else _LETTER_LEAD.match(text)
    if m is None:
        return None, text
    letter = next(g for g in m.groups() if g)
    return ord(letter.lower()) - 97, text[m.end() :]


# -- phrase rules --------------------------------------------------------------------------
# Each rule is applied in order to the normalised text; what a rule matches is blanked, so
# "out of sync" is never read again as "sync" and "no delay" never as "delay".

_AUD = r"(?:sound|sounds|audio|noise|noises|thud|bang|crash|clang|thump|boom|soundtrack|audio track)"
_DIR_WORDS = (
    r"(?:delay|delays|delayed|lag|lags|lagging|offset|shift|shifted|early|late|ahead|behind|"
    r"before|after|lead|leads|leading|mismatch in timing|desync|gap)"
)
_NEG = r"(?:no|not|never|without|neither|nor|zero|hardly any|barely any)"

_REFUSAL = re.compile(
    r"as an ai|language model|"
    r"(?:unable|not able|can not|do not have the ability|not possible for me) to "
    r"(?:process|access|listen|analy[sz]e|perceive|hear) (?:to )?(?:the |any )?(?:audio|sound)"
    r"(?! of)|"
    r"(?:do not|did not) have access to (?:the |any )?(?:audio|sound)|"
    r"(?:no|without) access to (?:the |any )?(?:audio|sound)|"
    r"(?:only|just) (?:see|view|analy[sz]e|process|access|been given|received) (?:the )?"
    r"(?:visual|frames|images|video frames|still)|"
    r"(?:audio|sound) (?:was|is) not (?:provided|included|available to me|accessible)|"
    r"(?:not|never) (?:been )?(?:provided|given) (?:with )?(?:the |any )?(?:audio|sound)"
)
_HEDGE = re.compile(
    r"(?:can not|unable to|not able to|hard to|difficult to|impossible to|not possible to)"
    r" (?:tell|determine|say|judge|know|be (?:sure|certain)|confirm|verify)|"
    r"not (?:sure|certain)|unclear|uncertain|ambiguous"
)
_SENTENCE_END = re.compile(r"[.;!?\n]| but ")

_RULES: list[tuple[str, re.Pattern[str]]] = [
    # procedural phrases that contain direction words: "after watching the video"
    (
        "skip",
        re.compile(
            r"\b(?:after|before) (?:carefully |closely )?(?:watching|viewing|analy[sz]ing|reviewing|"
            r"listening|examining|checking|looking|comparing|considering|observing|inspecting|"
            r"evaluating|reading|seeing|hearing|answering|responding|deciding|playing)\b|"
            r"\b(?:early|late|later|earlier) (?:on )?in (?:the|this) (?:video|clip|footage)\b|"
            r"\bat first\b|\bfirst of all\b"
        ),
    ),
    # double negation: "not out of sync"
    ("pos_sync", re.compile(r"\bnot (?:at all )?(?:out of sync|unsynchroni[sz]ed|misaligned|mismatched)\b")),
    (
        "neg_sync",
        re.compile(
            r"\bout of sync\w*|\bunsynchroni[sz]ed|\basynchron\w*|\bdesync\w*|\bmisalign\w*|"
            r"\bmistimed|\boff[- ]sync\b|\btiming is off\b|\bnot (?:\w+ ){0,2}(?:in sync|synced|"
            r"synchroni[sz]ed|aligned|simultaneous|at the same time|timed)|"
            r"\b(?:do|does|did) not (?:\w+ )?(?:line up|sync up|coincide|happen at the same time)"
        ),
    ),
    # "no delay", "not early or late", "without any noticeable lag", "no sound delay"
    (
        "pos_sync",
        re.compile(
            rf"\b{_NEG} (?:\w+ ){{0,3}}?(?:{_AUD} )?{_DIR_WORDS}\b"
            rf"(?: (?:or|nor) (?:\w+ ){{0,2}}?{_DIR_WORDS}\b)?"
        ),
    ),
    ("match", re.compile(r"\b(?:no|not|without any|nothing) (?:\w+ ){0,2}?(?:mismatch\w*|inconsisten\w*|incongruen\w*)")),
    (
        "mismatch",
        re.compile(
            r"\bmismatch\w*|\binconsisten\w*|\bincongru\w*|\bunrelated\b|\bdubbed\b|\bswapped\b|"
            r"\b(?:do|does|did|would) not (?:\w+ ){0,2}?(?:match|correspond|fit|belong|correlate|"
            r"go with|sound like|make sense|come from)|"
            r"\bnot (?:\w+ ){0,2}?(?:match\w*|consistent|congruent|compatible|plausible|"
            r"the (?:right|correct|expected|same)|what (?:you|one|we) would expect|the (?:sound|noise) of|"
            r"from (?:the|this)|produced by|caused by|made by)|"
            r"\b(?:a|an|another|some|completely|entirely|totally) (?:\w+ )?(?:different|other|unrelated)"
            r" (?:sound|audio|noise|source|event|video|clip|object|scene)|"
            r"\bfrom (?:a different|another|an unrelated|some other) |\bwrong (?:sound|audio|noise)|"
            r"\b(?:rather than|instead of) (?:the )?(?:sound|noise) of"
        ),
    ),
    # a sound is there: "not silent", "isn't muted"
    ("presence", re.compile(r"\bnot (?:completely |entirely |totally )?(?:silent|muted|mute|quiet)")),
    (
        "silence",
        re.compile(
            rf"\b(?:no|not any|without|zero|lack of|absence of|absent) (?:\w+ ){{0,2}}?{_AUD}s?\b|"
            r"\b(?:silent|silence|muted|mute|soundless|inaudible|no audio|without audio)\b|"
            rf"\b{_AUD} (?:is|was) (?:\w+ )?(?:absent|missing|not present|not audible|empty)|"
            r"\b(?:can|could|do|does|did) not (?:\w+ )?hear\b|"
            r"\bnot (?:\w+ )?(?:audible|heard)|\bnothing (?:\w+ )?(?:is |can be |could be )?(?:heard|audible)|"
            r"\bno (?:\w+ ){0,2}?(?:is |can be |could be )?heard"
        ),
    ),
    (
        "pos_sync",
        re.compile(
            r"\bsynchroni[sz]\w*|\bin sync\b|\bsync(?:ed|'d|s)?\b|\baligned\b|\blines? up\b|"
            r"\bat the (?:same|exact same|right) (?:time|moment)|\bsimultaneous\w*|\bcoincid\w*|"
            r"\b(?:exactly|precisely|right|just) (?:when|as)\b|\bthe (?:exact |very )?moment\b|"
            r"\b(?:perfectly|well|correctly|properly) timed\b|\bon time\b|\bin time with\b|"
            r"\b(?:immediately|instantly)\b|\btiming (?:\w+ ){0,3}?(?:is|seems|looks) (?:\w+ )?(?:correct|right|fine|accurate)"
        ),
    ),
    (
        "match",
        re.compile(
            r"\bmatch\w*|\bconsistent\b|\bcorrespond\w*|\bcongruent\b|\bfits?\b|\bplausible\b|"
            r"\bbelongs?\b|\bexpected (?:sound|noise)|\bwhat (?:you|one|we) would expect|"
            r"\bcaused by|\bproduced by|\bsounds? (?:right|correct|appropriate|realistic|natural)\b|\bcomes? from the (?:same|visible|skate|object|man|person)"
        ),
    ),
    (
        "presence",
        re.compile(
            rf"\b(?:i|you|we|one) (?:can |could )?(?:(?!not |never |hardly |barely )\w+ )?hear\b|\b(?:is|are|can be|could be) "
            rf"(?:clearly |distinctly )?(?:heard|audible)|\baudible\b|\bthere (?:is|are) (?:a |an )?"
            rf"(?:\w+ ){{0,2}}?{_AUD}"
        ),
    ),
]

# direction phrases read as a whole before the token pass
_HEARD_BEFORE_SEEN = re.compile(
    r"\b(?:heard|hear) (?:\w+ ){0,4}?(?:before|earlier than|ahead of|prior to) (?:\w+ ){0,4}?"
    r"(?:seen|see|visible|shown|happens|occurs)"
)
_SEEN_BEFORE_HEARD = re.compile(
    r"\b(?:seen|see|visible|shown) (?:\w+ ){0,4}?(?:before|earlier than|ahead of|prior to) (?:\w+ ){0,4}?"
    r"(?:heard|hear)"
)
_FIRST = re.compile(
    r"\b(sound|audio|noise|video|visual|visuals|picture|image|action|impact)s? (?:\w+ ){0,2}?"
    r"(?:comes|come|arrives|arrive|happens|happen|plays|play|starts|start|occurs|occur|is heard|is seen) first\b"
)
_PHRASES = [
    (re.compile(r"\b(?:earlier|sooner) than\b|\bprior to\b|\bin advance of\b|\bahead of\b"), " before "),
    (re.compile(r"\blater than\b"), " after "),
    (re.compile(r"\btoo (?:early|soon)\b"), " early "),
]

_AUDIO_TOKENS = frozenset(
    ["sound", "sounds", "audio", "noise", "noises", "thud", "thuds", "bang", "crash", "clang", "thump", "boom", "soundtrack", "acoustic", "acoustics", "hear", "heard", "hears"]
)
_VISUAL_TOKENS = frozenset(
    ["video", "videos", "visual", "visuals", "picture", "pictures", "image", "images", "frame", "frames", "footage", "motion", "action", "movement", "impact", "collision", "contact", "hit", "fall", "landing", "event", "screen", "lips", "seen", "see", "shown", "visible", "lands", "land", "landed", "hits", "strikes", "struck", "touches", "touched", "collides"]
)
_EARLY_TOKENS = frozenset(
    ["before", "ahead", "precedes", "precede", "preceding", "leads", "lead", "leading", "early", "premature", "prematurely", "anticipates", "predates"]
)
_LATE_TOKENS = frozenset(["after", "behind", "follows", "lags", "lag", "lagging", "trails", "trailing", "late", "delayed", "delay", "delays", "belated"])
# relational words need something to relate to; "early", "late", "delayed" stand alone
_STANDALONE = frozenset(["early", "late", "delayed", "delay", "delays", "premature", "prematurely", "belated", "lagging", "lags", "lag"])
_PREPOSITIONS = frozenset(["in", "of", "from", "on", "throughout", "within", "during", "across", "at", "into", "to", "with", "than", "for", "by", "between"])
_DETERMINERS = frozenset(["the", "a", "an", "this", "that", "its", "his", "her", "their", "visual", "actual"])
_CLAUSE_SPLIT = re.compile(r"[.;!?,:\n()]| - |\b(?:and|but|while|whereas|so|which|because|since|although|though)\b")


def _side(tokens: list[str], i: int) -> str | None:
    """'A' (audio) / 'V' (visual) for token i, or None. A visual word right before an audio
    word is a modifier ("impact sound")."""
    tok = tokens[i]
    if tok in _AUDIO_TOKENS:
        return "A"
    if tok in _VISUAL_TOKENS:
        if i + 1 < len(tokens) and tokens[i + 1] in _AUDIO_TOKENS:
            return None
        return "V"
    return None


def _after_preposition(tokens: list[str], i: int) -> bool:
    j = i - 1
    while j >= 0 and tokens[j] in _DETERMINERS:
        j -= 1
    return j >= 0 and tokens[j] in _PREPOSITIONS


def _directions(text: str) -> list[str]:
    """Directions claimed in ``text`` ('early'/'delayed'), one per direction word read."""
    votes: list[str] = []
    text, n = _HEARD_BEFORE_SEEN.subn(" ", text)
    votes += ["early"] * n
    text, n = _SEEN_BEFORE_HEARD.subn(" ", text)
    votes += ["delayed"] * n
    for m in _FIRST.finditer(text):
        votes.append("early" if m.group(1) in ("sound", "audio", "noise") else "delayed")
    text = _FIRST.sub(" ", text)
    for pattern, repl in _PHRASES:
        text = pattern.sub(repl, text)
    for clause in _CLAUSE_SPLIT.split(text):
        tokens = re.findall(r"[a-z]+", clause)
        for i, tok in enumerate(tokens):
            if tok in _EARLY_TOKENS:
                early = True
            elif tok in _LATE_TOKENS:
                early = False
            else:
                continue
            # the grammatical subject: the first audio/visual word of the clause before the
            # direction word that is not inside a prepositional phrase ("in the video")
            subject = next(
                (s for j in range(i) if (s := _side(tokens, j)) and not _after_preposition(tokens, j)),
                None,
            )
            obj = next((s for j in range(i + 1, len(tokens)) if (s := _side(tokens, j))), None)
            if subject is not None:
                audio_first = early if subject == "A" else not early
            elif obj is not None and tok not in _STANDALONE:
                # "before the impact": the unnamed subject (the sound) comes first
                audio_first = early if obj == "V" else not early
            elif tok in _STANDALONE:
                audio_first = early  # "It's late." - the question is about the sound
            else:
                continue  # "the man behind the car": nothing to relate
            votes.append("early" if audio_first else "delayed")
    return votes


# -- stated offsets ------------------------------------------------------------------------

_NUMBER = re.compile(
    r"(?<![\w.])(\d+(?:\.\d+)?|\.\d+)\s*(milliseconds?|msecs?|ms|seconds?|secs?|s)\b(?!\s*(?:into|mark))"
)
_POSITION = re.compile(r"\b(?:at|around the|timestamp|time|until|from|to)\s*(?:about |around |approximately |~)?$")
_WORD_OFFSETS = [
    (re.compile(r"\bhalf (?:a )?second\b"), 0.5),
    (re.compile(r"\b(?:a )?quarter (?:of a )?second\b"), 0.25),
    (re.compile(r"\b(?:one|a full) second\b|\ba second (?=late|early|later|earlier|before|after|behind|ahead|delay)"), 1.0),
    (re.compile(r"\btwo seconds\b"), 2.0),
    (re.compile(r"\bthree seconds\b"), 3.0),
]


def _stated_magnitude(text: str) -> float | None:
    for m in _NUMBER.finditer(text):
        if _POSITION.search(text[: m.start()]):
            continue  # "at 2.5 s the man falls" is a time in the clip, not an offset
        value = float(m.group(1))
        return value / 1000.0 if m.group(2).startswith("m") else value
    for pattern, value in _WORD_OFFSETS:
        if pattern.search(text):
            return value
    return None


# -- public API ----------------------------------------------------------------------------


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


def _read(text: str, dimension: str | None, choices: tuple[str, ...] | None) -> str:
    """The rules on an answer without its reasoning block (original case)."""
    index, rest = _letter(text)
    if index is not None:
        if choices is not None:
            return choices[index] if index < len(choices) else UNKNOWN
        if not rest.strip():
            return UNKNOWN  # a bare letter without the choices it indexes
        text = rest  # "(B) the sound is early": read the words after the letter
    text = _normalise(text)
    stripped = text.strip(" .!\"'")
    if stripped in _LABEL_SET:
        return stripped
    if _REFUSAL.search(text):
        return REFUSED
    hedge = _HEDGE.search(text)
    if hedge:
        # drop the hedged sentence ("I can't tell whether it is synced."), keep what follows
        # ("..., but I think the audio is late")
        end = _SENTENCE_END.search(text, hedge.end())
        start = max(text.rfind(".", 0, hedge.start()), text.rfind("!", 0, hedge.start()), 0)
        text = text[:start] + " " + (text[end.start() :] if end else "")

    yes = re.match(r"^\W*(?:yes|yeah|yep|correct|true|indeed|absolutely|definitely)\b", text) is not None
    no = re.match(r"^\W*(?:no|nope|not really|false|incorrect)\b(?! sound| audio| noise)", text) is not None
    if yes or no:
        text = re.sub(r"^\W*\w+", " ", text, count=1)

    found: dict[str, bool] = {}
    for name, pattern in _RULES:
        if pattern.search(text):
            found[name] = True
            text = pattern.sub(" , ", text)
    votes = set(_directions(text))
    direction = votes.pop() if len(votes) == 1 else (UNKNOWN if votes else None)
    silence, mismatch = found.get("silence", False), found.get("mismatch", False)
    sync = found.get("pos_sync", False)
    match, presence = found.get("match", False), found.get("presence", False)
    neg_sync = found.get("neg_sync", False)

    if dimension == "sync":
        if direction:
            return direction
        if silence:
            return "silent"
        if neg_sync or no:
            return UNKNOWN
        if sync or match or yes:
            return "synced"
        return "mismatched" if mismatch else UNKNOWN
    if dimension == "existence":
        if silence:
            return "silent"
        if mismatch:
            return "mismatched"
        if direction:
            return direction
        if sync or match or presence or yes:
            return "synced"
        return "silent" if no else UNKNOWN
    if dimension == "consistency":
        if silence:
            return "silent"
        if mismatch:
            return "mismatched"
        if match or sync or yes:
            return "synced"
        if direction:
            return direction
        return "mismatched" if no else UNKNOWN
    # no dimension: only claims that mean the same under every question
    if silence:
        return "silent"
    if mismatch:
        return "mismatched"
    if direction:
        return direction
    if neg_sync:
        return UNKNOWN
    return "synced" if (sync or match or yes) else UNKNOWN


def _clean(answer: str) -> str:
    """The answer without reasoning: no ``<think>`` block, only what follows the last
    "Answer:" marker (when something does)."""
    text = _THINK.sub(" ", answer)
    text = text.replace("<think>", " ").replace("</think>", " ")
    finals = list(_FINAL.finditer(text))
    if finals and text[finals[-1].end() :].strip():
        text = text[finals[-1].end() :]
    return text


def parse_answer(
    answer: str | None,
    dimension: str | None = None,
    choices: Sequence[str] | None = None,
) -> str:
    """Read one answer as a Thud label.

    Parameters
    ----------
    answer : str or None
        The model's free-form answer (or a label, or a letter). ``None``, empty and
        non-string answers are ``"unknown"``.
    dimension : {"sync", "existence", "consistency"} or None
        The probe's dimension: which question was asked. It maps letters through
        ``vocab.CHOICES[dimension]`` and reads a plain yes/no.
    choices : sequence of str, optional
        The labels the prompt listed as (A), (B), (C)...; overrides the dimension's.

    Returns
    -------
    label : str
        One of ``synced``, ``early``, ``delayed``, ``silent``, ``mismatched``, ``unknown``.

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
    >>> parse_answer("I'm sorry, I am unable to process audio.", dimension="existence")
    'unknown'
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
    if text in _LABEL_SET:
        return text
    return _read(_clean(text), dimension, choices_t)


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
        The answer's parsed label, if already known (saves parsing it again).

    Examples
    --------
    >>> stated_offset("The sound comes about 300 ms before the impact.")
    -0.3
    >>> stated_offset("Delayed by half a second.")
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
    magnitude = _stated_magnitude(_normalise(_clean(answer)))
    if magnitude is None:
        return None
    return -magnitude if label == "early" else magnitude


def parse_answers(
    answers: Iterable[str | None],
    dimensions: Iterable[str | None] | None = None,
    *,
    judge: Judge | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Parse many answers; each distinct (answer, dimension) is read once.

    Parameters
    ----------
    answers : iterable of str or None, length n
    dimensions : iterable of str or None, length n, optional
        Each probe's dimension (maps letters and yes/no); ``None`` for all if omitted.
    judge : callable, optional
        ``judge(answer, dimension) -> str``, asked about each distinct answer the rules
        read as ``unknown`` (an empty answer is never sent). Its reply goes through the
        same rules, so ``"Mismatched."`` or ``"B"`` work; a reply the rules cannot read
        stays ``unknown``. See :data:`JUDGE_PROMPT` for the protocol an LLM judge follows.

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
    index, labels, offsets = _parse_unique(answers, dimensions, judge)
    return np.array(labels, dtype=object)[index], offsets[index]


def _parse_unique(
    answers: Iterable[str | None], dimensions: Iterable[str | None] | None, judge: Judge | None
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Parse each distinct (answer, dimension) once: (row -> distinct index, label and
    stated offset of each distinct key)."""
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
    keys, index = np.unique(answer_codes * len(dim_names) + dim_codes, return_inverse=True)
    distinct = [(answer_names[k // len(dim_names)], dim_names[k % len(dim_names)]) for k in keys.tolist()]
    labels: list[str] = []
    offsets = np.full(len(distinct), np.nan)
    for j, (answer, dim) in enumerate(distinct):
        if not (isinstance(answer, str) or answer is None):
            raise TypeError(f"answers must be str or None; got {type(answer).__name__}: {answer!r}")
        label = parse_answer(answer, dim)
        if label == UNKNOWN and judge is not None and isinstance(answer, str) and answer.strip():
            verdict = judge(answer, dim)
            label = parse_answer(verdict, dim) if isinstance(verdict, str) else UNKNOWN
        if label in ("early", "delayed"):
            offset = stated_offset(answer, label)
            if offset is not None:
                offsets[j] = offset
        labels.append(label)
    return index.astype(np.int64, copy=False), labels, offsets


def _first_seen_codes(values: list) -> tuple[np.ndarray, list]:
    table = dict.fromkeys(values)
    table.update(zip(table, range(len(table)), strict=True))
    return np.fromiter(map(table.__getitem__, values), dtype=np.int64, count=len(values)), list(table)


# -- the judge protocol --------------------------------------------------------------------

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

#: The protocol an LLM judge follows for answers the rules leave ``unknown``. Fill it with
#: :func:`judge_prompt`; the judge must reply with one word, which is parsed by the rules.
JUDGE_PROMPT = """\
You grade how a video model answered a question about the SOUND of a video.
Do not judge whether the answer is right; only report what the answer claims.

Question asked: {question}
The options the question offered, as letters:
{options}

Other claims an answer can make:
{others}

The model's answer:
<<<
{answer}
>>>

Reply with exactly one word: {labels}, or unknown.
Reply "unknown" if the answer refuses, says it cannot access the audio, hedges between
options, or does not commit to one claim. If it names a letter, reply with that option's word.
"""


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
    others = "\n".join(f"- {label}: {_MEANING[label]}" for label in LABELS if label not in offered) or "- none"
    question = _QUESTION.get(dimension or "", "What does the sound of the video do?")
    return JUDGE_PROMPT.format(
        question=question, options=options, others=others, answer=answer.strip(),
        labels=", ".join(LABELS),
    )
