"""Numba kernels for sparse layers, on activations held feature-major: ``(n, batch)``.

Every kernel gives each output element to exactly one thread and sums in an order
fixed at compile time, so results do not depend on the number of threads.

A layer's weights are the CSR ``(indptr, indices, data)`` of its ``(n_in, n_out)``
pattern (row i = input neuron i). The forward pass reads the same pattern column by
column through a CSC copy of the index arrays (``col_ptr``, ``col_rows``) and a
permutation ``col_perm`` into ``data``, so each output neuron is a parallel gather.
"""

from __future__ import annotations

import os
import types

# numba's OpenMP threads spin while idle by default; next to OpenBLAS's threads on a
# loaded machine that spinning slows every step by orders of magnitude. A user's own
# setting wins; it must be in place before numba first starts its thread pool.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
from numba import njit, prange

# Below this many multiply-adds a kernel runs on the calling thread: starting the
# pool costs more than the work. Results are identical either way (same order).
_PARALLEL_WORK = 1 << 16


def _compiled(kernel, fastmath=False):
    """A kernel compiled twice: multithreaded and serial, called by amount of work."""
    parallel = njit(parallel=True, fastmath=fastmath, cache=True)(kernel)
    # A distinct function object and name, so the two versions have separate cache files.
    serial_kernel = types.FunctionType(
        kernel.__code__, kernel.__globals__, kernel.__name__ + "_serial"
    )
    serial_kernel.__qualname__ = kernel.__qualname__ + "_serial"
    serial = njit(parallel=False, fastmath=fastmath, cache=True)(serial_kernel)

    def run(work, *args):
        return (parallel if work >= _PARALLEL_WORK else serial)(*args)

    run.__name__ = kernel.__name__
    run.__doc__ = kernel.__doc__
    run.parallel, run.serial = parallel, serial
    return run


__all__ = [
    "adam_update",
    "backward_inputs",
    "csc_layout",
    "forward",
    "sddmm",
    "sgd_update",
]


def csc_layout(indptr: np.ndarray, indices: np.ndarray, n_out: int):
    """Column pointers, row of each column entry, and its position in the CSR data.

    Returns
    -------
    col_ptr : ndarray of shape (n_out + 1,)
    col_rows : ndarray of shape (n_edges,)
    col_perm : ndarray of shape (n_edges,)
        ``data[col_perm[k]]`` is the weight of the k-th entry in column-major order.
    """
    index_dtype = indices.dtype
    n_edges = indices.size
    col_perm = np.argsort(indices, kind="stable").astype(index_dtype)
    rows = np.repeat(np.arange(indptr.size - 1, dtype=index_dtype), np.diff(indptr))
    col_rows = rows[col_perm]
    col_ptr = np.zeros(n_out + 1, dtype=np.int64 if n_edges >= 2**31 else index_dtype)
    np.cumsum(np.bincount(indices, minlength=n_out), out=col_ptr[1:])
    return col_ptr, col_rows, col_perm


def forward(col_ptr, col_rows, col_perm, data, bias, xt, yt):  # pragma: no cover - numba
    """``yt[j, :] = bias[j] + sum over inputs i of W[i, j] * xt[i, :]`` (one thread per j).

    Edges are added one after another in column order; four at a time share one pass
    over the output row (same order, so the same result as one at a time).
    """
    n_out, batch = yt.shape
    for j in prange(n_out):
        out = yt[j]
        b = bias[j]
        for t in range(batch):
            out[t] = b
        k = col_ptr[j]
        end = col_ptr[j + 1]
        while k + 4 <= end:
            w0 = data[col_perm[k]]
            w1 = data[col_perm[k + 1]]
            w2 = data[col_perm[k + 2]]
            w3 = data[col_perm[k + 3]]
            r0 = xt[col_rows[k]]
            r1 = xt[col_rows[k + 1]]
            r2 = xt[col_rows[k + 2]]
            r3 = xt[col_rows[k + 3]]
            for t in range(batch):
                out[t] = (((out[t] + w0 * r0[t]) + w1 * r1[t]) + w2 * r2[t]) + w3 * r3[t]
            k += 4
        while k < end:
            w = data[col_perm[k]]
            row = xt[col_rows[k]]
            for t in range(batch):
                out[t] += w * row[t]
            k += 1


def backward_inputs(indptr, indices, data, gt, gxt):  # pragma: no cover - numba
    """``gxt[i, :] = sum over outputs j of W[i, j] * gt[j, :]`` (one thread per i).

    Same scheme as :func:`forward`, over the rows of the CSR pattern.
    """
    n_in, batch = gxt.shape
    for i in prange(n_in):
        out = gxt[i]
        for t in range(batch):
            out[t] = 0.0
        k = indptr[i]
        end = indptr[i + 1]
        while k + 4 <= end:
            w0 = data[k]
            w1 = data[k + 1]
            w2 = data[k + 2]
            w3 = data[k + 3]
            r0 = gt[indices[k]]
            r1 = gt[indices[k + 1]]
            r2 = gt[indices[k + 2]]
            r3 = gt[indices[k + 3]]
            for t in range(batch):
                out[t] = (((out[t] + w0 * r0[t]) + w1 * r1[t]) + w2 * r2[t]) + w3 * r3[t]
            k += 4
        while k < end:
            w = data[k]
            row = gt[indices[k]]
            for t in range(batch):
                out[t] += w * row[t]
            k += 1


def sddmm(edge_rows, indices, xt, gt, out, zero):  # pragma: no cover - numba
    """``out[k] = dot(xt[i], gt[j])`` for the k-th stored entry (i, j): ``(Xᵀ G)`` sampled.

    ``zero`` is 0 in the arrays' dtype (the sums run in it). The dot product over the
    batch is the one loop compiled with reassociation, so that it vectorises; the
    order it fixes is the same on every call and thread.
    """
    batch = xt.shape[1]
    for k in prange(out.size):
        a = xt[edge_rows[k]]
        b = gt[indices[k]]
        total = zero
        for t in range(batch):
            total += a[t] * b[t]
        out[k] = total


def sgd_update(param, grad, velocity, learning_rate, momentum, nesterov):  # pragma: no cover
    """scikit-learn's SGD step in place: ``v = m v - lr g``, then ``p += v``."""
    for k in prange(param.size):
        v = momentum * velocity[k] - learning_rate * grad[k]
        velocity[k] = v
        if nesterov:
            param[k] += momentum * v - learning_rate * grad[k]
        else:
            param[k] += v


def adam_update(param, grad, m, v, beta_1, beta_2, step_size, epsilon):  # pragma: no cover
    """scikit-learn's Adam step in place, ``step_size`` already bias-corrected."""
    for k in prange(param.size):
        g = grad[k]
        mk = beta_1 * m[k] + (1.0 - beta_1) * g
        vk = beta_2 * v[k] + (1.0 - beta_2) * g * g
        m[k] = mk
        v[k] = vk
        param[k] -= step_size * mk / (np.sqrt(vk) + epsilon)


forward = _compiled(forward)
backward_inputs = _compiled(backward_inputs)
sddmm = _compiled(sddmm, fastmath={"reassoc"})
sgd_update = _compiled(sgd_update)
adam_update = _compiled(adam_update)
