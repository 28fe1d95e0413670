"""The plots draw the numbers of ``results.json``: bar heights, intervals, localisation points
and colours are read back from the matplotlib artists and compared with the saved file."""

from __future__ import annotations

import json

import numpy as np
import pytest
from matplotlib.colors import to_hex

from tests.helpers.probes import make_probes
from tests.helpers.scoring import lopsided_answers, prediction_set
from thud_dataset.vocab import DIMENSIONS, INTERVENTION_OF
from thud_metrics import score_probes
from thud_metrics.plots import (
    PLOT_FILES,
    model_colors,
    plot_accuracy,
    plot_accuracy_by_offset,
    plot_accuracy_by_signed_offset,
    plot_all,
    plot_decomposition,
    plot_error_radar,
    plot_offset_localisation,
)
from thud_metrics.report import save_scores, score_predictions

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Two models scored by the pipeline and saved; the plots are drawn from the saved file."""
    probes = make_probes(50, seed=8)
    sets = [prediction_set("prior", probes, ["synced"] * len(probes["probe_id"])),
            prediction_set("lopsided", probes, lopsided_answers(probes, 1))]  # fmt: skip
    scored = score_predictions(probes, sets, n_resamples=200, seed=2)
    out = tmp_path_factory.mktemp("scores")
    paths = save_scores(scored, out)
    return json.loads((out / "results.json").read_text())["models"], paths


def _pct(v):
    return 0.0 if v is None else 100 * v


def _intervals(ax, name) -> list[tuple[float, float, float]]:
    """(x, low, high) of the interval lines drawn for ``name``."""
    coll = [c for c in ax.collections if c.get_label() == f"_ci {name}"]
    assert len(coll) <= 1
    return [(s[0][0], s[0][1], s[1][1]) for s in coll[0].get_segments()] if coll else []


def _flat(rows) -> list[float]:
    return [float(v) for row in rows for v in row]


def _bars(ax, name):
    return next(c for c in ax.containers if c.get_label() == name)


def _check_grouped(ax, results, values_of, intervals_of, n_of=None):
    """Bars of each model at its heights (in %), intervals at their ends, 0 marks, n/a."""
    colors = model_colors(list(results))
    for name, r in results.items():
        bars = _bars(ax, name)
        values, intervals = values_of(r), intervals_of(r)
        assert [b.get_height() for b in bars] == pytest.approx([_pct(v) for v in values])
        assert {to_hex(b.get_facecolor()) for b in bars} == {colors[name].lower()}
        xs = [b.get_x() + b.get_width() / 2 for b in bars]
        drawn = _intervals(ax, name)
        expected = [(x, 100 * ci[0], 100 * ci[1]) for x, ci in zip(xs, intervals, strict=True)
                    if ci is not None and None not in ci]  # fmt: skip
        assert _flat(drawn) == pytest.approx(_flat(expected))
        zeros = [c for c in ax.collections if c.get_label() == f"_zero {name}"]
        marked = sorted(round((s[0][0] + s[1][0]) / 2, 6) for c in zeros for s in c.get_segments())
        empty = n_of(r) if n_of else [1] * len(values)
        assert marked == pytest.approx(sorted(x for x, v, n in zip(xs, values, empty, strict=True) if v == 0 and n))


def test_accuracy_plot_draws_the_accuracies_and_their_intervals(saved):
    results, _ = saved
    cells = [(d, c) for d in DIMENSIONS for c in ("original", INTERVENTION_OF[d])]
    fig = plot_accuracy(results)
    _check_grouped(fig.axes[0], results, lambda r: [r["accuracy"][d][c] for d, c in cells],
                   lambda r: [r["ci"]["accuracy"][d][c] for d, c in cells])  # fmt: skip
    _check_grouped(fig.axes[1], results,
                   lambda r: [*(r["pair_accuracy"][d] for d in DIMENSIONS), r["avg_pair_accuracy"]],
                   lambda r: [*(r["ci"]["pair_accuracy"][d] for d in DIMENSIONS), r["ci"]["avg_pair_accuracy"]])  # fmt: skip
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert "0" in labels  # the prior's intervened accuracies are labelled, not left blank


def test_offset_plots_draw_each_band_with_its_interval(saved):
    results, _ = saved
    for key, plot in (("accuracy_by_offset", plot_accuracy_by_offset), ("accuracy_by_signed_offset", plot_accuracy_by_signed_offset)):
        groups = list(results["prior"][key])
        fig = plot(results)
        ax = fig.axes[0]
        _check_grouped(ax, results, lambda r, k=key, g=groups: [r[k][b]["accuracy"] for b in g],
                       lambda r, k=key, g=groups: [r[k][b]["ci"] for b in g],
                       lambda r, k=key, g=groups: [r[k][b]["n"] for b in g])  # fmt: skip
        empty = [i for i, b in enumerate(groups) if results["prior"][key][b]["n"] == 0]
        assert empty  # the default bands leave some empty here, and each says so
        no_probes = sorted(round(t.get_position()[0]) for t in ax.texts if t.get_text() == "no probes")
        assert no_probes == empty
        ticks = [t.get_text() for t in ax.get_xticklabels()]
        assert all(f"n={results['prior'][key][b]['n']}" in t for t, b in zip(ticks, groups, strict=True))
    signed = [t.get_text() for t in plot_accuracy_by_signed_offset(results).axes[0].get_xticklabels()]
    assert signed[0].startswith("early") and signed[-1].startswith("delayed")


def test_radar_draws_each_rate_interval_and_tabulates_the_values(saved):
    results, _ = saved
    from thud_metrics.stats import RATE_NAMES

    fig = plot_error_radar(results)
    ax = fig.axes[0]
    for name, r in results.items():
        drawn = _intervals(ax, name)
        expected = [(r["ci"]["rates"][k][0], r["ci"]["rates"][k][1]) for k in RATE_NAMES if r["ci"]["rates"][k][0] is not None]
        assert _flat((lo, hi) for _, lo, hi in drawn) == pytest.approx(_flat(expected))
        line = next(line for line in ax.lines if line.get_label() == name)
        assert to_hex(line.get_color()) == model_colors(list(results))[name].lower()
        assert list(line.get_ydata()[:-1]) == pytest.approx([r["rates"][k] or 0.0 for k in RATE_NAMES])
    table = fig.axes[1].tables[0]
    cells = {(row, col): c.get_text().get_text() for (row, col), c in table.get_celld().items()}
    lop = results["lopsided"]["rates"]["mute_hallucination"]
    lo, hi = results["lopsided"]["ci"]["rates"]["mute_hallucination"]
    assert cells[(2, 0)] == f"{lop:.2f} [{lo:.2f}, {hi:.2f}]"
    assert cells[(1, RATE_NAMES.index("wrong_direction"))] == "n/a"  # the prior never gives a direction


def test_localisation_plot_draws_the_stated_offsets(saved):
    results, _ = saved
    fig = plot_offset_localisation(results)
    ax = fig.axes[0]
    points = results["lopsided"]["offset_localisation"]
    n = sum(p["n"] for p in points)
    line = next(line for line in ax.lines if line.get_label() == f"lopsided (n={n})")
    assert list(line.get_ydata()) == pytest.approx([p["median"] for p in points])
    x_nudge = line.get_xdata() - np.array([p["tau"] for p in points])
    assert np.ptp(x_nudge) < 1e-12 and abs(x_nudge[0]) < 0.05  # at the true tau, nudged apart per model
    drawn = _intervals(ax, "lopsided")
    assert _flat((lo, hi) for _, lo, hi in drawn) == pytest.approx(_flat((p["q25"], p["q75"]) for p in points))
    assert any(line.get_label() == "prior (states no offset)" for line in ax.lines)
    diagonal = next(line for line in ax.lines if line.get_label() == "_diagonal")
    assert list(diagonal.get_xdata()) == list(diagonal.get_ydata())


def test_one_colour_per_model_in_every_plot(saved):
    results, _ = saved
    colors = model_colors(list(results))
    fig = plot_decomposition(results)
    for ax in fig.axes:
        assert [to_hex(t.get_color()) for t in ax.get_yticklabels()] == [colors[n].lower() for n in results]
    swapped = dict(reversed(list(results.items())))  # the order decides the colour, in every plot
    assert to_hex(_bars(plot_accuracy(swapped).axes[0], "lopsided")[0].get_facecolor()) == model_colors(["lopsided"])["lopsided"].lower()


def test_plot_all_writes_every_plot_from_the_pipeline_and_the_basic_ones_otherwise(saved, tmp_path):
    _, paths = saved
    assert [p.name for p in paths["plots"]] == list(PLOT_FILES)
    for path in paths["plots"]:
        assert path.read_bytes()[:8] == PNG and path.stat().st_size > 10_000
    # only the existence dimension, plain score_probes numbers: shift and swap panels, most
    # rates and every band are empty; the plots that need the pipeline's extras are left out
    partial = score_probes(["synced", "B"], ["synced", "silent"], ["original", "mute"], ["existence"] * 2,
                           ["p", "p"], n_resamples=0)  # fmt: skip
    written = plot_all({"partial": partial, "again": partial}, tmp_path / "plots")
    assert [p.name for p in written] == [n for n in PLOT_FILES if n not in ("accuracy_by_signed_offset.png", "offset_localisation.png")]
    with pytest.raises(ValueError, match="lack accuracy_by_signed_offset"):
        plot_accuracy_by_signed_offset({"partial": partial})
    with pytest.raises(ValueError, match="no results to plot"):
        plot_all({}, tmp_path / "none")


def test_decomposition_bars_are_the_decomposition():
    r = score_probes(["synced", "silent", "synced", "early"], ["synced", "silent", "synced", "delayed"],
                     ["original", "mute", "original", "shift"], ["existence", "existence", "sync", "sync"],
                     ["e", "e", "s", "s"], n_resamples=0)  # fmt: skip
    fig = plot_decomposition({"m": r})
    shift_panel = fig.axes[1]  # original, shift, mute, swap
    wrong = next(c for c in shift_panel.containers if c.get_label() == "Wrong direction")
    correct = next(c for c in shift_panel.containers if c.get_label() == "Correct")
    assert [p.get_width() for p in wrong.patches] == [100.0]
    assert [p.get_width() for p in correct.patches] == [0.0]
