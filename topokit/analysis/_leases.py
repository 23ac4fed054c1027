"""Which runs a driver does next: claims with a lease, so that drivers share a store.

A driver claims a few runs at a time in the store (:meth:`ResultStore.claim
<topokit.analysis.ResultStore.claim>`), hands them to its backend, and claims more as
results come back, so that at most ``window`` runs are claimed by it at once. While runs
are in flight it renews its claims every third of the lease. A run another driver has
claimed is left to it; when nothing is left to claim but runs claimed by others, the
driver waits for them, and takes over any whose lease expires (its driver died).
"""

from __future__ import annotations

import math
import os
import queue
import secrets
import socket
import time
from contextlib import suppress
from datetime import UTC, datetime

from topokit._errors import TopokitError

__all__ = ["LEASE_SECONDS", "ClaimedRuns", "check_lease_seconds", "driver_id"]

#: How long a driver's claim on a run holds without renewal (seconds); a live driver
#: renews its claims every third of it, so only a dead driver's claims expire.
LEASE_SECONDS = 60.0
#: Seconds between two looks at the store while the runs left are claimed by others.
_POLL_SECONDS = 1.0


def driver_id() -> str:
    """An id for one driver: host, process id and a random part.

    Returns
    -------
    str
        ``"HOST:PID:RANDOM"``.

    Examples
    --------
    >>> from topokit.analysis._leases import driver_id
    >>> driver_id().count(":") >= 2, driver_id() != driver_id()
    (True, True)
    """
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def check_lease_seconds(value) -> float:
    """``lease_seconds`` as a float, or the error that names it.

    Parameters
    ----------
    value : float
        A number of seconds, at least 1.

    Returns
    -------
    float

    Raises
    ------
    TopokitError
        If ``value`` is not a finite number >= 1.

    Examples
    --------
    >>> from topokit.analysis._leases import check_lease_seconds
    >>> check_lease_seconds(30)
    30.0
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TopokitError(f"lease_seconds must be a number of seconds >= 1, got {value!r}")
    if value < 1:
        raise TopokitError(f"lease_seconds must be >= 1 (seconds), got {value!r}")
    return float(value)


class ClaimedRuns:
    """The runs of ``todo`` that this driver claims, submitted, as they complete.

    Iterating yields ``(run, future)`` for each run this driver did, as its future
    completes, and ``(run, None)`` for each run found stored by another driver. Leaving
    the ``with`` block releases this driver's claims that are left (runs in flight when
    interrupted, runs whose worker died), so that another driver can do them at once; when
    it is left by an error, a store that refuses the release too (a full disk) leaves them
    to expire.

    Parameters
    ----------
    store : ResultStore
        Open for writing.
    submit : callable
        ``submit(run) -> future`` (a ``concurrent.futures`` or Dask future).
    todo : list of RunConfig
        The runs to do, in the order to claim them.
    window : int
        At most this many runs claimed by this driver at once (in flight or queued).
    lease_seconds : float
        See :data:`LEASE_SECONDS`.
    retry_failed : bool
        Also do the runs stored as failed before this driver started.
    waiting : callable
        ``waiting(n_runs, drivers)``: called once each time the driver starts waiting for
        runs other drivers are doing.

    Examples
    --------
    >>> import tempfile
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> from topokit.analysis import ResultStore, load_study
    >>> from topokit.analysis._leases import ClaimedRuns
    >>> study = load_study('sizes = [64, 10]\\nseeds = [0, 1, 2]\\n[[families]]\\nname = "dense"')
    >>> with tempfile.TemporaryDirectory() as folder, ThreadPoolExecutor(2) as pool:
    ...     with ResultStore(folder, study) as store:
    ...         submit = lambda run: pool.submit(lambda: run.seed)
    ...         with ClaimedRuns(store, submit, study.runs(), window=2, lease_seconds=60,
    ...                          retry_failed=False, waiting=print) as claimed:
    ...             seeds = sorted(future.result() for run, future in claimed)
    >>> seeds
    [0, 1, 2]
    """

    def __init__(self, store, submit, todo, *, window, lease_seconds, retry_failed, waiting):
        self.store, self.submit = store, submit
        self.remaining = list(todo)
        self.window = max(1, int(window))
        self.lease_seconds = check_lease_seconds(lease_seconds)
        self.retry_before = (
            datetime.now(UTC).isoformat(timespec="milliseconds") if retry_failed else None
        )
        self.waiting = waiting
        self.driver = driver_id()
        self.in_flight = {}  # future -> run
        self.completed = queue.SimpleQueue()
        self.renewed = time.monotonic()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, traceback):
        if exc_type is None:
            self.store.release_claims(self.driver)
            return
        # the error that ends the driver is the one to report (a full disk refuses this
        # write too); claims left behind expire within the lease
        with suppress(TopokitError):
            self.store.release_claims(self.driver)

    def _claim(self) -> list:
        """Claim up to the window's free places; returns the runs found stored meanwhile."""
        free = self.window - len(self.in_flight)
        if free <= 0 or not self.remaining:
            return []
        claimed, done = self.store.claim(
            self.remaining,
            self.driver,
            lease_seconds=self.lease_seconds,
            limit=free,
            retry_failed_before=self.retry_before,
        )
        taken = {run.key for run in claimed}
        elsewhere = [run for run in self.remaining if run.key in done]
        self.remaining = [r for r in self.remaining if r.key not in taken and r.key not in done]
        for run in claimed:
            self.resubmit(run)
        return elsewhere

    def resubmit(self, run) -> None:
        """Submit ``run``, claimed by this driver, (again: its worker died under it)."""
        future = self.submit(run)
        self.in_flight[future] = run
        future.add_done_callback(self.completed.put)

    def _renew_if_due(self) -> None:
        if self.in_flight and time.monotonic() - self.renewed >= self.lease_seconds / 3:
            self.store.renew_claims(self.driver, lease_seconds=self.lease_seconds)
            self.renewed = time.monotonic()

    def __iter__(self):
        announced = False
        while True:
            for run in self._claim():
                yield run, None
            if not self.in_flight:
                if not self.remaining:
                    return
                # every run left is claimed by another live driver: wait for them
                if not announced:
                    keys = {run.key for run in self.remaining}
                    drivers = {d for k, d in self.store.live_claims().items() if k in keys}
                    self.waiting(len(self.remaining), sorted(drivers))
                    announced = True
                time.sleep(_POLL_SECONDS)
                continue
            announced = False
            renew_in = self.lease_seconds / 3 - (time.monotonic() - self.renewed)
            timeout = max(0.0, renew_in)
            if self.remaining:  # runs claimed by others: look again for expired claims
                timeout = min(timeout, _POLL_SECONDS)
            try:
                future = self.completed.get(timeout=timeout)
            except queue.Empty:
                self._renew_if_due()
                continue
            run = self.in_flight.pop(future)
            self._renew_if_due()
            yield run, future
