"""The parser on a corpus of realistic answers (``data/answer_corpus.txt``): at least 97%
read as a careful judge would, a per-style accuracy table printed, and no refusal ever
read as ``silent``."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from thud_dataset.vocab import DIMENSIONS, LABELS, REFUSED, UNKNOWN
from thud_metrics.parsing import parse_answer, parse_answers

CORPUS = Path(__file__).parent / "data" / "answer_corpus.txt"
READINGS = {*LABELS, REFUSED, UNKNOWN}


def load_corpus(path: Path = CORPUS) -> list[tuple[str, str, str, str, int]]:
    """(style, dimension, gold reading, answer, line number) per answer."""
    rows, style = [], None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or (line.startswith("#") and not line.startswith("## ")):
            continue
        if line.startswith("## "):
            style = line[3:].strip()
            continue
        dimension, gold, answer = line.split(" | ", 2)
        assert style is not None, f"{path}:{number}: an answer before the first style"
        assert dimension in DIMENSIONS, f"{path}:{number}: bad dimension {dimension!r}"
        assert gold in READINGS, f"{path}:{number}: bad gold reading {gold!r}"
        rows.append((style, dimension, gold, json.loads(answer), number))
    return rows


@pytest.fixture(scope="module")
def corpus():
    return load_corpus()


def test_the_corpus_is_large_and_varied(corpus):
    assert len(corpus) >= 400
    styles = Counter(style for style, *_ in corpus)
    assert len(styles) >= 8 and min(styles.values()) >= 20
    for needed in ("terse_label", "letter_only", "letter_parens", "reasoning_then_answer", "markdown_bold",
                   "hedged", "negated_contrastive", "refusal", "chinese_simplified", "chinese_traditional",
                   "mixed_zh_en", "names_heard_sound", "empty"):  # fmt: skip
        assert needed in styles, needed
    assert {dim for _, dim, *_ in corpus} == set(DIMENSIONS)
    assert {gold for _, _, gold, *_ in corpus} == READINGS


def _table(results: dict[str, list[bool]]) -> str:
    width = max(map(len, results))
    lines = [f"{'style':<{width}}  {'right':>5}  {'n':>4}  {'accuracy':>8}"]
    for style, oks in results.items():
        lines.append(f"{style:<{width}}  {sum(oks):>5}  {len(oks):>4}  {100 * sum(oks) / len(oks):>7.1f}%")
    every = [ok for oks in results.values() for ok in oks]
    lines.append(f"{'all':<{width}}  {sum(every):>5}  {len(every):>4}  {100 * sum(every) / len(every):>7.1f}%")
    return "\n".join(lines)


def test_the_parser_reads_the_corpus(corpus):
    results: dict[str, list[bool]] = {}
    misses, refusals_as_silent = [], []
    for style, dimension, gold, answer, line in corpus:
        got = parse_answer(answer, dimension)
        results.setdefault(style, []).append(got == gold)
        if got != gold:
            misses.append(f"  line {line} [{style}, {dimension}] {answer!r}: gold {gold}, read {got}")
        if gold == REFUSED and got == "silent":
            refusals_as_silent.append(line)
    print("\nanswer corpus: parser accuracy per style\n" + _table(results))
    if misses:
        print("misses:\n" + "\n".join(misses))
    every = [ok for oks in results.values() for ok in oks]
    assert not refusals_as_silent, f"refusals read as silent on lines {refusals_as_silent}"
    assert sum(every) / len(every) >= 0.97, "\n".join(misses)


def test_batch_parsing_reads_the_corpus_like_one_at_a_time(corpus):
    answers = [answer for _, _, _, answer, _ in corpus]
    dims = [dim for _, dim, *_ in corpus]
    labels, _ = parse_answers(answers, dims)
    assert labels.tolist() == [parse_answer(a, d) for a, d in zip(answers, dims, strict=True)]
