"""The weight gradient of a sparse layer alone: ``X Gᵀ`` sampled at the pattern (an SDDMM).

For the k-th stored entry (i, j) of the CSR pattern and each panel p of the panel
layout (:mod:`topokit.nn._panels`), with ``xt`` of shape ``(P · n_in, width)`` and
``gt`` of shape ``(P · n_out, width)``::

    out[p, k] = Σ_t xt[p·n_in + i, t] · gt[p·n_out + j, t]

and, with several panels or a weight decay, ``total[k] = Σ_p out[p, k] + decay ·
data[k]`` added in panel order (:func:`topokit.nn._panel_sums.add_panels`). This is
the first layer's backward pass, which needs no input gradient; the other layers use
the fused :func:`topokit.nn._layer_backward.backward`, which computes the same values
bit for bit.

Every ``out[p, k]`` is one sum in a fixed order (:func:`_sddmm_row`): batch tiles of
eight vectors, then one of four if it fits (each tile's dot product as
:func:`topokit.nn._simd.dot_tile` orders it), then the leftover vectors in one running
vector, then the leftover elements, each part added to ``out[p, k]`` in that order.
Work items are (panel, column block, range of rows); neither the blocks nor the ranges
change any value. Its NumPy counterpart, which the tests compare it with, is
:func:`topokit.nn._reference.weight_gradient`.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from topokit.nn import _compile, _simd
from topokit.nn._compile import PREFETCH

# imported by name: numba inlines an ``inline="always"`` function called as a global
from topokit.nn._panel_sums import add_panels

__all__ = ["column_blocks", "sddmm"]


def column_blocks(indptr, indices, n_out, n_blocks):
    """Split a CSR pattern's columns into ``n_blocks`` blocks, for :func:`sddmm`.

    Parameters
    ----------
    indptr, indices : ndarray
        The CSR pattern of shape (n_in, n_out), indices sorted within each row.
    n_out, n_blocks : int

    Returns
    -------
    block_ptr : ndarray of shape (n_in, n_blocks + 1)
        Row i's edges into block b are ``block_ptr[i, b]:block_ptr[i, b + 1]``; block
        b holds the columns from ``b · ceil(n_out / n_blocks)`` up to the next.

    Examples
    --------
    >>> import numpy as np
    >>> column_blocks(np.array([0, 3]), np.array([0, 2, 3]), 4, 2).tolist()
    [[0, 1, 3]]
    """
    n_in = indptr.size - 1
    block_width = max(1, -(-n_out // max(n_blocks, 1)))
    n_blocks = max(1, -(-n_out // block_width))
    block_ptr = np.empty((n_in, n_blocks + 1), dtype=indptr.dtype)
    _fill_block_ptr(indptr, indices, block_width, block_ptr)
    return block_ptr


def _fill_block_ptr(indptr, indices, block_width, block_ptr):  # pragma: no cover - numba
    n_blocks = block_ptr.shape[1] - 1
    for i in range(indptr.size - 1):
        k = indptr[i]
        end = indptr[i + 1]
        for b in range(n_blocks):
            block_ptr[i, b] = k
            limit = (b + 1) * block_width
            while k < end and indices[k] < limit:
                k += 1
        block_ptr[i, n_blocks] = end


def _dot_vector_at(k, indices, x, gt, t0, count):  # pragma: no cover - numba
    """:func:`_simd.dot_vector` of ``x`` and edge k's tile of ``gt``."""
    return _simd.dot_vector(x, _simd.load_tile(gt, _simd.at(indices, k), t0, count))


def _dot_tile_row(i, k0, k1, indices, xt, gt, out, t0, count):  # pragma: no cover - numba
    """``out[k] += dot(xt[i], gt[indices[k]])`` over one tile of ``count`` vectors from ``t0``.

    Edges go four at a time, their dot products totalled together
    (:func:`_simd.add_totals`, the same bits as four :func:`_simd.dot_tile`), then the
    rest one by one.
    """
    # ``count`` is a constant at every call, and numba inlines this function there
    # (inline="always"): the intrinsics see it as a literal, and no call per row
    x = _simd.load_tile(xt, i, t0, count)
    k = k0
    while k + 4 <= k1:
        if k + PREFETCH + 4 <= k1:
            for ahead in range(k + PREFETCH, k + PREFETCH + 4):
                _simd.prefetch_tile(gt, _simd.at(indices, ahead), t0, count)
        d0 = _dot_vector_at(k, indices, x, gt, t0, count)
        d1 = _dot_vector_at(k + 1, indices, x, gt, t0, count)
        d2 = _dot_vector_at(k + 2, indices, x, gt, t0, count)
        d3 = _dot_vector_at(k + 3, indices, x, gt, t0, count)
        _simd.add_totals(out, k, (d0, d1, d2, d3), False)
        k += 4
    rest = k
    for k in range(rest, k1):
        if k + PREFETCH < k1:
            _simd.prefetch_tile(gt, _simd.at(indices, k + PREFETCH), t0, count)
        out[k] += _simd.dot_tile(x, _simd.load_tile(gt, _simd.at(indices, k), t0, count))


def sddmm_row(i, k0, k1, indices, xt, gt, out, zero, t_start=0):  # pragma: no cover - numba
    """``out[k] += dot(xt[i, t_start:], gt[indices[k], t_start:])`` for k in [k0, k1).

    Batch tiles of eight vectors first, then one of four if that fits (``xt[i]``'s
    tile held in registers across the edges, :func:`_simd.dot_tile`), then the
    leftover vectors in one running vector, then the leftover elements one by one,
    each part added to ``out[k]`` in that order. ``zero`` is 0 in the arrays' dtype.
    """
    batch = xt.shape[1]
    step = _simd.lanes(xt)
    t0 = t_start
    while t0 + 8 * step <= batch:
        _dot_tile_row(i, k0, k1, indices, xt, gt, out, t0, 8)
        t0 += 8 * step
    if t0 + 4 * step <= batch:
        _dot_tile_row(i, k0, k1, indices, xt, gt, out, t0, 4)
        t0 += 4 * step
    if t0 + step <= batch:
        vector_end = batch - (batch - t0) % step
        for k in range(k0, k1):
            j = indices[k]
            acc = _simd.mul(_simd.load(xt, i, t0), _simd.load(gt, j, t0))
            for t in range(t0 + step, vector_end, step):
                acc = _simd.fma(_simd.load(xt, i, t), _simd.load(gt, j, t), acc)
            out[k] += _simd.total(acc)
        t0 = vector_end
    if t0 < batch:
        for k in range(k0, k1):
            j = indices[k]
            s = zero
            for t in range(t0, batch):
                s = s + xt[i, t] * gt[j, t]  # contracted: one fused multiply-add
            out[k] += s


def sddmm(
    block_ptr, indices, xt, gt, out, zero, n_chunks=1, total=None, data=None, decay=0.0
):  # pragma: no cover - numba
    """``out[p, k] = dot(xt[i], gt[j])`` over panel p, for the k-th stored entry (i, j).

    Parameters
    ----------
    block_ptr : ndarray of shape (n_in, n_blocks + 1)
        :func:`column_blocks`'s split of the CSR rows; a single block is ``indptr``
        as one column, ``numpy.stack([indptr[:-1], indptr[1:]], axis=1)``.
    indices : ndarray of shape (n_edges,)
        The pattern's CSR column indices.
    xt : ndarray of shape (P · n_in, width)
    gt : ndarray of shape (P · n_out, width)
        The layer's input and output gradient in the panel layout.
    out : ndarray of shape (P, n_edges)
        Receives each panel's weight gradient in its row.
    zero : scalar
        0 in the arrays' dtype (the sums run in it).
    n_chunks : int, default 1
        Each block's rows are split into this many ranges of work items.
    total, data, decay : optional
        With several panels or a nonzero ``decay``, ``total`` (shape (n_edges,))
        receives the rows of ``out`` added in panel order plus ``decay · data``, in a
        second parallel loop of the same call.

    Work items are (panel, column block, range of rows). With a column block per
    thread, a thread reads only the rows of ``gt`` in its block, the ones it wrote in
    the previous layer's backward pass (both split their range in contiguous halves).
    """
    n_in = block_ptr.shape[0]
    n_blocks = block_ptr.shape[1] - 1
    n_panels = out.shape[0]
    n_out = gt.shape[0] // n_panels
    n_chunks = max(n_chunks, 1)
    rows_per_chunk = max(1, -(-n_in // n_chunks))
    items_per_panel = n_blocks * n_chunks
    for item in prange(n_panels * items_per_panel):
        p = item // items_per_panel
        b = (item % items_per_panel) // n_chunks
        first = (item % n_chunks) * rows_per_chunk
        x = xt[p * n_in : (p + 1) * n_in]
        g = gt[p * n_out : (p + 1) * n_out]
        o = out[p]
        for i in range(first, min(first + rows_per_chunk, n_in)):
            k0 = block_ptr[i, b]
            k1 = block_ptr[i, b + 1]
            for k in range(k0, k1):
                o[k] = zero
            if k0 < k1:
                sddmm_row(i, k0, k1, indices, x, g, o, zero)
    if total is not None and (n_panels > 1 or decay != 0):
        add_panels(out, total, data, decay)


_fill_block_ptr = _compile.jit(_fill_block_ptr, error_model="numpy")
_dot_vector_at = _compile.jit(
    _dot_vector_at, inline="always", error_model="numpy", fastmath=_compile.CONTRACT
)
_dot_tile_row = _compile.jit(
    _dot_tile_row, inline="always", error_model="numpy", fastmath=_compile.CONTRACT
)
sddmm_row = _compile.jit(
    sddmm_row, inline="always", error_model="numpy", fastmath=_compile.CONTRACT
)
sddmm = _compile.parallel_and_serial(sddmm, fastmath=_compile.CONTRACT, nrt=False)
