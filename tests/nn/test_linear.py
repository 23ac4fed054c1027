"""SparseLinear: batch-major API against dense NumPy, sparse vs dense path, initialisation."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp

from topokit._errors import TopokitError
from topokit.graph import LayerGraph
from topokit.nn import SparseLinear

PATHS = [pytest.param(None, id="sparse"), pytest.param(0.0, id="dense")]
DTYPES = [pytest.param(np.float32, id="float32"), pytest.param(np.float64, id="float64")]


def _dense(layer):
    return layer.weight.toarray()


@pytest.mark.parametrize(
    "input_grad", [pytest.param(True, id="input-grad"), pytest.param(False, id="weights-only")]
)
@pytest.mark.parametrize(
    ("n_in", "n_out"), [pytest.param(20, 15, id="wide-in"), pytest.param(15, 20, id="wide-out")]
)
@pytest.mark.parametrize("dense_threshold", PATHS)
def test_forward_backward_match_dense_numpy(make_pattern, dense_threshold, n_in, n_out, input_grad):
    graph = make_pattern(n_in, n_out, 0.3, 0, empty_rows=(3,), empty_cols=(7,))
    layer = SparseLinear(graph, dtype=np.float64, dense_threshold=dense_threshold, rng=1)
    rng = np.random.default_rng(5)
    layer.bias[:] = rng.standard_normal(n_out)
    X = rng.standard_normal((9, n_in))
    G = rng.standard_normal((9, n_out))
    W = _dense(layer)
    np.testing.assert_allclose(layer.forward(X), X @ W + layer.bias, rtol=1e-12, atol=1e-12)
    grad_X = layer.backward(G, input_grad=input_grad)
    if input_grad:
        np.testing.assert_allclose(grad_X, G @ W.T, rtol=1e-12, atol=1e-12)
    else:
        assert grad_X is None
    rows, cols = graph.edges()
    np.testing.assert_allclose(layer.weight_grad, (X.T @ G)[rows, cols], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.bias_grad, G.sum(axis=0), rtol=1e-12)


@pytest.mark.parametrize("density", [pytest.param(0.4, id="partial"), pytest.param(1.0, id="full")])
@pytest.mark.parametrize(
    "dtype", [pytest.param(np.float32, id="float32"), pytest.param(np.float64, id="float64")]
)
def test_sparse_and_dense_paths_agree(make_pattern, density, dtype):
    graph = make_pattern(33, 21, density, 4, empty_cols=(0,) if density < 1 else ())
    sparse = SparseLinear(graph, dtype=dtype, dense_threshold=None, rng=3)
    dense = SparseLinear(graph, dtype=dtype, dense_threshold=0.0, rng=3)
    assert not sparse.uses_dense
    assert dense.uses_dense
    np.testing.assert_array_equal(sparse.weight_data, dense.weight_data)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((13, 33)).astype(dtype)
    G = rng.standard_normal((13, 21)).astype(dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(sparse.forward(X), dense.forward(X), rtol=tol, atol=tol)
    np.testing.assert_allclose(sparse.backward(G), dense.backward(G), rtol=tol, atol=tol)
    np.testing.assert_allclose(sparse.weight_grad, dense.weight_grad, rtol=tol, atol=tol)
    np.testing.assert_allclose(sparse.bias_grad, dense.bias_grad, rtol=tol, atol=tol)


def test_weight_shares_data_and_updates_in_place(make_pattern):
    layer = SparseLinear(make_pattern(6, 4, 0.5, 0), rng=0)
    layer.weight_data *= 2
    np.testing.assert_array_equal(layer.weight.data, layer.weight_data)
    assert layer.weight.shape == (6, 4)


def test_dense_path_keeps_pattern(make_pattern):
    graph = make_pattern(10, 8, 0.5, 2)
    layer = SparseLinear(graph, dense_threshold=0.0, rng=0)
    X = np.ones((3, 10), dtype=np.float32)
    layer.forward(X)
    mask = graph.biadjacency.toarray() == 0
    assert np.all(layer._dense[mask] == 0)


def test_he_init_scales_with_each_neurons_fan_in():
    # output 0 has fan-in 2000, output 1 fan-in 20, output 2 none
    n_in = 2000
    B = np.zeros((n_in, 3))
    B[:, 0] = 1
    B[:20, 1] = 1
    layer = SparseLinear(LayerGraph(B), init="he", dtype=np.float64, rng=0)
    W = layer.weight.toarray()
    assert W[:, 0].std() == pytest.approx(np.sqrt(2 / 2000), rel=0.05)
    # 20 samples: loose check on the scale, 10x apart from the wide neuron's
    assert 0.5 * np.sqrt(2 / 20) < W[:20, 1].std() < 1.5 * np.sqrt(2 / 20)
    assert layer.n_edges == 2020
    np.testing.assert_array_equal(layer.bias, 0)


def test_glorot_init_uses_both_degrees():
    B = np.ones((400, 600))
    layer = SparseLinear(LayerGraph(B), init="glorot", dtype=np.float64, rng=0)
    assert layer.weight_data.std() == pytest.approx(np.sqrt(2 / 1000), rel=0.01)


def test_same_seed_same_weights(make_pattern):
    graph = make_pattern(30, 30, 0.2, 0)
    a = SparseLinear(graph, rng=7)
    b = SparseLinear(graph, rng=7)
    np.testing.assert_array_equal(a.weight_data, b.weight_data)


def test_repr(make_pattern):
    layer = SparseLinear(LayerGraph(sp.eye(3)), dense_threshold=None)
    assert repr(layer) == ("SparseLinear(n_in=3, n_out=3, n_edges=3, dtype=float32, path='sparse')")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"init": "xavier"}, "init must be one of", id="init"),
        pytest.param({"dtype": np.int32}, "dtype must be float32 or float64", id="dtype"),
        pytest.param({"dense_threshold": -0.1}, "dense_threshold must be in", id="threshold"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(TopokitError, match=match):
        SparseLinear(LayerGraph(np.eye(2)), **kwargs)


def test_not_a_graph():
    with pytest.raises(TopokitError, match="graph must be a LayerGraph"):
        SparseLinear(np.eye(2))


def test_forward_shape_and_backward_order_errors():
    layer = SparseLinear(LayerGraph(np.eye(2)))
    with pytest.raises(TopokitError, match="backward needs a forward pass first"):
        layer.backward(np.ones((1, 2)))
    with pytest.raises(TopokitError, match=r"X must have shape \(batch, 2\)"):
        layer.forward(np.ones((1, 3)))
    layer.forward(np.ones((4, 2)))
    with pytest.raises(TopokitError, match=r"grad_Y must have shape \(4, 2\)"):
        layer.backward(np.ones((3, 2)))


def test_thin_complete_layer_stays_on_the_kernels():
    rng = np.random.default_rng(1)
    layer = SparseLinear(LayerGraph(np.ones((1024, 10))), dense_threshold=0.0, rng=2)
    assert not layer.uses_dense
    X = rng.standard_normal((5, 1024)).astype(np.float32)
    G = rng.standard_normal((5, 10)).astype(np.float32)
    W = layer.weight_data.reshape(1024, 10).astype(np.float64)
    np.testing.assert_allclose(layer.forward(X), X @ W, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(layer.backward(G), G @ W.T, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(layer.weight_grad, (X.T @ G).ravel(), rtol=1e-4, atol=1e-4)
    assert SparseLinear(LayerGraph(np.ones((1023, 10))), dense_threshold=0.0).uses_dense


@pytest.mark.parametrize(
    "batch", [pytest.param(128, id="batch128"), pytest.param(200, id="batch200")]
)
@pytest.mark.parametrize("activation", ["relu", "tanh", None])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dense_threshold", PATHS)
def test_input_grad_sums_are_numpy_row_sums_bit_for_bit(
    make_pattern, dense_threshold, dtype, activation, batch
):
    from topokit.nn.activations import get_activation

    graph = make_pattern(40, 70, 0.2, 3, empty_rows=(5,), empty_cols=(9,))
    layer = SparseLinear(graph, dtype=dtype, dense_threshold=dense_threshold, rng=0)
    rng = np.random.default_rng(4)
    xt = np.ascontiguousarray(rng.standard_normal((40, batch)).astype(dtype))
    gt = np.ascontiguousarray(rng.standard_normal((70, batch)).astype(dtype))
    act = None if activation is None else get_activation(activation)
    layer._forward_panels(xt, keep_input=True)
    sums = np.full(40, np.nan, dtype=dtype)
    grad = layer._backward_panels(gt, activation=act, input_grad_sums=sums)
    np.testing.assert_array_equal(sums, np.sum(grad, axis=1))
    np.testing.assert_array_equal(layer.bias_grad, np.sum(gt, axis=1))
    # a layer told its bias gradient is ready leaves it alone
    layer.bias_grad[:] = 7
    layer._backward_panels(gt, activation=act, bias_grad_ready=True)
    assert np.all(layer.bias_grad == 7)


@pytest.mark.parametrize("dense_threshold", PATHS)
def test_a_replaced_pattern_is_derived_again(make_pattern, dense_threshold):
    """After ``graph`` is replaced and ``_derive_pattern`` called, the layer computes on the
    new pattern, as a layer built on it does (dynamic sparse training's pattern surgery)."""
    first = make_pattern(30, 24, 0.3, 0)
    columns = np.random.default_rng(1).permutation(24)  # the same edge count, elsewhere
    second = LayerGraph(first.biadjacency.toarray()[:, columns])
    assert (first.biadjacency != second.biadjacency).nnz > 0
    layer = SparseLinear(first, dtype=np.float64, dense_threshold=dense_threshold, rng=1)
    fresh = SparseLinear(second, dtype=np.float64, dense_threshold=dense_threshold, rng=2)
    rng = np.random.default_rng(3)
    X = rng.standard_normal((70, 30))
    G = rng.standard_normal((70, 24))
    layer.forward(X)  # a step on the old pattern first
    layer.backward(G)
    layer.graph = second
    layer._derive_pattern()
    layer.weight_data[:] = fresh.weight_data
    np.testing.assert_array_equal(layer.forward(X), fresh.forward(X))
    np.testing.assert_array_equal(layer.backward(G), fresh.backward(G))
    np.testing.assert_array_equal(layer.weight_grad, fresh.weight_grad)
    W = _dense(fresh)
    np.testing.assert_allclose(layer.forward(X), X @ W + layer.bias, rtol=1e-12, atol=1e-12)


def test_pickling_leaves_the_scratch_space_behind(make_pattern):
    """Scratch arrays are rebuilt on the next step: a copy (pickle, joblib's read-only
    memmaps) carries none of them, and computes the same values."""
    layer = SparseLinear(make_pattern(20, 40, 0.3, 0), rng=0)
    expected = layer._weight_sum_of_squares()
    assert layer._panel_scratch
    copy = pickle.loads(pickle.dumps(layer))
    assert copy._panel_scratch == {}
    assert copy._weight_sum_of_squares() == expected
    squares = np.sum(layer.weight_data.astype(np.float64) ** 2)
    np.testing.assert_allclose(expected, squares, rtol=1e-5)


def test_small_dense_products_run_on_one_blas_thread():
    """Under 2**26 multiply-adds the dense path's products run on one BLAS thread, and the
    thread counts are restored after, as threadpoolctl reports them."""
    from threadpoolctl import threadpool_info

    from topokit.nn import linear

    def blas_threads():
        return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]

    before = blas_threads()
    with linear._blas_threads(linear._SMALL_PRODUCT - 1):
        assert set(blas_threads()) <= {1}
    assert blas_threads() == before
    with linear._blas_threads(linear._SMALL_PRODUCT):
        assert blas_threads() == before


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "width", [pytest.param(64, id="whole-vectors"), pytest.param(24, id="tail")]
)
def test_a_complete_output_layer_forward_by_groups_gives_the_forward_by_columns(
    monkeypatch, dtype, width
):
    from topokit.nn import _layer_forward

    # 1200 x 10 complete: thin, so on the sparse path, where its outputs go in groups
    graph = LayerGraph(np.ones((1200, 10)))
    layer = SparseLinear(graph, dtype=dtype, rng=0)
    assert not layer.uses_dense
    xt = np.random.default_rng(1).standard_normal((1200, width)).astype(dtype)
    calls = []
    grouped = _layer_forward.forward_complete

    def counted(*args):
        calls.append(args[0])
        return grouped(*args)

    monkeypatch.setattr(_layer_forward, "forward_complete", counted)
    got = layer._forward_panels(xt, keep_input=False).copy()
    # whole 64-byte vectors only; a width with a tail goes by columns
    assert len(calls) == (1 if width * np.dtype(dtype).itemsize % 64 == 0 else 0)
    by_columns = np.empty_like(got)
    _layer_forward.forward.parallel(layer._columns, layer.weight_data, layer.bias, xt, by_columns)
    np.testing.assert_array_equal(got, by_columns)
    np.testing.assert_allclose(got, (xt.T @ _dense(layer)).T + layer.bias[:, None], rtol=1e-4)
