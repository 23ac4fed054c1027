"""Single estimates with their uncertainty: Pearson, Spearman and partial correlation with
confidence intervals, cross-validated R², and a fitted line with the confidence band of its
mean (the methods are described in :mod:`topokit.analysis.statistics`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.stats as stats

from topokit._errors import TopokitError

__all__ = [
    "Correlation",
    "FitLine",
    "cross_validated_r2",
    "fit_line",
    "partial_correlation",
    "pearson",
    "spearman",
]

_RELATIVE_TOLERANCE = 1e-10


@dataclass(frozen=True)
class Correlation:
    """A correlation coefficient with its confidence interval.

    What :func:`pearson`, :func:`spearman` and :func:`partial_correlation` return; each
    parameter is an attribute of the same name (the instance is frozen).

    Parameters
    ----------
    r : float
        The coefficient (NaN when it cannot be computed; see ``note``).
    ci_low, ci_high : float
        The confidence interval.
    p_value : float
        Two-sided, for the null hypothesis r = 0.
    n : int
        Number of observations used.
    note : str, default ""
        Why the value is NaN, or ``""``.

    Examples
    --------
    >>> from topokit.analysis.statistics import Correlation, pearson
    >>> result = pearson([1, 2, 3, 4, 5], [2, 4, 5, 4, 5])
    >>> isinstance(result, Correlation), result.n, bool(result.ci_low < result.r < result.ci_high)
    (True, 5, True)
    >>> pearson([1, 2, 3], [1, 2, 4]).note
    'too few runs for a correlation with a confidence interval (n=3, need at least 4)'
    """

    r: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    note: str = ""

    @classmethod
    def missing(cls, n: int, note: str) -> Correlation:
        """A result whose coefficient, interval and p-value are NaN, with the reason.

        Parameters
        ----------
        n : int
            Number of observations there were.
        note : str
            Why there is no coefficient.

        Returns
        -------
        Correlation

        Examples
        --------
        >>> from topokit.analysis.statistics import Correlation
        >>> Correlation.missing(10, "metric is constant")
        Correlation(r=nan, ci_low=nan, ci_high=nan, p_value=nan, n=10, note='metric is constant')
        """
        return cls(math.nan, math.nan, math.nan, math.nan, n, note)


def _check_confidence(confidence) -> float:
    if not isinstance(confidence, float | int) or not 0 < confidence < 1:
        raise TopokitError(f"confidence must be in (0, 1), got {confidence!r}")
    return float(confidence)


def _fisher_interval(r, standard_error, confidence):
    """``tanh(atanh(r) ± z·standard_error)``. Written here because scipy gives no interval
    for Spearman's ρ (``spearmanr`` has no ``confidence_interval``) nor for a partial
    correlation; Pearson's comes from ``scipy.stats.pearsonr``."""
    if abs(r) >= 1:
        return float(r), float(r)
    z = math.atanh(r)
    half = stats.norm.ppf(0.5 + confidence / 2) * standard_error
    return math.tanh(z - half), math.tanh(z + half)


def _is_constant(values) -> bool:
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return True
    scale = max(np.abs(values).max(initial=0.0), 1e-300)
    return np.ptp(values) <= _RELATIVE_TOLERANCE * scale


def _pair(x, y):
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if x.shape != y.shape:
        raise TopokitError(f"x and y must have the same length, got {x.size} and {y.size}")
    return x, y


def _screen(x, y, minimum, what) -> str:
    n = x.size
    if n < minimum:
        return f"too few runs for {what} (n={n}, need at least {minimum})"
    if _is_constant(x):
        return "metric is constant"
    if _is_constant(y):
        return "outcome is constant"
    return ""


def _pair_for_correlation(x, y, confidence):
    """The checked confidence, x and y, and the reason there is no coefficient (or "")."""
    confidence = _check_confidence(confidence)
    x, y = _pair(x, y)
    return confidence, x, y, _screen(x, y, 4, "a correlation with a confidence interval")


def pearson(x, y, *, confidence: float = 0.95) -> Correlation:
    """Pearson's r with scipy's p-value and Fisher-z confidence interval.

    Both come from ``scipy.stats.pearsonr``; the interval is
    ``tanh(atanh(r) ± z/√(n − 3))``.

    Parameters
    ----------
    x, y : array_like of shape (n,)
        Finite values.
    confidence : float, default 0.95

    Returns
    -------
    Correlation
        NaN with a note for n < 4 or a constant input.

    Examples
    --------
    >>> from topokit.analysis.statistics import pearson
    >>> result = pearson([1, 2, 3, 4, 5], [1.1, 1.9, 3.2, 3.8, 5.1])
    >>> round(result.r, 4), bool(result.ci_low > 0.8)
    (0.9946, True)
    """
    confidence, x, y, note = _pair_for_correlation(x, y, confidence)
    if note:
        return Correlation.missing(x.size, note)
    result = stats.pearsonr(x, y)
    low, high = result.confidence_interval(confidence_level=confidence)
    r = float(np.clip(result.statistic, -1.0, 1.0))
    return Correlation(r, float(low), float(high), float(result.pvalue), x.size)


def spearman(x, y, *, confidence: float = 0.95) -> Correlation:
    """Spearman's ρ with a Fisher-z (Bonett–Wright variance) interval and scipy's p-value.

    The interval is ``tanh(atanh(ρ) ± z·√((1 + ρ²/2)/(n − 3)))`` (Bonett & Wright 2000).

    Parameters
    ----------
    x, y : array_like of shape (n,)
    confidence : float, default 0.95

    Returns
    -------
    Correlation

    Examples
    --------
    >>> from topokit.analysis.statistics import spearman
    >>> round(spearman([1, 2, 3, 4, 5], [1, 4, 9, 16, 25]).r, 12)   # monotone: rho = 1
    1.0
    """
    confidence, x, y, note = _pair_for_correlation(x, y, confidence)
    if note:
        return Correlation.missing(x.size, note)
    result = stats.spearmanr(x, y)
    rho = float(np.clip(result.statistic, -1.0, 1.0))
    standard_error = math.sqrt((1 + rho**2 / 2) / (x.size - 3))
    low, high = _fisher_interval(rho, standard_error, confidence)
    p_value = 0.0 if abs(rho) == 1 else float(result.pvalue)
    return Correlation(rho, low, high, p_value, x.size)


def _controls_matrix(controls, n) -> np.ndarray:
    if controls is None:
        return np.empty((n, 0))
    matrix = np.asarray(controls, dtype=float)
    if matrix.ndim == 1:
        matrix = matrix[:, None]
    if matrix.ndim != 2 or matrix.shape[0] != n:
        raise TopokitError(
            f"controls must be of shape (n,) or (n, k) with n={n}, got shape {matrix.shape}"
        )
    return matrix


def _residualize(values, design):
    coefficients, *_ = np.linalg.lstsq(design, values, rcond=None)
    return values - design @ coefficients


def _is_determined(values, design) -> bool:
    """Whether least squares on ``design`` reproduces ``values`` exactly: the residual's sd
    is at most 1e-8 of the values' sd (R² = 1 to within 1e-16). Constant values count as
    determined."""
    values = np.asarray(values, dtype=float)
    return bool(_residualize(values, design).std() <= 1e-8 * values.std())


def _rank(controls) -> int:
    if controls.shape[1] == 0:
        return 0
    centered = controls - controls.mean(axis=0)
    return int(np.linalg.matrix_rank(centered))


def partial_correlation(x, y, controls=None, *, confidence: float = 0.95) -> Correlation:
    """Correlation of ``x`` and ``y`` after removing what the controls explain linearly.

    Both are residualized by least squares on an intercept and the controls; the
    residuals are correlated. With k the rank of the (centered) controls: p-value from
    Student's t with n − 2 − k degrees of freedom, CI by Fisher's z with standard error
    1/√(n − 3 − k).

    Parameters
    ----------
    x, y : array_like of shape (n,)
    controls : array_like of shape (n,) or (n, k), optional
        None gives the ordinary Pearson correlation.
    confidence : float, default 0.95

    Returns
    -------
    Correlation
        NaN with a note when n − 3 − k < 1, an input is constant, or the controls
        determine x or y (nothing is left to correlate).

    Examples
    --------
    >>> import numpy as np
    >>> from topokit.analysis.statistics import partial_correlation
    >>> rng = np.random.default_rng(0)
    >>> density = rng.uniform(size=200)
    >>> metric = rng.normal(size=200)
    >>> accuracy = metric + 3 * density + 0.1 * rng.normal(size=200)
    >>> partial_correlation(metric, accuracy, density).r > 0.99
    True
    """
    confidence = _check_confidence(confidence)
    x, y = _pair(x, y)
    n = x.size
    controls = _controls_matrix(controls, n)
    k = _rank(controls)
    note = _screen(x, y, 4 + k, f"a partial correlation with {k} controls")
    if note:
        return Correlation.missing(n, note)
    design = np.column_stack([np.ones(n), controls])
    residual_x, residual_y = _residualize(x, design), _residualize(y, design)
    for name, values in (("metric", x), ("outcome", y)):
        if _is_determined(values, design):
            return Correlation.missing(n, f"{name} is determined by the controls")
    r = float(np.clip(np.corrcoef(residual_x, residual_y)[0, 1], -1.0, 1.0))
    df = n - 2 - k
    if abs(r) == 1:
        p_value = 0.0
    else:
        t = r * math.sqrt(df / (1 - r**2))
        p_value = float(2 * stats.t.sf(abs(t), df))
    low, high = _fisher_interval(r, 1 / math.sqrt(n - 3 - k), confidence)
    return Correlation(r, low, high, p_value, n)


def cross_validated_r2(X, y, *, n_splits: int = 5, seed: int = 0) -> tuple[float, str]:
    """Out-of-fold R² of a least-squares fit of ``y`` on ``X`` (with an intercept).

    The runs are split by ``sklearn.model_selection.KFold(n_splits, shuffle=True,
    random_state=seed)`` (fewer folds when n is small); each fold is predicted by the fit
    on the others (``cross_val_predict`` of a ``LinearRegression``), and R² = 1 − SSE/SST
    (``r2_score``) of all out-of-fold predictions pooled, SST about the mean of y. A model
    that predicts worse than the mean has R² < 0. This is not ``cross_val_score``'s mean
    of the per-fold R², which a fold of one run leaves undefined and small folds make
    noisy.

    Parameters
    ----------
    X : array_like of shape (n, p)
        Predictors; p = 0 fits the intercept alone.
    y : array_like of shape (n,)
    n_splits : int, default 5
    seed : int, default 0

    Returns
    -------
    r2 : float
        NaN when it cannot be computed.
    note : str
        Why it is NaN, or ``""``.

    Examples
    --------
    >>> import numpy as np
    >>> from topokit.analysis.statistics import cross_validated_r2
    >>> x = np.arange(20.0)
    >>> r2, note = cross_validated_r2(x[:, None], 2 * x + 1)
    >>> round(r2, 12), note
    (1.0, '')
    """
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import r2_score
    from sklearn.model_selection import KFold, cross_val_predict

    y = np.asarray(y, dtype=float).ravel()
    X = np.asarray(X, dtype=float)
    X = X[:, None] if X.ndim == 1 else X
    n, p = X.shape
    folds = min(n_splits, n // (p + 2)) if n else 0
    if folds < 2:
        return math.nan, f"too few runs for cross-validation (n={n}, need at least {2 * (p + 2)})"
    if _is_constant(y):
        return math.nan, "outcome is constant"
    # The intercept is a column of the design, not LinearRegression's fit_intercept: the
    # latter centres each training fold first, which gives other predictions where a fold's
    # design is rank-deficient (a density level absent from the fold); on the design itself
    # the least-squares solution is the minimum-norm one, and p = 0 fits the mean alone.
    design = np.column_stack([np.ones(n), X])
    folds = KFold(n_splits=folds, shuffle=True, random_state=seed)
    predicted = cross_val_predict(LinearRegression(fit_intercept=False), design, y, cv=folds)
    return float(r2_score(y, predicted)), ""


@dataclass(frozen=True)
class FitLine:
    """An OLS line ``y = intercept + slope·x`` with the confidence band of its mean.

    What :func:`fit_line` returns; each parameter is an attribute of the same name (the
    instance is frozen).

    Parameters
    ----------
    x : numpy.ndarray of shape (n_points,)
        Where the line is evaluated (evenly spaced over the data's range).
    y, ci_low, ci_high : numpy.ndarray of shape (n_points,)
        Fitted mean and its confidence band.
    slope, intercept : float
        Coefficients of the fitted line.
    n : int
        Number of points fitted.

    Examples
    --------
    >>> from topokit.analysis.statistics import fit_line
    >>> line = fit_line([0, 1, 2, 3], [1, 3, 5, 7.5], n_points=3)
    >>> line.x.tolist(), line.y.round(3).tolist()
    ([0.0, 1.5, 3.0], [0.9, 4.125, 7.35])
    >>> bool((line.ci_low < line.y).all() and (line.y < line.ci_high).all())
    True
    """

    x: np.ndarray
    y: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    slope: float
    intercept: float
    n: int


def fit_line(x, y, *, confidence: float = 0.95, n_points: int = 100) -> FitLine:
    """Least-squares line of ``y`` on ``x`` and the confidence band of the fitted mean.

    statsmodels' ``OLS(y, [1, x]).get_prediction(grid).summary_frame(alpha)``: the band at
    x₀ is ``ŷ(x₀) ± t·s·√(1/n + (x₀ − x̄)²/Sxx)``, t the Student quantile with n − 2
    degrees of freedom, s² the residual variance.

    Parameters
    ----------
    x, y : array_like of shape (n,)
        Finite values; x must not be constant.
    confidence : float, default 0.95
    n_points : int, default 100

    Returns
    -------
    FitLine

    Raises
    ------
    TopokitError
        With fewer than 3 points, a constant x, or non-finite values.

    Examples
    --------
    >>> from topokit.analysis.statistics import fit_line
    >>> line = fit_line([0, 1, 2, 3], [1, 3, 5, 7.5])
    >>> round(line.slope, 3), round(line.intercept, 3), line.n
    (2.15, 0.9, 4)
    """
    import statsmodels.api as sm

    x, y = _pair(x, y)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise TopokitError("x and y must be finite to fit a line")
    n = x.size
    if n < 3:
        raise TopokitError(f"fitting a line with a band needs at least 3 points, got {n}")
    if not 0 < confidence < 1:
        raise TopokitError(f"confidence must be in (0, 1), got {confidence!r}")
    # statsmodels fits a constant x through a pseudo-inverse without complaint: refused here
    if np.sum((x - x.mean()) ** 2) <= 1e-24 * max(1.0, float(np.max(np.abs(x)))) ** 2:
        raise TopokitError("x is constant: no line can be fitted")
    fit = sm.OLS(y, sm.add_constant(x, has_constant="add")).fit()
    grid = np.linspace(x.min(), x.max(), n_points)
    band = fit.get_prediction(sm.add_constant(grid, has_constant="add"))
    band = band.summary_frame(alpha=1 - confidence)
    return FitLine(
        grid,
        band["mean"].to_numpy(),
        band["mean_ci_lower"].to_numpy(),
        band["mean_ci_upper"].to_numpy(),
        float(fit.params[1]),
        float(fit.params[0]),
        n,
    )
