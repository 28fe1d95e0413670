"""Plots of thud_gap results, one or several models side by side (matplotlib, Agg).

Each function takes ``{model name: results}`` and returns a ``matplotlib.figure.Figure``,
saved to ``path`` when one is given. ``results`` are the dicts of
:func:`~thud_metrics.score_probes`; the offset plots also draw what
:func:`thud_metrics.report.score_predictions` adds (the interval of each offset band, the
signed bands, the offset-localisation points). Figures are made without pyplot, so no
display is needed and no global state is touched.

What a reader can rely on in every plot:

* a model has one colour (:func:`model_colors`) in every plot and in the HTML report;
* an interval is the clip-bootstrap interval of ``results["ci"]`` (or of the band), drawn
  as a vertical line from its low to its high end (artist label ``"_ci <model>"``);
* a bar carries its value as text; a bar of 0 is a short thick line on the axis with a
  ``0`` label (not an absent bar); a group with no probes says ``no probes``; an
  undefined number says ``n/a``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from thud_dataset.vocab import CONDITIONS, DIMENSIONS, INTERVENTION_OF

from .scores import DECOMPOSITION_CATEGORIES, decomposition
from .stats import RATE_NAMES

logger = logging.getLogger(__name__)

__all__ = [
    "PALETTE",
    "PLOT_FILES",
    "model_colors",
    "plot_accuracy",
    "plot_accuracy_by_offset",
    "plot_accuracy_by_signed_offset",
    "plot_all",
    "plot_decomposition",
    "plot_error_radar",
    "plot_offset_localisation",
]

_RATE_LABELS = {
    "mute_hallucination": "Mute\nhallucination",
    "false_silence": "False\nsilence",
    "swap_false_match": "Swap\nfalse-match",
    "swap_false_mismatch": "Swap\nfalse-mismatch",
    "shift_miss": "Shift\nmiss",
    "wrong_direction": "Wrong\ndirection",
    "hallucinated_shift": "Hallucinated\nshift",
}
_CATEGORY_STYLE = {  # label, colour
    "correct": ("Correct", "#2e7d32"),
    "synced": ("Said synced (hallucinated / missed)", "#c62828"),
    "wrong_direction": ("Wrong direction", "#ef6c00"),
    "shift": ("Said early/delayed (hallucinated shift)", "#8e24aa"),
    "silent": ("Said silent", "#546e7a"),
    "mismatched": ("Said mismatched", "#8d6e63"),
    "refused": ("Refused (no audio)", "#90a4ae"),
    "unknown": ("Unreadable", "#cfd8dc"),
}
#: model colours, in order (Okabe-Ito, readable by colour-blind readers)
PALETTE: tuple[str, ...] = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999999")
_INK = "#222222"
_MUTED = "#777777"


def model_colors(names: Sequence[str]) -> dict[str, str]:
    """One colour per model, by position: the same in every plot and in the HTML report.

    >>> model_colors(["prior", "signal"])
    {'prior': '#0072B2', 'signal': '#D55E00'}
    """
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}


def _save(fig: Figure, path: str | Path | None) -> Figure:
    if path is not None:
        fig.savefig(path, dpi=150, bbox_inches="tight")
    return fig


def _finite(v: object) -> float | None:
    if v is None:
        return None
    v = float(v)
    return None if np.isnan(v) else v


def _interval(ci: object) -> tuple[float, float] | None:
    if not isinstance(ci, (list, tuple)) or len(ci) != 2:
        return None
    lo, hi = _finite(ci[0]), _finite(ci[1])
    return None if lo is None or hi is None else (lo, hi)


def _get(tree: dict, path: Sequence[str]) -> object:
    for part in path:
        if not isinstance(tree, dict) or part not in tree:
            return None
        tree = tree[part]
    return tree


def _bars(
    ax,
    x: np.ndarray,
    values: Sequence[float | None],
    intervals: Sequence[tuple[float, float] | None],
    *,
    width: float,
    color: str,
    label: str,
    scale: float = 100.0,
    empty: Sequence[bool] | None = None,
) -> None:
    """One model's bars with their intervals, value labels, 0 marks and n/a labels."""
    vals = [None if v is None else v * scale for v in values]
    ax.bar(x, [0.0 if v is None else v for v in vals], width=width * 0.92, color=color, label=label)
    spans = [(xi, lo * scale, hi * scale) for xi, ci in zip(x, intervals, strict=True) if ci for lo, hi in [ci]]
    if spans:
        xs, lows, highs = (np.array(a) for a in zip(*spans, strict=True))
        ax.vlines(xs, lows, highs, colors=_INK, lw=1.1, label=f"_ci {label}")
        ax.hlines(np.concatenate([lows, highs]), np.tile(xs - width * 0.18, 2), np.tile(xs + width * 0.18, 2),
                  colors=_INK, lw=1.1, label=f"_ci caps {label}")  # fmt: skip
    top = {xi: hi for xi, _, hi in spans}
    for i, (xi, v) in enumerate(zip(x, vals, strict=True)):
        if empty is not None and empty[i]:
            continue  # the group's "no probes" label says it
        if v is None:
            ax.text(xi, 1.5, "n/a", ha="center", va="bottom", fontsize=7, color=_MUTED, rotation=90)
            continue
        if v == 0:  # a 0% bar is a visible mark, not a missing bar
            ax.hlines(0.9, xi - width * 0.46, xi + width * 0.46, colors=color, lw=4, label=f"_zero {label}")
        y = max(v, top.get(xi, v), 1.5 if v == 0 else 0.0) + 1.2
        ax.text(xi, y, f"{v:.0f}", ha="center", va="bottom", fontsize=7, color=_INK)


def _grouped(
    ax,
    groups: Sequence[str],
    per_model: dict[str, tuple[list, list]],
    colors: dict[str, str],
    *,
    n: Sequence[int] | None = None,
) -> np.ndarray:
    """Bars of every model per group; ``n[g] == 0`` labels the group ``no probes``."""
    x = np.arange(len(groups), dtype=float)
    k = max(len(per_model), 1)
    width = 0.8 / k
    empty = [c == 0 for c in n] if n is not None else None
    for i, (name, (values, intervals)) in enumerate(per_model.items()):
        offset = (i - (k - 1) / 2) * width
        _bars(ax, x + offset, values, intervals, width=width, color=colors[name], label=name, empty=empty)
    if empty:
        for xi, e in zip(x, empty, strict=True):
            if e:
                ax.text(xi, 3, "no probes", ha="center", va="bottom", fontsize=8, color=_MUTED, rotation=90)
    ax.set_xticks(x)
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.set_ylim(0, 112)
    ax.set_yticks([0, 20, 40, 60, 80, 100])
    ax.spines[["top", "right"]].set_visible(False)
    return x


def _legend(ax, **kwargs) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, labels, fontsize=8, frameon=False, **kwargs)


# -- the accuracy table as a plot ---------------------------------------------------------------


def plot_accuracy(results: dict[str, dict], path: str | Path | None = None) -> Figure:
    """Accuracy per (dimension, condition) and pair accuracy, per model, with intervals
    (the paper's Table 1 drawn). Left panel: original vs intervened accuracy of each
    dimension; right panel: pair accuracy per dimension and its mean."""
    colors = model_colors(list(results))
    cells = [(d, c) for d in DIMENSIONS for c in ("original", INTERVENTION_OF[d])]
    pair_keys = [*DIMENSIONS, "avg"]
    fig = Figure(figsize=(12, 4.6))
    ax_acc, ax_pair = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    acc = {
        name: ([_finite(_get(r, ("accuracy", d, c))) for d, c in cells],
               [_interval(_get(r, ("ci", "accuracy", d, c))) for d, c in cells])
        for name, r in results.items()
    }  # fmt: skip
    per_cell = _get(next(iter(results.values())), ("counts", "per_condition"))
    n_cells = [int(_get(per_cell, (d, c)) or 0) for d, c in cells] if isinstance(per_cell, dict) else None
    x = _grouped(ax_acc, [f"{d}/{c}" for d, c in cells], acc, colors, n=n_cells)
    ax_acc.set_xticklabels([f"{d.capitalize()}\n{c}" for d, c in cells], fontsize=9)
    for xi in x[1::2][:-1] + 0.5:
        ax_acc.axvline(xi, color="#dddddd", lw=0.8)
    ax_acc.set_ylabel("accuracy (%)")
    ax_acc.set_title("Accuracy: original vs intervened", loc="left", fontsize=11)

    def pair_value(r: dict, key: str) -> float | None:
        return _finite(r.get("avg_pair_accuracy") if key == "avg" else _get(r, ("pair_accuracy", key)))

    def pair_ci(r: dict, key: str):
        return _interval(_get(r, ("ci", "avg_pair_accuracy") if key == "avg" else ("ci", "pair_accuracy", key)))

    pairs = {name: ([pair_value(r, k) for k in pair_keys], [pair_ci(r, k) for k in pair_keys]) for name, r in results.items()}
    per_dim = _get(next(iter(results.values())), ("counts", "pairs"))
    n_pairs = [int(per_dim.get(d, 0)) for d in DIMENSIONS] if isinstance(per_dim, dict) else None
    if n_pairs is not None:
        n_pairs.append(sum(n_pairs))
    _grouped(ax_pair, pair_keys, pairs, colors, n=n_pairs)
    ax_pair.set_xticklabels([k.capitalize() + ("" if n_pairs is None else f"\nn={n_pairs[j]}")
                             for j, k in enumerate(pair_keys)], fontsize=9)  # fmt: skip
    ax_pair.set_ylabel("pairs with both probes right (%)")
    ax_pair.set_title("Pair accuracy", loc="left", fontsize=11)
    _legend(ax_pair, loc="upper right")
    fig.suptitle("Thud accuracy (bars: 95% clip-bootstrap intervals)", fontsize=12)
    fig.tight_layout()
    return _save(fig, path)


# -- the paper's figures -------------------------------------------------------------------------


def plot_error_radar(results: dict[str, dict], path: str | Path | None = None) -> Figure:
    """Error-rate radar (paper Fig. 3): one polygon per model, each axis a rate in [0, 1],
    with a table of every rate and its interval underneath.

    Outward is worse. Each vertex of 0.1 or more carries its value; each interval is a
    radial line. An undefined rate (nothing to count) is drawn at 0, says ``n/a`` in the
    table, and its axis label says "n/a" when it is undefined for every model.
    """
    colors = model_colors(list(results))
    angles = np.linspace(0, 2 * np.pi, len(RATE_NAMES), endpoint=False)
    fig = Figure(figsize=(9, 9.5 + 0.3 * len(results)))
    grid = fig.add_gridspec(2, 1, height_ratios=[5, 0.9 + 0.25 * len(results)])
    ax = fig.add_subplot(grid[0], projection="polar")
    ax.set_theta_offset(np.pi / 2)
    ax.set_theta_direction(-1)
    all_nan = {r: all(_finite(res["rates"][r]) is None for res in results.values()) for r in RATE_NAMES}
    k = len(results)
    cells = []
    for i, (name, res) in enumerate(results.items()):
        color = colors[name]
        raw = [_finite(res["rates"][r]) for r in RATE_NAMES]
        cis = [_interval(_get(res, ("ci", "rates", r))) for r in RATE_NAMES]
        values = np.array([0.0 if v is None else v for v in raw])
        closed = np.append(angles, angles[0])
        ax.plot(closed, np.append(values, values[0]), color=color, lw=2, marker="o", ms=4, label=name)
        ax.fill(closed, np.append(values, values[0]), color=color, alpha=0.10)
        nudge = (i - (k - 1) / 2) * 0.05  # side by side, so intervals of two models do not overlap
        spans = [(a + nudge, ci) for a, ci in zip(angles, cis, strict=True) if ci]
        if spans:
            ax.vlines([a for a, _ in spans], [c[0] for _, c in spans], [c[1] for _, c in spans],
                      colors=color, lw=2.2, alpha=0.55, label=f"_ci {name}")  # fmt: skip
        for a, v in zip(angles, raw, strict=True):
            if v is not None and v >= 0.1:
                ax.text(a + nudge, min(v + 0.08, 1.08), f"{v:.2f}", color=color, fontsize=7, ha="center", va="center")
        cells.append(["n/a" if v is None else f"{v:.2f}" + (f" [{c[0]:.2f}, {c[1]:.2f}]" if c else "")
                      for v, c in zip(raw, cis, strict=True)])  # fmt: skip
    ax.set_xticks(angles)
    ax.set_xticklabels([_RATE_LABELS[r] + ("\n(n/a)" if all_nan[r] else "") for r in RATE_NAMES], fontsize=10)
    ax.set_ylim(0, 1.1)
    ax.set_yticks([0.25, 0.5, 0.75, 1.0])
    ax.set_yticklabels(["0.25", "0.5", "0.75", "1"], fontsize=8, color="#555555")
    ax.tick_params(axis="x", pad=14)
    ax.set_title("Error rates (outward is worse; lines: 95% intervals)", pad=28, fontsize=13)
    ax.legend(loc="upper right", bbox_to_anchor=(1.25, 1.12), fontsize=9, frameon=False)
    tab_ax = fig.add_subplot(grid[1])
    tab_ax.axis("off")
    table = tab_ax.table(cellText=cells, rowLabels=list(results), colLabels=[_RATE_LABELS[r] for r in RATE_NAMES],
                         loc="upper center", cellLoc="center")  # fmt: skip
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    table.scale(1, 2.6)
    for (row, col), cell in table.get_celld().items():
        if col == -1 and row > 0:
            cell.get_text().set_color(colors[list(results)[row - 1]])
    return _save(fig, path)


def plot_decomposition(results: dict[str, dict], path: str | Path | None = None) -> Figure:
    """Per-condition decomposition of predictions as stacked bars (paper Fig. 4).

    One panel per condition; in each, one bar per model (its name in the model's colour)
    split into what it answered: correct, a wrong "synced", the wrong direction, a
    hallucinated shift, a wrong "silent", a wrong "mismatched", or nothing readable.
    """
    names = list(results)
    colors = model_colors(names)
    decomp = {name: decomposition(res["confusion"]) for name, res in results.items()}
    height = 1.2 + 0.45 * len(names) * len(CONDITIONS)
    fig = Figure(figsize=(10, max(4.5, height)))
    axes = fig.subplots(len(CONDITIONS), 1, sharex=True)
    for ax, cond in zip(axes, CONDITIONS, strict=True):
        y = np.arange(len(names))
        left = np.zeros(len(names))
        for cat in DECOMPOSITION_CATEGORIES:
            label, color = _CATEGORY_STYLE[cat]
            share = np.nan_to_num(np.array([decomp[n][cond].get(cat, np.nan) for n in names], dtype=float)) * 100
            bars = ax.barh(y, share, left=left, color=color, label=label, edgecolor="white", linewidth=0.5)
            for bar, value in zip(bars, share, strict=True):
                if value >= 7:
                    ax.text(bar.get_x() + bar.get_width() / 2, bar.get_y() + bar.get_height() / 2,
                            f"{value:.0f}", ha="center", va="center", fontsize=8,
                            color="white" if cat != "unknown" else "#333333")  # fmt: skip
            left += share
        ax.set_yticks(y)
        ax.set_yticklabels(names, fontsize=9)
        for tick, name in zip(ax.get_yticklabels(), names, strict=True):
            tick.set_color(colors[name])
        ax.invert_yaxis()
        n = sum(sum(row.values()) for row in results[names[0]]["confusion"][cond].values())
        ax.set_title(f"{cond.capitalize()} probes (n={n})" + ("" if n else " - none"), loc="left", fontsize=11)
        ax.set_xlim(0, 100)
        ax.spines[["top", "right"]].set_visible(False)
    axes[-1].set_xlabel("share of predictions (%)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=9, frameon=False, bbox_to_anchor=(0.5, -0.02))
    fig.suptitle("What the model answered, per condition", fontsize=13)
    fig.tight_layout(rect=(0, 0.08, 1, 0.97))
    return _save(fig, path)


def _require(results: dict[str, dict], key: str) -> None:
    missing = [name for name, r in results.items() if key not in r]
    if missing:
        raise ValueError(f"results of {missing} lack {key}: score them with thud_metrics.report.score_predictions")


def _band_plot(results: dict[str, dict], key: str, tick, *, title: str, width: float, fontsize: int):
    """Bars per offset group of ``results[model][key]`` (``{group: {accuracy, n, ci}}``), the
    group's ``n`` under its tick; returns the figure, its axes, the x positions, the groups."""
    colors = model_colors(list(results))
    first = next(iter(results.values()))[key]
    groups = list(first)
    ns = [int(first[g]["n"]) for g in groups]
    per_model = {
        name: ([_finite(r[key][g]["accuracy"]) for g in groups], [_interval(r[key][g].get("ci")) for g in groups])
        for name, r in results.items()
    }
    fig = Figure(figsize=(max(7.0, width * len(groups)), 4.8))
    ax = fig.add_subplot()
    x = _grouped(ax, groups, per_model, colors, n=ns)
    ax.set_xticklabels([("synced\n(tau = 0)" if g == "synced" else tick(g)) + f"\nn={n}"
                        for g, n in zip(groups, ns, strict=True)], fontsize=fontsize)  # fmt: skip
    ax.set_ylabel("accuracy (%)")
    ax.set_title(title, fontsize=12)
    _legend(ax, loc="upper right")
    return fig, ax, x, groups


def plot_accuracy_by_offset(results: dict[str, dict], path: str | Path | None = None) -> Figure:
    """Sync accuracy by |tau| band (paper Fig. 5): synced clips first, then shifted bands,
    with each band's clip-bootstrap interval (``accuracy_by_offset[band]["ci"]``, added by
    :func:`thud_metrics.report.score_predictions`; without it, no intervals are drawn).

    A listening model is right on synced clips *and* on shifted ones, better on larger
    shifts; a synced-prior model is high on the first group and 0 on all others.
    """
    fig, ax, _, _ = _band_plot(results, "accuracy_by_offset", lambda g: f"|tau| {g}", width=1.3, fontsize=9,
                               title="Sync accuracy by offset |tau| (bars: 95% intervals)")  # fmt: skip
    ax.axvline(0.5, color="#999999", lw=0.8, ls="--")
    fig.tight_layout()
    return _save(fig, path)


def plot_accuracy_by_signed_offset(results: dict[str, dict], path: str | Path | None = None) -> Figure:
    """Sync accuracy on early (tau < 0) and delayed (tau > 0) shifts by |tau| band, with
    synced clips in the middle: a model that hears only one direction shows it here.

    Needs ``accuracy_by_signed_offset`` (added by :func:`thud_metrics.report.score_predictions`).
    """
    _require(results, "accuracy_by_signed_offset")
    fig, ax, x, groups = _band_plot(results, "accuracy_by_signed_offset", lambda g: g.replace(" ", "\n", 1),
                                    width=0.95, fontsize=8,
                                    title="Sync accuracy: audio early (tau < 0) vs delayed (tau > 0)")  # fmt: skip
    middle = groups.index("synced")
    for xi in (x[middle] - 0.5, x[middle] + 0.5):
        ax.axvline(xi, color="#999999", lw=0.8, ls="--")
    fig.tight_layout()
    return _save(fig, path)


def plot_offset_localisation(results: dict[str, dict], path: str | Path | None = None) -> Figure:
    """Stated offset vs true ``tau`` per model (paper Fig. 6): for each true offset, the
    median offset the answers state (marker) and their interquartile range (line). On
    the diagonal, the model localises the shift exactly. Needs ``offset_localisation``
    (added by :func:`thud_metrics.report.score_predictions`).
    """
    _require(results, "offset_localisation")
    colors = model_colors(list(results))
    fig = Figure(figsize=(6.8, 6.2))
    ax = fig.add_subplot()
    taus = [pt["tau"] for r in results.values() for pt in r["offset_localisation"]]
    stated = [v for r in results.values() for pt in r["offset_localisation"] for v in (pt["q25"], pt["q75"])]
    lim = max([0.5, *np.abs(taus), *np.abs(stated)]) * 1.15
    ax.plot([-lim, lim], [-lim, lim], color="#999999", lw=1, ls="--", label="_diagonal")
    ax.axhline(0, color="#dddddd", lw=0.8)
    ax.axvline(0, color="#dddddd", lw=0.8)
    k = len(results)
    for i, (name, r) in enumerate(results.items()):
        pts = r["offset_localisation"]
        n = sum(pt["n"] for pt in pts)
        if not pts:
            ax.plot([], [], "o", color=colors[name], label=f"{name} (states no offset)")
            continue
        nudge = (i - (k - 1) / 2) * lim * 0.012
        xs = np.array([pt["tau"] for pt in pts]) + nudge
        ax.vlines(xs, [pt["q25"] for pt in pts], [pt["q75"] for pt in pts], colors=colors[name], lw=2,
                  alpha=0.7, label=f"_ci {name}")  # fmt: skip
        ax.plot(xs, [pt["median"] for pt in pts], "o", color=colors[name], ms=6, label=f"{name} (n={n})")
    if not taus:
        ax.text(0, lim / 2, "no answer states an offset in seconds", ha="center", color=_MUTED)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xlabel("true offset tau (s)   < 0: audio early, > 0: delayed")
    ax.set_ylabel("offset stated in the answer (s)")
    ax.set_title("Offset localisation (median, interquartile range)", fontsize=12)
    ax.spines[["top", "right"]].set_visible(False)
    _legend(ax, loc="upper left")
    fig.tight_layout()
    return _save(fig, path)


#: file names :func:`plot_all` writes, with what each needs beyond score_probes' numbers
PLOT_FILES = {
    "accuracy.png": plot_accuracy,
    "error_rates_radar.png": plot_error_radar,
    "prediction_decomposition.png": plot_decomposition,
    "accuracy_by_offset.png": plot_accuracy_by_offset,
    "accuracy_by_signed_offset.png": plot_accuracy_by_signed_offset,
    "offset_localisation.png": plot_offset_localisation,
}
_NEEDS = {
    "accuracy_by_signed_offset.png": "accuracy_by_signed_offset",
    "offset_localisation.png": "offset_localisation",
}


def plot_all(results: dict[str, dict], out_dir: str | Path) -> list[Path]:
    """Write the plots into ``out_dir``; returns their paths.

    The signed-offset and localisation plots are left out (and logged) when the results
    lack what :func:`thud_metrics.report.score_predictions` adds.
    """
    if not results:
        raise ValueError("no results to plot")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for filename, plot in PLOT_FILES.items():
        need = _NEEDS.get(filename)
        if need and not all(need in r for r in results.values()):
            logger.info("%s left out: the results lack %s (score with thud_metrics.report.score_predictions)",
                        filename, need)  # fmt: skip
            continue
        plot(results, out_dir / filename)
        paths.append(out_dir / filename)
    return paths
