"""The dense network that pruning at initialisation scores, in float64 NumPy.

Layer ``k`` holds a dense weight matrix ``W[k]`` of shape (n_k, n_{k+1}); the biases are
zero (the network at initialisation, as :class:`~topokit.nn.SparseMLP` starts it), so a
layer computes ``z = a @ W``. Hidden layers apply the activation, the last feeds a softmax
with the mean cross-entropy loss. No weight decay: the scores are those of the data loss.

- :func:`initial_weights`: the weights :class:`~topokit.nn.SparseMLP` draws for the
  complete (dense) topology of ``sizes`` from the same Generator, in the same order.
- :func:`gradient`: the loss and ``dL/dW`` on a minibatch (SNIP).
- :func:`hessian_gradient_product`: ``dL/dW`` and ``H g`` with ``g = dL/dW``, ``H`` the
  Hessian of the loss with respect to all the weights (GraSP). ``H g`` is exact: the
  forward-mode derivative of the backward pass along ``g`` (Pearlmutter's R-operator,
  1994), not a finite difference of gradients.
- :func:`synflow_scores`: ``|W| * dR/d|W|`` for ``R = 1^T |W_1| ... |W_L| 1`` (SynFlow).
"""

from __future__ import annotations

import itertools

import numpy as np

__all__ = ["gradient", "hessian_gradient_product", "initial_weights", "synflow_scores"]


def _relu(z):
    return np.maximum(z, 0.0), (z > 0).astype(z.dtype), None


def _tanh(z):
    t = np.tanh(z)
    slope = 1.0 - t * t
    return t, slope, -2.0 * t * slope


def _logistic(z):
    s = 0.5 * (1.0 + np.tanh(0.5 * z))
    slope = s * (1.0 - s)
    return s, slope, slope * (1.0 - 2.0 * s)


def _identity(z):
    return z, np.ones_like(z), None


# name -> z -> (phi(z), phi'(z), phi''(z) or None where it is zero)
_ACTIVATIONS = {"relu": _relu, "tanh": _tanh, "logistic": _logistic, "identity": _identity}


def initial_weights(sizes, hidden_init: str, rng) -> list[np.ndarray]:
    """SparseMLP's initial weights of the complete topology of ``sizes``, as dense matrices.

    Hidden layers use ``hidden_init`` (``"he"``: std sqrt(2 / n_in); ``"glorot"``:
    sqrt(2 / (n_in + n_out))), the softmax layer Glorot; each layer draws
    ``n_in * n_out`` standard normals from ``rng`` in row-major order, as
    :meth:`SparseLinear.reset_parameters <topokit.nn.SparseLinear.reset_parameters>` does
    on a complete layer graph.
    """
    weights = []
    last = len(sizes) - 2
    for k, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        init = hidden_init if k < last else "glorot"
        scale = np.sqrt(2.0 / n_in) if init == "he" else np.sqrt(2.0 / (n_in + n_out))
        weights.append(rng.standard_normal(n_in * n_out).reshape(n_in, n_out) * scale)
    return weights


def _forward(weights, activation, X):
    """Inputs ``a[k]`` and pre-activations ``z[k]`` of every layer, and the softmax."""
    function = _ACTIVATIONS[activation]
    inputs, pre, slopes, curvatures = [np.asarray(X, dtype=np.float64)], [], [], []
    for k, W in enumerate(weights):
        z = inputs[-1] @ W
        pre.append(z)
        if k < len(weights) - 1:
            a, slope, curvature = function(z)
            inputs.append(a)
            slopes.append(slope)
            curvatures.append(curvature)
    logits = pre[-1]
    shifted = logits - logits.max(axis=1, keepdims=True)
    probabilities = np.exp(shifted)
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    return inputs, slopes, curvatures, probabilities


def _backward(weights, inputs, slopes, probabilities, y):
    """The loss, ``dL/dW[k]`` and the error ``delta[k] = dL/dz[k]`` of every layer."""
    batch = y.size
    loss = -float(np.mean(np.log(probabilities[np.arange(batch), y])))
    delta = probabilities.copy()
    delta[np.arange(batch), y] -= 1.0
    delta /= batch
    deltas = [None] * len(weights)
    grads = [None] * len(weights)
    for k in range(len(weights) - 1, -1, -1):
        deltas[k] = delta
        grads[k] = inputs[k].T @ delta
        if k > 0:
            delta = (delta @ weights[k].T) * slopes[k - 1]
    return loss, grads, deltas


def gradient(weights, activation: str, X, y):
    """The mean cross-entropy on ``(X, y)`` and its gradient with respect to each ``W[k]``.

    Returns
    -------
    loss : float
    grads : list of ndarray, each of the shape of its ``W[k]``
    """
    inputs, slopes, _, probabilities = _forward(weights, activation, X)
    loss, grads, _ = _backward(weights, inputs, slopes, probabilities, y)
    return loss, grads


def hessian_gradient_product(weights, activation: str, X, y):
    """The gradient ``g`` of the loss and the Hessian-vector product ``H g``.

    The R-operator ``R{f} = d/dr f(W + r g)`` at r = 0 carried through the forward and
    the backward pass: ``R{z[k]} = R{a[k]} W[k] + a[k] g[k]``, ``R{a[k+1]} = phi'(z[k])
    R{z[k]}``, ``R{p} = p (R{z} - <p, R{z}>)``, and backwards
    ``R{dL/dW[k]} = R{a[k]}^T delta[k] + a[k]^T R{delta[k]}``,
    ``R{delta[k-1]} = (R{delta[k]} W[k]^T + delta[k] g[k]^T) phi'(z[k-1])
    + (delta[k] W[k]^T) phi''(z[k-1]) R{z[k-1]}``.

    Returns
    -------
    grads, hessian_grads : list of ndarray, each of the shape of its ``W[k]``
    """
    inputs, slopes, curvatures, probabilities = _forward(weights, activation, X)
    _, grads, deltas = _backward(weights, inputs, slopes, probabilities, y)
    n_layers = len(weights)
    r_inputs = [None] * n_layers  # R{a[k]}; R{a[0]} = 0 (the data do not move)
    r_pre = [None] * n_layers
    for k in range(n_layers):
        r_z = inputs[k] @ grads[k]
        if k > 0:
            r_z += r_inputs[k] @ weights[k]
        r_pre[k] = r_z
        if k < n_layers - 1:
            r_inputs[k + 1] = slopes[k] * r_z
    r_logits = r_pre[-1]
    r_delta = probabilities * (r_logits - np.sum(probabilities * r_logits, axis=1, keepdims=True))
    r_delta /= y.size
    hessian_grads = [None] * n_layers
    for k in range(n_layers - 1, -1, -1):
        product = inputs[k].T @ r_delta
        if k > 0:
            product += r_inputs[k].T @ deltas[k]
        hessian_grads[k] = product
        if k > 0:
            back = r_delta @ weights[k].T + deltas[k] @ grads[k].T
            back *= slopes[k - 1]
            if curvatures[k - 1] is not None:
                back += (deltas[k] @ weights[k].T) * curvatures[k - 1] * r_pre[k - 1]
            r_delta = back
    return grads, hessian_grads


def synflow_scores(abs_weights) -> list[np.ndarray]:
    """SynFlow's scores ``|W| * dR/d|W|``, ``R = 1^T |W_1| |W_2| ... |W_L| 1``.

    The score of the edge (i, j) of layer k is the sum, over every input-to-output path
    through it, of the product of the path's ``|w|``: ``f[i] |W_k[i, j]| b[j]`` with
    ``f = 1^T |W_1| ... |W_{k-1}|`` and ``b = |W_{k+1}| ... |W_L| 1``.

    Parameters
    ----------
    abs_weights : list of ndarray
        ``|W[k]|`` of each layer (zero where pruned).

    Returns
    -------
    list of ndarray
    """
    forward = [np.ones(abs_weights[0].shape[0])]
    for matrix in abs_weights[:-1]:
        forward.append(forward[-1] @ matrix)
    backward = [None] * len(abs_weights)
    backward[-1] = np.ones(abs_weights[-1].shape[1])
    for k in range(len(abs_weights) - 1, 0, -1):
        backward[k - 1] = abs_weights[k] @ backward[k]
    scores = []
    for k, matrix in enumerate(abs_weights):
        score = matrix * backward[k]  # scales the columns
        score *= forward[k][:, None]  # and the rows, in place
        scores.append(score)
    return scores
