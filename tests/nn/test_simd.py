"""The vector intrinsics' orders of operations, against their own one-at-a-time forms.

The kernels' results are the same for any tiling and thread count because every
intrinsic fixes its order; :func:`topokit.nn._simd.add_totals`, which the weight
gradients use two or four edges at a time, must therefore give exactly what as many
:func:`~topokit.nn._simd.total` calls give, on values where the order shows (random
floats of mixed magnitudes, not small integers whose sums are exact).
"""

import numba
import numpy as np
import pytest

from topokit.nn import _simd

pytestmark = pytest.mark.skipif(
    numba.config.DISABLE_JIT, reason="compares compiled intrinsics with each other"
)


@numba.njit
def _totals_together(rows, out, index, first):
    v0, v1 = _simd.load(rows, 0, 0), _simd.load(rows, 1, 0)
    v2, v3 = _simd.load(rows, 2, 0), _simd.load(rows, 3, 0)
    _simd.add_totals(out, index, (v0, v1, v2, v3), first)
    _simd.add_totals(out, index + 4, (v2, v0), first)


@numba.njit
def _one_total_each(rows, out, index, first):
    zero = out.dtype.type(0)
    for q in range(4):
        value = _simd.total(_simd.load(rows, q, 0))
        out[index + q] = zero + value if first else out[index + q] + value
    for q, row in enumerate((2, 0)):
        value = _simd.total(_simd.load(rows, row, 0))
        out[index + 4 + q] = zero + value if first else out[index + 4 + q] + value


@numba.njit
def _dots(xt, gt, k):
    x = _simd.load_tile(xt, 0, 0, 4)
    g = _simd.load_tile(gt, k, 0, 4)
    return _simd.dot_tile(x, g), _simd.total(_simd.dot_vector(x, g))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("first", [True, False])
def test_add_totals_gives_the_totals_bit_for_bit(dtype, first):
    rng = np.random.default_rng(7)
    lanes = 64 // np.dtype(dtype).itemsize
    for trial in range(200):
        rows = rng.standard_normal((4, lanes)) * 10.0 ** rng.integers(-6, 7, (4, lanes))
        rows = rows.astype(dtype)
        if trial == 0:
            rows[1] = -0.0  # a total of -0.0: 0 + (-0.0) is 0.0 when first
        start = rng.standard_normal(9).astype(dtype)
        got, expected = start.copy(), start.copy()
        _totals_together(rows, got, 2, first)
        _one_total_each(rows, expected, 2, first)
        assert got.tobytes() == expected.tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dot_vector_is_dot_tile_before_its_total(dtype):
    rng = np.random.default_rng(3)
    width = 4 * 64 // np.dtype(dtype).itemsize
    xt = rng.standard_normal((1, width)).astype(dtype)
    gt = (rng.standard_normal((6, width)) * 1e3).astype(dtype)
    for k in range(6):
        dot, total = _dots(xt, gt, k)
        assert np.array(dot).tobytes() == np.array(total).tobytes()
