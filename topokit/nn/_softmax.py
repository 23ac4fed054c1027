"""Softmax cross-entropy of a minibatch's logits, in the kernels' panel layout, in one call.

One compiled pass per sample computes the loss, its gradient with respect to the
logits and the correct predictions, instead of a dozen NumPy calls on arrays of a few
kilobytes (docs/performance.md). :func:`topokit.nn._reference.softmax_cross_entropy`
is its NumPy counterpart.
"""

from __future__ import annotations

import math

import numpy as np

from topokit.nn import _compile

__all__ = ["softmax_cross_entropy"]


def softmax_cross_entropy(logits, labels, n_classes, delta):  # pragma: no cover - numba
    """Mean cross-entropy of ``softmax(logits)``, its gradient and the correct predictions.

    Parameters
    ----------
    logits : ndarray of shape (P · n_classes, width)
        The output layer's activations in the panel layout
        (:func:`topokit.nn._panels.panel_shape`): sample ``s`` is column ``s % width``
        of panel ``s // width``. Samples past ``labels.size`` are padding.
    labels : ndarray of int64, shape (batch,)
    n_classes : int
    delta : ndarray, shape and dtype of ``logits``
        Receives ``(softmax(logits) - onehot(labels)) / batch``, zero for padding.

    Returns
    -------
    loss : float
        ``mean(log Σ_c exp(z_c) - z_label)``, each term in the logits' dtype (shifted by
        the sample's largest logit), summed in float64.
    n_correct : int
        Samples whose first largest logit is their label (``numpy.argmax``'s choice).
    """
    width = logits.shape[1]
    batch = labels.size
    typed = np.zeros(3, dtype=delta.dtype)
    typed[1] = 1
    typed[2] = batch
    zero, one, scale = typed[0], typed[1], typed[2]  # in the arrays' dtype: values stay in it
    total = 0.0
    n_correct = 0
    for s in range(logits.shape[0] // n_classes * width):
        base = s // width * n_classes
        t = s % width
        if s >= batch:
            for c in range(n_classes):
                delta[base + c, t] = zero
            continue
        best = 0
        top = logits[base, t]
        for c in range(1, n_classes):
            if logits[base + c, t] > top:
                top = logits[base + c, t]
                best = c
        norm = zero
        for c in range(n_classes):
            norm += math.exp(logits[base + c, t] - top)
        log_norm = math.log(norm)
        label = labels[s]
        total += log_norm - (logits[base + label, t] - top)
        n_correct += best == label
        for c in range(n_classes):
            p = math.exp((logits[base + c, t] - top) - log_norm)
            if c == label:
                p -= one
            delta[base + c, t] = p / scale
    return total / max(batch, 1), n_correct


softmax_cross_entropy = _compile.jit(softmax_cross_entropy, error_model="numpy")
