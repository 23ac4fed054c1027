"""The analysis of a study folder: statistics tables, figures and ``report.md``.

:func:`analyze_study` reads ``DIR/results.sqlite`` (a finished or partial study), computes
the tables of :mod:`topokit.analysis.statistics` over the successful runs, draws the
figures of :mod:`topokit.analysis.plots` into ``DIR/figures/`` (PNG and SVG) and writes
``DIR/report.md``: the study's configuration, the run counts and failure reasons, the
tables, the figures and a plain-language summary built from the numbers.
:func:`write_report` does the same and returns the report's path.

The network-level value of a per-layer metric in the scatter figures is its mean over
the sparse layers (the layers the family builds, the study's ``dense_layers`` left out);
with equal sizes in every run this is an affine function of ``mean_<key>``, so its
correlations equal those of ``mean_<key>`` in the tables. Runs of the ``dense`` family
lie far off the sparse runs on every spectral axis, so the scatters show them as a
reference band and fit the sparse runs only (the tables use every successful run).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from topokit._errors import TopokitError
from topokit.analysis import _findings, plots
from topokit.analysis.results import _open, load_curves, load_results
from topokit.analysis.statistics import (
    DEFAULT_OUTCOMES,
    correlation_table,
    cross_validation_table,
    default_controls,
    metric_columns,
    ols_table,
    rank_metrics,
)
from topokit.analysis.study import RunConfig

__all__ = ["REPORT_FILENAME", "StudyAnalysis", "analyze_study", "write_report"]

#: The report's file name inside the study folder.
REPORT_FILENAME = "report.md"
FIGURES_FOLDER = "figures"

OUTCOME_LABELS = {"test_accuracy": "test accuracy", "epochs_to_target": "epochs to target"}

# stem, per-layer key, whole-network fallback, axis label
_SCATTERS = (
    ("accuracy_vs_spectral_gap", "spectral_gap", "net_spectral_gap", "spectral gap λ1 − λ2"),
    (
        "accuracy_vs_fiedler_value",
        "fiedler_value",
        "net_fiedler_value",
        "Fiedler value (algebraic connectivity)",
    ),
    ("accuracy_vs_ramanujan_gap", "ramanujan_gap", None, "Ramanujan gap (bound − λ2)"),
    (
        "accuracy_vs_normalized_spectral_gap",
        "normalized_spectral_gap",
        None,
        "normalized spectral gap 1 − μ2",
    ),
)


@dataclass
class StudyAnalysis:
    """Everything :func:`analyze_study` computed and wrote.

    Attributes
    ----------
    directory : pathlib.Path
    study : dict or None
        The store's study row (name, config, TOML, created, versions).
    counts : dict
        Stored runs by status (``ok``, ``failed``), and ``planned`` when known.
    failures : pandas.DataFrame
        Failure reasons: ``error``, ``runs``, ``variants``.
    correlations, ols, cross_validation : pandas.DataFrame
        The tables of :mod:`topokit.analysis.statistics` over the successful runs.
    ranking : pandas.DataFrame
        :func:`~topokit.analysis.statistics.rank_metrics` for test accuracy, with
        ``p_holm`` and ``verdict``.
    summary : list of str
        The plain-language findings.
    figures : dict
        Figure name → [PNG path, SVG path].
    report : pathlib.Path
        ``DIR/report.md``.
    """

    directory: Path
    study: dict | None
    counts: dict
    failures: pd.DataFrame
    correlations: pd.DataFrame
    ols: pd.DataFrame
    cross_validation: pd.DataFrame
    ranking: pd.DataFrame
    summary: list = field(default_factory=list)
    figures: dict = field(default_factory=dict)
    report: Path | None = None

    def to_dict(self) -> dict:
        """A JSON-ready dict: tables as lists of records, paths as strings."""

        def records(frame):
            frame = frame.astype(object).where(frame.notna(), None)
            return frame.to_dict(orient="records")

        return {
            "directory": str(self.directory),
            "study": None if self.study is None else self.study["name"],
            "report": str(self.report),
            "counts": dict(self.counts),
            "failures": records(self.failures),
            "summary": list(self.summary),
            "ranking": records(self.ranking),
            "correlations": records(self.correlations),
            "ols": records(self.ols),
            "cross_validation": records(self.cross_validation),
            "figures": {name: [str(p) for p in paths] for name, paths in self.figures.items()},
        }


# ------------------------------------------------------------------ reading


def _read_store(directory: Path):
    with _open(directory) as store:
        info = store.study_info()
        rows = store.run_rows()
    return info, rows


def _planned_runs(info) -> int | None:
    if info is None or not info.get("config_toml"):
        return None
    from topokit.analysis.study import load_study

    try:
        return len(load_study(info["config_toml"]).runs())
    except TopokitError:  # e.g. a dataset path that no longer resolves
        return None


def _failures(rows) -> pd.DataFrame:
    failed = [row for row in rows if row["status"] == "failed"]
    columns = ["error", "runs", "variants"]
    if not failed:
        return pd.DataFrame(columns=columns)
    records = []
    for row in failed:
        run = RunConfig.from_dict(row["config"])
        records.append({"error": (row["error"] or "no message").strip(), "variant": run.label})
    frame = pd.DataFrame(records)
    grouped = frame.groupby("error", sort=False).agg(
        runs=("variant", "size"), variants=("variant", lambda v: ", ".join(dict.fromkeys(v)))
    )
    return grouped.sort_values("runs", ascending=False).reset_index()[columns]


def _sparse_layers(rows) -> dict:
    """Run key → the indices of the layers its family builds (dense_layers left out)."""
    layers = {}
    for row in rows:
        run = RunConfig.from_dict(row["config"])
        n_layers = len(run.sizes) - 1
        layers[row["run_key"]] = [k for k in range(n_layers) if k not in run.dense_layers]
    return layers


def _sparse_mean(frame: pd.DataFrame, key: str, sparse_layers: dict):
    """Mean of ``layer{k}_<key>`` over each run's sparse layers: (values, layers used), or
    None when a run has no sparse layer or the study did not record ``key``."""
    values = np.full(len(frame), np.nan)
    used = set()
    layers_of = [tuple(sparse_layers.get(run_key, ())) for run_key in frame["run_key"]]
    for layers in set(layers_of):
        names = [f"layer{k}_{key}" for k in layers]
        if not names or any(name not in frame.columns for name in names):
            return None
        rows = np.array([item == layers for item in layers_of])
        values[rows] = frame.loc[rows, names].to_numpy(dtype=float).mean(axis=1)
        used.update(layers)
    return values, sorted(used)


def _layers_text(layers, n_layers) -> str:
    if len(layers) == n_layers:
        return f"mean over all {n_layers} layers"
    names = ", ".join(str(k) for k in layers)
    return f"mean over sparse layer{'s' if len(layers) > 1 else ''} {names}"


# ------------------------------------------------------------------ figures


def _edge_level(frame: pd.DataFrame):
    """(column, label) of the study's edge-count axis."""
    if frame["density"].notna().any():
        return "density", "configured density (fraction of possible edges per sparse layer)"
    return "degree", "configured degree (fan-in of each output neuron)"


def _statistics_text(table: pd.DataFrame, r_name: str = "Pearson r") -> str:
    row = table.iloc[0]
    pearson = _findings.interval(row.pearson_r, row.pearson_ci_low, row.pearson_ci_high)
    lines = [f"{r_name} = {pearson}", f"    p = {_findings.format_p(row.pearson_p)}"]
    if row.controls:
        partial = _findings.interval(row.partial_r, row.partial_ci_low, row.partial_ci_high)
        lines += [f"partial r given {row.controls}", f"    = {partial}"]
        lines.append(f"    p = {_findings.format_p(row.partial_p)}")
    lines.append(f"n = {int(row.n)} runs fitted; [95% CI]")
    return "\n".join(lines)


def _scatter_figures(ok, rows, colors, folder, figures, notes):
    sparse_layers = _sparse_layers(rows)
    n_layers = int(ok["sizes"].iloc[0].count("-")) if len(ok) else 0
    fitted = ok[ok["family"] != "dense"] if (ok["family"] != "dense").any() else ok
    reference = ok[ok["family"] == "dense"] if len(fitted) < len(ok) else None
    for stem, key, fallback, label in _SCATTERS:
        data = fitted.copy()
        result = _sparse_mean(data, key, sparse_layers)
        if result is not None:
            values, layers = result
            column = f"sparse_mean_{key}"
            data[column] = values
            x_label = f"{label} ({_layers_text(layers, n_layers)}; dimensionless)"
        elif fallback is not None and fallback in data.columns:
            column = fallback
            x_label = f"{label} (whole network, {fallback}; dimensionless)"
        else:
            notes.append(f"`{stem}` not drawn: the study did not record `{key}`.")
            continue
        usable = data[[column, "test_accuracy"]].replace([np.inf, -np.inf], np.nan).dropna()
        if len(usable) < 3 or usable[column].nunique() < 2:
            notes.append(f"`{stem}` not drawn: fewer than 3 runs with distinct `{column}` values.")
            continue
        table = correlation_table(data, [column], ["test_accuracy"], default_controls(data))
        figure = plots.scatter_figure(
            data,
            column,
            colors=colors,
            x_label=x_label,
            statistics=_statistics_text(table),
            reference=reference,
            title=f"Test accuracy vs {label}",
        )
        figures[stem] = plots.save_figure(figure, folder, stem)
    density = "net_density" if "net_density" in ok.columns else "density"
    data = fitted[fitted[density] > 0].copy()
    if len(data) >= 3 and data[density].nunique() > 1:
        data["log10_density"] = np.log10(data[density])
        table = correlation_table(data, ["log10_density"], ["test_accuracy"], [])
        figure = plots.scatter_figure(
            data,
            density,
            colors=colors,
            x_label=f"measured network density ({density}: edges / possible edges, log scale)",
            statistics=_statistics_text(table, "Pearson r with log10 density"),
            reference=reference,
            log_x=True,
            title="Test accuracy vs density (line fitted on log10 density)",
        )
        figures["accuracy_vs_density_scatter"] = plots.save_figure(
            figure, folder, "accuracy_vs_density_scatter"
        )
    else:
        notes.append("The accuracy-vs-density scatter is not drawn: density does not vary.")


def _draw_figures(directory, ok, rows, correlations, colors, notes) -> dict:
    folder = Path(directory) / FIGURES_FOLDER
    figures = {}
    _scatter_figures(ok, rows, colors, folder, figures, notes)
    level, level_label = _edge_level(ok)
    if ok[level].notna().any():
        figure = plots.accuracy_vs_density_figure(
            ok, colors=colors, level=level, x_label=f"{level_label}, log scale"
        )
        figures["accuracy_vs_density"] = plots.save_figure(figure, folder, "accuracy_vs_density")
    shown = correlations.dropna(subset=["pearson_r"])
    if len(shown):
        metrics = list(dict.fromkeys(shown["metric"]))
        table = correlations[correlations["metric"].isin(metrics)]
        figure = plots.correlation_heatmap(table, labels=OUTCOME_LABELS)
        figures["correlation_heatmap"] = plots.save_figure(figure, folder, "correlation_heatmap")
    curves = load_curves(directory)
    curves = curves[curves["run_key"].isin(set(ok["run_key"]))]
    if len(curves):
        levels = sorted(curves[level].dropna().unique())
        if len(levels) > 4:
            levels = [levels[i] for i in np.linspace(0, len(levels) - 1, 4).round().astype(int)]
        figure = plots.learning_curves_figure(
            curves, colors=colors, level=level, level_label=level, levels=levels
        )
        figures["learning_curves"] = plots.save_figure(figure, folder, "learning_curves")
    else:
        notes.append("No learning curves were recorded, so the learning-curve figure is absent.")
    return figures


# ------------------------------------------------------------------ analysis


def analyze_study(directory, *, figures: bool = True) -> StudyAnalysis:
    """Analyse the study in ``directory``: tables, figures, ``report.md``.

    Parameters
    ----------
    directory : str or os.PathLike
        The study's output folder (with ``results.sqlite``); finished or partial.
    figures : bool, default True
        Draw the figures (``DIR/figures/*.png`` and ``*.svg``).

    Returns
    -------
    StudyAnalysis

    Raises
    ------
    TopokitError
        If there is no store in ``directory``, it holds no successful run, or the
        report cannot be written.
    """
    directory = Path(directory)
    info, rows = _read_store(directory)
    frame = load_results(directory)
    counts = {
        "ok": int((frame["status"] == "ok").sum()),
        "failed": int((frame["status"] != "ok").sum()),
    }
    planned = _planned_runs(info)
    if planned is not None:
        counts["planned"] = planned
    failures = _failures(rows)
    if counts["ok"] == 0:
        reason = f"; most common failure: {failures['error'].iloc[0]}" if len(failures) else ""
        raise TopokitError(
            f"the study in {str(directory)!r} has no successful runs "
            f"({counts['failed']} failed){reason}"
        )
    ok = frame[frame["status"] == "ok"].reset_index(drop=True)
    # outcomes never recorded (no target accuracy: epochs_to_target all empty) are left out
    outcomes = [o for o in DEFAULT_OUTCOMES if o in ok.columns and ok[o].notna().any()]
    correlations = correlation_table(ok, outcomes=outcomes)
    ols = ols_table(ok, outcomes=outcomes)
    cross_validation = cross_validation_table(ok, outcomes=outcomes)
    ranking = _findings.verdicts(rank_metrics(ok))
    colors = plots.variant_colors(sorted(dict.fromkeys(frame["variant"]), key=_variant_order))
    notes = []
    drawn = _draw_figures(directory, ok, rows, correlations, colors, notes) if figures else {}
    analysis = StudyAnalysis(
        directory=directory,
        study=info,
        counts=counts,
        failures=failures,
        correlations=correlations,
        ols=ols,
        cross_validation=cross_validation,
        ranking=ranking,
        figures=drawn,
    )
    analysis.summary = _summary(analysis, ok)
    from topokit.analysis import _markdown

    text = _markdown.render(analysis, ok, notes)
    path = directory / REPORT_FILENAME
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise TopokitError(f"cannot write the report {str(path)!r}: {exc}") from exc
    analysis.report = path
    return analysis


def _variant_order(variant: str):
    return (variant == "dense", variant)


def write_report(directory) -> Path:
    """Analyse the study in ``directory`` and write ``DIR/report.md`` and ``DIR/figures/``.

    Parameters
    ----------
    directory : str or os.PathLike
        The study's output folder (with ``results.sqlite``).

    Returns
    -------
    pathlib.Path
        The report written.

    Raises
    ------
    TopokitError
        If there is no store in ``directory``, it holds no successful run, or the
        report cannot be written.

    Examples
    --------
    >>> import tempfile
    >>> from topokit.analysis import ResultStore, RunResult, load_study
    >>> from topokit.analysis.report import write_report
    >>> study = load_study('sizes = [64, 10]\\nseeds = [0, 1, 2]\\n[[families]]\\nname = "dense"')
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     with ResultStore(folder, study) as store:
    ...         for run in study.runs():
    ...             _ = store.record(run, RunResult("ok", test_accuracy=0.9 + run.seed / 100))
    ...     path = write_report(folder)
    ...     title = path.read_text().splitlines()[0]
    >>> path.name, title
    ('report.md', '# Study report: study')
    """
    return analyze_study(directory).report


# ------------------------------------------------------------------ summary


def _density_sentence(ok: pd.DataFrame) -> list[str]:
    level, _ = _edge_level(ok)
    sparse = ok.dropna(subset=[level, "test_accuracy"])
    lines = []
    if sparse[level].nunique() > 1:
        means = sparse.groupby(level)["test_accuracy"].agg(["mean", "count"])
        low, high = means.index.min(), means.index.max()
        lines.append(
            f"Mean test accuracy over the sparse runs is {100 * means.loc[low, 'mean']:.2f}% at "
            f"{level} {low:g} (n = {int(means.loc[low, 'count'])}) and "
            f"{100 * means.loc[high, 'mean']:.2f}% at {level} {high:g} "
            f"(n = {int(means.loc[high, 'count'])})."
        )
    dense = ok[ok["family"] == "dense"]["test_accuracy"].dropna()
    if len(dense):
        sd = f" ± {100 * dense.std(ddof=1):.2f}" if len(dense) > 1 else ""
        lines.append(
            f"The dense reference reaches {100 * dense.mean():.2f}%{sd}% (n = {len(dense)})."
        )
    return lines


def _best_variants(ok: pd.DataFrame) -> list[str]:
    level, _ = _edge_level(ok)
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


def _epochs_findings(analysis: StudyAnalysis, ok: pd.DataFrame) -> list[str]:
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
    if n - k < _findings.MIN_RUNS or k > n / 2:
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
    ranking = _findings.verdicts(rank_metrics(ok, "epochs_to_target"))
    lines += _findings.ranking_findings(ranking, "epochs to target")[:2]
    return lines


def _summary(analysis: StudyAnalysis, ok: pd.DataFrame) -> list[str]:
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
    if counts["ok"] < _findings.MIN_RUNS:
        lines.append(
            f"With only {counts['ok']} successful runs the data cannot support or rule out any "
            "relationship; the intervals below are wide or undefined."
        )
    controls = default_controls(ok)
    if not controls:
        lines.append(
            "Density does not vary across the successful runs, so 'beyond density' is the "
            "plain correlation."
        )
    lines += _density_sentence(ok)
    lines += _best_variants(ok)
    n_metrics = len(metric_columns(ok))
    if n_metrics == 0:
        lines.append("The study recorded no topology metrics, so no relationship was tested.")
    else:
        lines += _findings.ranking_findings(analysis.ranking, "test accuracy")
    if "epochs_to_target" in ok.columns:
        lines += _epochs_findings(analysis, ok)
    return lines
