"""At density 1 SparseMLP matches a dense NumPy implementation step for step.

The reference below is written from scratch (scikit-learn's MLPClassifier maths: mean
cross-entropy plus alpha/(2·batch)·ΣW², SGD with momentum or Nesterov, Adam) and
starts from the model's own initial weights. Both the sparse kernels and the dense BLAS
path are compared, in float64, after every one of several steps.
"""

import itertools

import numpy as np
import pytest

from topokit.nn import SparseMLP
from topokit.topology import Topology

SIZES = [8, 16, 12, 4]
N_STEPS = 6
RTOL, ATOL = 1e-10, 1e-12

_ACT = {
    "relu": (lambda z: np.maximum(z, 0), lambda a: (a > 0).astype(float)),
    "tanh": (np.tanh, lambda a: 1 - a**2),
}


class DenseReference:
    def __init__(self, weights, biases, activation, alpha):
        self.W = [w.copy() for w in weights]
        self.b = [b.copy() for b in biases]
        self.f, self.df = _ACT[activation]
        self.alpha = alpha

    def gradients(self, X, y):
        acts = [X]
        for k, (W, b) in enumerate(zip(self.W, self.b, strict=True)):
            z = acts[-1] @ W + b
            acts.append(self.f(z) if k < len(self.W) - 1 else z)
        logits = acts[-1]
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        n = X.shape[0]
        loss = -np.mean(np.log(p[np.arange(n), y]))
        loss += 0.5 * self.alpha / n * sum((W**2).sum() for W in self.W)
        delta = p.copy()
        delta[np.arange(n), y] -= 1
        delta /= n
        grads_W, grads_b = [None] * len(self.W), [None] * len(self.W)
        for k in range(len(self.W) - 1, -1, -1):
            grads_W[k] = acts[k].T @ delta + self.alpha / n * self.W[k]
            grads_b[k] = delta.sum(axis=0)
            if k > 0:
                delta = (delta @ self.W[k].T) * self.df(acts[k])
        return loss, grads_W + grads_b


class DenseSGD:
    def __init__(self, params, lr, momentum, nesterov):
        self.v = [np.zeros_like(p) for p in params]
        self.lr, self.momentum, self.nesterov = lr, momentum, nesterov

    def step(self, params, grads):
        for p, g, v in zip(params, grads, self.v, strict=True):
            v *= self.momentum
            v -= self.lr * g
            p += self.momentum * v - self.lr * g if self.nesterov else v


class DenseAdam:
    def __init__(self, params, lr, beta_1=0.9, beta_2=0.999, eps=1e-8):
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.lr, self.b1, self.b2, self.eps, self.t = lr, beta_1, beta_2, eps, 0

    def step(self, params, grads):
        self.t += 1
        lr_t = self.lr * np.sqrt(1 - self.b2**self.t) / (1 - self.b1**self.t)
        for p, g, m, v in zip(params, grads, self.m, self.v, strict=True):
            m[:] = self.b1 * m + (1 - self.b1) * g
            v[:] = self.b2 * v + (1 - self.b2) * g**2
            p -= lr_t * m / (np.sqrt(v) + self.eps)


OPTIMIZERS = [
    pytest.param("sgd", {"momentum": 0.9, "nesterov": False}, id="sgd-momentum"),
    pytest.param("sgd", {"momentum": 0.9, "nesterov": True}, id="sgd-nesterov"),
    pytest.param("adam", {}, id="adam"),
]
PATHS = [pytest.param(None, id="sparse"), pytest.param(0.3, id="dense")]


# 10 samples: one panel with padding; 150: three panels of 64, the last one padded
@pytest.mark.parametrize("batch", [10, 150])
@pytest.mark.parametrize("dense_threshold", PATHS)
@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize(("optimizer", "params"), OPTIMIZERS)
def test_matches_dense_reference_step_for_step(
    optimizer, params, activation, dense_threshold, batch
):
    lr, alpha = (0.05, 0.01)
    model = SparseMLP(
        Topology.build(SIZES, "dense"),
        activation,
        optimizer=optimizer,
        learning_rate=lr,
        weight_decay=alpha,
        dense_threshold=dense_threshold,
        dtype=np.float64,
        rng=0,
        **params,
    )
    assert all(layer.uses_dense == (dense_threshold is not None) for layer in model.layers)
    shapes = list(itertools.pairwise(SIZES))
    initial = model.layers[0].weight_data.copy()
    ref = DenseReference(
        [ly.weight_data.reshape(shape) for ly, shape in zip(model.layers, shapes, strict=True)],
        [ly.bias for ly in model.layers],
        activation,
        alpha,
    )
    ref_params = ref.W + ref.b
    if optimizer == "sgd":
        ref_opt = DenseSGD(ref_params, lr, params["momentum"], params["nesterov"])
    else:
        ref_opt = DenseAdam(ref_params, lr)
    rng = np.random.default_rng(1)
    for _ in range(N_STEPS):
        X = rng.standard_normal((batch, SIZES[0]))
        y = rng.integers(0, SIZES[-1], batch)
        loss_ref, grads = ref.gradients(X, y)
        ref_opt.step(ref_params, grads)
        loss = model.train_step(X, y)
        assert loss == pytest.approx(loss_ref, rel=RTOL)
        for layer, W, b in zip(model.layers, ref.W, ref.b, strict=True):
            np.testing.assert_allclose(layer.weight.toarray(), W, rtol=RTOL, atol=ATOL)
            np.testing.assert_allclose(layer.bias, b, rtol=RTOL, atol=ATOL)
    # the weights moved: the comparison was not between two untouched copies
    assert np.abs(model.layers[0].weight_data - initial).max() > 1e-3
