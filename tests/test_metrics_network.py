"""Whole-network metrics against a dense oracle of the whole adjacency and networkx paths."""

import itertools
import json

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from topokit import spectrum
from topokit._errors import TopokitError
from topokit.graph import LayerGraph
from topokit.metrics import (
    LAYER_METRICS,
    NETWORK_METRICS,
    _laplacian,
    _paths,
    is_dense_layer,
    layer_metrics,
    network,
    network_metrics,
    sparse_aggregates,
)
from topokit.topology import Topology

RTOL = 1e-8


def topology_from(matrices):
    return Topology([LayerGraph(matrix) for matrix in matrices])


def random_matrices(sizes, density, seed):
    rng = np.random.default_rng(seed)
    return [(rng.random((a, b)) < density).astype(float) for a, b in itertools.pairwise(sizes)]


def dense_adjacency(matrices):
    sizes = [matrices[0].shape[0]] + [m.shape[1] for m in matrices]
    starts = np.concatenate([[0], np.cumsum(sizes)])
    adjacency = np.zeros((starts[-1], starts[-1]))
    for k, matrix in enumerate(matrices):
        block = (slice(starts[k], starts[k + 1]), slice(starts[k + 1], starts[k + 2]))
        adjacency[block] = matrix
        adjacency[block[::-1]] = matrix.T
    return adjacency, starts


def networkx_paths(matrices):
    """(dead inputs, dead outputs, connected pairs) from a directed layered networkx graph."""
    adjacency, starts = dense_adjacency(matrices)
    forward = np.triu(adjacency)
    graph = nx.from_numpy_array(forward, create_using=nx.DiGraph)
    inputs = range(starts[0], starts[1])
    outputs = set(range(starts[-2], starts[-1]))
    reach = {i: nx.descendants(graph, i) & outputs for i in inputs}
    pairs = sum(len(r) for r in reach.values())
    dead_inputs = sum(1 for r in reach.values() if not r)
    reached = set().union(*reach.values())
    return dead_inputs, len(outputs - reached), pairs


@st.composite
def small_topology(draw):
    n_layers = draw(st.integers(1, 4))
    sizes = [draw(st.integers(1, 7)) for _ in range(n_layers + 1)]
    density = draw(st.sampled_from([0.1, 0.3, 0.6, 1.0]))
    seed = draw(st.integers(0, 2**16))
    return random_matrices(sizes, density, seed)


@settings(max_examples=50, deadline=None)
@given(small_topology())
def test_against_dense_oracle_and_networkx(matrices):
    result = network_metrics(topology_from(matrices))
    adjacency, starts = dense_adjacency(matrices)
    eigenvalues = np.sort(np.linalg.eigvalsh(adjacency))[::-1]
    laplacian = np.diag(adjacency.sum(axis=1)) - adjacency
    laplacian_values = np.linalg.eigvalsh(laplacian)
    connected = np.sum(laplacian_values < 1e-9) == 1
    assert result["net_n_nodes"] == starts[-1]
    assert result["net_n_edges"] == sum(m.sum() for m in matrices)
    assert result["net_lambda1"] == pytest.approx(eigenvalues[0], rel=RTOL, abs=1e-12)
    # A 1 x 1 network has spectrum ±σ1 only: net_lambda2 is then 0, as lambda2 of a layer.
    second = 0.0 if starts[-1] == 2 else eigenvalues[1]
    assert result["net_lambda2"] == pytest.approx(second, rel=RTOL, abs=1e-12)
    assert result["net_fiedler_value"] == (
        pytest.approx(laplacian_values[1], rel=RTOL) if connected else 0.0
    )
    dead_inputs, dead_outputs, pairs = networkx_paths(matrices)
    assert result["net_dead_inputs"] == dead_inputs
    assert result["net_dead_outputs"] == dead_outputs
    n_first, n_last = matrices[0].shape[0], matrices[-1].shape[1]
    assert result["net_path_connectivity"] == pytest.approx(pairs / (n_first * n_last), rel=1e-15)


@pytest.mark.parametrize(
    "sizes", [[150, 40, 30, 70], [70, 30, 40, 150], [200, 5, 200], [129, 60, 129]]
)
def test_path_connectivity_multiword_batches(sizes, monkeypatch):
    """Several 64-bit words and several batches, from either end."""
    monkeypatch.setattr(_paths, "_BATCH_BYTES", 8 * 64 * 3)
    matrices = random_matrices(sizes, 0.02, seed=len(sizes) + sizes[0])
    result = network_metrics(topology_from(matrices), ["net_path_connectivity"])
    _, _, pairs = networkx_paths(matrices)
    assert result["net_path_connectivity"] == pairs / (sizes[0] * sizes[-1])


def test_one_layer_matches_layer_metrics():
    matrix = random_matrices([9, 6], 0.4, seed=3)[0]
    result = network_metrics(topology_from([matrix]))
    layer = layer_metrics(LayerGraph(matrix))
    assert result["net_lambda1"] == pytest.approx(layer["lambda1"], rel=RTOL)
    assert result["net_lambda2"] == pytest.approx(layer["lambda2"], rel=RTOL, abs=1e-12)
    assert result["net_fiedler_value"] == pytest.approx(layer["fiedler_value"], rel=RTOL)
    assert result["net_path_connectivity"] == layer["density"]
    assert result["net_density"] == layer["density"]


def test_aggregates_over_layers():
    matrices = random_matrices([8, 6, 7, 5], 0.5, seed=11)
    result = network_metrics(topology_from(matrices))
    per_layer = [layer_metrics(LayerGraph(m)) for m in matrices]
    for key in LAYER_METRICS:
        column = [metrics[key] for metrics in per_layer]
        assert result[f"min_{key}"] == min(column), key
        assert result[f"mean_{key}"] == pytest.approx(np.mean(column), rel=1e-12), key


def test_is_biregular_aggregates():
    cycle = np.eye(4) + np.roll(np.eye(4), 1, axis=1)  # 2-regular on both sides, not complete
    top = topology_from([cycle, np.array([[1, 0], [0, 1], [1, 1], [0, 0]])])
    result = network_metrics(top, ["min_is_biregular", "mean_is_biregular"])
    assert result == {"min_is_biregular": False, "mean_is_biregular": 0.5}


def test_aggregates_leave_dense_layers_out():
    matrices = [*random_matrices([8, 6, 7], 0.5, seed=5), np.ones((7, 3))]
    result = network_metrics(topology_from(matrices))
    sparse = [layer_metrics(LayerGraph(m)) for m in matrices[:2]]
    for key in LAYER_METRICS:
        column = [metrics[key] for metrics in sparse]
        assert result[f"min_{key}"] == min(column), key
        assert result[f"mean_{key}"] == pytest.approx(np.mean(column), rel=1e-12), key


def test_aggregates_of_a_network_without_sparse_layer_are_nan():
    result = network_metrics(topology_from([np.ones((3, 4)), np.ones((4, 2))]))
    for key in LAYER_METRICS:
        assert np.isnan(result[f"min_{key}"]), key
        assert np.isnan(result[f"mean_{key}"]), key
    assert result["net_n_edges"] == 20


def test_is_dense_layer_and_sparse_aggregates_by_hand():
    assert is_dense_layer(3, 4, 12)
    assert not is_dense_layer(3, 4, 11)
    layers = [{"lambda2": 1.0}, {"lambda2": 3.0}, {"lambda2": 9.0}]
    assert sparse_aggregates(layers, [False, False, True]) == {
        "min_lambda2": 1.0,
        "mean_lambda2": 2.0,
    }
    with pytest.raises(TopokitError, match="one flag per layer: 3 layers, 2 flags"):
        sparse_aggregates(layers, [False, True])


def test_dead_neurons_by_hand():
    first = np.array([[1, 0, 0], [0, 0, 0], [0, 1, 0]])  # input 1 has no edge
    second = np.array([[1, 0], [0, 0], [0, 0]])  # hidden 1, 2 lead nowhere; output 1 unreached
    result = network_metrics(topology_from([first, second]))
    assert result["net_dead_inputs"] == 2  # input 1 (no edge) and input 2 (via hidden 1)
    assert result["net_dead_outputs"] == 1
    assert result["net_path_connectivity"] == 1 / 6
    assert result["net_fiedler_value"] == 0.0


def test_keys_contract_and_json():
    result = network_metrics(topology_from(random_matrices([5, 4, 3], 0.6, seed=2)))
    assert tuple(result) == NETWORK_METRICS
    assert NETWORK_METRICS[:11] == (
        "net_n_nodes", "net_n_edges", "net_density", "net_lambda1", "net_lambda2",
        "net_spectral_gap", "net_fiedler_value", "net_dead_inputs", "net_dead_outputs",
        "net_path_connectivity", "net_effective_density",
    )  # fmt: skip
    assert len(NETWORK_METRICS) == 11 + 2 * len(LAYER_METRICS)
    json.dumps(result)


def test_layer_aggregate_builds_no_whole_network(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("no whole-network graph expected")

    monkeypatch.setattr(network, "_layered_biadjacency", forbidden)
    monkeypatch.setattr(network, "reachable_pairs", forbidden)
    result = network_metrics(topology_from([np.ones((3, 3)), np.eye(3)]), ["min_lambda2"])
    assert result["min_lambda2"] == pytest.approx(1.0, rel=1e-12)  # the identity layer's


def test_unknown_key():
    with pytest.raises(TopokitError, match=r"unknown network metric key\(s\) \['net_x'\]"):
        network_metrics(topology_from([np.eye(2)]), ["net_x"])


def test_not_a_topology():
    with pytest.raises(TopokitError, match="topology must be a Topology, got LayerGraph"):
        network_metrics(LayerGraph(np.eye(2)))


@pytest.mark.parametrize("seed", [0, 1])
def test_spectral_network_metrics_through_the_iterative_solvers(seed, monkeypatch):
    """The whole network's lambda1, lambda2 and Fiedler value by Lanczos, against eigvalsh."""
    monkeypatch.setattr(spectrum, "_DENSE_GRAM_LIMIT", 2)
    monkeypatch.setattr(_laplacian, "_DENSE_LAPLACIAN_LIMIT", 4)
    matrices = random_matrices([30, 20, 25, 15], 0.3, seed)
    adjacency, _ = dense_adjacency(matrices)
    laplacian = np.diag(adjacency.sum(axis=1)) - adjacency
    eigenvalues = np.linalg.eigvalsh(adjacency)[::-1]
    keys = ["net_lambda1", "net_lambda2", "net_fiedler_value"]
    result = network_metrics(topology_from(matrices), keys)
    assert result["net_lambda1"] == pytest.approx(eigenvalues[0], rel=RTOL)
    assert result["net_lambda2"] == pytest.approx(eigenvalues[1], rel=RTOL)
    assert result["net_fiedler_value"] == pytest.approx(np.linalg.eigvalsh(laplacian)[1], rel=RTOL)
