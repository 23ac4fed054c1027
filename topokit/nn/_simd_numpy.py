"""NumPy stand-ins for the vector intrinsics of :mod:`topokit.nn._simd`, for debugging.

With ``NUMBA_DISABLE_JIT=1`` numba runs every kernel as plain Python, where the
intrinsics of :mod:`topokit.nn._simd` (LLVM code generators) cannot run;
:mod:`topokit.nn._simd` then exports these functions under the same names. A vector
is a NumPy array of :func:`lanes` elements of the array's dtype, a tile a tuple of
vectors; every function returns new arrays and leaves its arguments alone.

The values are the intrinsics' except for rounding: NumPy has no fused multiply-add,
so :func:`fma` (and the kernels' scalar ``s + a * b``, which numba contracts) rounds
the product and the sum separately. The order of every sum is the one the compiled
kernels use, so the kernels' invariants hold here too (each batch tile gives what a
column alone gives, each panel what a batch alone gives, bit for bit); the values
differ from the compiled kernels' in the last bits. Slow: for debugging the kernels
with a Python debugger, never for training.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "add",
    "add_totals",
    "at",
    "dot_tile",
    "dot_vector",
    "fma",
    "fma_columns",
    "fma_tile",
    "lanes",
    "load",
    "load8",
    "load_tile",
    "mul",
    "pairwise_total8",
    "prefetch_tile",
    "relu",
    "relu_tile",
    "splat",
    "splat_columns",
    "splat_tile",
    "store",
    "store_columns",
    "store_tile",
    "times_positive",
    "times_positive_tile",
    "total",
]

_VECTOR_BYTES = 64


def lanes(array):
    """Number of elements of ``array``'s dtype in one 64-byte vector."""
    return _VECTOR_BYTES // array.dtype.itemsize


def at(array, index):
    """``array[index]``."""
    return array[index]


def load(array, row, col):
    """A copy of ``array[row, col : col + lanes]``."""
    return array[row, col : col + lanes(array)].copy()


def load8(array, row, col):
    """A copy of ``array[row, col : col + 8]``."""
    return array[row, col : col + 8].copy()


def load_tile(array, row, col, count):
    """The ``count`` vectors that follow ``array[row, col]``, as a tuple."""
    step = lanes(array)
    return tuple(load(array, row, col + v * step) for v in range(count))


def prefetch_tile(array, row, col, count):
    """Nothing: prefetching changes no value."""


def store(array, row, col, value):
    """``array[row, col : col + lanes] = value``."""
    array[row, col : col + value.size] = value


def store_tile(array, row, col, values):
    """``array[row, col : col + count · lanes] = values`` (a tuple of vectors)."""
    step = lanes(array)
    for v, value in enumerate(values):
        store(array, row, col + v * step, value)


def splat(array, value):
    """A vector of ``array``'s dtype with every element ``value`` (cast to that dtype)."""
    return np.full(lanes(array), value, dtype=array.dtype)


def splat_tile(array, value, count):
    """A tuple of ``count`` vectors of ``array``'s dtype, all ``value``."""
    return tuple(splat(array, value) for _ in range(count))


def splat_columns(array, values, start, count):
    """A tuple of ``count`` vectors of ``array``'s dtype, vector c all ``values[start + c]``."""
    return tuple(splat(array, values[start + c]) for c in range(count))


def store_columns(array, row, col, values):
    """``array[row + c, col : col + lanes] = values[c]`` for each vector c of a tuple."""
    for c, value in enumerate(values):
        store(array, row + c, col, value)


def mul(a, b):
    """``a * b`` element by element."""
    return a * b


def add(a, b):
    """``a + b`` element by element."""
    return a + b


def fma(a, b, c):
    """``a * b + c`` element by element (rounded twice: NumPy has no fused multiply-add)."""
    return a * b + c


def fma_tile(w, xs, accs):
    """:func:`fma` of ``w`` with each vector of ``xs`` and the matching one of ``accs``."""
    return tuple(fma(w, x, acc) for x, acc in zip(xs, accs, strict=True))


def fma_columns(weights, start, x, accs):
    """:func:`fma` of ``weights[start + c]`` (in every lane) and ``x`` with each ``accs[c]``."""
    return tuple(
        fma(np.full(x.size, weights[start + c], dtype=x.dtype), x, acc)
        for c, acc in enumerate(accs)
    )


def relu(a):
    """``numpy.maximum(a, 0)``: 0 where ``a < 0``, else ``a`` (NaN and -0.0 kept)."""
    return np.where(a < 0, a.dtype.type(0), a)


def relu_tile(values):
    """:func:`relu` of each vector of a tuple."""
    return tuple(relu(value) for value in values)


def times_positive(a, b):
    """``a * (1 if b > 0 else 0)`` element by element (NaN and infinities propagate)."""
    return a * (b > 0).astype(a.dtype)


def times_positive_tile(values, masks):
    """:func:`times_positive` of each vector of a tuple by the matching one of ``masks``."""
    return tuple(times_positive(a, b) for a, b in zip(values, masks, strict=True))


def total(a):
    """Sum of the elements of ``a``: halves added pairwise, ``log2(lanes)`` times."""
    while a.size > 1:
        half = a.size // 2
        a = a[:half] + a[half:]
    return a[0]


def dot_vector(xs, ys):
    """:func:`dot_tile` before its total: products in pairs as ``fma(x1, y1, x0 · y0)``,
    the pair sums added pairwise, one vector."""
    if len(xs) == 1:
        sums = [xs[0] * ys[0]]
    else:
        sums = [
            fma(xs[2 * p + 1], ys[2 * p + 1], xs[2 * p] * ys[2 * p]) for p in range(len(xs) // 2)
        ]
    while len(sums) > 1:
        sums = [sums[2 * q] + sums[2 * q + 1] for q in range(len(sums) // 2)]
    return sums[0]


def dot_tile(xs, ys):
    """``Σ xs[v] · ys[v]`` over a tuple of 1, 2, 4 or 8 vectors, in the intrinsic's order:
    :func:`dot_vector`, then the vector's elements by :func:`total`'s order."""
    return total(dot_vector(xs, ys))


def add_totals(array, index, vectors, first):
    """``array[index + q] = (0 if first else array[index + q]) + total(vectors[q])``."""
    for q, vector in enumerate(vectors):
        start = array.dtype.type(0) if first else array[index + q]
        array[index + q] = start + total(vector)


def pairwise_total8(a):
    """``((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))`` of an eight-element vector."""
    return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))
