"""The kernel tests pass with numba's JIT switched off, so the kernels can be debugged as Python.

``NUMBA_DISABLE_JIT=1`` makes every numba kernel plain Python and the SIMD intrinsics
their NumPy stand-ins (:mod:`topokit.nn._simd_numpy`). This runs the documented
debugging command in a subprocess, so that it keeps working.
"""

import os
import subprocess
import sys
import types
from pathlib import Path

import numba
import numpy as np
import pytest

from topokit.nn import _layer_forward, _simd, _simd_numpy

ROOT = Path(__file__).parents[2]
COMMAND = ["-m", "pytest", "-q", "-p", "no:cacheprovider"]
FILES = ["tests/nn/test_kernels.py", "tests/nn/test_fused_kernels.py"]


@pytest.mark.slow
@pytest.mark.skipif(numba.config.DISABLE_JIT, reason="runs the JIT-less tests itself")
def test_kernel_tests_pass_with_numba_jit_disabled():
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    result = subprocess.run(
        [sys.executable, *COMMAND, *FILES],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " passed" in result.stdout
    assert " failed" not in result.stdout


_PROBE = """
import numba
from topokit.nn import _layer_forward, _simd, _simd_numpy
assert numba.config.DISABLE_JIT
assert _simd.load is _simd_numpy.load, _simd.load
print(type(_layer_forward.forward.parallel).__name__)
"""


def test_disable_jit_switches_kernels_and_intrinsics_to_python():
    result = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=ROOT,
        env=dict(os.environ, NUMBA_DISABLE_JIT="1"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "function"  # a plain Python function, not a dispatcher


@pytest.mark.skipif(numba.config.DISABLE_JIT, reason="compares with the compiled intrinsics")
def test_compiled_intrinsics_are_not_the_numpy_stand_ins():
    assert _simd.load is not _simd_numpy.load
    assert type(_layer_forward.forward.parallel).__name__ == "CPUDispatcher"
    # one stand-in for every intrinsic, and nothing else
    intrinsics = {
        name
        for name, value in vars(_simd).items()
        if type(value).__name__ == "_Intrinsic" and not name.startswith("_")
    }
    assert intrinsics == set(_simd_numpy.__all__)


# the intrinsics _ops calls: each copy of it made by _with_simd binds its own
simd = _simd


def _ops(a, b, c, out):
    """Each intrinsic once on rows of ``a``, ``b``, ``c``; vectors to ``out``, scalars returned.

    ``simd`` is a global: :mod:`topokit.nn._simd` or its NumPy stand-ins (see below).
    """
    step = simd.lanes(a)
    simd.store(out, 0, 0, simd.fma(simd.load(a, 0, 0), simd.load(b, 0, 0), simd.load(c, 0, 0)))
    simd.store(out, 1, 0, simd.mul(simd.load(a, 1, 0), simd.load(b, 1, 0)))
    simd.store(out, 2, 0, simd.relu(simd.load(a, 2, 0)))
    simd.store(out, 3, 0, simd.times_positive(simd.load(a, 3, 0), simd.load(b, 3, 0)))
    simd.store(out, 4, 0, simd.splat(a, simd.at(c[0], 5)))
    tile = simd.fma_tile(
        simd.splat(a, c[1, 0]), simd.load_tile(a, 4, 0, 4), simd.load_tile(b, 4, 0, 4)
    )
    simd.store_tile(out, 5, 0, tile)
    simd.store_tile(out, 6, 0, simd.relu_tile(simd.load_tile(b, 5, 0, 4)))
    masked = simd.times_positive_tile(simd.load_tile(a, 6, 0, 4), simd.load_tile(b, 6, 0, 4))
    simd.store_tile(out, 7, 0, masked)
    simd.store_tile(out, 8, 0, simd.splat_tile(a, c[2, 3], 4))
    simd.store_columns(out, 9, 0, simd.splat_columns(a, c[3], 2, 2))
    columns = simd.fma_columns(c[4], 1, simd.load(a, 7, 0), simd.splat_columns(a, c[5], 0, 2))
    simd.store_columns(out, 11, 0, columns)
    simd.prefetch_tile(a, 0, 0, 4)
    eight = simd.add(simd.load8(a, 7, 0), simd.load8(b, 7, 8))
    total = simd.total(simd.load(a, 8, step))
    dots = (
        simd.dot_tile(simd.load_tile(a, 9, 0, 1), simd.load_tile(b, 9, 0, 1)),
        simd.dot_tile(simd.load_tile(a, 9, 0, 4), simd.load_tile(b, 9, 0, 4)),
        simd.dot_tile(simd.load_tile(a, 9, 0, 8), simd.load_tile(b, 9, 0, 8)),
    )
    simd.store(out, 13, 0, simd.dot_vector(simd.load_tile(a, 9, 0, 4), simd.load_tile(b, 9, 0, 4)))
    v0, v1 = simd.load(b, 9, 0), simd.load(b, 9, step)
    v2, v3 = simd.load(b, 9, 2 * step), simd.load(b, 9, 3 * step)
    simd.add_totals(c[9], 2, (v0, v1, v2, v3), True)
    simd.add_totals(c[8], 1, (v3, v2), False)
    return simd.pairwise_total8(eight), total, dots


def _with_simd(module):
    """:func:`_ops` with the global ``simd`` bound to ``module``."""
    return types.FunctionType(_ops.__code__, {**globals(), "simd": module}, "_ops")


_numpy_ops = _with_simd(_simd_numpy)
_compiled_ops = numba.njit(_with_simd(_simd))


@pytest.mark.skipif(numba.config.DISABLE_JIT, reason="compares with the compiled intrinsics")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numpy_stand_ins_compute_what_the_intrinsics_compute(dtype):
    # small integers: every product and sum is exact, so fused and unfused rounding agree
    # and any difference is one of meaning or order
    rng = np.random.default_rng(0)
    width = 8 * 64 // np.dtype(dtype).itemsize
    a, b, c = (rng.integers(-8, 9, (10, width)).astype(dtype) for _ in range(3))
    a[2, :3] = [np.nan, -0.0, -1.0]  # relu keeps NaN and -0.0
    b[3, :2] = [np.nan, 0.0]  # times_positive: NaN and 0 are not positive
    compiled, numpy = np.zeros((14, width), dtype=dtype), np.zeros((14, width), dtype=dtype)
    c_numpy = c.copy()  # add_totals writes into rows of c
    expected = _compiled_ops(a, b, c, compiled)
    got = _numpy_ops(a, b, c_numpy, numpy)
    np.testing.assert_array_equal(c_numpy, c)
    np.testing.assert_array_equal(numpy, compiled)
    assert np.signbit(numpy).tolist() == np.signbit(compiled).tolist()
    assert got[0] == expected[0]
    assert got[1] == expected[1]
    assert tuple(got[2]) == tuple(expected[2])
