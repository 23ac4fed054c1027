"""Numba kernels for sparse layers, on activations held feature-major: ``(n, batch)``.

Every kernel gives each output element to exactly one thread and sums in an order
fixed at compile time, so results do not depend on the number of threads.

A layer's weights are the CSR ``(indptr, indices, data)`` of its ``(n_in, n_out)``
pattern (row i = input neuron i). The forward pass reads the same pattern column by
column through a CSC copy of the index arrays (``col_ptr``, ``col_rows``) and a
permutation ``col_perm`` into ``data``, so each output neuron is a parallel gather.

Speed notes (measured, see benchmarks/bench_training.py): a gather over a batch of
128 float32 moves one 512-byte activation row per edge for 256 FLOPs, so it runs at
cache bandwidth, not at FMA throughput. What helped: fused multiply-adds, a
thread-private accumulator row per neuron (no aliasing checks between it and the
rows read), eight edges per pass over it, and dot products of four edges sharing
an input row in the weight gradient. Tiling the batch did not help (per-pass
overhead grows faster than the cache misses shrink).
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
# pool costs more than the work (measured: the default study's 128-wide layers at
# batch 32 ran 6x slower on two threads). Results are identical either way (same order).
_PARALLEL_WORK = 1 << 20

# Output neurons per parallel work item of forward / backward_inputs; each item
# allocates one accumulator row.
_BLOCK = 16


def _jit(kernel, **options):
    """``njit(cache=True)``, or without the on-disk cache where numba has nowhere to write.

    numba raises ``RuntimeError: cannot cache function ...: no locator available``
    at decoration when neither ``NUMBA_CACHE_DIR``, the package's ``__pycache__`` nor
    the user's cache directory is writable (a read-only install with no home). The
    kernels then compile on first use in each process instead.
    """
    try:
        return njit(cache=True, **options)(kernel)
    except RuntimeError as exc:
        if "no locator available" not in str(exc):
            raise
        return njit(cache=False, **options)(kernel)


def _compiled(kernel, fastmath=False):
    """A kernel compiled twice: multithreaded and serial, called by amount of work."""
    options = {"fastmath": fastmath, "error_model": "numpy"}
    parallel = _jit(kernel, parallel=True, **options)
    # A distinct function object and name, so the two versions have separate cache files.
    serial_kernel = types.FunctionType(
        kernel.__code__, kernel.__globals__, kernel.__name__ + "_serial", kernel.__defaults__
    )
    serial_kernel.__qualname__ = kernel.__qualname__ + "_serial"
    serial = _jit(serial_kernel, parallel=False, **options)

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
    "row_sums",
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


def forward(col_ptr, col_rows, col_perm, data, bias, xt, yt, relu=False):  # pragma: no cover
    """``yt[j, :] = bias[j] + sum over inputs i of W[i, j] * xt[i, :]`` (one thread per j).

    With ``relu``, stores ``numpy.maximum(y, 0)`` instead (same values as applying it
    after: a hidden layer's activation fused into the pass that writes ``yt``).

    Edges are added one after another in column order, each as one fused multiply-add
    per element; eight at a time share one pass over a private accumulator row (same
    order, so the same result as one at a time), stored into ``yt[j]`` at the end.
    Each block of columns first gathers its weights into column order, once, rather
    than once per edge from scattered places inside the per-column loop.
    """
    n_out, batch = yt.shape
    typed = np.zeros(1, dtype=yt.dtype)
    zero = typed[0]  # 0 in the arrays' dtype, so that the stores stay in it
    col_data = np.empty(col_perm.size, dtype=data.dtype)
    for block in prange((n_out + _BLOCK - 1) // _BLOCK):
        acc = np.empty(batch, dtype=yt.dtype)
        first = block * _BLOCK
        last = min(first + _BLOCK, n_out)
        for k in range(col_ptr[first], col_ptr[last]):  # this block's weights, column order
            col_data[k] = data[col_perm[k]]
        for j in range(first, last):
            b = bias[j]
            for t in range(batch):
                acc[t] = b
            k = col_ptr[j]
            end = col_ptr[j + 1]
            while k + 8 <= end:
                w0 = col_data[k]
                w1 = col_data[k + 1]
                w2 = col_data[k + 2]
                w3 = col_data[k + 3]
                w4 = col_data[k + 4]
                w5 = col_data[k + 5]
                w6 = col_data[k + 6]
                w7 = col_data[k + 7]
                r0 = xt[col_rows[k]]
                r1 = xt[col_rows[k + 1]]
                r2 = xt[col_rows[k + 2]]
                r3 = xt[col_rows[k + 3]]
                r4 = xt[col_rows[k + 4]]
                r5 = xt[col_rows[k + 5]]
                r6 = xt[col_rows[k + 6]]
                r7 = xt[col_rows[k + 7]]
                for t in range(batch):
                    s = ((acc[t] + w0 * r0[t]) + w1 * r1[t]) + w2 * r2[t]
                    s = (((s + w3 * r3[t]) + w4 * r4[t]) + w5 * r5[t]) + w6 * r6[t]
                    acc[t] = s + w7 * r7[t]
                k += 8
            while k < end:
                w = col_data[k]
                row = xt[col_rows[k]]
                for t in range(batch):
                    acc[t] += w * row[t]
                k += 1
            out = yt[j]
            if relu:
                for t in range(batch):
                    v = acc[t]
                    # numpy.maximum(v, 0): keeps v when v >= 0 or v is NaN
                    out[t] = v if (v >= 0 or v != v) else zero
            else:
                for t in range(batch):
                    out[t] = acc[t]


def backward_inputs(indptr, indices, data, gt, gxt, relu_out=None):  # pragma: no cover
    """``gxt[i, :] = sum over outputs j of W[i, j] * gt[j, :]`` (one thread per i).

    Same scheme as :func:`forward`, over the rows of the CSR pattern. With
    ``relu_out`` (the ReLU outputs that fed this layer, shape of ``gxt``), each sum is
    multiplied by ``relu_out > 0`` (as 1 or 0) before it is stored: the ReLU
    derivative fused into the pass that writes ``gxt``.
    """
    n_in, batch = gxt.shape
    typed = np.array([0, 1], dtype=gxt.dtype)
    zero, one = typed[0], typed[1]  # in the arrays' dtype, so that products stay in it
    for block in prange((n_in + _BLOCK - 1) // _BLOCK):
        acc = np.empty(batch, dtype=gxt.dtype)
        for i in range(block * _BLOCK, min(block * _BLOCK + _BLOCK, n_in)):
            for t in range(batch):
                acc[t] = 0.0
            k = indptr[i]
            end = indptr[i + 1]
            while k + 8 <= end:
                w0 = data[k]
                w1 = data[k + 1]
                w2 = data[k + 2]
                w3 = data[k + 3]
                w4 = data[k + 4]
                w5 = data[k + 5]
                w6 = data[k + 6]
                w7 = data[k + 7]
                r0 = gt[indices[k]]
                r1 = gt[indices[k + 1]]
                r2 = gt[indices[k + 2]]
                r3 = gt[indices[k + 3]]
                r4 = gt[indices[k + 4]]
                r5 = gt[indices[k + 5]]
                r6 = gt[indices[k + 6]]
                r7 = gt[indices[k + 7]]
                for t in range(batch):
                    s = ((acc[t] + w0 * r0[t]) + w1 * r1[t]) + w2 * r2[t]
                    s = (((s + w3 * r3[t]) + w4 * r4[t]) + w5 * r5[t]) + w6 * r6[t]
                    acc[t] = s + w7 * r7[t]
                k += 8
            while k < end:
                w = data[k]
                row = gt[indices[k]]
                for t in range(batch):
                    acc[t] += w * row[t]
                k += 1
            out = gxt[i]
            if relu_out is None:
                for t in range(batch):
                    out[t] = acc[t]
            else:
                active = relu_out[i]
                for t in range(batch):
                    out[t] = acc[t] * (one if active[t] > 0 else zero)


def sddmm(indptr, indices, xt, gt, out, zero):  # pragma: no cover - numba
    """``out[k] = dot(xt[i], gt[j])`` for the k-th stored entry (i, j): ``(Xᵀ G)`` sampled.

    One thread per input row i; four of its edges at a time share each load of
    ``xt[i]``. ``zero`` is 0 in the arrays' dtype (the sums run in it). The dot
    products are the one loop compiled with reassociation, so that they vectorise;
    the order it fixes depends only on the pattern, the same on every call and thread.
    """
    batch = xt.shape[1]
    for i in prange(indptr.size - 1):
        a = xt[i]
        k = indptr[i]
        end = indptr[i + 1]
        while k + 4 <= end:
            b0 = gt[indices[k]]
            b1 = gt[indices[k + 1]]
            b2 = gt[indices[k + 2]]
            b3 = gt[indices[k + 3]]
            s0 = zero
            s1 = zero
            s2 = zero
            s3 = zero
            for t in range(batch):
                at = a[t]
                s0 += at * b0[t]
                s1 += at * b1[t]
                s2 += at * b2[t]
                s3 += at * b3[t]
            out[k] = s0
            out[k + 1] = s1
            out[k + 2] = s2
            out[k + 3] = s3
            k += 4
        while k < end:
            b = gt[indices[k]]
            s = zero
            for t in range(batch):
                s += a[t] * b[t]
            out[k] = s
            k += 1


# Longest row :func:`row_sums` sums (numpy's pairwise-summation block, PW_BLOCKSIZE).
ROW_SUM_MAX = 128


def _block_sum(a, n, zero):  # pragma: no cover - numba
    """numpy's pairwise sum of ``a[:n]`` for ``n <= 128``, in the same order.

    Under 8 terms one running sum; otherwise eight running sums over strides of 8,
    combined as ``((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))``, then the
    leftover terms one by one (numpy/_core/src/umath/loops_utils.h.src).
    """
    if n < 8:
        res = zero
        for i in range(n):
            res += a[i]
        return res
    r0 = a[0]
    r1 = a[1]
    r2 = a[2]
    r3 = a[3]
    r4 = a[4]
    r5 = a[5]
    r6 = a[6]
    r7 = a[7]
    i = 8
    whole = n - n % 8
    while i < whole:
        r0 += a[i]
        r1 += a[i + 1]
        r2 += a[i + 2]
        r3 += a[i + 3]
        r4 += a[i + 4]
        r5 += a[i + 5]
        r6 += a[i + 6]
        r7 += a[i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[i]
        i += 1
    return res


def row_sums(gt, out):  # pragma: no cover - numba
    """``out[j] = numpy.sum(gt[j])``, bit for bit, for rows of at most 128 (one thread per j).

    numpy's add-reduction starts from its identity 0 and adds the pairwise sum of
    the row; so does this (``0 + s`` turns a sum of -0.0 into 0.0, as numpy does).
    """
    n, batch = gt.shape
    zero = np.zeros(1, dtype=out.dtype)[0]
    for j in prange(n):
        out[j] = zero + _block_sum(gt[j], batch, zero)


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


_block_sum = _jit(_block_sum, inline="always", error_model="numpy")
# "contract": one fused multiply-add per term, same order as written.
forward = _compiled(forward, fastmath={"contract"})
backward_inputs = _compiled(backward_inputs, fastmath={"contract"})
sddmm = _compiled(sddmm, fastmath={"reassoc", "contract"})
row_sums = _compiled(row_sums)
sgd_update = _compiled(sgd_update)
adam_update = _compiled(adam_update)
