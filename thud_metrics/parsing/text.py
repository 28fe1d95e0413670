"""Text preparation shared by every rule: reasoning dropped, Unicode and script normalised,
markdown removed, English contractions expanded, clauses cut.

Each step is a small pure function; :func:`normalise` composes the ones the claim rules
need. Positions matter downstream (a negation is found by looking back from a claim), so
the steps that run on normalised text keep string lengths wherever they can.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .zh import CLAUSE_WORDS_ZH, CONTRAST_ZH, to_simplified

# -- reasoning and final answers -----------------------------------------------------------

_THINK_BLOCK = re.compile(r"<think>.*?</think>", re.S | re.I)
_SPECIAL_TOKEN = re.compile(r"<\|[^|<>]{1,40}\|>")  # <|im_end|>, <|endoftext|>
_FINAL = re.compile(
    r"(?:final answer|my answer|the (?:correct |final |right )?answer is|correct (?:option|answer|choice)"
    r"|answer|最终答案|正确答案|答案)\s*(?:is|would be|是|为)?\s*:",
    re.I,
)


def visible(answer: str) -> str:
    """The answer without its reasoning.

    ``<think>...</think>`` blocks are dropped; after a lone ``</think>`` (chat templates that
    pre-fill the opening tag) only what follows is kept; a ``<think>`` that is never closed
    (generation stopped while thinking) leaves only what came before it.

    >>> visible("<think>maybe early?</think> C"), visible("it lags</think>\\nC"), visible("<think>hmm")
    (' C', '\\nC', '')
    """
    text = _SPECIAL_TOKEN.sub(" ", answer)
    text = _THINK_BLOCK.sub(" ", text)
    low = text.lower()
    if "</think>" in low:
        return text[low.rfind("</think>") + len("</think>") :]
    if "<think>" in low:
        return text[: low.find("<think>")]
    return text


def final_part(text: str) -> str:
    """What follows the last "Answer:" / "Final answer:" / "答案：" marker (the whole text
    when there is none, or when nothing follows it)."""
    finals = list(_FINAL.finditer(text))
    if finals and text[finals[-1].end() :].strip(" \n\t.*_#`>-"):
        return text[finals[-1].end() :]
    return text


# -- characters ----------------------------------------------------------------------------

_MARKDOWN = re.compile(r"\*+|_{2,}|(?<!\w)_|_(?!\w)|`+|^#+|^\s*>+|\|", re.M)
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u00b4": "'"})


def plain(text: str) -> str:
    """NFKC (full-width letters, digits and punctuation to ASCII), traditional Chinese to
    simplified, straight quotes, markdown emphasis / headings / quotes / table bars removed.
    Keeps case (a capital "A" is a letter option, a lower-case "a" is usually an article)."""
    text = to_simplified(unicodedata.normalize("NFKC", text)).translate(_QUOTES)
    return _MARKDOWN.sub(" ", text)


_CONTRACTIONS = [
    (re.compile(r"\bcan'?t\b"), "can not"),
    (re.compile(r"\bcannot\b"), "can not"),
    (re.compile(r"\bwon'?t\b"), "will not"),
    (re.compile(r"\bain'?t\b"), "is not"),
    (re.compile(r"n't\b"), " not"),
    (re.compile(r"\bi'm\b"), "i am"),
    (re.compile(r"\b(you|we|they)'re\b"), r"\1 are"),
    (re.compile(r"\b(i|you|we|they)'ve\b"), r"\1 have"),
    (re.compile(r"\b(i|you|we|they|he|she|it)'d\b"), r"\1 would"),
    (re.compile(r"\b(i|you|we|they|he|she|it)'ll\b"), r"\1 will"),
    (re.compile(r"\b(it|that|there|what|this|here|he|she)'s\b"), r"\1 is"),
    (re.compile(r"'s\b"), ""),
]
_HAS_CONTRACTION = re.compile(r"'|\b(?:cannot|cant|wont|aint)\b")
_DASH = re.compile(r"\s*[\u2014\u2013]\s*|\s+-+\s+")


def normalise(text: str) -> str:
    """The text the claim rules read: :func:`plain`, lower case, contractions expanded,
    dashes and line breaks as clause breaks, spaces collapsed.

    >>> normalise("**Isn't** it  late?\\nI’d say — yes")
    'is not it late? . i would say , yes'
    """
    text = plain(text).lower()
    if _HAS_CONTRACTION.search(text):
        for pattern, repl in _CONTRACTIONS:
            text = pattern.sub(repl, text)
    text = _DASH.sub(" , ", text)
    text = re.sub(r"\s*\n\s*", " . ", text)
    return re.sub(r"\s+", " ", text).strip()


# -- clauses -------------------------------------------------------------------------------

#: contrast markers: what follows corrects what came before ("at first ... but", "however")
CONTRAST_EN = r"but|however|yet|actually|in fact|instead|on closer (?:inspection|listening|listen)|listening again"
_BREAK = re.compile(
    r"\.(?!\d)|,(?!\d)|[;!?:()\[\]\"\u3002\u3001]| - |\b(?:and|but|while|whereas|so|which|because|since|"
    r"although|though|however|yet|thus|therefore|hence|whereby|meaning|as a result)\b|" + CLAUSE_WORDS_ZH
)
_CONTRAST = re.compile(rf"^\s*(?:{CONTRAST_EN})\b|^\s*(?:{CONTRAST_ZH})")
_QUESTION_END = re.compile(r"\?")


@dataclass(frozen=True)
class Clause:
    """One clause of an answer: its text (normalised), its place, and how it is framed.

    ``segment`` counts the contrast markers ("but", "however", "但是"...) before it: a
    later segment corrects an earlier one.
    """

    text: str
    index: int
    segment: int
    sentence: int


def clauses(text: str) -> list[Clause]:
    """Cut normalised text into clauses; questions ("... ?") assert nothing and are dropped.

    >>> [(c.text, c.segment) for c in clauses("at first it seemed early, but it matches. is it?")]
    [('at first it seemed early', 0), ('but it matches', 1)]
    """
    out: list[Clause] = []
    segment = 0
    sentences = re.split(r"(?<=[.!?\u3002])\s+|(?<=\u3002)", text)
    for s_index, sentence in enumerate(sentences):
        if _QUESTION_END.search(sentence.strip()[-1:] or ""):
            continue
        starts = [0] + [m.start() for m in _BREAK.finditer(sentence)] + [len(sentence)]
        for a, b in zip(starts[:-1], starts[1:], strict=True):
            piece = sentence[a:b].strip(" .;!?,:()[]\"\u3002\u3001")
            if not piece:
                continue
            if _CONTRAST.match(piece):
                segment += 1
            out.append(Clause(piece, len(out), segment, s_index))
    return out


def same_length_sub(pattern: re.Pattern[str], repl: str, text: str) -> str:
    """``pattern.sub`` that pads or cuts each replacement to the matched length, so that the
    positions of everything else stay where they were."""
    return pattern.sub(lambda m: (repl + " " * len(m.group(0)))[: len(m.group(0))], text)


def blank(text: str, start: int, end: int) -> str:
    """``text`` with ``[start, end)`` replaced by spaces (a rule read it; no other rule may)."""
    return text[:start] + " " * (end - start) + text[end:]
