"""Topology: construction from layers and from families."""

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
