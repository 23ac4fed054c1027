"""LayerGraph: validation, sizes, degrees, and conversions to networkx / igraph / scipy."""

import igraph
import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from topokit import LayerGraph, TopokitError


def _random_pattern(n_in, n_out, density, seed):
    rng = np.random.default_rng(seed)
    return (rng.random((n_in, n_out)) < density).astype(int)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda a: a, id="ndarray"),
        pytest.param(lambda a: a.tolist(), id="list"),
        pytest.param(sp.csr_array, id="csr_array"),
        pytest.param(sp.csc_matrix, id="csc_matrix"),
        pytest.param(sp.coo_array, id="coo_array"),
        pytest.param(lambda a: a.astype(bool), id="bool"),
    ],
)
def test_accepts_binary_inputs_of_every_kind(make):
    pattern = _random_pattern(7, 5, 0.4, seed=1)
    graph = LayerGraph(make(pattern))
    assert graph.shape == (7, 5)
    np.testing.assert_array_equal(graph.biadjacency.toarray(), pattern)
    assert graph.biadjacency.has_canonical_format
    assert graph.biadjacency.dtype == np.float64


def test_degrees_and_density_match_dense_sums():
    pattern = _random_pattern(30, 17, 0.3, seed=2)
    graph = LayerGraph(pattern)
    np.testing.assert_array_equal(graph.fan_in, pattern.sum(axis=0))
    np.testing.assert_array_equal(graph.fan_out, pattern.sum(axis=1))
    assert graph.n_edges == pattern.sum()
    assert graph.density == pytest.approx(pattern.mean(), rel=1e-12)


def test_edges_round_trip_through_from_edges():
    graph = LayerGraph(_random_pattern(12, 9, 0.5, seed=3))
    rows, cols = graph.edges()
    assert LayerGraph.from_edges(rows, cols, 12, 9) == graph


@pytest.mark.parametrize(
    ("matrix", "match"),
    [
        pytest.param(np.array([[1, 2]]), "binary", id="entry-2"),
        pytest.param(np.ones(3), "2-D", id="1-D"),
        pytest.param(np.ones((0, 3)), "at least one row", id="empty"),
        pytest.param(np.array([["a"]], dtype=object), "numeric", id="object"),
    ],
)
def test_rejects_bad_matrices(matrix, match):
    with pytest.raises(TopokitError, match=match):
        LayerGraph(matrix)


def test_duplicate_coo_entries_are_rejected_not_merged():
    coo = sp.coo_array((np.ones(2), ([0, 0], [1, 1])), shape=(2, 2))
    with pytest.raises(TopokitError, match="no duplicate edges"):
        LayerGraph(coo)


def test_from_edges_rejects_out_of_range_endpoints():
    with pytest.raises(TopokitError, match=r"outputs must lie in \[0, 2\)"):
        LayerGraph.from_edges([0], [2], 1, 2)


def test_networkx_round_trip_and_agreement():
    graph = LayerGraph(_random_pattern(8, 6, 0.4, seed=4))
    G = graph.to_networkx()
    assert nx.is_bipartite(G)
    expected = nx.bipartite.biadjacency_matrix(G, row_order=range(8), column_order=range(8, 14))
    np.testing.assert_array_equal(expected.toarray(), graph.biadjacency.toarray())
    assert LayerGraph.from_networkx(G) == graph


def test_from_networkx_with_named_nodes_and_explicit_inputs():
    G = nx.Graph([("x1", "h1"), ("x2", "h1"), ("x2", "h2")])
    graph = LayerGraph.from_networkx(G, inputs=["x1", "x2"])
    np.testing.assert_array_equal(graph.biadjacency.toarray(), [[1, 0], [1, 1]])


def test_from_networkx_rejects_edges_within_a_side():
    G = nx.Graph([(0, 1), (0, 2)])
    with pytest.raises(TopokitError, match=r"edge \(0, 1\) joins two nodes of the same side"):
        LayerGraph.from_networkx(G, inputs=[0, 1])


def test_from_networkx_needs_sides():
    with pytest.raises(TopokitError, match="bipartite"):
        LayerGraph.from_networkx(nx.path_graph(3))


def test_igraph_round_trip_and_agreement():
    graph = LayerGraph(_random_pattern(9, 4, 0.5, seed=5))
    g = graph.to_igraph()
    assert g.is_bipartite()
    assert g.ecount() == graph.n_edges
    # igraph's own degree computation agrees with the biadjacency sums
    np.testing.assert_array_equal(g.degree()[:9], graph.fan_out)
    np.testing.assert_array_equal(g.degree()[9:], graph.fan_in)
    assert LayerGraph.from_igraph(g) == graph


def test_from_igraph_rejects_a_non_bipartite_typing():
    g = igraph.Graph(n=3, edges=[(0, 1)])
    g.vs["type"] = [False, False, True]
    with pytest.raises(TopokitError, match="not bipartite"):
        LayerGraph.from_igraph(g)


def test_to_scipy_is_a_copy():
    graph = LayerGraph(np.eye(3))
    copy = graph.to_scipy()
    copy.data[:] = 5
    assert np.all(graph.biadjacency.data == 1)


def test_repr_names_sizes_and_family():
    graph = LayerGraph(np.ones((2, 2)), family="dense")
    assert repr(graph) == "LayerGraph(n_in=2, n_out=2, n_edges=4, family='dense')"
