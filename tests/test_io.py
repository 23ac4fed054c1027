"""Saving and loading layer graphs and topologies as .npz."""

import numpy as np
import pytest
import scipy.sparse as sp

from topokit import LayerGraph, TopokitError, Topology, load, load_layer, load_topology


@pytest.fixture
def graph():
    rng = np.random.default_rng(0)
    pattern = rng.random((20, 11)) < 0.3
    return LayerGraph(pattern, family="erdos_renyi", params={"p": 0.5}, seed=7)


def test_layer_file_is_readable_by_scipy(graph, tmp_path):
    path = tmp_path / "layer.npz"
    graph.save(path)
    matrix = sp.load_npz(path)
    np.testing.assert_array_equal(matrix.toarray(), graph.biadjacency.toarray())


def test_layer_round_trip_keeps_provenance(graph, tmp_path):
    path = tmp_path / "layer.npz"
    graph.save(path)
    loaded = load_layer(path)
    assert loaded == graph
    assert (loaded.family, loaded.params, loaded.seed) == ("erdos_renyi", {"p": 0.5}, 7)


def test_plain_scipy_file_loads(tmp_path):
    path = tmp_path / "plain.npz"
    sp.save_npz(path, sp.csr_matrix(np.eye(4)))
    assert load(path) == LayerGraph(np.eye(4))


def test_topology_round_trip(graph, tmp_path):
    top = Topology([graph, LayerGraph(np.ones((11, 3)))])
    path = tmp_path / "net.npz"
    top.save(path)
    loaded = load(path)
    assert isinstance(loaded, Topology)
    assert loaded == top
    assert loaded[0].params == {"p": 0.5}


def test_single_layer_file_loads_as_topology(graph, tmp_path):
    path = tmp_path / "layer.npz"
    graph.save(path)
    assert load_topology(path).sizes == [20, 11]


@pytest.mark.parametrize(
    ("content", "match"),
    [
        pytest.param(b"not a zip", "cannot read", id="garbage"),
        pytest.param(None, "does not exist", id="missing"),
    ],
)
def test_malformed_files(tmp_path, content, match):
    path = tmp_path / "bad.npz"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(TopokitError, match=match):
        load(path)


def test_npz_without_sparse_keys(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, weights=np.ones(3))
    with pytest.raises(TopokitError, match=r"not a scipy\.sparse \.npz"):
        load_layer(path)


def test_corrupt_csr_arrays(tmp_path):
    path = tmp_path / "corrupt.npz"
    np.savez(
        path,
        topokit_sizes=np.array([2, 2]),
        layer0_indices=np.array([5]),
        layer0_indptr=np.array([0, 1, 1]),
    )
    with pytest.raises(TopokitError, match="not a valid CSR"):
        load_topology(path)


def test_non_binary_file_is_rejected(tmp_path):
    path = tmp_path / "weights.npz"
    sp.save_npz(path, sp.csr_matrix(np.array([[0.5, 0.0]])))
    with pytest.raises(TopokitError, match="binary"):
        load_layer(path)


def test_wrong_suffix(graph, tmp_path):
    with pytest.raises(TopokitError, match=r"must end in \.npz"):
        graph.save(tmp_path / "layer.txt")


def test_npy_file_is_not_an_archive(tmp_path):
    path = tmp_path / "array.npz"
    with open(path, "wb") as handle:
        np.save(handle, np.eye(2))
    with pytest.raises(TopokitError, match=r"not an \.npz archive"):
        load(path)
