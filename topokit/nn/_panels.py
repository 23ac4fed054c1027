"""The panel layout of a minibatch, its cache-line-aligned buffers, and loading samples in.

The layer kernels take the activations of ``n`` neurons for a minibatch of ``batch``
samples in the **panel layout** of :func:`panel_shape`: ``P`` panels of ``width``
samples each, every panel the feature-major ``(n, width)`` block of its samples,
stacked into one C-contiguous ``(P · n, width)`` array::

    sample s  ->  panel p = s // width,  column t = s % width
    a[p · n + i, t]  =  activation of neuron i for sample s

Invariants every kernel keeps:

* each panel is computed exactly as a batch of that panel's samples alone would be;
* per-panel partial results (weight gradients, bias sums) are added in panel order,
  ``((part_0 + part_1) + part_2) + ...``;
* work items go panel first, so that with as many panels as threads each thread keeps
  to its own panel (its own rows of every activation, in its own cache) through the
  whole training step.

Results therefore depend on the batch size (which fixes ``P`` and ``width``), never on
the number of threads. A batch of at most :data:`PANEL` samples is one panel, the
plain feature-major ``(n, batch)`` layout. The columns of the last panel past ``batch``
are padding: the caller sets them to zero, and they then add nothing to any sum.

Activation buffers come from :func:`empty_aligned`: each starts a 64-byte cache line,
so with ``width`` a multiple of 16 every float32 row does too (no vector load
straddles two lines, and two threads writing different rows never share one).
"""

from __future__ import annotations

import numpy as np
from numba import prange

from topokit.nn import _compile

__all__ = ["MAX_PANELS", "PANEL", "empty_aligned", "load_panels", "panel_shape"]

# Most samples in one panel, up to MAX_PANELS panels: a batch of 128 is two panels, one
# for each of two threads.
PANEL = 64
# Most panels of a batch: each panel holds its own copy of the weight gradient until
# the copies are added up, so larger batches get wider panels instead of more of them.
MAX_PANELS = 8

_CACHE_LINE = 64


def empty_aligned(shape, dtype) -> np.ndarray:
    """An uninitialised C-contiguous array whose first element starts a 64-byte cache line.

    Parameters
    ----------
    shape : tuple of int
    dtype : numpy dtype

    Returns
    -------
    ndarray of the given shape and dtype, ``a.ctypes.data % 64 == 0``.

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


def panel_shape(batch: int) -> tuple[int, int]:
    """``(n_panels, width)`` of the panel layout of a minibatch of ``batch`` samples.

    ``n_panels = min(ceil(batch / PANEL), MAX_PANELS)``; ``width`` is
    ``ceil(batch / n_panels)`` rounded up to a multiple of 16 (whole 64-byte float32
    vectors), so the panels are as even as whole vectors allow and every panel holds
    samples; ``n_panels · width - batch`` padding columns end the last panel.

    Parameters
    ----------
    batch : int
        Number of samples, at least 1.

    Returns
    -------
    n_panels, width : int

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

    ``out[p · n_features + f, t] = X[rows[p · width + t], f]`` for every sample, cast to
    ``out``'s dtype (as ``numpy.asarray(X, dtype)`` would), with ``out`` of shape
    ``(P · n_features, width)`` from :func:`panel_shape` of ``rows.size``. The padding
    columns are left as they are. One thread per panel (the one that reads it in the
    first layer); features go 16 at a time, so that the rows being written stay in L1
    cache. Returns the number of values that are NaN or infinite after the cast.
    """
    n_features = X.shape[1]
    width = out.shape[1]
    batch = rows.size
    n_panels = out.shape[0] // max(n_features, 1)
    n_bad = 0
    for p in prange(n_panels):
        panel_bad = 0
        count = min(width, batch - p * width)
        panel = out[p * n_features : (p + 1) * n_features]
        for f0 in range(0, n_features, 16):
            # slices indexed from 0 by ranges: numba knows no index is negative and
            # leaves out the wraparound (2.5x faster than indexing from f0)
            block = panel[f0 : f0 + 16]
            for t in range(count):
                sample = X[rows[p * width + t], f0 : f0 + 16]
                for f in range(sample.size):
                    block[f, t] = sample[f]
                    stored = block[f, t]
                    if stored - stored != 0:
                        panel_bad += 1
        n_bad += panel_bad
    return n_bad


load_panels = _compile.parallel_and_serial(load_panels)
