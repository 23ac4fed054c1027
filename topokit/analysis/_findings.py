"""Plain-language findings from the statistics tables: every sentence is built from the
numbers it states, including when the data do not support a relationship."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from topokit.analysis.statistics import (
    OUTCOME_LABELS,
    default_controls,
    metric_columns,
    rank_metrics,
)

__all__ = [
    "MIN_RUNS",
    "classify",
    "edge_level",
    "format_p",
    "interval",
    "ranking_findings",
    "summary",
    "verdicts",
]

#: Below this many successful runs a study is called too small to conclude anything.
MIN_RUNS = 10
#: Family-wise error rate for the Holm correction over the metrics tested.
ALPHA = 0.05

SUPPORTED = "supported"
SUGGESTIVE = "suggestive only"
NOT_SUPPORTED = "not supported"
NOT_ASSESSED = "cannot be assessed"


def edge_level(frame: pd.DataFrame) -> str:
    """The column that gives a study's edge count: ``"density"`` when any run has one,
    else ``"degree"``."""
    return "density" if frame["density"].notna().any() else "degree"


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
    """The ranking with ``p_holm`` (Holm-adjusted partial p over the assessable rows: one
    per group of identical metrics when the ranking is grouped, so the correction counts
    distinct hypotheses)
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
    names = [f"`{name.strip()}`" for item in rows for name in str(item).split(",")]
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
    n_tests = int(table["p_holm"].notna().sum())
    tests = f"{n_tests} distinct {'hypothesis' if n_tests == 1 else 'hypotheses'}"
    names = "members" if "members" in table.columns else "metric"
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
                f"{len(supported)} of {len(assessed)} distinct metrics tested have a partial "
                f"correlation whose 95% CI excludes 0 and that survives the Holm correction "
                f"for {tests}: "
                f"{_names(supported[names])}."
            )
    else:
        lines.append(
            f"The data do NOT support any metric explaining {outcome_label} beyond density: "
            f"none of the {len(assessed)} distinct metrics tested has a partial correlation that "
            f"survives the Holm correction for {tests}. The "
            f"strongest was " + _metric_sentence(top, outcome_label)
        )
    if len(suggestive):
        lines.append(
            f"Suggestive only (95% CI of the partial r excludes 0, but not significant after "
            f"the Holm correction for {tests}): {_names(suggestive[names])}."
        )
    if len(unsupported):
        lines.append(
            f"Not supported (95% CI of the partial r includes 0): {_names(unsupported[names])}."
        )
    missing = table[table["verdict"] == NOT_ASSESSED]
    if len(missing):
        reasons = missing.groupby("note", sort=False)[names].apply(list)
        parts = [f"{_names(names, 4)} ({note or 'undefined'})" for note, names in reasons.items()]
        lines.append(f"Not assessable against {outcome_label}: " + "; ".join(parts) + ".")
    return lines


# ------------------------------------------------------------------ the study's summary


def _density_sentence(ok: pd.DataFrame) -> list[str]:
    level = edge_level(ok)
    sparse = ok.dropna(subset=[level, "test_accuracy"])
    lines = []
    if sparse[level].nunique() > 1:
        means = sparse.groupby(level)["test_accuracy"].agg(["mean", "count"])
        parts = [
            f"{100 * row['mean']:.2f}% at {level} {value:g} (n = {int(row['count'])})"
            for value, row in means.iterrows()
        ]
        lines.append(
            "Mean test accuracy over the sparse runs is "
            + ", ".join(parts[:-1])
            + f" and {parts[-1]}."
        )
    dense = ok[ok["family"] == "dense"]["test_accuracy"].dropna()
    if len(dense):
        sd = f" ± {100 * dense.std(ddof=1):.2f}" if len(dense) > 1 else ""
        lines.append(
            f"The dense reference reaches {100 * dense.mean():.2f}%{sd}% (n = {len(dense)})."
        )
    return lines


def _best_variants(ok: pd.DataFrame) -> list[str]:
    level = edge_level(ok)
    lines = []
    sparse = ok.dropna(subset=[level, "test_accuracy"])
    for value, group in sparse.groupby(level):
        stats = group.groupby("variant")["test_accuracy"].agg(["mean", "std", "count"])
        if len(stats) < 2:
            continue
        stats = stats.sort_values("mean", ascending=False)
        best, worst = stats.iloc[0], stats.iloc[-1]
        spread = 100 * (best["mean"] - worst["mean"])
        noise = 100 * float(np.nanmedian(stats["std"])) if stats["std"].notna().any() else math.nan
        compare = (
            f"; the median seed-to-seed sd is {noise:.2f} points" if np.isfinite(noise) else ""
        )
        lines.append(
            f"At {level} {value:g}, `{stats.index[0]}` has the highest mean test accuracy "
            f"({100 * best['mean']:.2f}%) and `{stats.index[-1]}` the lowest "
            f"({100 * worst['mean']:.2f}%), {spread:.2f} points apart{compare}."
        )
    return lines


def _epochs_findings(analysis, ok: pd.DataFrame) -> list[str]:
    config = (analysis.study or {}).get("config", {})
    training = config.get("training", {})
    target, epochs = training.get("target_accuracy"), training.get("epochs")
    if target is None:
        return ["No target accuracy was set, so epochs to target was not analysed."]
    reached = ok["epochs_to_target"].notna()
    n, k = len(ok), int((~reached).sum())
    lines = []
    if k:
        lines.append(
            f"{k} of {n} successful runs ({100 * k / n:.0f}%) never reached the target "
            f"accuracy {target:g} within {epochs} epochs: their epochs to target is censored, "
            f"and the epochs-to-target statistics use only the {n - k} runs that reached it, "
            f"which leaves the slowest runs out and biases the estimates."
        )
    else:
        lines.append(f"Every successful run reached the target accuracy {target:g}.")
    if n - k < MIN_RUNS or k > n / 2:
        lines.append(
            "The data do NOT support conclusions about epochs to target: too few runs "
            f"reached the target ({n - k} of {n})."
        )
        return lines
    values = ok.loc[reached, "epochs_to_target"]
    if values.nunique() < 2:
        lines.append(
            f"Every run that reached the target did so at epoch {int(values.iloc[0])}, so epochs "
            "to target does not vary and cannot be related to any metric."
        )
        return lines
    ranking = verdicts(rank_metrics(ok, "epochs_to_target"))
    lines += ranking_findings(ranking, OUTCOME_LABELS["epochs_to_target"])[:2]
    return lines


def summary(analysis, ok: pd.DataFrame) -> list[str]:
    """The plain-language summary of a study: run counts, accuracy by density and family,
    and which metrics explain the outcomes beyond density.

    ``analysis`` is the :class:`~topokit.analysis.analyze.StudyAnalysis` (its counts,
    study row and ranking are used), ``ok`` its successful runs.
    """
    counts = analysis.counts
    planned = counts.get("planned")
    total = counts["ok"] + counts["failed"]
    lines = []
    head = f"{total} runs are stored: {counts['ok']} succeeded and {counts['failed']} failed"
    if planned is not None and planned > total:
        head += (
            f"; {planned - total} of the {planned} planned runs are not done yet (partial study)"
        )
    lines.append(head + ".")
    if counts["ok"] < MIN_RUNS:
        lines.append(
            f"With only {counts['ok']} successful runs the data cannot support or rule out any "
            "relationship; the intervals below are wide or undefined."
        )
    controls = default_controls(ok)
    others = [c for c in controls if c not in ("net_density", "density")]
    if len(others) == len(controls):
        beyond = f"the correlation given {', '.join(others)}" if others else "the plain correlation"
        lines.append(
            f"Density does not vary across the successful runs, so 'beyond density' is {beyond}."
        )
    lines += _density_sentence(ok)
    lines += _best_variants(ok)
    n_metrics = len(metric_columns(ok))
    if n_metrics == 0:
        lines.append("The study recorded no topology metrics, so no relationship was tested.")
    else:
        lines += ranking_findings(analysis.ranking, OUTCOME_LABELS["test_accuracy"])
    if "epochs_to_target" in ok.columns:
        lines += _epochs_findings(analysis, ok)
    return lines
