"""Tidy frames from a store: load_results, load_layer_metrics, load_curves, export."""

import builtins
import math

import numpy as np
import pandas as pd
import pytest

from topokit._errors import TopokitError
from topokit.analysis.results import (
    export_results,
    load_curves,
    load_layer_metrics,
    load_results,
    open_store,
)
from topokit.analysis.store import ResultStore, RunResult
from topokit.analysis.study import build_topology, load_study

STUDY = """
name = "results-test"
sizes = [64, 8, 10]
densities = [0.25, 0.5]
seeds = [0, 1]
dense_layers = [-1]
[[families]]
name = "small_world"
p = [0.0, 1.0]
[[families]]
name = "dense"
"""


def _layer_values(run, layer):
    # Deterministic, distinct per run and layer, so aggregation can be checked.
    gap = 1.0 + run.seed + 10 * layer + (run.density or 1.0)
    return {"spectral_gap": gap, "n_edges": 8 * (layer + 1) + run.seed, "is_biregular": layer == 1}


@pytest.fixture
def study():
    return load_study(STUDY)


@pytest.fixture
def folder(tmp_path, study):
    with ResultStore(tmp_path, study) as store:
        for index, run in enumerate(study.runs()):
            if index == 1:
                store.record(run, RunResult.failed("layer 0 (64 -> 8): cannot build"))
                continue
            store.record(
                run,
                RunResult(
                    "ok",
                    seconds=1.0 + index,
                    test_accuracy=0.5 + index / 100,
                    train_accuracy=0.9,
                    final_loss=0.2,
                    epochs_to_target=None if index == 2 else 3,
                    epochs=5,
                    layer_metrics=[_layer_values(run, 0), _layer_values(run, 1)],
                    network_metrics={"net_density": 0.1 * (index + 1), "net_lambda1": 2.0},
                    curve=[{"epoch": e, "loss": 1.0 / e, "val_accuracy": 0.1 * e} for e in (1, 2)],
                ),
            )
    return tmp_path


def test_one_row_per_run(folder, study):
    frame = load_results(folder)
    assert len(frame) == len(study.runs())
    assert sorted(frame["run_key"]) == sorted(run.key for run in study.runs())


def test_column_order(folder):
    frame = load_results(folder)
    head = ["run_key", "status", "error", "family", "variant", "param_p", "density", "degree"]
    head += ["seed", "sizes", "dataset", "dynamic", "test_accuracy", "train_accuracy"]
    head += ["final_loss"]
    head += ["epochs_to_target", "epochs", "seconds", "started", "finished"]
    head += ["net_density", "net_lambda1"]
    assert list(frame.columns[: len(head)]) == head
    keys = ["n_edges", "spectral_gap", "is_biregular"]  # in the order of DESIGN.md's table
    aggregates = [f"{stat}_{key}" for key in keys for stat in ("min", "mean")]  # as stored
    layers = [f"layer{k}_{key}" for k in (0, 1) for key in keys]
    assert list(frame.columns[len(head) :]) == aggregates + layers


def test_configuration_columns(folder, study):
    frame = load_results(folder).set_index("run_key")
    for run in study.runs():
        row = frame.loc[run.key]
        assert row["family"] == run.family
        assert row["variant"] == run.label
        assert row["seed"] == run.seed
        assert row["sizes"] == "64-8-10"
        assert row["dataset"] == "digits"
        if run.family == "dense":
            assert math.isnan(row["density"])
            assert math.isnan(row["param_p"])
        else:
            assert row["density"] == run.density
            assert row["param_p"] == run.params["p"]
            assert row["variant"] == f"small_world(p={run.params['p']})"


def test_failed_run_row(folder, study):
    frame = load_results(folder).set_index("run_key")
    row = frame.loc[study.runs()[1].key]
    assert row["status"] == "failed"
    assert row["error"] == "layer 0 (64 -> 8): cannot build"
    assert math.isnan(row["test_accuracy"])
    assert math.isnan(row["layer0_spectral_gap"])


def test_outcome_types(folder):
    frame = load_results(folder)
    for name in ("test_accuracy", "epochs_to_target", "seconds", "density", "degree"):
        assert frame[name].dtype == np.float64, name
    assert frame["epochs_to_target"].isna().sum() == 2  # the failed run and index 2


def test_layer_columns_and_aggregates(folder, study):
    frame = load_results(folder).set_index("run_key")
    for index, run in enumerate(study.runs()):
        if index == 1:
            continue
        row = frame.loc[run.key]
        layers = [_layer_values(run, 0), _layer_values(run, 1)]
        for k, values in enumerate(layers):
            for key, value in values.items():
                assert row[f"layer{k}_{key}"] == float(value)
        if run.family == "dense":  # no sparse layer: no aggregate
            assert math.isnan(row["min_spectral_gap"])
            assert math.isnan(row["mean_is_biregular"])
        else:  # dense_layers = [-1]: the aggregates are layer 0's alone
            assert row["min_spectral_gap"] == layers[0]["spectral_gap"]
            assert row["mean_spectral_gap"] == layers[0]["spectral_gap"]
            assert row["mean_is_biregular"] == 0.0
        assert row["net_density"] == pytest.approx(0.1 * (index + 1), rel=1e-15)


def test_aggregates_recomputed_from_stored_layers(tmp_path):
    # a store written when the aggregates took every layer: its stored mean_lambda2 (7.0,
    # over both layers) is replaced by the mean over the sparse layer, as a run stores now
    study = load_study(
        "sizes = [64, 8, 10]\ndensities = [0.25]\nseeds = [0]\ndense_layers = [-1]\n"
        '[[families]]\nname = "erdos_renyi"'
    )
    with ResultStore(tmp_path, study) as store:
        store.record(
            study.runs()[0],
            RunResult(
                "ok",
                layer_metrics=[{"lambda2": 1.0}, {"lambda2": 13.0}],
                network_metrics={"mean_lambda2": 7.0, "min_n_edges": 5.0},
            ),
        )
    row = load_results(tmp_path).iloc[0]
    assert row["mean_lambda2"] == 1.0
    assert row["min_lambda2"] == 1.0
    assert row["min_n_edges"] == 5.0  # no per-layer n_edges stored: the stored value stands


def test_dense_layer_found_from_stored_sizes(tmp_path, study):
    # a layer is dense when complete (n_edges = n_in * n_out), whatever its family
    run = study.runs()[0]
    first = {"n_in": 64.0, "n_out": 8.0, "n_edges": 512.0, "lambda2": 2.0}
    second = {"n_in": 8.0, "n_out": 10.0, "n_edges": 20.0, "lambda2": 4.0}
    with ResultStore(tmp_path, study) as store:
        store.record(run, RunResult("ok", layer_metrics=[first, second]))
    row = load_results(tmp_path).iloc[0]
    assert row["mean_lambda2"] == 4.0  # layer 0 is complete, layer 1 is not


def test_empty_store(tmp_path, study):
    ResultStore(tmp_path, study).close()
    frame = load_results(tmp_path)
    assert frame.empty
    for name in ("run_key", "status", "family", "density", "seed", "test_accuracy"):
        assert name in frame.columns


def test_load_layer_metrics(folder, study):
    frame = load_layer_metrics(folder)
    ok_runs = [run for index, run in enumerate(study.runs()) if index != 1]
    assert len(frame) == 2 * len(ok_runs)
    head = ["run_key", "family", "variant", "density", "degree", "seed", "sizes", "layer"]
    assert list(frame.columns[: len(head) + 1]) == [*head, "layer_family"]
    run = ok_runs[0]
    rows = frame[frame["run_key"] == run.key].set_index("layer")
    assert rows.loc[0, "layer_family"] == run.family
    assert rows.loc[1, "layer_family"] == "dense"
    assert rows.loc[1, "spectral_gap"] == _layer_values(run, 1)["spectral_gap"]


def test_load_curves(folder, study):
    curves = load_curves(folder)
    assert len(curves) == 2 * (len(study.runs()) - 1)
    first = curves[curves["run_key"] == study.runs()[0].key]
    assert first["epoch"].tolist() == [1, 2]
    assert first["loss"].tolist() == [1.0, 0.5]
    assert first["val_accuracy"].tolist() == [0.1, 0.2]
    assert first["train_accuracy"].isna().all()
    assert first["family"].iloc[0] == "small_world"


def test_export_csv_round_trip(folder):
    path = export_results(folder, format="csv")
    assert path == folder / "results.csv"
    again = pd.read_csv(path)
    frame = load_results(folder)
    assert list(again.columns) == list(frame.columns)
    pd.testing.assert_series_equal(again["test_accuracy"], frame["test_accuracy"])
    pd.testing.assert_series_equal(again["layer1_spectral_gap"], frame["layer1_spectral_gap"])


def test_export_parquet_round_trip(folder, tmp_path):
    pytest.importorskip("pyarrow")
    path = export_results(folder, tmp_path / "out.parquet", format="parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(path), load_results(folder))


def test_export_parquet_without_pyarrow(folder, monkeypatch):
    real_import = builtins.__import__

    def no_pyarrow(name, *args, **kwargs):
        if name == "pyarrow":
            raise ImportError("no pyarrow here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    with pytest.raises(TopokitError, match="format='parquet' needs pyarrow"):
        export_results(folder, format="parquet")


def test_export_bad_format(folder):
    with pytest.raises(TopokitError, match="format must be one of csv, parquet, json, got 'xlsx'"):
        export_results(folder, format="xlsx")


def test_export_unwritable_path(folder):
    with pytest.raises(TopokitError, match="cannot write"):
        export_results(folder, folder / "missing" / "out.csv")


def test_store_file_path_is_accepted(folder):
    frame = load_results(folder / "results.sqlite")
    pd.testing.assert_frame_equal(frame, load_results(folder))


def test_missing_folder(tmp_path):
    with pytest.raises(TopokitError, match="does not exist"):
        load_results(tmp_path / "nothing")


@pytest.mark.parametrize("name", ["folder", "store-file"])
def test_open_store_is_read_only(folder, study, name):
    path = folder if name == "folder" else folder / "results.sqlite"
    with open_store(path) as store:
        assert store.readonly
        assert store.study_info()["name"] == study.name
        statuses = sorted(row["status"] for row in store.run_rows())
    assert statuses == ["failed"] + ["ok"] * (len(study.runs()) - 1)


def test_open_store_errors(tmp_path):
    with pytest.raises(TopokitError, match=r"study folder '.*missing' does not exist"):
        open_store(tmp_path / "missing")
    with pytest.raises(TopokitError, match="no result store at"):
        open_store(tmp_path)


def test_real_topology_metrics_round_trip(tmp_path, study):
    # With the real metrics module: what it returns is what load_results shows.
    from topokit.metrics import NETWORK_METRICS, layer_metrics, network_metrics

    run = study.runs()[0]
    topology = build_topology(run)
    per_layer = [layer_metrics(layer) for layer in topology]
    network = network_metrics(topology)
    with ResultStore(tmp_path, study) as store:
        store.record(run, RunResult("ok", layer_metrics=per_layer, network_metrics=network))
    row = load_results(tmp_path).iloc[0]
    for k, values in enumerate(per_layer):
        for key, value in values.items():
            assert row[f"layer{k}_{key}"] == pytest.approx(float(value), rel=1e-15, nan_ok=True)
    for key, value in network.items():
        assert row[key] == pytest.approx(float(value), rel=1e-15, nan_ok=True)
    metric_columns = [c for c in row.index if c.startswith(("net_", "min_", "mean_"))]
    assert metric_columns == list(NETWORK_METRICS)
