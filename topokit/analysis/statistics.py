"""Which topology metric predicts the outcome beyond density: correlations with confidence
intervals, partial correlations, standardized OLS and cross-validated R².

Every table function takes a frame such as :func:`~topokit.analysis.load_results` returns
(one row per run) and gives one row per (metric, outcome). Failed runs (``status`` other
than ``"ok"``) are left out; rows with a NaN or infinite value in the columns that a row of
the table needs are dropped and counted (``n_dropped``). Where a statistic cannot be
computed (too few runs, a constant column, a metric that the controls determine) it is NaN
and ``note`` says why; nothing raises for the data's sake. Bad arguments (a column that
is not there) raise TopokitError.

Methods
-------
- Pearson r with scipy's p-value and 95% CI (``scipy.stats.pearsonr``; Fisher's z,
  ``tanh(atanh(r) ± z/√(n − 3))``).
- Spearman ρ with scipy's p-value; CI by Fisher's z with the Bonett–Wright (2000) variance
  ``(1 + ρ²/2)/(n − 3)`` (computed here: scipy gives no interval for ρ).
- Partial correlation given controls (default: the measured density ``net_density``, and the
  layer sizes where they vary): both variables are residualized by least squares on an
  intercept and the controls, and the residuals are correlated. With k the rank of the
  controls, the p-value is from t = r·√(df/(1 − r²)), df = n − 2 − k, and the CI by
  Fisher's z with standard error 1/√(n − 3 − k).
- OLS (statsmodels) of the z-scored outcome on the z-scored metric and the controls:
  standardized coefficients with their CIs and p-values.
- A fitted line (:func:`fit_line`, the line of the scatter figures): statsmodels' OLS of y
  on x with the confidence band of the fitted mean from ``get_prediction``.
- Cross-validated R²: K-fold (scikit-learn ``KFold``, shuffled with a fixed seed, 5 folds
  or fewer for small n), least squares fitted on each training part
  (``cross_val_predict``), R² of the pooled out-of-fold predictions (``r2_score``,
  1 − SSE/SST; may be negative). For the metric alone, the controls alone, and both;
  ``delta_r2`` is what the metric adds to the controls.

How controls enter (``encoding``)
---------------------------------
Text controls (``sizes``) enter as one indicator per level. A numeric control enters as
one linear column (``"linear"``) or as one indicator per distinct value (``"levels"``,
fixed effects). ``"auto"`` (the default) uses levels when the control takes at most 12
values with at least 3 runs per value on average — the case of a study's grid of
densities. By level is the right control there: accuracy saturates with density, so a
linear control leaves a curved density effect behind, and any metric that merely tracks
density (``min_n_edges``, ``mean_density``) would look as if it explained accuracy beyond
density. By level, such a metric is reported as determined by the controls, and a
partial correlation is a within-density correlation pooled over the densities. The
``controls`` column of each table says how each control entered, e.g.
``"net_density (4 levels), sizes (2 levels)"``; ``beta_density`` of :func:`ols_table` is
reported only for a linear density.
"""

from __future__ import annotations

import math
from difflib import get_close_matches

import numpy as np
import pandas as pd

from topokit._errors import TopokitError
from topokit.analysis._coefficients import (
    Correlation,
    FitLine,
    _check_confidence,
    _is_constant,
    _is_determined,
    _screen,
    cross_validated_r2,
    fit_line,
    partial_correlation,
    pearson,
    spearman,
)
from topokit.analysis.study import TRAINING_COLUMNS

__all__ = [
    "DEFAULT_OUTCOMES",
    "OUTCOME_LABELS",
    "Correlation",
    "FitLine",
    "correlation_table",
    "cross_validated_r2",
    "cross_validation_table",
    "default_controls",
    "fit_line",
    "metric_columns",
    "metric_groups",
    "ols_table",
    "partial_correlation",
    "pearson",
    "rank_metrics",
    "spearman",
]

#: The outcomes analysed by default (those present in the frame).
DEFAULT_OUTCOMES = ("test_accuracy", "epochs_to_target")
#: How the outcomes are named in sentences, table headings and figure labels.
OUTCOME_LABELS = {"test_accuracy": "test accuracy", "epochs_to_target": "epochs to target"}
_METRIC_PREFIXES = ("net_", "min_", "mean_", "input_")
_ENCODINGS = ("auto", "linear", "levels")
_MAX_LEVELS = 12  # "auto": a numeric control with this many values or fewer enters by level
# the columns of [training] keys, controls when they vary; a swept ``epochs`` is the column
# ``training_epochs``, since ``epochs`` is the outcome "epochs run" (early stopping ends runs
# at different epochs)
_TRAINING_CONTROLS = tuple(TRAINING_COLUMNS.values())
#: Kinds of :func:`metric_groups`.
_GROUP_KINDS = ("distinct", "constant", "controls")


# ------------------------------------------------------------------ frames


def _is_layer_column(name: str) -> bool:
    return name.startswith("layer") and "_" in name and name[5 : name.index("_")].isdigit()


def metric_columns(frame: pd.DataFrame, *, layers: bool = False) -> list[str]:
    """The numeric metric columns of a results frame.

    Whole-network (``net_...``), aggregated (``min_...``, ``mean_...``) and data-aware
    (``input_...``) metrics, and with ``layers=True`` also the per-layer ``layer{k}_...``
    columns.

    Parameters
    ----------
    frame : pandas.DataFrame
        A results frame (:func:`~topokit.analysis.load_results`).
    layers : bool, default False
        Include the per-layer columns ``layer{k}_...``.

    Returns
    -------
    list of str
        The names of the columns with those prefixes whose dtype is numeric, in the
        frame's column order.

    Examples
    --------
    >>> import pandas as pd
    >>> from topokit.analysis.statistics import metric_columns
    >>> frame = pd.DataFrame({"seed": [0], "net_lambda1": [2.0], "layer0_lambda1": [1.0]})
    >>> metric_columns(frame), metric_columns(frame, layers=True)
    (['net_lambda1'], ['net_lambda1', 'layer0_lambda1'])
    """
    names = []
    for name in frame.columns:
        is_metric = name.startswith(_METRIC_PREFIXES) or (layers and _is_layer_column(name))
        if is_metric and pd.api.types.is_numeric_dtype(frame[name]):
            names.append(name)
    return names


def default_controls(frame: pd.DataFrame) -> list[str]:
    """The controls used when none are given: ``net_density`` (or ``density`` if the
    measured one is absent) when it varies, ``sizes`` when it varies, and each
    ``[training]`` key of the study (a column named by the key: ``learning_rate``,
    ``batch_size``, ``optimizer``, ...) that varies across the runs.

    Only successful runs (``status`` ``"ok"``, where there is a ``status`` column) count
    when deciding whether a column varies. A numeric training key enters as density does
    (by level for a grid of a few values, else linearly: see the module docstring), a text
    one (``optimizer``, ``schedule``, ``activation``) as one indicator per value. A swept
    ``epochs`` is the column ``training_epochs``; the ``epochs`` column is the outcome
    "epochs run", never a control.

    Parameters
    ----------
    frame : pandas.DataFrame
        A results frame (:func:`~topokit.analysis.load_results`).

    Returns
    -------
    list of str
        Column names: the density first, then ``sizes``, then the varying training keys
        in the order of :data:`~topokit.analysis.study.TRAINING_DEFAULTS`.

    Examples
    --------
    >>> import pandas as pd
    >>> from topokit.analysis.statistics import default_controls
    >>> default_controls(pd.DataFrame({"net_density": [0.1, 0.2], "sizes": ["8-2", "8-2"]}))
    ['net_density']
    >>> default_controls(pd.DataFrame({"net_density": [0.1, 0.2], "optimizer": ["sgd", "adam"],
    ...                                "learning_rate": [0.01, 0.01]}))
    ['net_density', 'optimizer']
    """
    controls = []
    frame = _successful(frame)
    for name in ("net_density", "density"):
        if name in frame.columns and frame[name].dropna().nunique() > 1:
            controls.append(name)
            break
    for name in ("sizes", *_TRAINING_CONTROLS):
        if name in frame.columns and frame[name].dropna().nunique() > 1:
            controls.append(name)
    return controls


def _successful(frame: pd.DataFrame) -> pd.DataFrame:
    if "status" in frame.columns:
        return frame[frame["status"] == "ok"]
    return frame


def _check_columns(frame, names, what):
    missing = [name for name in names if name not in frame.columns]
    if missing:
        columns = [str(c) for c in frame.columns]
        close = get_close_matches(str(missing[0]), columns, n=3)
        hint = f"did you mean {', '.join(map(repr, close))}?" if close else ""
        hint = hint or f"columns: {', '.join(columns[:30])}{' ...' if len(columns) > 30 else ''}"
        raise TopokitError(f"{what} {', '.join(map(repr, missing))} not in the results; {hint}")


def _arguments(frame, metrics, outcomes, controls, encoding):
    _check_encoding(encoding)
    if not isinstance(frame, pd.DataFrame):
        raise TopokitError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    if metrics is None:
        metrics = metric_columns(frame)
    if outcomes is None:
        outcomes = [name for name in DEFAULT_OUTCOMES if name in frame.columns]
    if controls is None:
        controls = default_controls(frame)
    metrics, outcomes, controls = list(metrics), list(outcomes), list(controls)
    _check_columns(frame, metrics, "metrics")
    _check_columns(frame, outcomes, "outcomes")
    _check_columns(frame, controls, "controls")
    metrics = [m for m in metrics if m not in controls and m not in outcomes]
    return _successful(frame), metrics, outcomes, controls


def _n_levels(values: np.ndarray) -> int:
    return len(np.unique(np.round(values, 12)))


def _control_block(data: pd.DataFrame, controls, encoding: str):
    """The controls as a matrix: linear numeric columns first, then indicator columns
    (text controls such as ``sizes``, and numeric ones entered by level). Constant
    controls are left out.

    Returns the matrix, the names of its leading linear columns, and a description of
    each control used ("net_density", "net_density (4 levels)", "sizes (2 levels)").
    """
    linear, blocks, indicators, described = [], [], [], []
    for name in controls:
        column = data[name]
        if pd.api.types.is_numeric_dtype(column):
            values = column.to_numpy(dtype=float)
            if _is_constant(values):
                continue
            n_levels = _n_levels(values)
            by_level = encoding == "levels" or (
                encoding == "auto" and n_levels <= _MAX_LEVELS and len(values) >= 3 * n_levels
            )
            if not by_level:
                blocks.append(values[:, None])
                linear.append(name)
                described.append(name)
                continue
            column = pd.Series(np.round(values, 12)).astype(str)
        levels = pd.get_dummies(column.astype(str), drop_first=True, dtype=float)
        if levels.shape[1]:
            indicators.append(levels.to_numpy())
            described.append(f"{name} ({levels.shape[1] + 1} levels)")
    blocks += indicators
    matrix = np.hstack(blocks) if blocks else np.empty((len(data), 0))
    return matrix, linear, described


def _check_encoding(encoding) -> str:
    if encoding not in _ENCODINGS:
        raise TopokitError(f"encoding must be one of {', '.join(_ENCODINGS)}, got {encoding!r}")
    return encoding


def _clean(data: pd.DataFrame, columns) -> tuple[pd.DataFrame, int]:
    subset = data[list(dict.fromkeys(columns))]
    numeric = subset.select_dtypes(include="number").replace([np.inf, -np.inf], np.nan)
    keep = numeric.notna().all(axis=1) & subset.notna().all(axis=1)
    return subset[keep], int((~keep).sum())


def _cases(frame, metrics, outcomes, controls, encoding):
    """Each (metric, outcome) pair of a table over the runs with all its values.

    Yields the row's leading cells (``metric``, ``outcome``, ``n``, ``n_dropped``,
    ``controls``), x (the metric), y (the outcome), the control block and the names of
    its leading linear columns (:func:`_control_block`).
    """
    data, metrics, outcomes, controls = _arguments(frame, metrics, outcomes, controls, encoding)
    for outcome in outcomes:
        for metric in metrics:
            clean, dropped = _clean(data, [metric, outcome, *controls])
            block, linear, described = _control_block(clean, controls, encoding)
            row = {"metric": metric, "outcome": outcome, "n": len(clean), "n_dropped": dropped}
            row["controls"] = ", ".join(described)
            x, y = clean[metric].to_numpy(float), clean[outcome].to_numpy(float)
            yield row, x, y, block, linear


def correlation_table(
    frame: pd.DataFrame,
    metrics=None,
    outcomes=None,
    controls=None,
    *,
    encoding="auto",
    confidence=0.95,
) -> pd.DataFrame:
    """Pearson, Spearman and partial correlations of each metric with each outcome.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per run (:func:`~topokit.analysis.load_results`); failed runs are ignored.
    metrics : list of str, optional
        Default :func:`metric_columns`.
    outcomes : list of str, optional
        Default: those of :data:`DEFAULT_OUTCOMES` in the frame.
    controls : list of str, optional
        Default :func:`default_controls`.
    encoding : {"auto", "linear", "levels"}, default "auto"
        How numeric controls enter (see the module docstring).
    confidence : float, default 0.95

    Returns
    -------
    pandas.DataFrame
        Columns ``metric``, ``outcome``, ``n``, ``n_dropped``, ``pearson_r``,
        ``pearson_ci_low``, ``pearson_ci_high``, ``pearson_p``, the same for
        ``spearman_`` and ``partial_``, ``controls`` and ``note``.

    Raises
    ------
    TopokitError
        If a named column is not in the frame.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from topokit.analysis.statistics import correlation_table
    >>> rng = np.random.default_rng(1)
    >>> frame = pd.DataFrame({"net_density": rng.uniform(size=50),
    ...                       "net_spectral_gap": rng.normal(size=50)})
    >>> frame["test_accuracy"] = frame.net_spectral_gap + frame.net_density
    >>> table = correlation_table(frame)
    >>> table.loc[0, ["metric", "outcome", "controls"]].tolist()
    ['net_spectral_gap', 'test_accuracy', 'net_density']
    >>> float(round(table.loc[0, "partial_r"], 6))
    1.0
    """
    rows = []
    for row, x, y, block, _ in _cases(frame, metrics, outcomes, controls, encoding):
        notes = []
        for prefix, result in (
            ("pearson", pearson(x, y, confidence=confidence)),
            ("spearman", spearman(x, y, confidence=confidence)),
            ("partial", partial_correlation(x, y, block, confidence=confidence)),
        ):
            row[f"{prefix}_r"] = result.r
            row[f"{prefix}_ci_low"] = result.ci_low
            row[f"{prefix}_ci_high"] = result.ci_high
            row[f"{prefix}_p"] = result.p_value
            if result.note and result.note not in notes:
                notes.append(f"{prefix}: {result.note}" if prefix == "partial" else result.note)
        row["note"] = "; ".join(dict.fromkeys(notes))
        rows.append(row)
    columns = ["metric", "outcome", "n", "n_dropped"]
    for prefix in ("pearson", "spearman", "partial"):
        columns += [f"{prefix}_r", f"{prefix}_ci_low", f"{prefix}_ci_high", f"{prefix}_p"]
    return pd.DataFrame(rows, columns=[*columns, "controls", "note"])


def _zscore(values):
    return (values - values.mean()) / values.std(ddof=1)


def ols_table(
    frame: pd.DataFrame,
    metrics=None,
    outcomes=None,
    controls=None,
    *,
    encoding="auto",
    confidence=0.95,
) -> pd.DataFrame:
    """OLS (statsmodels) of each outcome on each metric plus the controls, standardized.

    The outcome, the metric and the linear controls are z-scored (controls by level enter
    as indicators), so a coefficient is the change in outcome standard deviations per
    standard deviation of the predictor, the others held fixed.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per run (:func:`~topokit.analysis.load_results`); failed runs are ignored.
    metrics : list of str, optional
        Default :func:`metric_columns`. Metrics that are also controls or outcomes are
        left out.
    outcomes : list of str, optional
        Default: those of :data:`DEFAULT_OUTCOMES` in the frame.
    controls : list of str, optional
        Default :func:`default_controls`.
    encoding : {"auto", "linear", "levels"}, default "auto"
        How numeric controls enter (see the module docstring).
    confidence : float, default 0.95
        Level of the coefficients' confidence intervals.

    Returns
    -------
    pandas.DataFrame
        Columns ``metric``, ``outcome``, ``n``, ``n_dropped``, ``beta_metric``,
        ``beta_metric_ci_low``, ``beta_metric_ci_high``, ``p_metric``, ``beta_density``,
        ``beta_density_ci_low``, ``beta_density_ci_high``, ``p_density`` (the first
        numeric control; NaN without one), ``r2``, ``r2_adj``, ``controls``, ``note``.

    Raises
    ------
    TopokitError
        If ``frame`` is not a DataFrame, a named column is not in it, or ``encoding``
        is not one of the three, or ``confidence`` is not in (0, 1).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from topokit.analysis.statistics import ols_table
    >>> rng = np.random.default_rng(2)
    >>> frame = pd.DataFrame({"net_density": rng.normal(size=40),
    ...                       "net_lambda2": rng.normal(size=40)})
    >>> frame["test_accuracy"] = 2 * frame.net_lambda2 + 0.1 * rng.normal(size=40)
    >>> row = ols_table(frame).iloc[0]
    >>> bool(row.beta_metric > 0.99), bool(abs(row.beta_density) < 0.05)
    (True, True)
    """
    import statsmodels.api as sm

    confidence = _check_confidence(confidence)
    rows = []
    names = ["beta_metric", "beta_metric_ci_low", "beta_metric_ci_high", "p_metric"]
    names += ["beta_density", "beta_density_ci_low", "beta_density_ci_high", "p_density"]
    for row, x, y, block, numeric in _cases(frame, metrics, outcomes, controls, encoding):
        row.update(dict.fromkeys([*names, "r2", "r2_adj"], math.nan))
        note = _screen(x, y, 4 + block.shape[1], "an OLS fit")
        design = None
        if not note:
            columns = [_zscore(x)]
            for j in range(block.shape[1]):
                column = block[:, j]
                columns.append(_zscore(column) if j < len(numeric) else column)
            design = sm.add_constant(np.column_stack(columns), has_constant="add")
            if np.linalg.matrix_rank(design) < design.shape[1]:
                note = "metric is collinear with the controls"
        if note:
            row["note"] = note
            rows.append(row)
            continue
        fit = sm.OLS(_zscore(y), design).fit()
        intervals = fit.conf_int(alpha=1 - confidence)
        row.update(
            beta_metric=fit.params[1],
            beta_metric_ci_low=intervals[1, 0],
            beta_metric_ci_high=intervals[1, 1],
            p_metric=fit.pvalues[1],
            r2=fit.rsquared,
            r2_adj=fit.rsquared_adj,
            note="",
        )
        if numeric:
            row.update(
                beta_density=fit.params[2],
                beta_density_ci_low=intervals[2, 0],
                beta_density_ci_high=intervals[2, 1],
                p_density=fit.pvalues[2],
            )
        rows.append(row)
    columns = ["metric", "outcome", "n", "n_dropped", *names, "r2", "r2_adj", "controls", "note"]
    return pd.DataFrame(rows, columns=columns)


def cross_validation_table(
    frame: pd.DataFrame,
    metrics=None,
    outcomes=None,
    controls=None,
    *,
    encoding="auto",
    n_splits=5,
    seed=0,
) -> pd.DataFrame:
    """Cross-validated R² (:func:`cross_validated_r2`) of each outcome from each metric
    alone, from the controls alone, and from both, on the same runs.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per run (:func:`~topokit.analysis.load_results`); failed runs are ignored.
    metrics : list of str, optional
        Default :func:`metric_columns`. Metrics that are also controls or outcomes are
        left out.
    outcomes : list of str, optional
        Default: those of :data:`DEFAULT_OUTCOMES` in the frame.
    controls : list of str, optional
        Default :func:`default_controls`.
    encoding : {"auto", "linear", "levels"}, default "auto"
        How numeric controls enter (see the module docstring).
    n_splits : int, default 5
        Number of folds (fewer when there are too few runs).
    seed : int, default 0
        Seed of the shuffled folds; the same seed gives the same folds for all three
        models.

    Returns
    -------
    pandas.DataFrame
        Columns ``metric``, ``outcome``, ``n``, ``n_dropped``, ``r2_metric``,
        ``r2_density`` (the controls alone), ``r2_metric_density`` (metric and controls),
        ``delta_r2`` (``r2_metric_density − r2_density``), ``controls``, ``note``.

    Raises
    ------
    TopokitError
        If ``frame`` is not a DataFrame, a named column is not in it, or ``encoding``
        is not one of the three.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from topokit.analysis.statistics import cross_validation_table
    >>> rng = np.random.default_rng(3)
    >>> frame = pd.DataFrame({"net_density": rng.uniform(size=60),
    ...                       "net_lambda2": rng.normal(size=60)})
    >>> frame["test_accuracy"] = frame.net_lambda2 + frame.net_density
    >>> row = cross_validation_table(frame).iloc[0]
    >>> float(round(row.r2_metric_density, 9)), bool(row.delta_r2 > 0.8)
    (1.0, True)
    """
    rows = []
    for row, x, y, block, _ in _cases(frame, metrics, outcomes, controls, encoding):
        notes = []
        if len(x) and _is_constant(x):
            notes.append("metric is constant")
        r2 = {}
        for name, X in (
            ("r2_metric", x[:, None]),
            ("r2_density", block),
            ("r2_metric_density", np.column_stack([x, block])),
        ):
            r2[name], note = cross_validated_r2(X, y, n_splits=n_splits, seed=seed)
            if note:
                notes.append(note)
        if any(note.startswith("too few runs for cross-validation") for note in notes):
            r2 = dict.fromkeys(r2, math.nan)  # no R² shown beside "too few runs"
        row.update(r2)
        row["delta_r2"] = r2["r2_metric_density"] - r2["r2_density"]
        row["note"] = "; ".join(dict.fromkeys(notes))
        rows.append(row)
    columns = ["metric", "outcome", "n", "n_dropped", "r2_metric", "r2_density"]
    columns += ["r2_metric_density", "delta_r2", "controls", "note"]
    return pd.DataFrame(rows, columns=columns)


def _finite_values(data: pd.DataFrame, name: str) -> np.ndarray:
    values = data[name].to_numpy(dtype=float)
    return np.where(np.isfinite(values), values, np.nan)


def _representative(members) -> str:
    """The member that stands for a group: its first ``mean_`` metric (the figures' axis),
    else its first member."""
    return next((name for name in members if name.startswith("mean_")), members[0])


def metric_groups(
    frame: pd.DataFrame, metrics=None, controls=None, *, encoding="auto"
) -> pd.DataFrame:
    """Group the metrics that say the same thing in this study, so each is tested once.

    Found from the data, over the successful runs:

    - ``"constant"``: every metric that takes one value (to 1e-10 relative) across the runs;
    - ``"controls"``: every metric that the controls determine, i.e. a least-squares fit on
      the control block (:func:`default_controls`, entered as ``encoding`` says) leaves a
      residual sd of at most 1e-8 of the metric's sd (R² = 1 to 1e-16): ``n_edges`` given
      density by level, say;
    - ``"distinct"``: the other metrics, grouped when one is an exact affine function of
      another (the same criterion, fitting one on an intercept and the other, over the
      same runs, at least 3): ``edge_expansion_lower`` = ``fiedler_value``/2, ``min_x`` =
      ``mean_x`` with one sparse layer. A metric with NaN on other runs than another is
      never grouped with it.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per run (:func:`~topokit.analysis.load_results`); failed runs are ignored.
    metrics : list of str, optional
        Default :func:`metric_columns`. Metrics that are also controls are left out.
    controls : list of str, optional
        Default :func:`default_controls`.
    encoding : {"auto", "linear", "levels"}, default "auto"
        How numeric controls enter (see the module docstring).

    Returns
    -------
    pandas.DataFrame
        One row per group: ``metric`` (the member that stands for the group: its first
        ``mean_`` metric, else its first member), ``members`` (tuple of the member
        names, in ``metrics`` order) and ``kind``
        (``"distinct"``, ``"constant"``, ``"controls"``). The distinct groups come first,
        in the order of their first members, then the constant group and the
        control-determined group when there are any.

    Raises
    ------
    TopokitError
        If ``frame`` is not a DataFrame, a named column is not in it, or ``encoding`` is
        not one of the three.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from topokit.analysis.statistics import metric_groups
    >>> rng = np.random.default_rng(0)
    >>> density = np.repeat([0.1, 0.2], 6)
    >>> fiedler = rng.uniform(size=12)
    >>> frame = pd.DataFrame({"net_density": density, "mean_fiedler_value": fiedler,
    ...                       "mean_edge_expansion_lower": fiedler / 2,
    ...                       "mean_n_edges": 640 * density, "mean_n_in": np.full(12, 64.0),
    ...                       "net_lambda2": rng.normal(size=12)})
    >>> for group in metric_groups(frame).itertuples():
    ...     print(group.kind, group.members)
    distinct ('mean_fiedler_value', 'mean_edge_expansion_lower')
    distinct ('net_lambda2',)
    constant ('mean_n_in',)
    controls ('mean_n_edges',)
    """
    data, metrics, _, controls = _arguments(frame, metrics, [], controls, encoding)
    constant, determined, groups = [], [], []  # groups: [representative values, members]
    for metric in metrics:
        values = _finite_values(data, metric)
        finite = ~np.isnan(values)
        if finite.any() and _is_constant(values[finite]):
            constant.append(metric)
            continue
        rows = finite & data[list(controls)].notna().all(axis=1).to_numpy()
        block, _, _ = _control_block(data[rows], controls, encoding)
        if block.shape[1] and rows.sum() >= block.shape[1] + 3:
            design = np.column_stack([np.ones(int(rows.sum())), block])
            if _is_determined(values[rows], design):
                determined.append(metric)
                continue
        for group in groups:
            other = group[0]
            same_runs = np.array_equal(np.isnan(other), ~finite)
            if same_runs and finite.sum() >= 3:
                design = np.column_stack([np.ones(int(finite.sum())), other[finite]])
                if _is_determined(values[finite], design):
                    group[1].append(metric)
                    break
        else:
            groups.append((values, [metric]))
    records = [
        {"metric": _representative(members), "members": tuple(members), "kind": "distinct"}
        for _, members in groups
    ]
    for kind, members in (("constant", constant), ("controls", determined)):
        if members:
            records.append(
                {"metric": _representative(members), "members": tuple(members), "kind": kind}
            )
    return pd.DataFrame(records, columns=["metric", "members", "kind"])


def rank_metrics(
    frame: pd.DataFrame,
    outcome: str = "test_accuracy",
    metrics=None,
    controls=None,
    *,
    encoding="auto",
    confidence=0.95,
    n_splits=5,
    seed=0,
    grouped=True,
) -> pd.DataFrame:
    """Rank the metrics by how much they explain ``outcome`` beyond the controls (density).

    With ``grouped`` (the default), metrics that say the same thing in this study
    (:func:`metric_groups`, over the runs with an ``outcome``) take one row: a group of
    exactly affine metrics is tested once, by the metric that stands for it (its first
    ``mean_`` metric, else its first), and every constant metric
    and every metric determined by the controls share one row each, not tested. So each
    row is one hypothesis, and a multiple-testing correction over the rows counts distinct
    hypotheses. Sorted by the absolute partial correlation, largest first; rows whose
    partial correlation is undefined (constant, determined by the controls, too few runs)
    come last.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per run (:func:`~topokit.analysis.load_results`); failed runs are ignored.
    outcome : str, default "test_accuracy"
        The outcome column.
    metrics : list of str, optional
        Default :func:`metric_columns`. Metrics that are also controls or the outcome are
        left out.
    controls : list of str, optional
        Default :func:`default_controls`.
    encoding : {"auto", "linear", "levels"}, default "auto"
        How numeric controls enter (see the module docstring).
    confidence : float, default 0.95
        Level of the partial correlations' confidence intervals.
    n_splits : int, default 5
        Number of folds of the cross-validated R² (fewer when there are too few runs).
    seed : int, default 0
        Seed of the shuffled folds.
    grouped : bool, default True
        One row per group of :func:`metric_groups`, tested by the metric that stands for
        it; False gives one row per metric.

    Returns
    -------
    pandas.DataFrame
        Columns ``rank`` (from 1), ``metric`` (the metric that stands for a group),
        ``members``
        (the group's metrics, comma-separated; the metric itself when not grouped),
        ``kind`` (of the group: ``"distinct"``, ``"constant"``, ``"controls"``), ``n``,
        ``partial_r``, ``partial_ci_low``, ``partial_ci_high``, ``partial_p``,
        ``pearson_r``, ``r2_metric``, ``r2_density``, ``r2_metric_density``,
        ``delta_r2``, ``controls``, ``note``.

    Raises
    ------
    TopokitError
        If ``outcome`` is not a string, ``frame`` is not a DataFrame, a named column is
        not in it, ``encoding`` is not one of the three, or ``confidence`` is not in
        (0, 1).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from topokit.analysis.statistics import rank_metrics
    >>> rng = np.random.default_rng(4)
    >>> density = rng.uniform(0.05, 0.2, size=80)
    >>> frame = pd.DataFrame({"net_density": density,
    ...                       "net_n_edges": 1000 * density,
    ...                       "net_spectral_gap": rng.normal(size=80)})
    >>> frame["test_accuracy"] = frame.net_spectral_gap + 5 * density
    >>> frame["mean_spectral_gap"] = frame.net_spectral_gap / 3 + 1
    >>> rank_metrics(frame)[["rank", "members", "kind"]].to_numpy().tolist()
    [[1, 'net_spectral_gap, mean_spectral_gap', 'distinct'], [2, 'net_n_edges', 'controls']]
    """
    if not isinstance(outcome, str):
        raise TopokitError(f"outcome must be a column name, got {outcome!r}")
    correlations = correlation_table(
        frame, metrics, [outcome], controls, encoding=encoding, confidence=confidence
    ).set_index("metric")
    validation = cross_validation_table(
        frame, metrics, [outcome], controls, encoding=encoding, n_splits=n_splits, seed=seed
    ).set_index("metric")
    table = correlations[
        ["n", "partial_r", "partial_ci_low", "partial_ci_high", "partial_p", "pearson_r"]
    ].join(validation[["r2_metric", "r2_density", "r2_metric_density", "delta_r2"]])
    table["controls"] = correlations["controls"]
    table["note"] = [
        "; ".join(dict.fromkeys(filter(None, (a, b))))
        for a, b in zip(correlations["note"], validation["note"], strict=True)
    ]
    table = table.reset_index()
    table.insert(1, "members", table["metric"])
    table.insert(2, "kind", "distinct")
    if grouped and len(table):
        table = _grouped(table, frame, outcome, controls, encoding)
    order = table["partial_r"].abs().sort_values(ascending=False, na_position="last").index
    table = table.loc[order].reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table


_UNTESTED_NOTES = {"constant": "constant across the runs", "controls": "determined by the controls"}


def _grouped(table, frame, outcome, controls, encoding) -> pd.DataFrame:
    """One row of ``table`` per :func:`metric_groups` group: its first member's, naming the
    members; the constant and control-determined groups untested, with their reason."""
    controls = default_controls(frame) if controls is None else controls
    data = _successful(frame)
    data = data[np.isfinite(pd.to_numeric(data[outcome], errors="coerce").to_numpy(float))]
    groups = metric_groups(data, list(table["metric"]), controls, encoding=encoding)
    rows = table.set_index("metric")
    records = []
    for group in groups.itertuples():
        row = rows.loc[group.metric].copy()
        row["members"] = ", ".join(group.members)
        row["kind"] = group.kind
        if group.kind != "distinct":
            for name in rows.columns:
                if name.startswith(("partial_", "pearson_", "r2_", "delta_")):
                    row[name] = math.nan
            row["note"] = _UNTESTED_NOTES[group.kind]
        records.append(row.rename(group.metric))
    grouped = pd.DataFrame(records).rename_axis("metric").reset_index()
    return grouped.astype(table.dtypes.to_dict())
