"""How to cite Thud: the paper it implements. Stated once; the dataset card, the builder's
``DatasetInfo``, the ``thud_gap`` module and the README use this text."""

from __future__ import annotations

TITLE = "When Vision Speaks for Sound"
AUTHORS: tuple[str, ...] = (
    "Xiaofei Wen",
    "Wenjie Jacky Mo",
    "Xingyu Fu",
    "Rui Cai",
    "Tinghui Zhu",
    "Wendi Li",
    "Yanan Xie",
    "Muhao Chen",
    "Peng Qi",
)
YEAR = 2026

#: BibTeX of the paper
CITATION = (
    "@misc{wen2026thud,\n"
    f"  title  = {{{TITLE}}},\n"
    "  author = {" + " and ".join(AUTHORS) + "},\n"
    f"  year   = {{{YEAR}}},\n"
    "  note   = {Thud: Temporal and Hallucination Unmasking Diagnostics}\n"
    "}"
)
