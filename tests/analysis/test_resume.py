"""Kill a running ``topokit study`` with SIGKILL, run it again: no run lost, none twice."""

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from topokit.analysis import load_study

# 18 runs of a few tenths of a second each
STUDY = """
name = "resume"
sizes = [64, 32, 10]
dense_layers = [-1]
densities = [0.1, 0.2, 0.3]
seeds = [0, 1, 2]
metrics = ["spectral_gap", "net_spectral_gap"]

[training]
epochs = 3
batch_size = 64

[[families]]
name = "erdos_renyi"

[[families]]
name = "biregular"
"""
N_RUNS = 18


def _finished(store_path) -> dict:
    """run_key -> finished timestamp, read without disturbing the writer."""
    if not store_path.exists():
        return {}
    try:
        with sqlite3.connect(f"file:{store_path}?mode=ro", uri=True, timeout=5) as connection:
            return dict(connection.execute("SELECT run_key, finished FROM runs").fetchall())
    except sqlite3.OperationalError:  # tables not created yet
        return {}


def _command(config, out):
    return [sys.executable, "-m", "topokit", "study", str(config), "--out", str(out)]


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def _kill_group(process):
    """SIGKILL what is left of the process group the test started (pool workers)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "resume.toml"
    path.write_text(STUDY)
    assert len(load_study(path).runs()) == N_RUNS
    return path


def test_sigkill_then_resume(config, tmp_path):
    out = tmp_path / "study"
    store_path = out / "results.sqlite"
    process = subprocess.Popen(
        [*_command(config, out), "--workers", "2", "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while len(_finished(store_path)) < 3:
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "no run stored within 120 s"
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)  # the driver only, mid-study
        process.wait(timeout=30)
        # its pool's workers notice and end by themselves (then the pool's server)
        deadline = time.monotonic() + 20
        while _group_alive(process.pid):
            assert time.monotonic() < deadline, "worker processes outlived the driver"
            time.sleep(0.1)
    finally:
        _kill_group(process)
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    before = _finished(store_path)
    assert 3 <= len(before) < N_RUNS, "the study was not killed mid-way"

    resumed = subprocess.run(
        [*_command(config, out), "--workers", "2", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["n_skipped"] == len(before)
    assert summary["n_ok"] + summary["n_failed"] == N_RUNS - len(before)

    after = _finished(store_path)
    expected = {run.key for run in load_study(config).runs()}
    assert set(after) == expected  # none lost
    assert {key: after[key] for key in before} == before  # the finished ones not redone
    with sqlite3.connect(store_path) as connection:
        (count,) = connection.execute("SELECT count(*) FROM runs").fetchone()
        (distinct,) = connection.execute("SELECT count(DISTINCT run_key) FROM runs").fetchone()
        (check,) = connection.execute("PRAGMA integrity_check").fetchone()
        orphans = connection.execute(
            "SELECT count(*) FROM curves WHERE run_key NOT IN (SELECT run_key FROM runs)"
        ).fetchone()[0]
    assert (count, distinct, check, orphans) == (N_RUNS, N_RUNS, "ok", 0)
