"""Files topokit refuses as a study's store: a store of a newer topokit (schema), a file that
is not SQLite, an SQLite database of something else. One clear error naming the file and
what is wrong (CLI: one line, exit 1), and nothing written: the file keeps its bytes and
its modification time, and no file appears beside it."""

import os
import sqlite3

import pytest

from topokit._errors import TopokitError
from topokit.analysis import ResultStore, load_study, run_study
from topokit.analysis.store import SCHEMA_VERSION, STORE_FILENAME
from topokit.cli import main

STUDY = """
name = "refusals"
sizes = [64, 10]
seeds = [0]
[training]
epochs = 1
[[families]]
name = "dense"
"""


def _newer(folder, journal):
    ResultStore(folder, load_study(STUDY)).close()
    connection = sqlite3.connect(folder / STORE_FILENAME)
    connection.execute(
        f"UPDATE meta SET value = '{SCHEMA_VERSION + 1}' WHERE key = 'schema_version'"
    )
    connection.commit()
    connection.execute(f"PRAGMA journal_mode = {journal}")
    connection.close()


def _text(folder):
    (folder / STORE_FILENAME).write_text("run,accuracy\n0,0.9\n" * 100)


def _foreign(folder):
    connection = sqlite3.connect(folder / STORE_FILENAME)
    connection.execute("CREATE TABLE measurements (x REAL)")
    connection.execute("INSERT INTO measurements VALUES (1.5)")
    connection.commit()
    connection.close()


CASES = {
    "newer-schema": (
        lambda folder: _newer(folder, "DELETE"),
        rf"has schema version {SCHEMA_VERSION + 1}; this topokit reads version "
        rf"{SCHEMA_VERSION} \(upgrade topokit\)",
    ),
    "newer-schema-wal": (
        lambda folder: _newer(folder, "WAL"),
        rf"has schema version {SCHEMA_VERSION + 1}; this topokit reads version {SCHEMA_VERSION}",
    ),
    "text-file": (_text, "file is not a database: the file is not an SQLite database"),
    "other-sqlite": (_foreign, r"is not a topokit result store \(tables: \['measurements'\]\)"),
}


@pytest.fixture(params=sorted(CASES))
def refused(request, tmp_path):
    """(folder, pattern of the error): a folder whose results.sqlite is refused."""
    make, pattern = CASES[request.param]
    folder = tmp_path / "out"
    folder.mkdir()
    make(folder)
    return folder, pattern


def _snapshot(folder):
    return {path.name: (path.read_bytes(), path.stat().st_mtime_ns) for path in folder.iterdir()}


def test_the_store_refuses_and_writes_nothing(refused):
    folder, pattern = refused
    before = _snapshot(folder)
    with pytest.raises(TopokitError, match=pattern) as error:
        ResultStore(folder, load_study(STUDY))
    assert str(folder / STORE_FILENAME) in str(error.value)
    with pytest.raises(TopokitError, match=pattern):
        ResultStore(folder, readonly=True)
    with pytest.raises(TopokitError, match=pattern):
        run_study(load_study(STUDY), folder, workers=1, progress=False)
    assert _snapshot(folder) == before


@pytest.mark.parametrize("command", ["study", "export"])
def test_the_cli_says_it_in_one_line_and_writes_nothing(refused, tmp_path, capsys, command):
    folder, _ = refused
    (tmp_path / "study.toml").write_text(STUDY)
    before = _snapshot(folder)
    argv = {
        "study": ["study", str(tmp_path / "study.toml"), "--out", str(folder), "--workers", "1"],
        "export": ["export", str(folder)],
    }[command]
    status = main(argv)
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("topokit: error: ")
    assert err.count("\n") == 1
    assert str(folder / STORE_FILENAME) in err
    assert _snapshot(folder) == before
    assert sorted(os.listdir(tmp_path)) == ["out", "study.toml"]  # nothing else made
