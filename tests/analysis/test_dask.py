"""run_study on Dask: a real LocalCluster, a real scheduler + worker pair on loopback,
and an unreachable scheduler that fails fast, naming its address."""

import contextlib
import dataclasses
import operator
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from topokit._errors import TopokitError
from topokit.analysis import ResultStore, load_study
from topokit.analysis._dask import dask_client
from topokit.analysis._study_checks import FamilySpec
from topokit.analysis.runner import run_study

distributed = pytest.importorskip("distributed")

# 2 runs, one per seed, and 2 that fail when run (with_an_infeasible_family)
TINY = """
name = "dask-tiny"
sizes = [64, 16, 10]
dense_layers = [-1]
densities = [0.25]
seeds = [0, 1]
metrics = ["spectral_gap", "net_spectral_gap"]

[training]
epochs = 2
batch_size = 64

[[families]]
name = "erdos_renyi"
"""


def with_an_infeasible_family(study):
    """``study`` with projective_plane q=2 added, whose 7 x 7 plane fits no layer here.

    Loading a study refuses such a family (its feasibility is checked first); a Study
    made directly is not checked, so its runs stand for runs that fail when run.
    """
    infeasible = FamilySpec("projective_plane", {"q": (2,)})
    return dataclasses.replace(study, families=(*study.families, infeasible))


@pytest.fixture(scope="module")
def study():
    return with_an_infeasible_family(load_study(TINY))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stored(folder):
    with ResultStore(folder, readonly=True) as store:
        return store.statuses()


def test_local_cluster(study, tmp_path):
    summary = run_study(study, tmp_path, dask="local:2", progress=False)
    assert (summary.n_ok, summary.n_failed, summary.workers) == (2, 2, 2)
    assert summary.backend == "local:2"
    statuses = _stored(tmp_path)
    assert sorted(statuses) == sorted(run.key for run in study.runs())
    again = run_study(study, tmp_path, dask="local:2", progress=False)
    assert (again.n_skipped, again.n_ok) == (4, 0)


def test_a_local_cluster_starts_beside_another_dask_on_port_8787():
    # Dask's default HTTP port held (by this socket, or already by something else): the
    # local cluster neither warns (an error here) nor fails to start
    with socket.socket() as held:
        with contextlib.suppress(OSError):
            held.bind(("", 8787))
            held.listen()
        with dask_client("local:1") as (client, _):
            assert client.submit(operator.add, 41, 1).result() == 42


def _dask_cli(*args):
    script = Path(sys.executable).with_name("dask")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "distributed.cli"]
    return [*command, *args]


def _stop(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _start(args, log):
    return subprocess.Popen(
        _dask_cli(*args),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def test_scheduler_and_worker_pair(study, tmp_path):
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    log = (tmp_path / "dask.log").open("w")
    scheduler = _start(
        ["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], log
    )
    worker = None
    try:
        with distributed.Client(address, timeout=60):
            pass  # the scheduler is up
        with pytest.raises(TopokitError, match=f"the Dask scheduler at '{address}' has no work"):
            run_study(study, tmp_path / "out", dask=address, progress=False)
        assert not (tmp_path / "out").exists()  # checked before anything is written
        worker = _start(
            ["worker", address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard"], log
        )
        with distributed.Client(address, timeout=60) as client:
            client.wait_for_workers(1, timeout=60)
        summary = run_study(study, tmp_path / "out", dask=address, progress=False)
    finally:
        if worker is not None:
            _stop(worker)
        _stop(scheduler)
        log.close()
    assert (summary.n_ok, summary.n_failed, summary.workers) == (2, 2, 1)
    assert summary.backend == address
    assert len(_stored(tmp_path / "out")) == 4


def test_unreachable_scheduler_fails_within_the_timeout(study, tmp_path):
    address = f"tcp://127.0.0.1:{_free_port()}"  # nothing listens there
    start = time.monotonic()
    with pytest.raises(TopokitError, match=f"cannot reach the Dask scheduler at '{address}'"):
        run_study(study, tmp_path, dask=address, progress=False)
    assert time.monotonic() - start < 30
    # checked before anything is written: no store
    assert list(tmp_path.iterdir()) == []


def _run_and_report_threads(config):
    """On a Dask worker: run ``config`` through execute_run, then report the thread counts
    the task's thread and the process were left with, and what the kernels ran on."""
    import numba
    from threadpoolctl import threadpool_info

    from topokit.analysis._execute import execute_run

    result = execute_run(config)
    pools = [pool["num_threads"] for pool in threadpool_info()]
    return (
        result["status"],
        numba.get_num_threads(),
        max(pools or [1]),
        os.environ.get("OMP_NUM_THREADS"),
    )


@pytest.mark.parametrize(("resources", "expected"), [([], 1), (["--resources", "cores=2"], 2)])
def test_runs_on_a_dask_worker_use_its_share_of_threads(study, tmp_path, resources, expected):
    """A worker started without NUMBA_NUM_THREADS (numba sees every core): each run uses
    the worker's nthreads share, or its ``cores`` resource divided by nthreads."""
    if expected > (os.cpu_count() or 1):
        pytest.skip(f"needs {expected} cores")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    log = (tmp_path / "dask.log").open("w")
    environment = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    scheduler = _start(
        ["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], log
    )
    worker = subprocess.Popen(
        _dask_cli("worker", address, "--nthreads", "1", "--no-dashboard", *resources),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=environment,
    )
    try:
        with distributed.Client(address, timeout=60) as client:
            client.wait_for_workers(1, timeout=60)
            config = study.runs()[0].to_dict()
            status, numba_threads, blas_threads, omp = client.submit(
                _run_and_report_threads, config, pure=False
            ).result(timeout=120)
    finally:
        _stop(worker)
        _stop(scheduler)
        log.close()
    assert status == "ok"
    assert (numba_threads, blas_threads, omp) == (expected, expected, str(expected))
