"""The C heap during a run on a Dask worker: no trimming after every free.

Dask's nanny starts its worker processes with ``MALLOC_TRIM_THRESHOLD_=65536``
(``distributed.nanny.pre-spawn-environ``), so that they give freed memory back to the
operating system at once. glibc then also stops raising its mmap threshold, and every
large NumPy array of a training step is mapped, zero-filled page by page and unmapped
again: a run costs about 20% more CPU time on such a worker than in a plain process
(the default study on a loopback cluster, measured in ``benchmarks/bench_study.py``).

:func:`run_heap` lifts the trim threshold and sets a fixed mmap threshold for the
duration of one run, then puts the worker's trim threshold back and trims the heap once,
so the memory a run used still goes back to the operating system when it ends, as Dask
wants. It does nothing where ``MALLOC_TRIM_THRESHOLD_`` is not set low, or where the C
library is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from contextlib import contextmanager

__all__ = ["RUN_MMAP_THRESHOLD", "RUN_TRIM_THRESHOLD", "run_heap"]

#: Bytes of free memory at the top of the heap that glibc keeps during a run.
RUN_TRIM_THRESHOLD = 64 << 20
#: Allocations of at least this many bytes are mapped on their own during a run (glibc's
#: dynamic threshold grows to 32 MiB at most, too).
RUN_MMAP_THRESHOLD = 32 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, from <malloc.h>
_libc = None


def _glibc():
    """glibc's ``CDLL``, or None on another C library."""
    global _libc
    if _libc is None:
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            libc.mallopt, libc.malloc_trim  # noqa: B018  (AttributeError if not glibc)
        except (OSError, AttributeError):
            libc = False
        _libc = libc
    return _libc or None


def _worker_trim_threshold() -> int | None:
    """The process's ``MALLOC_TRIM_THRESHOLD_`` when it is below the run's, else None."""
    try:
        value = int(os.environ.get("MALLOC_TRIM_THRESHOLD_", ""))
    except ValueError:
        return None
    return value if 0 <= value < RUN_TRIM_THRESHOLD else None


@contextmanager
def run_heap():
    """Within the block, the C heap keeps freed memory; after it, it is trimmed once.

    Yields
    ------
    bool
        Whether the heap settings were changed (a low ``MALLOC_TRIM_THRESHOLD_`` under
        glibc, as on a Dask nanny's worker).

    Examples
    --------
    >>> import os
    >>> from topokit.analysis._heap import run_heap
    >>> with run_heap() as changed:
    ...     pass
    >>> changed == ("MALLOC_TRIM_THRESHOLD_" in os.environ and changed)
    True
    """
    worker = _worker_trim_threshold()
    libc = _glibc() if worker is not None else None
    if libc is None:
        yield False
        return
    libc.mallopt(_M_TRIM_THRESHOLD, RUN_TRIM_THRESHOLD)
    libc.mallopt(_M_MMAP_THRESHOLD, RUN_MMAP_THRESHOLD)
    try:
        yield True
    finally:
        libc.mallopt(_M_TRIM_THRESHOLD, worker)
        libc.malloc_trim(0)
