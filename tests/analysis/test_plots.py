"""Figures: the numbers drawn (fitted line, band, means) against independent references,
valid PNG/SVG files, and no pyplot state."""

import xml.etree.ElementTree as ElementTree

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from topokit._errors import TopokitError
from topokit.analysis.plots import (
    accuracy_vs_density_figure,
    correlation_heatmap,
    learning_curves_figure,
    save_figure,
    scatter_figure,
    variant_colors,
)
from topokit.analysis.statistics import correlation_table


def _statsmodels_band(x, y, grid, confidence):
    fit = sm.OLS(y, sm.add_constant(x)).fit()
    prediction = fit.get_prediction(sm.add_constant(grid, has_constant="add"))
    band = prediction.conf_int(alpha=1 - confidence)
    return fit, prediction.predicted_mean, band[:, 0], band[:, 1]


@pytest.fixture
def runs():
    rng = np.random.default_rng(7)
    variants = np.repeat(["erdos_renyi", "small_world(p=0.0)", "small_world(p=1.0)"], 12)
    density = np.tile(np.repeat([0.1, 0.2, 0.4], 4), 3)
    gap = rng.uniform(0.5, 4.0, size=variants.size)
    accuracy = 0.8 + 0.1 * density + 0.02 * gap + 0.01 * rng.normal(size=variants.size)
    return pd.DataFrame(
        {
            "variant": variants,
            "density": density,
            "net_density": density,
            "seed": np.tile(np.arange(4), 9),
            "mean_spectral_gap": gap,
            "test_accuracy": accuracy,
        }
    )


def test_variant_colors_stable_and_distinct():
    names = ["erdos_renyi", "dense", "small_world(p=0.0)", "small_world(p=1.0)"]
    colors = variant_colors(names)
    assert colors["dense"] == "#333333"
    assert len(set(colors.values())) == len(names)
    assert variant_colors(names) == colors
    assert list(colors) == names


def _fit_artists(axes):
    line = next(line for line in axes.lines if line.get_label() == "OLS fit, 95% band")
    polygons = [c for c in axes.collections if "PolyCollection" in type(c).__name__]
    return line, polygons[0]


def _band_edges(collection, grid):
    vertices = collection.get_paths()[0].vertices
    low, high = [], []
    for x in grid:
        ys = vertices[np.isclose(vertices[:, 0], x, rtol=1e-12, atol=0), 1]
        low.append(ys.min())
        high.append(ys.max())
    return np.array(low), np.array(high)


def test_scatter_draws_the_ols_line_and_band(runs):
    figure = scatter_figure(
        runs,
        "mean_spectral_gap",
        colors=variant_colors(runs["variant"]),
        x_label="spectral gap (dimensionless)",
        statistics="r = 0.5",
    )
    axes = figure.axes[0]
    line, band = _fit_artists(axes)
    x = runs["mean_spectral_gap"].to_numpy()
    y = 100 * runs["test_accuracy"].to_numpy()
    grid = line.get_xdata()
    _, mean, low, high = _statsmodels_band(x, y, grid, 0.95)
    np.testing.assert_allclose(line.get_ydata(), mean, rtol=1e-10)
    band_low, band_high = _band_edges(band, grid[1:-1])
    np.testing.assert_allclose(band_low, low[1:-1], rtol=1e-10)
    np.testing.assert_allclose(band_high, high[1:-1], rtol=1e-10)
    assert axes.get_xlabel() == "spectral gap (dimensionless)"
    assert axes.get_ylabel() == "test accuracy (%)"
    # one point per run, in one scatter per variant
    offsets = np.vstack([c.get_offsets() for c in axes.collections if len(c.get_offsets()) == 12])
    assert offsets.shape == (36, 2)
    assert figure.legends[0].get_title().get_text() == "r = 0.5"


def test_scatter_log_x_fits_on_log10(runs):
    figure = scatter_figure(
        runs, "density", colors=variant_colors(runs["variant"]), x_label="density", log_x=True
    )
    axes = figure.axes[0]
    line, _ = _fit_artists(axes)
    assert axes.get_xscale() == "log"
    grid = np.log10(line.get_xdata())
    _, mean, _, _ = _statsmodels_band(
        np.log10(runs["density"].to_numpy()), 100 * runs["test_accuracy"].to_numpy(), grid, 0.95
    )
    np.testing.assert_allclose(line.get_ydata(), mean, rtol=1e-10)


def test_scatter_reference_band_is_mean_of_reference(runs):
    reference = pd.DataFrame({"variant": ["dense"] * 3, "test_accuracy": [0.9, 0.92, 0.94]})
    figure = scatter_figure(
        runs,
        "mean_spectral_gap",
        colors=variant_colors([*runs["variant"], "dense"]),
        x_label="gap",
        reference=reference,
    )
    axes = figure.axes[0]
    line = next(line for line in axes.lines if line.get_label().startswith("dense: mean ± sd"))
    np.testing.assert_allclose(line.get_ydata(), 92.0, rtol=1e-12)


def test_heatmap_shows_the_table_values(runs):
    runs = runs.assign(mean_noise=np.random.default_rng(3).normal(size=len(runs)))
    table = correlation_table(runs, ["mean_spectral_gap", "mean_noise"], ["test_accuracy"])
    figure = correlation_heatmap(table)
    axes = figure.axes[0]
    texts = {(t.get_position(), t.get_text()): t for t in axes.texts}
    for i, row in table.iterrows():
        for j, kind in enumerate(("pearson", "partial")):
            text = f"{row[f'{kind}_r']:+.2f}"
            artist = texts[((j, i), text)]
            includes_zero = row[f"{kind}_ci_low"] <= 0 <= row[f"{kind}_ci_high"]
            assert (artist.get_style() == "italic") == includes_zero
    labels = [t.get_text() for t in axes.get_yticklabels()]
    assert labels == ["mean_spectral_gap", "mean_noise"]


def test_learning_curves_plot_the_mean_over_seeds():
    rows = []
    for variant in ("erdos_renyi", "dense"):
        for seed in range(3):
            for epoch in (1, 2, 3):
                rows.append(
                    {
                        "variant": variant,
                        "density": 0.1 if variant != "dense" else np.nan,
                        "seed": seed,
                        "epoch": epoch,
                        "val_accuracy": 0.5 + 0.1 * epoch + 0.01 * seed,
                        "train_accuracy": 0.6 + 0.1 * epoch,
                    }
                )
    curves = pd.DataFrame(rows)
    colors = variant_colors(["erdos_renyi", "dense"])
    figure = learning_curves_figure(curves, colors=colors, level="density", level_label="density")
    top = figure.axes[0]
    line = next(line for line in top.lines if line.get_label() == "erdos_renyi")
    np.testing.assert_allclose(line.get_xdata(), [1, 2, 3])
    np.testing.assert_allclose(line.get_ydata(), [61.0, 71.0, 81.0], rtol=1e-12)
    dense = next(line for line in top.lines if line.get_label() == "dense")
    assert dense.get_linestyle() == "--"
    assert top.get_ylabel() == "validation accuracy (%)"
    assert figure.axes[1].get_ylabel() == "train accuracy (%)"


def test_accuracy_vs_density_plots_means(runs):
    figure = accuracy_vs_density_figure(
        runs, colors=variant_colors(runs["variant"]), level="density", x_label="density"
    )
    axes = figure.axes[0]
    expected = runs[runs["variant"] == "erdos_renyi"].groupby("density")["test_accuracy"].mean()
    bars = next(c for c in axes.containers if c.get_label() == "erdos_renyi")
    line = bars.lines[0]
    np.testing.assert_allclose(line.get_ydata(), 100 * expected.to_numpy(), rtol=1e-12)
    # drawn within 3% of the level (a horizontal dodge keeps the error bars apart)
    np.testing.assert_allclose(np.asarray(line.get_xdata(), float), expected.index, rtol=0.03)
    assert axes.get_xscale() == "log"


def test_save_figure_writes_valid_png_and_svg(tmp_path, runs):
    figure = accuracy_vs_density_figure(
        runs, colors=variant_colors(runs["variant"]), level="density", x_label="density"
    )
    png, svg = save_figure(figure, tmp_path / "figures", "density")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(png)
    assert image.ndim == 3
    assert image.shape[0] > 300
    assert image.shape[1] > 600
    root = ElementTree.parse(svg).getroot()
    assert root.tag.endswith("svg")


def test_save_figure_unwritable(tmp_path, runs):
    blocker = tmp_path / "file"
    blocker.write_text("")
    figure = accuracy_vs_density_figure(
        runs, colors=variant_colors(runs["variant"]), level="density", x_label="density"
    )
    with pytest.raises(TopokitError, match="cannot write the figure 'x'"):
        save_figure(figure, blocker / "sub", "x")


def test_no_pyplot_state(runs):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    scatter_figure(runs, "mean_spectral_gap", colors=variant_colors(runs["variant"]), x_label="g")
    assert plt.get_fignums() == before
