"""Figures of a study: accuracy against topology metrics, a correlation heatmap, learning
curves and accuracy against density; and of the graph along training: metric trajectories
of the layer graphs and their degree distributions at the start and the end.

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot, so no
global figure state is created or left behind; :func:`save_figure` writes it as PNG and
SVG. Colours come from :func:`variant_colors`, so a family variant keeps its colour in
every figure of a report.

The fitted line of a scatter is ordinary least squares of the outcome on the plotted
metric, with the 95% confidence band of the fitted mean
(:func:`~topokit.analysis.statistics.fit_line`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from topokit._atomic import replacing
from topokit._errors import TopokitError
from topokit.analysis.statistics import OUTCOME_LABELS, fit_line

__all__ = [
    "TRAJECTORY_METRICS",
    "accuracy_vs_density_figure",
    "correlation_heatmap",
    "degree_distributions_figure",
    "learning_curves_figure",
    "metric_trajectories_figure",
    "save_figure",
    "scatter_figure",
    "training_method_labels",
    "variant_colors",
]

_PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#aec7e8",
    "#ffbb78",
    "#98df8a",
    "#ff9896",
    "#c5b0d5",
    "#c49c94",
    "#f7b6d2",
    "#9edae5",
    "#dbdb8d",
)
_DENSE_COLOR = "#333333"
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "p", "h", "*")
_DPI = 150
_ACCURACY_LABEL = f"{OUTCOME_LABELS['test_accuracy']} (%)"


def variant_colors(variants) -> dict:
    """A colour per family variant, in the order given; ``dense`` is always dark grey.

    Pass every variant of a study (in a fixed order) once and reuse the mapping, so a
    variant has the same colour in all figures.

    Parameters
    ----------
    variants : iterable of str
        Variant names; repeats are ignored (the first occurrence sets the order).

    Returns
    -------
    dict
        Maps each variant to a hex colour: ``dense`` to ``"#333333"``, the others to the
        colours of an 18-colour palette in turn (from the start again after 18).

    Examples
    --------
    >>> from topokit.analysis.plots import variant_colors
    >>> variant_colors(["erdos_renyi", "dense", "small_world(p=0.1)"])
    {'erdos_renyi': '#1f77b4', 'dense': '#333333', 'small_world(p=0.1)': '#ff7f0e'}
    """
    colors, index = {}, 0
    for name in dict.fromkeys(variants):
        if name == "dense":
            colors[name] = _DENSE_COLOR
        else:
            colors[name] = _PALETTE[index % len(_PALETTE)]
            index += 1
    return colors


def _new_figure(width: float, height: float):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    return figure


def _reference_band(axes, values, color, label):
    """A dashed line at the mean of ``values`` and a band of ± their sd (0 for one value)."""
    mean = values.mean()
    sd = values.std(ddof=1) if len(values) > 1 else 0.0
    axes.axhline(mean, color=color, ls="--", lw=1.2, label=label)
    axes.axhspan(mean - sd, mean + sd, color=color, alpha=0.08, lw=0)


def _legend_outside(axes, figure, handles=None, labels=None, *, title=None):
    if handles is None:
        handles, labels = axes.get_legend_handles_labels()
    if handles:
        figure.legend(
            handles,
            labels,
            loc="outside right upper",
            fontsize=8,
            title=title,
            title_fontsize=8,
            alignment="left",
        )


def scatter_figure(
    frame: pd.DataFrame,
    x: str,
    y: str = "test_accuracy",
    *,
    colors: dict,
    x_label: str,
    y_label: str = _ACCURACY_LABEL,
    y_scale: float = 100.0,
    statistics: str = "",
    reference: pd.DataFrame | None = None,
    log_x: bool = False,
    title: str = "",
):
    """One point per run (coloured by ``variant``), the OLS line with its 95% band, and a
    text box with the statistics.

    Parameters
    ----------
    frame : pandas.DataFrame
        Runs to plot and fit (columns ``variant``, ``x`` and ``y``; rows with NaN dropped).
    x, y : str
        Columns.
    colors : dict
        :func:`variant_colors`.
    x_label, y_label : str
        Axis labels (with units).
    y_scale : float, default 100
        The outcome is multiplied by this before plotting and fitting (100: a percentage).
    statistics : str
        Text above the legend (e.g. r and partial r with their CIs).
    reference : pandas.DataFrame, optional
        Runs shown as a horizontal band of their mean ± sd of ``y`` (e.g. dense runs,
        whose metric values lie far off the sparse runs'), labelled by their variant.
    log_x : bool, default False
        A logarithmic x axis; the line is then fitted to ``log10(x)`` (a straight line
        on the plot), and with at most 8 distinct x values each gets a tick.
    title : str

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> from topokit.analysis.plots import scatter_figure, variant_colors
    >>> runs = pd.DataFrame({"variant": ["erdos_renyi"] * 4, "gap": [1.0, 2.0, 3.0, 4.0],
    ...                      "test_accuracy": [0.90, 0.92, 0.93, 0.95]})
    >>> figure = scatter_figure(runs, "gap", colors=variant_colors(runs["variant"]),
    ...                         x_label="spectral gap (dimensionless)")
    >>> figure.axes[0].get_ylabel()
    'test accuracy (%)'
    """
    data = frame[["variant", x, y]].replace([np.inf, -np.inf], np.nan).dropna()
    figure = _new_figure(9.0, 5.2)
    axes = figure.add_subplot()
    markers = {variant: _MARKERS[i % len(_MARKERS)] for i, variant in enumerate(colors)}
    for variant, group in data.groupby("variant", sort=False):
        axes.scatter(
            group[x],
            group[y] * y_scale,
            s=26,
            alpha=0.8,
            marker=markers.get(variant, "o"),
            color=colors.get(variant, _DENSE_COLOR),
            edgecolor="white",
            linewidth=0.4,
            label=f"{variant} (n={len(group)})",
        )
    if len(data) >= 3 and data[x].nunique() > 1:
        line = fit_line(np.log10(data[x]) if log_x else data[x], data[y] * y_scale)
        grid = 10**line.x if log_x else line.x
        axes.fill_between(grid, line.ci_low, line.ci_high, color="black", alpha=0.12, lw=0)
        axes.plot(grid, line.y, color="black", lw=1.5, label="OLS fit, 95% band")
    if reference is not None and len(reference.dropna(subset=[y])):
        values = reference[y].dropna() * y_scale
        name = ", ".join(dict.fromkeys(reference["variant"]))
        label = f"{name}: mean ± sd (n={len(values)}, not fitted)"
        _reference_band(axes, values, _DENSE_COLOR, label)
    if log_x:
        axes.set_xscale("log")
        levels = np.unique(data[x])
        if len(levels) <= 8:
            axes.set_xticks(levels, [f"{v:.3g}" for v in levels])
            axes.minorticks_off()
    axes.set_xlabel(x_label)
    axes.set_ylabel(y_label)
    axes.grid(alpha=0.3)
    if title:
        axes.set_title(title, fontsize=10)
    _legend_outside(axes, figure, title=statistics or None)
    return figure


def correlation_heatmap(correlations: pd.DataFrame, *, outcomes=None, labels=None):
    """Pearson r and partial r of each metric (rows) with each outcome (column pairs).

    Cells are coloured by the coefficient (−1 blue … +1 red) and show its value; a value
    whose 95% confidence interval includes 0 is shown in grey italics.

    Parameters
    ----------
    correlations : pandas.DataFrame
        :func:`~topokit.analysis.statistics.correlation_table` output.
    outcomes : list of str, optional
        Order of the outcomes (default: as in the table).
    labels : dict, optional
        Display names of the outcomes.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from topokit.analysis.plots import correlation_heatmap
    >>> from topokit.analysis.statistics import correlation_table
    >>> rng = np.random.default_rng(0)
    >>> runs = pd.DataFrame({"net_lambda2": rng.normal(size=20)})
    >>> runs["test_accuracy"] = runs.net_lambda2 + rng.normal(size=20)
    >>> figure = correlation_heatmap(correlation_table(runs))
    >>> [label.get_text() for label in figure.axes[0].get_yticklabels()]
    ['net_lambda2']
    """
    from matplotlib.colors import TwoSlopeNorm

    labels = labels or {}
    if outcomes is None:
        outcomes = list(dict.fromkeys(correlations["outcome"]))
    metrics = list(dict.fromkeys(correlations["metric"]))
    table = correlations.set_index(["metric", "outcome"])
    columns = [(o, kind) for o in outcomes for kind in ("pearson", "partial")]
    values = np.full((len(metrics), len(columns)), np.nan)
    weak = np.zeros_like(values, dtype=bool)
    for i, metric in enumerate(metrics):
        for j, (outcome, kind) in enumerate(columns):
            if (metric, outcome) not in table.index:
                continue
            row = table.loc[(metric, outcome)]
            values[i, j] = row[f"{kind}_r"]
            weak[i, j] = row[f"{kind}_ci_low"] <= 0 <= row[f"{kind}_ci_high"]
    height = max(3.0, 0.28 * len(metrics) + 1.6)
    figure = _new_figure(2.0 + 1.25 * len(columns) + 2.2, height)
    axes = figure.add_subplot()
    image = axes.imshow(
        np.ma.masked_invalid(values),
        cmap="RdBu_r",
        norm=TwoSlopeNorm(0.0, -1.0, 1.0),
        aspect="auto",
    )
    for i in range(len(metrics)):
        for j in range(len(columns)):
            value = values[i, j]
            text = "n/a" if np.isnan(value) else f"{value:+.2f}"
            dark = not np.isnan(value) and abs(value) > 0.6
            axes.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=7.5,
                color="white" if dark else ("0.45" if weak[i, j] or np.isnan(value) else "black"),
                style="italic" if weak[i, j] else "normal",
            )
    axes.set_xticks(
        range(len(columns)),
        [f"{labels.get(o, o)}\n{'r' if k == 'pearson' else 'partial r'}" for o, k in columns],
        fontsize=8,
    )
    axes.xaxis.tick_top()
    axes.set_yticks(range(len(metrics)), metrics, fontsize=8)
    axes.set_xticks(np.arange(len(columns) + 1) - 0.5, minor=True)
    axes.set_yticks(np.arange(len(metrics) + 1) - 0.5, minor=True)
    axes.grid(which="minor", color="white", lw=1)
    axes.tick_params(which="minor", length=0)
    colorbar = figure.colorbar(image, ax=axes, shrink=min(1.0, 6.0 / height), pad=0.02)
    colorbar.set_label("correlation coefficient (dimensionless)", fontsize=8)
    axes.set_xlabel("grey italics: 95% CI includes 0", fontsize=8)
    return figure


def _mean_band(groups, column: str) -> pd.DataFrame:
    summary = groups[column].agg(["mean", "std", "count"])
    summary["std"] = summary["std"].fillna(0.0)
    return summary


def learning_curves_figure(
    curves: pd.DataFrame,
    *,
    colors: dict,
    level: str,
    level_label: str,
    levels=None,
):
    """Mean ± sd over seeds of validation and training accuracy per epoch, one line per
    variant, one column of panels per edge-count level (density or degree).

    Parameters
    ----------
    curves : pandas.DataFrame
        :func:`~topokit.analysis.load_curves` output (successful runs).
    colors : dict
        :func:`variant_colors`.
    level : str
        The edge-count column (``"density"`` or ``"degree"``); runs where it is NaN
        (families that fix their own edge count, such as ``dense``) appear in every panel.
    level_label : str
        How to name a level in the panel titles (e.g. ``"density"``).
    levels : list, optional
        The levels to show (default: every level).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> from topokit.analysis.plots import learning_curves_figure, variant_colors
    >>> curves = pd.DataFrame({"variant": "erdos_renyi", "density": 0.1, "epoch": [1, 2],
    ...                        "val_accuracy": [0.5, 0.8], "train_accuracy": [0.6, 0.9]})
    >>> figure = learning_curves_figure(curves, colors=variant_colors(["erdos_renyi"]),
    ...                                 level="density", level_label="density")
    >>> len(figure.axes)   # validation and training accuracy, one density
    2
    """
    if levels is None:
        levels = sorted(curves[level].dropna().unique())
    levels = list(levels) or [None]
    shared = curves[curves[level].isna()]
    figure = _new_figure(2.0 + 3.3 * len(levels), 6.0)
    grid = figure.subplots(2, len(levels), sharex=True, sharey="row", squeeze=False)
    rows = (("val_accuracy", "validation accuracy (%)"), ("train_accuracy", "train accuracy (%)"))
    handles = {}
    for column, value in enumerate(levels):
        part = curves if value is None else curves[curves[level] == value]
        if value is not None:
            part = pd.concat([part, shared])
        for row, (name, label) in enumerate(rows):
            axes = grid[row, column]
            for variant, group in part.dropna(subset=[name]).groupby("variant", sort=False):
                band = _mean_band(group.groupby("epoch"), name)
                color = colors.get(variant, _DENSE_COLOR)
                style = "--" if variant == "dense" else "-"
                (handle,) = axes.plot(
                    band.index, 100 * band["mean"], style, color=color, lw=1.4, label=variant
                )
                axes.fill_between(
                    band.index,
                    100 * (band["mean"] - band["std"]),
                    100 * (band["mean"] + band["std"]),
                    color=color,
                    alpha=0.12,
                    lw=0,
                )
                handles.setdefault(variant, handle)
            axes.grid(alpha=0.3)
            if column == 0:
                axes.set_ylabel(label)
            if row == 1:
                axes.set_xlabel("epoch")
            if row == 0 and value is not None:
                axes.set_title(f"{level_label} {value:g}", fontsize=10)
    figure.suptitle("learning curves: mean ± sd over seeds", fontsize=10)
    ordered = [v for v in colors if v in handles] + [v for v in handles if v not in colors]
    _legend_outside(None, figure, [handles[v] for v in ordered], ordered)
    return figure


def accuracy_vs_density_figure(
    frame: pd.DataFrame,
    *,
    colors: dict,
    level: str,
    x_label: str,
    y: str = "test_accuracy",
    y_label: str = _ACCURACY_LABEL,
):
    """Mean ± sd over seeds of the outcome at each edge-count level, a line per variant;
    variants without a level (``dense``) as a horizontal reference band.

    Parameters
    ----------
    frame : pandas.DataFrame
        Successful runs (:func:`~topokit.analysis.load_results`).
    colors : dict
        :func:`variant_colors`.
    level : str
        ``"density"`` or ``"degree"`` (x axis, logarithmic).
    x_label : str
        Label of the x axis.
    y : str, default "test_accuracy"
        The outcome column, a fraction: it is plotted times 100.
    y_label : str, default "test accuracy (%)"
        Label of the y axis.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> from topokit.analysis.plots import accuracy_vs_density_figure, variant_colors
    >>> runs = pd.DataFrame({"variant": "erdos_renyi", "density": [0.1, 0.1, 0.2, 0.2],
    ...                      "test_accuracy": [0.90, 0.92, 0.94, 0.95]})
    >>> figure = accuracy_vs_density_figure(runs, colors=variant_colors(["erdos_renyi"]),
    ...                                     level="density", x_label="density")
    >>> figure.axes[0].get_xscale()
    'log'
    """
    data = frame.dropna(subset=[y])
    figure = _new_figure(8.0, 5.0)
    axes = figure.add_subplot()
    variants = [v for v in colors if v in set(data["variant"])]
    levels = sorted(data[level].dropna().unique())
    offsets = np.linspace(-0.012, 0.012, max(1, len(variants)))
    for offset, variant in zip(offsets, variants, strict=True):
        group = data[data["variant"] == variant]
        color = colors[variant]
        if group[level].isna().all():
            _reference_band(axes, 100 * group[y], color, f"{variant} ± sd")
            continue
        band = _mean_band(group.groupby(level), y)
        shift = 10**offset  # a small horizontal dodge so error bars do not overlap
        axes.errorbar(
            band.index.to_numpy(dtype=float) * shift,
            100 * band["mean"].to_numpy(),
            yerr=100 * band["std"].to_numpy(),
            color=color,
            marker="o",
            ms=4,
            lw=1.4,
            capsize=2.5,
            label=variant,
        )
    axes.set_xscale("log")
    if levels:
        axes.set_xticks(levels, [f"{v:g}" for v in levels])
        axes.minorticks_off()
    axes.set_xlabel(x_label)
    axes.set_ylabel(y_label)
    axes.grid(alpha=0.3)
    axes.set_title("mean ± sd over seeds", fontsize=10)
    _legend_outside(axes, figure)
    return figure


# ------------------------------------------------------------ the graph along training

#: The per-layer metrics a trajectory figure shows by default: key -> axis label.
TRAJECTORY_METRICS = {
    "spectral_gap": "spectral gap λ1 − λ2",
    "ramanujan_gap": "Ramanujan gap (bound − λ2)",
    "fiedler_value": "Fiedler value",
    "isolated_inputs": "isolated inputs (count)",
}

_DEGREE_SIDES = (
    ("fan_in", "fan-in of the output neurons"),
    ("fan_out", "fan-out of the input neurons"),
)


def _is_static(rule) -> bool:
    return bool(pd.isna(rule)) or rule == "static"


def training_method_labels(frame: pd.DataFrame) -> pd.Series:
    """How each run found its topology, in words: the family (or pruning method) for a
    static run, ``"RULE (FAMILY)"`` for a run that rewired with a dynamic rule.

    Parameters
    ----------
    frame : pandas.DataFrame
        Runs or snapshots: a ``variant`` column (the family with its parameters) or a
        ``family`` column, and optionally ``dynamic`` (``"static"``, ``"set"``,
        ``"rigl"``; missing or NaN reads as static).

    Returns
    -------
    pandas.Series of str
        One label per row, on the frame's index.

    Raises
    ------
    TopokitError
        If the frame has neither a ``variant`` nor a ``family`` column.

    Examples
    --------
    >>> import pandas as pd
    >>> from topokit.analysis.plots import training_method_labels
    >>> runs = pd.DataFrame({"family": ["erdos_renyi", "erdos_renyi", "snip"],
    ...                      "dynamic": ["static", "set", "static"]})
    >>> training_method_labels(runs).tolist()
    ['erdos_renyi', 'set (erdos_renyi)', 'snip']
    """
    base = "variant" if "variant" in frame.columns else "family"
    if base not in frame.columns:
        raise TopokitError(
            "frame must have a 'variant' or a 'family' column, got columns "
            f"{sorted(map(str, frame.columns))}"
        )
    if "dynamic" not in frame.columns:
        return frame[base].astype(str)
    labels = [
        str(name) if _is_static(rule) else f"{rule} ({name})"
        for name, rule in zip(frame[base], frame["dynamic"], strict=True)
    ]
    return pd.Series(labels, index=frame.index, dtype=object)


def _grouped(frame: pd.DataFrame, group: str | None) -> pd.DataFrame:
    data = frame.copy()
    if group is None:
        data["_method"] = training_method_labels(frame)
    elif group not in frame.columns:
        raise TopokitError(f"group must be a column of the frame, got {group!r}")
    else:
        data["_method"] = frame[group].astype(str)
    return data


def metric_trajectories_figure(
    snapshots: pd.DataFrame,
    *,
    layer: int = 0,
    metrics=None,
    colors: dict | None = None,
    level: str = "density",
    group: str | None = None,
):
    """Per-layer metrics of the snapshots against epoch: mean ± sd over seeds, a line per
    training method, a row of panels per metric and a column per edge-count level.

    Parameters
    ----------
    snapshots : pandas.DataFrame
        One row per run and snapshot epoch: ``epoch``, the per-layer metric columns
        ``{metric}_layer{layer}``, the ``level`` column and the columns that name the
        method (see ``group``).
    layer : int, default 0
        The layer whose metrics are drawn (0: the layer the inputs feed).
    metrics : list of str, optional
        Per-layer metric keys, one row of panels each (default: the keys of
        :data:`TRAJECTORY_METRICS`).
    colors : dict, optional
        Method label -> colour (default: :func:`variant_colors` of the labels in order of
        appearance).
    level : str, default "density"
        The edge-count column: one column of panels per value; rows where it is NaN
        (families that fix their own edge count) appear in every column. A frame without
        the column gets a single column of panels.
    group : str, optional
        The column whose values are the lines; default: :func:`training_method_labels`.

    Returns
    -------
    matplotlib.figure.Figure
        Its axes in row-major order (metric by metric, levels left to right); each line
        is labelled by its method and holds the per-epoch means.

    Raises
    ------
    TopokitError
        If the frame is empty, has no ``epoch`` column, or lacks a metric's column for
        ``layer``.

    Examples
    --------
    >>> import pandas as pd
    >>> from topokit.analysis.plots import metric_trajectories_figure
    >>> snapshots = pd.DataFrame({
    ...     "family": "erdos_renyi", "dynamic": "set", "density": 0.1, "seed": [0, 0, 1, 1],
    ...     "epoch": [0, 10, 0, 10], "spectral_gap_layer0": [3.0, 2.0, 3.2, 2.4]})
    >>> figure = metric_trajectories_figure(snapshots, metrics=["spectral_gap"])
    >>> line = figure.axes[0].lines[0]
    >>> line.get_label(), line.get_xdata().tolist(), line.get_ydata().tolist()
    ('set (erdos_renyi)', [0, 10], [3.1, 2.2])
    """
    if not len(snapshots):
        raise TopokitError("snapshots must hold at least one row, got an empty frame")
    if "epoch" not in snapshots.columns:
        raise TopokitError("snapshots must have an 'epoch' column")
    metrics = list(TRAJECTORY_METRICS if metrics is None else metrics)
    suffix = f"_layer{layer}"
    available = sorted(c[: -len(suffix)] for c in snapshots.columns if str(c).endswith(suffix))
    for metric in metrics:
        if f"{metric}{suffix}" not in snapshots.columns:
            raise TopokitError(
                f"metrics: the snapshots have no column {metric + suffix!r} (metrics of layer "
                f"{layer}: {', '.join(available) or 'none'})"
            )
    data = _grouped(snapshots, group)
    if colors is None:
        colors = variant_colors(data["_method"])
    has_level = level in data.columns
    levels = sorted(data[level].dropna().unique()) if has_level else []
    levels = levels or [None]
    shared = data[data[level].isna()] if has_level else data.iloc[:0]
    figure = _new_figure(3.6 + 3.3 * len(levels), 0.6 + 2.3 * len(metrics))
    grid = figure.subplots(len(metrics), len(levels), sharex=True, sharey="row", squeeze=False)
    handles = {}
    for column, value in enumerate(levels):
        part = data if value is None else pd.concat([data[data[level] == value], shared])
        for row, metric in enumerate(metrics):
            axes = grid[row, column]
            name = f"{metric}{suffix}"
            for method, rows in part.dropna(subset=[name]).groupby("_method", sort=False):
                band = _mean_band(rows.groupby("epoch"), name)
                color = colors.get(method, _DENSE_COLOR)
                (handle,) = axes.plot(
                    band.index, band["mean"], color=color, lw=1.4, marker="o", ms=2.5, label=method
                )
                axes.fill_between(
                    band.index,
                    band["mean"] - band["std"],
                    band["mean"] + band["std"],
                    color=color,
                    alpha=0.12,
                    lw=0,
                )
                handles.setdefault(method, handle)
            axes.grid(alpha=0.3)
            if column == 0:
                axes.set_ylabel(TRAJECTORY_METRICS.get(metric, metric), fontsize=9)
            if row == len(metrics) - 1:
                axes.set_xlabel("epoch")
            if row == 0 and value is not None:
                axes.set_title(f"{level} {value:g}", fontsize=10)
    figure.suptitle(f"layer {layer} along training: mean ± sd over seeds", fontsize=10)
    ordered = [m for m in colors if m in handles] + [m for m in handles if m not in colors]
    _legend_outside(None, figure, [handles[m] for m in ordered], ordered)
    return figure


def _ccdf(degrees: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct degrees d and the fraction of neurons of degree >= d, closed by the
    largest degree + 1, where the fraction is 0."""
    ordered = np.sort(np.asarray(degrees))
    values = np.unique(ordered)
    below = np.searchsorted(ordered, values, side="left")
    return np.append(values, values[-1] + 1), np.append(1.0 - below / ordered.size, 0.0)


def degree_distributions_figure(
    topologies: dict,
    *,
    layer: int = 0,
    colors: dict | None = None,
    stage_labels=("start", "end"),
):
    """Degree distributions of one layer at the start and at the end of training: the
    share of neurons with degree at least d (a complementary CDF), a line per method.

    The degrees of every topology given for a method (one per seed, say) are pooled. Each
    line has a point at every degree that occurs and ends at the largest one + 1, where
    the share is 0 (so a regular graph's line drops from 1 to 0).
    Rows of panels: the fan-in of the output neurons, the fan-out of the input neurons;
    columns: start, end.

    Parameters
    ----------
    topologies : dict
        Method label -> ``(start, end)``, each a sequence of :class:`~topokit.Topology`
        (the snapshots of the first and of the last epoch).
    layer : int, default 0
        The layer whose degrees are drawn.
    colors : dict, optional
        Method label -> colour (default: :func:`variant_colors` of the labels).
    stage_labels : pair of str, default ("start", "end")
        Titles of the two columns (e.g. ``("epoch 0", "epoch 30")``).

    Returns
    -------
    matplotlib.figure.Figure
        Four axes (fan-in start, fan-in end, fan-out start, fan-out end); each line is
        labelled by its method, x the distinct degrees d (then the largest + 1) and y the
        share of degree >= d.

    Raises
    ------
    TopokitError
        If ``topologies`` is empty, a method has no topology at a stage, or a topology
        has no layer ``layer``.

    Examples
    --------
    >>> from topokit import Topology
    >>> from topokit.analysis.plots import degree_distributions_figure
    >>> start = Topology.build([4, 3, 2], "erdos_renyi", density=0.5, rng=0)
    >>> figure = degree_distributions_figure({"erdos_renyi": ([start], [start])})
    >>> line = figure.axes[0].lines[0]
    >>> line.get_label(), start[0].fan_in.tolist()   # three output neurons
    ('erdos_renyi', [2, 1, 3])
    >>> line.get_xdata().tolist(), line.get_ydata().round(3).tolist()
    ([1, 2, 3, 4], [1.0, 0.667, 0.333, 0.0])
    """
    if not topologies:
        raise TopokitError("topologies must name at least one method, got none")
    for method, stages in topologies.items():
        if len(stages) != 2:
            raise TopokitError(
                f"topologies[{method!r}] must be a pair (start, end) of sequences of "
                f"Topology, got {len(stages)} items"
            )
        for stage, items in zip(stage_labels, stages, strict=True):
            if not len(items):
                raise TopokitError(f"topologies[{method!r}] has no topology at the {stage}")
            for topology in items:
                if not 0 <= layer < len(topology):
                    raise TopokitError(
                        f"layer must be in [0, {len(topology)}) for a network of sizes "
                        f"{list(topology.sizes)}, got {layer}"
                    )
    if colors is None:
        colors = variant_colors(topologies)
    figure = _new_figure(9.0, 6.0)
    grid = figure.subplots(2, 2, sharey=True, squeeze=False)
    handles = {}
    for row, (side, side_label) in enumerate(_DEGREE_SIDES):
        for column, stage in enumerate(stage_labels):
            axes = grid[row, column]
            for method, stages in topologies.items():
                degrees = np.concatenate([getattr(t[layer], side) for t in stages[column]])
                values, shares = _ccdf(degrees)
                (handle,) = axes.plot(
                    values,
                    shares,
                    color=colors.get(method, _DENSE_COLOR),
                    lw=1.3,
                    marker="o",
                    ms=2.5,
                    label=method,
                )
                handles.setdefault(method, handle)
            axes.grid(alpha=0.3)
            axes.set_xlabel(f"{side_label}, d")
            if column == 0:
                axes.set_ylabel("share with degree ≥ d")
            if row == 0:
                axes.set_title(stage, fontsize=10)
    figure.suptitle(f"layer {layer}: degree distributions", fontsize=10)
    ordered = [m for m in colors if m in handles] + [m for m in handles if m not in colors]
    _legend_outside(None, figure, [handles[m] for m in ordered], ordered)
    return figure


def save_figure(figure, folder, stem: str) -> list[Path]:
    """Write ``figure`` as ``folder/stem.png`` (150 dpi) and ``folder/stem.svg``.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
    folder : str or os.PathLike
        Created if missing.
    stem : str
        File name without extension.

    Returns
    -------
    list of pathlib.Path
        The PNG and the SVG written.

    Raises
    ------
    TopokitError
        If the folder or a file cannot be written.

    Examples
    --------
    >>> import tempfile
    >>> from matplotlib.figure import Figure
    >>> from topokit.analysis.plots import save_figure
    >>> figure = Figure()
    >>> _ = figure.add_subplot().plot([0, 1], [0, 1])
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     paths = save_figure(figure, folder, "line")
    ...     names = [p.name for p in paths]
    >>> names
    ['line.png', 'line.svg']
    """
    folder = Path(folder)
    paths = [folder / f"{stem}.png", folder / f"{stem}.svg"]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # each file whole or not at all: an interrupted report keeps the earlier figures
        with replacing(paths[0]) as file:
            figure.savefig(file, format="png", dpi=_DPI, metadata={"Software": None})
        with replacing(paths[1]) as file:
            figure.savefig(file, format="svg", metadata={"Date": None})
    except OSError as exc:
        raise TopokitError(f"cannot write the figure {stem!r} to {str(folder)!r}: {exc}") from exc
    return paths
