"""Growing and varying a study in its folder: only the missing runs run, stored runs the
file no longer names are kept and listed, [training] lists sweep the recipe, --dry-run
writes nothing, a Dask address is checked before anything is written, and a closed store
leaves no -wal/-shm files."""

import dataclasses
import hashlib
import json
import os
import socket
import sqlite3

import pytest

from topokit._errors import TopokitError
from topokit.analysis import (
    ResultStore,
    RunResult,
    analyze_study,
    load_results,
    load_study,
    plan_study,
    varied_training_columns,
)
from topokit.analysis._study_checks import FamilySpec
from topokit.analysis.runner import run_study
from topokit.analysis.store import STORE_FILENAME
from topokit.cli import main

TINY = """
name = "grow"
sizes = [64, 16, 10]
dense_layers = [-1]
densities = [0.25]
seeds = [0, 1]
metrics = ["spectral_gap", "net_spectral_gap"]

[training]
epochs = 1
batch_size = 64

[[families]]
name = "erdos_renyi"
"""


def _fake(run, accuracy=0.123):
    """A made-up stored result: a real run never gives exactly this accuracy."""
    return RunResult(
        "ok",
        seconds=1.0,
        test_accuracy=accuracy + run.seed / 1000,
        layer_metrics=[{"spectral_gap": 1.0 + run.seed}, {"spectral_gap": 0.5}],
        network_metrics={"net_density": 0.3 + run.seed / 100, "net_spectral_gap": 0.2},
    )


def _store(folder, study, runs=None):
    with ResultStore(folder, study) as store:
        for run in study.runs() if runs is None else runs:
            store.record(run, _fake(run))


def _rows(folder):
    with ResultStore(folder, readonly=True) as store:
        return {row["run_key"]: row for row in store.run_rows()}


def _files(folder):
    return {
        name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
        for name in sorted(os.listdir(folder))
        if (folder / name).is_file()
    }


def _no_journal_files(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(STORE_FILENAME))


# ------------------------------------------------------------------ growing, shrinking
def test_grown_study_runs_only_the_new_runs(tmp_path):
    study = load_study(TINY)
    _store(tmp_path, study)
    before = _rows(tmp_path)
    grown = load_study(
        TINY.replace("seeds = [0, 1]", "seeds = [0, 1, 2]").replace(
            "densities = [0.25]", "densities = [0.25, 0.5]"
        )
    )
    new = {run.key for run in grown.runs()} - set(before)
    assert len(new) == 4  # seed 2 at both densities, seeds 0 and 1 at density 0.5
    summary = run_study(grown, tmp_path, workers=1, progress=False)
    assert (summary.n_runs, summary.n_skipped, summary.n_ok, summary.n_failed) == (6, 2, 4, 0)
    assert summary.stored == {"ok": 6, "failed": 0}
    assert summary.n_unnamed == 0
    after = _rows(tmp_path)
    assert set(after) == set(before) | new
    for key, row in before.items():  # the stored runs untouched: never run again
        assert after[key]["test_accuracy"] == row["test_accuracy"]
        assert after[key]["finished"] == row["finished"]
    assert all(after[key]["test_accuracy"] not in (0.123, 0.124, 0.125) for key in new)
    assert _no_journal_files(tmp_path) == [STORE_FILENAME]


def test_shrunk_study_lists_the_runs_it_no_longer_names(tmp_path, capsys):
    path = tmp_path / "study.toml"
    path.write_text(TINY.replace("seeds = [0, 1]", "seeds = [0, 1, 2, 3]"))
    study = load_study(path)
    _store(tmp_path / "out", study)
    shrunk_text = TINY.replace("seeds = [0, 1]", "seeds = [1, 2]")
    path.write_text(shrunk_text)
    shrunk = load_study(path)
    summary = run_study(shrunk, tmp_path / "out", workers=1, progress=False)
    assert (summary.n_runs, summary.n_skipped, summary.n_ok) == (2, 2, 0)
    assert summary.stored == {"ok": 2, "failed": 0}
    assert (summary.n_unnamed, summary.unnamed) == (2, "seed 0, 3")
    assert len(_rows(tmp_path / "out")) == 4  # nothing deleted
    # the analysis covers exactly the runs the current file names
    analysis = analyze_study(tmp_path / "out", figures=False)
    assert analysis.counts == {"ok": 2, "failed": 0, "planned": 2, "unnamed": 2}
    assert any("2 more stored runs are not named" in line for line in analysis.summary)
    assert "2 more stored runs are not named" in analysis.report.read_text()
    # the CLI lists them
    status = main(["study", str(path), "--out", str(tmp_path / "out"), "--workers", "1"])
    out = capsys.readouterr().out
    assert status == 0
    assert "2 of 2 runs ok" in out
    assert (
        "2 stored runs are not named by this study file (kept, not in the report): seed 0, 3" in out
    )
    assert _no_journal_files(tmp_path / "out") == [STORE_FILENAME]  # after run and report


def test_store_keeps_the_current_definition_and_its_history(tmp_path):
    study = load_study(TINY)
    grown = load_study(TINY.replace("seeds = [0, 1]", "seeds = [0, 1, 2]"))
    ResultStore(tmp_path, study).close()
    ResultStore(tmp_path, grown).close()
    ResultStore(tmp_path, study).close()  # back to the first: it is current again
    with ResultStore(tmp_path, readonly=True) as store:
        info, history = store.study_info(), store.definitions()
        named = store.study_run_keys()
    assert info["study_key"] == study.key
    assert info["config_toml"] == TINY
    assert [d["study_key"] for d in history] == [study.key, grown.key]
    assert [d["n_runs"] for d in history] == [2, 3]
    assert history[0]["last_used"] > history[0]["first_used"]
    assert named == {run.key for run in study.runs()}


def test_other_name_is_refused_naming_the_field(tmp_path):
    study = load_study(TINY)
    _store(tmp_path, study)
    before = _files(tmp_path)
    other = load_study(TINY.replace('name = "grow"', 'name = "other"'))
    with pytest.raises(TopokitError, match=r"differ in name \('grow' in the store, 'other' in"):
        ResultStore(tmp_path, other)
    assert _files(tmp_path) == before


def test_other_format_is_refused_naming_the_field(tmp_path):
    study = load_study(TINY)
    _store(tmp_path, study)
    with sqlite3.connect(tmp_path / STORE_FILENAME) as connection:
        (config,) = connection.execute("SELECT config_json FROM study").fetchone()
        config = json.dumps({**json.loads(config), "format": 0})
        connection.execute("UPDATE study SET config_json = ?", (config,))
    connection.close()
    grown = load_study(TINY.replace("seeds = [0, 1]", "seeds = [0, 1, 2]"))
    with pytest.raises(TopokitError, match=r"differ in format \(0 in the store, 1 in the file\)"):
        ResultStore(tmp_path, grown)


def test_schema_1_store_is_migrated(tmp_path):
    """A store written before definitions were kept: its runs are its one definition's."""
    study = load_study(TINY)
    _store(tmp_path, study)
    with sqlite3.connect(tmp_path / STORE_FILENAME) as connection:
        connection.execute("DROP TABLE definitions")
        connection.execute("DROP TABLE definition_runs")
        connection.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    connection.close()
    with ResultStore(tmp_path, readonly=True) as store:
        assert store.study_run_keys() == {run.key for run in study.runs()}
        assert [d["n_runs"] for d in store.definitions()] == [2]
    grown = load_study(TINY.replace("seeds = [0, 1]", "seeds = [0, 1, 2]"))
    with ResultStore(tmp_path, grown) as store:
        history = store.definitions()
        assert [d["study_key"] for d in history] == [study.key, grown.key]
        assert [d["n_runs"] for d in history] == [2, 3]
        assert store.pending(grown.runs()) == grown.runs()[2:]


# ------------------------------------------------------------------ [training] lists
SWEEP = TINY.replace("batch_size = 64", "batch_size = [32, 64]\nlearning_rate = [0.01, 0.1]")


def test_training_lists_sweep_every_combination():
    study = load_study(SWEEP)
    runs = study.runs()
    assert len(runs) == 2 * 2 * 2  # seeds x batch sizes x learning rates
    combos = {(r.seed, r.training["batch_size"], r.training["learning_rate"]) for r in runs}
    assert combos == {(s, b, lr) for s in (0, 1) for b in (32, 64) for lr in (0.01, 0.1)}
    assert study.swept_training == {"batch_size": (32, 64), "learning_rate": (0.01, 0.1)}
    # a run of the sweep is the run of the study that fixes the same values
    fixed = load_study(TINY.replace("batch_size = 64", "batch_size = 32\nlearning_rate = 0.1"))
    assert {r.key for r in fixed.runs()} <= {r.key for r in runs}


def test_training_sweep_columns(tmp_path):
    study = load_study(SWEEP.replace("epochs = 1", "epochs = [1, 2]"))
    _store(tmp_path, study)
    frame = load_results(tmp_path)
    assert {"batch_size", "learning_rate", "training_epochs"} <= set(frame.columns)
    assert "optimizer" not in frame.columns  # not varied: no column
    expected = sorted(
        (r.training["batch_size"], r.training["learning_rate"], r.training["epochs"], r.seed)
        for r in study.runs()
    )
    got = sorted(
        zip(
            frame["batch_size"],
            frame["learning_rate"],
            frame["training_epochs"],
            frame["seed"],
            strict=True,
        )
    )
    assert got == expected
    assert varied_training_columns(frame) == ["training_epochs", "batch_size", "learning_rate"]
    assert varied_training_columns(frame[frame["learning_rate"] == 0.1]) == [
        "training_epochs",
        "batch_size",
    ]


def test_unswept_study_has_no_training_columns(tmp_path):
    _store(tmp_path, load_study(TINY))
    frame = load_results(tmp_path)
    assert not {"batch_size", "learning_rate", "training_epochs"} & set(frame.columns)
    assert varied_training_columns(frame) == []


@pytest.mark.parametrize(
    ("training", "match"),
    [
        ("learning_rate = []", r"training.learning_rate sweeps over an empty list"),
        ("learning_rate = [0.1, -1]", r"training.learning_rate must be a positive number, got -1"),
        ("optimizer = ['adam', 'rmsprop']", r"training.optimizer must be one of .*got 'rmsprop'"),
        ("batch_size = [32, 32]", r"training.batch_size has repeated values: \[32, 32\]"),
        ("nesterov = [true, 1]", r"training.nesterov must be true or false, got 1"),
        (
            "early_stopping = [true, false]\nvalidation_fraction = [0.0, 0.1]",
            "training.early_stopping needs a validation_fraction > 0",
        ),
    ],
    ids=["empty", "bad-element", "bad-name", "repeated", "bool", "early-stopping-combination"],
)
def test_training_list_problems(training, match):
    with pytest.raises(TopokitError, match=match):
        load_study(TINY.replace("batch_size = 64", training))


# ------------------------------------------------------------------ --dry-run
def test_dry_run_writes_nothing(tmp_path, capsys):
    path = tmp_path / "study.toml"
    path.write_text(SWEEP)
    out = tmp_path / "out"
    status = main(["study", str(path), "--out", str(out), "--dry-run", "--workers", "2"])
    text = capsys.readouterr().out
    assert status == 0
    assert not out.exists()
    assert "training.batch_size: 32, 64" in text
    assert "training.learning_rate: 0.01, 0.1" in text
    assert "runs: 8 in the grid, 8 to run, 0 already stored" in text
    assert "estimated time: about" in text
    assert "rough" in text


def test_dry_run_of_a_grown_study(tmp_path, capsys):
    study = load_study(TINY)
    _store(tmp_path / "out", study)
    before = _files(tmp_path / "out")
    path = tmp_path / "study.toml"
    path.write_text(TINY.replace("seeds = [0, 1]", "seeds = [1, 2, 3]"))
    argv = ["study", str(path), "--out", str(tmp_path / "out"), "--dry-run", "--workers", "1"]
    assert main([*argv, "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert (plan["n_runs"], plan["n_new"], plan["n_stored"]) == (3, 2, {"ok": 1, "failed": 0})
    assert (plan["n_unnamed"], plan["unnamed"]) == (1, "seed 0")
    assert plan["grid"]["seeds"] == [1, 2, 3]
    # two stored runs of 1 s each, all runs of the same cost: 2 new runs, 2 s on 1 worker
    assert plan["seconds"] == pytest.approx(2.0)
    assert plan["estimate"].startswith("from the 2 stored runs' seconds")
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "1 stored runs are not named by this study file (kept): seed 0" in text
    assert _files(tmp_path / "out") == before
    assert _no_journal_files(tmp_path / "out") == [STORE_FILENAME]


def test_dry_run_into_another_study_is_refused(tmp_path, capsys):
    _store(tmp_path / "out", load_study(TINY))
    before = _files(tmp_path / "out")
    path = tmp_path / "study.toml"
    path.write_text(TINY.replace('name = "grow"', 'name = "other"'))
    status = main(["study", str(path), "--out", str(tmp_path / "out"), "--dry-run"])
    err = capsys.readouterr().err
    assert status == 1
    assert "differ in name ('grow' in the store, 'other' in the file)" in err
    assert _files(tmp_path / "out") == before


def test_plan_study_matches_what_run_study_does(tmp_path):
    study = load_study(TINY)
    _store(tmp_path, study, study.runs()[:1])
    plan = plan_study(study, tmp_path, workers=1)
    summary = run_study(study, tmp_path, workers=1, progress=False)
    assert plan.n_new == summary.n_ok + summary.n_failed == 1
    assert [run.key for run in plan.runs] == [study.runs()[1].key]


# ------------------------------------------------------------------ --dask, -wal/-shm
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_dask_writes_nothing(tmp_path, capsys):
    pytest.importorskip("distributed")
    path = tmp_path / "study.toml"
    path.write_text(TINY)
    address = f"tcp://127.0.0.1:{_free_port()}"
    out = tmp_path / "out"
    status = main(["study", str(path), "--out", str(out), "--dask", address])
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith(f"topokit: error: cannot reach the Dask scheduler at '{address}'")
    assert not out.exists()


def test_failed_runs_leave_no_journal_files(tmp_path):
    # projective_plane q=2 fits no layer here: loading refuses it, a Study made directly
    # is not checked, so its runs fail when run
    infeasible = FamilySpec("projective_plane", {"q": (2,)})
    study = load_study(TINY)
    study = dataclasses.replace(study, families=(*study.families, infeasible))
    summary = run_study(study, tmp_path, workers=1, progress=False)
    assert summary.n_failed == 2
    assert _no_journal_files(tmp_path) == [STORE_FILENAME]


def test_interrupted_study_leaves_no_journal_files(tmp_path, monkeypatch):
    study = load_study(TINY)
    record = ResultStore.record

    def record_then_interrupt(self, run, result):
        record(self, run, result)
        raise KeyboardInterrupt

    monkeypatch.setattr(ResultStore, "record", record_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        run_study(study, tmp_path, workers=1, progress=False)
    assert _no_journal_files(tmp_path) == [STORE_FILENAME]
    assert len(_rows(tmp_path)) == 1
