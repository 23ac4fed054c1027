"""Figures of the graph along training: the lines drawn are the per-epoch means of the
snapshots (and their bands mean ± sd), the degree lines the share of neurons of degree at
least d, each against a plain NumPy/pandas reference computed here."""

import numpy as np
import pandas as pd
import pytest

from topokit import Topology
from topokit._errors import TopokitError
from topokit.analysis.plots import (
    TRAJECTORY_METRICS,
    degree_distributions_figure,
    metric_trajectories_figure,
    training_method_labels,
    variant_colors,
)

METRICS = list(TRAJECTORY_METRICS)
EPOCHS = [0, 5, 10]


@pytest.fixture
def snapshots():
    """Two designed families, SET from erdos_renyi, two densities, three seeds, three
    epochs, two layers; a dense reference without a density."""
    rng = np.random.default_rng(3)
    rows = []
    methods = [("erdos_renyi", "static"), ("ramanujan", "static"), ("erdos_renyi", "set")]
    for family, rule in methods:
        for density in (0.1, 0.2):
            for seed in range(3):
                for epoch in EPOCHS:
                    row = {
                        "key": f"{family}-{rule}-{density}-{seed}",
                        "family": family,
                        "dynamic": rule,
                        "density": density,
                        "seed": seed,
                        "epoch": epoch,
                    }
                    for layer in (0, 1):
                        for metric in METRICS:
                            row[f"{metric}_layer{layer}"] = rng.normal(10 * density, 1.0)
                    rows.append(row)
    for seed in range(3):
        for epoch in EPOCHS:
            row = {"key": f"dense-{seed}", "family": "dense", "dynamic": np.nan}
            row.update({"density": np.nan, "seed": seed, "epoch": epoch})
            row.update({f"{m}_layer{k}": rng.normal(50.0, 1.0) for k in (0, 1) for m in METRICS})
            rows.append(row)
    return pd.DataFrame(rows)


def _line(axes, label):
    return next(line for line in axes.lines if line.get_label() == label)


def test_method_labels():
    frame = pd.DataFrame(
        {
            "variant": ["small_world(p=0.1)", "erdos_renyi", "erdos_renyi", "lottery"],
            "family": ["small_world", "erdos_renyi", "erdos_renyi", "lottery"],
            "dynamic": ["static", "rigl", np.nan, None],
        },
        index=[4, 5, 6, 7],
    )
    labels = training_method_labels(frame)
    assert labels.tolist() == ["small_world(p=0.1)", "rigl (erdos_renyi)", "erdos_renyi", "lottery"]
    assert labels.index.tolist() == [4, 5, 6, 7]
    assert training_method_labels(frame[["family"]]).tolist() == frame["family"].tolist()


def test_method_labels_need_a_family():
    with pytest.raises(TopokitError, match="frame must have a 'variant' or a 'family' column"):
        training_method_labels(pd.DataFrame({"seed": [0]}))


@pytest.mark.parametrize("layer", [0, 1])
def test_trajectories_are_the_means_over_seeds(snapshots, layer):
    figure = metric_trajectories_figure(snapshots, layer=layer)
    assert len(figure.axes) == len(METRICS) * 2  # a row per metric, a column per density
    sparse = snapshots[snapshots["density"].notna()]
    dense = snapshots[snapshots["density"].isna()]
    for row, metric in enumerate(METRICS):
        column = f"{metric}_layer{layer}"
        for col, density in enumerate((0.1, 0.2)):
            axes = figure.axes[2 * row + col]
            at = sparse[sparse["density"] == density]
            for label, family, rule in [
                ("erdos_renyi", "erdos_renyi", "static"),
                ("ramanujan", "ramanujan", "static"),
                ("set (erdos_renyi)", "erdos_renyi", "set"),
            ]:
                runs = at[(at["family"] == family) & (at["dynamic"] == rule)]
                expected = [runs.loc[runs["epoch"] == e, column].mean() for e in EPOCHS]
                line = _line(axes, label)
                np.testing.assert_array_equal(np.asarray(line.get_xdata(), float), EPOCHS)
                np.testing.assert_allclose(line.get_ydata(), expected, rtol=1e-12)
            # the dense runs have no density: the same line in every column
            expected = [dense.loc[dense["epoch"] == e, column].mean() for e in EPOCHS]
            np.testing.assert_allclose(_line(axes, "dense").get_ydata(), expected, rtol=1e-12)


def test_trajectory_band_is_mean_plus_minus_sd(snapshots):
    figure = metric_trajectories_figure(snapshots, metrics=["spectral_gap"])
    axes = figure.axes[0]  # density 0.1
    runs = snapshots[(snapshots["density"] == 0.1) & (snapshots["dynamic"] == "set")]
    values = runs.groupby("epoch")["spectral_gap_layer0"]
    low, high = values.mean() - values.std(ddof=1), values.mean() + values.std(ddof=1)
    index = [line.get_label() for line in axes.lines].index("set (erdos_renyi)")
    vertices = axes.collections[index].get_paths()[0].vertices
    for epoch in EPOCHS:
        at = vertices[np.isclose(vertices[:, 0], epoch), 1]
        assert at.min() == pytest.approx(low[epoch], rel=1e-12)
        assert at.max() == pytest.approx(high[epoch], rel=1e-12)


def test_trajectory_labels_and_colors(snapshots):
    colors = variant_colors(["set (erdos_renyi)", "erdos_renyi", "ramanujan", "dense"])
    figure = metric_trajectories_figure(snapshots, metrics=["fiedler_value"], colors=colors)
    axes = figure.axes[0]
    assert axes.get_ylabel() == TRAJECTORY_METRICS["fiedler_value"]
    assert axes.get_title() == "density 0.1"
    assert figure.axes[1].get_title() == "density 0.2"
    assert axes.get_xlabel() == "epoch"
    assert _line(axes, "set (erdos_renyi)").get_color() == colors["set (erdos_renyi)"]
    assert _line(axes, "dense").get_color() == "#333333"
    legend = [text.get_text() for text in figure.legends[0].get_texts()]
    assert legend == ["set (erdos_renyi)", "erdos_renyi", "ramanujan", "dense"]


def test_trajectories_grouped_by_a_column(snapshots):
    figure = metric_trajectories_figure(snapshots, metrics=["spectral_gap"], group="family")
    labels = {line.get_label() for line in figure.axes[0].lines}
    assert labels == {"erdos_renyi", "ramanujan", "dense"}
    runs = snapshots[(snapshots["density"] == 0.1) & (snapshots["family"] == "erdos_renyi")]
    expected = runs.groupby("epoch")["spectral_gap_layer0"].mean()  # static and set together
    np.testing.assert_allclose(_line(figure.axes[0], "erdos_renyi").get_ydata(), expected)


def test_trajectories_without_a_level_column(snapshots):
    figure = metric_trajectories_figure(snapshots.drop(columns="density"), metrics=["spectral_gap"])
    assert len(figure.axes) == 1
    expected = snapshots[snapshots["family"] == "ramanujan"].groupby("epoch")["spectral_gap_layer0"]
    np.testing.assert_allclose(_line(figure.axes[0], "ramanujan").get_ydata(), expected.mean())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(
            {"layer": 2},
            r"no column 'spectral_gap_layer2' \(metrics of layer 2: none\)",
            id="layer",
        ),
        pytest.param(
            {"metrics": ["lambda3"]},
            r"no column 'lambda3_layer0' \(metrics of layer 0: fiedler_value",
            id="metric",
        ),
        pytest.param(
            {"group": "rule"}, "group must be a column of the frame, got 'rule'", id="group"
        ),
    ],
)
def test_trajectory_errors(snapshots, change, message):
    with pytest.raises(TopokitError, match=message):
        metric_trajectories_figure(snapshots, **change)


def test_trajectory_errors_on_empty_or_epochless_frames(snapshots):
    with pytest.raises(TopokitError, match="snapshots must hold at least one row"):
        metric_trajectories_figure(snapshots.iloc[:0])
    with pytest.raises(TopokitError, match="snapshots must have an 'epoch' column"):
        metric_trajectories_figure(snapshots.drop(columns="epoch"))


# ------------------------------------------------------------------ degrees


def _ccdf_reference(degrees):
    """Every degree that occurs, then the largest + 1 (share 0)."""
    degrees = np.asarray(degrees)
    values = sorted(set(degrees.tolist()))
    values.append(values[-1] + 1)
    return values, [float(np.mean(degrees >= d)) for d in values]


@pytest.fixture
def topologies():
    start = [Topology.build([20, 30, 5], "erdos_renyi", density=0.2, rng=s) for s in range(3)]
    end = [Topology.build([20, 30, 5], "scale_free", density=0.2, rng=s) for s in range(3)]
    fixed = [Topology.build([20, 30, 5], "biregular", density=0.2, rng=s) for s in range(2)]
    return {"set (erdos_renyi)": (start, end), "biregular": (fixed, fixed)}


@pytest.mark.parametrize("layer", [0, 1])
def test_degree_lines_are_the_pooled_ccdf(topologies, layer):
    figure = degree_distributions_figure(
        topologies, layer=layer, stage_labels=("epoch 0", "epoch 9")
    )
    assert [axes.get_title() for axes in figure.axes] == ["epoch 0", "epoch 9", "", ""]
    for row, side in enumerate(("fan_in", "fan_out")):
        for column in (0, 1):
            axes = figure.axes[2 * row + column]
            for method, stages in topologies.items():
                degrees = np.concatenate([getattr(t[layer], side) for t in stages[column]])
                values, shares = _ccdf_reference(degrees)
                line = _line(axes, method)
                np.testing.assert_array_equal(line.get_xdata(), values)
                np.testing.assert_allclose(line.get_ydata(), shares, rtol=1e-12)


def test_degree_lines_count_isolated_neurons():
    sparse = Topology.build([30, 40, 3], "erdos_renyi", density=0.02, rng=1)
    assert (sparse[0].fan_out == 0).any()  # isolated inputs: a point at d = 0
    figure = degree_distributions_figure({"erdos_renyi": ([sparse], [sparse])})
    line = _line(figure.axes[2], "erdos_renyi")  # fan-out of the inputs at the start
    assert line.get_xdata()[0] == 0
    assert line.get_ydata()[0] == 1.0
    share_isolated = np.mean(sparse[0].fan_out == 0)
    assert line.get_ydata()[1] == pytest.approx(1.0 - share_isolated, rel=1e-12)
    assert line.get_ydata()[-1] == 0.0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param({"topologies": {}}, "topologies must name at least one method", id="empty"),
        pytest.param(
            {"layer": 2},
            r"layer must be in \[0, 2\) for a network of sizes \[20, 30, 5\], got 2",
            id="layer",
        ),
        pytest.param(
            {"topologies": {"x": ([], [])}},
            r"topologies\['x'\] has no topology at the start",
            id="no-start",
        ),
        pytest.param(
            {"topologies": {"x": ([],)}},
            r"topologies\['x'\] must be a pair \(start, end\)",
            id="not-a-pair",
        ),
    ],
)
def test_degree_errors(topologies, arguments, message):
    arguments = {"topologies": topologies, **arguments}
    with pytest.raises(TopokitError, match=message):
        degree_distributions_figure(**arguments)
