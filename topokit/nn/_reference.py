"""Plain NumPy/SciPy counterparts of the numba kernels, to test them against and debug with.

Each function computes what one kernel computes, by the formula alone, in float64 (or
in the arrays' dtype where the kernel's contract is numpy's own result), on whole
arrays: no tiles, no threads, no fixed order of sums. The tests compare the kernels
with them to a tolerance; the kernels' bit-for-bit invariants (thread count, tiles,
panels) are tested between kernels.

Activations are converted between the feature-major ``(n, batch)`` layout and the panel
layout of :mod:`topokit.nn._panels` by :func:`to_panels` and :func:`from_panels`; a
layer's weights are a ``scipy.sparse`` CSR array of shape ``(n_in, n_out)``, whose
``data`` is in the kernels' (CSR) order.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = [
    "adam_update",
    "backward",
    "forward",
    "from_panels",
    "input_gradient",
    "load_panels",
    "relu",
    "relu_derivative",
    "row_sums",
    "sgd_update",
    "softmax_cross_entropy",
    "to_panels",
    "weight_gradient",
]


def to_panels(a, n_panels, width, dtype=None) -> np.ndarray:
    """Feature-major ``a`` of shape (n, batch) in the panel layout, (n_panels · n, width).

    Sample s goes to column ``s % width`` of panel ``s // width``; the padding columns
    are zero.
    """
    n, batch = a.shape
    padded = np.zeros((n, n_panels * width), dtype=dtype or a.dtype)
    padded[:, :batch] = a
    return np.ascontiguousarray(padded.reshape(n, n_panels, width).transpose(1, 0, 2)).reshape(
        n_panels * n, width
    )


def from_panels(a, n, batch) -> np.ndarray:
    """The feature-major (n, batch) array of a panel-layout ``a``, padding dropped."""
    width = a.shape[1]
    return a.reshape(-1, n, width).transpose(1, 0, 2).reshape(n, -1)[:, :batch]


def load_panels(X, rows, n_panels, width, dtype) -> np.ndarray:
    """``X[rows]`` in the panel layout, cast to ``dtype``, padding zero."""
    return to_panels(np.asarray(X[rows], dtype=dtype).T, n_panels, width)


def forward(weight: sp.csr_array, bias, xt) -> np.ndarray:
    """``Wᵀ xt + b`` of shape (n_out, batch), in float64."""
    return weight.T.astype(np.float64) @ xt.astype(np.float64) + bias.astype(np.float64)[:, None]


def relu(y) -> np.ndarray:
    """``numpy.maximum(y, 0)``."""
    return np.maximum(y, 0)


def relu_derivative(x, g) -> np.ndarray:
    """``g · (x > 0)``: the gradient through a ReLU whose output was ``x``."""
    return g * (x > 0)


def input_gradient(weight: sp.csr_array, gt) -> np.ndarray:
    """``W gt`` of shape (n_in, batch), in float64."""
    return weight.astype(np.float64) @ gt.astype(np.float64)


def weight_gradient(weight: sp.csr_array, xt, gt) -> np.ndarray:
    """``(xt gtᵀ)[i, j]`` at each stored entry (i, j), in CSR order, in float64."""
    rows = np.repeat(np.arange(weight.shape[0]), np.diff(weight.indptr))
    product = xt.astype(np.float64) @ gt.astype(np.float64).T
    return product[rows, weight.indices]


def backward(weight: sp.csr_array, xt, gt, *, relu_input=False, decay=0.0):
    """The weight gradient (plus ``decay · W``) and the input gradient of a layer.

    With ``relu_input``, ``xt`` is a ReLU's output and the input gradient goes through
    its derivative. Returns ``(weight_grad, input_grad)`` in float64.
    """
    grad = weight_gradient(weight, xt, gt) + decay * weight.data.astype(np.float64)
    grad_in = input_gradient(weight, gt)
    if relu_input:
        grad_in = relu_derivative(xt, grad_in)
    return grad, grad_in


def row_sums(gt) -> np.ndarray:
    """``numpy.sum(gt, axis=1)``: the bias gradient of a feature-major batch."""
    return np.sum(gt, axis=1)


def softmax_cross_entropy(logits, labels):
    """Mean cross-entropy, its gradient and the number correct, on (n_classes, batch) logits.

    Returns ``(loss, delta, n_correct)`` with ``delta = (softmax - onehot) / batch``.
    """
    shifted = logits - logits.max(axis=0)
    log_norm = np.log(np.exp(shifted).sum(axis=0))
    columns = np.arange(labels.size)
    loss = np.mean(log_norm - shifted[labels, columns], dtype=np.float64)
    delta = np.exp(shifted - log_norm)
    delta[labels, columns] -= 1
    return loss, delta / labels.size, int(np.sum(np.argmax(logits, axis=0) == labels))


def sgd_update(param, grad, velocity, learning_rate, momentum, nesterov):
    """One SGD step by the textbook formula; returns new ``(param, velocity)``.

    ``v' = m v - lr g``; ``p' = p + v'``, or with Nesterov ``p' = p + m v' - lr g``.
    """
    velocity = momentum * velocity - learning_rate * grad
    step = momentum * velocity - learning_rate * grad if nesterov else velocity
    return param + step, velocity


def adam_update(param, grad, m, v, t, learning_rate, beta_1, beta_2, epsilon):
    """Adam's step ``t`` (from 1) by the textbook formula; returns new ``(param, m, v)``.

    ``m' = β₁ m + (1 - β₁) g``, ``v' = β₂ v + (1 - β₂) g²``, ``m̂ = m' / (1 - β₁ᵗ)``,
    ``v̂ = v' / (1 - β₂ᵗ)``, ``p' = p - lr m̂ / (√v̂ + ε̂)`` with scikit-learn's
    ``ε̂ = ε / √(1 - β₂ᵗ)``, which folds the correction into the step size.
    """
    m = beta_1 * m + (1 - beta_1) * grad
    v = beta_2 * v + (1 - beta_2) * grad**2
    m_hat = m / (1 - beta_1**t)
    v_hat = v / (1 - beta_2**t)
    eps_hat = epsilon / np.sqrt(1 - beta_2**t)
    return param - learning_rate * m_hat / (np.sqrt(v_hat) + eps_hat), m, v
