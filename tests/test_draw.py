"""draw_layer: the figure's data against dense oracles, the files it writes, and its memory."""

import itertools
import math
import tracemalloc

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.image import imread

from topokit._errors import TopokitError
from topokit.draw import _binned_pattern, _singular_values, check_figure_path, draw_layer
from topokit.generators import layer_graph
from topokit.graph import LayerGraph


def random_layer(n_in, n_out, p, seed):
    return LayerGraph(np.random.default_rng(seed).random((n_in, n_out)) < p)


def panel(figure, letter):
    return next(ax for ax in figure.axes if ax.get_title(loc="left").startswith(f"({letter})"))


# ----------------------------------------------------------- (a) the pattern
def test_binned_pattern_is_the_biadjacency_when_small():
    graph = random_layer(37, 23, 0.3, seed=0)
    fraction, counts = _binned_pattern(graph, max_cells=50)
    np.testing.assert_array_equal(counts, graph.biadjacency.toarray())
    np.testing.assert_array_equal(fraction, graph.biadjacency.toarray())


def _boundaries(n, cells):
    """Cell b holds neurons ceil(b·n/cells) .. ceil((b+1)·n/cells) - 1."""
    return [math.ceil(b * n / cells) for b in range(cells + 1)]


@pytest.mark.parametrize(
    ("n_in", "n_out", "cells"),
    [(37, 23, 10), (100, 7, 6), (5, 64, 4), (500, 1001, 500)],
    ids=["37x23", "100x7", "5x64", "500x1001"],
)
def test_binned_pattern_sums_blocks_of_the_dense_matrix(n_in, n_out, cells):
    graph = random_layer(n_in, n_out, 0.1, seed=1)
    fraction, counts = _binned_pattern(graph, max_cells=cells)
    dense = graph.biadjacency.toarray()
    rows, columns = _boundaries(n_in, min(n_in, cells)), _boundaries(n_out, min(n_out, cells))
    expected = np.array(
        [
            [dense[r0:r1, c0:c1].sum() for c0, c1 in itertools.pairwise(columns)]
            for r0, r1 in itertools.pairwise(rows)
        ]
    )
    np.testing.assert_array_equal(counts, expected)
    area = np.outer(np.diff(rows), np.diff(columns))
    assert np.ptp(np.diff(rows)) <= 1  # nearly equal groups
    assert np.ptp(np.diff(columns)) <= 1
    np.testing.assert_allclose(fraction, expected / area, rtol=1e-15)


# ----------------------------------------------------------- (d) the spectrum
@pytest.mark.parametrize(("n_in", "n_out"), [(30, 20), (20, 30), (25, 25)])
def test_all_singular_values_match_numpy(n_in, n_out):
    graph = random_layer(n_in, n_out, 0.3, seed=2)
    values, complete = _singular_values(graph.biadjacency)
    expected = np.linalg.svd(graph.biadjacency.toarray(), compute_uv=False)
    assert complete
    np.testing.assert_allclose(values, expected, rtol=1e-9, atol=1e-6)


def test_top_singular_values_when_the_smaller_side_is_large():
    graph = random_layer(700, 650, 0.02, seed=3)
    values, complete = _singular_values(graph.biadjacency, dense_side=100, top=8)
    expected = np.linalg.svd(graph.biadjacency.toarray(), compute_uv=False)[:8]
    assert not complete
    np.testing.assert_allclose(values, expected, rtol=1e-8)


@pytest.mark.parametrize(
    "graph",
    [
        layer_graph("erdos_renyi", 60, 45, density=0.1, rng=7),
        layer_graph("erdos_renyi", 2500, 2200, degree=4, rng=8),
        layer_graph("array_code", q=5, l=3),
    ],
    ids=["er-small", "er-top-k", "array-code"],
)
def test_figure_agrees_with_layer_metrics(graph):
    from topokit.metrics import layer_metrics

    metrics = layer_metrics(graph, keys=["lambda1", "lambda2", "ramanujan_bound"])
    axes = panel(draw_layer(graph), "d")
    curve = axes.lines[0].get_ydata()
    assert curve[0] == pytest.approx(metrics["lambda1"], rel=1e-8)
    assert curve[1] == pytest.approx(metrics["lambda2"], rel=1e-8)
    assert axes.lines[-1].get_ydata()[0] == pytest.approx(metrics["ramanujan_bound"], rel=1e-12)


def test_spectrum_panel_shows_the_singular_values_and_the_bound():
    graph = layer_graph("projective_plane", q=3)
    figure = draw_layer(graph)
    axes = panel(figure, "d")
    curve = axes.lines[0].get_ydata()
    # PG(2,3): lambda1 = q+1 = 4, the other 12 singular values sqrt(q) (exact spectrum).
    np.testing.assert_allclose(curve, [4.0] + [math.sqrt(3)] * 12, rtol=1e-10)
    bound_line = axes.lines[-1].get_ydata()
    np.testing.assert_allclose(bound_line, 2 * math.sqrt(3), rtol=1e-12)
    labels = [text.get_text() for text in axes.get_legend().get_texts()]
    assert labels[:2] == ["λ1 = 4", "λ2 = 1.732"]


# ----------------------------------------------------------- the figure
def test_title_names_family_sizes_edges_density():
    graph = layer_graph("erdos_renyi", 300, 200, density=0.05, rng=0)
    title = draw_layer(graph).get_suptitle()
    assert title == "erdos_renyi: 300 inputs → 200 outputs, 3,000 edges, density 0.05"


def test_histograms_count_every_neuron():
    graph = random_layer(40, 30, 0.2, seed=4)
    figure = draw_layer(graph)
    fan_in = sum(patch.get_height() for patch in panel(figure, "b").patches)
    fan_out = sum(patch.get_height() for patch in panel(figure, "c").patches)
    assert (fan_in, fan_out) == (30, 40)


def test_every_panel_has_axis_labels():
    figure = draw_layer(random_layer(10, 8, 0.5, seed=5))
    for letter in "abcd":
        axes = panel(figure, letter)
        assert axes.get_xlabel(), letter
        assert axes.get_ylabel(), letter


@pytest.mark.parametrize(
    ("suffix", "magic"),
    [(".png", b"\x89PNG"), (".svg", b"<?xml"), (".pdf", b"%PDF")],
    ids=["png", "svg", "pdf"],
)
def test_format_follows_the_suffix(tmp_path, suffix, magic):
    path = tmp_path / f"layer{suffix}"
    figure = draw_layer(random_layer(12, 9, 0.4, seed=6), path)
    assert isinstance(figure, Figure)
    assert path.read_bytes().startswith(magic)


def test_small_png_is_a_sensible_image(tmp_path):
    path = tmp_path / "small.png"
    draw_layer(layer_graph("erdos_renyi", 300, 200, density=0.05, rng=0), path)
    image = imread(path)
    assert image.shape[0] > 600
    assert image.shape[1] > 900
    assert image.shape[2] in (3, 4)
    assert image.std() > 0.05  # not blank


def test_graph_without_edges_draws(tmp_path):
    graph = LayerGraph.from_edges([], [], 5, 4)
    draw_layer(graph, tmp_path / "empty.png")
    assert imread(tmp_path / "empty.png").shape[0] > 600


@pytest.mark.parametrize(
    ("graph", "path", "match"),
    [
        (np.eye(3), None, "graph must be a LayerGraph, got ndarray"),
        (LayerGraph(np.eye(3)), "layer.txt", r"figure path must end in .png, .svg, .pdf"),
        (LayerGraph(np.eye(3)), "layer", r"got 'layer'"),
    ],
    ids=["not-a-graph", "txt-suffix", "no-suffix"],
)
def test_bad_input(graph, path, match):
    with pytest.raises(TopokitError, match=match):
        draw_layer(graph, path)


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf", ".jpg", ".jpeg", ".eps", ".PNG"])
def test_check_figure_path_accepts_the_formats(tmp_path, suffix):
    assert check_figure_path(tmp_path / f"layer{suffix}") is None


@pytest.mark.parametrize(
    ("path", "match"),
    [
        ("layer.txt", r"must end in \.png, \.svg, \.pdf, \.jpg, \.jpeg, \.eps, got 'layer\.txt'"),
        ("layer", r"got 'layer'"),
        ("png", r"got 'png'"),
    ],
    ids=["txt-suffix", "no-suffix", "suffix-only-name"],
)  # fmt: skip
def test_check_figure_path_rejects_other_suffixes(path, match):
    with pytest.raises(TopokitError, match=match):
        check_figure_path(path)


# ----------------------------------------------------------- a large graph
def test_large_graph_draws_without_a_dense_array(tmp_path):
    """20,000 x 20,000 with 200,000 edges: a dense biadjacency would be 3.2 GB (0.4 GB as bool)."""
    graph = layer_graph("erdos_renyi", 20_000, 20_000, degree=10, rng=0)
    assert graph.n_edges == 200_000
    path = tmp_path / "large.png"
    tracemalloc.start()
    try:
        figure = draw_layer(graph, path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 150 * 2**20, f"peak {peak / 2**20:.0f} MiB"
    assert panel(figure, "a").get_title(loc="right") == "binned into 500 × 500 cells"
    assert panel(figure, "d").get_title(loc="right") == "largest 50 of 20,000"
    image = imread(path)
    assert image.shape[0] > 600
    assert image.shape[1] > 900
