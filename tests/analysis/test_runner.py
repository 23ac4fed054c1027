"""run_study on local worker processes: every run stored once, outcomes as a direct
training gives them, failures recorded, resumption, refusals, thread limits."""

import dataclasses
import json
import logging
import sqlite3
import subprocess
import sys

import numpy as np
import pytest

from topokit._errors import TopokitError
from topokit.analysis import ResultStore, load_results, load_study, runner
from topokit.analysis._execute import execute_run, init_worker
from topokit.analysis._study_checks import FamilySpec
from topokit.analysis.runner import StudySummary, run_study
from topokit.analysis.study import build_topology
from topokit.nn import SparseMLP
from topokit.nn.datasets import load_dataset

# 6 runs: 2 seeds x (erdos_renyi, small_world p=0, p=1), and 2 that fail when run: the
# projective_plane q=2 of with_an_infeasible_family (its 7 x 7 layers fit no layer here).
TINY = """
name = "tiny"
dataset = "digits"
sizes = [64, 16, 10]
dense_layers = [-1]
densities = [0.25]
seeds = [0, 1]
metrics = ["spectral_gap", "fiedler_value", "net_spectral_gap"]

[training]
epochs = 2
batch_size = 64
learning_rate = 0.01
validation_fraction = 0.2
target_accuracy = 0.3

[[families]]
name = "erdos_renyi"

[[families]]
name = "small_world"
p = [0.0, 1.0]
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


@pytest.fixture(scope="module")
def finished(study, tmp_path_factory):
    """The tiny study run once on two workers: (folder, summary)."""
    folder = tmp_path_factory.mktemp("tiny")
    return folder, run_study(study, folder, workers=2, progress=False)


def _rows(folder):
    with ResultStore(folder, readonly=True) as store:
        return {row["run_key"]: row for row in store.run_rows()}


def test_summary_counts(study, finished):
    folder, summary = finished
    assert isinstance(summary, StudySummary)
    assert (summary.n_runs, summary.n_skipped, summary.n_lost) == (8, 0, 0)
    assert (summary.n_ok, summary.n_failed) == (6, 2)
    assert summary.stored == {"ok": 6, "failed": 2}
    assert summary.workers == 2
    assert summary.run_seconds > 0
    assert json.loads(json.dumps(summary.to_dict()))["directory"] == str(folder)


def test_every_run_stored_once(study, finished):
    folder, _ = finished
    rows = _rows(folder)
    assert sorted(rows) == sorted(run.key for run in study.runs())
    with sqlite3.connect(folder / "results.sqlite") as connection:
        (count,) = connection.execute("SELECT count(*) FROM runs").fetchone()
        (check,) = connection.execute("PRAGMA integrity_check").fetchone()
    assert (count, check) == (8, "ok")


def test_failed_runs_keep_their_error(study, finished):
    folder, _ = finished
    rows = _rows(folder)
    failed = [run for run in study.runs() if run.family == "projective_plane"]
    for run in failed:
        row = rows[run.key]
        assert row["status"] == "failed"
        assert "layer 0 (64 -> 16)" in row["error"]
        assert row["test_accuracy"] is None


def test_outcomes_match_a_direct_training(study, finished):
    """The stored outcome of a run equals training it here, by hand, with its recipe."""
    folder, _ = finished
    run = next(r for r in study.runs() if r.label == "small_world(p=1.0)" and r.seed == 1)
    topology_rng, training_rng = run.rngs()
    topology = build_topology(run, rng=topology_rng)
    data = load_dataset("digits")
    model = SparseMLP(topology, "relu", learning_rate=0.01, weight_decay=1e-4, rng=training_rng)
    model.fit(
        data.X_train,
        data.y_train,
        epochs=2,
        batch_size=64,
        validation_fraction=0.2,
        target_accuracy=0.3,
    )
    row = _rows(folder)[run.key]
    assert row["status"] == "ok"
    assert row["test_accuracy"] == pytest.approx(model.score(data.X_test, data.y_test), abs=0)
    assert row["train_accuracy"] == pytest.approx(model.score(data.X_train, data.y_train), abs=0)
    assert row["final_loss"] == pytest.approx(model.history.loss[-1], rel=1e-12)
    assert row["epochs_to_target"] == model.epochs_to_target
    assert row["epochs"] == 2


def test_metrics_and_curves_recorded(study, finished):
    folder, _ = finished
    frame = load_results(folder)
    ok = frame[frame.status == "ok"]
    assert len(ok) == 6
    assert {"layer0_spectral_gap", "layer1_fiedler_value", "net_spectral_gap"} <= set(ok)
    assert ok["layer0_spectral_gap"].notna().all()
    # small_world p=0 is a banded lattice: a far smaller spectral gap than p=1 (random)
    gaps = ok.groupby("variant")["layer0_spectral_gap"].mean()
    assert gaps["small_world(p=0.0)"] < gaps["small_world(p=1.0)"]
    with ResultStore(folder, readonly=True) as store:
        curves = store.curve_rows()
    epochs_by_run = {}
    for key, epoch, loss, *_ in curves:
        epochs_by_run.setdefault(key, []).append(epoch)
        assert np.isfinite(loss)
    assert len(epochs_by_run) == 6
    assert all(epochs == [1, 2] for epochs in epochs_by_run.values())


def test_versions_and_seed_recorded(study, finished):
    folder, _ = finished
    for row in _rows(folder).values():
        assert row["versions"]["topokit"] is not None
        assert row["versions"]["numpy"] == np.__version__
        assert row["seed"] == row["config"]["seed"]


def test_rerun_skips_finished_runs(study, finished):
    folder, _ = finished
    before = {key: row["finished"] for key, row in _rows(folder).items()}
    again = run_study(study, folder, workers=2, progress=False)
    assert (again.n_skipped, again.n_ok, again.n_failed, again.workers) == (8, 0, 0, 0)
    assert {key: row["finished"] for key, row in _rows(folder).items()} == before


def test_retry_failed_runs_only_the_failed(study, tmp_path):
    runs = study.runs()
    with ResultStore(tmp_path, study) as store:
        # mark the two projective_plane runs failed and one erdos_renyi run failed
        from topokit.analysis import RunResult

        for run in runs:
            if run.family != "small_world":
                store.record(run, RunResult.failed("made up"))
            else:
                store.record(run, RunResult("ok", test_accuracy=0.5))
    summary = run_study(study, tmp_path, workers=1, progress=False, retry_failed=True)
    assert (summary.n_skipped, summary.n_ok, summary.n_failed) == (4, 2, 2)
    assert summary.stored == {"ok": 6, "failed": 2}


def test_execute_run_reports_an_infeasible_family_as_failed(study):
    run = next(r for r in study.runs() if r.family == "projective_plane")
    fields = execute_run(run.to_dict())
    assert fields["status"] == "failed"
    assert "projective_plane" in fields["error"] or "q" in fields["error"]
    assert "layer 0 (64 -> 16)" in fields["error"]
    assert fields["seconds"] >= 0
    assert fields["finished"] >= fields["started"]


def test_store_of_another_study_is_refused(study, finished, tmp_path):
    folder, _ = finished
    other = load_study(TINY.replace('name = "tiny"', 'name = "other"'))
    before = (folder / "results.sqlite").read_bytes()
    with pytest.raises(TopokitError, match="holds the results of study 'tiny'"):
        run_study(other, folder, workers=1, progress=False)
    assert (folder / "results.sqlite").read_bytes() == before


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"workers": 0}, "workers must be"),
        ({"workers": 1, "dask": "local:1"}, "give workers or dask, not both"),
        ({"dask": "local:0"}, "local:N needs a number of workers N >= 1"),
        ({"dask": "nowhere"}, "must be a scheduler address"),
    ],
    ids=["zero-workers", "workers-and-dask", "local-zero", "not-an-address"],
)
def test_bad_arguments(study, tmp_path, kwargs, match):
    pytest.importorskip("distributed") if "dask" in kwargs else None
    with pytest.raises(TopokitError, match=match):
        run_study(study, tmp_path / "out", progress=False, **kwargs)


def test_folder_that_cannot_be_created(study, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(TopokitError, match="cannot create the study folder"):
        run_study(study, blocker / "study", workers=1, progress=False)


_THREADS_PROBE = """
import numba, threadpoolctl
from topokit.analysis._execute import limit_threads
limit_threads(1)
import numpy  # BLAS loaded
pools = threadpoolctl.threadpool_info()
print(numba.get_num_threads(), max([p["num_threads"] for p in pools] or [1]))
"""


_COMPILE_AFTER_LIMIT = """
import numba
from topokit.analysis._execute import limit_threads
limit_threads(1)

@numba.njit
def plus_one(x):
    return x + 1

print(plus_one(1), numba.get_num_threads())
"""


def test_numba_compiles_after_the_limit():
    """numba imported first (as in a pool's server), then limited, then a new kernel
    compiled: numba must not see NUMBA_NUM_THREADS change under its running threads."""
    result = subprocess.run(
        [sys.executable, "-c", _COMPILE_AFTER_LIMIT], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["2", "1"]


def test_limit_threads_caps_numba_and_blas():
    out = subprocess.run(
        [sys.executable, "-c", _THREADS_PROBE], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["1", "1"]


@pytest.fixture
def topokit_logger():
    """The "topokit" logger, its level and handlers restored after the test."""
    logger = logging.getLogger("topokit")
    level, handlers = logger.level, list(logger.handlers)
    yield logger
    logger.handlers[:] = handlers
    logger.setLevel(level)


def test_a_worker_shows_the_compile_notice_when_the_driver_shows_notices(capsys, topokit_logger):
    # the kernels' one-time compilation happens in the workers: with notices (the command
    # line without --quiet) a worker's "topokit.nn" INFO record reaches its stderr
    init_worker(None, notices=True)
    logging.getLogger("topokit.nn").info("compiling the training kernels")
    assert capsys.readouterr().err == "topokit: compiling the training kernels\n"


def test_a_worker_stays_quiet_without_notices(capsys, topokit_logger):
    topokit_logger.setLevel(logging.WARNING)
    init_worker(None, notices=False)
    logging.getLogger("topokit.nn").info("compiling the training kernels")
    assert capsys.readouterr().err == ""


def test_the_driver_passes_on_whether_it_shows_notices(topokit_logger):
    topokit_logger.setLevel(logging.WARNING)
    assert not runner._driver_shows_notices()
    topokit_logger.addHandler(logging.StreamHandler(sys.stderr))
    topokit_logger.setLevel(logging.INFO)
    assert runner._driver_shows_notices()
