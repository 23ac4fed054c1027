"""The backward pass of a sparse layer: weight and input gradients in one pass over the edges.

For a layer ``Y = Wᵀ X + b`` with ``W`` the CSR ``(indptr, indices, data)`` of its
``(n_in, n_out)`` pattern, the input ``xt`` of shape ``(P · n_in, width)`` and the
output gradient ``gt`` of shape ``(P · n_out, width)`` in the panel layout
(:mod:`topokit.nn._panels`), :func:`backward` computes, for each panel p::

    grad[p, k]         = Σ_t xt[p·n_in + i, t] · gt[p·n_out + j, t]   (k-th entry (i, j))
    gxt[p·n_in + i, t] = Σ_{k in row i} data[k] · gt[p·n_out + indices[k], t]
                         (times xt[p·n_in + i, t] > 0 with ``relu``)

the weight gradient ``X Gᵀ`` sampled at the pattern and the input gradient ``W G``.
Both read the row ``gt[j]`` of every edge (i, j); here each tile of it is loaded once
for both. The weight gradient is the one :func:`topokit.nn._weight_gradient.sddmm`
gives and the input gradient the one :func:`backward_inputs` gives, bit for bit:
the same operations in the same order. :func:`backward_inputs` alone serves as the
tests' reference for the fused pass.

The input gradient's sums over each input's edges run in CSR order (ascending output),
one fused multiply-add per edge, whichever batch tile a column falls in, so every value
is independent of the tiling, of the work split and of the number of threads. Per-panel
weight gradients (and bias sums) are added in panel order by
:func:`topokit.nn._panel_sums.add_panels`. The NumPy counterparts, which the tests compare
them with, are :func:`topokit.nn._reference.backward` and
:func:`~topokit.nn._reference.input_gradient`.
"""

from __future__ import annotations

from numba import prange

from topokit.nn import _compile, _simd
from topokit.nn._compile import BLOCK, PREFETCH

# imported by name: numba inlines an ``inline="always"`` function called as a global
from topokit.nn._panel_sums import add_panels, block_sum
from topokit.nn._weight_gradient import sddmm_row

__all__ = ["backward", "backward_inputs", "gather"]


def _gather_tile8(k0, k1, idx, vals, src, acc, t0):  # pragma: no cover - numba
    """``acc + Σ_k vals[k] * src[idx[k], t0 : t0 + 8 · lanes]`` for k in [k0, k1).

    ``acc`` is one vector, the start of all eight running sums; they stay in
    registers across every edge, and edges are added one after another, one fused
    multiply-add each. The row needed ``PREFETCH`` edges ahead is prefetched.
    Returns the tuple of eight sums.
    """
    sums = (acc, acc, acc, acc, acc, acc, acc, acc)
    n_edges = idx.size
    for k in range(k0, k1):
        if k + PREFETCH < n_edges:
            _simd.prefetch_tile(src, _simd.at(idx, k + PREFETCH), t0, 8)
        w = _simd.splat(src, _simd.at(vals, k))
        sums = _simd.fma_tile(w, _simd.load_tile(src, _simd.at(idx, k), t0, 8), sums)
    return sums


def _gather_tile4(k0, k1, idx, vals, src, acc, t0):  # pragma: no cover - numba
    """:func:`_gather_tile8` over four vectors (no prefetching)."""
    sums = (acc, acc, acc, acc)
    for k in range(k0, k1):
        w = _simd.splat(src, _simd.at(vals, k))
        sums = _simd.fma_tile(w, _simd.load_tile(src, _simd.at(idx, k), t0, 4), sums)
    return sums


def _gather_tile1(k0, k1, idx, vals, src, acc, t0):  # pragma: no cover - numba
    """:func:`_gather_tile8` over one vector."""
    for k in range(k0, k1):
        w = _simd.splat(src, _simd.at(vals, k))
        acc = _simd.fma(w, _simd.load(src, _simd.at(idx, k), t0), acc)
    return acc


def _finish(dst, n, t0, value, masked, active):  # pragma: no cover - numba
    """Store one vector of ``dst[n]``, times ``active[n] > 0`` (as 1 or 0) if ``masked``."""
    if masked:
        value = _simd.times_positive(value, _simd.load(active, n, t0))
    _simd.store(dst, n, t0, value)


def gather(
    ptr, idx, vals, first, last, src, dst, masked, active, t_start
):  # pragma: no cover - numba
    """``dst[n, t] = Σ_k vals[k] * src[idx[k], t]`` for n in [first, last), t >= t_start.

    ``k`` runs over ``ptr[n]:ptr[n + 1]`` in order, and every element of ``dst`` is
    that sequence of fused multiply-adds from 0, whichever batch tile it falls in:
    eight, four or one vectors at a time, then element by element. With ``masked``,
    each sum is multiplied by ``active[n, t] > 0`` (as 1 or 0) before it is stored.
    """
    batch = dst.shape[1]
    step = _simd.lanes(dst)
    # in the arrays' dtype, so that products stay in it
    zero, one = dst.dtype.type(0), dst.dtype.type(1)
    acc = _simd.splat(dst, zero)
    for n in range(first, last):
        k0 = ptr[n]
        k1 = ptr[n + 1]
        t0 = t_start
        while t0 + 8 * step <= batch:
            a0, a1, a2, a3, a4, a5, a6, a7 = _gather_tile8(k0, k1, idx, vals, src, acc, t0)
            _finish(dst, n, t0, a0, masked, active)
            _finish(dst, n, t0 + step, a1, masked, active)
            _finish(dst, n, t0 + 2 * step, a2, masked, active)
            _finish(dst, n, t0 + 3 * step, a3, masked, active)
            _finish(dst, n, t0 + 4 * step, a4, masked, active)
            _finish(dst, n, t0 + 5 * step, a5, masked, active)
            _finish(dst, n, t0 + 6 * step, a6, masked, active)
            _finish(dst, n, t0 + 7 * step, a7, masked, active)
            t0 += 8 * step
        if t0 + 4 * step <= batch:
            a0, a1, a2, a3 = _gather_tile4(k0, k1, idx, vals, src, acc, t0)
            _finish(dst, n, t0, a0, masked, active)
            _finish(dst, n, t0 + step, a1, masked, active)
            _finish(dst, n, t0 + 2 * step, a2, masked, active)
            _finish(dst, n, t0 + 3 * step, a3, masked, active)
            t0 += 4 * step
        while t0 + step <= batch:
            _finish(dst, n, t0, _gather_tile1(k0, k1, idx, vals, src, acc, t0), masked, active)
            t0 += step
        for t in range(t0, batch):
            s = zero
            for k in range(k0, k1):
                s = s + vals[k] * src[idx[k], t]  # contracted: one fused multiply-add
            if masked:
                s = s * (one if active[n, t] > 0 else zero)
            dst[n, t] = s


def backward_inputs(indptr, indices, data, gt, gxt, relu_out=None):  # pragma: no cover - numba
    """``gxt[i, :] = Σ_j W[i, j] · gt[j, :]``: the input gradient alone, on one panel.

    ``gt`` of shape (n_out, batch), ``gxt`` of shape (n_in, batch). Each input row's
    sum runs over its CSR edges in order (:func:`gather`), work items of
    :data:`BLOCK` rows. With ``relu_out`` (the ReLU outputs that fed this layer, shape
    of ``gxt``), each sum is multiplied by ``relu_out > 0`` (as 1 or 0) before it is
    stored: the ReLU derivative fused into the pass that writes ``gxt``.
    """
    n_in = gxt.shape[0]
    for block in prange((n_in + BLOCK - 1) // BLOCK):
        first = block * BLOCK
        last = min(first + BLOCK, n_in)
        if relu_out is None:
            gather(indptr, indices, data, first, last, gt, gxt, False, gxt, 0)
        else:
            gather(indptr, indices, data, first, last, gt, gxt, True, relu_out, 0)


def _backward_edge(k, indices, data, x, gt, gxt, sums, t0, count):  # pragma: no cover - numba
    """Edge k of :func:`_backward_tile`: its dot product's vector (:func:`_simd.dot_vector`)
    and ``sums`` plus ``data[k]`` times the edge's tile of ``gt``."""
    g = _simd.load_tile(gt, _simd.at(indices, k), t0, count)
    dot = _simd.dot_vector(x, g)
    return dot, _simd.fma_tile(_simd.splat(gxt, _simd.at(data, k)), g, sums)


def _backward_tile(  # pragma: no cover - numba
    i, k0, k1, indices, data, xt, gt, grad, gxt, t0, relu, zero, count
):
    """:func:`backward` of input row i over one tile of ``count`` vectors from ``t0``.

    ``xt[i]``'s tile and ``gxt[i]``'s running sums stay in registers across the
    row's edges; each edge's tile of ``gt`` is loaded once for both. The first tile
    (``t0 == 0``) sets ``grad[k]`` to ``0 + dot``, later ones add to it. Edges go
    four at a time in tiles of up to four vectors, their dot products totalled together
    (:func:`_simd.add_totals`, the same bits as :func:`_simd.dot_tile` one by one), then
    the rest (and every edge of a tile of eight) one by one.
    """
    # ``count`` is a constant at every call, and numba inlines this function there
    # (inline="always"): the intrinsics see it as a literal, and no call per row
    first = t0 == 0
    x = _simd.load_tile(xt, i, t0, count)
    sums = _simd.splat_tile(gxt, zero, count)
    k = k0
    # a tile of eight vectors of xt, one of gt and the sums fill most registers: four
    # more vectors spilled (the float64 backward 6-15% slower), and two gained nothing
    while count <= 4 and k + 4 <= k1:
        if k + PREFETCH + 4 <= k1:
            for ahead in range(k + PREFETCH, k + PREFETCH + 4):
                _simd.prefetch_tile(gt, _simd.at(indices, ahead), t0, count)
        d0, sums = _backward_edge(k, indices, data, x, gt, gxt, sums, t0, count)
        d1, sums = _backward_edge(k + 1, indices, data, x, gt, gxt, sums, t0, count)
        d2, sums = _backward_edge(k + 2, indices, data, x, gt, gxt, sums, t0, count)
        d3, sums = _backward_edge(k + 3, indices, data, x, gt, gxt, sums, t0, count)
        _simd.add_totals(grad, k, (d0, d1, d2, d3), first)
        k += 4
    rest = k
    for k in range(rest, k1):
        if k + PREFETCH < k1:
            _simd.prefetch_tile(gt, _simd.at(indices, k + PREFETCH), t0, count)
        g = _simd.load_tile(gt, _simd.at(indices, k), t0, count)
        dot = _simd.dot_tile(x, g)
        grad[k] = zero + dot if first else grad[k] + dot
        sums = _simd.fma_tile(_simd.splat(gxt, _simd.at(data, k)), g, sums)
    if relu:
        sums = _simd.times_positive_tile(sums, x)
    _simd.store_tile(gxt, i, t0, sums)


def backward(
    indptr,
    indices,
    data,
    xt,
    gt,
    grad,
    gxt,
    relu,
    gxt_sums=None,
    grad_total=None,
    sums_total=None,
    decay=0.0,
):  # pragma: no cover - numba
    """Weight gradient into ``grad`` and input gradient into ``gxt``, in one pass.

    For input row i, each tile of ``gt[j]`` of every edge (i, j) is loaded once for
    both: its dot product with ``xt[i]``'s tile (held in registers) goes to
    ``grad[p, k]``, and ``W[i, j]`` times it to ``gxt[i]``'s running sums (in registers
    too). Every value is the one :func:`~topokit.nn._weight_gradient.sddmm` and
    :func:`backward_inputs` give, bit for bit (the same operations in the same order).

    Parameters
    ----------
    indptr, indices, data : ndarray
        The layer's CSR weights of shape (n_in, n_out).
    xt : ndarray of shape (P · n_in, width)
        The layer's input in the panel layout (:func:`topokit.nn._panels.panel_shape`).
    gt : ndarray of shape (P · n_out, width)
        The gradient of its output.
    grad : ndarray of shape (P, n_edges)
        Receives each panel's weight gradient in its row.
    gxt : ndarray of shape (P · n_in, width)
        Receives the input gradient ``W gt``.
    relu : bool
        ``xt`` is a ReLU's output: ``gxt`` is multiplied by ``xt > 0`` (as 1 or 0), as
        ``backward_inputs(..., relu_out=xt)`` does.
    gxt_sums : ndarray of shape (P, n_in), optional
        With ``width`` at most :data:`~topokit.nn._panel_sums.ROW_SUM_MAX`: receives the
        row sums of each panel of ``gxt``, as :func:`~topokit.nn._panel_sums.row_sums`
        takes them, while each block of rows is in cache (the previous layer's bias
        gradient).
    grad_total, sums_total : ndarray of shape (n_edges,) and (n_in,), optional
        With several panels or a nonzero ``decay``: the rows of ``grad`` (and of
        ``gxt_sums``) added in panel order, plus ``decay · data`` for the weights
        (L2 regularisation's gradient), in a second parallel loop of the same call.
    decay : float, default 0.0

    Work items are (panel, block of :data:`BLOCK` input rows), panel first.
    """
    n_in = indptr.size - 1
    n_panels = grad.shape[0]
    n_out = gt.shape[0] // n_panels
    batch = gxt.shape[1]
    zero = gxt.dtype.type(0)  # 0 in the arrays' dtype (the sums run in it)
    step = _simd.lanes(gxt)
    tiled = batch - batch % (8 * step)
    if tiled + 4 * step <= batch:
        tiled += 4 * step
    n_row_blocks = (n_in + BLOCK - 1) // BLOCK
    for item in prange(n_panels * n_row_blocks):
        p = item // n_row_blocks
        first = (item % n_row_blocks) * BLOCK
        last = min(first + BLOCK, n_in)
        x = xt[p * n_in : (p + 1) * n_in]
        g = gt[p * n_out : (p + 1) * n_out]
        gx = gxt[p * n_in : (p + 1) * n_in]
        out = grad[p]
        for i in range(first, last):
            k0 = indptr[i]
            k1 = indptr[i + 1]
            if tiled == 0:
                for k in range(k0, k1):
                    out[k] = zero
            t0 = 0
            while t0 + 8 * step <= batch:
                _backward_tile(i, k0, k1, indices, data, x, g, out, gx, t0, relu, zero, 8)
                t0 += 8 * step
            if t0 < tiled:
                _backward_tile(i, k0, k1, indices, data, x, g, out, gx, t0, relu, zero, 4)
            if tiled < batch:
                sddmm_row(i, k0, k1, indices, x, g, out, zero, tiled)
        if tiled < batch:
            gather(indptr, indices, data, first, last, g, gx, relu, x, tiled)
        if gxt_sums is not None:
            sums = gxt_sums[p]
            for i in range(first, last):
                sums[i] = zero + block_sum(gx, i, batch, zero)
    if grad_total is not None and (n_panels > 1 or decay != 0):
        add_panels(grad, grad_total, data, decay)
    if n_panels > 1 and gxt_sums is not None and sums_total is not None:
        add_panels(gxt_sums, sums_total)


_CONTRACT = _compile.CONTRACT
_gather_tile8 = _compile.jit(_gather_tile8, error_model="numpy", fastmath=_CONTRACT)
_gather_tile4 = _compile.jit(_gather_tile4, error_model="numpy", fastmath=_CONTRACT)
_gather_tile1 = _compile.jit(_gather_tile1, error_model="numpy", fastmath=_CONTRACT)
_finish = _compile.jit(_finish, error_model="numpy", fastmath=_CONTRACT)
gather = _compile.jit(gather, error_model="numpy", fastmath=_CONTRACT)
_backward_edge = _compile.jit(
    _backward_edge, inline="always", error_model="numpy", fastmath=_CONTRACT
)
_backward_tile = _compile.jit(
    _backward_tile, inline="always", error_model="numpy", fastmath=_CONTRACT
)
backward_inputs = _compile.parallel_and_serial(backward_inputs, fastmath=_CONTRACT, nrt=False)
backward = _compile.parallel_and_serial(backward, fastmath=_CONTRACT, nrt=False)
