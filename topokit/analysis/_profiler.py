"""The Dask worker's statistical profiler, paused while a run executes on the worker.

A Dask worker samples the stacks of its running tasks 100 times a second
(``distributed.worker.profile.interval``, 10 ms) on its event loop. Each sample needs the
GIL, which a run's numba kernels hold, so the event loop and the run hand the GIL back and
forth all through the run, and the samples see nothing inside the kernels anyway. On a
loopback cluster of 2 single-threaded workers on 2 cores, the default study took about 4%
longer with the profiler sampling than without (``benchmarks/bench_study.py``).

:func:`paused_profiler` stops the worker's sampling while at least one run executes on it
and starts it again when none does: the worker's other tasks are profiled as before, and
so are runs where ``TOPOKIT_DASK_PROFILER=keep`` is set in the worker's environment. The
stop and start are done on the worker's event loop, which owns the periodic callback.
"""

from __future__ import annotations

import os
import sys
import threading
from contextlib import contextmanager

__all__ = ["KEEP_VARIABLE", "paused_profiler"]

#: Set to ``keep`` in a Dask worker's environment to leave its profiler sampling runs.
KEEP_VARIABLE = "TOPOKIT_DASK_PROFILER"

_lock = threading.Lock()
_runs = 0  # runs executing in this process under paused_profiler
_stopped = None  # the profile callback this module stopped, until it starts it again


def _profile_callback():
    """``(worker, its sampling PeriodicCallback)`` in a Dask worker's task; else None."""
    if "distributed" not in sys.modules or os.environ.get(KEEP_VARIABLE) == "keep":
        return None
    from distributed import get_worker

    try:
        worker = get_worker()
    except ValueError:  # not in a worker's task
        return None
    callback = getattr(worker, "periodic_callbacks", {}).get("profile")
    return None if callback is None else (worker, callback)


def _follow_the_runs(callback) -> None:
    """On the worker's event loop: the callback stopped while runs execute, else as it was."""
    global _stopped
    with _lock:
        runs = _runs
    if runs and _stopped is None and callback.is_running():
        callback.stop()
        _stopped = callback
    elif not runs and _stopped is callback:
        callback.start()
        _stopped = None


@contextmanager
def paused_profiler():
    """Within the block, the Dask worker this runs on does not sample its tasks' stacks.

    Outside a Dask worker's task, with ``TOPOKIT_DASK_PROFILER=keep``, or on a worker whose
    profiler is off (``distributed.worker.profile.enabled: false``), it does nothing.

    Yields
    ------
    bool
        Whether this block is on a Dask worker whose profiler it pauses.

    Examples
    --------
    >>> from topokit.analysis._profiler import paused_profiler
    >>> with paused_profiler() as paused:  # not on a Dask worker
    ...     pass
    >>> paused
    False
    """
    global _runs
    found = _profile_callback()
    if found is None:
        yield False
        return
    worker, callback = found
    with _lock:
        _runs += 1
    worker.loop.add_callback(_follow_the_runs, callback)
    try:
        yield True
    finally:
        with _lock:
            _runs -= 1
        worker.loop.add_callback(_follow_the_runs, callback)
