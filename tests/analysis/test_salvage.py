"""A damaged store: an honest error (what PRAGMA integrity_check found), and the salvage of
every run that can still be read whole into a new store (``topokit export DIR --salvage``).

The stores are real SQLite files written by :class:`ResultStore`, damaged by overwriting
pages with random bytes or by truncating the file; every salvaged run is compared with
what was recorded, and the runs not salvaged are run again by a real study.
"""

import shutil
import sqlite3

import pytest

from topokit._errors import TopokitError
from topokit.analysis import (
    ResultStore,
    RunResult,
    load_results,
    load_study,
    run_study,
    salvage_store,
)
from topokit.analysis.store import STORE_FILENAME, integrity_problems
from topokit.cli import main

N_SEEDS = 40
STUDY = f"""
name = "salvage"
sizes = [64, 10]
seeds = {list(range(N_SEEDS))}
metrics = ["spectral_gap"]
[training]
epochs = 1
[[families]]
name = "dense"
"""


def _result(run):
    """A run's result with enough rows that the tables span many pages."""
    return RunResult(
        "ok" if run.seed % 7 else "failed",
        error=None if run.seed % 7 else f"seed {run.seed} failed",
        test_accuracy=run.seed / N_SEEDS,
        epochs=59,
        layer_metrics=[{"n_edges": 640, "spectral_gap": run.seed + 0.5}],
        network_metrics={"net_spectral_gap": run.seed * 2.0},
        curve=[{"epoch": e, "loss": 1.0 / e, "seconds": 0.01 * run.seed} for e in range(1, 60)],
    )


@pytest.fixture(scope="module")
def sound(tmp_path_factory):
    """A sound store of the study's 40 runs (a fresh copy per test)."""
    folder = tmp_path_factory.mktemp("sound")
    study = load_study(STUDY)
    with ResultStore(folder, study) as store:
        for run in study.runs():
            store.record(run, _result(run))
    return folder


@pytest.fixture
def store(sound, tmp_path):
    folder = tmp_path / "damaged"
    shutil.copytree(sound, folder)
    return folder


def _contents(folder) -> dict:
    """Everything recorded, by run key: the run row, its metrics and its curve."""
    with ResultStore(folder, readonly=True) as store:
        runs = {row["run_key"]: row for row in store.run_rows()}
        tables = {
            "layer": store.layer_metric_rows(),
            "network": store.network_metric_rows(),
            "curve": store.curve_rows(),
        }
    return {
        key: (row, *[[r for r in rows if r[0] == key] for rows in tables.values()])
        for key, row in runs.items()
    }


def _pages(folder) -> dict:
    """Table name -> [(page number, page type)], from SQLite's dbstat of the sound file."""
    connection = sqlite3.connect(folder / STORE_FILENAME)
    rows = connection.execute("SELECT name, pageno, pagetype FROM dbstat ORDER BY pageno")
    pages = {}
    for name, number, kind in rows:
        pages.setdefault(name, []).append((number, kind))
    connection.close()
    return pages


def _overwrite(folder, numbers, rng):
    path = folder / STORE_FILENAME
    data = bytearray(path.read_bytes())
    size = int.from_bytes(data[16:18], "big")
    for number in numbers:
        data[(number - 1) * size : number * size] = rng.bytes(size)
    path.write_bytes(bytes(data))


def _check_salvaged(original, report, destination):
    """Each salvaged run is exactly as recorded; the counts add up."""
    salvaged = _contents(destination)
    for key, contents in salvaged.items():
        assert contents == original[key], key
    assert report["n_runs"] == len(salvaged)
    assert report["n_ok"] + report["n_failed"] == len(salvaged)
    assert report["n_named"] == N_SEEDS
    assert report["n_missing"] == N_SEEDS - len(salvaged)
    assert report["n_unreadable"] <= report["n_missing"]
    with ResultStore(destination, readonly=True) as store:
        assert store.study_run_keys() == {run.key for run in load_study(STUDY).runs()}
    return salvaged


def test_a_sound_store_is_copied_whole(store, tmp_path):
    report = salvage_store(store, tmp_path / "copy")
    assert report["problems"] == []
    assert (report["n_runs"], report["n_unreadable"], report["n_missing"]) == (N_SEEDS, 0, 0)
    assert report["n_failed"] == len(range(0, N_SEEDS, 7))
    assert _contents(tmp_path / "copy") == _contents(store)
    with (
        ResultStore(store, readonly=True) as before,
        ResultStore(tmp_path / "copy", readonly=True) as after,
    ):
        assert after.study_info() == before.study_info()
        assert after.definitions() == before.definitions()


def test_pages_overwritten_with_garbage(store, tmp_path, rng, capsys):
    original = _contents(store)
    pages = _pages(store)
    runs_root = pages["runs"][0][0]
    runs_leaf = [n for n, kind in pages["runs"] if kind == "leaf"][1]
    curves_leaf = [n for n, kind in pages["curves"] if kind == "leaf"][2]
    _overwrite(store, [runs_root, runs_leaf, curves_leaf], rng)
    damaged = (store / STORE_FILENAME).read_bytes()

    with pytest.raises(TopokitError) as error:
        load_results(store)
    message = str(error.value)
    assert "database disk image is malformed. PRAGMA integrity_check found" in message
    assert f"Page {runs_root}" in message
    assert "runs stored in it may be unreadable or lost" in message
    assert "intact" not in message
    assert f"topokit export {store} --salvage NEW_DIR" in message
    assert integrity_problems(store / STORE_FILENAME)

    status = main(["export", str(store), "--salvage", str(tmp_path / "new")])
    out = capsys.readouterr().out
    assert status == 0
    assert out.startswith(f"checked {store / STORE_FILENAME}: PRAGMA integrity_check found ")
    assert (store / STORE_FILENAME).read_bytes() == damaged  # the source is only read
    report = salvage_store(store, tmp_path / "again")
    salvaged = _check_salvaged(original, report, tmp_path / "new")
    # the rows below the damaged root are found on their pages; those on the damaged leaf,
    # and the runs whose curve lies on the damaged curve page, are not salvaged
    assert 0 < report["n_missing"] < N_SEEDS // 2
    assert report["n_unreadable"] > 0
    assert f"the {report['n_missing']} not salvaged run again with" in out

    # the study run into the new folder runs only the runs not salvaged
    summary = run_study(load_study(STUDY), tmp_path / "new", workers=1, progress=False)
    assert summary.n_skipped == len(salvaged)
    assert summary.n_ok + summary.n_failed == report["n_missing"]


def test_a_truncated_store(store, tmp_path):
    original = _contents(store)
    path = store / STORE_FILENAME
    size = int.from_bytes(path.read_bytes()[16:18], "big")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 3 * size])  # the last three pages lost
    with pytest.raises(TopokitError, match="PRAGMA integrity_check found"):
        load_results(store)
    report = salvage_store(store, tmp_path / "new")
    assert report["problems"]
    _check_salvaged(original, report, tmp_path / "new")
    assert 0 < report["n_missing"] < N_SEEDS


def test_a_file_that_is_not_sqlite_cannot_be_salvaged(tmp_path):
    (tmp_path / STORE_FILENAME).write_text("these are my notes\n" * 200)
    with pytest.raises(
        TopokitError, match=r"nothing can be salvaged from .*not an SQLite database"
    ):
        salvage_store(tmp_path, tmp_path / "new")
    assert not (tmp_path / "new").exists()


def test_a_destination_that_holds_a_store_is_refused(store, tmp_path):
    ResultStore(tmp_path / "taken").close()
    before = (tmp_path / "taken" / STORE_FILENAME).read_bytes()
    with pytest.raises(TopokitError, match="already holds a result store; give a new folder"):
        salvage_store(store, tmp_path / "taken")
    assert (tmp_path / "taken" / STORE_FILENAME).read_bytes() == before
    with pytest.raises(TopokitError, match="no result store at"):
        salvage_store(tmp_path / "nowhere", tmp_path / "new")


def test_salvage_into_the_same_folder_is_refused(store):
    with pytest.raises(TopokitError, match="already holds a result store"):
        salvage_store(store, store)


def test_cli_salvage_with_a_table_option_is_one_line_error(store, tmp_path, capsys):
    status = main(["export", str(store), "--salvage", str(tmp_path / "n"), "--format", "csv"])
    err = capsys.readouterr().err
    assert status == 1
    assert err == (
        "topokit: error: --salvage writes a store, not a table: give it without --format "
        "and --output\n"
    )
    assert not (tmp_path / "n").exists()


def test_cli_export_of_a_damaged_store_is_one_line_error(store, rng, capsys):
    _overwrite(store, [_pages(store)["runs"][0][0]], rng)
    status = main(["export", str(store)])
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("topokit: error: cannot read the result store")
    assert err.count("\n") == 1
    assert "PRAGMA integrity_check found" in err
    assert not (store / "results.csv").exists()
