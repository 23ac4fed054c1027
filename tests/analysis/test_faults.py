"""Faults while a study runs, on real worker processes: a run that kills its own worker
(local pool and Dask), a Dask worker killed with SIGKILL mid-study, the Dask scheduler
killed mid-study.

A run is made to kill its worker by ``_TOPOKIT_TEST_CRASH_SEED`` (see
``topokit/analysis/_execute.py``): the worker running the run with that seed sends itself
SIGKILL, as the kernel's out-of-memory killer would. Only these tests set it.
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from topokit._errors import TopokitError
from topokit.analysis import ResultStore, load_study
from topokit.analysis.runner import run_study
from topokit.cli import main

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL and process groups")

CRASH = "_TOPOKIT_TEST_CRASH_SEED"

SMALL = """
name = "faults"
sizes = [64, 16, 10]
densities = [0.25]
seeds = [0, 1, 2]
metrics = ["spectral_gap"]

[training]
epochs = 1

[[families]]
name = "erdos_renyi"
"""

# runs long enough (a second or so each on one core) to be caught in flight
LONGER = """
name = "faults-long"
sizes = [64, 256, 256, 10]
densities = [0.5]
seeds = [0, 1, 2, 3, 4, 5]
metrics = ["spectral_gap"]

[training]
epochs = 4
batch_size = 32

[[families]]
name = "erdos_renyi"
"""


def _rows(folder):
    with ResultStore(folder, readonly=True) as store:
        return store.run_rows()


def _n_stored(folder) -> int:
    """Runs stored so far in a store being written (0 while it is being made)."""
    try:
        return len(_rows(folder))
    except TopokitError:  # no store yet, or its file just created, still empty
        return 0


def _by_seed(folder):
    return {row["config"]["seed"]: row for row in _rows(folder)}


@pytest.mark.parametrize("retries", [0, 2])
def test_a_run_that_kills_its_local_worker_is_stored_as_failed(tmp_path, monkeypatch, retries):
    monkeypatch.setenv(CRASH, "1")
    study = load_study(SMALL)
    summary = run_study(study, tmp_path, workers=2, progress=False, retries=retries)
    assert (summary.n_ok, summary.n_failed, summary.n_lost) == (2, 1, 0)
    rows = _by_seed(tmp_path)
    assert len(_rows(tmp_path)) == 3
    assert rows[0]["status"] == rows[2]["status"] == "ok"
    assert rows[1]["status"] == "failed"
    times = "once" if retries == 0 else f"on each of its {retries + 1} attempts"
    assert f"killed by signal SIGKILL), {times}" in rows[1]["error"]
    assert f"retries={retries})" in rows[1]["error"]


def test_the_crash_is_not_retried_on_the_next_call(tmp_path, monkeypatch):
    monkeypatch.setenv(CRASH, "0")
    study = load_study(SMALL)
    run_study(study, tmp_path, workers=1, progress=False, retries=0)
    again = run_study(study, tmp_path, workers=1, progress=False)
    assert (again.n_skipped, again.n_ok, again.n_failed) == (3, 0, 0)


def test_retries_must_be_a_count(tmp_path):
    with pytest.raises(TopokitError, match="retries must be >= 0, got -1"):
        run_study(load_study(SMALL), tmp_path, workers=1, progress=False, retries=-1)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_a_run_that_kills_its_dask_worker_is_stored_as_failed(tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setenv(CRASH, "2")  # the LocalCluster's worker processes inherit it
    summary = run_study(load_study(SMALL), tmp_path, dask="local:2", progress=False, retries=1)
    assert (summary.n_ok, summary.n_failed) == (2, 1)
    rows = _by_seed(tmp_path)
    assert rows[2]["status"] == "failed"
    assert "its Dask worker process died under it" in rows[2]["error"]


# --- a real scheduler and workers on loopback -------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _dask_cli(*args):
    script = Path(sys.executable).with_name("dask")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "distributed.cli"]
    return [*command, *args]


def _start(args, log):
    return subprocess.Popen(
        _dask_cli(*args), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def _stop(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture
def cluster(tmp_path):
    """A scheduler and ``dask worker --nworkers 2 --nthreads 1`` on loopback:
    ``(address, scheduler process, client)``."""
    distributed = pytest.importorskip("distributed")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    log = (tmp_path / "dask.log").open("w")
    scheduler = _start(
        ["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], log
    )
    worker = _start(
        ["worker", address, "--nworkers", "2", "--nthreads", "1", "--no-dashboard"], log
    )
    client = None
    try:
        client = distributed.Client(address, timeout=60)
        client.wait_for_workers(2, timeout=60)
        yield address, scheduler, client
    finally:
        if client is not None:
            client.close(timeout=5)
        _stop(worker)
        _stop(scheduler)
        log.close()


def _in_thread(function, *args, **kwargs):
    """Start ``function`` in a thread; return (thread, outcome dict)."""
    outcome = {}

    def target():
        try:
            outcome["value"] = function(*args, **kwargs)
        except BaseException as exc:  # reported to the test
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, outcome


def _busy_worker(client, deadline):
    """(address, pid) of a worker that is running a task, waiting until one does."""
    while time.monotonic() < deadline:
        processing = {w: keys for w, keys in client.processing().items() if keys}
        if processing:
            address = next(iter(processing))
            return address, client.run(os.getpid, workers=[address])[address]
        time.sleep(0.05)
    raise AssertionError("no worker ever ran a task")


@pytest.mark.slow
def test_a_dask_worker_killed_mid_study(cluster, tmp_path):
    address, _, client = cluster
    study = load_study(LONGER)
    thread, outcome = _in_thread(run_study, study, tmp_path / "out", dask=address, progress=False)
    _, pid = _busy_worker(client, time.monotonic() + 60)
    time.sleep(0.3)  # mid-run
    os.kill(pid, signal.SIGKILL)
    thread.join(timeout=120)
    assert not thread.is_alive()
    assert "error" not in outcome, outcome.get("error")
    summary = outcome["value"]
    assert (summary.n_ok, summary.n_failed, summary.n_lost) == (6, 0, 0)
    rows = _rows(tmp_path / "out")
    assert sorted(row["run_key"] for row in rows) == sorted(run.key for run in study.runs())
    assert {row["status"] for row in rows} == {"ok"}
    assert pid not in client.run(os.getpid).values()  # the nanny started a new one


@pytest.mark.slow
def test_the_scheduler_killed_mid_study(cluster, tmp_path, capsys):
    address, scheduler, _ = cluster
    config = tmp_path / "study.toml"
    config.write_text(LONGER)
    out = tmp_path / "out"
    thread, outcome = _in_thread(main, ["study", str(config), "--out", str(out), "--dask", address])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _n_stored(out) == 0:  # at least one run stored
        time.sleep(0.05)
    os.killpg(scheduler.pid, signal.SIGKILL)
    killed = time.monotonic()
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert time.monotonic() - killed < 30  # within the client's timeout
    assert outcome["value"] == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    lost = f"topokit: error: lost the connection to the Dask scheduler at '{address}'"
    assert err.startswith(lost)
    assert err.endswith(f"to resume: topokit study {config} --out {out} --dask {address}")
    rows = _rows(out)  # the runs stored so far are intact
    assert 1 <= len(rows) < 6
    assert {row["status"] for row in rows} == {"ok"}
    assert f"{len(rows)} of 6 runs done now" in err


@pytest.mark.slow
def test_workers_that_die_before_any_run_stop_the_study(tmp_path):
    """A script that starts a study outside ``if __name__ == "__main__":``: its workers
    re-import it and die before their first run; the driver stops, it does not loop."""
    script = tmp_path / "unguarded.py"
    script.write_text(
        "from topokit.analysis import load_study, run_study\n"
        f"study = load_study({SMALL!r})\n"
        f"run_study(study, {str(tmp_path / 'out')!r}, workers=2, progress=False)\n"
    )
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, check=False
    )
    assert out.returncode == 1
    assert "StudyStoppedError: 3 of 3 runs did not come back from their worker" in out.stderr
