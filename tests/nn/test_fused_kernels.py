"""The fused kernels (ReLU in forward, its derivative in backward, bias row sums) give
bit for bit what the separate NumPy passes they replace give, on any thread count."""

import pickle

import numpy as np
import pytest

from topokit.nn import SparseMLP, _layer_backward, _layer_forward, _panel_sums, _weight_gradient
from topokit.nn.activations import get_activation

DTYPES = [pytest.param(np.float32, id="float32"), pytest.param(np.float64, id="float64")]
VARIANTS = ["parallel", "serial"]


def _case(make_pattern, dtype, batch=33):
    graph = make_pattern(50, 30, 0.35, 1, empty_rows=(7,), empty_cols=(11,))
    rng = np.random.default_rng(5)
    data = rng.standard_normal(graph.n_edges).astype(dtype)
    xt = rng.standard_normal((50, batch)).astype(dtype)
    xt[xt < 0] = 0  # what a ReLU layer feeds on: exact zeros where inactive
    gt = rng.standard_normal((30, batch)).astype(dtype)
    bias = rng.standard_normal(30).astype(dtype)
    return graph, data, xt, gt, bias


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_forward_with_relu_is_forward_then_numpy_relu(make_pattern, dtype, variant):
    graph, data, xt, _, bias = _case(make_pattern, dtype)
    csr = graph.biadjacency
    columns = _layer_forward.column_order(csr.indptr, csr.indices, graph.n_out)
    kernel = getattr(_layer_forward.forward, variant)
    expected = np.empty((30, xt.shape[1]), dtype=dtype)
    kernel(columns, data, bias, xt, expected)
    assert (expected < 0).any()
    assert (expected > 0).any()
    get_activation("relu").apply(expected)
    fused = np.full_like(expected, np.nan)
    kernel(columns, data, bias, xt, fused, True)
    np.testing.assert_array_equal(fused, expected)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_backward_with_relu_mask_is_backward_then_numpy_backprop(make_pattern, dtype, variant):
    graph, data, xt, gt, _ = _case(make_pattern, dtype)
    csr = graph.biadjacency
    kernel = getattr(_layer_backward.backward_inputs, variant)
    expected = np.empty_like(xt)
    kernel(csr.indptr, csr.indices, data, gt, expected)
    get_activation("relu").backprop(xt, expected)
    fused = np.full_like(xt, np.nan)
    kernel(csr.indptr, csr.indices, data, gt, fused, xt)
    np.testing.assert_array_equal(fused, expected)
    assert (fused == 0).any()
    assert (fused != 0).any()


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_row_sums_equal_numpy_sum_bit_for_bit(dtype, variant):
    rng = np.random.default_rng(3)
    kernel = getattr(_panel_sums.row_sums, variant)
    for batch in range(1, _panel_sums.ROW_SUM_MAX + 1):
        scale = 10.0 ** rng.integers(-4, 5, size=(20, batch))
        gt = (rng.standard_normal((20, batch)) * scale).astype(dtype)
        gt[0] = -0.0  # numpy's sum of negative zeros is +0.0
        out = np.full(20, np.nan, dtype=dtype)
        kernel(gt, out)
        expected = np.sum(gt, axis=1)
        np.testing.assert_array_equal(out, expected, err_msg=f"batch {batch}")
        assert np.signbit(out).tolist() == np.signbit(expected).tolist()


def test_fused_kernels_do_not_depend_on_thread_count(make_pattern, on_one_and_all_threads):
    graph, data, xt, gt, bias = _case(make_pattern, np.float32, batch=64)
    csr = graph.biadjacency
    columns = _layer_forward.column_order(csr.indptr, csr.indices, graph.n_out)

    def run():
        yt = np.empty((30, 64), dtype=np.float32)
        gxt = np.empty((50, 64), dtype=np.float32)
        sums = np.empty(30, dtype=np.float32)
        _layer_forward.forward.parallel(columns, data, bias, xt, yt, True)
        _layer_backward.backward_inputs.parallel(csr.indptr, csr.indices, data, gt, gxt, xt)
        _panel_sums.row_sums.parallel(gt, sums)
        return yt, gxt, sums

    one, many = on_one_and_all_threads(run)
    for a, b in zip(one, many, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_reused_training_buffers_change_nothing(make_topology, activation):
    topology = make_topology([12, 20, 16, 3], 0.4)
    rng = np.random.default_rng(0)
    reused = SparseMLP(topology, activation, dense_threshold=None, rng=1)
    fresh = SparseMLP(topology, activation, dense_threshold=None, rng=1)
    for batch in [8, 5, 3, 8, 5, 3]:  # three sizes: buffers are evicted and rebuilt
        X = rng.standard_normal((batch, 12))
        y = rng.integers(0, 3, batch)
        fresh._buffers.clear()
        assert reused.train_step(X, y) == fresh.train_step(X, y)
    assert len(reused._buffers) == 2
    for a, b in zip(reused.layers, fresh.layers, strict=True):
        np.testing.assert_array_equal(a.weight_data, b.weight_data)
        np.testing.assert_array_equal(a.bias, b.bias)
    assert pickle.loads(pickle.dumps(reused))._buffers == {}


@pytest.mark.parametrize("relu", [pytest.param(False, id="plain"), pytest.param(True, id="relu")])
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", [33, 128, 200])
def test_backward_is_sddmm_and_backward_inputs_bit_for_bit(
    make_pattern, dtype, variant, relu, batch
):
    graph, data, xt, gt, _ = _case(make_pattern, dtype, batch=batch)
    csr = graph.biadjacency
    block_ptr = _weight_gradient.column_blocks(csr.indptr, csr.indices, graph.n_out, 2)
    expected_grad = np.empty(graph.n_edges, dtype=dtype)
    _weight_gradient.sddmm.serial(block_ptr, csr.indices, xt, gt, expected_grad[None], dtype(0))
    expected_gxt = np.empty_like(xt)
    relu_out = (xt,) if relu else ()
    _layer_backward.backward_inputs.serial(
        csr.indptr, csr.indices, data, gt, expected_gxt, *relu_out
    )
    grad = np.full(graph.n_edges, np.nan, dtype=dtype)
    gxt = np.full_like(xt, np.nan)
    kernel = getattr(_layer_backward.backward, variant)
    kernel(csr.indptr, csr.indices, data, xt, gt, grad[None], gxt, relu)
    np.testing.assert_array_equal(grad, expected_grad)
    np.testing.assert_array_equal(gxt, expected_gxt)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("n_panels", "width"), [(1, 16), (1, 48), (2, 64), (4, 80), (1, 200)])
def test_backward_over_its_own_input_is_backward_into_another_array(
    make_pattern, dtype, variant, n_panels, width
):
    # SparseMLP passes a ReLU layer's input as the array that receives its input
    # gradient (SparseLinear._backward_in_place): every batch tile and tail must read
    # each input element before it writes there
    graph = make_pattern(50, 30, 0.35, 1, empty_rows=(7,), empty_cols=(11,))
    csr = graph.biadjacency
    rng = np.random.default_rng(9)
    data = rng.standard_normal(graph.n_edges).astype(dtype)
    xt = np.maximum(rng.standard_normal((n_panels * 50, width)), 0).astype(dtype)
    gt = rng.standard_normal((n_panels * 30, width)).astype(dtype)
    kernel = getattr(_layer_backward.backward, variant)
    results = []
    for in_place in (False, True):
        x = xt.copy()
        gxt = x if in_place else np.full_like(xt, np.nan)
        grad = np.zeros((n_panels, graph.n_edges), dtype=dtype)
        # the row sums in the kernel only for rows of at most ROW_SUM_MAX, as the layer does
        sums = np.zeros((n_panels, 50), dtype=dtype) if width <= 128 else None
        total, sums_total = np.zeros(graph.n_edges, dtype=dtype), np.zeros(50, dtype=dtype)
        kernel(csr.indptr, csr.indices, data, x, gt, grad, gxt, True, sums, total, sums_total)
        results.append((gxt, grad, sums, total, sums_total))
    for separate, over_input in zip(*results, strict=True):
        assert (separate is None) == (over_input is None)
        if separate is not None:
            assert separate.tobytes() == over_input.tobytes()
    assert (results[0][0] == 0).any()
    assert (results[0][0] != 0).any()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", [5, 40, 128, 200])
def test_training_with_gradients_over_the_inputs_changes_nothing(
    make_topology, dtype, batch, monkeypatch
):
    from topokit.nn import linear

    topology = make_topology([40, 96, 80, 5], 0.1, seed=2)
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((batch, 40)), rng.integers(0, 5, batch)
    models = []
    for in_place in (True, False):
        if not in_place:
            monkeypatch.setattr(linear.SparseLinear, "_backward_in_place", lambda *_: False)
        model = SparseMLP(topology, rng=0, dtype=dtype)
        assert not model.layers[1].uses_dense  # a sparse layer on a ReLU's output
        losses = [model.train_step(X, y) for _ in range(4)]
        models.append((model, losses))
    (fused, fused_losses), (separate, separate_losses) = models
    assert fused_losses == separate_losses
    for a, b in zip(fused.layers, separate.layers, strict=True):
        assert a.weight_data.tobytes() == b.weight_data.tobytes()
        assert a.bias.tobytes() == b.bias.tobytes()
