"""The panel layout: a batch in panels of at most 64 samples, a thread per panel.

Every kernel must treat each panel exactly as it treats a batch of that panel's
samples alone, and add the panels' weight gradients and bias sums in panel order;
results depend on the batch size, never on the number of threads. The model built on
it must give the gradients of a single feature-major batch, up to the order of sums.
"""

import numpy as np
import pytest

from topokit.nn import (
    SparseMLP,
    _layer_backward,
    _layer_forward,
    _panel_sums,
    _panels,
    _weight_gradient,
)
from topokit.nn import _reference as reference
from topokit.nn._softmax import softmax_cross_entropy

DTYPES = [pytest.param(np.float32, id="float32"), pytest.param(np.float64, id="float64")]
VARIANTS = ["parallel", "serial"]


def test_panel_shape_covers_the_batch_in_even_panels():
    for batch in [*range(1, 1200), 4096, 10_000]:
        n_panels, width = _panels.panel_shape(batch)
        assert 1 <= n_panels <= _panels.MAX_PANELS
        if batch <= _panels.PANEL * _panels.MAX_PANELS:
            assert n_panels == -(-batch // _panels.PANEL)
            assert width <= max(_panels.PANEL, 16)
        assert width % 16 == 0
        assert width - 16 < -(-batch // n_panels)  # as even as whole vectors allow
        # every panel holds samples: padding only at the end of the last one
        assert (n_panels - 1) * width < batch <= n_panels * width


def _stack(blocks):
    """Feature-major (n, width) blocks, one per panel, as one panel-layout array."""
    return np.ascontiguousarray(np.concatenate(blocks, axis=0))


def _layer_case(make_pattern, dtype, n_panels=3, width=48):
    graph = make_pattern(50, 30, 0.35, 1, empty_rows=(7,), empty_cols=(11,))
    rng = np.random.default_rng(8)
    data = rng.standard_normal(graph.n_edges).astype(dtype)
    bias = rng.standard_normal(30).astype(dtype)
    xs = [rng.standard_normal((50, width)).astype(dtype) for _ in range(n_panels)]
    for x in xs:
        x[x < 0] = 0  # ReLU outputs: exact zeros where inactive
    gs = [rng.standard_normal((30, width)).astype(dtype) for _ in range(n_panels)]
    return graph, data, bias, xs, gs


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("width", [48, 64, 40])  # 40: float32 vectors and leftover columns
def test_forward_treats_each_panel_as_a_batch_alone(make_pattern, dtype, variant, width):
    graph, data, bias, xs, _ = _layer_case(make_pattern, dtype, width=width)
    csr = graph.biadjacency
    columns = _layer_forward.column_order(csr.indptr, csr.indices, graph.n_out)
    kernel = getattr(_layer_forward.forward, variant)
    yt = np.full((3 * 30, width), np.nan, dtype=dtype)
    kernel(columns, data, bias, _stack(xs), yt, True)
    for p, x in enumerate(xs):
        alone = np.empty((30, width), dtype=dtype)
        kernel(columns, data, bias, x, alone, True)
        np.testing.assert_array_equal(yt[p * 30 : (p + 1) * 30], alone)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("width", [48, 64, 40])
def test_backward_adds_the_panels_gradients_in_order(make_pattern, dtype, variant, width):
    graph, data, _, xs, gs = _layer_case(make_pattern, dtype, width=width)
    csr = graph.biadjacency
    kernel = getattr(_layer_backward.backward, variant)
    n_edges = graph.n_edges
    grad = np.full((3, n_edges), np.nan, dtype=dtype)
    gxt = np.full((3 * 50, width), np.nan, dtype=dtype)
    sums = np.full((3, 50), np.nan, dtype=dtype)
    grad_total = np.full(n_edges, np.nan, dtype=dtype)
    sums_total = np.full(50, np.nan, dtype=dtype)
    args = (csr.indptr, csr.indices, data, _stack(xs), _stack(gs), grad, gxt, True, sums)
    kernel(*args, grad_total, sums_total)
    expected_total = expected_sums = None
    for p, (x, g) in enumerate(zip(xs, gs, strict=True)):
        alone_grad = np.empty((1, n_edges), dtype=dtype)
        alone_gxt = np.empty((50, width), dtype=dtype)
        kernel(csr.indptr, csr.indices, data, x, g, alone_grad, alone_gxt, True)
        np.testing.assert_array_equal(grad[p], alone_grad[0])
        np.testing.assert_array_equal(gxt[p * 50 : (p + 1) * 50], alone_gxt)
        np.testing.assert_array_equal(sums[p], np.sum(alone_gxt, axis=1))
        if p == 0:
            expected_total, expected_sums = alone_grad[0].copy(), sums[0].copy()
        else:
            expected_total += alone_grad[0]
            expected_sums += sums[p]
    np.testing.assert_array_equal(grad_total, expected_total)
    np.testing.assert_array_equal(sums_total, expected_sums)


@pytest.mark.parametrize("dtype", DTYPES)
def test_weight_decay_is_added_to_the_total(make_pattern, dtype):
    graph, data, _, xs, gs = _layer_case(make_pattern, dtype)
    csr = graph.biadjacency
    decay = dtype(0.125)
    for n_panels in (1, 3):
        grad = np.empty((n_panels, graph.n_edges), dtype=dtype)
        gxt = np.empty((n_panels * 50, 48), dtype=dtype)
        total = np.empty(graph.n_edges, dtype=dtype)
        x, g = _stack(xs[:n_panels]), _stack(gs[:n_panels])
        _layer_backward.backward.parallel(
            csr.indptr, csr.indices, data, x, g, grad, gxt, False, None, total, None, decay
        )
        plain = grad.astype(np.float64).sum(axis=0)
        np.testing.assert_allclose(total, plain + decay * data, rtol=1e-5, atol=1e-5)
        sddmm_total = np.empty_like(total)
        rows = np.stack([csr.indptr[:-1], csr.indptr[1:]], axis=1)
        _weight_gradient.sddmm.parallel(
            rows, csr.indices, x, g, grad, dtype(0), 1, sddmm_total, data, decay
        )
        np.testing.assert_array_equal(sddmm_total, total)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_sddmm_treats_each_panel_as_a_batch_alone(make_pattern, dtype, variant):
    graph, _, _, xs, gs = _layer_case(make_pattern, dtype)
    csr = graph.biadjacency
    kernel = getattr(_weight_gradient.sddmm, variant)
    zero = dtype(0)
    out = np.full((3, graph.n_edges), np.nan, dtype=dtype)
    total = np.full(graph.n_edges, np.nan, dtype=dtype)
    block_ptr = _weight_gradient.column_blocks(csr.indptr, csr.indices, graph.n_out, 2)
    kernel(block_ptr, csr.indices, _stack(xs), _stack(gs), out, zero, 2, total)
    expected = None
    for p, (x, g) in enumerate(zip(xs, gs, strict=True)):
        alone = np.empty((1, graph.n_edges), dtype=dtype)
        kernel(block_ptr, csr.indices, x, g, alone, zero)
        np.testing.assert_array_equal(out[p], alone[0])
        expected = alone[0].copy() if expected is None else expected + alone[0]
    np.testing.assert_array_equal(total, expected)


@pytest.mark.parametrize("dtype", DTYPES)
def test_row_sums_add_the_panels_numpy_sums_in_order(dtype):
    rng = np.random.default_rng(4)
    panels = [rng.standard_normal((20, 48)).astype(dtype) for _ in range(3)]
    out = np.full(20, np.nan, dtype=dtype)
    _panel_sums.row_sums.parallel(_stack(panels), out)
    expected = (np.sum(panels[0], axis=1) + np.sum(panels[1], axis=1)) + np.sum(panels[2], axis=1)
    np.testing.assert_array_equal(out, expected)


def test_panel_kernels_do_not_depend_on_thread_count(make_pattern, on_one_and_all_threads):
    graph, data, bias, xs, gs = _layer_case(make_pattern, np.float32, n_panels=2, width=64)
    csr = graph.biadjacency
    columns = _layer_forward.column_order(csr.indptr, csr.indices, graph.n_out)
    rows = np.stack([csr.indptr[:-1], csr.indptr[1:]], axis=1)
    x, g = _stack(xs), _stack(gs)

    def run():
        yt = np.empty((60, 64), dtype=np.float32)
        gxt = np.empty((100, 64), dtype=np.float32)
        parts = np.empty((2, graph.n_edges), dtype=np.float32)
        sums = np.empty((2, 50), dtype=np.float32)
        total = np.empty(graph.n_edges, dtype=np.float32)
        sums_total = np.empty(50, dtype=np.float32)
        first = np.empty(graph.n_edges, dtype=np.float32)
        _layer_forward.forward.parallel(columns, data, bias, x, yt, True)
        _layer_backward.backward.parallel(
            csr.indptr, csr.indices, data, x, g, parts, gxt, True, sums, total, sums_total
        )
        _weight_gradient.sddmm.parallel(
            rows, csr.indices, x, g, parts.copy(), np.float32(0), 1, first
        )
        return yt, gxt, total, sums_total, first

    one, many = on_one_and_all_threads(run)
    for a, b in zip(one, many, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_load_panels_transposes_the_rows_and_counts_bad_values(dtype):
    rng = np.random.default_rng(6)
    X = rng.standard_normal((300, 7))
    rows = rng.permutation(300)[:150]
    n_panels, width = _panels.panel_shape(150)
    out = np.full((n_panels * 7, width), -1.0, dtype=dtype)
    assert _panels.load_panels.parallel(X, rows, out) == 0
    samples = np.full((n_panels * width, 7), -1.0)
    samples[:150] = X[rows]
    expected = samples.reshape(n_panels, width, 7).transpose(0, 2, 1).reshape(-1, width)
    np.testing.assert_array_equal(out, expected.astype(dtype))  # padding left as it was
    X[rows[3], 2] = np.nan
    X[rows[140], 0] = np.inf
    X[rows[77], 6] = 1e300  # finite as float64, infinite as float32
    n_bad = _panels.load_panels.serial(X, rows, out)
    assert n_bad == (3 if dtype == np.float32 else 2)


@pytest.mark.parametrize(("dtype", "rtol"), [(np.float32, 1e-5), (np.float64, 1e-13)])
def test_softmax_cross_entropy_matches_numpy(dtype, rtol):
    rng = np.random.default_rng(7)
    batch, n_classes = 150, 10
    n_panels, width = _panels.panel_shape(batch)
    logits = (3 * rng.standard_normal((n_classes, batch))).astype(dtype)
    logits[:, 5] = 1.5  # a tie: numpy's argmax takes the first
    labels = rng.integers(0, n_classes, batch)
    padded = np.zeros((n_classes, n_panels * width), dtype=dtype)
    padded[:, :batch] = logits
    panels = padded.reshape(n_classes, n_panels, width).transpose(1, 0, 2)
    panels = np.ascontiguousarray(panels).reshape(-1, width)
    delta = np.full_like(panels, np.nan)
    loss, n_correct = softmax_cross_entropy(panels, labels, n_classes, delta)
    expected_loss, expected_delta, expected_correct = reference.softmax_cross_entropy(
        logits, labels
    )
    assert loss == pytest.approx(expected_loss, rel=rtol)
    assert n_correct == expected_correct
    got = delta.reshape(n_panels, n_classes, width).transpose(1, 0, 2).reshape(n_classes, -1)
    np.testing.assert_allclose(got[:, :batch], expected_delta, rtol=rtol, atol=rtol / batch)
    assert (got[:, batch:] == 0).all()  # padding adds nothing to any gradient
    logits_nan = panels.copy()
    logits_nan[3, 0] = np.nan
    assert np.isnan(softmax_cross_entropy(logits_nan, labels, n_classes, delta)[0])


@pytest.mark.parametrize("dense_threshold", [None, 0.0], ids=["sparse", "dense"])
# 1100: eight panels of 144 columns, past the in-kernel row sums (at most 128)
@pytest.mark.parametrize("batch", [130, 64, 65, 200, 1100])
def test_panels_give_the_gradients_of_one_feature_major_batch(
    make_topology, dense_threshold, batch
):
    topology = make_topology([9, 40, 30, 4], 0.5, seed=2)
    model = SparseMLP(
        topology, weight_decay=0.2, dense_threshold=dense_threshold, dtype=np.float64, rng=3
    )
    rng = np.random.default_rng(5)
    X = rng.standard_normal((batch, 9))
    y = rng.integers(0, 4, batch)
    panels = model._load_batch(X)
    assert panels.shape == (_panels.panel_shape(batch)[0] * 9, _panels.panel_shape(batch)[1])
    loss, n_correct, grad_in = model._loss_and_gradients(panels, y, input_grad=True)
    grads = [(ly.weight_grad.copy(), ly.bias_grad.copy()) for ly in model.layers]
    one_panel = np.ascontiguousarray(X.T)
    loss_1, n_correct_1, grad_in_1 = model._loss_and_gradients(one_panel, y, input_grad=True)
    assert loss == pytest.approx(loss_1, rel=1e-13)
    assert n_correct == n_correct_1
    for (w, b), layer in zip(grads, model.layers, strict=True):
        np.testing.assert_allclose(w, layer.weight_grad, rtol=1e-11, atol=1e-14)
        np.testing.assert_allclose(b, layer.bias_grad, rtol=1e-11, atol=1e-14)
    n_panels, width = _panels.panel_shape(batch)
    by_sample = grad_in.reshape(n_panels, 9, width).transpose(0, 2, 1).reshape(-1, 9)
    np.testing.assert_allclose(by_sample[:batch], grad_in_1.T, rtol=1e-11, atol=1e-14)
    assert (by_sample[batch:] == 0).all()
