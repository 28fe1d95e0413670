"""The static parts of the report page: summary table, audio path, comparisons, plots,
provenance. Every value from a file or a model is HTML-escaped here; the explorer's
data is JSON read by ``explorer.js``, which writes it with ``textContent`` only."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from pathlib import Path

from ..report import AUDIO_WARNING, ScoredRuns
from ..tables import COMPARED_LABELS, format_p_value, table_columns

STATIC = Path(__file__).resolve().parent / "static"

#: what the plots section says under each plot
PLOT_CAPTIONS = {
    "accuracy.png": "Accuracy per dimension, original vs intervened, and pair accuracy.",
    "error_rates_radar.png": "Error rates (paper Fig. 3): outward is worse.",
    "prediction_decomposition.png": "What each model answered, per condition (paper Fig. 4).",
    "accuracy_by_offset.png": "Sync accuracy by |tau| band (paper Fig. 5).",
    "accuracy_by_signed_offset.png": "Sync accuracy on early vs delayed audio.",
    "offset_localisation.png": "Offset stated in the answers vs the true offset (paper Fig. 6).",
}


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f}"


def _pct_ci(ci: Sequence[float] | None) -> str:
    return "" if ci is None else f"[{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"


def _swatch(color: str) -> str:
    return f'<span class="swatch" style="background:{esc(color)}"></span>'


def summary_table(scored: ScoredRuns, colors: dict[str, str]) -> str:
    """The score table: every number in percent with its 95% interval."""
    cols = table_columns(scored.results)
    groups, j = [], 0
    while j < len(cols):
        k = j
        while k + 1 < len(cols) and cols[k + 1].group == cols[j].group:
            k += 1
        groups.append(f'<th colspan="{k - j + 1}">{esc(cols[j].group)}</th>')
        j = k + 1
    head = (
        "<thead><tr><th></th>" + "".join(groups) + "</tr><tr><th>model</th>"
        + "".join(f'<th data-key="{esc(c.key)}">{esc(c.header)}</th>' for c in cols) + "</tr></thead>"
    )  # fmt: skip
    rows = []
    for name, r in scored.results.items():
        cells = []
        for c in cols:
            v, ci = c.value(r), c.interval(r)
            cells.append(
                f'<td data-key="{esc(c.key)}"><span class="v">{_pct(v)}</span>'
                f'<span class="ci">{_pct_ci(ci)}</span></td>'
            )
        rows.append(f'<tr data-model="{esc(name)}"><th>{_swatch(colors[name])}{esc(name)}</th>{"".join(cells)}</tr>')
    return f'<table class="scores">{head}<tbody>{"".join(rows)}</tbody></table>'


def comparisons_table(scored: ScoredRuns) -> str:
    if not scored.comparisons:
        return ""
    rows = []
    for label, c in scored.comparisons.items():
        for key, name in COMPARED_LABELS.items():
            row = c["paired_bootstrap"].get(key)
            if row is None:
                continue
            ci = row["ci"] if all(v is not None and v == v for v in row["ci"]) else None
            diff = row["diff"] if row["diff"] == row["diff"] else None
            rows.append(
                f"<tr><td>{esc(label)}</td><td>{esc(name)}</td><td>{_pct(diff)}</td>"
                f"<td>{_pct_ci(ci)}</td><td>{esc(format_p_value(row['p_value'], c.get('n_resamples')))}</td></tr>"
            )
    return (
        '<table class="comparisons"><thead><tr><th>comparison (B vs A)</th><th>number</th>'
        "<th>B − A (pts)</th><th>95% interval</th><th>p (paired bootstrap)</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def audio_path(scored: ScoredRuns, colors: dict[str, str]) -> str:
    """Per model: the audio-path verdict, its reason, the warning, refusal and unreadable rates."""
    items = []
    for name, r in scored.results.items():
        meta = r["run"]["meta"]
        check = meta.get("audio_check")
        verdict = check.get("verdict", "?") if isinstance(check, dict) else ("not checked" if check is None else str(check))
        reason = check.get("reason", "") if isinstance(check, dict) else ""
        refusal = r.get("refusal_rate")
        warn = f'<p class="warning">{esc(AUDIO_WARNING)}</p>' if verdict == "does_not_reach" else ""
        facts = [
            f"refusal rate: {'not measured' if refusal is None else _pct(refusal) + '%'}",
            f"unreadable: {_pct(r.get('unparseable_rate'))}%",
        ]
        if r["run"]["failed_calls"]:
            facts.append(f"failed calls: {r['run']['failed_calls']}")
        if r["run"]["missing_probes_scored_unknown"]:
            facts.append(f"missing probes scored unknown: {r['run']['missing_probes_scored_unknown']}")
        items.append(
            f'<li class="model-check verdict-{esc(verdict)}" data-model="{esc(name)}">{_swatch(colors[name])}'
            f'<b>{esc(name)}</b>: audio-path check <span class="verdict">{esc(verdict)}</span>'
            f'{(" — " + esc(reason)) if reason else ""}<br><span class="facts">{esc("; ".join(facts))}</span>{warn}</li>'
        )
    return f'<ul class="audio-path">{"".join(items)}</ul>'


def plots(paths: Sequence[Path]) -> str:
    figs = []
    for p in paths:
        caption = PLOT_CAPTIONS.get(p.name, p.stem.replace("_", " "))
        figs.append(
            f'<figure><a href="plots/{esc(p.name)}"><img src="plots/{esc(p.name)}" alt="{esc(caption)}" '
            f'loading="lazy"></a><figcaption>{esc(caption)}</figcaption></figure>'
        )
    return f'<div class="plots">{"".join(figs)}</div>'


def _fmt(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(_fmt(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items())
    return "–" if value is None else str(value)


def provenance(build_report: dict | None, source: str, report_version: str, scored: ScoredRuns) -> str:
    """The build's settings (seed, offsets, gap fill, codec, Thud version, ...) and the scoring's."""
    rows: list[tuple[str, object]] = []
    if build_report is None:
        rows.append(("build report", f"not found ({source})"))
    else:
        s = build_report.get("settings", {})
        version = s.get("thud_version") or build_report.get("thud_version")
        rows += [
            ("source", s.get("source")),
            ("seed", s.get("seed")),
            ("offsets tau (s)", s.get("offsets")),
            ("offsets used (tau → clips)", build_report.get("offsets")),
            ("gap fill", s.get("gap_fill")),
            ("audio codec", s.get("audio_codec")),
            ("audio bit rate per channel", s.get("audio_bitrate_per_channel")),
            ("margin (s)", s.get("margin_s")),
            ("test fraction", s.get("test_fraction")),
            ("clips used", build_report.get("clips_used")),
            ("clips skipped", len(build_report.get("skipped") or [])),
            ("Thud version of the build", version or "not recorded in build_report.json"),
            ("build command", s.get("command")),
        ]
    rows += [
        ("bootstrap", f"{scored.n_resamples} resamples of clips, seed {scored.seed}"),
        ("|tau| band edges (s)", list(scored.bands)),
        ("report written by Thud", report_version),
    ]
    for name, r in scored.results.items():
        meta = r["run"]["meta"]
        rows.append((f"predictions of {name}", f"{Path(r['run']['predictions']).name} ({r['run']['format']}"
                     + (f", Thud {meta['thud_version']}" if meta.get("thud_version") else "") + ")"))  # fmt: skip
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(_fmt(v))}</td></tr>" for k, v in rows)
    return f'<table class="provenance">{body}</table>'


def data_script(data: dict) -> str:
    """``data.js``: the explorer's data as a script (a page on ``file://`` cannot fetch JSON)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    # safe inside any HTML context a script may end up in
    text = text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return f"window.THUD_REPORT = {text};\n"


def render_page(parts: dict[str, str]) -> str:
    """``index.html`` with each ``{{NAME}}`` replaced by ``parts[NAME]``, in one pass (a part
    that happens to contain ``{{...}}`` is never expanded)."""
    template = (STATIC / "index.html").read_text(encoding="utf-8")
    missing = sorted(set(re.findall(r"\{\{([A-Z_]+)\}\}", template)) - set(parts))
    if missing:
        raise ValueError(f"report page: no content for {missing}")
    return re.sub(r"\{\{([A-Z_]+)\}\}", lambda m: parts[m.group(1)], template)
