"""The OpenMP spin: the one process-wide setting topokit.nn makes for speed.

Unless ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` is already in the environment,
importing this module sets ``os.environ["GOMP_SPINCOUNT"] = "10000"``: after a parallel
region libgomp's threads spin about 10 000 iterations (a fraction of a millisecond),
enough to cover the gaps between the kernels of one training step, then sleep instead of
holding a core for libgomp's default of 300 000 iterations (several milliseconds).
libgomp reads the variable once, when it is loaded into the process (for numba's OpenMP
threading layer, at the first parallel kernel call), so it is set when ``topokit.nn`` is
imported (its ``__init__`` imports this module, which imports nothing heavy) and again
by :mod:`topokit.nn._compile`, which every kernel module imports: before any kernel of
the package can run. To keep libgomp's own behaviour, set ``GOMP_SPINCOUNT`` or
``OMP_WAIT_POLICY`` yourself before importing topokit; see the documentation's
Performance page for the reasons, the value and its reach.
"""

from __future__ import annotations

import os

__all__ = ["SPIN_COUNT"]

SPIN_COUNT = "10000"

if "OMP_WAIT_POLICY" not in os.environ:
    os.environ.setdefault("GOMP_SPINCOUNT", SPIN_COUNT)
