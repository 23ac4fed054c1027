"""Several drivers on one store: claims with a lease, taken over when their driver dies.

The claims are checked in one process (exclusive, expiring, renewed, released), across two
processes claiming at once, and end to end with real ``topokit study`` processes: two
drivers started on one folder train each run once, and a driver killed with SIGKILL leaves
its runs to the next one after its lease expires.
"""

import json
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from topokit._errors import TopokitError
from topokit.analysis import ResultStore, RunResult, load_study, plan_study, run_study
from topokit.analysis.store import SCHEMA_VERSION, STORE_FILENAME
from topokit.cli import main

STUDY = """
name = "leases"
sizes = [64, 8, 10]
seeds = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
[[families]]
name = "dense"
"""

# Runs of about a second each on one core, so that two drivers overlap.
DRIVEN = """
name = "driven"
sizes = [64, 256, 10]
seeds = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
metrics = ["spectral_gap"]
training = {epochs = 15}
[[families]]
name = "dense"
"""


@pytest.fixture
def study():
    return load_study(STUDY)


def test_claims_are_exclusive_and_recording_ends_them(tmp_path, study):
    runs = study.runs()
    with ResultStore(tmp_path, study) as store:
        first, done = store.claim(runs, "a", lease_seconds=60, limit=5)
        second, _ = store.claim(runs, "b", lease_seconds=60, limit=5)
        assert first == runs[:5]
        assert second == runs[5:10]
        assert done == set()
        again, _ = store.claim(runs, "a", lease_seconds=60, limit=3)  # a keeps its own
        assert again == runs[:3]
        store.record(runs[0], RunResult("ok"))
        claims = store.live_claims()
        assert runs[0].key not in claims
        assert {key for key, driver in claims.items() if driver == "b"} == {
            run.key for run in runs[5:10]
        }
        rest, done = store.claim(runs, "c", lease_seconds=60)
        assert rest == runs[10:]
        assert done == {runs[0].key}
        assert store.release_claims("b", [runs[5].key]) == 1
        assert store.claim(runs, "c", lease_seconds=60)[0] == [runs[5], *runs[10:]]
        assert store.release_claims("a") == 4
        assert set(store.live_claims().values()) == {"b", "c"}


def test_a_claim_expires_unless_renewed(tmp_path, study):
    runs = study.runs()[:2]
    with ResultStore(tmp_path, study) as store:
        assert store.claim(runs[:1], "kept", lease_seconds=1.5)[0] == runs[:1]
        assert store.claim(runs[1:], "dead", lease_seconds=1.5)[0] == runs[1:]
        for _ in range(3):
            time.sleep(0.75)
            assert store.renew_claims("kept", lease_seconds=1.5) == 1
        # 2.25 s later: the renewed claim holds, the other expired and is taken over
        assert store.claim(runs, "next", lease_seconds=60)[0] == runs[1:]
        assert store.live_claims() == {runs[0].key: "kept", runs[1].key: "next"}


def test_failed_runs_are_retried_once_by_drivers_that_retry(tmp_path, study):
    runs = study.runs()[:2]
    with ResultStore(tmp_path, study) as store:
        for run in runs:
            store.record(run, RunResult.failed("loss is nan", finished="2000-01-01T00:00:00"))
        assert store.claim(runs, "a", lease_seconds=60)[0] == []
        started = "2001-01-01T00:00:00"
        claimed, _ = store.claim(runs, "a", lease_seconds=60, retry_failed_before=started)
        assert claimed == runs
        store.record(runs[0], RunResult("ok", finished="2002-01-01T00:00:00"))
        assert not store.record(runs[1], RunResult.failed("nan", finished="2002-01-01T00:00:00"))
        assert store.live_claims() == {}  # recording ends the claims, stored or not
        # a driver retrying the runs that failed before it started: those retried since,
        # with success or not, are done
        claimed, done = store.claim(runs, "b", lease_seconds=60, retry_failed_before=started)
        assert claimed == []
        assert done == {runs[0].key, runs[1].key}
        # a driver started after the retries retries the one still failed
        later = "2003-01-01T00:00:00"
        claimed, _ = store.claim(runs, "c", lease_seconds=60, retry_failed_before=later)
        assert claimed == runs[1:]


def test_read_only_store_cannot_claim(tmp_path, study):
    ResultStore(tmp_path, study).close()
    with (
        ResultStore(tmp_path, readonly=True) as store,
        pytest.raises(TopokitError, match="opened read-only"),
    ):
        store.claim(study.runs(), "a", lease_seconds=60)


def test_two_processes_never_claim_the_same_run(tmp_path, study):
    ResultStore(tmp_path, study).close()
    script = textwrap.dedent(
        f"""
        import sys
        from topokit.analysis import ResultStore, RunResult, load_study
        study = load_study({STUDY!r})
        runs = study.runs()
        with ResultStore({str(tmp_path)!r}, study) as store:
            while True:
                claimed, _ = store.claim(runs, sys.argv[1], lease_seconds=60, limit=1)
                if not claimed:
                    break
                print(claimed[0].key, flush=True)
                store.record(claimed[0], RunResult("ok"))
        """
    )
    drivers = [
        subprocess.Popen([sys.executable, "-c", script, name], stdout=subprocess.PIPE, text=True)
        for name in ("a", "b")
    ]
    outputs = [driver.communicate(timeout=300)[0].split() for driver in drivers]
    assert [driver.returncode for driver in drivers] == [0, 0]
    assert not set(outputs[0]) & set(outputs[1])
    assert sorted(outputs[0] + outputs[1]) == sorted(run.key for run in study.runs())


def test_schema_2_store_upgrades_in_place(tmp_path, study):
    runs = study.runs()
    with ResultStore(tmp_path, study) as store:
        store.record(runs[0], RunResult("ok", test_accuracy=0.5))
    connection = sqlite3.connect(tmp_path / STORE_FILENAME)
    connection.execute("DROP TABLE claims")
    connection.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    connection.commit()
    connection.close()
    with ResultStore(tmp_path, readonly=True) as store:  # read as it is
        assert store.live_claims() == {}
        assert store.statuses() == {runs[0].key: "ok"}
    with ResultStore(tmp_path, study) as store:
        assert store.claim(runs[:2], "a", lease_seconds=60)[0] == runs[1:2]
    connection = sqlite3.connect(tmp_path / STORE_FILENAME)
    version = connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    connection.close()
    assert version == (str(SCHEMA_VERSION),) == ("4",)


@pytest.mark.parametrize("value", [0, 0.5, -1, float("nan"), "60", True])
def test_bad_lease_seconds(tmp_path, study, value):
    with pytest.raises(TopokitError, match=r"lease_seconds must be .*>= 1.*, got"):
        run_study(study, tmp_path, workers=1, lease_seconds=value)
    assert not (tmp_path / STORE_FILENAME).exists()


def _two_runs():
    seeds = "seeds = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]"
    return load_study(STUDY.replace(seeds, "seeds = [0, 1]") + "[training]\nepochs = 1\n")


def _driver(folder, *extra):
    """A ``topokit study`` process on the DRIVEN study, in its own process group."""
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "topokit", "study", str(folder / "driven.toml")),
            *("--out", str(folder / "out"), "--workers", "1", "--json", *extra),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )


def _n_stored(folder) -> int:
    path = folder / "out" / STORE_FILENAME
    if not path.is_file():
        return 0
    try:
        with ResultStore(folder / "out", readonly=True) as store:
            return len(store.statuses())
    except TopokitError:  # the first driver is still creating the tables
        return 0


def _wait_for_stored(folder, count, driver, timeout=300):
    deadline = time.monotonic() + timeout
    while _n_stored(folder) < count:
        assert driver.poll() is None, driver.communicate()
        assert time.monotonic() < deadline, f"fewer than {count} runs stored in {timeout} s"
        time.sleep(0.1)


def _summary(driver) -> dict:
    out, err = driver.communicate(timeout=600)
    assert driver.returncode == 0, err
    return json.loads(out), err


def test_two_drivers_split_the_study_and_train_each_run_once(tmp_path):
    (tmp_path / "driven.toml").write_text(DRIVEN)
    n_runs = len(load_study(DRIVEN).runs())
    first, second = _driver(tmp_path), _driver(tmp_path)
    (one, _), (two, _) = _summary(first), _summary(second)
    assert one["n_ok"] + two["n_ok"] == n_runs  # each run trained once
    assert one["n_ok"] >= 1  # the work was split
    assert two["n_ok"] >= 1
    for summary in (one, two):
        assert summary["n_skipped"] + summary["n_ok"] + summary["n_elsewhere"] == n_runs
        assert summary["stored"] == {"ok": n_runs, "failed": 0}
    with ResultStore(tmp_path / "out", readonly=True) as store:
        assert store.counts() == {"ok": n_runs, "failed": 0}
        assert store.live_claims() == {}


def test_a_killed_driver_runs_are_taken_over_after_its_lease(tmp_path):
    (tmp_path / "driven.toml").write_text(DRIVEN)
    n_runs = len(load_study(DRIVEN).runs())
    lease = ["--lease-seconds", "4"]
    killed = _driver(tmp_path, *lease)
    _wait_for_stored(tmp_path, 2, killed)
    os.killpg(killed.pid, signal.SIGKILL)  # the driver, its forkserver and its worker
    killed.communicate(timeout=60)
    with ResultStore(tmp_path / "out", readonly=True) as store:
        n_stored = len(store.statuses())
        held = store.live_claims()
    assert held  # the dead driver's claims hold until they expire
    assert n_stored < n_runs
    summary, _ = _summary(_driver(tmp_path, *lease))
    # the next driver trains exactly the runs not stored, the dead one's claims included
    assert summary["n_ok"] == n_runs - n_stored
    assert summary["stored"] == {"ok": n_runs, "failed": 0}
    with ResultStore(tmp_path / "out", readonly=True) as store:
        assert store.live_claims() == {}


def test_a_driver_waits_for_runs_claimed_by_another_and_takes_them_over(tmp_path, capsys):
    study = _two_runs()
    runs = study.runs()
    with ResultStore(tmp_path, study) as store:
        store.claim(runs, "host:1:other", lease_seconds=2)
    start = time.monotonic()
    summary = run_study(study, tmp_path, workers=1, progress=True)
    assert time.monotonic() - start >= 2 - 0.1  # not before the other driver's lease ended
    assert summary.n_ok == 2
    assert summary.n_elsewhere == 0
    err = capsys.readouterr().err
    assert "study leases: the 2 run(s) left are being done by another driver (host:1:other)" in err


def test_a_driver_counts_the_runs_another_driver_stored(tmp_path):
    study = _two_runs()
    runs = study.runs()
    with ResultStore(tmp_path, study) as store:
        store.claim(runs[:1], "host:1:other", lease_seconds=60)

    def other_driver():
        time.sleep(1.5)
        with ResultStore(tmp_path, study) as store:
            store.record(runs[0], RunResult("ok"))

    thread = threading.Thread(target=other_driver)
    thread.start()
    summary = run_study(study, tmp_path, workers=1, progress=False)
    thread.join()
    assert (summary.n_skipped, summary.n_ok, summary.n_elsewhere) == (0, 1, 1)
    assert summary.stored == {"ok": 2, "failed": 0}


@pytest.mark.parametrize("value", ["0", "nan", "-5"])
def test_cli_bad_lease_seconds_is_one_line_error(tmp_path, capsys, value):
    (tmp_path / "study.toml").write_text(STUDY)
    argv = ["study", str(tmp_path / "study.toml"), "--out", str(tmp_path / "out")]
    status = main([*argv, "--lease-seconds", value])
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("topokit: error: lease_seconds must be")
    assert err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_the_plan_counts_the_runs_other_drivers_are_doing(tmp_path, study, capsys):
    runs = study.runs()
    with ResultStore(tmp_path, study) as store:
        store.record(runs[0], RunResult("ok"))
        store.claim(runs[1:4], "host:1:other", lease_seconds=60)
        store.claim(runs[4:5], "host:2:dead", lease_seconds=1)
    time.sleep(1.1)  # the second driver's claim has expired
    plan = plan_study(study, tmp_path, workers=1)
    assert (plan.n_new, plan.n_claimed) == (len(runs) - 1, 3)
    assert plan.to_dict()["n_claimed"] == 3
    (tmp_path / "study.toml").write_text(STUDY)
    assert main(["study", str(tmp_path / "study.toml"), "--out", str(tmp_path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "3 of the runs to run are being done by another driver now" in out


def _open_new_store(folder, barrier, results):
    study = load_study('sizes = [64, 10]\nseeds = [0]\n[[families]]\nname = "dense"')
    barrier.wait()
    try:
        with ResultStore(folder, study):
            pass
        results.put("ok")
    except TopokitError as exc:
        results.put(str(exc))


def test_two_drivers_set_up_a_new_store_at_the_same_moment(tmp_path):
    """Both switch the new file to WAL and create its tables: SQLite refuses one of them
    at once ("locked", no busy wait) where the two lock upgrades would deadlock; the set-up
    goes again instead of failing (it did in about a third of such starts)."""
    context = multiprocessing.get_context("fork")
    for attempt in range(12):
        folder = tmp_path / str(attempt)
        barrier, results = context.Barrier(2), context.SimpleQueue()
        processes = [
            context.Process(target=_open_new_store, args=(folder, barrier, results))
            for _ in range(2)
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=60)
        assert [results.get(), results.get()] == ["ok", "ok"]
