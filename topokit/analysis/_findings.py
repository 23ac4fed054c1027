"""Plain-language findings from the statistics tables: every sentence is built from the
numbers it states, including when the data do not support a relationship."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = ["MIN_RUNS", "classify", "format_p", "interval", "verdicts"]

#: Below this many successful runs a study is called too small to conclude anything.
MIN_RUNS = 10
#: Family-wise error rate for the Holm correction over the metrics tested.
ALPHA = 0.05

SUPPORTED = "supported"
SUGGESTIVE = "suggestive only"
NOT_SUPPORTED = "not supported"
NOT_ASSESSED = "cannot be assessed"


def format_p(p) -> str:
    """A p-value for a sentence or a table cell."""
    if p is None or not np.isfinite(p):
        return "n/a"
    if p < 1e-4:
        return f"{p:.1e}"
    return f"{p:.4f}" if p < 0.01 else f"{p:.3f}"


def interval(r, low, high) -> str:
    """``+0.42 [+0.26, +0.56]``, or ``n/a``."""
    if r is None or not np.isfinite(r):
        return "n/a"
    return f"{r:+.3f} [{low:+.3f}, {high:+.3f}]"


def verdicts(ranking: pd.DataFrame) -> pd.DataFrame:
    """The ranking with ``p_holm`` (Holm-adjusted partial p over the assessable metrics)
    and ``verdict``: supported (95% CI of the partial r excludes 0 and p_holm < 0.05),
    suggestive only (the CI excludes 0 but p_holm ≥ 0.05), not supported (the CI
    includes 0), cannot be assessed (no partial r; ``note`` says why)."""
    from statsmodels.stats.multitest import multipletests

    table = ranking.copy()
    table["p_holm"] = math.nan
    defined = table["partial_p"].notna() & table["partial_r"].notna()
    if defined.any():
        table.loc[defined, "p_holm"] = multipletests(
            table.loc[defined, "partial_p"].to_numpy(float), alpha=ALPHA, method="holm"
        )[1]
    table["verdict"] = [classify(row) for row in table.itertuples()]
    return table


def classify(row) -> str:
    """The verdict of one ranking row (see :func:`verdicts`)."""
    if not np.isfinite(row.partial_r) or not np.isfinite(row.partial_ci_low):
        return NOT_ASSESSED
    if row.partial_ci_low <= 0 <= row.partial_ci_high:
        return NOT_SUPPORTED
    if np.isfinite(row.p_holm) and row.p_holm < ALPHA:
        return SUPPORTED
    return SUGGESTIVE


def _names(rows, limit=8) -> str:
    names = [f"`{name}`" for name in rows]
    if len(names) > limit:
        return ", ".join(names[:limit]) + f" and {len(names) - limit} more"
    return ", ".join(names)


def _metric_sentence(row, outcome_label: str) -> str:
    delta = row.delta_r2
    text = (
        f"`{row.metric}`: partial r with {outcome_label} given density = "
        f"{interval(row.partial_r, row.partial_ci_low, row.partial_ci_high)} "
        f"(p = {format_p(row.partial_p)}, Holm-adjusted p = {format_p(row.p_holm)}, "
        f"n = {int(row.n)})"
    )
    if np.isfinite(delta):
        if delta > 0:
            text += (
                f"; it raises the cross-validated R² from {row.r2_density:.3f} (density alone) "
                f"to {row.r2_metric_density:.3f}"
            )
        else:
            text += (
                f"; it does not improve out-of-sample prediction (cross-validated R² "
                f"{row.r2_metric_density:.3f} with density vs {row.r2_density:.3f} without)"
            )
    return text + "."


def ranking_findings(table: pd.DataFrame, outcome_label: str) -> list[str]:
    """Sentences on which metrics explain ``outcome_label`` beyond density."""
    lines = []
    assessed = table[table["verdict"] != NOT_ASSESSED]
    if assessed.empty:
        lines.append(
            f"No metric could be assessed against {outcome_label} beyond density "
            f"({table['note'].iloc[0] if len(table) else 'no metrics recorded'})."
        )
        return lines
    supported = assessed[assessed["verdict"] == SUPPORTED]
    suggestive = assessed[assessed["verdict"] == SUGGESTIVE]
    unsupported = assessed[assessed["verdict"] == NOT_SUPPORTED]
    top = assessed.iloc[0]
    if len(supported):
        best = supported.iloc[0]
        lines.append(
            f"Beyond density, the metric that best explains {outcome_label} is "
            + _metric_sentence(best, outcome_label)
        )
        if len(supported) > 1:
            lines.append(
                f"{len(supported)} of {len(assessed)} metrics tested have a partial correlation "
                f"whose 95% CI excludes 0 and that survives the Holm correction: "
                f"{_names(supported['metric'])}."
            )
    else:
        lines.append(
            f"The data do NOT support any metric explaining {outcome_label} beyond density: "
            f"none of the {len(assessed)} metrics tested has a partial correlation that "
            f"survives the Holm correction for testing {len(assessed)} metrics. The "
            f"strongest was " + _metric_sentence(top, outcome_label)
        )
    if len(suggestive):
        lines.append(
            f"Suggestive only (95% CI of the partial r excludes 0, but not significant after "
            f"the Holm correction for {len(assessed)} tests): {_names(suggestive['metric'])}."
        )
    if len(unsupported):
        lines.append(
            f"Not supported (95% CI of the partial r includes 0): {_names(unsupported['metric'])}."
        )
    missing = table[table["verdict"] == NOT_ASSESSED]
    if len(missing):
        reasons = missing.groupby("note", sort=False)["metric"].apply(list)
        parts = [f"{_names(names, 4)} ({note or 'undefined'})" for note, names in reasons.items()]
        lines.append(f"Not assessable against {outcome_label}: " + "; ".join(parts) + ".")
    return lines
