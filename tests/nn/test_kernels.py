"""The numba kernels against dense NumPy oracles, on patterns with empty rows and columns."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from topokit.nn import (
    _layer_backward,
    _layer_forward,
    _optimizer_kernels,
    _panel_sums,
    _panels,
    _weight_gradient,
)
from topokit.nn import _reference as reference

DTYPES = [pytest.param(np.float32, id="float32"), pytest.param(np.float64, id="float64")]
RTOL = {np.float32: 1e-5, np.float64: 1e-12}
# (n_in, n_out, density, batch, empty rows, empty columns)
CASES = [
    pytest.param(7, 5, 0.5, 3, (0, 4), (2,), id="small-batch3"),
    pytest.param(30, 20, 0.2, 17, (1, 2, 3), (0, 19), id="batch17-tail"),
    pytest.param(64, 48, 0.1, 128, (), (5, 6, 7), id="batch128"),
    pytest.param(40, 40, 1.0, 8, (), (), id="complete"),
    # ~17 edges per column, ~10 per row: full groups of 8 (forward, backward) and of 4
    # (sddmm) followed by leftover edges
    pytest.param(50, 30, 0.35, 33, (7,), (11,), id="groups-and-leftovers"),
    # batch tiles of 8, 4 and 1 vectors, then single elements (float32: 128 + 64 + 8)
    pytest.param(40, 30, 0.3, 200, (), (2,), id="batch200-every-tile"),
]


def _dense_weights(graph, data):
    W = np.zeros(graph.shape, dtype=data.dtype)
    rows, cols = graph.edges()
    W[rows, cols] = data
    return W


def _setup(make_pattern, n_in, n_out, density, batch, empty_rows, empty_cols, dtype):
    graph = make_pattern(n_in, n_out, density, 1, empty_rows=empty_rows, empty_cols=empty_cols)
    rng = np.random.default_rng(2)
    data = rng.standard_normal(graph.n_edges).astype(dtype)
    xt = rng.standard_normal((n_in, batch)).astype(dtype)
    gt = rng.standard_normal((n_out, batch)).astype(dtype)
    bias = rng.standard_normal(n_out).astype(dtype)
    return graph, data, xt, gt, bias


@pytest.mark.parametrize(
    "n_blocks", [pytest.param(1, id="blocks-1"), pytest.param(3, id="blocks-3")]
)
@pytest.mark.parametrize("variant", ["parallel", "serial"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("n_in", "n_out", "density", "batch", "empty_rows", "empty_cols"), CASES)
def test_sddmm_matches_masked_dense_product(
    make_pattern, n_in, n_out, density, batch, empty_rows, empty_cols, dtype, variant, n_blocks
):
    graph, _, xt, gt, _ = _setup(
        make_pattern, n_in, n_out, density, batch, empty_rows, empty_cols, dtype
    )
    rows, cols = graph.edges()
    expected = (xt.astype(np.float64) @ gt.astype(np.float64).T)[rows, cols]
    out = np.empty(graph.n_edges, dtype=dtype)
    kernel = getattr(_weight_gradient.sddmm, variant)
    csr = graph.biadjacency
    block_ptr = _weight_gradient.column_blocks(csr.indptr, csr.indices, n_out, n_blocks)
    out[:] = np.nan
    kernel(
        block_ptr,
        csr.indices,
        xt,
        gt,
        out.reshape(1, -1),  # one panel
        dtype(0),
        2,
    )
    np.testing.assert_allclose(out, expected, rtol=RTOL[dtype], atol=RTOL[dtype] * batch)


@pytest.mark.parametrize("variant", ["parallel", "serial"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("n_in", "n_out", "density", "batch", "empty_rows", "empty_cols"), CASES)
def test_forward_and_backward_match_dense(
    make_pattern, n_in, n_out, density, batch, empty_rows, empty_cols, dtype, variant
):
    graph, data, xt, gt, bias = _setup(
        make_pattern, n_in, n_out, density, batch, empty_rows, empty_cols, dtype
    )
    csr = graph.biadjacency
    W = _dense_weights(graph, data).astype(np.float64)
    columns = _layer_forward.column_order(csr.indptr, csr.indices, graph.n_out)
    yt = np.full((n_out, batch), np.nan, dtype=dtype)
    getattr(_layer_forward.forward, variant)(columns, data, bias, xt, yt)
    expected_y = W.T @ xt + bias[:, None]
    tol = RTOL[dtype] * 10
    np.testing.assert_allclose(yt, expected_y, rtol=tol, atol=tol)
    gxt = np.full((n_in, batch), np.nan, dtype=dtype)
    getattr(_layer_backward.backward_inputs, variant)(csr.indptr, csr.indices, data, gt, gxt)
    np.testing.assert_allclose(gxt, W @ gt, rtol=tol, atol=tol)


@pytest.mark.parametrize("n_blocks", [1, 2, 4, 9])
def test_column_blocks_split_each_row_at_the_block_edges(make_pattern, n_blocks):
    graph = make_pattern(12, 9, 0.3, 3, empty_rows=(0,), empty_cols=(4,))
    csr = graph.biadjacency
    block_ptr = _weight_gradient.column_blocks(csr.indptr, csr.indices, 9, n_blocks)
    width = -(-9 // n_blocks)
    assert block_ptr.shape == (12, -(-9 // width) + 1)
    assert width * (block_ptr.shape[1] - 1) >= 9 > width * (block_ptr.shape[1] - 2)
    for i in range(12):
        row = csr.indices[csr.indptr[i] : csr.indptr[i + 1]]
        edges = csr.indptr[i] + np.searchsorted(row, np.arange(block_ptr.shape[1]) * width)
        edges[-1] = csr.indptr[i + 1]
        np.testing.assert_array_equal(block_ptr[i], edges)


@pytest.mark.parametrize("dtype", DTYPES)
def test_forward_is_the_same_in_every_batch_tile(make_pattern, dtype):
    # batch 200: tiles of 8, 4 and 1 vectors, then single columns; each output column
    # must be what a batch of that column alone gives (the scalar path)
    graph, data, xt, _, bias = _setup(make_pattern, 60, 70, 0.2, 200, (3,), (5,), dtype)
    csr = graph.biadjacency
    columns = _layer_forward.column_order(csr.indptr, csr.indices, 70)
    yt = np.empty((70, 200), dtype=dtype)
    _layer_forward.forward.parallel(columns, data, bias, xt, yt, True)
    for t in range(200):
        alone = np.empty((70, 1), dtype=dtype)
        column = np.ascontiguousarray(xt[:, t : t + 1])
        _layer_forward.forward.serial(columns, data, bias, column, alone, True)
        np.testing.assert_array_equal(yt[:, t : t + 1], alone, err_msg=f"column {t}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_columns_taken_two_at_a_time_are_each_what_a_column_alone_gives(make_pattern, dtype):
    # forward runs the columns in pairs, here of unequal lengths (one empty, about 140
    # edges in the others), the seventh alone; a layer of one column never pairs, so
    # each pair's sums must be what it gives, bit for bit
    n_in, n_out = 200, 7
    graph, data, xt, _, bias = _setup(make_pattern, n_in, n_out, 0.7, 200, (3,), (4,), dtype)
    csr = graph.biadjacency
    columns = _layer_forward.column_order(csr.indptr, csr.indices, n_out)
    yt = np.full((n_out, 200), np.nan, dtype=dtype)
    _layer_forward.forward.parallel(columns, data, bias, xt, yt, True)
    weight = csr.astype(dtype)
    weight.data[:] = data
    for j in range(n_out):
        column = sp.csr_array(weight[:, [j]])
        column.sort_indices()
        alone = np.full((1, 200), np.nan, dtype=dtype)
        one = _layer_forward.column_order(column.indptr, column.indices, 1)
        _layer_forward.forward.serial(one, column.data, bias[j : j + 1], xt, alone, True)
        np.testing.assert_array_equal(yt[j : j + 1], alone, err_msg=f"output {j}")


# (n_in, n_out): the output groups of 8, 4, 2 and 1 in every combination that occurs
COMPLETE_SHAPES = [
    pytest.param(300, 10, id="300x10-groups-8-2"),
    pytest.param(37, 15, id="37x15-groups-8-4-2-1"),
    pytest.param(64, 32, id="64x32-groups-8x4"),
    pytest.param(20, 1, id="20x1-group-1"),
    pytest.param(5, 7, id="5x7-groups-4-2-1"),
]


@pytest.mark.parametrize("relu", [pytest.param(False, id="plain"), pytest.param(True, id="relu")])
@pytest.mark.parametrize("variant", ["parallel", "serial"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("n_panels", "width"), [(1, 16), (2, 64), (3, 48)])
@pytest.mark.parametrize(("n_in", "n_out"), COMPLETE_SHAPES)
def test_complete_layer_forward_by_output_groups_is_the_forward_by_columns(
    n_in, n_out, n_panels, width, dtype, variant, relu
):
    rng = np.random.default_rng(n_in * n_out)
    data = rng.standard_normal(n_in * n_out).astype(dtype)  # the row-major matrix
    indptr = np.arange(0, n_in * n_out + 1, n_out, dtype=np.int32)
    indices = np.tile(np.arange(n_out, dtype=np.int32), n_in)
    bias = rng.standard_normal(n_out).astype(dtype)
    xt = rng.standard_normal((n_panels * n_in, width)).astype(dtype)
    xt[1, :3] = [np.nan, np.inf, -0.0]
    by_columns = np.full((n_panels * n_out, width), np.nan, dtype=dtype)
    by_groups = np.full_like(by_columns, np.nan)
    columns = _layer_forward.column_order(indptr, indices, n_out)
    getattr(_layer_forward.forward, variant)(columns, data, bias, xt, by_columns, relu)
    getattr(_layer_forward.forward_complete, variant)(data, bias, xt, by_groups, relu)
    np.testing.assert_array_equal(by_groups, by_columns)
    assert np.signbit(by_groups).tolist() == np.signbit(by_columns).tolist()
    dense = data.reshape(n_in, n_out)
    for p in range(n_panels):  # and the reference, panel by panel
        x = xt[p * n_in : (p + 1) * n_in]
        expected = reference.forward(sp.csr_array(dense), bias, x)
        if relu:
            expected = reference.relu(expected)
        got = by_groups[p * n_out : (p + 1) * n_out]
        tol = RTOL[dtype] * 10
        finite = np.isfinite(x).all(axis=0)
        np.testing.assert_allclose(got[:, finite], expected[:, finite], rtol=tol, atol=tol)


def test_column_order_lists_each_column_by_rows(make_pattern):
    graph = make_pattern(30, 20, 0.2, 4, empty_rows=(1,), empty_cols=(0, 19))
    csr = graph.biadjacency
    col_ptr, rows, positions = _layer_forward.column_order(csr.indptr, csr.indices, 20)
    csc = csr.tocsc()
    csc.sort_indices()
    np.testing.assert_array_equal(col_ptr, csc.indptr)
    np.testing.assert_array_equal(rows, csc.indices)
    edge_rows, edge_cols = graph.edges()
    np.testing.assert_array_equal(edge_rows[positions], rows)
    np.testing.assert_array_equal(edge_cols[positions], np.repeat(np.arange(20), np.diff(col_ptr)))


def test_results_do_not_depend_on_thread_count(make_pattern, on_one_and_all_threads):
    graph, data, xt, gt, bias = _setup(make_pattern, 300, 200, 0.3, 64, (), (), np.float32)
    csr = graph.biadjacency
    columns = _layer_forward.column_order(csr.indptr, csr.indices, graph.n_out)
    block_ptr = _weight_gradient.column_blocks(csr.indptr, csr.indices, graph.n_out, 3)

    def run():
        yt = np.empty((200, 64), dtype=np.float32)
        gxt = np.empty((300, 64), dtype=np.float32)
        grad = np.empty(graph.n_edges, dtype=np.float32)
        _layer_forward.forward.parallel(columns, data, bias, xt, yt)
        _layer_backward.backward_inputs.parallel(csr.indptr, csr.indices, data, gt, gxt)
        _weight_gradient.sddmm.parallel(block_ptr, csr.indices, xt, gt, grad[None], np.float32(0))
        return yt, gxt, grad

    one, many = on_one_and_all_threads(run)
    for a, b in zip(one, many, strict=True):
        np.testing.assert_array_equal(a, b)
    serial = (np.empty_like(one[0]), np.empty_like(one[1]), np.empty_like(one[2]))
    _layer_forward.forward.serial(columns, data, bias, xt, serial[0])
    _layer_backward.backward_inputs.serial(csr.indptr, csr.indices, data, gt, serial[1])
    _weight_gradient.sddmm.serial(block_ptr, csr.indices, xt, gt, serial[2][None], np.float32(0))
    for a, b in zip(one, serial, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "nesterov", [pytest.param(False, id="momentum"), pytest.param(True, id="nesterov")]
)
def test_sgd_update_matches_sklearn_formula(nesterov):
    rng = np.random.default_rng(0)
    param, grad, velocity = rng.standard_normal((3, 50))
    expected_v = 0.9 * velocity - 0.1 * grad
    expected_p = param + (0.9 * expected_v - 0.1 * grad if nesterov else expected_v)
    _optimizer_kernels.sgd_update(0, (param,), (grad,), (velocity,), 0.1, 0.9, nesterov)
    np.testing.assert_allclose(velocity, expected_v, rtol=1e-15)
    np.testing.assert_allclose(param, expected_p, rtol=1e-15)


def test_adam_update_matches_formula():
    rng = np.random.default_rng(0)
    param, grad, m, v = rng.standard_normal((4, 50))
    v = np.abs(v)
    expected_m = 0.9 * m + 0.1 * grad
    expected_v = 0.999 * v + 0.001 * grad**2
    expected_p = param - 0.01 * expected_m / (np.sqrt(expected_v) + 1e-8)
    _optimizer_kernels.adam_update(0, (param,), (grad,), (m,), (v,), 0.9, 0.999, 0.01, 1e-8)
    np.testing.assert_allclose(param, expected_p, rtol=1e-14)
    np.testing.assert_allclose(m, expected_m, rtol=1e-14)
    np.testing.assert_allclose(v, expected_v, rtol=1e-14)


_NO_CACHE_SCRIPT = """
import numpy as np
import topokit
from numba.core.caching import FunctionCache
from topokit.nn import _layer_forward

assert topokit.__file__.startswith({root!r}), topokit.__file__
try:  # the condition itself: numba finds nowhere to write a cache for these kernels
    FunctionCache(_layer_forward.forward.parallel.py_func)
except RuntimeError as exc:
    assert "no locator available" in str(exc), exc
else:
    raise AssertionError("a numba cache locator is available: the test reproduces nothing")
yt = np.empty((1, 2))
columns = (np.array([0, 2]), np.array([0, 1]), np.array([0, 1]))  # W = [[1], [2]]
_layer_forward.forward.serial(
    columns, np.array([1.0, 2.0]), np.array([0.5]), np.array([[1.0, 2.0], [3.0, 4.0]]), yt
)
print(yt.tolist())
"""


def test_import_without_a_writable_cache_location(tmp_path):
    # Root ignores file modes, so unwritable places are simulated by paths that lead
    # through a regular file: a copy of the package whose nn/__pycache__ is a file
    # (numba's in-tree cache), and HOME / XDG_CACHE_HOME below a file (its per-user
    # cache). numba then has no cache locator, as on a read-only install without a home.
    root = tmp_path / "site"
    shutil.copytree(
        Path(_layer_forward.__file__).parents[1],
        root / "topokit",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (root / "topokit" / "nn" / "__pycache__").write_text("not a directory")
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory")
    # compiled kernels, even when this test runs under NUMBA_DISABLE_JIT=1
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("NUMBA_CACHE") and k != "NUMBA_DISABLE_JIT"
    }
    env.update(
        PYTHONPATH=str(root),
        PYTHONDONTWRITEBYTECODE="1",
        HOME=str(blocker / "home"),
        XDG_CACHE_HOME=str(blocker / "cache"),
    )
    result = subprocess.run(
        [sys.executable, "-c", _NO_CACHE_SCRIPT.format(root=str(root))],
        env=env,
        cwd=tmp_path,  # not the repository, whose topokit would come first on sys.path
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[[7.5, 10.5]]"


def test_empty_aligned_starts_a_cache_line():
    for shape, dtype in [((3, 5), np.float32), ((7,), np.float64), ((1, 1), np.float32)]:
        a = _panels.empty_aligned(shape, dtype)
        assert a.shape == shape
        assert a.dtype == dtype
        assert a.flags.c_contiguous
        assert a.ctypes.data % 64 == 0
    assert _panels.empty_aligned((0, 4), np.float32).shape == (0, 4)


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_optimizers_update_arrays_of_any_dtype_and_layout_in_one_step(name):
    # a model's arrays go to the kernel in one call per (dtype, layout) group
    from topokit.nn.optimizers import make_optimizer

    rng = np.random.default_rng(1)
    strided = rng.standard_normal(20)[::2]
    params = [rng.standard_normal(5), rng.standard_normal(3).astype(np.float32), strided]
    grads = [np.ones_like(p) for p in params]
    before = [p.copy() for p in params]
    expected = []
    for p, g in zip(params, grads, strict=True):  # each array alone
        alone = p.copy()
        make_optimizer(name).step([alone], [g.copy()], 0.1)
        expected.append(alone)
    make_optimizer(name).step(params, grads, 0.1)
    for p, e, b in zip(params, expected, before, strict=True):
        assert p.dtype == e.dtype
        np.testing.assert_array_equal(p, e)
        assert (p != b).all()  # every array moved


@pytest.mark.parametrize("variant", ["parallel", "serial"])
def test_update_kernels_split_arrays_into_work_items_as_the_formula(variant):
    # arrays longer than a work item, of a whole number of items, empty, and shorter
    rng = np.random.default_rng(4)
    chunk = _optimizer_kernels.CHUNK
    sizes = (2 * chunk + 3, 0, 5, chunk)
    params = [rng.standard_normal(n) for n in sizes]
    grads = [rng.standard_normal(n) for n in sizes]
    velocities = [rng.standard_normal(n) for n in sizes]
    expected = [
        reference.sgd_update(p, g, v, 0.1, 0.9, True)
        for p, g, v in zip(params, grads, velocities, strict=True)
    ]
    sgd = getattr(_optimizer_kernels.sgd_update, variant)
    sgd(tuple(params), tuple(grads), tuple(velocities), 0.1, 0.9, True)
    for p, v, (p_expected, v_expected) in zip(params, velocities, expected, strict=True):
        np.testing.assert_allclose(p, p_expected, rtol=1e-15)
        np.testing.assert_allclose(v, v_expected, rtol=1e-15)
    ms = [rng.standard_normal(n) for n in sizes]
    vs = [np.abs(rng.standard_normal(n)) for n in sizes]
    expected = [(p.copy(), m.copy(), v.copy()) for p, m, v in zip(params, ms, vs, strict=True)]
    adam = getattr(_optimizer_kernels.adam_update, variant)
    adam(tuple(params), tuple(grads), tuple(ms), tuple(vs), 0.9, 0.999, 0.01, 1e-8)
    for (p0, m0, v0), g, p, m, v in zip(expected, grads, params, ms, vs, strict=True):
        m_expected = 0.9 * m0 + 0.1 * g
        v_expected = 0.999 * v0 + 0.001 * g**2
        np.testing.assert_allclose(m, m_expected, rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(v, v_expected, rtol=1e-14, atol=1e-15)
        p_expected = p0 - 0.01 * m_expected / (np.sqrt(v_expected) + 1e-8)
        np.testing.assert_allclose(p, p_expected, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("variant", ["parallel", "serial"])
def test_update_kernels_on_a_tuple_equal_one_call_per_array(variant):
    rng = np.random.default_rng(2)
    sizes = (1000, 10, 517)

    def arrays(scale=1.0):
        return [(scale * rng.standard_normal(n)).astype(np.float32) for n in sizes]

    params, grads, first = arrays(), arrays(), arrays(0.1)
    second = [np.abs(a) for a in arrays(0.1)]
    sgd = getattr(_optimizer_kernels.sgd_update, variant)
    adam = getattr(_optimizer_kernels.adam_update, variant)
    together = [a.copy() for a in params], [a.copy() for a in first]
    sgd(tuple(together[0]), tuple(grads), tuple(together[1]), 0.1, 0.9, True)
    for p, g, v, p_all, v_all in zip(params, grads, first, *together, strict=True):
        p, v = p.copy(), v.copy()
        sgd((p,), (g,), (v,), 0.1, 0.9, True)
        np.testing.assert_array_equal(p_all, p)
        np.testing.assert_array_equal(v_all, v)
    together = [a.copy() for a in params], [a.copy() for a in first], [a.copy() for a in second]
    adam(
        tuple(together[0]),
        tuple(grads),
        tuple(together[1]),
        tuple(together[2]),
        0.9,
        0.999,
        0.01,
        1e-8,
    )
    for p, g, m, v, p_all, m_all, v_all in zip(
        params, grads, first, second, *together, strict=True
    ):
        p, m, v = p.copy(), m.copy(), v.copy()
        adam((p,), (g,), (m,), (v,), 0.9, 0.999, 0.01, 1e-8)
        np.testing.assert_array_equal(p_all, p)
        np.testing.assert_array_equal(m_all, m)
        np.testing.assert_array_equal(v_all, v)
        assert not np.array_equal(p_all, params[sizes.index(p.size)])


# Every layer kernel on the panel layout against the plain NumPy/SciPy reference
# (topokit.nn._reference): several panels, odd widths, ReLU, weight decay, bias sums.
PANEL_CASES = [
    pytest.param(1, 33, id="1-panel-width33"),
    pytest.param(3, 48, id="3-panels-width48"),
    pytest.param(2, 64, id="2-panels-width64"),
]


def _panel_setup(make_pattern, n_panels, width, dtype):
    graph = make_pattern(50, 30, 0.35, 1, empty_rows=(7,), empty_cols=(11,))
    rng = np.random.default_rng(9)
    batch = n_panels * width - 5 if n_panels > 1 else width  # padding in the last panel
    weight = graph.biadjacency.astype(dtype)
    weight.data[:] = rng.standard_normal(graph.n_edges)
    x = np.maximum(rng.standard_normal((50, batch)), 0).astype(dtype)  # ReLU outputs
    g = rng.standard_normal((30, batch)).astype(dtype)
    bias = rng.standard_normal(30).astype(dtype)
    xt = reference.to_panels(x, n_panels, width)
    gt = reference.to_panels(g, n_panels, width)
    return graph, weight, bias, x, g, xt, gt, batch


@pytest.mark.parametrize("relu", [pytest.param(False, id="plain"), pytest.param(True, id="relu")])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("n_panels", "width"), PANEL_CASES)
def test_forward_matches_the_reference(make_pattern, n_panels, width, dtype, relu):
    _, weight, bias, x, _, xt, _, batch = _panel_setup(make_pattern, n_panels, width, dtype)
    columns = _layer_forward.column_order(weight.indptr, weight.indices, 30)
    yt = np.full((n_panels * 30, width), np.nan, dtype=dtype)
    _layer_forward.forward.parallel(columns, weight.data, bias, xt, yt, relu)
    expected = reference.forward(weight, bias, x)
    if relu:
        expected = reference.relu(expected)
    tol = RTOL[dtype] * 10
    np.testing.assert_allclose(reference.from_panels(yt, 30, batch), expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("relu", [pytest.param(False, id="plain"), pytest.param(True, id="relu")])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("n_panels", "width"), PANEL_CASES)
def test_backward_matches_the_reference(make_pattern, n_panels, width, dtype, relu):
    graph, weight, _, x, g, xt, gt, batch = _panel_setup(make_pattern, n_panels, width, dtype)
    decay = dtype(0.25)
    parts = np.full((n_panels, graph.n_edges), np.nan, dtype=dtype)
    gxt = np.full((n_panels * 50, width), np.nan, dtype=dtype)
    sums = np.full((n_panels, 50), np.nan, dtype=dtype)
    grad = np.full(graph.n_edges, np.nan, dtype=dtype)
    sums_total = np.full(50, np.nan, dtype=dtype)
    _layer_backward.backward.parallel(
        *(weight.indptr, weight.indices, weight.data, xt, gt, parts, gxt, relu),
        *(sums, grad, sums_total, decay),
    )
    expected_grad, expected_in = reference.backward(weight, x, g, relu_input=relu, decay=decay)
    tol = RTOL[dtype] * 100
    np.testing.assert_allclose(grad, expected_grad, rtol=tol, atol=tol)
    np.testing.assert_allclose(
        reference.from_panels(gxt, 50, batch), expected_in, rtol=tol, atol=tol
    )
    total_sums = sums_total if n_panels > 1 else sums[0]
    np.testing.assert_allclose(total_sums, reference.row_sums(expected_in), rtol=tol, atol=tol)
    # the weight gradient alone (first layer), and the input gradient alone
    alone = np.full_like(grad, np.nan)
    rows = np.stack([weight.indptr[:-1], weight.indptr[1:]], axis=1)
    _weight_gradient.sddmm.parallel(
        rows, weight.indices, xt, gt, parts, dtype(0), 1, alone, weight.data, decay
    )
    np.testing.assert_allclose(alone, expected_grad, rtol=tol, atol=tol)
    if n_panels == 1:
        gxt_alone = np.full((50, width), np.nan, dtype=dtype)
        relu_out = (xt,) if relu else ()
        _layer_backward.backward_inputs.parallel(
            weight.indptr, weight.indices, weight.data, gt, gxt_alone, *relu_out
        )
        np.testing.assert_allclose(gxt_alone, expected_in, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("n_panels", "width"), PANEL_CASES)
def test_row_sums_match_the_reference(n_panels, width, dtype):
    rng = np.random.default_rng(10)
    batch = n_panels * width - 3
    g = rng.standard_normal((20, batch)).astype(dtype)
    out = np.full(20, np.nan, dtype=dtype)
    _panel_sums.row_sums.parallel(reference.to_panels(g, n_panels, width), out)
    np.testing.assert_allclose(out, reference.row_sums(g), rtol=RTOL[dtype] * 10)


@pytest.mark.parametrize("variant", ["parallel", "serial"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_add_weight_decay_matches_the_reference(dtype, variant):
    rng = np.random.default_rng(11)
    grad, weights = rng.standard_normal((2, 300)).astype(dtype)
    expected = grad.astype(np.float64) + 0.125 * weights.astype(np.float64)
    getattr(_panel_sums.add_weight_decay, variant)(grad, weights, dtype(0.125))
    np.testing.assert_allclose(grad, expected, rtol=RTOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_load_panels_matches_the_reference(dtype):
    rng = np.random.default_rng(12)
    X = rng.standard_normal((100, 9))
    rows = rng.permutation(100)[:70]
    n_panels, width = _panels.panel_shape(70)
    out = np.zeros((n_panels * 9, width), dtype=dtype)
    assert _panels.load_panels.serial(X, rows, out) == 0
    np.testing.assert_array_equal(out, reference.load_panels(X, rows, n_panels, width, dtype))


_SPIN_SCRIPT = "import os, topokit.nn; print(os.environ.get('GOMP_SPINCOUNT'))"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param({}, "10000", id="nothing-set"),
        pytest.param({"GOMP_SPINCOUNT": "300000"}, "300000", id="own-spin-count"),
        pytest.param({"OMP_WAIT_POLICY": "PASSIVE"}, "None", id="own-wait-policy"),
    ],
)
def test_openmp_spin_is_set_at_import_only_when_the_user_set_none(given, expected):
    env = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    result = subprocess.run(
        [sys.executable, "-c", _SPIN_SCRIPT],
        env={**env, **given},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected
