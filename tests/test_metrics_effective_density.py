"""net_effective_density: the fraction of edges on some input-to-output path."""

import itertools

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from topokit import Topology
from topokit.graph import LayerGraph
from topokit.metrics import network_metrics


def _topology(matrices):
    return Topology([LayerGraph(matrix) for matrix in matrices])


def _random_matrices(sizes, density, seed):
    rng = np.random.default_rng(seed)
    return [(rng.random((a, b)) < density).astype(float) for a, b in itertools.pairwise(sizes)]


def _digraph(matrices):
    """The layered network as a networkx DiGraph on nodes (layer, neuron)."""
    graph = nx.DiGraph()
    sizes = [matrices[0].shape[0]] + [m.shape[1] for m in matrices]
    for k, n in enumerate(sizes):
        graph.add_nodes_from((k, i) for i in range(n))
    for k, matrix in enumerate(matrices):
        for u, v in zip(*np.nonzero(matrix), strict=True):
            graph.add_edge((k, int(u)), (k + 1, int(v)))
    return graph, sizes


def _on_paths_by_enumeration(matrices) -> int:
    """Edges on some input-to-output path, every such path written out (small networks)."""
    graph, sizes = _digraph(matrices)
    on_path = set()
    for source in ((0, i) for i in range(sizes[0])):
        for target in ((len(matrices), j) for j in range(sizes[-1])):
            for path in nx.all_simple_paths(graph, source, target):
                on_path.update(itertools.pairwise(path))
    return len(on_path)


def _on_paths_by_reachability(matrices) -> int:
    """Edges (u, v) with u reachable from an input and v reaching an output (networkx)."""
    graph, sizes = _digraph(matrices)
    last = len(matrices)
    inputs = {(0, i) for i in range(sizes[0])}
    outputs = {(last, j) for j in range(sizes[-1])}
    reached = set(inputs).union(*(nx.descendants(graph, node) for node in inputs))
    reaching = set(outputs).union(*(nx.ancestors(graph, node) for node in outputs))
    return sum(1 for u, v in graph.edges if u in reached and v in reaching)


@st.composite
def _small_network(draw):
    n_layers = draw(st.integers(1, 4))
    sizes = [draw(st.integers(1, 6)) for _ in range(n_layers + 1)]
    density = draw(st.sampled_from([0.15, 0.3, 0.6, 1.0]))
    return _random_matrices(sizes, density, draw(st.integers(0, 2**16)))


@settings(max_examples=60, deadline=None)
@given(_small_network())
def test_against_path_enumeration_and_networkx(matrices):
    n_edges = int(sum(m.sum() for m in matrices))
    got = network_metrics(_topology(matrices), keys=["net_effective_density"])
    expected = _on_paths_by_enumeration(matrices) / n_edges if n_edges else 0.0
    assert got["net_effective_density"] == pytest.approx(expected, rel=1e-15)
    if n_edges:
        assert _on_paths_by_reachability(matrices) == _on_paths_by_enumeration(matrices)


def test_by_hand():
    first = np.array([[1, 0, 0], [0, 0, 0], [0, 1, 1]])  # input 1 has no edge
    second = np.array([[1, 0], [0, 0], [0, 0]])  # hidden 1 and 2 lead nowhere
    # 4 edges: 0 -> h0 -> o0 lie on a path; 2 -> h1 and 2 -> h2 end at dead hidden neurons
    result = network_metrics(_topology([first, second]), keys=["net_effective_density"])
    assert result == {"net_effective_density": 2 / 4}


def test_edges_cut_from_the_input_do_nothing():
    # hidden 1 has no input, so its edge to the output lies on no path
    first = np.array([[1, 0], [1, 0]])
    second = np.array([[1], [1]])
    result = network_metrics(_topology([first, second]), keys=["net_effective_density"])
    assert result["net_effective_density"] == 3 / 4


@pytest.mark.parametrize(
    "matrices",
    [
        pytest.param([np.eye(4)], id="one-layer"),
        pytest.param([np.ones((3, 5)), np.ones((5, 2))], id="complete"),
        pytest.param([np.eye(3), np.eye(3), np.eye(3)], id="chains"),
    ],
)
def test_every_edge_counts(matrices):
    assert network_metrics(_topology(matrices), keys=["net_effective_density"]) == {
        "net_effective_density": 1.0
    }


def test_a_network_without_edges_is_zero():
    top = _topology([np.zeros((3, 2)), np.ones((2, 2))])
    assert network_metrics(top, keys=["net_effective_density"])["net_effective_density"] == 0.0
    empty = _topology([np.zeros((3, 2))])
    assert network_metrics(empty, keys=["net_effective_density"])["net_effective_density"] == 0.0


def test_large_sparse_network_costs_edges_not_positions():
    # a 100k-neuron network would be 10^10 positions dense; the sweep touches each edge twice
    top = Topology.build([2000, 100_000, 2000], "erdos_renyi", density=2e-5, rng=0)
    value = network_metrics(top, keys=["net_effective_density"])["net_effective_density"]
    assert 0.0 < value < 1.0
