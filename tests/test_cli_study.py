"""``topokit study`` and ``topokit export``: outputs, --json, and one-line errors with exit 1
that leave what is stored intact."""

import json
import resource
import signal
import sqlite3
import subprocess
import sys

import pandas as pd
import pytest

from topokit.analysis import ResultStore, RunResult, load_study
from topokit.cli import _study, build_parser, main

TINY = """
name = "cli-tiny"
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


def run_cli(capsys, *argv):
    status = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_one_line_error(status, err, *fragments):
    assert status == 1
    assert err.startswith("topokit: error: "), err
    assert err.count("\n") == 1, err
    for fragment in fragments:
        assert fragment in err, err


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """The tiny study, run once through the CLI with --json: (folder, summary)."""
    folder = tmp_path_factory.mktemp("cli")
    path = folder / "tiny.toml"
    path.write_text(TINY)
    status = main(["study", str(path), "--out", str(folder / "out"), "--workers", "1", "--json"])
    assert status == 0
    return folder / "out"


# ------------------------------------------------------------------ presets, defaults
def test_list_presets(capsys):
    status, out, err = run_cli(capsys, "study", "--list-presets")
    assert (status, err) == (0, "")
    names = [line.split()[0] for line in out.splitlines()]
    assert names == ["default", "learned", "mnist"]
    assert "digits" in out.splitlines()[0]


def test_list_presets_json(capsys):
    status, out, _ = run_cli(capsys, "study", "--list-presets", "--json")
    presets = json.loads(out)
    assert status == 0
    assert [p["name"] for p in presets] == ["default", "learned", "mnist"]
    assert presets[0]["runs"] == len(load_study_preset("default").runs())


def load_study_preset(name):
    from topokit.analysis import load_preset

    return load_preset(name)


def test_no_arguments_mean_the_default_preset_into_topokit_study():
    args = build_parser().parse_args(["study"])
    assert args.out == "topokit-study"
    assert (args.workers, args.dask, args.retry_failed) == (None, None, False)
    assert _study._load(args).key == load_study_preset("default").key


# ------------------------------------------------------------------ running
def test_json_summary(capsys, finished):
    status, out, _ = run_cli(
        capsys, "study", finished.parent / "tiny.toml", "--out", finished, "--json"
    )
    summary = json.loads(out)
    assert status == 0
    assert summary["directory"] == str(finished)
    assert (summary["n_runs"], summary["n_skipped"], summary["n_ok"]) == (2, 2, 0)
    assert summary["stored"] == {"ok": 2, "failed": 0}
    assert set(summary) >= {"seconds", "report", "workers", "backend"}


def test_text_summary(capsys, finished):
    status, out, _ = run_cli(capsys, "study", finished.parent / "tiny.toml", "--out", finished)
    assert status == 0
    assert "study 'cli-tiny': 2 of 2 runs ok, 0 failed (nothing left to run)" in out
    assert f"results: {finished / 'results.sqlite'}" in out


def test_writes_the_report(capsys, finished):
    report = finished / "report.md"
    assert report.is_file()
    assert "cli-tiny" in report.read_text()
    status, out, err = run_cli(
        capsys, "study", finished.parent / "tiny.toml", "--out", finished, "--json"
    )
    assert (status, err) == (0, "")
    assert json.loads(out)["report"] == str(report)
    status, out, _ = run_cli(capsys, "study", finished.parent / "tiny.toml", "--out", finished)
    assert status == 0
    assert f"report: {report}" in out.splitlines()
    assert "note:" not in out


def test_export_csv(capsys, finished, tmp_path):
    status, out, err = run_cli(capsys, "export", finished, "--output", tmp_path / "t.csv")
    assert (status, err) == (0, "")
    assert out.strip() == str(tmp_path / "t.csv")
    table = pd.read_csv(out.strip())
    assert len(table) == 2
    assert (table.status == "ok").all()
    assert "layer0_spectral_gap" in table


def test_export_default_path(capsys, finished):
    status, out, _ = run_cli(capsys, "export", finished)
    assert status == 0
    assert out.strip() == str(finished / "results.csv")


def test_export_missing_folder(capsys, tmp_path):
    status, _, err = run_cli(capsys, "export", tmp_path / "nowhere")
    assert_one_line_error(status, err, "does not exist")


def test_export_bad_format(capsys, finished):
    status, _, err = run_cli(capsys, "export", finished, "--format", "xlsx")
    assert_one_line_error(status, err, "invalid choice: 'xlsx'")


# ------------------------------------------------------------------ errors
def test_invalid_toml_syntax(capsys, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("name = \n")
    status, _, err = run_cli(capsys, "study", path, "--out", tmp_path / "out")
    assert_one_line_error(status, err, "is not valid TOML")
    assert not (tmp_path / "out").exists()


def test_invalid_study_lists_every_problem(capsys, tmp_path):
    path = tmp_path / "bad.toml"
    text = TINY.replace('"erdos_renyi"', '"erdos_renyy"').replace('"spectral_gap",', '"gap",')
    path.write_text(text)
    status, _, err = run_cli(capsys, "study", path, "--out", tmp_path / "out")
    # one problem per line, after the error's head
    head, *problems = err.splitlines()
    assert status == 1
    assert head == f"topokit: error: invalid study 'cli-tiny' ({path}): 2 problems:"
    assert problems[0].startswith("  families[0]: unknown family 'erdos_renyy'")
    assert problems[1].startswith("  metrics: unknown keys 'gap'")
    assert len(problems) == 2
    assert not (tmp_path / "out").exists()


def test_missing_study_file(capsys, tmp_path):
    status, _, err = run_cli(capsys, "study", tmp_path / "none.toml")
    assert_one_line_error(status, err, "does not exist")


def test_unknown_preset(capsys, tmp_path):
    status, _, err = run_cli(capsys, "study", "--preset", "huge", "--out", tmp_path)
    assert_one_line_error(status, err, "unknown preset 'huge'", "default, learned, mnist")


def test_file_and_preset(capsys, config, tmp_path):
    status, _, err = run_cli(capsys, "study", config, "--preset", "default")
    assert_one_line_error(status, err, "not both")


def test_workers_and_dask(capsys, config):
    status, _, err = run_cli(capsys, "study", config, "--workers", "2", "--dask", "local:2")
    assert_one_line_error(status, err, "not allowed with argument")


def test_unreachable_dask_scheduler(capsys, config, tmp_path):
    pytest.importorskip("distributed")
    address = "tcp://127.0.0.1:9"  # discard port: nothing listens
    status, _, err = run_cli(capsys, "study", config, "--out", tmp_path / "o", "--dask", address)
    assert_one_line_error(status, err, f"cannot reach the Dask scheduler at '{address}'")
    assert not (tmp_path / "o").exists()  # checked before anything is written


def test_negative_retries(capsys, config, tmp_path):
    status, _, err = run_cli(capsys, "study", config, "--out", tmp_path / "o", "--retries", "-1")
    assert_one_line_error(status, err, "retries must be >= 0, got -1")
    assert not (tmp_path / "o").exists()


def test_store_of_another_study(capsys, finished, tmp_path):
    path = tmp_path / "other.toml"
    path.write_text(TINY.replace('name = "cli-tiny"', 'name = "other"'))
    before = (finished / "results.sqlite").read_bytes()
    status, _, err = run_cli(capsys, "study", path, "--out", finished)
    assert_one_line_error(
        status,
        err,
        "holds the results of study 'cli-tiny'",
        "differ in name ('cli-tiny' in the store, 'other' in the file)",
    )
    assert (finished / "results.sqlite").read_bytes() == before


def test_output_folder_cannot_be_created(capsys, config, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    status, _, err = run_cli(capsys, "study", config, "--out", blocker / "out")
    assert_one_line_error(status, err, "cannot create the study folder")


def test_read_only_output_folder(capsys, config):
    # /proc refuses new folders, even to root (for whom chmod would not)
    status, _, err = run_cli(capsys, "study", config, "--out", "/proc/topokit-study")
    assert_one_line_error(status, err, "cannot create the study folder")


def _limit_file_size(limit):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_full_disk_leaves_the_stored_runs_intact(config, tmp_path):
    """A disk that fills up (simulated by a file-size limit): exit 1, one line, the runs
    stored before untouched."""
    # First the same study elsewhere, one seed, without the limit: numba's on-disk cache
    # then holds every kernel the study runs. A kernel compiled under the limit could not
    # be cached, and says so on stderr (numba's notices, not topokit's one line), which a
    # fresh checkout whose earlier tests left a kernel uncompiled would hit.
    config.write_text(TINY.replace("seeds = [0, 1]", "seeds = [0]"))
    warm = [sys.executable, "-m", "topokit", "study", str(config), "--out", str(tmp_path / "warm")]
    subprocess.run(warm, capture_output=True, timeout=300, check=True)
    config.write_text(TINY.replace("seeds = [0, 1]", "seeds = [0, 1, 2, 3, 4, 5, 6, 7]"))
    study = load_study(config)
    first = study.runs()[0]
    out = tmp_path / "out"
    with ResultStore(out, study) as store:
        store.record(first, RunResult("ok", test_accuracy=0.75))
    result = subprocess.run(
        [sys.executable, "-m", "topokit", "study", str(config), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        # the store is 40 KiB and its index 32 KiB: the log of new runs soon passes 48 KiB
        preexec_fn=_limit_file_size(48 * 1024),
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.startswith("topokit: error: cannot write to the result store")
    assert result.stderr.count("\n") == 1, result.stderr
    assert "the runs already stored are intact" in result.stderr
    with sqlite3.connect(out / "results.sqlite") as connection:
        rows = dict(connection.execute("SELECT run_key, test_accuracy FROM runs").fetchall())
        with_curves = connection.execute("SELECT DISTINCT run_key FROM curves").fetchall()
        (check,) = connection.execute("PRAGMA integrity_check").fetchone()
    assert check == "ok"
    assert rows[first.key] == 0.75  # the run stored before, untouched
    assert len(rows) < len(study.runs())  # the disk filled up mid-study
    # the runs stored by the failed call are whole: each has its learning curve
    assert {key for (key,) in with_curves} == set(rows) - {first.key}

    # with room again, the same command finishes the study
    status = main(["study", str(config), "--out", str(out), "--quiet"])
    assert status == 0
    with ResultStore(out, readonly=True) as store:
        assert store.counts() == {"ok": len(study.runs()), "failed": 0}
