"""Topology: construction from layers and from families."""

import hashlib

import numpy as np
import pytest

from topokit import LayerGraph, TopokitError, Topology


def test_sizes_edges_and_density():
    top = Topology([LayerGraph(np.ones((4, 3))), LayerGraph(np.eye(3))])
    assert top.sizes == [4, 3, 3]
    assert top.n_edges == 15
    assert top.density == pytest.approx(15 / 21)
    assert len(top) == 2
    assert top[1] == LayerGraph(np.eye(3))


def test_mismatched_consecutive_sizes_are_rejected():
    with pytest.raises(TopokitError, match="layer 0 has n_out=3 but layer 1 has n_in=2"):
        Topology([LayerGraph(np.ones((4, 3))), LayerGraph(np.ones((2, 2)))])


def test_empty_topology_is_rejected():
    with pytest.raises(TopokitError, match="at least one layer"):
        Topology([])


def test_build_dense():
    top = Topology.build([5, 4, 2], "dense")
    assert [layer.n_edges for layer in top] == [20, 8]
    assert all(layer.family == "dense" for layer in top)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"sizes": [5], "family": "dense"}, "at least two", id="one-size"),
        pytest.param({"sizes": [5, 0], "family": "dense"}, r"sizes\[1\] must be >= 1", id="zero"),
        pytest.param({"sizes": [5, 4, 2], "family": ["dense"]}, "one per layer", id="families"),
        pytest.param({"sizes": [5, 4], "family": "nope"}, "unknown family 'nope'", id="family"),
        pytest.param(
            {"sizes": [5, 4], "family": "dense", "density": 0.5}, "layer 0", id="layer-named"
        ),
    ],
)
def test_build_errors(kwargs, match):
    with pytest.raises(TopokitError, match=match):
        Topology.build(**kwargs)


def test_build_gives_each_layer_only_the_parameters_its_family_takes():
    top = Topology.build(
        [30, 20, 10, 3],
        ["small_world", "small_world", "dense"],
        density=[0.2, 0.2, None],
        p=0.0,
        rng=0,
    )
    assert [layer.params for layer in top] == [{"p": 0.0}, {"p": 0.0}, {}]
    lattice = Topology.build([30, 20], "small_world", density=0.2, p=0.0)
    assert top[0] == lattice[0]  # p=0 is the deterministic lattice


def test_build_rejects_a_parameter_no_family_takes():
    with pytest.raises(
        TopokitError,
        match=r"unknown parameter 'q' for family 'erdos_renyi'; no layer's family takes it",
    ):
        Topology.build([5, 4, 2], ["erdos_renyi", "dense"], density=[0.5, None], q=3)


# ------------------------------------------------- dense output, default density
def _edge_fingerprint(top) -> str:
    digest = hashlib.sha256()
    for layer in top:
        digest.update(np.asarray(layer.biadjacency.indptr, np.int64).tobytes())
        digest.update(np.asarray(layer.biadjacency.indices, np.int64).tobytes())
    return digest.hexdigest()[:16]


# Edge sets recorded from the builder that SparseMLPClassifier and `topokit train` used
# before it became part of Topology.build: same inputs and seed, same edges.
@pytest.mark.parametrize(
    ("args", "kwargs", "fingerprint"),
    [
        pytest.param(
            ([64, 32, 10], "erdos_renyi"),
            {"dense_output": True, "default_density": 0.1, "rng": 0},
            "23f9ee7a6e657e7f",
            id="dense-output-default-density",
        ),
        pytest.param(
            ([64, 32, 16, 10], ["small_world", "erdos_renyi"]),
            {"density": [0.2, 0.3], "dense_output": True, "p": 0.2, "rng": 2},
            "1b6dc9031138b40b",
            id="families-per-sparse-layer",
        ),
        pytest.param(
            ([64, 32, 16, 10], "left_regular"),
            {"degree": [3, 4, 2], "default_density": 0.1, "rng": 3},
            "8d1fabae96e1029d",
            id="degrees-no-dense-output",
        ),
    ],
)
def test_build_keeps_recorded_edge_sets(args, kwargs, fingerprint):
    assert _edge_fingerprint(Topology.build(*args, **kwargs)) == fingerprint


def test_build_dense_output_is_the_complete_last_layer():
    top = Topology.build([12, 8, 6, 3], "erdos_renyi", density=0.5, dense_output=True, rng=0)
    assert [layer.family for layer in top] == ["erdos_renyi", "erdos_renyi", "dense"]
    assert [layer.n_edges for layer in top] == [48, 24, 18]
    np.testing.assert_array_equal(top[-1].biadjacency.toarray(), np.ones((6, 3)))
    # the sparse layers are those of a build without the output layer, same seed
    assert top.layers[:2] == Topology.build([12, 8, 6], "erdos_renyi", density=0.5, rng=0).layers


def test_build_dense_output_alone():
    top = Topology.build([5, 3], "erdos_renyi", dense_output=True)
    assert [layer.family for layer in top] == ["dense"]


def test_build_default_density_only_where_no_edge_count_is_given():
    top = Topology.build(
        [40, 20, 10, 5],
        ["erdos_renyi", "erdos_renyi", "dense"],
        density=[None, 0.5, None],
        default_density=0.25,
        rng=0,
    )
    assert [layer.n_edges for layer in top] == [round(0.25 * 40 * 20), 100, 50]
    by_degree = Topology.build([40, 20], "left_regular", degree=3, default_density=0.25, rng=0)
    assert by_degree.n_edges == 3 * 20


def test_build_without_default_density_needs_an_edge_count():
    with pytest.raises(TopokitError, match="layer 0"):
        Topology.build([40, 20], "erdos_renyi")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param(
            {"density": [0.5, 0.5], "dense_output": True},
            r"one per sparse layer \(1: dense_output=True makes the output layer dense\)",
            id="dense-output",
        ),
        pytest.param({"density": [0.5, 0.5, 0.5]}, r"one per layer \(2\)", id="sparse-output"),
    ],
)
def test_build_per_layer_lengths_count_the_sparse_layers(kwargs, match):
    with pytest.raises(TopokitError, match=match):
        Topology.build([10, 6, 3], "erdos_renyi", **kwargs)
