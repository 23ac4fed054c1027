"""Metrics counted once: groups found from the data (metric_groups), one ranking row and one
Holm hypothesis per group, the report's lines for them, and [training] keys as controls."""

import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from topokit.analysis import _findings
from topokit.analysis.analyze import analyze_study
from topokit.analysis.statistics import (
    correlation_table,
    cross_validation_table,
    default_controls,
    metric_groups,
    rank_metrics,
)
from topokit.analysis.store import ResultStore, RunResult
from topokit.analysis.study import load_study


def _frame(n_per_level=10, seed=0):
    rng = np.random.default_rng(seed)
    density = np.repeat([0.1, 0.2, 0.4], n_per_level)
    n = density.size
    fiedler = rng.uniform(0.5, 2.0, size=n)
    gap = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "status": "ok",
            "net_density": density,
            "mean_fiedler_value": fiedler,
            "mean_edge_expansion_lower": fiedler / 2,  # exact function of the Fiedler value
            "min_spectral_gap": gap,
            "mean_spectral_gap": gap,  # one sparse layer: min = mean
            "net_spectral_gap": 3.0 * gap - 7.0,
            "mean_n_in": np.full(n, 64.0),
            "min_n_in": np.full(n, 64.0),
            "mean_n_edges": 640.0 * density,  # fixed by the controls
            "net_lambda2": rng.normal(size=n),
        }
    )
    frame["test_accuracy"] = 0.8 + 0.2 * density + 0.02 * gap + 0.01 * rng.normal(size=n)
    return frame


def _groups(frame, **kwargs):
    table = metric_groups(frame, **kwargs)
    return {group.members: group.kind for group in table.itertuples()}


def test_groups_found_from_the_data():
    table = metric_groups(_frame())
    assert table["metric"].tolist() == [
        "mean_fiedler_value",
        "mean_spectral_gap",  # a group's mean_ metric stands for it
        "net_lambda2",
        "mean_n_in",
        "mean_n_edges",
    ]
    assert _groups(_frame()) == {
        ("mean_fiedler_value", "mean_edge_expansion_lower"): "distinct",
        ("min_spectral_gap", "mean_spectral_gap", "net_spectral_gap"): "distinct",
        ("net_lambda2",): "distinct",
        ("mean_n_in", "min_n_in"): "constant",
        ("mean_n_edges",): "controls",
    }


def test_nearly_affine_is_not_grouped():
    frame = _frame()
    noise = np.random.default_rng(9).normal(size=len(frame))
    frame["mean_edge_expansion_lower"] += 1e-6 * noise  # relative 1e-6: not the same metric
    groups = _groups(frame)
    assert groups[("mean_fiedler_value",)] == "distinct"
    assert groups[("mean_edge_expansion_lower",)] == "distinct"


def test_other_missing_runs_are_not_grouped():
    frame = _frame()
    frame.loc[3, "mean_spectral_gap"] = np.nan  # not defined on the same runs
    groups = _groups(frame)
    assert ("min_spectral_gap", "net_spectral_gap") in groups
    assert ("mean_spectral_gap",) in groups


def test_linear_control_determines_a_linear_metric():
    frame = _frame()
    groups = _groups(frame, encoding="linear")
    assert groups[("mean_n_edges",)] == "controls"


def test_failed_runs_do_not_count():
    frame = _frame()
    frame.loc[0, "status"] = "failed"
    frame.loc[0, "mean_edge_expansion_lower"] = 123.0  # a failed run's value breaks nothing
    assert ("mean_fiedler_value", "mean_edge_expansion_lower") in _groups(frame)


def test_ranking_has_one_row_per_group_and_holm_counts_groups():
    frame = _frame()
    ranking = _findings.verdicts(rank_metrics(frame))
    assert len(ranking) == 5
    by_name = ranking.set_index("metric")
    assert by_name.loc["mean_spectral_gap", "members"] == (
        "min_spectral_gap, mean_spectral_gap, net_spectral_gap"
    )
    assert by_name.loc["mean_n_in", "kind"] == "constant"
    assert by_name.loc["mean_n_in", "members"] == "mean_n_in, min_n_in"
    assert by_name.loc["mean_n_in", "note"] == "constant across the runs"
    assert by_name.loc["mean_n_edges", "note"] == "determined by the controls"
    assert math.isnan(by_name.loc["mean_n_edges", "partial_r"])
    # Holm over the three distinct groups, by hand from the ungrouped partial p-values
    single = rank_metrics(frame, grouped=False).set_index("metric")
    tested = ["mean_fiedler_value", "mean_spectral_gap", "net_lambda2"]
    expected = multipletests(single.loc[tested, "partial_p"].to_numpy(), method="holm")[1]
    for name, p_holm in zip(tested, expected, strict=True):
        assert by_name.loc[name, "p_holm"] == pytest.approx(p_holm, rel=1e-12)
    assert by_name["p_holm"].notna().sum() == 3
    assert len(single) == 9  # ungrouped: one row per metric


def test_cross_validated_r2_absent_beside_too_few_runs():
    frame = _frame(n_per_level=2)
    table = cross_validation_table(frame, ["net_lambda2"])
    row = table.iloc[0]
    assert "too few runs for cross-validation" in row["note"]
    for name in ("r2_metric", "r2_density", "r2_metric_density", "delta_r2"):
        assert math.isnan(row[name]), name


# ------------------------------------------------------------------ [training] keys as controls


def _swept(seed=1):
    rng = np.random.default_rng(seed)
    rows = []
    for density in (0.1, 0.3):
        for learning_rate in (0.01, 0.1):
            for optimizer in ("adam", "sgd"):
                for _ in range(6):
                    rows.append((density, learning_rate, optimizer))
    frame = pd.DataFrame(rows, columns=["net_density", "learning_rate", "optimizer"])
    n = len(frame)
    frame["status"] = "ok"
    frame["batch_size"] = 64  # does not vary: no control
    frame["epochs"] = rng.integers(3, 6, size=n)  # the outcome "epochs run", never a control
    # the metric tracks the learning rate, as would a metric of a learned topology
    frame["net_spectral_gap"] = 5 * frame["learning_rate"] + rng.normal(size=n)
    frame["test_accuracy"] = (
        0.7
        + 0.3 * frame["net_density"]
        + 2.0 * frame["learning_rate"]
        + 0.05 * (frame["optimizer"] == "sgd")
        + 0.01 * frame["net_spectral_gap"]
        + 0.01 * rng.normal(size=n)
    )
    return frame


def test_default_controls_include_varying_training_keys():
    # in the order of TRAINING_DEFAULTS; batch_size does not vary, epochs is an outcome
    assert default_controls(_swept()) == ["net_density", "optimizer", "learning_rate"]


def test_partial_correlation_controls_for_a_swept_key_by_hand():
    frame = _swept()
    row = correlation_table(frame, ["net_spectral_gap"]).iloc[0]
    controls = "net_density (2 levels), optimizer (2 levels), learning_rate (2 levels)"
    assert row["controls"] == controls
    design = np.column_stack(
        [
            np.ones(len(frame)),
            frame["net_density"] == 0.3,
            frame["learning_rate"] == 0.1,
            frame["optimizer"] == "sgd",
        ]
    ).astype(float)

    def residual(values):
        coefficients, *_ = np.linalg.lstsq(design, values, rcond=None)
        return values - design @ coefficients

    x = residual(frame["net_spectral_gap"].to_numpy(float))
    y = residual(frame["test_accuracy"].to_numpy(float))
    assert row["partial_r"] == pytest.approx(np.corrcoef(x, y)[0, 1], rel=1e-10)
    # left uncontrolled, the learning rate's effect on accuracy swamps the metric's
    controls = ["net_density", "optimizer"]
    leaky = correlation_table(frame, ["net_spectral_gap"], controls=controls).iloc[0]
    assert leaky["partial_r"] < row["partial_r"] - 0.3


def test_a_metric_fixed_by_a_swept_key_is_grouped_with_the_controls():
    frame = _swept()
    frame["mean_lr_copy"] = 10 * frame["learning_rate"]
    assert _groups(frame)[("mean_lr_copy",)] == "controls"


# ------------------------------------------------------------------ the report's text

STUDY = """
name = "three-densities"
sizes = [64, 8, 10]
dense_layers = [-1]
densities = [0.1, 0.25, 0.5]
seeds = [0, 1, 2]
[[families]]
name = "erdos_renyi"
"""


def _record(folder, layer):
    study = load_study(STUDY)
    rng = np.random.default_rng(3)
    with ResultStore(folder, study) as store:
        for run in study.runs():
            store.record(
                run,
                RunResult(
                    "ok",
                    test_accuracy=0.8 + 0.2 * run.density + 0.01 * rng.normal(),
                    layer_metrics=[layer(run, rng), {"n_edges": 80, "spectral_gap": 9.0}],
                    network_metrics={"net_density": run.density},
                ),
            )


def test_report_names_every_density_and_no_holm_over_nothing(tmp_path):
    # every metric is fixed by density: nothing to test
    _record(tmp_path, lambda run, rng: {"n_edges": round(512 * run.density)})
    analysis = analyze_study(tmp_path, figures=False)
    text = analysis.report.read_text(encoding="utf-8")
    density_line = next(line for line in analysis.summary if line.startswith("Mean test"))
    for density in ("0.1 ", "0.25 ", "0.5 "):
        assert f"at density {density}" in density_line
    assert "testing 0" not in text
    assert "No metric could be tested, so no p-value is adjusted." in text
    assert "Determined by the controls (not tested): `min_n_edges`, `mean_n_edges`." in text


def test_report_shows_no_cv_r2_beside_too_few_runs(tmp_path):
    _record(tmp_path, lambda run, rng: {"spectral_gap": float(rng.normal())})
    analysis = analyze_study(tmp_path, figures=False)
    row = analysis.ranking.iloc[0]
    assert "too few runs for cross-validation" in row["note"]
    assert math.isnan(row["r2_density"])
    assert math.isnan(row["r2_metric_density"])
    text = analysis.report.read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if line.startswith("| 1 | `mean_spectral_gap`"))
    cells = [cell.strip() for cell in line.strip("|").split("|")]
    assert cells[7:10] == ["n/a", "n/a", "n/a"]
    assert "cross-validated R²" not in " ".join(analysis.summary)


def test_summary_without_density_names_the_other_controls(tmp_path):
    study = load_study(
        "sizes = [64, 8, 10]\ndense_layers = [-1]\ndensities = [0.25]\nseeds = [0, 1, 2, 3]\n"
        '[[families]]\nname = "erdos_renyi"'
    )
    with ResultStore(tmp_path, study) as store:
        for run in study.runs():
            store.record(run, RunResult("ok", test_accuracy=0.9, network_metrics={}))
    analysis = analyze_study(tmp_path, figures=False)
    ok = pd.DataFrame(
        {
            "status": "ok",
            "density": 0.25,
            "family": "erdos_renyi",
            "variant": "erdos_renyi",
            "test_accuracy": [0.9, 0.91, 0.92, 0.93],
            "optimizer": ["adam", "sgd", "adam", "sgd"],
        }
    )
    lines = _findings.summary(analysis, ok)
    assert (
        "Density does not vary across the successful runs, so 'beyond density' is the "
        "correlation given optimizer." in lines
    )
    assert (
        "Density does not vary across the successful runs, so 'beyond density' is the plain "
        "correlation." in analysis.summary
    )
