"""Data-aware metrics in a study: computed from the training variances of the study's
dataset, stored with the network metrics, selectable, and carried to frames, exports,
statistics tables and the report."""

import numpy as np
import pandas as pd
import pytest

from topokit._errors import TopokitError
from topokit.analysis import (
    analyze_study,
    build_topology,
    export_results,
    load_results,
    load_study,
    run_study,
)
from topokit.analysis._execute import execute_run
from topokit.analysis.statistics import metric_columns
from topokit.graph import LayerGraph
from topokit.metrics import INPUT_METRICS, input_metrics
from topokit.nn.datasets import load_dataset

# 6 runs on digits; at density 0.05 an input of the 64 x 16 first layer has no edge with
# probability 0.95^16 = 44 %, so the coverage differs between runs
TINY = """
name = "tiny-inputs"
dataset = "digits"
sizes = [64, 16, 10]
densities = [0.05, 0.2]
seeds = [0, 1, 2]

[training]
epochs = 1
batch_size = 128

[[families]]
name = "erdos_renyi"
"""


def reference(topology):
    """The DESIGN.md definitions with numpy alone, from the digits training split."""
    X = load_dataset("digits").X_train.astype(np.float64)
    variances = ((X - X.mean(axis=0)) ** 2).mean(axis=0)
    fan_out = topology.layers[0].biadjacency.toarray().sum(axis=1)
    coverage = variances[fan_out > 0].sum() / variances.sum()
    ranks = [pd.Series(values).rank().to_numpy() for values in (fan_out, variances)]
    correlation = np.corrcoef(*ranks)[0, 1]
    return {"input_coverage": coverage, "input_variance_fan_out": correlation}


@pytest.fixture(scope="module")
def study():
    return load_study(TINY)


@pytest.fixture(scope="module")
def folder(study, tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-inputs")
    summary = run_study(study, folder, workers=1, progress=False)
    assert summary.n_ok == 6
    return folder


def test_stored_values_match_a_reference(study, folder):
    frame = load_results(folder).set_index("run_key")
    for run in study.runs():
        topology = build_topology(run, rng=run.rngs()[0])
        expected = reference(topology)
        for key in INPUT_METRICS:
            assert frame.loc[run.key, key] == pytest.approx(expected[key], rel=1e-10), key


def test_coverage_varies_between_runs(folder):
    frame = load_results(folder)
    assert frame["input_coverage"].between(0, 1).all()
    assert frame["input_coverage"].nunique() > 1


def test_blank_digits_pixels_cost_nothing():
    # digits' constant pixels (the corners never vary): a layer that leaves exactly
    # them unconnected keeps the whole variance
    variances = load_dataset("digits").feature_variances
    informative = variances > 0
    assert 0 < (~informative).sum() < 64
    layer = LayerGraph(np.outer(informative, np.ones(4)))
    assert input_metrics(layer, variances)["input_coverage"] == 1.0
    assert input_metrics(LayerGraph(np.ones((64, 4))), variances)["input_coverage"] == 1.0


def test_columns_follow_the_network_metrics(folder):
    columns = list(load_results(folder).columns)
    assert columns.index("input_coverage") > columns.index("net_density")
    assert columns.index("input_variance_fan_out") == columns.index("input_coverage") + 1


def test_export_holds_them(folder):
    exported = pd.read_csv(export_results(folder))
    frame = load_results(folder)
    for key in INPUT_METRICS:
        np.testing.assert_allclose(exported[key], frame[key], rtol=1e-12)


def test_statistics_and_report_include_them(folder):
    assert set(INPUT_METRICS) <= set(metric_columns(load_results(folder)))
    analysis = analyze_study(folder, figures=False)
    assert set(INPUT_METRICS) <= set(analysis.correlations["metric"])
    report = (folder / "report.md").read_text(encoding="utf-8")
    assert "input_coverage" in report


def test_selected_alone(study):
    run = study.runs()[0]
    config = {**run.to_dict(), "metrics": ["input_coverage", "net_density"]}
    fields = execute_run(config)
    assert fields["status"] == "ok", fields.get("error")
    assert set(fields["network_metrics"]) == {"input_coverage", "net_density"}
    expected = reference(build_topology(run, rng=run.rngs()[0]))["input_coverage"]
    assert fields["network_metrics"]["input_coverage"] == pytest.approx(expected, rel=1e-10)


def test_deselected(study):
    config = {**study.runs()[0].to_dict(), "metrics": ["net_density"]}
    fields = execute_run(config)
    assert fields["status"] == "ok", fields.get("error")
    assert set(fields["network_metrics"]) == {"net_density"}


def test_study_file_selects_them():
    study = load_study(TINY.replace("[training]", 'metrics = ["input_coverage"]\n[training]'))
    assert set(study.runs()[0].network_metric_keys) == {"input_coverage", "net_density"}


def test_unknown_key_lists_them():
    with pytest.raises(TopokitError, match=r"valid network keys: .*input_coverage"):
        load_study(TINY.replace("[training]", 'metrics = ["input_coverag"]\n[training]'))
