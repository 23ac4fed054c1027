"""The SQLite result store: round trip, idempotence, resume, refusal, damage-free errors."""

import hashlib
import json
import math
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest

from topokit._errors import TopokitError
from topokit.analysis.store import (
    SCHEMA_VERSION,
    STORE_FILENAME,
    ResultStore,
    RunResult,
    library_versions,
)
from topokit.analysis.study import load_study

STUDY = """
name = "store-test"
sizes = [64, 8, 10]
densities = [0.25, 0.5]
seeds = [0, 1]
[[families]]
name = "erdos_renyi"
[[families]]
name = "dense"
"""


@pytest.fixture
def study():
    return load_study(STUDY)


def _result(seed=0, accuracy=0.75):
    return RunResult(
        status="ok",
        started="2026-01-01T00:00:00.000+00:00",
        finished="2026-01-01T00:00:02.500+00:00",
        seconds=2.5,
        test_accuracy=accuracy,
        train_accuracy=0.9,
        final_loss=0.31,
        epochs_to_target=4,
        epochs=10,
        layer_metrics=[
            {"n_edges": np.int64(32), "spectral_gap": np.float64(1.25), "is_biregular": True},
            {"n_edges": 32, "spectral_gap": 0.5, "is_biregular": np.bool_(False)},
        ],
        network_metrics={"net_density": 0.3, "net_fiedler_value": float("nan")},
        curve=[
            {"epoch": 1, "loss": 1.5, "train_accuracy": 0.5, "val_accuracy": 0.45, "seconds": 0.1},
            {"epoch": 2, "loss": 0.9, "train_accuracy": 0.7, "val_accuracy": 0.65, "seconds": 0.1},
        ],
        versions={"topokit": "test", "seed": seed},
    )


def _file_digest(folder):
    return {
        name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
        for name in sorted(os.listdir(folder))
    }


def test_round_trip(tmp_path, study):
    run = study.runs()[0]
    with ResultStore(tmp_path, study) as store:
        assert store.record(run, _result())
    with ResultStore(tmp_path, readonly=True) as store:
        (row,) = store.run_rows()
        assert row["run_key"] == run.key
        assert row["config"] == run.to_dict()
        assert row["family"] == "erdos_renyi"
        assert row["seed"] == 0
        assert row["status"] == "ok"
        assert row["error"] is None
        assert row["seconds"] == 2.5
        assert row["test_accuracy"] == 0.75
        assert row["train_accuracy"] == 0.9
        assert row["final_loss"] == 0.31
        assert row["epochs_to_target"] == 4
        assert row["epochs"] == 10
        assert row["started"] == "2026-01-01T00:00:00.000+00:00"
        assert row["versions"] == {"topokit": "test", "seed": 0}
        assert sorted(store.layer_metric_rows()) == sorted(
            [
                (run.key, 0, "n_edges", 32),
                (run.key, 0, "spectral_gap", 1.25),
                (run.key, 0, "is_biregular", 1),
                (run.key, 1, "n_edges", 32),
                (run.key, 1, "spectral_gap", 0.5),
                (run.key, 1, "is_biregular", 0),
            ]
        )
        assert sorted(store.network_metric_rows()) == [
            (run.key, "net_density", 0.3),
            (run.key, "net_fiedler_value", None),  # NaN is stored as NULL
        ]
        assert store.curve_rows() == [
            (run.key, 1, 1.5, 0.5, 0.45, 0.1),
            (run.key, 2, 0.9, 0.7, 0.65, 0.1),
        ]


def test_study_row(tmp_path, study):
    with ResultStore(tmp_path, study) as store:
        info = store.study_info()
    assert info["study_key"] == study.key
    assert info["name"] == "store-test"
    assert info["config"] == study.to_dict()
    assert info["config_toml"] == STUDY
    assert info["versions"] == library_versions()


def test_pragmas_and_schema_version(tmp_path, study):
    with ResultStore(tmp_path, study) as store:
        assert store._connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    # closed: a rollback journal again, the store is the one file
    assert sorted(p.name for p in tmp_path.iterdir()) == [STORE_FILENAME]
    connection = sqlite3.connect(tmp_path / STORE_FILENAME)
    assert connection.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    assert connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
        str(SCHEMA_VERSION),
    )
    connection.close()
    with ResultStore(tmp_path, study) as store:
        assert store._connection.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL


def test_record_is_idempotent(tmp_path, study):
    run = study.runs()[0]
    with ResultStore(tmp_path, study) as store:
        assert store.record(run, _result(accuracy=0.75))
        assert not store.record(run, _result(accuracy=0.11))
        assert store.counts() == {"ok": 1, "failed": 0}
        count = store._connection.execute("SELECT count(*) FROM layer_metrics").fetchone()[0]
        assert count == 6
        assert store.run_rows()[0]["test_accuracy"] == 0.75


def test_pending_skips_finished_and_failed(tmp_path, study):
    runs = study.runs()
    with ResultStore(tmp_path, study) as store:
        store.record(runs[0], _result())
        store.record(runs[1], RunResult.failed("layer 0 (64 -> 8): boom"))
        assert store.pending(runs) == runs[2:]
        assert store.pending(runs, retry_failed=True) == [runs[1], *runs[2:]]
        assert store.pending(runs + runs) == runs[2:]  # each key once
        assert store.counts() == {"ok": 1, "failed": 1}


def test_failed_run_is_replaced_by_a_retry(tmp_path, study):
    run = study.runs()[0]
    with ResultStore(tmp_path, study) as store:
        assert store.record(run, RunResult.failed("diverged"))
        assert not store.record(run, RunResult.failed("diverged again"))
        assert store.record(run, _result())
        (row,) = store.run_rows()
        assert (row["status"], row["error"]) == ("ok", None)
        assert store.statuses() == {run.key: "ok"}
        assert not store.record(run, RunResult.failed("late failure"))
        assert store.run_rows()[0]["status"] == "ok"


def test_resume_after_reopening(tmp_path, study):
    runs = study.runs()
    with ResultStore(tmp_path, study) as store:
        for run in runs[:3]:
            store.record(run, _result())
    again = load_study(STUDY)  # a fresh Study of the same file
    with ResultStore(tmp_path, again) as store:
        assert store.pending(again.runs()) == runs[3:]


def test_other_study_is_refused_and_nothing_is_written(tmp_path, study):
    with ResultStore(tmp_path, study) as store:
        store.record(study.runs()[0], _result())
    before = _file_digest(tmp_path)
    other = load_study(STUDY.replace('"store-test"', '"other"').replace("[0, 1]", "[0, 1, 2]"))
    message = (
        rf"holds the results of study 'store-test' \(key {study.key[:12]}\), not of study "
        rf"'other' \(key {other.key[:12]}\)"
    )
    with pytest.raises(TopokitError, match=message):
        ResultStore(tmp_path, other)
    assert _file_digest(tmp_path) == before
    with ResultStore(tmp_path, readonly=True) as store:
        assert store.counts() == {"ok": 1, "failed": 0}


def test_read_only_store_refuses_writes_and_stays_intact(tmp_path, study):
    runs = study.runs()
    with ResultStore(tmp_path, study) as store:
        store.record(runs[0], _result())
    with (
        ResultStore(tmp_path, readonly=True) as store,
        pytest.raises(TopokitError, match=r"cannot write to the result store .*read-only"),
    ):
        store.record(runs[1], _result())
    with ResultStore(tmp_path, study) as store:
        assert store.statuses() == {runs[0].key: "ok"}
        assert store._connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


@pytest.mark.skipif(os.geteuid() == 0, reason="permissions do not bind root")
def test_read_only_folder(tmp_path, study):
    runs = study.runs()
    with ResultStore(tmp_path, study) as store:
        store.record(runs[0], _result())
    os.chmod(tmp_path / STORE_FILENAME, 0o444)
    os.chmod(tmp_path, 0o555)
    try:
        with pytest.raises(TopokitError, match="result store"), ResultStore(tmp_path, study) as s:
            s.record(runs[1], _result())
    finally:
        os.chmod(tmp_path, 0o755)
        os.chmod(tmp_path / STORE_FILENAME, 0o644)
    with ResultStore(tmp_path, readonly=True) as store:
        assert store.statuses() == {runs[0].key: "ok"}


_AS_NOBODY = """
import sys
from topokit._errors import TopokitError
from topokit.analysis import ResultStore, RunResult, load_results, load_study
folder, text = sys.argv[1], sys.argv[2]
print(len(load_results(folder)))
study = load_study(text)
try:
    with ResultStore(folder, study) as store:
        store.record(study.runs()[1], RunResult("ok"))
except TopokitError as exc:
    print(exc)
    sys.exit(3)
"""


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv"
)
def test_folder_another_user_cannot_write(study):
    # Real permissions: the store belongs to root; user 65534 may read it but not write.
    folder = Path(tempfile.mkdtemp())
    try:
        folder.chmod(0o755)
        (folder / "home").mkdir(mode=0o777)
        (folder / "home").chmod(0o777)
        with ResultStore(folder / "out", study) as store:
            store.record(study.runs()[0], _result())
        before = _file_digest(folder / "out")
        as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        can_import = subprocess.run(
            [*as_nobody, sys.executable, "-c", "import topokit.analysis"],
            capture_output=True,
            timeout=120,
            env={**os.environ, "HOME": str(folder / "home")},
            check=False,
        )
        if can_import.returncode != 0:
            pytest.skip("user 65534 cannot read this checkout or its environment")
        completed = subprocess.run(
            [*as_nobody, sys.executable, "-c", _AS_NOBODY, str(folder / "out"), STUDY],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "HOME": str(folder / "home")},
        )
        assert completed.returncode == 3, completed.stderr
        lines = completed.stdout.splitlines()
        assert lines[0] == "1"  # it could read the results
        assert "read-only" in lines[1]
        assert _file_digest(folder / "out") == before
        with ResultStore(folder / "out", readonly=True) as store:
            assert store.statuses() == {study.runs()[0].key: "ok"}
    finally:
        shutil.rmtree(folder)


def test_full_disk_loses_only_the_run_being_written(tmp_path, study):
    # A real SQLITE_FULL: the database may not grow past its current pages.
    runs = study.runs()
    with ResultStore(tmp_path, study) as store:
        store.record(runs[0], _result())
        pages = store._connection.execute("PRAGMA page_count").fetchone()[0]
        store._connection.execute(f"PRAGMA max_page_count = {pages}")
        big = _result()
        big.error = None
        big.curve = [{"epoch": e, "loss": 1.0 / e} for e in range(1, 20001)]
        with pytest.raises(TopokitError, match="full"):
            store.record(runs[1], big)
        assert store.statuses() == {runs[0].key: "ok"}
        for table in ("layer_metrics", "curves", "network_metrics"):
            rows = store._connection.execute(
                f"SELECT count(*) FROM {table} WHERE run_key = ?", (runs[1].key,)
            ).fetchone()
            assert rows == (0,), table
        store._connection.execute("PRAGMA max_page_count = 1073741823")
        assert store.record(runs[1], _result())  # recovers once there is room
    with ResultStore(tmp_path, readonly=True) as store:
        assert store.counts() == {"ok": 2, "failed": 0}


def test_kill_9_keeps_committed_runs(tmp_path, study):
    # A writer killed by SIGKILL in the middle of a run's transaction.
    script = textwrap.dedent(
        f"""
        import os, signal
        from topokit.analysis.store import ResultStore, RunResult
        from topokit.analysis.study import load_study
        study = load_study({STUDY!r})
        runs = study.runs()
        store = ResultStore({str(tmp_path)!r}, study)
        for run in runs[:3]:
            store.record(run, RunResult("ok", test_accuracy=0.5, curve=[{{"loss": 1.0}}]))
        store._connection.execute("BEGIN IMMEDIATE")
        store._insert(runs[3], RunResult("ok", test_accuracy=0.9))
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert completed.returncode == -9, completed.stderr.decode()
    runs = study.runs()
    with ResultStore(tmp_path, study) as store:
        assert store.pending(runs) == runs[3:]
        assert len(store.curve_rows()) == 3
        assert store._connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_not_a_store(tmp_path, study):
    (tmp_path / STORE_FILENAME).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(TopokitError, match=r"cannot read the result store .*not a database"):
        ResultStore(tmp_path, study)


def test_not_a_store_read_only(tmp_path):
    (tmp_path / STORE_FILENAME).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(TopokitError, match=r"cannot read the result store .*not a database"):
        ResultStore(tmp_path, readonly=True)


def test_foreign_sqlite_file(tmp_path, study):
    connection = sqlite3.connect(tmp_path / STORE_FILENAME)
    connection.execute("CREATE TABLE things (x)")
    connection.commit()
    connection.close()
    with pytest.raises(TopokitError, match=r"is not a topokit result store \(tables: \['things'\]"):
        ResultStore(tmp_path, study)


def test_newer_schema_is_refused(tmp_path, study):
    ResultStore(tmp_path, study).close()
    connection = sqlite3.connect(tmp_path / STORE_FILENAME)
    connection.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    connection.commit()
    connection.close()
    with pytest.raises(
        TopokitError, match=f"has schema version 99; this topokit reads version {SCHEMA_VERSION}"
    ):
        ResultStore(tmp_path, study)


def test_folder_is_a_file(tmp_path, study):
    (tmp_path / "taken").write_text("")
    with pytest.raises(TopokitError, match="cannot create the study folder"):
        ResultStore(tmp_path / "taken", study)


def test_creates_nested_folder(tmp_path, study):
    with ResultStore(tmp_path / "a" / "b", study) as store:
        assert store.path == tmp_path / "a" / "b" / STORE_FILENAME
    assert store.path.is_file()


def test_readonly_needs_an_existing_store(tmp_path):
    with pytest.raises(TopokitError, match="no result store at"):
        ResultStore(tmp_path, readonly=True)


def test_closed_store(tmp_path, study):
    store = ResultStore(tmp_path, study)
    store.close()
    with pytest.raises(TopokitError, match="is closed"):
        store.counts()


def test_bad_status():
    with pytest.raises(TopokitError, match="status must be 'ok' or 'failed', got 'done'"):
        RunResult("done")


def test_versions_are_json_ready():
    versions = library_versions()
    assert json.loads(json.dumps(versions)) == versions
    assert versions["numpy"] == np.__version__
    assert not math.isnan(float(versions["python"].split(".")[0]))


def test_closing_a_writer_leaves_every_run_in_the_main_file(tmp_path, study):
    # A reader keeps the write-ahead log alive; the writer's close still checkpoints it,
    # so a copy of results.sqlite alone holds every stored run.
    runs = study.runs()
    with ResultStore(tmp_path, study) as store:
        store.record(runs[0], _result())
    reader = ResultStore(tmp_path, readonly=True)
    try:
        with ResultStore(tmp_path, study) as store:
            store.record(runs[1], _result())
        copy = tmp_path / "copy"
        copy.mkdir()
        shutil.copy(tmp_path / STORE_FILENAME, copy / STORE_FILENAME)
        with ResultStore(copy, readonly=True) as copied:
            assert set(copied.statuses()) == {runs[0].key, runs[1].key}
    finally:
        reader.close()
