"""A study's report: the figures in ``DIR/figures/`` and ``DIR/report.md``.

:func:`write` takes what :func:`~topokit.analysis.analyze_study` computed (a
:class:`~topokit.analysis.StudyAnalysis`), draws the figures of
:mod:`topokit.analysis.plots` into ``DIR/figures/`` (PNG and SVG) and writes
``DIR/report.md``: the study's configuration, the run counts and failure reasons, the
tables, the figures and the plain-language summary. Given the snapshots of the layer graphs
that dynamic and pruned runs store, a section "The graph along training" follows each
method's metrics from its first snapshot to its last (drawn by ``_along_training.py``).

The network-level value of a per-layer metric in the scatter figures is its
``mean_<key>`` column, the mean over the sparse layers (dense layers left out) that the
store, the tables and the exports hold. Runs of the ``dense`` family
lie far off the sparse runs on every spectral axis, so the scatters show them as a
reference band and fit the sparse runs only (the tables use every successful run).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from topokit._atomic import replacing
from topokit._errors import TopokitError
from topokit.analysis import _along_training, _findings, _markdown, plots
from topokit.analysis.results import load_curves
from topokit.analysis.statistics import OUTCOME_LABELS, correlation_table, default_controls

__all__ = ["CAPTIONS", "FIGURES_FOLDER", "REPORT_FILENAME", "write"]

#: The report's file name inside the study folder.
REPORT_FILENAME = "report.md"
#: The folder of the figures inside the study folder.
FIGURES_FOLDER = "figures"

# The scatters of test accuracy against a spectral metric: file stem, per-layer key,
# whole-network fallback, the metric's name, its definition.
_SCATTERS = (
    ("accuracy_vs_spectral_gap", "spectral_gap", "net_spectral_gap", "spectral gap", "λ1 − λ2"),
    (
        "accuracy_vs_fiedler_value",
        "fiedler_value",
        "net_fiedler_value",
        "Fiedler value",
        "(algebraic connectivity)",
    ),
    ("accuracy_vs_ramanujan_gap", "ramanujan_gap", None, "Ramanujan gap", "(bound − λ2)"),
    (
        "accuracy_vs_normalized_spectral_gap",
        "normalized_spectral_gap",
        None,
        "normalized spectral gap",
        "1 − μ2",
    ),
)

#: The caption of each figure of the report, by file stem.
CAPTIONS = {
    **{stem: f"Test accuracy vs {name}" for stem, _, _, name, _ in _SCATTERS},
    "accuracy_vs_density_scatter": "Test accuracy vs measured density",
    "accuracy_vs_density": "Test accuracy vs density by family (mean ± sd over seeds)",
    "correlation_heatmap": "Correlations of each metric with each outcome (r and partial r)",
    "learning_curves": "Learning curves by family (mean ± sd over seeds)",
}
_EDGE_LEVEL_LABELS = {
    "density": "configured density (fraction of possible edges per sparse layer)",
    "degree": "configured degree (fan-in of each output neuron)",
}


# ------------------------------------------------------------------ figures


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


def _scatter_figures(ok, colors, folder, figures, notes):
    fitted = ok[ok["family"] != "dense"] if (ok["family"] != "dense").any() else ok
    reference = ok[ok["family"] == "dense"] if len(fitted) < len(ok) else None
    for stem, key, fallback, name, definition in _SCATTERS:
        label = f"{name} {definition}"
        data = fitted.copy()
        if f"mean_{key}" in data.columns and data[f"mean_{key}"].notna().any():
            column = f"mean_{key}"
            x_label = f"{label} (mean_{key}: mean over the sparse layers; dimensionless)"
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


def _draw_figures(directory, ok, correlations, colors, notes) -> dict:
    folder = Path(directory) / FIGURES_FOLDER
    figures = {}
    _scatter_figures(ok, colors, folder, figures, notes)
    level = _findings.edge_level(ok)
    level_label = _EDGE_LEVEL_LABELS[level]
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


def _variant_order(variant: str):
    return (variant == "dense", variant)


def write(
    analysis,
    frame: pd.DataFrame,
    *,
    figures: bool = True,
    snapshots: pd.DataFrame | None = None,
    topologies=None,
) -> Path:
    """Draw the figures and write ``report.md`` of a study analysis.

    When ``snapshots`` holds rows, the report has a section "The graph along training":
    for each sparse layer, each training method's metrics at the first and the last
    snapshot of its runs (a table, and sentences naming the largest change of each
    metric), the metric trajectories
    (:func:`~topokit.analysis.plots.metric_trajectories_figure`) and, given
    ``topologies``, the degree distributions at the first and the last snapshot
    (:func:`~topokit.analysis.plots.degree_distributions_figure`).

    Parameters
    ----------
    analysis : StudyAnalysis
        What :func:`~topokit.analysis.analyze_study` computed; its ``figures`` and
        ``report`` are set here.
    frame : pandas.DataFrame
        Every stored run (:func:`~topokit.analysis.load_results`).
    figures : bool, default True
        Draw the figures (``DIR/figures/*.png`` and ``*.svg``).
    snapshots : pandas.DataFrame, optional
        The stored snapshots of the layer graphs: one row per run and snapshot epoch,
        with ``key`` (the run key), ``family``, ``dynamic`` (missing: static),
        ``density`` or ``degree``, ``seed``, ``epoch`` and per-layer metric columns
        ``{metric}_layer{k}``.
    topologies : callable, optional
        ``topologies(run_key, epoch)`` returns the :class:`~topokit.Topology` of a
        snapshot, for the degree distributions.

    Returns
    -------
    pathlib.Path
        The report written.

    Raises
    ------
    TopokitError
        If a figure or the report cannot be written.

    Examples
    --------
    Draw the figures of an analysis made without them, and write its report again:

    >>> import tempfile
    >>> from topokit.analysis import (ResultStore, RunResult, analyze_study, load_results,
    ...                               load_study)
    >>> from topokit.analysis.report import write
    >>> study = load_study('sizes = [64, 10]\\ndensities = [0.1, 0.2]\\nseeds = [0, 1]\\n'
    ...                    '[[families]]\\nname = "erdos_renyi"')
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     with ResultStore(folder, study) as store:
    ...         for run in study.runs():
    ...             _ = store.record(run, RunResult("ok", test_accuracy=0.8 + run.density))
    ...     analysis = analyze_study(folder, figures=False)
    ...     path = write(analysis, load_results(folder))
    >>> path.name, list(analysis.figures)
    ('report.md', ['accuracy_vs_density_scatter', 'accuracy_vs_density'])
    """
    directory = Path(analysis.directory)
    ok = frame[frame["status"] == "ok"].reset_index(drop=True)
    colors = plots.variant_colors(sorted(dict.fromkeys(frame["variant"]), key=_variant_order))
    notes = []
    if figures:
        analysis.figures = _draw_figures(directory, ok, analysis.correlations, colors, notes)
    along, drawn, captions = _along_training.section(
        snapshots,
        directory / FIGURES_FOLDER,
        study=analysis.study,
        topologies=topologies,
        draw=figures,
    )
    analysis.figures.update(drawn)
    text = _markdown.render(
        analysis, ok, notes, {**CAPTIONS, **captions}, along_training=along, shown=set(drawn)
    )
    path = directory / REPORT_FILENAME
    try:
        # whole or not at all: a reader, or a second study driver writing the same
        # report, never sees half of one, and a failed write leaves the previous report
        with replacing(path, binary=False) as file:
            file.write(text)
    except OSError as exc:
        raise TopokitError(f"cannot write the report {str(path)!r}: {exc}") from exc
    analysis.report = path
    return path
