"""The forward pass of a sparse layer: ``Y = Wᵀ X + b`` as a gather over each output's edges.

A layer's weights are the CSR ``(indptr, indices, data)`` of its ``(n_in, n_out)``
pattern (row i = input neuron i, ``data`` in row-major order). :func:`column_order`
lists each output's edges by column once per layer, with their positions in ``data``,
so that :func:`forward` reads the weights in place: there is no second copy for the
optimizer to keep in step.

For activations ``xt`` of shape ``(P · n_in, width)`` and ``yt`` of shape
``(P · n_out, width)`` in the panel layout (:mod:`topokit.nn._panels`)::

    yt[p·n_out + j, t] = bias[j] + Σ_{k in column j, rows ascending} data[positions[k]]
                                                              · xt[p·n_in + rows[k], t]

each output starting at its bias and adding its edges in ascending input order, one
fused multiply-add each, whichever batch tile (eight, four or one 64-byte vectors, then
single columns) its column falls in: every value is independent of the tiling, of the
work split and of the number of threads. Its NumPy counterpart, which the tests compare
it with, is :func:`topokit.nn._reference.forward`.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from topokit.nn import _compile, _simd
from topokit.nn._compile import BLOCK, PREFETCH

__all__ = ["column_order", "fits_complete", "forward", "forward_complete"]


def column_order(indptr, indices, n_out):
    """The pattern by columns, for :func:`forward`: ``(indptr, rows, positions)``.

    Column j's edges are ``positions[indptr[j]:indptr[j + 1]]`` (their index in CSR
    order), from input rows ``rows[...]``, in ascending row order: the CSC structure
    of the pattern, with the CSR position of each entry.

    Parameters
    ----------
    indptr, indices : ndarray
        The CSR pattern of shape (n_in, n_out), indices sorted within each row.
    n_out : int

    Returns
    -------
    col_ptr : ndarray of shape (n_out + 1,)
    rows, positions : ndarray of shape (n_edges,)

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


def _add_edge(k, rows, positions, data, xt, t0, sums, count):  # pragma: no cover - numba
    """``sums + data[positions[k]] · xt[rows[k], tile]``: one fused multiply-add a vector."""
    w = _simd.splat(xt, _simd.at(data, _simd.at(positions, k)))
    return _simd.fma_tile(w, _simd.load_tile(xt, _simd.at(rows, k), t0, count), sums)


def _gather_two_columns(  # pragma: no cover - numba
    a0, a1, b0, b1, rows, positions, data, xt, start_a, start_b, t0, relu, count
):
    """One tile of two columns: ``start + Σ_k data[positions[k]] · xt[rows[k], tile]``.

    Column a's sum over its edges [a0, a1), column b's over [b0, b1) (possibly empty).
    The tile is ``count`` vectors from batch column ``t0``, each sum's running values in
    registers, one fused multiply-add per edge and vector, in order of k. The two sums
    advance side by side over their common length, then each finishes alone: each is
    the value a column alone gives, bit for bit, while the processor overlaps two chains
    of dependent multiply-adds (and their loads) instead of one. Each column prefetches
    the input row it needs ``PREFETCH // 2`` of its edges ahead (:data:`PREFETCH` edges
    of the two together). With ``relu``, returns ``numpy.maximum(sums, 0)`` of each.
    """
    # ``count`` is a constant at every call, and numba inlines this function there
    # (inline="always"): the intrinsics see it as a literal, and no call per row
    sums_a = _simd.splat_tile(xt, start_a, count)
    sums_b = _simd.splat_tile(xt, start_b, count)
    common = min(a1 - a0, b1 - b0)
    ahead = PREFETCH // 2
    for e in range(common):
        if a0 + e + ahead < a1:
            _simd.prefetch_tile(xt, _simd.at(rows, a0 + e + ahead), t0, count)
        if b0 + e + ahead < b1:
            _simd.prefetch_tile(xt, _simd.at(rows, b0 + e + ahead), t0, count)
        sums_a = _add_edge(a0 + e, rows, positions, data, xt, t0, sums_a, count)
        sums_b = _add_edge(b0 + e, rows, positions, data, xt, t0, sums_b, count)
    for k in range(a0 + common, a1):
        if k + ahead < a1:
            _simd.prefetch_tile(xt, _simd.at(rows, k + ahead), t0, count)
        sums_a = _add_edge(k, rows, positions, data, xt, t0, sums_a, count)
    for k in range(b0 + common, b1):
        if k + ahead < b1:
            _simd.prefetch_tile(xt, _simd.at(rows, k + ahead), t0, count)
        sums_b = _add_edge(k, rows, positions, data, xt, t0, sums_b, count)
    if relu:
        sums_a = _simd.relu_tile(sums_a)
        sums_b = _simd.relu_tile(sums_b)
    return sums_a, sums_b


def _column_tail(
    j, col_ptr, rows, positions, data, bias, x, y, t0, relu, zero
):  # pragma: no cover - numba
    """Column j of ``y`` past the whole vectors, from batch column ``t0``, element by element."""
    k0 = col_ptr[j]
    k1 = col_ptr[j + 1]
    for t in range(t0, y.shape[1]):
        s = bias[j]
        for k in range(k0, k1):
            s = s + data[positions[k]] * x[rows[k], t]  # contracted: one fused multiply-add
        if relu:
            s = s if (s >= 0 or s != s) else zero
        y[j, t] = s


def _pair_tile(
    a, lone, a0, a1, b1, rows, positions, data, bias, x, y, t0, relu, count
):  # pragma: no cover - numba
    """One tile of columns a and a + 1 of ``y`` (of column a alone if ``lone``).

    Stores the tile of ``count`` vectors from batch column ``t0`` and returns the next
    ``t0``. A lone column is the first of a pair whose second has no edges (and is not
    stored).
    """
    b = a if lone else a + 1
    ta, tb = _gather_two_columns(
        a0, a1, a1, b1, rows, positions, data, x, bias[a], bias[b], t0, relu, count
    )
    _simd.store_tile(y, a, t0, ta)
    if not lone:
        _simd.store_tile(y, b, t0, tb)
    return t0 + count * _simd.lanes(y)


def _column_pair(
    a, lone, col_ptr, rows, positions, data, bias, x, y, relu, zero
):  # pragma: no cover - numba
    """Columns a and a + 1 of ``y`` (column a alone if ``lone``): whole tiles of eight,
    four and one vectors, then the leftover batch columns one by one."""
    a0, a1 = col_ptr[a], col_ptr[a + 1]
    b1 = a1 if lone else col_ptr[a + 2]
    step = _simd.lanes(y)
    batch = y.shape[1]
    t0 = 0
    while t0 + 8 * step <= batch:
        t0 = _pair_tile(a, lone, a0, a1, b1, rows, positions, data, bias, x, y, t0, relu, 8)
    if t0 + 4 * step <= batch:
        t0 = _pair_tile(a, lone, a0, a1, b1, rows, positions, data, bias, x, y, t0, relu, 4)
    while t0 + step <= batch:
        t0 = _pair_tile(a, lone, a0, a1, b1, rows, positions, data, bias, x, y, t0, relu, 1)
    _column_tail(a, col_ptr, rows, positions, data, bias, x, y, t0, relu, zero)
    if not lone:
        _column_tail(a + 1, col_ptr, rows, positions, data, bias, x, y, t0, relu, zero)


def forward(columns, data, bias, xt, yt, relu=False):  # pragma: no cover - numba
    """``yt[j, :] = bias[j] + Σ_i W[i, j] · xt[i, :]`` on each panel: the layer's output.

    Parameters
    ----------
    columns : tuple of ndarray
        :func:`column_order` of the layer's pattern.
    data : ndarray of shape (n_edges,)
        The weights in CSR order.
    bias : ndarray of shape (n_out,)
    xt : ndarray of shape (P · n_in, width)
        The input in the panel layout, C-contiguous, of ``yt``'s dtype.
    yt : ndarray of shape (P · n_out, width)
        Receives the output in the same layout.
    relu : bool, default False
        Store ``numpy.maximum(y, 0)`` instead (a hidden layer's activation fused into
        the pass that writes ``yt``; NaN and -0.0 are kept as numpy keeps them).

    Work items are (panel, block of :data:`BLOCK` outputs), panel first; each output
    element is computed whole by one thread, in the order of the module docstring.
    Outputs go two at a time (:func:`_gather_two_columns`), the odd last one of a
    block alone.
    """
    col_ptr, rows, positions = columns
    n_out = bias.size
    n_panels = yt.shape[0] // max(n_out, 1)
    n_in = xt.shape[0] // max(n_panels, 1)
    zero = yt.dtype.type(0)
    n_blocks = (n_out + BLOCK - 1) // BLOCK
    for item in prange(n_panels * n_blocks):
        p = item // n_blocks
        first = (item % n_blocks) * BLOCK
        last = min(first + BLOCK, n_out)
        x = xt[p * n_in : (p + 1) * n_in]
        y = yt[p * n_out : (p + 1) * n_out]
        for a in range(first, last, 2):
            lone = a + 1 == last
            _column_pair(a, lone, col_ptr, rows, positions, data, bias, x, y, relu, zero)


def _complete_columns(
    c0, n_in, n_out, data, bias, x, y, t0, relu, count
):  # pragma: no cover - numba
    """Columns ``c0 .. c0 + count`` of ``y`` over one vector of batch columns from ``t0``.

    Each column's sum in a register of its own, starting at its bias; every input row
    adds one fused multiply-add to each, in ascending row order: the forward's order.
    """
    # ``count`` is a constant at every call, and numba inlines this function there
    sums = _simd.splat_columns(y, bias, c0, count)
    for i in range(n_in):
        sums = _simd.fma_columns(data, i * n_out + c0, _simd.load(x, i, t0), sums)
    if relu:
        sums = _simd.relu_tile(sums)
    _simd.store_columns(y, c0, t0, sums)


def fits_complete(xt) -> bool:
    """Whether :func:`forward_complete` can take ``xt``: its batch width is whole vectors.

    Examples
    --------
    >>> import numpy as np
    >>> fits_complete(np.zeros((4, 32), np.float32)), fits_complete(np.zeros((4, 8), np.float32))
    (True, False)
    """
    return xt.shape[1] * xt.itemsize % _simd.VECTOR_BYTES == 0


def forward_complete(data, bias, xt, yt, relu=False):  # pragma: no cover - numba
    """:func:`forward` of a complete layer (every input joined to every output).

    ``data`` is then the row-major ``(n_in, n_out)`` matrix, and a row's weights of
    neighbouring outputs sit side by side. The outputs go eight (then four, two, one)
    at a time over one vector of the batch, all of them along the same walk down the
    input rows: each input vector is loaded once for a group, where :func:`forward`
    loads it once for each pair of outputs. Each output still starts at its bias and
    adds its inputs in ascending order, one fused multiply-add each: the values are
    :func:`forward`'s, bit for bit. The batch width must be a whole number of vectors
    (:func:`fits_complete`; :func:`~topokit.nn._panels.panel_shape` makes it one).

    Work items are (panel, vector of the batch), panel first.
    """
    n_out = bias.size
    n_panels = yt.shape[0] // max(n_out, 1)
    n_in = xt.shape[0] // max(n_panels, 1)
    step = _simd.lanes(yt)
    n_vectors = yt.shape[1] // step
    for item in prange(n_panels * n_vectors):
        p = item // n_vectors
        t0 = (item % n_vectors) * step
        x = xt[p * n_in : (p + 1) * n_in]
        y = yt[p * n_out : (p + 1) * n_out]
        c0 = 0
        while c0 + 8 <= n_out:
            _complete_columns(c0, n_in, n_out, data, bias, x, y, t0, relu, 8)
            c0 += 8
        if c0 + 4 <= n_out:
            _complete_columns(c0, n_in, n_out, data, bias, x, y, t0, relu, 4)
            c0 += 4
        if c0 + 2 <= n_out:
            _complete_columns(c0, n_in, n_out, data, bias, x, y, t0, relu, 2)
            c0 += 2
        if c0 < n_out:
            _complete_columns(c0, n_in, n_out, data, bias, x, y, t0, relu, 1)


_add_edge = _compile.jit(
    _add_edge, inline="always", error_model="numpy", fastmath=_compile.CONTRACT
)
_gather_two_columns = _compile.jit(
    _gather_two_columns, inline="always", error_model="numpy", fastmath=_compile.CONTRACT
)
_pair_tile = _compile.jit(
    _pair_tile, inline="always", error_model="numpy", fastmath=_compile.CONTRACT
)
_column_pair = _compile.jit(
    _column_pair, inline="always", error_model="numpy", fastmath=_compile.CONTRACT
)
_column_tail = _compile.jit(
    _column_tail, inline="always", error_model="numpy", fastmath=_compile.CONTRACT
)
forward = _compile.parallel_and_serial(forward, fastmath=_compile.CONTRACT, nrt=False)
_complete_columns = _compile.jit(
    _complete_columns, inline="always", error_model="numpy", fastmath=_compile.CONTRACT
)
forward_complete = _compile.parallel_and_serial(
    forward_complete, fastmath=_compile.CONTRACT, nrt=False
)
