"""Topologies from weight matrices and weight files (no torch needed)."""

import itertools
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import topokit
from topokit import LayerGraph, TopokitError, Topology
from topokit.interop.weights import (
    is_weights_npz,
    read_weights,
    save_weights,
    topology_from_weights,
)


def _weights(shape, density, seed):
    """A random weight matrix with about ``density`` nonzero entries (values N(0, 1))."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=shape) * (rng.random(shape) < density)


def _oracle(matrices, layout):
    """The expected Topology, from dense boolean patterns (small matrices only)."""
    dense = [np.asarray(m.toarray() if sp.issparse(m) else m) != 0 for m in matrices]
    return Topology([LayerGraph((d if layout == "in_out" else d.T).astype(float)) for d in dense])


KINDS = {
    "dense": lambda m: m,
    "float32": lambda m: m.astype(np.float32),
    "csr_array": sp.csr_array,
    "csc_array": sp.csc_array,
    "coo_array": sp.coo_array,
    "csr_matrix": sp.csr_matrix,
}


# ----------------------------------------------------------- from matrices
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("layout", ["in_out", "out_in"])
def test_pattern_matches_dense_oracle(kind, layout):
    matrices = [_weights((12, 9), 0.3, 0), _weights((9, 5), 0.5, 1)]
    if layout == "out_in":
        matrices = [m.T.copy() for m in matrices]
    given = [KINDS[kind](m) for m in matrices]
    top = topology_from_weights(given, layout=layout)
    assert top == _oracle(matrices, layout)
    assert top.sizes == [12, 9, 5]


@pytest.mark.parametrize(
    ("shapes", "expected"),
    [
        pytest.param([(8, 6), (6, 4)], [8, 6, 4], id="in_out"),
        pytest.param([(6, 8), (4, 6)], [8, 6, 4], id="out_in"),
        pytest.param([(8, 6), (6, 6), (6, 4)], [8, 6, 6, 4], id="in_out-square-middle"),
    ],
)
def test_auto_layout_follows_the_chain(shapes, expected):
    matrices = [_weights(shape, 0.5, k) for k, shape in enumerate(shapes)]
    assert topology_from_weights(matrices).sizes == expected


@pytest.mark.parametrize(
    "shapes",
    [
        pytest.param([(5, 5), (5, 5)], id="all-square"),
        pytest.param([(7, 3)], id="single-matrix"),
        pytest.param([(3, 4), (4, 3)], id="chains-both-ways"),
    ],
)
def test_auto_layout_refuses_ambiguous_shapes(shapes):
    matrices = [np.ones(shape) for shape in shapes]
    with pytest.raises(TopokitError, match=r"layout='auto' cannot tell .* give layout='in_out'"):
        topology_from_weights(matrices)


def test_auto_layout_refuses_shapes_that_never_chain():
    with pytest.raises(TopokitError, match=r"layout='auto' found no way to chain the shapes"):
        topology_from_weights([np.ones((4, 5)), np.ones((6, 7))])


@pytest.mark.parametrize(
    ("layout", "match"),
    [
        pytest.param("in_out", r"matrix 1 of shape \(6, 4\) takes 6 inputs but matrix 0 of "
                     r"shape \(8, 5\) gives 5 outputs", id="in_out"),
        pytest.param("out_in", r"matrix 1 of shape \(6, 4\) takes 4 inputs but matrix 0 of "
                     r"shape \(8, 5\) gives 8 outputs", id="out_in"),
    ],
)  # fmt: skip
def test_explicit_layout_that_does_not_chain(layout, match):
    with pytest.raises(TopokitError, match=match):
        topology_from_weights([np.ones((8, 5)), np.ones((6, 4))], layout=layout)


def test_mapping_names_the_matrices_in_errors():
    with pytest.raises(TopokitError, match=r"matrix 'fc2' of shape \(6, 4\) takes 6 inputs"):
        topology_from_weights({"fc1": np.ones((8, 5)), "fc2": np.ones((6, 4))}, layout="in_out")


def test_explicit_zeros_in_sparse_input_are_not_edges():
    data = np.array([1.0, 0.0, 2.0, 0.0])
    matrix = sp.csr_array((data, np.array([0, 1, 0, 2]), np.array([0, 2, 4])), shape=(2, 3))
    top = topology_from_weights([matrix], layout="in_out")
    assert top[0].edges()[0].tolist() == [0, 1]
    assert top[0].edges()[1].tolist() == [0, 0]
    assert matrix.nnz == 4  # the input is not modified


def test_duplicates_that_cancel_are_not_edges():
    coo = sp.coo_array(([1.0, -1.0, 3.0], ([0, 0, 1], [1, 1, 0])), shape=(2, 2))
    top = topology_from_weights([coo], layout="in_out")
    assert top[0] == LayerGraph(np.array([[0, 0], [1, 0]]))


def test_nan_counts_as_an_edge():
    matrix = np.array([[np.nan, 0.0], [0.0, 1.0]])
    assert topology_from_weights([matrix], layout="in_out")[0].n_edges == 2


def test_sparse_cost_grows_with_edges_not_size():
    # 10^6 x 2*10^6 would need 16 TB dense: this only works without densifying
    n_rows, n_cols, n_entries = 1_000_000, 2_000_000, 1000
    rng = np.random.default_rng(0)
    matrix = sp.coo_array(
        (rng.normal(size=n_entries), (rng.integers(0, n_rows, n_entries),
                                      rng.integers(0, n_cols, n_entries))),
        shape=(n_rows, n_cols),
    )  # fmt: skip
    start = time.perf_counter()
    top = topology_from_weights([matrix], layout="out_in")
    assert time.perf_counter() - start < 5.0
    assert top.sizes == [n_cols, n_rows]
    assert top.n_edges == sp.csr_array(matrix).nnz


@pytest.mark.parametrize(
    ("matrices", "match"),
    [
        pytest.param([], "need at least one weight matrix", id="empty"),
        pytest.param([np.ones(3)], r"matrix 0 must be a 2-D weight matrix, got shape \(3,\)",
                     id="1-D"),
        pytest.param([np.ones((2, 2, 2))], r"must be a 2-D weight matrix, got shape \(2, 2, 2\)",
                     id="3-D"),
        pytest.param([np.ones((0, 3))], "at least one row and one column", id="no-rows"),
        pytest.param([np.array([["a", "b"]])], "must be a numeric 2-D array", id="strings"),
        pytest.param(np.ones((3, 3)), r"got a single ndarray; wrap it in a list", id="bare-array"),
        pytest.param(sp.eye_array(3), r"wrap it in a list", id="bare-sparse"),
        pytest.param(3, "must be a list of 2-D weight matrices, got int", id="int"),
    ],
)  # fmt: skip
def test_bad_matrices(matrices, match):
    with pytest.raises(TopokitError, match=match):
        topology_from_weights(matrices, layout="in_out")


def test_unknown_layout():
    with pytest.raises(TopokitError, match=r"layout must be one of 'auto', .* got 'rows'"):
        topology_from_weights([np.ones((2, 3))], layout="rows")


# ------------------------------------------------------------------ files
def test_npz_keeps_the_written_order_past_ten_layers(tmp_path):
    # arr_10 sorts before arr_2 as text: the order must be the written one
    sizes = [5 + k for k in range(13)]
    matrices = [_weights((a, b), 0.5, k) for k, (a, b) in enumerate(itertools.pairwise(sizes))]
    path = tmp_path / "w.npz"
    np.savez(path, *matrices)
    top = read_weights(path)
    assert top.sizes == sizes
    assert top == _oracle(matrices, "in_out")


def test_npz_skips_biases_and_prefers_masks(tmp_path):
    rng = np.random.default_rng(0)
    mask = (rng.random((6, 10)) < 0.4).astype(np.float32)  # (out, in): PyTorch style
    arrays = {
        "fc1.weight_orig": rng.normal(size=(6, 10)),  # dense: would be a dense layer
        "fc1.weight_mask": mask,
        "fc1.bias": np.zeros(6),
        "fc2.weight": _weights((3, 6), 0.5, 1),
        "fc2.bias": np.zeros(3),
    }
    path = tmp_path / "state.npz"
    np.savez(path, **arrays)
    top = read_weights(path, layout="out_in")
    assert top == _oracle([mask, arrays["fc2.weight"]], "out_in")


def test_save_weights_round_trip_with_sparse_and_dense(tmp_path):
    fc1 = sp.random_array((300, 200), density=0.05, rng=0, format="coo")
    fc2 = _weights((200, 10), 0.5, 2)
    path = tmp_path / "w.npz"
    save_weights(path, {"fc1": fc1, "fc2": fc2})
    assert read_weights(path, layout="in_out") == _oracle([fc1, fc2], "in_out")
    with np.load(path) as arrays:
        assert arrays.files == [
            "fc1.format", "fc1.shape", "fc1.data", "fc1.indices", "fc1.indptr", "fc2",
        ]  # fmt: skip
        parts = [arrays[f"fc1.{part}"] for part in ("data", "indices", "indptr")]
    restored = sp.csr_array(tuple(parts), shape=(300, 200))
    assert abs(restored - sp.csr_array(fc1)).max() == 0  # the values are kept too


def test_save_weights_sequence_names_like_savez(tmp_path):
    path = tmp_path / "w.npz"
    save_weights(path, [np.ones((3, 2)), np.ones((2, 1))])
    with np.load(path) as arrays:
        assert arrays.files == ["arr_0", "arr_1"]
    assert read_weights(path).sizes == [3, 2, 1]


def test_csc_stored_matrix_is_read(tmp_path):
    matrix = sp.csc_array(_weights((7, 4), 0.4, 3))
    path = tmp_path / "csc.npz"
    np.savez(path, **{"w.format": np.array("csc"), "w.shape": np.array(matrix.shape),
                      "w.data": matrix.data, "w.indices": matrix.indices,
                      "w.indptr": matrix.indptr})  # fmt: skip
    assert read_weights(path, layout="in_out") == _oracle([matrix], "in_out")


@pytest.mark.parametrize("form", ["csr", "csc", "coo", "dia", "bsr"])
def test_named_sparse_matrix_of_any_format_is_read(tmp_path, form):
    fc1 = sp.csr_array(_weights((7, 4), 0.4, 3))
    fc1.data[0] = 0.0  # an explicitly stored zero is not an edge
    stored = fc1.asformat(form)
    index = {"coo": ("row", "col"), "dia": ("offsets",)}.get(form, ("indices", "indptr"))
    parts = {"format": np.array(form), "shape": np.array(stored.shape), "data": stored.data}
    parts |= {name: getattr(stored, name) for name in index}  # as sp.save_npz names them
    path = tmp_path / f"{form}.npz"
    np.savez(path, **{f"fc1.{key}": value for key, value in parts.items()}, fc2=np.ones((4, 2)))
    top = read_weights(path, layout="in_out")
    np.testing.assert_array_equal(top[0].biadjacency.toarray(), fc1.toarray() != 0)
    assert top.sizes == [7, 4, 2]


def test_sparse_entry_without_data_is_all_edges(tmp_path):
    path = tmp_path / "pattern.npz"
    np.savez(path, **{"w.shape": np.array([2, 3]), "w.indices": np.array([2, 0]),
                      "w.indptr": np.array([0, 1, 2])})  # fmt: skip
    assert read_weights(path, layout="in_out")[0] == LayerGraph(np.array([[0, 0, 1], [1, 0, 0]]))


def _write(tmp_path, name, content):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        np.savez(path, **content)
    return path


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        pytest.param("missing.npz", None, "weights file '.*missing.npz' does not exist",
                     id="missing"),
        pytest.param("bad.npz", b"not a zip", "cannot read '.*bad.npz' as an .npz file",
                     id="garbage"),
        pytest.param("w.txt", b"", r"weights files must end in .npz, .pt or .pth", id="suffix"),
        pytest.param("conv.npz", {"conv": np.ones((4, 3, 3, 3))},
                     r"array 'conv' in .* has shape \(4, 3, 3, 3\): only 2-D", id="conv"),
        pytest.param("biases.npz", {"b": np.ones(3)}, "holds no 2-D weight matrices",
                     id="only-biases"),
        pytest.param("graph.npz", {"topokit_sizes": np.array([2, 2])},
                     "is a topokit graph file, not weight matrices", id="topology-file"),
        pytest.param("sparse.npz", {"w.format": np.array("lil"), "w.shape": np.array([2, 2]),
                                    "w.indices": np.array([0]), "w.indptr": np.array([0, 1, 1])},
                     "has the sparse format 'lil'; the formats read are csr, csc, bsr, coo, dia",
                     id="sparse-format"),
        pytest.param("sparse.npz", {"w.format": np.array("coo"), "w.shape": np.array([2, 2]),
                                    "w.indices": np.array([0]), "w.indptr": np.array([0, 1, 1])},
                     r"sparse matrix 'w' in .* \(COO\) lacks the arrays \['w.row', 'w.col'\]",
                     id="sparse-coo-parts"),
        pytest.param("broken.npz", {"w.shape": np.array([2, 2]), "w.indices": np.array([5]),
                                    "w.indptr": np.array([0, 1, 1])},
                     "sparse matrix 'w' in .* is not a valid CSR matrix", id="sparse-broken"),
    ],
)  # fmt: skip
def test_read_weights_errors(tmp_path, name, content, match):
    path = _write(tmp_path, name, content)
    with pytest.raises(TopokitError, match=match):
        read_weights(path, layout="in_out")


def test_scipy_layer_file_is_a_graph_not_weights(tmp_path):
    path = tmp_path / "layer.npz"
    sp.save_npz(path, sp.csr_array(np.eye(3)))
    with pytest.raises(TopokitError, match="is a topokit graph file"):
        read_weights(path)


def test_save_weights_errors(tmp_path):
    with pytest.raises(TopokitError, match=r"end in \.npz, got"):
        save_weights(tmp_path / "w.npy", [np.ones((2, 2))])
    with pytest.raises(TopokitError, match=r"matrix 'a' must be a 2-D weight matrix"):
        save_weights(tmp_path / "w.npz", {"a": np.ones(3)})
    with pytest.raises(TopokitError, match=r"'w.shape' given twice"):
        save_weights(tmp_path / "w.npz", {"w": sp.eye_array(2), "w.shape": np.ones((1, 2))})


# ----------------------------------------------------- PyTorch without torch
@pytest.fixture
def without_torch(monkeypatch):
    """Make ``import torch`` fail, as on a machine without PyTorch."""
    monkeypatch.setitem(sys.modules, "torch", None)


@pytest.mark.usefixtures("without_torch")
@pytest.mark.parametrize("suffix", [".pt", ".pth"])
def test_state_dict_without_torch_says_how_to_install(tmp_path, suffix):
    path = tmp_path / f"model{suffix}"
    path.write_bytes(b"anything")
    with pytest.raises(TopokitError, match=r"needs torch: pip install torch"):
        read_weights(path)


def test_state_dict_layout_is_out_in(tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(b"anything")
    with pytest.raises(TopokitError, match=r"layout must be 'out_in' or 'auto' .* got 'in_out'"):
        read_weights(path, layout="in_out")


def test_missing_state_dict(tmp_path):
    with pytest.raises(TopokitError, match=r"weights file '.*nope\.pt' does not exist"):
        read_weights(tmp_path / "nope.pt")


def test_suite_collects_without_torch():
    """Doctest collection of topokit/interop must not import torch where it is missing."""
    code = (
        "import sys; sys.modules['torch'] = None; import pytest; "
        "sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', '--co', 'topokit/interop']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=Path(topokit.__file__).parents[1],
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "interop/weights.py" in result.stdout
    assert "interop/torch.py" not in result.stdout


def _write_weights(path):
    save_weights(path, [np.ones((4, 3)), sp.random(3, 2, density=0.5, format="csr", rng=0)])


def _write_savez(path):
    np.savez(path, np.ones((4, 3)), np.ones((3, 2)))


def _write_layer(path):
    LayerGraph(np.eye(3)).save(path)


def _write_topology(path):
    Topology.build([4, 3, 2], "dense").save(path)


def _write_scipy(path):
    sp.save_npz(path, sp.csr_array(np.eye(3)))


def _write_text(path):
    path.write_text("not an archive")


def _write_single_array(path):
    with open(path, "wb") as handle:
        np.save(handle, np.ones((2, 2)))


@pytest.mark.parametrize(
    ("write", "expected"),
    [
        (_write_weights, True),
        (_write_savez, True),
        (_write_layer, False),
        (_write_topology, False),
        (_write_scipy, False),
        (_write_text, False),
        (_write_single_array, False),
        (None, False),
    ],
    ids=[
        "save_weights",
        "np.savez",
        "layer",
        "topology",
        "scipy",
        "text",
        "single-array",
        "missing",
    ],
)
def test_is_weights_npz(tmp_path, write, expected):
    path = tmp_path / "file.npz"
    if write is not None:
        write(path)
    assert is_weights_npz(path) is expected
    assert is_weights_npz(str(path)) is expected
