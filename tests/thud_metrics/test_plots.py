"""The plots draw whatever the results hold, including conditions with no probes."""

from __future__ import annotations

from thud_metrics import score_probes
from thud_metrics.plots import PLOT_FILES, plot_all, plot_decomposition


def test_plots_of_partial_results(tmp_path):
    # only the existence dimension: shift and swap panels, most rates and every band are empty
    partial = score_probes(["synced", "B"], ["synced", "silent"], ["original", "mute"], ["existence"] * 2,
                           ["p", "p"], n_resamples=0)  # fmt: skip
    paths = plot_all({"partial": partial, "again": partial}, tmp_path / "plots")
    assert [p.name for p in paths] == list(PLOT_FILES)
    for path in paths:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


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
