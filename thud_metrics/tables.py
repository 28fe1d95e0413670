"""The score tables in every export format: text, Markdown, LaTeX, CSV and JSON.

One column list (:func:`table_columns`) drives every format, so the formats carry the same
numbers. Text, Markdown and LaTeX show percentages with one decimal (intervals in
brackets; text shows the avg gap's only, to stay narrow); CSV and JSON carry the values of
``results.json`` unrounded, as fractions, each with its interval. Undefined numbers are
``-`` in the human formats and empty / ``null`` in the machine ones.

A bootstrap p-value is 0 when no resample falls on the far side of 0; it is then written
``p < 1/B`` (B the number of resamples), its resolution, never ``p = 0``.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

from thud_dataset.vocab import DIMENSIONS, INTERVENTION_OF

__all__ = [
    "FORMATS",
    "Column",
    "format_comparisons",
    "format_p_value",
    "format_table",
    "headline",
    "render",
    "table_columns",
]

#: the formats of ``thud score --format``
FORMATS: tuple[str, ...] = ("text", "markdown", "latex", "csv", "json")

_SHORT = {"sync": "Sync", "existence": "Exist", "consistency": "Cons"}
#: the comparison rows, in print order (keys of ``compare()["paired_bootstrap"]``)
COMPARED_LABELS = {
    "avg_gap": "avg gap",
    "avg_pair_accuracy": "avg pair accuracy",
    **{f"gap/{d}": f"gap {d}" for d in DIMENSIONS},
    **{f"pair_accuracy/{d}": f"pair accuracy {d}" for d in DIMENSIONS},
    "unparseable_rate": "unreadable rate",
}


@dataclass(frozen=True)
class Column:
    """One number of the table: ``key`` is its path in a results dict (``"accuracy.sync.shift"``),
    and the same path under ``results["ci"]`` is its interval."""

    key: str
    group: str
    header: str

    def value(self, result: dict) -> float | None:
        return _number(_get(result, self.key))

    def interval(self, result: dict) -> list[float] | None:
        ci = _get(result.get("ci") or {}, self.key)
        if not isinstance(ci, (list, tuple)) or len(ci) != 2:
            return None
        lo, hi = _number(ci[0]), _number(ci[1])
        return None if lo is None or hi is None else [lo, hi]


def _get(tree: dict, key: str) -> object:
    node: object = tree
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _number(v: object) -> float | None:
    if v is None or isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return None if math.isnan(v) else float(v)


def table_columns(results: dict[str, dict]) -> list[Column]:
    """The Table-1 columns: original and intervened accuracy per dimension, avg gap, pair
    accuracy per dimension and their mean, the unreadable share, and the refusal share
    when the results have one."""
    cols = []
    for d in DIMENSIONS:
        i = INTERVENTION_OF[d]
        cols.append(Column(f"accuracy.{d}.original", d.capitalize(), "Orig"))
        cols.append(Column(f"accuracy.{d}.{i}", d.capitalize(), i.capitalize()))
    cols.append(Column("avg_gap", "", "Avg Gap"))
    cols.extend(Column(f"pair_accuracy.{d}", "Pair accuracy", _SHORT[d]) for d in DIMENSIONS)
    cols.append(Column("avg_pair_accuracy", "Pair accuracy", "Avg"))
    cols.append(Column("unparseable_rate", "", "Unread"))
    if any("refusal_rate" in r for r in results.values()):
        cols.append(Column("refusal_rate", "", "Refused"))
    return cols


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def _pct_ci(interval: list[float] | None) -> str:
    return "-" if interval is None else f"[{100 * interval[0]:.1f}, {100 * interval[1]:.1f}]"


def format_p_value(p: float | None, n_resamples: int | None = None) -> str:
    """A p-value as text; a bootstrap p of 0 is ``p < 1/B``.

    Examples
    --------
    >>> format_p_value(0.0, 1000), format_p_value(0.0312, 1000), format_p_value(None)
    ('p < 1/1000', 'p = 0.0312', 'p = n/a')
    """
    p = _number(p)
    if p is None:
        return "p = n/a"
    if p == 0 and n_resamples:
        return f"p < 1/{n_resamples}"
    return f"p = {p:.3g}"


# -- text ----------------------------------------------------------------------------------------


def format_table(results: dict[str, dict]) -> str:
    """The paper's Table 1 as text, one row per model: original and intervened accuracy per
    dimension, avg gap (with its CI when computed), pair accuracy, the unreadable share and
    the refusal rate (answers that say the model has no audio; absent from results made
    before refusals were read). All values in percent; ``-`` where undefined.

    Examples
    --------
    >>> from thud_metrics import score_probes
    >>> r = score_probes(["synced"] * 6, ["synced", "delayed", "synced", "silent", "synced", "mismatched"],
    ...                  ["original", "shift", "original", "mute", "original", "swap"],
    ...                  ["sync", "sync", "existence", "existence", "consistency", "consistency"],
    ...                  ["a", "a", "b", "b", "c", "c"], n_resamples=0)
    >>> print(format_table({"always-synced": r}))
                       Sync       Existence   Consistency                       Pair accuracy
    model           Orig  Shift   Orig  Mute   Orig  Swap  Avg Gap  95% CI  Sync  Exist  Cons  Avg  Unread  Refused
    always-synced  100.0    0.0  100.0   0.0  100.0   0.0    100.0       -   0.0    0.0   0.0  0.0     0.0      0.0
    """
    columns: list[tuple[str, str, object]] = []
    for col in table_columns(results):
        columns.append((col.group, col.header, lambda r, c=col: _pct(c.value(r))))
        if col.key == "avg_gap":
            columns.append(("", "95% CI", lambda r, c=col: _pct_ci(c.interval(r))))

    cells = [[fn(r) for _, _, fn in columns] for r in results.values()]
    widths = [max(len(h), *(len(row[j]) for row in cells)) for j, (_, h, _) in enumerate(columns)]
    name_w = max(len("model"), *(len(n) for n in results))
    sep = "  "
    groups, j = [], 0
    while j < len(columns):  # a group label centred over its columns
        k = j
        while k + 1 < len(columns) and columns[k + 1][0] == columns[j][0]:
            k += 1
        span = sum(widths[j : k + 1]) + len(sep) * (k - j)
        groups.append(columns[j][0].center(span) if columns[j][0] else " " * span)
        j = k + 1
    lines = [
        " " * name_w + sep + sep.join(groups),
        f"{'model':<{name_w}s}" + sep + sep.join(h.rjust(w) for (_, h, _), w in zip(columns, widths, strict=True)),
    ]
    for name, row in zip(results, cells, strict=True):
        lines.append(f"{name:<{name_w}s}" + sep + sep.join(v.rjust(w) for v, w in zip(row, widths, strict=True)))
    return "\n".join(line.rstrip() for line in lines)


def headline(results: dict) -> str:
    """One line of the numbers people quote first."""
    rates = results["rates"]
    line = (
        f"avg gap {_pct(_number(results['avg_gap']))} pts, pair accuracy {_pct(_number(results['avg_pair_accuracy']))}%, "
        f"mute hallucination {_pct(_number(rates['mute_hallucination']))}%, shift miss {_pct(_number(rates['shift_miss']))}%, "
        f"unreadable {_pct(_number(results['unparseable_rate']))}%"
    )
    if "refusal_rate" in results:
        line += f", refused {_pct(_number(results['refusal_rate']))}%"
    return line


def _comparison_rows(comparisons: dict[str, dict]) -> list[tuple[str, str, dict, int | None]]:
    rows = []
    for label, c in comparisons.items():
        for key, name in COMPARED_LABELS.items():
            if key in c.get("paired_bootstrap", {}):
                rows.append((label, name, c["paired_bootstrap"][key], c.get("n_resamples")))
    return rows


def format_comparisons(comparisons: dict[str, dict]) -> str:
    """One line per comparison: the avg pair accuracy difference, its interval, its p-value."""
    lines = []
    for label, c in comparisons.items():
        row = c["paired_bootstrap"]["avg_pair_accuracy"]
        lo, hi = (_number(v) for v in row["ci"])
        ci = "n/a" if lo is None or hi is None else f"{100 * lo:+.1f} to {100 * hi:+.1f}"
        diff = _number(row["diff"])
        lines.append(
            f"{label}: avg pair accuracy {'n/a' if diff is None else f'{100 * diff:+.1f}'} pts "
            f"(95% CI {ci}, {format_p_value(row['p_value'], c.get('n_resamples'))})"
        )
    return "\n".join(lines)


# -- markdown and latex --------------------------------------------------------------------------


def _cell(col: Column, r: dict) -> str:
    v, ci = col.value(r), col.interval(r)
    return _pct(v) + ("" if ci is None else " " + _pct_ci(ci))


def _markdown(results: dict[str, dict], comparisons: dict[str, dict]) -> str:
    cols = table_columns(results)
    heads = ["model", *(f"{c.group} {c.header}".strip() for c in cols)]
    lines = [
        "| " + " | ".join(heads) + " |",
        "|---|" + "---:|" * len(cols),
    ]
    for name, r in results.items():
        lines.append("| " + " | ".join([_md_escape(name), *(_cell(c, r) for c in cols)]) + " |")
    out = "\n".join(lines)
    rows = _comparison_rows(comparisons)
    if rows:
        comp = ["| comparison | number | A | B | B - A | 95% CI | p |", "|---|---|---:|---:|---:|---:|---|"]
        for label, name, row, b in rows:
            comp.append(
                f"| {_md_escape(label)} | {name} | {_pct(_number(row['a']))} | {_pct(_number(row['b']))} | "
                f"{_pct(_number(row['diff']))} | {_pct_ci(_interval(row['ci']))} | {format_p_value(row['p_value'], b)} |"
            )
        out += "\n\n" + "\n".join(comp)
    return out + "\n"


def _interval(ci: Sequence | None) -> list[float] | None:
    if not ci or len(ci) != 2:
        return None
    lo, hi = _number(ci[0]), _number(ci[1])
    return None if lo is None or hi is None else [lo, hi]


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                  "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}  # fmt: skip


def _tex(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def _tex_cell(col: Column, r: dict) -> str:
    v, ci = col.value(r), col.interval(r)
    if v is None:
        return "--"
    return _pct(v) + ("" if ci is None else r" {\scriptsize " + _pct_ci(ci) + "}")


def _latex(results: dict[str, dict], comparisons: dict[str, dict]) -> str:
    cols = table_columns(results)
    spans, j = [], 0
    while j < len(cols):
        k = j
        while k + 1 < len(cols) and cols[k + 1].group == cols[j].group:
            k += 1
        spans.append((cols[j].group, k - j + 1))
        j = k + 1
    group_row = " & ".join(["", *(rf"\multicolumn{{{n}}}{{c}}{{{_tex(g)}}}" if g else " & ".join([""] * n)
                                  for g, n in spans)])  # fmt: skip
    lines = [
        r"% Thud scores in percent; brackets: 95% clip-bootstrap intervals. Needs \usepackage{booktabs}.",
        r"\begin{tabular}{l" + "r" * len(cols) + "}",
        r"\toprule",
        group_row + r" \\",
        " & ".join(["Model", *(_tex(c.header) for c in cols)]) + r" \\",
        r"\midrule",
    ]
    for name, r in results.items():
        lines.append(" & ".join([_tex(name), *(_tex_cell(c, r) for c in cols)]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    rows = _comparison_rows(comparisons)
    if rows:
        lines += ["", r"\begin{tabular}{llrrrrl}", r"\toprule",
                  r"Comparison & Number & A & B & B $-$ A & 95\% CI & $p$ \\", r"\midrule"]  # fmt: skip
        for label, name, row, b in rows:
            p = format_p_value(row["p_value"], b)
            lines.append(
                f"{_tex(label)} & {_tex(name)} & {_pct(_number(row['a']))} & {_pct(_number(row['b']))} & "
                f"{_pct(_number(row['diff']))} & {_pct_ci(_interval(row['ci']))} & ${p}$ " + r"\\"
            )
        lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


# -- csv and json --------------------------------------------------------------------------------


def _csv_number(v: float | None) -> str:
    return "" if v is None else repr(float(v))


def _csv(results: dict[str, dict]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["model", "metric", "value", "ci_low", "ci_high"])
    for name, r in results.items():
        for c in table_columns(results):
            ci = c.interval(r) or [None, None]
            w.writerow([name, c.key, _csv_number(c.value(r)), _csv_number(ci[0]), _csv_number(ci[1])])
    return buf.getvalue()


def comparisons_csv(comparisons: dict[str, dict]) -> str:
    """The paired comparisons, one row per (comparison, number): ``a``, ``b``, ``diff``, its
    interval and the p-value (fractions, unrounded)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["comparison", "metric", "a", "b", "diff", "ci_low", "ci_high", "p_value", "n_resamples"])
    for label, c in comparisons.items():
        for key, row in c.get("paired_bootstrap", {}).items():
            ci = _interval(row["ci"]) or [None, None]
            w.writerow([label, key, *(_csv_number(_number(row[k])) for k in ("a", "b", "diff")),
                        _csv_number(ci[0]), _csv_number(ci[1]), _csv_number(_number(row["p_value"])),
                        c.get("n_resamples", "")])  # fmt: skip
    return buf.getvalue()


def _json(results: dict[str, dict], comparisons: dict[str, dict]) -> str:
    cols = table_columns(results)
    payload = {
        "columns": [{"key": c.key, "group": c.group, "header": c.header} for c in cols],
        "models": {
            name: {c.key: {"value": c.value(r), "ci": c.interval(r)} for c in cols} for name, r in results.items()
        },
        "comparisons": {
            label: {
                key: {**{k: _number(row[k]) for k in ("a", "b", "diff", "p_value")}, "ci": _interval(row["ci"]),
                      "p": format_p_value(row["p_value"], c.get("n_resamples"))}  # fmt: skip
                for key, row in c.get("paired_bootstrap", {}).items()
            }
            for label, c in comparisons.items()
        },
    }
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def render(results: dict[str, dict], comparisons: dict[str, dict] | None = None, fmt: str = "text") -> str:
    """The score table (and the comparisons) in one of :data:`FORMATS`.

    ``text`` is :func:`format_table` plus :func:`format_comparisons`; ``csv`` is the model
    table only, in long form (``model,metric,value,ci_low,ci_high``; the comparisons are
    :func:`comparisons_csv`); ``json`` holds both tables.

    Raises
    ------
    ValueError
        An unknown format, or no results.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown table format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if not results:
        raise ValueError("no results to tabulate")
    comparisons = comparisons or {}
    if fmt == "text":
        text = format_table(results)
        return text + ("\n\n" + format_comparisons(comparisons) if comparisons else "") + "\n"
    if fmt == "markdown":
        return _markdown(results, comparisons)
    if fmt == "latex":
        return _latex(results, comparisons)
    if fmt == "csv":
        return _csv(results)
    return _json(results, comparisons)
