"""A Dask worker's profiler is paused while runs execute on it (topokit.analysis._profiler),
on a real in-process LocalCluster."""

import threading
import time

import pytest

from topokit.analysis._profiler import KEEP_VARIABLE, paused_profiler

distributed = pytest.importorskip("distributed")

_entered = [threading.Event(), threading.Event()]
_leave = [threading.Event(), threading.Event()]


def _until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _sampling(dask_worker=None):
    worker = dask_worker or distributed.get_worker()
    return worker.periodic_callbacks["profile"].is_running()


def _a_run(index):
    """A task that holds the profiler paused until the test lets it go."""
    with paused_profiler() as paused:
        _entered[index].set()
        _leave[index].wait(30)
    return paused


@pytest.fixture
def client():
    for event in (*_entered, *_leave):
        event.clear()
    with (
        distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=2,
            processes=False,
            dashboard_address=None,
            # the scheduler's HTTP server on a free port, not 8787 (another Dask, or
            # another test run, may hold it)
            scheduler_kwargs={"dashboard_address": ":0"},
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def _worker_sampling(client):
    return next(iter(client.run(_sampling).values()))


def test_sampling_stops_while_runs_execute_and_starts_when_none_does(client):
    assert _worker_sampling(client)
    first = client.submit(_a_run, 0, pure=False)
    assert _entered[0].wait(10)
    assert _until(lambda: not _worker_sampling(client))
    second = client.submit(_a_run, 1, pure=False)
    assert _entered[1].wait(10)
    _leave[0].set()
    assert first.result(10) is True
    time.sleep(0.2)  # the worker's loop has followed the first run's end
    assert not _worker_sampling(client), "one run still executes"
    _leave[1].set()
    assert second.result(10) is True
    assert _until(lambda: _worker_sampling(client))


def test_the_profiler_is_kept_where_the_worker_says_so(client, monkeypatch):
    monkeypatch.setenv(KEEP_VARIABLE, "keep")  # the in-process worker's environment
    future = client.submit(_a_run, 0, pure=False)
    assert _entered[0].wait(10)
    time.sleep(0.2)
    assert _worker_sampling(client)
    _leave[0].set()
    assert future.result(10) is False


def test_outside_a_worker_nothing_changes():
    with paused_profiler() as paused:
        pass
    assert paused is False
