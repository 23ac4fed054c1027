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

Each work item takes its arrays from the tuples by index, each on a line of its own (no
tuple unpacking). The textbook
formulas in NumPy, which the tests compare them with, are
:func:`topokit.nn._reference.sgd_update` and :func:`~topokit.nn._reference.adam_update`.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from topokit.nn import _compile

__all__ = ["CHUNK", "adam_update", "sgd_update"]


# Elements per work item. All of a call's arrays are cut into items of this many
# elements, and one parallel loop runs over all of them: a parallel loop per array
# started and joined the threads once per array (six times a step for a model of three
# layers), which cost more than the update of a memory-bound array of a few thousand
# elements.
CHUNK = 1 << 14


def _item_starts(params):  # pragma: no cover - numba
    """``starts[a]``: the first work item of array a; ``starts[-1]``: the number of items."""
    starts = np.zeros(len(params) + 1, dtype=np.int64)
    for a in range(len(params)):
        starts[a + 1] = starts[a] + (params[a].size + CHUNK - 1) // CHUNK
    return starts


def _array_of(starts, item):  # pragma: no cover - numba
    """The array that work item ``item`` belongs to (``starts`` from :func:`_item_starts`)."""
    a = 0
    while starts[a + 1] <= item:
        a += 1
    return a


def _sgd_range(
    param, grad, velocity, first, last, learning_rate, momentum, nesterov
):  # pragma: no cover - numba
    """:func:`sgd_update` of the elements ``[first, last)`` of one array.

    A function of its own, so that the loop sees the arrays by name, not as members of a
    tuple picked at run time; and over slices from 0, so that numba knows every index is
    non-negative and leaves out the wraparound of negative ones: the loop is vectorised
    (over ``range(first, last)`` it was not, and took five times as long).
    """
    param = param[first:last]
    grad = grad[first:last]
    velocity = velocity[first:last]
    for k in range(param.size):
        v = momentum * velocity[k] - learning_rate * grad[k]
        velocity[k] = v
        if nesterov:
            param[k] += momentum * v - learning_rate * grad[k]
        else:
            param[k] += v


def sgd_update(params, grads, velocities, learning_rate, momentum, nesterov):  # pragma: no cover
    """scikit-learn's SGD step in place on each array of the tuple ``params``.

    ``grads`` and ``velocities`` are tuples of the matching arrays (same shape);
    ``velocities`` are updated in place too. One parallel loop over the work items of
    every array (:data:`CHUNK` elements each).
    """
    starts = _item_starts(params)
    for item in prange(starts[-1]):
        a = _array_of(starts, item)
        param = params[a]
        grad = grads[a]
        velocity = velocities[a]
        first = (item - starts[a]) * CHUNK
        last = min(first + CHUNK, param.size)
        _sgd_range(param, grad, velocity, first, last, learning_rate, momentum, nesterov)


def _adam_range(
    param, grad, ms, vs, first, last, beta_1, beta_2, step_size, epsilon
):  # pragma: no cover - numba
    """:func:`adam_update` of the elements ``[first, last)`` of one array (as
    :func:`_sgd_range`)."""
    param = param[first:last]
    grad = grad[first:last]
    ms = ms[first:last]
    vs = vs[first:last]
    for k in range(param.size):
        g = grad[k]
        mk = beta_1 * ms[k] + (1.0 - beta_1) * g
        vk = beta_2 * vs[k] + (1.0 - beta_2) * g * g
        ms[k] = mk
        vs[k] = vk
        param[k] -= step_size * mk / (np.sqrt(vk) + epsilon)


def adam_update(params, grads, ms, vs, beta_1, beta_2, step_size, epsilon):  # pragma: no cover
    """scikit-learn's Adam step in place on each array of ``params``, as :func:`sgd_update`.

    ``ms`` and ``vs`` are the first and second moments, updated in place;
    ``step_size`` is already bias-corrected.
    """
    starts = _item_starts(params)
    for item in prange(starts[-1]):
        a = _array_of(starts, item)
        param = params[a]
        grad = grads[a]
        first_moment = ms[a]
        second_moment = vs[a]
        first = (item - starts[a]) * CHUNK
        last = min(first + CHUNK, param.size)
        _adam_range(
            *(param, grad, first_moment, second_moment, first, last),
            *(beta_1, beta_2, step_size, epsilon),
        )


_item_starts = _compile.jit(_item_starts, error_model="numpy")
_sgd_range = _compile.jit(_sgd_range, error_model="numpy")
_adam_range = _compile.jit(_adam_range, error_model="numpy")
_array_of = _compile.jit(_array_of, error_model="numpy")
sgd_update = _compile.parallel_and_serial(sgd_update)
adam_update = _compile.parallel_and_serial(adam_update)
