"""Numba kernels for sparse layers, on activations held feature-major: ``(n, batch)``.

Every kernel gives each output element to exactly one thread and sums in an order
fixed by the pattern alone, so results do not depend on the number of threads.

A layer's weights are the CSR ``(indptr, indices, data)`` of its ``(n_in, n_out)``
pattern (row i = input neuron i), read in that order by every pass:

* :func:`forward` splits the output columns into blocks (:func:`column_blocks`), one
  thread each; it goes through the input rows in order and adds ``W[i, j] · xt[i]``
  to ``yt[j]``. The block's outputs stay in cache, the weights need no column-order
  copy (gathering one cost about 5 ns per edge, a third of the pass), and each
  output is its bias plus its edges in row order, as a gather by columns would sum.
* :func:`backward` runs over the input rows: each edge's row ``gt[j]`` is loaded once
  for both the weight gradient ``dot(xt[i], gt[j])`` and the input gradient's
  ``W[i, j] · gt[j]`` (:func:`sddmm` and :func:`backward_inputs` do either alone).

Speed notes (measured, see benchmarks/bench_training.py): per edge a batch of 128
float32 moves a 512-byte activation row for 256 FLOPs, so the passes run at cache
bandwidth. What helped: a 128-wide batch tile held in eight vector registers across
a neuron's edges, with explicit fused multiply-adds (:mod:`topokit.nn._simd`; numba's
own vectorisation kept the running sums in memory), about 2x; prefetching the row
needed 16 edges ahead; outputs in column blocks that fit L2; one pass for both
gradients; activation rows on cache-line boundaries (:func:`empty_aligned`); the
next layer's bias gradient summed by :func:`backward` while its rows are in cache.
What did not: tiling the batch narrower than 128, blocking the columns of the
weight gradient (more than two blocks), gathering it column by column.

At density 0.5% of [784, 4000, 4000, 10] a step (about 2.4 ms) is bound by passes
over the 4000 x 128 activations more than by the edges: each neuron has ~20.
"""

from __future__ import annotations

import os
import types

# After a parallel region numba's OpenMP threads spin, then sleep. libgomp's default
# spin (about 5 ms here) takes a core from OpenBLAS's threads and other processes and
# slowed steps on a loaded machine by orders of magnitude; sleeping at once
# (OMP_WAIT_POLICY=PASSIVE) makes every kernel call wake them, about a third of a
# training step at low density (measured: 4.1 -> 2.9 ms per step at density 0.5% in
# benchmarks/bench_training.py). A spin of about 0.3 ms covers the gaps between the
# kernels of one step. A user's own setting wins; it must be in place before numba
# first starts its thread pool.
if "OMP_WAIT_POLICY" not in os.environ:
    os.environ.setdefault("GOMP_SPINCOUNT", "10000")

import numpy as np
from numba import literally, njit, prange

from topokit.nn import _simd

# Below this many multiply-adds a kernel runs on the calling thread: starting the
# pool costs more than the work (measured: the default study's 128-wide layers at
# batch 32 ran 6x slower on two threads). Results are identical either way (same order).
_PARALLEL_WORK = 1 << 20

# Output neurons per parallel work item of forward / backward_inputs.
_BLOCK = 16

# How many edges ahead the gather kernels prefetch the activation row they will need.
_PREFETCH = 16


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
    "backward",
    "backward_inputs",
    "column_blocks",
    "empty_aligned",
    "forward",
    "row_sums",
    "sddmm",
    "sgd_update",
]


# Output columns per block of the forward pass: their rows of a 128-wide float32
# batch tile take 256 KB, so that they stay in a core's L2 cache while it runs.
_BLOCK_BYTES = 1 << 18
_TILE_BYTES = 8 * 64  # eight 64-byte vectors: 128 float32 or 64 float64


_CACHE_LINE = 64


def empty_aligned(shape, dtype) -> np.ndarray:
    """An uninitialised C-contiguous array whose first element starts a cache line.

    Activation buffers for the kernels: a batch of 128 float32 makes each row 512
    bytes, so every row then starts a 64-byte line too, vector loads never straddle
    two lines, and two threads writing different halves of a row never share one
    (measured: a 10-row output written in two halves ran 5-10x slower when
    ``numpy.empty`` placed it 16 bytes off a line, as it does for small arrays).

    Examples
    --------
    >>> a = empty_aligned((10, 128), np.float32)
    >>> a.shape, a.flags.c_contiguous, a.ctypes.data % 64
    ((10, 128), True, 0)
    """
    dtype = np.dtype(dtype)
    n_bytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = np.empty(n_bytes + _CACHE_LINE, dtype=np.uint8)
    start = -raw.ctypes.data % _CACHE_LINE
    return raw[start : start + n_bytes].view(dtype).reshape(shape)


def column_blocks(indptr, indices, n_out, n_blocks=None):
    """Split a CSR pattern's columns into blocks, for :func:`forward`.

    Parameters
    ----------
    indptr, indices : ndarray
        The CSR pattern of shape (n_in, n_out), indices sorted within each row.
    n_out : int
    n_blocks : int, optional
        Default: enough blocks that a block's outputs fit in a core's L2 cache, but
        no more than keeps a few edges per row in each block on average; at least
        two (for two threads) when there are 32 outputs or more.

    Returns
    -------
    block_ptr : ndarray of shape (n_in, n_blocks + 1)
        Row i's edges into block b are ``block_ptr[i, b]:block_ptr[i, b + 1]``.
    indices : ndarray
        The pattern's column indices (the same array).
    block_width : int
        Columns per block; block b holds ``b · block_width`` up to the next.
    """
    n_in = indptr.size - 1
    if n_blocks is None:
        by_cache = -(-n_out * _TILE_BYTES // _BLOCK_BYTES)
        by_work = indices.size // (4 * max(n_in, 1))
        n_blocks = max(1, min(by_cache, by_work))
        if n_out >= 32:
            n_blocks = max(2, n_blocks + n_blocks % 2)
    block_width = max(1, -(-n_out // n_blocks))
    n_blocks = max(1, -(-n_out // block_width))
    block_ptr = np.empty((n_in, n_blocks + 1), dtype=indptr.dtype)
    _fill_block_ptr(indptr, indices, block_width, block_ptr)
    return block_ptr, indices, block_width


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


def _gather_tile8(k0, k1, idx, vals, src, acc, t0):  # pragma: no cover - numba
    """``acc + Σ_k vals[k] * src[idx[k], t0 : t0 + 8 · lanes]`` for k in [k0, k1).

    ``acc`` is one vector, the start of all eight running sums; they stay in
    registers across every edge, and edges are added one after another, one fused
    multiply-add each. The row needed ``_PREFETCH`` edges ahead is prefetched.
    Returns the tuple of eight sums.
    """
    sums = (acc, acc, acc, acc, acc, acc, acc, acc)
    n_edges = idx.size
    for k in range(k0, k1):
        if k + _PREFETCH < n_edges:
            _simd.prefetch_tile(src, _simd.at(idx, k + _PREFETCH), t0, 8)
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


def _gather(ptr, idx, vals, first, last, src, dst, masked, active, t_start):  # pragma: no cover
    """``dst[n, t] = Σ_k vals[k] * src[idx[k], t]`` for n in [first, last), t >= t_start.

    ``k`` runs over ``ptr[n]:ptr[n + 1]`` in order, and every element of ``dst`` is
    that sequence of fused multiply-adds from 0, whichever batch tile it falls in:
    eight, four or one vectors at a time, then element by element. With ``masked``,
    each sum is multiplied by ``active[n, t] > 0`` (as 1 or 0) before it is stored.
    """
    batch = dst.shape[1]
    step = _simd.lanes(dst)
    typed = np.array([0, 1], dtype=dst.dtype)
    zero, one = typed[0], typed[1]  # in the arrays' dtype, so that products stay in it
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


def _scatter_tile(block_ptr, b, indices, data, xt, yt, t0, count):  # pragma: no cover - numba
    """``yt[j, tile] += W[i, j] · xt[i, tile]`` over block b's edges, rows in order.

    The tile is ``count`` vectors (a compile-time constant: 8, 4 or 1) from column
    ``t0``; row i's vectors stay in registers across its edges into the block.
    """
    literally(count)
    for i in range(xt.shape[0]):
        k0 = block_ptr[i, b]
        k1 = block_ptr[i, b + 1]
        if k0 < k1:
            x = _simd.load_tile(xt, i, t0, count)
            for k in range(k0, k1):
                j = _simd.at(indices, k)
                w = _simd.splat(yt, _simd.at(data, k))
                tile = _simd.load_tile(yt, j, t0, count)
                _simd.store_tile(yt, j, t0, _simd.fma_tile(w, x, tile))


def _scatter_elements(block_ptr, b, indices, data, xt, yt, t0, t_end):  # pragma: no cover
    """:func:`_scatter_tile` over the columns from ``t0`` to ``t_end``, one by one."""
    for i in range(xt.shape[0]):
        for k in range(block_ptr[i, b], block_ptr[i, b + 1]):
            j = indices[k]
            w = data[k]
            for t in range(t0, t_end):
                yt[j, t] = yt[j, t] + w * xt[i, t]  # contracted: one fused multiply-add


def _fill_bias(yt, j0, j1, t0, width, bias):  # pragma: no cover - numba
    """``yt[j, t0 : t0 + width] = bias[j]`` for j in [j0, j1)."""
    step = _simd.lanes(yt)
    vectors = width - width % step
    for j in range(j0, j1):
        value = _simd.splat(yt, bias[j])
        for t in range(t0, t0 + vectors, step):
            _simd.store(yt, j, t, value)
        for t in range(t0 + vectors, t0 + width):
            yt[j, t] = bias[j]


def _relu_rows(yt, j0, j1, t0, width, zero):  # pragma: no cover - numba
    """``numpy.maximum(v, 0)`` in place over ``yt[j0:j1, t0 : t0 + width]``."""
    step = _simd.lanes(yt)
    vectors = width - width % step
    for j in range(j0, j1):
        for t in range(t0, t0 + vectors, step):
            _simd.store(yt, j, t, _simd.relu(_simd.load(yt, j, t)))
        for t in range(t0 + vectors, t0 + width):
            v = yt[j, t]
            # numpy.maximum(v, 0): keeps v when v >= 0 or v is NaN
            yt[j, t] = v if (v >= 0 or v != v) else zero


def forward(block_ptr, indices, block_width, data, bias, xt, yt, relu=False):  # pragma: no cover
    """``yt[j, :] = bias[j] + sum over inputs i of W[i, j] * xt[i, :]`` (one thread per block).

    ``block_ptr, indices, block_width`` come from :func:`column_blocks`. With
    ``relu``, stores ``numpy.maximum(y, 0)`` instead (same values as applying it
    after: a hidden layer's activation fused into the pass that writes ``yt``).

    Each block of output columns belongs to one thread (a single block is split
    into two halves of the batch). For each batch tile (eight,
    four or one vectors, then single columns), it sets the block's rows of ``yt`` to
    the bias, then goes through the input rows in order, adding each edge's
    ``W[i, j] · xt[i]`` to ``yt[j]`` with one fused multiply-add per element: every
    output is ``bias[j]`` plus its edges in row order, however the batch is tiled.
    The weights are read in their own (row-major) order, the block's outputs stay in
    cache, and the input rows are read in order.
    """
    n_out, batch = yt.shape
    typed = np.zeros(1, dtype=yt.dtype)
    zero = typed[0]  # 0 in the arrays' dtype, so that the stores stay in it
    step = _simd.lanes(yt)
    n_blocks = block_ptr.shape[1] - 1
    # a single block (few outputs) is split in two halves of the batch, for two threads
    # only where the halves' rows start on separate cache lines: threads writing
    # to one line take turns owning it, which cost 5-10x (see empty_aligned)
    lined_up = yt.ctypes.data % 64 == 0 and (batch * yt.itemsize) % 64 == 0
    n_parts = 2 if n_blocks == 1 and batch >= 8 * step and lined_up else 1
    part_width = -(-batch // (n_parts * 4 * step)) * 4 * step
    for item in prange(n_blocks * n_parts):
        b = item // n_parts
        j0 = b * block_width
        j1 = min(j0 + block_width, n_out)
        t0 = (item % n_parts) * part_width
        t_end = min(t0 + part_width, batch) if n_parts > 1 else batch
        while t0 < t_end:
            if t0 + 8 * step <= t_end:
                width = 8 * step
            elif t0 + 4 * step <= t_end:
                width = 4 * step
            elif t0 + step <= t_end:
                width = step
            else:
                width = t_end - t0
            _fill_bias(yt, j0, j1, t0, width, bias)
            if width == 8 * step:
                _scatter_tile(block_ptr, b, indices, data, xt, yt, t0, 8)
            elif width == 4 * step:
                _scatter_tile(block_ptr, b, indices, data, xt, yt, t0, 4)
            elif width == step:
                _scatter_tile(block_ptr, b, indices, data, xt, yt, t0, 1)
            else:
                _scatter_elements(block_ptr, b, indices, data, xt, yt, t0, t_end)
            if relu:
                _relu_rows(yt, j0, j1, t0, width, zero)
            t0 += width


def backward_inputs(indptr, indices, data, gt, gxt, relu_out=None):  # pragma: no cover
    """``gxt[i, :] = sum over outputs j of W[i, j] * gt[j, :]`` (one thread per i).

    Same scheme as :func:`forward`, over the rows of the CSR pattern. With
    ``relu_out`` (the ReLU outputs that fed this layer, shape of ``gxt``), each sum is
    multiplied by ``relu_out > 0`` (as 1 or 0) before it is stored: the ReLU
    derivative fused into the pass that writes ``gxt``.
    """
    n_in = gxt.shape[0]
    for block in prange((n_in + _BLOCK - 1) // _BLOCK):
        first = block * _BLOCK
        last = min(first + _BLOCK, n_in)
        if relu_out is None:
            _gather(indptr, indices, data, first, last, gt, gxt, False, gxt, 0)
        else:
            _gather(indptr, indices, data, first, last, gt, gxt, True, relu_out, 0)


def backward(indptr, indices, data, xt, gt, grad, gxt, relu, gxt_sums=None):  # pragma: no cover
    """:func:`sddmm` into ``grad`` and :func:`backward_inputs` into ``gxt`` in one pass.

    Both read the row ``gt[j]`` of every edge (i, j) of input row i; here each tile
    of it is loaded once for both: its dot product with ``xt[i]``'s tile (held in
    registers) goes to ``grad[k]``, and ``W[i, j]`` times it to ``gxt[i]``'s running
    sums (in registers too). With ``relu``, ``xt`` is the ReLU output that fed this
    layer and ``gxt[i]`` is multiplied by ``xt[i] > 0``, as ``backward_inputs(...,
    relu_out=xt)`` does. Every value is the one the two separate kernels give, bit
    for bit (same operations in the same order). One thread per input row.

    ``gxt_sums``, if given (rows of at most :data:`ROW_SUM_MAX`), receives the row
    sums of ``gxt`` as :func:`row_sums` computes them, while each block of rows is
    still in cache: the previous layer's bias gradient, without another pass.
    """
    n_in, batch = gxt.shape
    typed = np.zeros(1, dtype=gxt.dtype)
    zero = typed[0]  # 0 in the arrays' dtype (the sums run in it)
    step = _simd.lanes(gxt)
    tiled = batch - batch % (8 * step)
    for block in prange((n_in + _BLOCK - 1) // _BLOCK):
        first = block * _BLOCK
        last = min(first + _BLOCK, n_in)
        for i in range(first, last):
            k0 = indptr[i]
            k1 = indptr[i + 1]
            for k in range(k0, k1):
                grad[k] = zero
            for t0 in range(0, tiled, 8 * step):
                x = _simd.load_tile(xt, i, t0, 8)
                z = _simd.splat(gxt, zero)
                sums = (z, z, z, z, z, z, z, z)
                for k in range(k0, k1):
                    if k + _PREFETCH < k1:
                        _simd.prefetch_tile(gt, _simd.at(indices, k + _PREFETCH), t0, 8)
                    g = _simd.load_tile(gt, _simd.at(indices, k), t0, 8)
                    grad[k] += _simd.dot_tile(x, g)
                    sums = _simd.fma_tile(_simd.splat(gxt, _simd.at(data, k)), g, sums)
                if relu:
                    sums = _simd.times_positive_tile(sums, x)
                _simd.store_tile(gxt, i, t0, sums)
            if tiled < batch:
                _sddmm_row(i, k0, k1, indices, xt, gt, grad, zero, tiled)
        if tiled < batch:
            _gather(indptr, indices, data, first, last, gt, gxt, relu, xt, tiled)
        if gxt_sums is not None:
            for i in range(first, last):
                gxt_sums[i] = zero + _block_sum(gxt, i, batch, zero)


def _sddmm_row(i, k0, k1, indices, xt, gt, out, zero, t_start=0):  # pragma: no cover - numba
    """``out[k] += dot(xt[i], gt[indices[k]])`` for k in [k0, k1).

    Batch tiles of eight vectors first (``xt[i]``'s tile held in registers across
    the edges, :func:`_simd.dot_tile`), then the leftover vectors in one running
    vector, then the leftover elements one by one, each part added to ``out[k]`` in
    that order. Columns before ``t_start`` are left out.
    """
    batch = xt.shape[1]
    step = _simd.lanes(xt)
    t0 = t_start
    while t0 + 8 * step <= batch:
        x = _simd.load_tile(xt, i, t0, 8)
        for k in range(k0, k1):
            if k + _PREFETCH < k1:
                _simd.prefetch_tile(gt, _simd.at(indices, k + _PREFETCH), t0, 8)
            g = _simd.load_tile(gt, _simd.at(indices, k), t0, 8)
            out[k] += _simd.dot_tile(x, g)
        t0 += 8 * step
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


def sddmm(block_ptr, indices, xt, gt, out, zero, n_chunks=1):  # pragma: no cover - numba
    """``out[k] = dot(xt[i], gt[j])`` for the k-th stored entry (i, j): ``(Xᵀ G)`` sampled.

    ``block_ptr`` is :func:`column_blocks`'s split of the CSR rows (a single block
    is ``indptr`` as one column: ``numpy.stack([indptr[:-1], indptr[1:]], axis=1)``).
    Work items are the column blocks, each split into ``n_chunks`` ranges of rows:
    one item per thread is best. With a block per thread, a thread reads only the
    rows of ``gt`` in its block, which stay in its cache, and are the ones the same
    thread wrote in the previous layer's :func:`backward` (both split their range in
    contiguous halves: measured 20% faster in a training step than splitting rows).
    Every ``out[k]`` is computed whole by :func:`_sddmm_row`, so neither the blocks
    nor the chunks change it. ``zero`` is 0 in the arrays' dtype (the sums run in it).
    """
    n_in = block_ptr.shape[0]
    n_blocks = block_ptr.shape[1] - 1
    n_chunks = max(n_chunks, 1)
    rows_per_chunk = max(1, -(-n_in // n_chunks))
    for item in prange(n_blocks * n_chunks):
        b = item // n_chunks
        first = (item % n_chunks) * rows_per_chunk
        for i in range(first, min(first + rows_per_chunk, n_in)):
            k0 = block_ptr[i, b]
            k1 = block_ptr[i, b + 1]
            for k in range(k0, k1):
                out[k] = zero
            if k0 < k1:
                _sddmm_row(i, k0, k1, indices, xt, gt, out, zero)


# Longest row :func:`row_sums` sums (numpy's pairwise-summation block, PW_BLOCKSIZE).
ROW_SUM_MAX = 128


def _block_sum(a, row, n, zero):  # pragma: no cover - numba
    """numpy's pairwise sum of ``a[row, :n]`` for ``n <= 128``, in the same order.

    Under 8 terms one running sum; otherwise eight running sums over strides of 8
    (one eight-element vector, :func:`_simd.load8`), combined as
    ``((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))``, then the leftover terms
    one by one (numpy/_core/src/umath/loops_utils.h.src).
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
    """``out[j] = numpy.sum(gt[j])``, bit for bit, for rows of at most 128 (one thread per j).

    numpy's add-reduction starts from its identity 0 and adds the pairwise sum of
    the row; so does this (``0 + s`` turns a sum of -0.0 into 0.0, as numpy does).
    """
    n, batch = gt.shape
    zero = np.zeros(1, dtype=out.dtype)[0]
    for j in prange(n):
        out[j] = zero + _block_sum(gt, j, batch, zero)


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
# "contract": one fused multiply-add per scalar term, same order as written (the
# vector code issues its fused multiply-adds explicitly).
_CONTRACT = {"contract"}
_gather_tile8 = _jit(_gather_tile8, error_model="numpy", fastmath=_CONTRACT)
_gather_tile4 = _jit(_gather_tile4, error_model="numpy", fastmath=_CONTRACT)
_gather_tile1 = _jit(_gather_tile1, error_model="numpy", fastmath=_CONTRACT)
_finish = _jit(_finish, error_model="numpy", fastmath=_CONTRACT)
_gather = _jit(_gather, error_model="numpy", fastmath=_CONTRACT)
_scatter_tile = _jit(_scatter_tile, error_model="numpy", fastmath=_CONTRACT)
_scatter_elements = _jit(_scatter_elements, error_model="numpy", fastmath=_CONTRACT)
_fill_block_ptr = _jit(_fill_block_ptr, error_model="numpy")
_sddmm_row = _jit(_sddmm_row, error_model="numpy", fastmath=_CONTRACT)
backward = _compiled(backward, fastmath=_CONTRACT)
_fill_bias = _jit(_fill_bias, error_model="numpy")
_relu_rows = _jit(_relu_rows, error_model="numpy")
forward = _compiled(forward, fastmath=_CONTRACT)
backward_inputs = _compiled(backward_inputs, fastmath=_CONTRACT)
sddmm = _compiled(sddmm, fastmath=_CONTRACT)
row_sums = _compiled(row_sums)
sgd_update = _compiled(sgd_update)
adam_update = _compiled(adam_update)
