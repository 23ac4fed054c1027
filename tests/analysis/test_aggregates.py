"""The min_/mean_ aggregates of a real study with a dense output layer: the same numbers in
the store, load_results, the export and the scatter figure's axis, over the sparse layers."""

import numpy as np
import pandas as pd
import pytest

from topokit.analysis import plots
from topokit.analysis.analyze import analyze_study
from topokit.analysis.results import export_results, load_results, open_store
from topokit.analysis.runner import run_study
from topokit.analysis.study import build_topology, load_study
from topokit.metrics import layer_metrics

STUDY = """
name = "aggregates"
sizes = [64, 12, 10]
dense_layers = [-1]
densities = [0.2, 0.4]
seeds = [0, 1]
[training]
epochs = 1
[[families]]
name = "erdos_renyi"
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("aggregates")
    run_study(load_study(STUDY), folder, workers=1, progress=False)
    return folder


def test_store_tables_export_agree_and_leave_the_dense_layer_out(folder):
    with open_store(folder) as store:
        stored = {
            (key, name): value
            for key, name, value in store.network_metric_rows()
            if name == "mean_spectral_gap"
        }
    frame = load_results(folder).set_index("run_key")
    exported = pd.read_csv(export_results(folder)).set_index("run_key")
    study = load_study(STUDY)
    assert len(stored) == len(study.runs()) == len(frame)
    for run in study.runs():
        topology = build_topology(run, rng=run.rngs()[0])
        sparse_gap = layer_metrics(topology[0], keys=["spectral_gap"])["spectral_gap"]
        assert stored[(run.key, "mean_spectral_gap")] == pytest.approx(sparse_gap, rel=1e-12)
        assert frame.loc[run.key, "mean_spectral_gap"] == stored[(run.key, "mean_spectral_gap")]
        assert frame.loc[run.key, "layer0_spectral_gap"] == pytest.approx(sparse_gap, rel=1e-12)
        assert exported.loc[run.key, "mean_spectral_gap"] == pytest.approx(
            frame.loc[run.key, "mean_spectral_gap"], rel=1e-15
        )


def test_figure_axis_is_the_tables_column(folder, monkeypatch):
    drawn = {}
    original = plots.scatter_figure

    def spy(frame, x, *args, **kwargs):
        drawn[x] = frame.set_index("run_key")[x]
        return original(frame, x, *args, **kwargs)

    monkeypatch.setattr(plots, "scatter_figure", spy)
    analysis = analyze_study(folder)
    frame = load_results(folder).set_index("run_key")
    axis = drawn["mean_spectral_gap"]
    np.testing.assert_array_equal(axis.to_numpy(), frame.loc[axis.index, "mean_spectral_gap"])
    row = analysis.correlations.query("metric == 'mean_spectral_gap'").iloc[0]
    assert row["n"] == len(axis)
