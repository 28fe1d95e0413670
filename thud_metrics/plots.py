"""Plots of thud_gap results, one or several models side by side (matplotlib, Agg).

Each function takes ``{model name: results}`` (the dicts of
:func:`~thud_metrics.score_probes`) and returns a ``matplotlib.figure.Figure``, saved to
``path`` when one is given. Figures are made without pyplot, so no display is needed and
no global state is touched.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from thud_dataset.vocab import CONDITIONS

from .scores import DECOMPOSITION_CATEGORIES, decomposition
from .stats import RATE_NAMES

__all__ = ["plot_accuracy_by_offset", "plot_all", "plot_decomposition", "plot_error_radar"]

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
_COLORS = ["#1565c0", "#c62828", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#ad1457", "#4e342e"]


def _save(fig: Figure, path: str | Path | None) -> Figure:
    if path is not None:
        fig.savefig(path, dpi=150, bbox_inches="tight")
    return fig


def plot_error_radar(results: dict[str, dict], path: str | Path | None = None) -> Figure:
    """Error-rate radar (paper Fig. 3): one polygon per model, each axis a rate in [0, 1].

    Outward is worse. An undefined rate (nothing to count) is drawn at 0 and its axis label
    says "n/a" when it is undefined for every model.
    """
    angles = np.linspace(0, 2 * np.pi, len(RATE_NAMES), endpoint=False)
    fig = Figure(figsize=(7.5, 7))
    ax = fig.add_subplot(projection="polar")
    ax.set_theta_offset(np.pi / 2)
    ax.set_theta_direction(-1)
    all_nan = {r: all(np.isnan(res["rates"][r]) for res in results.values()) for r in RATE_NAMES}
    for i, (name, res) in enumerate(results.items()):
        values = np.nan_to_num(np.array([res["rates"][r] for r in RATE_NAMES], dtype=float))
        color = _COLORS[i % len(_COLORS)]
        closed = np.append(angles, angles[0])
        ax.plot(closed, np.append(values, values[0]), color=color, lw=2, marker="o", ms=4, label=name)
        ax.fill(closed, np.append(values, values[0]), color=color, alpha=0.12)
    ax.set_xticks(angles)
    ax.set_xticklabels([_RATE_LABELS[r] + ("\n(n/a)" if all_nan[r] else "") for r in RATE_NAMES], fontsize=10)
    ax.set_ylim(0, 1)
    ax.set_yticks([0.25, 0.5, 0.75, 1.0])
    ax.set_yticklabels(["0.25", "0.5", "0.75", "1"], fontsize=8, color="#555555")
    ax.tick_params(axis="x", pad=14)
    ax.set_title("Error rates (outward is worse)", pad=28, fontsize=13)
    ax.legend(loc="upper right", bbox_to_anchor=(1.32, 1.12), fontsize=9, frameon=False)
    return _save(fig, path)


def plot_decomposition(results: dict[str, dict], path: str | Path | None = None) -> Figure:
    """Per-condition decomposition of predictions as stacked bars (paper Fig. 4).

    One panel per condition; in each, one bar per model split into what it answered:
    correct, a wrong "synced", the wrong direction, a hallucinated shift, a wrong "silent",
    a wrong "mismatched", or nothing readable.
    """
    names = list(results)
    decomp = {name: decomposition(res["confusion"]) for name, res in results.items()}
    height = 1.2 + 0.45 * len(names) * len(CONDITIONS)
    fig = Figure(figsize=(10, max(4.5, height)))
    axes = fig.subplots(len(CONDITIONS), 1, sharex=True)
    for ax, cond in zip(axes, CONDITIONS, strict=True):
        y = np.arange(len(names))
        left = np.zeros(len(names))
        for cat in DECOMPOSITION_CATEGORIES:
            label, color = _CATEGORY_STYLE[cat]
            share = np.nan_to_num(np.array([decomp[n][cond][cat] for n in names], dtype=float)) * 100
            bars = ax.barh(y, share, left=left, color=color, label=label, edgecolor="white", linewidth=0.5)
            for bar, value in zip(bars, share, strict=True):
                if value >= 7:
                    ax.text(bar.get_x() + bar.get_width() / 2, bar.get_y() + bar.get_height() / 2,
                            f"{value:.0f}", ha="center", va="center", fontsize=8,
                            color="white" if cat != "unknown" else "#333333")  # fmt: skip
            left += share
        ax.set_yticks(y)
        ax.set_yticklabels(names, fontsize=9)
        ax.invert_yaxis()
        n = sum(sum(row.values()) for row in results[names[0]]["confusion"][cond].values())
        ax.set_title(f"{cond.capitalize()} probes" + ("" if n else " (none)"), loc="left", fontsize=11)
        ax.set_xlim(0, 100)
        ax.spines[["top", "right"]].set_visible(False)
    axes[-1].set_xlabel("share of predictions (%)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=9, frameon=False, bbox_to_anchor=(0.5, -0.02))
    fig.suptitle("What the model answered, per condition", fontsize=13)
    fig.tight_layout(rect=(0, 0.08, 1, 0.97))
    return _save(fig, path)


def plot_accuracy_by_offset(results: dict[str, dict], path: str | Path | None = None) -> Figure:
    """Sync accuracy by |tau| band (paper Fig. 5): synced clips first, then shifted bands.

    A listening model is right on synced clips *and* on shifted ones, better on larger
    shifts; a synced-prior model is high on the first point and near 0 on all others.
    """
    first = next(iter(results.values()))["accuracy_by_offset"]
    bands = list(first)
    x = np.arange(len(bands))
    fig = Figure(figsize=(max(6.5, 1.3 * len(bands)), 4.5))
    ax = fig.add_subplot()
    width = 0.8 / max(len(results), 1)
    for i, (name, res) in enumerate(results.items()):
        acc = np.array([res["accuracy_by_offset"][b]["accuracy"] for b in bands], dtype=float) * 100
        offset = (i - (len(results) - 1) / 2) * width
        ax.bar(x + offset, np.nan_to_num(acc), width=width * 0.95, color=_COLORS[i % len(_COLORS)], label=name)
    ns = [first[b]["n"] for b in bands]
    for xi, n in zip(x, ns, strict=True):
        if n == 0:
            ax.text(xi, 2, "no probes", ha="center", va="bottom", fontsize=8, color="#777777", rotation=90)
    ax.set_xticks(x)
    ax.set_xticklabels([("synced\n(tau = 0)" if b == "synced" else f"|tau| {b}") + f"\nn={n}" for b, n in zip(bands, ns, strict=True)],
                       fontsize=9)  # fmt: skip
    ax.axvline(0.5, color="#999999", lw=0.8, ls="--")
    ax.set_ylim(0, 105)
    ax.set_ylabel("accuracy (%)")
    ax.set_title("Sync accuracy by offset |tau|", fontsize=13)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=9, frameon=False, loc="upper right")
    fig.tight_layout()
    return _save(fig, path)


#: file names :func:`plot_all` writes
PLOT_FILES = {
    "error_rates_radar.png": plot_error_radar,
    "prediction_decomposition.png": plot_decomposition,
    "accuracy_by_offset.png": plot_accuracy_by_offset,
}


def plot_all(results: dict[str, dict], out_dir: str | Path) -> list[Path]:
    """Write the three plots into ``out_dir``; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for filename, plot in PLOT_FILES.items():
        plot(results, out_dir / filename)
        paths.append(out_dir / filename)
    return paths
