"""Connecting a study to a Dask distributed cluster: an existing one, or a LocalCluster."""

from __future__ import annotations

import os
from contextlib import contextmanager, suppress

from topokit._errors import TopokitError

__all__ = ["DEFAULT_TIMEOUT", "dask_client", "parse_local"]

#: Seconds to wait for a scheduler before giving up.
DEFAULT_TIMEOUT = 10.0


def parse_local(address: str) -> int | None:
    """N of ``"local:N"``; None for any other address."""
    if not address.startswith("local:"):
        return None
    text = address[len("local:") :]
    try:
        n_workers = int(text)
    except ValueError:
        n_workers = 0
    if n_workers < 1:
        raise TopokitError(
            f"--dask local:N needs a number of workers N >= 1, got {address!r} (e.g. local:2)"
        )
    return n_workers


def _cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise TopokitError(
            "running on Dask needs dask.distributed: pip install 'topokit[dask]' "
            "(or run without --dask on local worker processes)"
        ) from None
    return distributed


@contextmanager
def dask_client(address: str, *, timeout: float = DEFAULT_TIMEOUT, retries: int | None = None):
    """A connected ``distributed.Client`` and the threads each run may use.

    ``"local:N"`` starts a LocalCluster of N single-threaded worker processes (closed on
    exit); anything else (``"tcp://host:port"``, ``"host:port"``) is the address of a
    running scheduler, reached (and holding at least one worker) within ``timeout``
    seconds, or a TopokitError naming it.
    Yields ``(client, threads)``: ``threads`` is the numba/BLAS share of the cores for
    a local cluster, None for a remote one (each run then takes its worker's share, see
    :func:`~topokit.analysis._execute.dask_worker_threads`). ``retries`` sets a local
    cluster's ``allowed-failures`` (how many times a run whose worker dies under it is
    run again); a remote scheduler has its own.
    """
    n_local = parse_local(address)
    distributed = _import_distributed()
    cluster = None
    if n_local is not None:
        import dask

        settings = {} if retries is None else {"distributed.scheduler.allowed-failures": retries}
        with dask.config.set(settings):  # read by the scheduler it starts
            cluster = distributed.LocalCluster(
                n_workers=n_local,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                # the scheduler's HTTP server (metrics) on a free port: with no address
                # it takes 8787, and beside another Dask dashboard it warns and moves
                scheduler_kwargs={"dashboard_address": ":0"},
                host="127.0.0.1",
            )
        threads = max(1, _cores() // n_local)  # the rule of the local pool's workers
        try:
            client = distributed.Client(cluster, timeout=timeout)
        except BaseException:
            cluster.close()
            raise
    else:
        if "://" not in address and ":" not in address:
            raise TopokitError(
                f"--dask must be a scheduler address such as tcp://127.0.0.1:8786 or "
                f"local:N, got {address!r}"
            )
        threads = None
        try:
            client = distributed.Client(address, timeout=timeout)
        except (OSError, TimeoutError, ValueError) as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise TopokitError(
                f"cannot reach the Dask scheduler at {address!r} within {timeout:g} s: {reason}"
            ) from None
        try:
            client.wait_for_workers(1, timeout=timeout)
        except (OSError, TimeoutError):
            client.close()
            raise TopokitError(
                f"the Dask scheduler at {address!r} has no workers (none joined within "
                f"{timeout:g} s); start some with 'dask worker {address} --nthreads 1'"
            ) from None
    try:
        yield client, threads
    finally:
        # bounded: a client that lost its scheduler would otherwise try to reconnect
        with suppress(Exception):
            client.close(timeout=timeout)
        if cluster is not None:
            cluster.close()
