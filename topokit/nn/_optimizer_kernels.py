"""The optimizers' update steps, in place, on all of a model's arrays in one call.

Each kernel takes tuples of 1-D arrays of one dtype and layout (``params``, ``grads`` and
the optimizer's state, index by index) and updates every element independently, so the
result does not depend on the number of threads. The formulas are scikit-learn's
``MLPClassifier`` solvers', element by element:

* :func:`sgd_update`: ``v ← m·v − lr·g``, then ``p ← p + v``, or with Nesterov
  ``p ← p + m·v − lr·g`` (the new ``v``);
* :func:`adam_update`: ``m ← β₁·m + (1 − β₁)·g``, ``v ← β₂·v + (1 − β₂)·g²``,
  ``p ← p − step_size · m / (√v + ε)``, with the bias correction folded into
  ``step_size = lr · √(1 − β₂ᵗ) / (1 − β₁ᵗ)`` by the caller.

The loops over the tuple index each array on a line of its own (no tuple unpacking):
numba's parallel loop inside such a loop must see each array by name. The textbook
formulas in NumPy, which the tests compare them with, are
:func:`topokit.nn._reference.sgd_update` and :func:`~topokit.nn._reference.adam_update`.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from topokit.nn import _compile

__all__ = ["adam_update", "sgd_update"]


def sgd_update(params, grads, velocities, learning_rate, momentum, nesterov):  # pragma: no cover
    """scikit-learn's SGD step in place on each array of the tuple ``params``.

    ``grads`` and ``velocities`` are tuples of the matching arrays (same shape);
    ``velocities`` are updated in place too.
    """
    for a in range(len(params)):
        param = params[a]
        grad = grads[a]
        velocity = velocities[a]
        for k in prange(param.size):
            v = momentum * velocity[k] - learning_rate * grad[k]
            velocity[k] = v
            if nesterov:
                param[k] += momentum * v - learning_rate * grad[k]
            else:
                param[k] += v


def adam_update(params, grads, ms, vs, beta_1, beta_2, step_size, epsilon):  # pragma: no cover
    """scikit-learn's Adam step in place on each array of ``params``, as :func:`sgd_update`.

    ``ms`` and ``vs`` are the first and second moments, updated in place;
    ``step_size`` is already bias-corrected.
    """
    for a in range(len(params)):
        param = params[a]
        grad = grads[a]
        first = ms[a]
        second = vs[a]
        for k in prange(param.size):
            g = grad[k]
            mk = beta_1 * first[k] + (1.0 - beta_1) * g
            vk = beta_2 * second[k] + (1.0 - beta_2) * g * g
            first[k] = mk
            second[k] = vk
            param[k] -= step_size * mk / (np.sqrt(vk) + epsilon)


sgd_update = _compile.parallel_and_serial(sgd_update)
adam_update = _compile.parallel_and_serial(adam_update)
