"""Sums over the panel layout in a fixed order: bias gradients and the panels' totals.

* :func:`row_sums` gives the bias gradient ``out[j] = Σ_p Σ_t g[p · n + j, t]``: each
  panel's row summed exactly as ``numpy.sum`` sums it (pairwise, rows of at most
  :data:`ROW_SUM_MAX`), the panels' sums added in panel order. With one panel it is
  ``numpy.sum(g, axis=1)`` bit for bit.
* :func:`add_panels` adds per-panel rows ``parts`` of shape ``(P, m)`` in panel order,
  ``out[k] = ((parts[0, k] + parts[1, k]) + ...) + decay · weights[k]``: the weight
  gradient of a minibatch from its panels' gradients, with L2 regularisation's term.
* :func:`add_weight_decay` is that last term alone, in place.
* :func:`sum_of_squares` is ``Σ_k weights[k]²`` (the L2 penalty), in blocks of
  :data:`SQUARES_BLOCK` summed in block order.

Each output element is computed by one thread in a fixed order, so results do not
depend on the number of threads (see :mod:`topokit.nn._panels`). The tests compare
:func:`row_sums` with ``numpy.sum`` bit for bit (:func:`topokit.nn._reference.row_sums`).
"""

from __future__ import annotations

import numpy as np
from numba import prange

from topokit.nn import _compile, _simd

__all__ = [
    "ROW_SUM_MAX",
    "SQUARES_BLOCK",
    "add_panels",
    "add_weight_decay",
    "block_sum",
    "row_sums",
    "squares_blocks",
    "sum_of_squares",
]

# Longest row :func:`row_sums` sums (numpy's pairwise-summation block, PW_BLOCKSIZE).
ROW_SUM_MAX = 128

# Elements per block of :func:`sum_of_squares`: the unit of its work split.
SQUARES_BLOCK = 4096


def block_sum(a, row, n, zero):  # pragma: no cover - numba
    """numpy's pairwise sum of ``a[row, :n]`` for ``n <= 128``, in the same order.

    Under 8 terms one running sum; otherwise eight running sums over strides of 8
    (one eight-element vector, :func:`_simd.load8`), combined as
    ``((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))``, then the leftover terms
    one by one (numpy/_core/src/umath/loops_utils.h.src). ``zero`` is 0 in ``a``'s
    dtype.
    """
    if n < 8:
        res = zero
        for i in range(n):
            res += a[row, i]
        return res
    r = _simd.load8(a, row, 0)
    whole = n - n % 8
    for i in range(8, whole, 8):
        r = _simd.add(r, _simd.load8(a, row, i))
    res = _simd.pairwise_total8(r)
    for i in range(whole, n):
        res += a[row, i]
    return res


def row_sums(gt, out):  # pragma: no cover - numba
    """``out[j]``: the sum of row j over every panel, rows of at most 128 (a thread per j).

    ``gt`` is ``(P · n, width)`` in the panel layout, ``out`` of shape ``(n,)``. With
    one panel, ``numpy.sum(gt[j])`` bit for bit: numpy's add-reduction starts from its
    identity 0 and adds the pairwise sum of the row; so does this (``0 + s`` turns a
    sum of -0.0 into 0.0, as numpy does). With P panels, each panel's sum so taken,
    added in panel order.
    """
    n = out.size
    n_panels = gt.shape[0] // max(n, 1)
    batch = gt.shape[1]
    zero = np.zeros(1, dtype=out.dtype)[0]
    for j in prange(n):
        total = zero + block_sum(gt, j, batch, zero)
        for p in range(1, n_panels):
            total += zero + block_sum(gt, p * n + j, batch, zero)
        out[j] = total


def add_panels(parts, out, weights=None, decay=0.0):  # pragma: no cover - numba
    """``out[k] = parts[0, k] + parts[1, k] + ... (+ decay · weights[k])``, a parallel loop.

    ``parts`` has shape ``(P, m)``; the panels are added in order, and ``decay`` is
    cast to ``out``'s dtype first, so the sums stay in it. ``out`` may be ``parts[0]``.
    Inlined into the kernels that call it, as their second parallel loop.
    """
    n_panels = parts.shape[0]
    scale = out.dtype.type(decay)  # in the arrays' dtype, so that the sums stay in it
    for k in prange(out.size):
        total = parts[0, k]
        for p in range(1, n_panels):
            total += parts[p, k]
        if weights is not None:
            total += scale * weights[k]
        out[k] = total


def add_weight_decay(grad, weights, decay):  # pragma: no cover - numba
    """``grad += decay · weights`` in place, as :func:`add_panels` adds it (no temporary)."""
    add_panels(grad.reshape(1, grad.size), grad, weights, decay)


def sum_of_squares(weights, partial):  # pragma: no cover - numba
    """``Σ_k weights[k]²`` in ``weights``' dtype, in an order fixed by the size alone.

    Block b holds elements ``[b · SQUARES_BLOCK, (b + 1) · SQUARES_BLOCK)``; it is summed
    in eight running sums over strides of 8 (element k into sum ``k % 8``, one fused
    multiply-add each), combined as ``((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))``,
    then its leftover elements one by one; ``partial`` (of shape
    ``(ceil(size / SQUARES_BLOCK),)``, ``weights``' dtype) receives the block sums, which
    are added in block order. A thread per block: the result does not depend on the
    number of threads.
    """
    n = weights.size
    zero = np.zeros(1, dtype=partial.dtype)[0]
    for b in prange(partial.size):
        start = b * SQUARES_BLOCK
        stop = min(start + SQUARES_BLOCK, n)
        s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = zero
        k = start
        while k + 8 <= stop:
            s0 += weights[k] * weights[k]
            s1 += weights[k + 1] * weights[k + 1]
            s2 += weights[k + 2] * weights[k + 2]
            s3 += weights[k + 3] * weights[k + 3]
            s4 += weights[k + 4] * weights[k + 4]
            s5 += weights[k + 5] * weights[k + 5]
            s6 += weights[k + 6] * weights[k + 6]
            s7 += weights[k + 7] * weights[k + 7]
            k += 8
        total = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
        for i in range(k, stop):
            total += weights[i] * weights[i]
        partial[b] = total
    result = zero
    for b in range(partial.size):
        result += partial[b]
    return result


def squares_blocks(size) -> int:
    """Number of blocks of :func:`sum_of_squares` for ``size`` elements (at least 1).

    Examples
    --------
    >>> squares_blocks(0), squares_blocks(SQUARES_BLOCK), squares_blocks(SQUARES_BLOCK + 1)
    (1, 1, 2)
    """
    return max(1, -(-size // SQUARES_BLOCK))


block_sum = _compile.jit(block_sum, inline="always", error_model="numpy")
add_panels = _compile.jit(add_panels, inline="always", error_model="numpy")
row_sums = _compile.parallel_and_serial(row_sums)
add_weight_decay = _compile.parallel_and_serial(add_weight_decay, fastmath=_compile.CONTRACT)
sum_of_squares = _compile.parallel_and_serial(sum_of_squares, fastmath=_compile.CONTRACT)
