"""Statistics against independent references: scipy, statsmodels, scikit-learn, closed
forms for partial correlation, and synthetic data whose truth is known."""

import math

import numpy as np
import pandas as pd
import pytest
import scipy.stats as stats
import statsmodels.api as sm
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score
from sklearn.model_selection import KFold, cross_val_predict

from topokit._errors import TopokitError
from topokit.analysis.statistics import (
    correlation_table,
    cross_validated_r2,
    cross_validation_table,
    default_controls,
    fit_line,
    metric_columns,
    ols_table,
    partial_correlation,
    pearson,
    rank_metrics,
    spearman,
)


def _inverse_correlation_partial(x, y, controls):
    """Partial correlation from the inverse of the correlation matrix (precision matrix)."""
    data = np.column_stack([x, y, controls])
    precision = np.linalg.inv(np.corrcoef(data, rowvar=False))
    return -precision[0, 1] / math.sqrt(precision[0, 0] * precision[1, 1])


def _synthetic(n, *, a=1.0, b=4.0, noise=0.5, seed=0):
    """accuracy = a·gap + b·density + noise, gap partly explained by density."""
    rng = np.random.default_rng(seed)
    density = rng.uniform(0.05, 0.2, size=n)
    own = rng.normal(size=n)  # the part of the gap that density does not explain
    gap = 10 * density + own
    accuracy = a * gap + b * density + noise * rng.normal(size=n)
    return pd.DataFrame(
        {
            "status": "ok",
            "net_density": density,
            "net_spectral_gap": gap,
            "net_n_edges": 5000 * density,  # exactly linear in density
            "mean_density_squared": density**2,  # a nonlinear function of density
            "net_noise": rng.normal(size=n),
            "test_accuracy": accuracy,
            "sizes": "64-128-128-10",
        }
    )


# ------------------------------------------------------------------ single coefficients


@pytest.mark.parametrize("n", [5, 30, 200])
def test_pearson_matches_scipy(n):
    rng = np.random.default_rng(n)
    x = rng.normal(size=n)
    y = 0.5 * x + rng.normal(size=n)
    ours = pearson(x, y)
    theirs = stats.pearsonr(x, y)
    interval = theirs.confidence_interval(0.95)  # Fisher z in scipy
    assert ours.r == pytest.approx(theirs.statistic, abs=1e-14)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-10)
    assert ours.ci_low == pytest.approx(interval.low, abs=1e-12)
    assert ours.ci_high == pytest.approx(interval.high, abs=1e-12)
    assert ours.n == n


@pytest.mark.parametrize("n", [5, 30, 200])
def test_pearson_interval_is_fisher_z_by_hand(n):
    rng = np.random.default_rng(n + 1)
    x = rng.normal(size=n)
    y = -0.3 * x + rng.normal(size=n)
    ours = pearson(x, y)
    r = np.corrcoef(x, y)[0, 1]
    half = 1.959963984540054 / math.sqrt(n - 3)
    expected = (math.tanh(math.atanh(r) - half), math.tanh(math.atanh(r) + half))
    assert ours.r == pytest.approx(r, abs=1e-14)
    assert (ours.ci_low, ours.ci_high) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("sign", [1, -1], ids=["r=+1", "r=-1"])
def test_pearson_perfect_correlation_has_a_point_interval(sign):
    x = np.arange(10.0)
    ours = pearson(x, sign * x + 2)
    assert (ours.r, ours.ci_low, ours.ci_high) == pytest.approx((sign, sign, sign), abs=1e-12)


@pytest.mark.parametrize("confidence", [0.9, 0.99])
def test_pearson_confidence_level(confidence):
    rng = np.random.default_rng(1)
    x = rng.normal(size=40)
    y = x + rng.normal(size=40)
    interval = stats.pearsonr(x, y).confidence_interval(confidence)
    ours = pearson(x, y, confidence=confidence)
    assert (ours.ci_low, ours.ci_high) == pytest.approx((interval.low, interval.high), abs=1e-12)


def test_spearman_matches_scipy_and_bonett_wright():
    rng = np.random.default_rng(2)
    x = rng.normal(size=50)
    y = np.exp(x) + rng.normal(size=50)
    ours = spearman(x, y)
    theirs = stats.spearmanr(x, y)
    assert ours.r == pytest.approx(theirs.statistic, abs=1e-14)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-10)
    # Bonett & Wright (2000): var(atanh rho) = (1 + rho^2 / 2) / (n - 3), by hand
    half = 1.959963984540054 * math.sqrt((1 + ours.r**2 / 2) / 47)
    expected = (math.tanh(math.atanh(ours.r) - half), math.tanh(math.atanh(ours.r) + half))
    assert (ours.ci_low, ours.ci_high) == pytest.approx(expected, abs=1e-9)


def test_spearman_interval_coverage():
    # The Bonett–Wright interval should cover the population rho about 95% of the time.
    rng = np.random.default_rng(3)
    rho = 0.5
    population = 6 / math.pi * math.asin(rho / 2)  # Spearman rho of a bivariate normal
    cov = [[1, rho], [rho, 1]]
    hits = 0
    trials = 1000
    for _ in range(trials):
        x, y = rng.multivariate_normal([0, 0], cov, size=40).T
        result = spearman(x, y)
        hits += result.ci_low <= population <= result.ci_high
    assert 0.93 <= hits / trials <= 0.975


@pytest.mark.parametrize("k", [1, 2, 3])
def test_partial_residual_formula_matches_inverse_correlation(k):
    rng = np.random.default_rng(10 + k)
    controls = rng.normal(size=(12, k))
    x = controls @ rng.normal(size=k) + rng.normal(size=12)
    y = controls @ rng.normal(size=k) + 0.5 * x + rng.normal(size=12)
    ours = partial_correlation(x, y, controls)
    assert ours.r == pytest.approx(_inverse_correlation_partial(x, y, controls), abs=1e-12)


def test_partial_first_order_closed_form():
    # r_xy.z = (r_xy - r_xz r_yz) / sqrt((1 - r_xz^2)(1 - r_yz^2))
    x = np.array([1.0, 2.0, 4.0, 3.0, 6.0, 5.0, 8.0])
    y = np.array([2.0, 1.0, 5.0, 4.0, 4.0, 7.0, 9.0])
    z = np.array([1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0])
    r_xy, r_xz, r_yz = (np.corrcoef(a, b)[0, 1] for a, b in ((x, y), (x, z), (y, z)))
    expected = (r_xy - r_xz * r_yz) / math.sqrt((1 - r_xz**2) * (1 - r_yz**2))
    assert partial_correlation(x, y, z).r == pytest.approx(expected, abs=1e-13)


def test_partial_p_value_matches_statsmodels_t_test():
    # The t of a partial correlation is the t of x's coefficient in y ~ x + controls.
    rng = np.random.default_rng(4)
    controls = rng.normal(size=(30, 2))
    x = controls[:, 0] + rng.normal(size=30)
    y = 0.3 * x + controls @ [1.0, -1.0] + rng.normal(size=30)
    fit = sm.OLS(y, sm.add_constant(np.column_stack([x, controls]))).fit()
    ours = partial_correlation(x, y, controls)
    assert ours.p_value == pytest.approx(fit.pvalues[1], rel=1e-9)


def test_partial_interval_uses_n_minus_3_minus_k():
    rng = np.random.default_rng(5)
    controls = rng.normal(size=(25, 2))
    x, y = rng.normal(size=25), rng.normal(size=25)
    ours = partial_correlation(x, y, controls, confidence=0.95)
    half = 1.959963984540054 / math.sqrt(25 - 3 - 2)
    expected = (math.tanh(math.atanh(ours.r) - half), math.tanh(math.atanh(ours.r) + half))
    assert (ours.ci_low, ours.ci_high) == pytest.approx(expected, abs=1e-9)


def test_partial_without_controls_is_pearson():
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(2, 20))
    ours, reference = partial_correlation(x, y), pearson(x, y)
    assert ours.r == pytest.approx(reference.r, abs=1e-14)
    assert ours.p_value == pytest.approx(reference.p_value, rel=1e-10)
    assert ours.ci_low == pytest.approx(reference.ci_low, abs=1e-12)


def test_partial_recovers_known_value():
    # accuracy = a·gap + b·density + noise, gap = 10·density + own (own ~ N(0, 1)):
    # given density, corr(gap, accuracy) = a / sqrt(a^2 + noise^2).
    frame = _synthetic(4000, a=1.0, noise=0.5)
    truth = 1.0 / math.sqrt(1.0 + 0.25)
    result = partial_correlation(
        frame["net_spectral_gap"], frame["test_accuracy"], frame["net_density"]
    )
    assert result.r == pytest.approx(truth, abs=0.015)
    assert result.ci_low < truth < result.ci_high
    assert pearson(frame["net_spectral_gap"], frame["test_accuracy"]).r > truth  # confounded


def test_function_of_density_has_no_partial_correlation():
    frame = _synthetic(4000)
    plain = pearson(frame["mean_density_squared"], frame["test_accuracy"]).r
    result = partial_correlation(
        frame["mean_density_squared"], frame["test_accuracy"], frame["net_density"]
    )
    assert plain > 0.3  # strongly correlated with accuracy through density
    assert abs(result.r) < 4 / math.sqrt(4000)  # 0 beyond density, within 4 standard errors


def test_metric_linear_in_density_is_undefined():
    frame = _synthetic(100)
    result = partial_correlation(frame["net_n_edges"], frame["test_accuracy"], frame["net_density"])
    assert math.isnan(result.r)
    assert result.note == "metric is determined by the controls"


@pytest.mark.parametrize(
    ("x", "y", "note"),
    [
        pytest.param([1, 2, 3], [1, 2, 4], "too few runs", id="n=3"),
        pytest.param([1, 1, 1, 1, 1], [1, 2, 3, 4, 5], "metric is constant", id="constant-x"),
        pytest.param([1, 2, 3, 4, 5], [2, 2, 2, 2, 2], "outcome is constant", id="constant-y"),
    ],
)
@pytest.mark.parametrize("function", [pearson, spearman, partial_correlation])
def test_degenerate_inputs_give_nan_with_reason(function, x, y, note):
    result = function(x, y)
    assert math.isnan(result.r)
    assert math.isnan(result.ci_low)
    assert math.isnan(result.p_value)
    assert result.note.startswith(note)


def test_partial_too_few_for_its_controls():
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(2, 5))
    result = partial_correlation(x, y, rng.normal(size=(5, 2)))
    assert math.isnan(result.r)
    assert (
        result.note
        == "too few runs for a partial correlation with 2 controls (n=5, need at least 6)"
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(lambda: pearson([1, 2], [1, 2, 3]), "same length", id="lengths"),
        pytest.param(
            lambda: pearson([1, 2, 3, 4], [1, 2, 3, 5], confidence=95),
            "confidence must",
            id="confidence",
        ),
        pytest.param(
            lambda: partial_correlation([1, 2, 3, 4], [1, 2, 3, 5], np.ones((3, 1))),
            r"controls must be of shape \(n,\) or \(n, k\) with n=4",
            id="controls-shape",
        ),
    ],
)
def test_bad_arguments(call, message):
    with pytest.raises(TopokitError, match=message):
        call()


# ------------------------------------------------------------------ cross-validation


@pytest.mark.parametrize("p", [1, 2])
def test_cross_validated_r2_matches_scikit_learn(p):
    rng = np.random.default_rng(8)
    X = rng.normal(size=(37, p))
    y = X @ rng.normal(size=p) + rng.normal(size=37)
    ours, note = cross_validated_r2(X, y, n_splits=5, seed=3)
    folds = KFold(n_splits=5, shuffle=True, random_state=3)
    predicted = cross_val_predict(LinearRegression(), X, y, cv=folds)
    assert note == ""
    assert ours == pytest.approx(r2_score(y, predicted), abs=1e-12)


@pytest.mark.parametrize("design", ["continuous", "levels"])
def test_cross_validated_r2_matches_least_squares_by_hand(design):
    rng = np.random.default_rng(10)
    n = 40  # 5 folds for up to 4 predictors (n // (p + 2) >= 5)
    x = rng.normal(size=n)
    if design == "levels":
        # density levels as indicators (first level dropped); levels 0 and 3 have one run
        # each, so some training folds lack a level and their design is rank-deficient
        levels = np.array([0, 3] + [1, 2] * 19)
        X = np.column_stack([x, levels[:, None] == np.array([1, 2, 3])]).astype(float)
    else:
        X = np.column_stack([x, rng.normal(size=n)])
    y = X @ rng.normal(size=X.shape[1]) + rng.normal(size=n)
    design_matrix = np.column_stack([np.ones(n), X])
    predicted = np.empty(n)
    for train, test in KFold(n_splits=5, shuffle=True, random_state=0).split(X):
        coefficients = np.linalg.lstsq(design_matrix[train], y[train], rcond=None)[0]
        predicted[test] = design_matrix[test] @ coefficients
    expected = 1 - np.sum((y - predicted) ** 2) / np.sum((y - y.mean()) ** 2)
    ours, note = cross_validated_r2(X, y)
    assert note == ""
    assert ours == pytest.approx(expected, abs=1e-12)


def test_cross_validated_r2_intercept_only_is_negative():
    rng = np.random.default_rng(9)
    y = rng.normal(size=30)
    r2, _ = cross_validated_r2(np.empty((30, 0)), y)
    assert -0.5 < r2 < 0  # predicting by the training mean is worse than the overall mean


def test_cross_validated_r2_too_few():
    r2, note = cross_validated_r2(np.arange(5.0)[:, None], np.arange(5.0))
    assert math.isnan(r2)
    assert note == "too few runs for cross-validation (n=5, need at least 6)"


# ------------------------------------------------------------------ tables


def test_metric_columns_and_default_controls():
    frame = _synthetic(20)
    frame["layer0_lambda2"] = 1.0
    frame["net_label"] = "x"
    assert metric_columns(frame) == [
        "net_density",
        "net_spectral_gap",
        "net_n_edges",
        "mean_density_squared",
        "net_noise",
    ]
    assert metric_columns(frame, layers=True)[-1] == "layer0_lambda2"
    assert default_controls(frame) == ["net_density"]
    frame.loc[:9, "sizes"] = "64-32-10"
    assert default_controls(frame) == ["net_density", "sizes"]


def test_correlation_table(tmp_path):
    frame = _synthetic(300)
    table = correlation_table(frame)
    assert table["metric"].tolist() == [
        "net_spectral_gap",
        "net_n_edges",
        "mean_density_squared",
        "net_noise",
    ]
    assert set(table["outcome"]) == {"test_accuracy"}
    assert (table["controls"] == "net_density").all()
    row = table.set_index("metric").loc["net_spectral_gap"]
    direct = partial_correlation(frame.net_spectral_gap, frame.test_accuracy, frame.net_density)
    assert row["partial_r"] == direct.r
    assert row["pearson_r"] == pytest.approx(
        stats.pearsonr(frame.net_spectral_gap, frame.test_accuracy).statistic, abs=1e-14
    )
    assert table.set_index("metric").loc["net_n_edges", "note"] == (
        "partial: metric is determined by the controls"
    )


def test_tables_drop_nan_and_failed_runs_with_a_count():
    frame = _synthetic(60)
    frame.loc[0:4, "net_spectral_gap"] = np.nan
    frame.loc[5, "net_spectral_gap"] = np.inf
    frame.loc[6:7, "status"] = "failed"
    frame.loc[6:7, "test_accuracy"] = np.nan
    table = correlation_table(frame, metrics=["net_spectral_gap"]).iloc[0]
    assert table["n"] == 52
    assert table["n_dropped"] == 6  # failed runs are left out before counting
    clean = frame.drop(index=range(8))
    expected = pearson(clean.net_spectral_gap, clean.test_accuracy).r
    assert table["pearson_r"] == pytest.approx(expected, abs=1e-14)


def test_partial_controls_for_sizes():
    # Two network sizes shift both the metric and accuracy: the plain correlation is
    # large, within each size there is none.
    rng = np.random.default_rng(11)
    n = 400
    big = rng.integers(0, 2, size=n)
    frame = pd.DataFrame(
        {
            "net_density": rng.uniform(0.05, 0.2, size=n),
            "sizes": np.where(big, "64-256-10", "64-32-10"),
            "net_lambda1": 5 * big + rng.normal(size=n),
            "test_accuracy": 0.1 * big + 0.01 * rng.normal(size=n),
        }
    )
    row = correlation_table(frame, metrics=["net_lambda1"]).iloc[0]
    assert row["controls"] == "net_density, sizes (2 levels)"
    assert row["pearson_r"] > 0.8
    assert abs(row["partial_r"]) < 0.15
    dummies = np.column_stack([frame.net_density, big])
    assert row["partial_r"] == pytest.approx(
        _inverse_correlation_partial(frame.net_lambda1, frame.test_accuracy, dummies), abs=1e-12
    )


def test_ols_table_matches_statsmodels_on_raw_data():
    frame = _synthetic(80)
    row = ols_table(frame, metrics=["net_spectral_gap"]).iloc[0]
    x, d, y = (frame[c].to_numpy() for c in ("net_spectral_gap", "net_density", "test_accuracy"))
    fit = sm.OLS(y, sm.add_constant(np.column_stack([x, d]))).fit()
    interval = fit.conf_int(0.05)
    scale_x, scale_d = x.std(ddof=1) / y.std(ddof=1), d.std(ddof=1) / y.std(ddof=1)
    assert row["beta_metric"] == pytest.approx(fit.params[1] * scale_x, rel=1e-9)
    assert row["beta_metric_ci_low"] == pytest.approx(interval[1, 0] * scale_x, rel=1e-9)
    assert row["beta_metric_ci_high"] == pytest.approx(interval[1, 1] * scale_x, rel=1e-9)
    assert row["beta_density"] == pytest.approx(fit.params[2] * scale_d, rel=1e-9)
    assert row["p_metric"] == pytest.approx(fit.pvalues[1], rel=1e-9)
    assert row["p_density"] == pytest.approx(fit.pvalues[2], rel=1e-9)
    assert row["r2"] == pytest.approx(fit.rsquared, rel=1e-12)
    assert row["r2_adj"] == pytest.approx(fit.rsquared_adj, rel=1e-12)


def test_ols_density_coefficient_whatever_the_control_order():
    frame = _synthetic(80)
    frame.loc[:39, "sizes"] = "64-32-10"
    first = ols_table(frame, ["net_spectral_gap"], controls=["net_density", "sizes"]).iloc[0]
    second = ols_table(frame, ["net_spectral_gap"], controls=["sizes", "net_density"]).iloc[0]
    assert second["beta_density"] == pytest.approx(first["beta_density"], rel=1e-12)
    assert second["beta_metric"] == pytest.approx(first["beta_metric"], rel=1e-12)


def test_ols_table_collinear_and_constant():
    frame = _synthetic(50)
    frame["net_constant"] = 3.0
    table = ols_table(frame, metrics=["net_n_edges", "net_constant"]).set_index("metric")
    assert table.loc["net_n_edges", "note"] == "metric is collinear with the controls"
    assert table.loc["net_constant", "note"] == "metric is constant"
    assert table["beta_metric"].isna().all()


def test_cross_validation_table():
    frame = _synthetic(200)
    table = cross_validation_table(frame, seed=1).set_index("metric")
    gap = table.loc["net_spectral_gap"]
    X = frame[["net_spectral_gap", "net_density"]].to_numpy()
    folds = KFold(n_splits=5, shuffle=True, random_state=1)
    for column, predictors in (
        ("r2_metric", X[:, :1]),
        ("r2_density", X[:, 1:]),
        ("r2_metric_density", X),
    ):
        predicted = cross_val_predict(LinearRegression(), predictors, frame.test_accuracy, cv=folds)
        assert gap[column] == pytest.approx(r2_score(frame.test_accuracy, predicted), abs=1e-12)
    assert gap["delta_r2"] == pytest.approx(gap["r2_metric_density"] - gap["r2_density"])
    assert gap["delta_r2"] > 0.1
    assert abs(table.loc["mean_density_squared", "delta_r2"]) < 0.05  # adds nothing


def test_rank_metrics():
    frame = _synthetic(300)
    ranking = rank_metrics(frame)
    assert ranking["rank"].tolist() == [1, 2, 3, 4]
    assert ranking["metric"].iloc[0] == "net_spectral_gap"
    assert ranking["metric"].iloc[-1] == "net_n_edges"  # undefined partial r: last
    assert math.isnan(ranking["partial_r"].iloc[-1])
    assert "determined by the controls" in ranking["note"].iloc[-1]
    assert list(ranking.columns) == [
        "rank",
        "metric",
        "members",
        "kind",
        "n",
        "partial_r",
        "partial_ci_low",
        "partial_ci_high",
        "partial_p",
        "pearson_r",
        "r2_metric",
        "r2_density",
        "r2_metric_density",
        "delta_r2",
        "controls",
        "note",
    ]


def test_tables_with_too_few_runs_do_not_raise():
    frame = _synthetic(3)
    for table in (
        correlation_table(frame),
        ols_table(frame),
        cross_validation_table(frame),
        rank_metrics(frame),
    ):
        assert len(table) == 4
        assert table["note"].str.contains("too few runs").all()


def test_empty_frame():
    frame = _synthetic(10).iloc[:0]
    table = correlation_table(frame)
    assert (table["n"] == 0).all()
    assert table["note"].str.contains("too few runs").all()


def test_epochs_to_target_outcome_included_by_default():
    frame = _synthetic(40)
    frame["epochs_to_target"] = np.round(10 - frame.net_spectral_gap)
    assert set(correlation_table(frame)["outcome"]) == {"test_accuracy", "epochs_to_target"}


def test_an_outcome_with_no_values_gives_notes_not_errors():
    frame = _synthetic(40)
    frame["epochs_to_target"] = np.nan  # no run reached the target
    for table in (correlation_table(frame), ols_table(frame), cross_validation_table(frame)):
        rows = table[table["outcome"] == "epochs_to_target"]
        assert len(rows) > 0
        assert rows["note"].str.len().gt(0).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param(
            {"metrics": ["net_gap"]},
            r"metrics 'net_gap' not in the results; did you mean 'net_spectral_gap'",
            id="metric",
        ),
        pytest.param(
            {"outcomes": ["accuracy"]}, r"outcomes 'accuracy' not in the results", id="outcome"
        ),
        pytest.param(
            {"controls": ["density"]}, r"controls 'density' not in the results", id="control"
        ),
    ],
)
def test_unknown_columns(kwargs, message):
    with pytest.raises(TopokitError, match=message):
        correlation_table(_synthetic(10), **kwargs)


def test_frame_must_be_a_dataframe():
    with pytest.raises(TopokitError, match="frame must be a pandas DataFrame, got dict"):
        correlation_table({"a": [1]})


# ------------------------------------------------------------------ controls by level


def _grid(n_per_level=1000, a=0.02, noise=0.01, seed=12):
    """A study-like grid: three densities, accuracy saturating in density."""
    rng = np.random.default_rng(seed)
    density = np.repeat([0.03125, 0.0625, 0.125], n_per_level)
    own = rng.normal(size=density.size)
    return pd.DataFrame(
        {
            "net_density": density,
            "min_n_edges": 8192 * density**2,  # tracks density, nonlinearly
            "net_spectral_gap": 5 * density + own,
            "test_accuracy": 1
            - np.exp(-30 * density)
            + a * own
            + noise * rng.normal(size=density.size),
        }
    )


def test_levels_equal_within_density_correlation():
    frame = _grid(50)
    row = correlation_table(frame, metrics=["net_spectral_gap"]).iloc[0]
    assert row["controls"] == "net_density (3 levels)"
    demeaned = frame.groupby("net_density")[["net_spectral_gap", "test_accuracy"]].transform(
        lambda column: column - column.mean()
    )
    expected = np.corrcoef(demeaned["net_spectral_gap"], demeaned["test_accuracy"])[0, 1]
    assert row["partial_r"] == pytest.approx(expected, abs=1e-12)
    half = 1.959963984540054 / math.sqrt(150 - 3 - 2)  # k = 2 indicators
    assert row["partial_ci_high"] == pytest.approx(
        math.tanh(math.atanh(expected) + half), abs=1e-12
    )


def test_levels_see_through_a_saturating_density_effect():
    frame = _grid()
    by_level = correlation_table(frame, encoding="auto").set_index("metric")
    linear = correlation_table(frame, encoding="linear").set_index("metric")
    # linear control: the density tracker looks predictive beyond density
    assert abs(linear.loc["min_n_edges", "partial_r"]) > 0.3
    # by level: it is recognised as density itself
    assert math.isnan(by_level.loc["min_n_edges", "partial_r"])
    assert by_level.loc["min_n_edges", "note"] == "partial: metric is determined by the controls"
    truth = 0.02 / math.sqrt(0.02**2 + 0.01**2)
    assert by_level.loc["net_spectral_gap", "partial_r"] == pytest.approx(truth, abs=0.02)


def test_auto_uses_linear_for_a_continuous_density():
    row = correlation_table(_synthetic(100), metrics=["net_spectral_gap"]).iloc[0]
    assert row["controls"] == "net_density"


def test_levels_can_be_forced_and_refused():
    frame = _grid(2)  # 6 runs, 3 levels: too few for "auto"
    assert correlation_table(frame, metrics=["net_spectral_gap"])["controls"][0] == "net_density"
    forced = correlation_table(frame, metrics=["net_spectral_gap"], encoding="levels")
    assert forced["controls"][0] == "net_density (3 levels)"


def test_ols_by_level_matches_statsmodels_formula():
    import statsmodels.formula.api as smf

    frame = _grid(40)
    row = ols_table(frame, metrics=["net_spectral_gap"]).iloc[0]
    fit = smf.ols("test_accuracy ~ net_spectral_gap + C(net_density)", data=frame).fit()
    scale = frame.net_spectral_gap.std(ddof=1) / frame.test_accuracy.std(ddof=1)
    assert row["beta_metric"] == pytest.approx(fit.params["net_spectral_gap"] * scale, rel=1e-9)
    assert row["p_metric"] == pytest.approx(fit.pvalues["net_spectral_gap"], rel=1e-9)
    assert math.isnan(row["beta_density"])  # density entered by level
    assert row["r2"] == pytest.approx(fit.rsquared, rel=1e-12)


def test_bad_encoding():
    with pytest.raises(
        TopokitError, match="encoding must be one of auto, linear, levels, got 'log'"
    ):
        correlation_table(_grid(5), encoding="log")


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99], ids=["90", "95", "99"])
def test_fit_line_matches_the_closed_form_band(confidence):
    rng = np.random.default_rng(1)
    x = rng.uniform(-2, 5, size=40)
    y = 3.0 - 0.7 * x + rng.normal(size=40)
    line = fit_line(x, y, confidence=confidence, n_points=25)
    # reference: ŷ(x₀) ± t·s·√(1/n + (x₀ − x̄)²/Sxx), t with n − 2 degrees of freedom
    slope, intercept = np.polyfit(x, y, 1)
    residual = y - (intercept + slope * x)
    scale = math.sqrt(residual @ residual / (x.size - 2))
    grid = np.linspace(x.min(), x.max(), 25)
    mean = intercept + slope * grid
    half = stats.t.ppf(0.5 + confidence / 2, x.size - 2) * scale
    half = half * np.sqrt(1 / x.size + (grid - x.mean()) ** 2 / np.sum((x - x.mean()) ** 2))
    low, high = mean - half, mean + half
    assert line.intercept == pytest.approx(intercept, rel=1e-12)
    assert line.slope == pytest.approx(slope, rel=1e-12)
    np.testing.assert_allclose(line.x, np.linspace(x.min(), x.max(), 25), rtol=1e-15)
    np.testing.assert_allclose(line.y, mean, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(line.ci_low, low, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(line.ci_high, high, rtol=1e-10, atol=1e-12)
    assert line.n == 40


def test_fit_line_exact_on_a_line():
    line = fit_line([0, 1, 2, 3, 4], [1, 3, 5, 7, 9])
    assert (line.slope, line.intercept) == pytest.approx((2.0, 1.0), abs=1e-12)
    np.testing.assert_allclose(line.ci_high - line.ci_low, 0.0, atol=1e-12)


@pytest.mark.parametrize(
    ("x", "y", "match"),
    [
        ([0, 1], [0, 1], "at least 3 points, got 2"),
        ([1, 1, 1], [0, 1, 2], "x is constant"),
        ([0, 1, 2], [0, 1], "same length, got 3 and 2"),
        ([0, 1, np.nan], [0, 1, 2], "must be finite"),
    ],
    ids=["too-few", "constant-x", "lengths", "nan"],
)
def test_fit_line_errors(x, y, match):
    with pytest.raises(TopokitError, match=match):
        fit_line(x, y)


def test_fit_line_confidence_error():
    with pytest.raises(TopokitError, match=r"confidence must be in \(0, 1\), got 1.5"):
        fit_line([0, 1, 2], [0, 1, 3], confidence=1.5)


def test_a_swept_epochs_is_a_control_under_its_column_name_not_the_outcome():
    # load_results names a swept [training] epochs "training_epochs"; "epochs" is the outcome
    frame = pd.DataFrame(
        {
            "net_density": [0.1, 0.2, 0.1, 0.2],
            "training_epochs": [5, 5, 10, 10],
            "epochs": [5, 4, 9, 10],
        }
    )
    assert default_controls(frame) == ["net_density", "training_epochs"]
