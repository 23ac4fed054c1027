"""``topokit study`` failing early and loudly: infeasible grids refused before anything
runs, exit 2 when runs failed, Ctrl-C, progress lines; ``topokit export`` of the failed
runs and the learning curves, and formats that disagree with the output's suffix."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pandas as pd
import pytest

from topokit import TopokitError
from topokit.analysis import ResultStore, RunResult, load_study, runner
from topokit.cli import main

TINY = """
name = "cli-fail"
sizes = [64, 16, 10]
dense_layers = [-1]
densities = [0.25]
seeds = [0, 1]
metrics = ["spectral_gap"]

[training]
epochs = 2
batch_size = 64

[[families]]
name = "erdos_renyi"
"""

INFEASIBLE = """
name = "infeasible"
sizes = [[64, 64, 10], [64, 16, 10]]
dense_layers = [-1]
densities = [0.25, 0.0001]
seeds = [0, 1, 2]

[[families]]
name = "erdos_renyi"

[[families]]
name = "projective_plane"
q = 2

[[families]]
name = "small_world"
p = 2.0
densities = [0.25]

[[families]]
name = "array_code"

[[families]]
name = "radix"
radices = [2, 2, 2, 2, 2, 2]

[[families]]
name = "left_regular"
degrees = [100]
"""


def run_cli(capsys, *argv):
    status = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """The tiny study run through the CLI, then two runs added to its store as failed
    with the same reason and one more failed with another: (config, folder)."""
    folder = tmp_path_factory.mktemp("fail")
    path = folder / "tiny.toml"
    path.write_text(TINY)
    out = folder / "out"
    assert main(["study", str(path), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    return path, out


# ------------------------------------------------------------------ feasibility
def test_infeasible_grid_lists_every_problem_and_runs_nothing(capsys, tmp_path):
    path = tmp_path / "infeasible.toml"
    path.write_text(INFEASIBLE)
    out = tmp_path / "out"
    status, stdout, err = run_cli(capsys, "study", path, "--out", out)
    head, *problems = err.splitlines()
    assert (status, stdout) == (1, "")
    assert head == f"topokit: error: invalid study 'infeasible' ({path}): 11 problems:"
    expected = [
        "erdos_renyi at sizes [64, 64, 10], density 0.0001: layer 0 (64 -> 64): "
        "density=0.0001 gives 0 edges for a 64 x 64 layer",
        "projective_plane(q=2) at sizes [64, 64, 10]: layer 0 (64 -> 64): n_in must be 7 "
        "(q²+q+1 for q=2), got 64",
        "small_world(p=2.0) at sizes [64, 64, 10], density 0.25: layer 0 (64 -> 64): "
        "p must be in [0.0, 1.0], got 2.0",
        "array_code at sizes [64, 64, 10]: layer 0 (64 -> 64): n_out must be q² for a prime "
        "q; nearest: 49 (q=7) or 121 (q=11), got 64",
        "left_regular at sizes [64, 64, 10], degree 100: layer 0 (64 -> 64): "
        "degree (fan-in of each output neuron) must be <= n_in=64, got 100",
        "erdos_renyi at sizes [64, 16, 10], density 0.0001: layer 0 (64 -> 16): "
        "density=0.0001 gives 0 edges for a 64 x 16 layer",
        "projective_plane(q=2) at sizes [64, 16, 10]: layer 0 (64 -> 16): n_in must be 7",
        "small_world(p=2.0) at sizes [64, 16, 10], density 0.25: layer 0 (64 -> 16): "
        "p must be in [0.0, 1.0], got 2.0",
        "array_code at sizes [64, 16, 10]: layer 0 (64 -> 16): n_out must be q² for a prime "
        "q; nearest: 9 (q=3) or 25 (q=5), got 16",
        "radix(radices=[2, 2, 2, 2, 2, 2]) at sizes [64, 16, 10]: layer 0 (64 -> 16): n_out "
        "must be a multiple of n' = prod(radices) = 64",
        "left_regular at sizes [64, 16, 10], degree 100: layer 0 (64 -> 16): "
        "degree (fan-in of each output neuron) must be <= n_in=64, got 100",
    ]
    assert len(problems) == len(expected)
    for line, start in zip(problems, expected, strict=True):
        assert line.startswith("  " + start), (line, start)
    assert not out.exists()  # nothing ran, nothing was written


def test_the_same_error_over_several_densities_is_one_line():
    text = TINY.replace("densities = [0.25]", "densities = [0.25, 0.5]").replace(
        'name = "erdos_renyi"', 'name = "small_world"\np = 2.0'
    )
    with pytest.raises(TopokitError) as info:
        load_study(text)
    assert str(info.value).splitlines() == [
        "invalid study 'cli-fail' (<text>): 1 problem:",
        "small_world(p=2.0) at sizes [64, 16, 10], densities 0.25, 0.5: layer 0 (64 -> 16): "
        "p must be in [0.0, 1.0], got 2.0",
    ]


# ------------------------------------------------------------------ failed runs: exit 2
def _store_with_failures(config, out, errors):
    """The study of ``config`` with seeds for 2 ok runs and one failed run per error,
    all stored (nothing left to run): (config, the failed runs)."""
    seeds = list(range(2 + len(errors)))
    config.write_text(TINY.replace("seeds = [0, 1]", f"seeds = {seeds}"))
    study = load_study(config)
    runs = study.runs()
    with ResultStore(out, study) as store:
        for run in runs[:2]:
            store.record(run, RunResult("ok", test_accuracy=0.5))
        for run, error in zip(runs[2:], errors, strict=True):
            store.record(run, RunResult.failed(error))
    return config, runs[2:]


def test_failed_runs_exit_2_with_the_first_distinct_reasons(capsys, config, tmp_path):
    out = tmp_path / "out"
    errors = [
        "layer 0 (64 -> 16): family 'ramanujan': none of max_attempts=1 biregular graphs met",
        "training diverged (loss is nan)",
        "layer 0 (64 -> 16): family 'ramanujan': none of max_attempts=1 biregular graphs met",
        "MemoryError: out of memory\nwhile training",
        "a fourth reason",
    ]
    grown, failed = _store_with_failures(config, out, errors)
    status, stdout, err = run_cli(capsys, "study", grown, "--out", out, "--workers", "1")
    assert status == 2
    assert "2 of 7 runs ok, 5 failed" in stdout
    lines = err.splitlines()
    assert lines[0] == "topokit: 5 runs failed; the first 3 of 4 distinct reasons:", err
    assert lines[1:4] == [
        "  " + errors[0],
        "  " + errors[1],
        "  MemoryError: out of memory while training",
    ]
    assert lines[4] == f"  all of them: topokit export {out} --failed"
    assert len(lines) == 5

    # the same with --json and --quiet: the status and the reasons on stderr stay
    for flag in ("--json", "--quiet"):
        status, stdout, err = run_cli(capsys, "study", grown, "--out", out, flag)
        assert status == 2
        assert err.splitlines()[-5:] == lines
    assert json.loads(run_cli(capsys, "study", grown, "--out", out, "--json")[1])["stored"] == {
        "ok": 2,
        "failed": 5,
    }

    # export --failed lists them all, with their configuration
    status, stdout, err = run_cli(capsys, "export", out, "--failed")
    assert (status, err) == (0, "")
    assert stdout.strip() == str(out / "failed.csv")
    table = pd.read_csv(stdout.strip())
    assert sorted(table["seed"]) == [run.seed for run in failed]
    assert sorted(table["error"]) == sorted(errors)
    assert set(table["family"]) == {"erdos_renyi"}
    assert set(table["sizes"]) == {"64-16-10"}
    assert table["run_key"].tolist() == [run.key for run in failed]  # in the order stored

    status, stdout, _ = run_cli(capsys, "export", out, "--failed", "--format", "json")
    records = json.loads((out / "failed.json").read_text())
    assert status == 0
    assert stdout.strip() == str(out / "failed.json")
    assert [r["error"] for r in records] == errors
    assert {"run_key", "family", "density", "seed", "sizes", "error"} <= set(records[0])


def test_a_study_without_failures_exits_0_and_exports_no_failed_row(capsys, finished):
    config, out = finished
    status, _, err = run_cli(capsys, "study", config, "--out", out)
    assert (status, err) == (0, "")
    status, stdout, _ = run_cli(capsys, "export", out, "--failed", "--output", out / "f.csv")
    table = pd.read_csv(stdout.strip())
    assert status == 0
    assert len(table) == 0
    assert {"family", "seed", "error"} <= set(table.columns)


# ------------------------------------------------------------------ export --curves, --format
def test_export_curves(capsys, finished):
    _, out = finished
    status, stdout, err = run_cli(capsys, "export", out, "--curves")
    assert (status, err) == (0, "")
    assert stdout.strip() == str(out / "curves.csv")
    curves = pd.read_csv(stdout.strip())
    with sqlite3.connect(out / "results.sqlite") as connection:
        stored = connection.execute("SELECT run_key, epoch, loss FROM curves").fetchall()
    # one row per run and epoch: 2 runs x 2 epochs, as the store holds them
    assert len(curves) == len(stored) == 4
    assert sorted(curves.groupby("run_key")["epoch"].apply(list).tolist()) == [[1, 2], [1, 2]]
    assert set(curves["seed"]) == {0, 1}
    by_point = {(key, epoch): loss for key, epoch, loss in stored}
    for row in curves.itertuples():
        assert row.loss == pytest.approx(by_point[(row.run_key, row.epoch)], rel=1e-12)


def test_format_from_the_output_suffix(capsys, finished, tmp_path):
    _, out = finished
    status, _, _ = run_cli(capsys, "export", out, "--curves", "--output", tmp_path / "c.json")
    assert status == 0
    assert len(json.loads((tmp_path / "c.json").read_text())) == 4


@pytest.mark.parametrize(
    ("fmt", "name"),
    [("csv", "t.json"), ("json", "t.csv"), ("parquet", "t.csv"), ("csv", "t.txt")],
    ids=["csv-json", "json-csv", "parquet-csv", "csv-txt"],
)
def test_format_and_output_suffix_that_disagree(capsys, finished, tmp_path, fmt, name):
    _, out = finished
    target = tmp_path / name
    status, stdout, err = run_cli(capsys, "export", out, "--format", fmt, "--output", target)
    assert (status, stdout) == (1, "")
    assert err.startswith(f"topokit: error: format='{fmt}' disagrees with the suffix of ")
    assert err.count("\n") == 1
    assert not target.exists()


# ------------------------------------------------------------------ progress lines
def test_progress_lines_without_a_terminal(capsys, config, tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "PROGRESS_INTERVAL", 0.05)
    status, _, err = run_cli(capsys, "study", config, "--out", tmp_path / "o", "--workers", "1")
    assert status == 0
    lines = [line for line in err.splitlines() if line.startswith("study cli-fail: ")]
    assert lines, err
    assert "of 2 runs done, 0 failed, " in lines[0]
    assert lines[0].endswith((" left", "time left not known yet"))


def test_quiet_prints_no_progress_lines(capsys, config, tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "PROGRESS_INTERVAL", 0.05)
    status, stdout, err = run_cli(
        capsys, "study", config, "--out", tmp_path / "o", "--workers", "1", "--quiet"
    )
    assert (status, stdout, err) == (0, "", "")


# ------------------------------------------------------------------ Ctrl-C
def _stored_runs(path) -> int:
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
            return connection.execute("SELECT count(*) FROM runs").fetchone()[0]
    except sqlite3.Error:  # not made yet
        return 0


def test_ctrl_c_prints_the_runs_stored_and_the_command_that_resumes(config, tmp_path):
    # 16 runs: the interrupt lands before the last one even when a loaded machine delays
    # this process's polling by seconds (Ctrl-C after them: the test below)
    config.write_text(TINY.replace("seeds = [0, 1]", f"seeds = {list(range(16))}"))
    out = tmp_path / "out"
    command = ["study", str(config), "--out", str(out), "--workers", "1"]
    # Ctrl-C in a terminal: the study starts with SIGINT's default action, whatever this
    # process has. pytest started as a background command by a shell without job control
    # (`bash -c 'python -m pytest &'`, a script's `cmd &`) ignores SIGINT from the start,
    # passes that on to its children, and Python then never raises KeyboardInterrupt.
    ignored = signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    process = subprocess.Popen(
        [sys.executable, "-m", "topokit", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 240
    while _stored_runs(out / "results.sqlite") < 1 and process.poll() is None:
        assert time.monotonic() < deadline, "no run was stored in time"
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    stored = _stored_runs(out / "results.sqlite")
    assert process.returncode == 130, (stored, ignored, stderr)
    assert 1 <= stored < 16
    assert stderr.endswith(
        f"topokit: interrupted: {stored} runs stored in '{out / 'results.sqlite'}' "
        f"({stored} ok, 0 failed); to resume: topokit {' '.join(command)}\n"
    ) or stderr.endswith(
        f"topokit: interrupted: {stored} run stored in '{out / 'results.sqlite'}' "
        f"({stored} ok, 0 failed); to resume: topokit {' '.join(command)}\n"
    ), stderr
    assert "Traceback" not in stderr
    with sqlite3.connect(out / "results.sqlite") as connection:
        (check,) = connection.execute("PRAGMA integrity_check").fetchone()
    assert check == "ok"

    # the command printed finishes the study, running only what is missing
    status = main([*command, "--json"])
    assert status == 0
    with ResultStore(out, readonly=True) as store:
        assert store.counts() == {"ok": 16, "failed": 0}


def test_ctrl_c_while_the_report_is_written_prints_the_command_that_writes_it(
    capsys, config, tmp_path, monkeypatch
):
    from topokit.analysis import analyze

    out = tmp_path / "out"
    command = ["study", str(config), "--out", str(out), "--workers", "1"]

    def interrupted(directory):
        raise KeyboardInterrupt

    monkeypatch.setattr(analyze, "write_report", interrupted)
    status, _, err = run_cli(capsys, *command, "--quiet")
    assert status == 130
    assert err == (
        f"topokit: interrupted: 2 runs stored in '{out / 'results.sqlite'}' (2 ok, 0 failed); "
        f"to resume: topokit {' '.join(command)}\n"
    )
    assert not (out / "report.md").exists()
    monkeypatch.undo()
    # the command printed runs nothing and writes the report
    status, _, err = run_cli(capsys, *command, "--quiet")
    assert status == 0, err
    assert (out / "report.md").exists()


def test_an_interrupt_ends_the_runs_in_flight_and_spares_idle_workers(config):
    """close(cancel=True), as after Ctrl-C, does not wait for a long run to finish; an
    idle worker that gets SIGINT (a terminal's Ctrl-C reaches every process) lives on."""
    long_run = load_study(TINY.replace("epochs = 2", "epochs = 100000")).runs()[0]
    backend = runner._LocalBackend(1, 1)
    assert backend.pool.submit(pow, 2, 10).result() == 1024
    (worker,) = backend.pool._processes.values()
    os.kill(worker.pid, signal.SIGINT)  # idle: ignored
    assert backend.pool.submit(pow, 2, 3).result() == 8
    future = backend.submit(long_run.to_dict(), long_run.key)
    time.sleep(2.0)  # the run is training
    start = time.monotonic()
    backend.close(cancel=True)
    assert time.monotonic() - start < 30  # 100000 epochs would take hours
    with pytest.raises(KeyboardInterrupt):
        future.result()
