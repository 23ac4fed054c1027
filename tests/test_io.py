"""Saving and loading layer graphs and topologies as .npz."""

import numpy as np
import pytest
import scipy.sparse as sp

from topokit import (
    LayerGraph,
    TopokitError,
    Topology,
    load,
    load_layer,
    load_topology,
    save_layer,
    save_topology,
)


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


WEIGHTED = np.array([[0.5, 0.0, -2.0], [0.0, np.nan, 0.0], [3.0, 0.0, 0.0], [0.0, 0.0, 1e-300]])


@pytest.mark.parametrize("form", ["csr", "csc", "coo", "dia", "bsr"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int8, np.complex128, bool])
def test_any_scipy_file_is_read_by_its_nonzero_pattern(tmp_path, form, dtype):
    values = np.nan_to_num(WEIGHTED, nan=7.0) if dtype in (np.int8, bool) else WEIGHTED
    with np.errstate(invalid="ignore"):
        matrix = values.astype(dtype)
    path = tmp_path / f"{form}.npz"
    sp.save_npz(path, sp.csr_array(matrix).asformat(form))
    expected = matrix != 0  # the dense oracle: NaN is nonzero, so an edge
    np.testing.assert_array_equal(load_layer(path).biadjacency.toarray(), expected)
    np.testing.assert_array_equal(load(path).biadjacency.toarray(), expected)


def test_stored_zeros_and_cancelling_duplicates_are_not_edges(tmp_path):
    path = tmp_path / "coo.npz"
    row, col = np.array([0, 0, 1, 1, 2]), np.array([0, 1, 1, 1, 2])
    data = np.array([0.0, 4.0, 2.5, -2.5, 1.0])  # a stored zero; (1, 1) sums to zero
    sp.save_npz(path, sp.coo_array((data, (row, col)), shape=(3, 3)))
    np.testing.assert_array_equal(
        load_layer(path).biadjacency.toarray(), [[0, 1, 0], [0, 0, 0], [0, 0, 1]]
    )


def test_unknown_sparse_format_is_named(tmp_path):
    path = tmp_path / "lil.npz"
    np.savez(path, format=np.array("lil"), shape=np.array([2, 2]), data=np.ones(1))
    with pytest.raises(TopokitError, match="has the sparse format 'lil'; the formats read are"):
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


def _arrays(path):
    with np.load(path, allow_pickle=False) as arrays:
        return {key: arrays[key] for key in arrays.files}


def test_methods_and_functions_write_the_same_file(graph, tmp_path):
    top = Topology([graph, LayerGraph(np.ones((11, 3)), seed=np.int64(4))])
    graph.save(tmp_path / "method-layer.npz")
    save_layer(graph, tmp_path / "function-layer.npz")
    top.save(tmp_path / "method-net.npz")
    save_topology(top, tmp_path / "function-net.npz")
    for kind in ("layer", "net"):
        by_method = _arrays(tmp_path / f"method-{kind}.npz")
        by_function = _arrays(tmp_path / f"function-{kind}.npz")
        assert list(by_method) == list(by_function)
        for key, value in by_method.items():
            np.testing.assert_array_equal(value, by_function[key])


def test_class_load_methods_read_both_kinds(graph, tmp_path):
    top = Topology([graph, LayerGraph(np.ones((11, 3)))])
    save_layer(graph, tmp_path / "layer.npz")
    save_topology(top, tmp_path / "net.npz")
    assert LayerGraph.load(tmp_path / "layer.npz") == graph
    assert LayerGraph.load(tmp_path / "layer.npz").params == {"p": 0.5}
    assert Topology.load(tmp_path / "net.npz") == top
    assert Topology.load(tmp_path / "layer.npz") == Topology([graph])


def test_layer_reader_refuses_a_topology_file(graph, tmp_path):
    path = tmp_path / "net.npz"
    Topology([graph]).save(path)
    with pytest.raises(TopokitError, match=r"holds a whole topology; use load_topology"):
        LayerGraph.load(path)


def test_topology_file_missing_a_layer(tmp_path):
    path = tmp_path / "short.npz"
    np.savez(
        path,
        topokit_sizes=np.array([2, 2, 2]),
        layer0_indices=np.array([0, 1]),
        layer0_indptr=np.array([0, 1, 2]),
    )
    with pytest.raises(TopokitError, match=r"layer 1 of .* is missing \(file has sizes \[2, 2, 2"):
        Topology.load(path)


def test_numpy_provenance_is_stored_as_plain_json(tmp_path):
    params = {"q": np.int64(5), "radices": (2, 3), "p": np.float32(0.25), "x": np.nan}
    graph = LayerGraph(np.eye(3), family="custom", params=params, seed=np.int64(9))
    path = tmp_path / "layer.npz"
    graph.save(path)
    arrays = _arrays(path)
    assert str(arrays["topokit_params"]) == '{"q": 5, "radices": [2, 3], "p": 0.25, "x": NaN}'
    assert str(arrays["topokit_seed"]) == "9"
    loaded = load_layer(path)
    assert loaded.params["radices"] == [2, 3]
    assert np.isnan(loaded.params["x"])
    assert loaded.seed == 9
