"""SparseMLP gradients against central finite differences in float64.

Every hidden activation, sparse and dense paths, weights at the stored entries,
biases, and inputs, with the L2 penalty included.
"""

import numpy as np
import pytest

from topokit.nn import SparseMLP

ACTIVATIONS = ["relu", "tanh", "logistic", "identity"]
PATHS = [pytest.param(None, id="sparse"), pytest.param(0.0, id="dense")]
EPS = 1e-6
RTOL, ATOL = 1e-6, 1e-9


# 5 samples feature-major; 70 in the training layout: two panels, the second padded
LAYOUTS = [pytest.param(5, id="one-panel"), pytest.param(70, id="two-panels")]


def _model(make_topology, activation, dense_threshold, batch=5):
    topology = make_topology([7, 6, 5, 3], 0.6, seed=3)
    model = SparseMLP(
        topology,
        activation,
        weight_decay=0.3,
        dense_threshold=dense_threshold,
        dtype=np.float64,
        rng=11,
    )
    rng = np.random.default_rng(4)
    for layer in model.layers:
        layer.bias[:] = 0.1 * rng.standard_normal(layer.n_out)
    if batch == 5:
        xt = np.ascontiguousarray(rng.standard_normal((7, 5)))
        labels = np.array([0, 2, 1, 2, 0])
    else:
        xt = model._load_batch(rng.standard_normal((batch, 7))).copy()
        labels = rng.integers(0, 3, batch)
    return model, xt, labels


def _loss(model, xt, labels):
    return model._loss_and_gradients(xt, labels)[0]


def _numeric(model, xt, labels, array):
    """Central differences of the loss with respect to each entry of ``array``."""
    grad = np.empty(array.size)
    flat = array.reshape(-1)
    for k in range(flat.size):
        saved = flat[k]
        flat[k] = saved + EPS
        up = _loss(model, xt, labels)
        flat[k] = saved - EPS
        down = _loss(model, xt, labels)
        flat[k] = saved
        grad[k] = (up - down) / (2 * EPS)
    return grad.reshape(array.shape)


@pytest.mark.parametrize("batch", LAYOUTS)
@pytest.mark.parametrize("dense_threshold", PATHS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_weight_and_bias_gradients(make_topology, activation, dense_threshold, batch):
    model, xt, labels = _model(make_topology, activation, dense_threshold, batch)
    model._loss_and_gradients(xt, labels)
    analytic = [(ly.weight_grad.copy(), ly.bias_grad.copy()) for ly in model.layers]
    for layer, (weight_grad, bias_grad) in zip(model.layers, analytic, strict=True):
        assert layer.uses_dense == (dense_threshold == 0.0)
        numeric_w = _numeric(model, xt, labels, layer.weight_data)
        numeric_b = _numeric(model, xt, labels, layer.bias)
        np.testing.assert_allclose(weight_grad, numeric_w, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(bias_grad, numeric_b, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("batch", LAYOUTS)
@pytest.mark.parametrize("dense_threshold", PATHS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_input_gradients(make_topology, activation, dense_threshold, batch):
    model, xt, labels = _model(make_topology, activation, dense_threshold, batch)
    _, _, analytic = model._loss_and_gradients(xt, labels, input_grad=True)
    numeric = _numeric(model, xt, labels, xt)
    np.testing.assert_allclose(analytic, numeric, rtol=RTOL, atol=ATOL)


def test_gradients_are_not_trivially_zero(make_topology):
    # guards the comparisons above: the network must actually depend on its weights
    model, xt, labels = _model(make_topology, "tanh", None)
    model._loss_and_gradients(xt, labels)
    for layer in model.layers:
        assert np.count_nonzero(layer.weight_grad) > layer.n_edges // 2
