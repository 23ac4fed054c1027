"""Numba kernels for sparse layers, on activations held feature-major in panels.

Every kernel gives each output element to exactly one thread and sums in an order
fixed by the pattern and the batch size alone, so results do not depend on the
number of threads.

Activations of n neurons for a minibatch are in the panel layout of
:func:`panel_shape`: P panels of at most 64 samples, each the feature-major
``(n, width)`` block of its samples, stacked into a ``(P · n, width)`` array. Work
items run panel by panel, so that with two panels and two threads each thread keeps
to its own panel, in its own cache, through the whole training step. A batch of at
most 64 samples is one panel: the plain feature-major ``(n, batch)`` layout.

A layer's weights are the CSR ``(indptr, indices, data)`` of its ``(n_in, n_out)``
pattern (row i = input neuron i):

* :func:`forward` gathers each output's edges by column (:func:`column_order`),
  reading the weights in place through their CSR positions;
* :func:`backward` runs over the input rows: each edge's row ``gt[j]`` is loaded once
  for both the weight gradient ``dot(xt[i], gt[j])`` and the input gradient's
  ``W[i, j] · gt[j]`` (:func:`sddmm` and :func:`backward_inputs` do either alone).
  Each panel's weight gradient goes to its own row of a (P, n_edges) array, added
  up in panel order by a second loop of the same call.

Speed notes (measured, see benchmarks/bench_training.py): per edge a panel of 64
float32 moves a 256-byte activation row for 128 FLOPs, so the passes run at cache
bandwidth. What helped: a batch tile held in vector registers across a neuron's
edges, with explicit fused multiply-adds (:mod:`topokit.nn._simd`; numba's own
vectorisation kept the running sums in memory), about 2x; prefetching the row
needed 16 edges ahead; one pass for both gradients; activation rows on cache-line
boundaries (:func:`empty_aligned`); the next layer's bias gradient summed by
:func:`backward` while its rows are in cache; panels, a thread each (2.5 -> 1.7 ms
per step at density 0.5% of [784, 4000, 4000, 10]: before, each core read the
activation rows the other had written); a gather forward instead of a scatter
over the CSR rows (about 40% less forward time). What did not: panels interleaved
in one (n, batch) array (each panel then uses half of the cache's sets), blocking
the columns of the weight gradient (more than two blocks), gathering it column by
column.
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
    "add_weight_decay",
    "backward",
    "backward_inputs",
    "column_blocks",
    "column_order",
    "empty_aligned",
    "forward",
    "load_panels",
    "panel_shape",
    "row_sums",
    "sddmm",
    "sgd_update",
]


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


# Most samples in one panel of the panel layout: two panels of a batch of 128, so
# that each of two threads keeps its own half of every activation in its own cache.
PANEL = 64
# Most panels of a batch: each holds a copy of the weight gradient until they are
# added up, so larger batches get wider panels instead of more of them.
MAX_PANELS = 8


def panel_shape(batch: int) -> tuple[int, int]:
    """``(n_panels, width)`` of the panel layout of a minibatch of ``batch`` samples.

    The kernels take activations of n neurons in a panel layout: a C-contiguous
    ``(n_panels · n, width)`` array stacking, for each panel p, the feature-major
    ``(n, width)`` block of samples ``p · width`` onwards. Each kernel treats every
    panel as it would a whole batch alone, with work items panel by panel, so a
    thread keeps to the same panel (its own rows of every activation) through the
    whole step: measured at density 0.5% of [784, 4000, 4000, 10], a training step
    took 1.7 ms instead of 2.5 ms with the batch of 128 in one panel, where each
    core read activation rows the other had written. Weight gradients and bias sums
    add the panels' results in panel order, so results depend on the batch size,
    never on the number of threads. A batch of at most :data:`PANEL` samples is one
    panel, the old feature-major layout. Past :data:`MAX_PANELS` panels of 64 the
    panels get wider instead: their weight-gradient copies take memory.

    ``width`` is a multiple of 16 (whole 64-byte float32 vectors, rows on cache
    lines), the panels as even as that allows, every one holding samples; the last
    columns past ``batch`` are padding, to be set to zero by the caller (they then
    add nothing to any sum).

    Examples
    --------
    >>> panel_shape(128), panel_shape(32), panel_shape(200), panel_shape(5)
    ((2, 64), (1, 32), (4, 64), (1, 16))
    >>> panel_shape(4096)
    (8, 512)
    """
    n_panels = min(max(1, -(-batch // PANEL)), MAX_PANELS)
    per_panel = -(-batch // n_panels)
    width = -(-per_panel // 16) * 16
    return max(1, -(-batch // width)), width


def load_panels(X, rows, out):  # pragma: no cover - numba
    """Samples ``X[rows]`` into ``out`` in the panel layout; returns how many are not finite.

    ``out`` has shape (P · n_features, width) (:func:`panel_shape` of ``rows.size``);
    sample s goes to column ``s % width`` of panel ``s // width``, cast to ``out``'s
    dtype (as ``numpy.asarray(X, dtype)`` would); the padding columns are left as
    they are. One thread per panel: the one that will read it in the first layer.
    Features go 16 at a time, so that the rows being written stay in L1 cache (all at
    once, each sample's column touches one line per feature: a 128 x 784 batch took
    116 instead of 72 us in a training step). Counts the values that are NaN or
    infinite after the cast.
    """
    n_features = X.shape[1]
    width = out.shape[1]
    batch = rows.size
    n_panels = out.shape[0] // max(n_features, 1)
    n_bad = 0
    for p in prange(n_panels):
        panel_bad = 0
        count = min(width, batch - p * width)
        for f0 in range(0, n_features, 16):
            f1 = min(f0 + 16, n_features)
            for t in range(count):
                row = rows[p * width + t]
                for f in range(f0, f1):
                    out[p * n_features + f, t] = X[row, f]
                    stored = out[p * n_features + f, t]
                    if stored - stored != 0:
                        panel_bad += 1
        n_bad += panel_bad
    return n_bad


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


def _gather_by_column(  # pragma: no cover - numba
    k0, k1, rows, positions, data, xt, start, t0, relu, count
):
    """``start + Σ_k data[positions[k]] · xt[rows[k], tile]`` for k in [k0, k1), one tile.

    The tile is ``count`` vectors from column ``t0`` (``count`` literal), its running
    sums in registers, one fused multiply-add per edge and vector, in order of k; the
    input row needed ``_PREFETCH`` edges ahead is prefetched. With ``relu``, returns
    ``numpy.maximum(sums, 0)``.
    """
    literally(count)
    sums = _simd.splat_tile(xt, start, count)
    for k in range(k0, k1):
        if k + _PREFETCH < k1:
            _simd.prefetch_tile(xt, _simd.at(rows, k + _PREFETCH), t0, count)
        w = _simd.splat(xt, _simd.at(data, _simd.at(positions, k)))
        sums = _simd.fma_tile(w, _simd.load_tile(xt, _simd.at(rows, k), t0, count), sums)
    if relu:
        sums = _simd.relu_tile(sums)
    return sums


def forward(columns, data, bias, xt, yt, relu=False):  # pragma: no cover
    """``yt[j, :] = bias[j] + sum over inputs i of W[i, j] * xt[i, :]``, panel by panel.

    A gather: ``columns`` is :func:`column_order`'s ``(indptr, rows, positions)``, and
    output j's edges are ``positions[indptr[j]:indptr[j + 1]]`` in ``data`` (the
    weights in CSR order), from input rows ``rows[...]``, rows ascending. Each output
    starts at its bias and adds its edges in row order, one fused multiply-add each,
    its running sums held in registers for a batch tile (eight, four or one vectors,
    then single columns): every output is the same whatever the tiling. With
    ``relu``, stores ``numpy.maximum(y, 0)`` instead (the hidden layer's activation
    fused into the pass that writes ``yt``).

    The arrays are in the panel layout (:func:`panel_shape`): each panel is computed
    as if it were the whole batch. Work items are (panel, block of outputs), panel
    first, so that with as many panels as threads each thread keeps to its own
    panel in every kernel of a step.

    Measured (benchmarks/bench_training.py, density 0.5%): 40% less time than the
    scatter over CSR rows it replaced, which loaded and stored each output tile once
    per edge; reading the weights through ``positions`` rather than from a copy in
    column order costs little, as they stay in cache.
    """
    col_ptr, rows, positions = columns
    n_out = bias.size
    n_panels = yt.shape[0] // max(n_out, 1)
    n_in = xt.shape[0] // max(n_panels, 1)
    batch = yt.shape[1]
    typed = np.zeros(1, dtype=yt.dtype)
    zero = typed[0]
    step = _simd.lanes(yt)
    n_blocks = (n_out + _BLOCK - 1) // _BLOCK
    for item in prange(n_panels * n_blocks):
        p = item // n_blocks
        first = (item % n_blocks) * _BLOCK
        x = xt[p * n_in : (p + 1) * n_in]
        y = yt[p * n_out : (p + 1) * n_out]
        for j in range(first, min(first + _BLOCK, n_out)):
            k0 = col_ptr[j]
            k1 = col_ptr[j + 1]
            start = bias[j]
            t0 = 0
            while t0 + 8 * step <= batch:
                tile = _gather_by_column(k0, k1, rows, positions, data, x, start, t0, relu, 8)
                _simd.store_tile(y, j, t0, tile)
                t0 += 8 * step
            if t0 + 4 * step <= batch:
                tile = _gather_by_column(k0, k1, rows, positions, data, x, start, t0, relu, 4)
                _simd.store_tile(y, j, t0, tile)
                t0 += 4 * step
            while t0 + step <= batch:
                tile = _gather_by_column(k0, k1, rows, positions, data, x, start, t0, relu, 1)
                _simd.store_tile(y, j, t0, tile)
                t0 += step
            for t in range(t0, batch):
                s = start
                for k in range(k0, k1):
                    s = s + data[positions[k]] * x[rows[k], t]  # contracted: one fused multiply-add
                if relu:
                    s = s if (s >= 0 or s != s) else zero
                y[j, t] = s


def column_order(indptr, indices, n_out):
    """The pattern by columns, for :func:`forward`: ``(indptr, rows, positions)``.

    Column j's edges are ``positions[indptr[j]:indptr[j + 1]]`` (their index in CSR
    order), from input rows ``rows[...]``, in ascending row order.

    Examples
    --------
    >>> import numpy as np
    >>> ptr, rows, pos = column_order(np.array([0, 2, 3]), np.array([0, 1, 1]), 2)
    >>> ptr.tolist(), rows.tolist(), pos.tolist()
    ([0, 1, 3], [0, 0, 1], [0, 1, 2])
    """
    positions = np.argsort(indices, kind="stable").astype(indices.dtype)
    edge_rows = np.repeat(np.arange(indptr.size - 1, dtype=indices.dtype), np.diff(indptr))
    col_ptr = np.zeros(n_out + 1, dtype=indptr.dtype)
    np.cumsum(np.bincount(indices, minlength=n_out), out=col_ptr[1:])
    return col_ptr, edge_rows[positions], positions


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


def _backward_tile(  # pragma: no cover - numba
    i, k0, k1, indices, data, xt, gt, grad, gxt, t0, relu, zero, count
):
    """:func:`backward` of input row i over one tile of ``count`` vectors from ``t0``.

    ``xt[i]``'s tile and ``gxt[i]``'s running sums stay in registers across the
    row's edges; each edge's tile of ``gt`` is loaded once for both. The first tile
    (``t0 == 0``) sets ``grad[k]`` to ``0 + dot``, later ones add to it.
    """
    literally(count)
    first = t0 == 0
    x = _simd.load_tile(xt, i, t0, count)
    sums = _simd.splat_tile(gxt, zero, count)
    for k in range(k0, k1):
        if k + _PREFETCH < k1:
            _simd.prefetch_tile(gt, _simd.at(indices, k + _PREFETCH), t0, count)
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
):  # pragma: no cover
    """:func:`sddmm` into ``grad`` and :func:`backward_inputs` into ``gxt`` in one pass.

    Both read the row ``gt[j]`` of every edge (i, j) of input row i; here each tile
    of it is loaded once for both: its dot product with ``xt[i]``'s tile (held in
    registers) goes to ``grad[p, k]``, and ``W[i, j]`` times it to ``gxt[i]``'s
    running sums (in registers too). With ``relu``, ``xt`` is the ReLU output that
    fed this layer and ``gxt[i]`` is multiplied by ``xt[i] > 0``, as
    ``backward_inputs(..., relu_out=xt)`` does. Every value is the one the two
    separate kernels give, bit for bit (same operations in the same order).

    The arrays are in the panel layout (:func:`panel_shape`); ``grad`` has shape
    (P, n_edges) and receives each panel's weight gradient in its row. Work items
    are (panel, block of input rows), panel first.

    ``gxt_sums``, if given (shape (P, n_in), panels of at most :data:`ROW_SUM_MAX`
    columns), receives the row sums of each panel of ``gxt`` as :func:`row_sums`
    computes them, while each block of rows is still in cache: the previous
    layer's bias gradient, without another pass.

    With several panels or a weight ``decay``, ``grad_total`` (and ``sums_total``
    with ``gxt_sums``) receive the rows of ``grad`` (``gxt_sums``) added in panel
    order, in a second parallel loop of the same call,
    plus ``decay · data`` for the weights (L2 regularisation's gradient).
    """
    n_in = indptr.size - 1
    n_panels = grad.shape[0]
    n_out = gt.shape[0] // n_panels
    batch = gxt.shape[1]
    typed = np.zeros(1, dtype=gxt.dtype)
    zero = typed[0]  # 0 in the arrays' dtype (the sums run in it)
    step = _simd.lanes(gxt)
    tiled = batch - batch % (8 * step)
    if tiled + 4 * step <= batch:
        tiled += 4 * step
    n_row_blocks = (n_in + _BLOCK - 1) // _BLOCK
    for item in prange(n_panels * n_row_blocks):
        p = item // n_row_blocks
        first = (item % n_row_blocks) * _BLOCK
        last = min(first + _BLOCK, n_in)
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
                _sddmm_row(i, k0, k1, indices, x, g, out, zero, tiled)
        if tiled < batch:
            _gather(indptr, indices, data, first, last, g, gx, relu, x, tiled)
        if gxt_sums is not None:
            sums = gxt_sums[p]
            for i in range(first, last):
                sums[i] = zero + _block_sum(gx, i, batch, zero)
    if grad_total is not None and (n_panels > 1 or decay != 0):
        _add_panels(grad, grad_total, data, decay)
    if n_panels > 1 and gxt_sums is not None and sums_total is not None:
        _add_panels(gxt_sums, sums_total)


def _dot_tile_row(i, k0, k1, indices, xt, gt, out, t0, count):  # pragma: no cover - numba
    """``out[k] += dot(xt[i], gt[indices[k]])`` over one tile of ``count`` vectors from ``t0``."""
    literally(count)
    x = _simd.load_tile(xt, i, t0, count)
    for k in range(k0, k1):
        if k + _PREFETCH < k1:
            _simd.prefetch_tile(gt, _simd.at(indices, k + _PREFETCH), t0, count)
        out[k] += _simd.dot_tile(x, _simd.load_tile(gt, _simd.at(indices, k), t0, count))


def _sddmm_row(i, k0, k1, indices, xt, gt, out, zero, t_start=0):  # pragma: no cover - numba
    """``out[k] += dot(xt[i], gt[indices[k]])`` for k in [k0, k1).

    Batch tiles of eight vectors first, then one of four if that fits (``xt[i]``'s
    tile held in registers across the edges, :func:`_simd.dot_tile`), then the
    leftover vectors in one running vector, then the leftover elements one by one,
    each part added to ``out[k]`` in that order. Columns before ``t_start`` are left
    out.
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
):  # pragma: no cover
    """``out[p, k] = dot(xt[i], gt[j])`` over panel p, for the k-th stored entry (i, j).

    ``(Xᵀ G)`` sampled at the pattern, one row of ``out`` (shape (P, n_edges)) per
    panel of the panel layout (:func:`panel_shape`). ``block_ptr`` is
    :func:`column_blocks`'s split of the CSR rows (a single block is ``indptr`` as
    one column: ``numpy.stack([indptr[:-1], indptr[1:]], axis=1)``). Work items are (panel,
    column block, range of rows), the rows of each block split into ``n_chunks``:
    one item per thread is best. With a block per thread, a thread reads only the
    rows of ``gt`` in its block, which stay in its cache, and are the ones the same
    thread wrote in the previous layer's :func:`backward` (both split their range in
    contiguous halves: measured 20% faster in a training step than splitting rows).
    Every ``out[p, k]`` is computed whole by :func:`_sddmm_row`, so neither the
    blocks nor the chunks change it. ``zero`` is 0 in the arrays' dtype (the sums
    run in it). With several panels or a weight ``decay``, ``total`` receives the
    rows of ``out`` added in panel order plus ``decay · data``, in a second parallel
    loop of the same call.
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
                _sddmm_row(i, k0, k1, indices, x, g, o, zero)
    if total is not None and (n_panels > 1 or decay != 0):
        _add_panels(out, total, data, decay)


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
    """``out[j]``: the sum of row j over every panel, rows of at most 128 (a thread per j).

    With one panel, ``numpy.sum(gt[j])`` bit for bit: numpy's add-reduction starts
    from its identity 0 and adds the pairwise sum of the row; so does this (``0 + s``
    turns a sum of -0.0 into 0.0, as numpy does). With P panels (``gt`` of P · n
    rows, :func:`panel_shape`), each panel's sum so taken, added in panel order:
    the panels' sums added in panel order.
    """
    n = out.size
    n_panels = gt.shape[0] // max(n, 1)
    batch = gt.shape[1]
    zero = np.zeros(1, dtype=out.dtype)[0]
    for j in prange(n):
        total = zero + _block_sum(gt, j, batch, zero)
        for p in range(1, n_panels):
            total += zero + _block_sum(gt, p * n + j, batch, zero)
        out[j] = total


def _add_panels(parts, out, weights=None, decay=0.0):  # pragma: no cover - numba
    """``out[k] = parts[0, k] + parts[1, k] + ... (+ decay · weights[k])``, a parallel loop.

    The panels are added in order; ``out`` may be ``parts[0]``.
    """
    n_panels = parts.shape[0]
    typed = np.zeros(1, dtype=out.dtype)
    typed[0] = decay
    scale = typed[0]  # in the arrays' dtype, so that the sums stay in it
    for k in prange(out.size):
        total = parts[0, k]
        for p in range(1, n_panels):
            total += parts[p, k]
        if weights is not None:
            total += scale * weights[k]
        out[k] = total


def add_weight_decay(grad, weights, decay):  # pragma: no cover - numba
    """``grad += decay · weights`` in place, as :func:`backward` adds it (no temporary)."""
    _add_panels(grad.reshape(1, grad.size), grad, weights, decay)


def sgd_update(params, grads, velocities, learning_rate, momentum, nesterov):  # pragma: no cover
    """scikit-learn's SGD step in place: ``v = m v - lr g``, then ``p += v``.

    On each array of the tuple ``params`` (with the matching ones of ``grads`` and
    ``velocities``): one call for a whole model, as each call costs several
    microseconds before any work.
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
    """scikit-learn's Adam step in place, ``step_size`` already bias-corrected.

    On each array of the tuple ``params``, as :func:`sgd_update`.
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


_block_sum = _jit(_block_sum, inline="always", error_model="numpy")
_add_panels = _jit(_add_panels, inline="always", error_model="numpy")
# "contract": one fused multiply-add per scalar term, same order as written (the
# vector code issues its fused multiply-adds explicitly).
_CONTRACT = {"contract"}
_gather_tile8 = _jit(_gather_tile8, error_model="numpy", fastmath=_CONTRACT)
_gather_tile4 = _jit(_gather_tile4, error_model="numpy", fastmath=_CONTRACT)
_gather_tile1 = _jit(_gather_tile1, error_model="numpy", fastmath=_CONTRACT)
_finish = _jit(_finish, error_model="numpy", fastmath=_CONTRACT)
_gather = _jit(_gather, error_model="numpy", fastmath=_CONTRACT)
_fill_block_ptr = _jit(_fill_block_ptr, error_model="numpy")
_dot_tile_row = _jit(_dot_tile_row, error_model="numpy", fastmath=_CONTRACT)
_sddmm_row = _jit(_sddmm_row, error_model="numpy", fastmath=_CONTRACT)
_backward_tile = _jit(_backward_tile, error_model="numpy", fastmath=_CONTRACT)
backward = _compiled(backward, fastmath=_CONTRACT)
_gather_by_column = _jit(_gather_by_column, error_model="numpy", fastmath=_CONTRACT)
forward = _compiled(forward, fastmath=_CONTRACT)
backward_inputs = _compiled(backward_inputs, fastmath=_CONTRACT)
sddmm = _compiled(sddmm, fastmath=_CONTRACT)
row_sums = _compiled(row_sums)
sgd_update = _compiled(sgd_update)
add_weight_decay = _compiled(add_weight_decay, fastmath=_CONTRACT)
load_panels = _compiled(load_panels)
adam_update = _compiled(adam_update)
