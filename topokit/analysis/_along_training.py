"""The report's section "The graph along training", from the snapshots of the layer graphs.

A study stores the layer graphs of its dynamic and pruned runs at chosen epochs with their
metrics (one row per run and snapshot epoch: ``epoch``, per-layer columns
``{metric}_layer{k}``). :func:`section` compares each training method's first snapshot
with its last — a table per sparse layer and sentences built from those numbers — and
draws :func:`~topokit.analysis.plots.metric_trajectories_figure` per sparse layer and,
given the snapshots' topologies, :func:`~topokit.analysis.plots.degree_distributions_figure`
per sparse layer and edge-count level.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from topokit.analysis import plots
from topokit.analysis._markdown import figure_lines, table

__all__ = ["TITLE", "changes", "section", "sparse_layers"]

TITLE = "The graph along training"

_LAYER_COLUMN = re.compile(r"^(?P<metric>.+)_layer(?P<layer>\d+)$")
_OWN_COUNT = "own edge count"


def _level(snapshots: pd.DataFrame) -> str | None:
    for name in ("density", "degree"):
        if name in snapshots.columns and snapshots[name].notna().any():
            return name
    return None


def _run_columns(data: pd.DataFrame) -> list[str]:
    for name in ("key", "run_key"):
        if name in data.columns:
            return [name]
    return [c for c in ("_method", "_level", "seed") if c in data.columns]


def _prepared(snapshots: pd.DataFrame) -> pd.DataFrame:
    data = snapshots.copy()
    data["_method"] = plots.training_method_labels(snapshots)
    level = _level(snapshots)
    if level is None:
        data["_level"] = _OWN_COUNT
    else:
        data["_level"] = [_OWN_COUNT if pd.isna(v) else f"{v:g}" for v in snapshots[level]]
    return data


def sparse_layers(snapshots: pd.DataFrame, study: dict | None = None) -> list[int]:
    """The layers with metric columns in ``snapshots`` that are sparse: not among the
    study's ``dense_layers`` (for every sizes list), and not complete in every snapshot
    when a ``density_layer{k}`` column says so."""
    layers = sorted(
        {int(m["layer"]) for c in snapshots.columns if (m := _LAYER_COLUMN.match(str(c)))}
    )
    dense = set()
    config = (study or {}).get("config") or {}
    sizes, dense_layers = config.get("sizes") or [], config.get("dense_layers") or []
    if sizes:
        per_sizes = [{k % (len(s) - 1) for k in dense_layers} for s in sizes]
        dense = set.intersection(*per_sizes)
    kept = []
    for k in layers:
        column = f"density_layer{k}"
        complete = column in snapshots.columns and bool((snapshots[column] >= 1).all())
        if k not in dense and not complete:
            kept.append(k)
    return kept


def changes(snapshots: pd.DataFrame, layer: int, metrics) -> pd.DataFrame:
    """Each method's metrics at its runs' first and last snapshot, for one layer.

    Returns a frame indexed by (method, level), the methods in order of appearance and
    each one's levels together — the level ``"0.1"`` (density or degree) or
    ``"own edge count"`` — with ``runs``, ``first_epoch`` (the smallest first epoch),
    ``last_epoch`` (the largest last epoch) and ``{metric}_start``, ``{metric}_end``: the
    means over the runs, of the first and of the last snapshot of each run.
    """
    data = _prepared(snapshots).sort_values("epoch", kind="stable")
    runs = data.groupby(_run_columns(data), sort=False)
    first, last = runs.head(1), runs.tail(1)
    keys = ["_method", "_level"]
    columns = [f"{m}_layer{layer}" for m in metrics]
    start = first.groupby(keys, sort=False)[columns].mean()
    end = last.groupby(keys, sort=False)[columns].mean()
    result = pd.DataFrame(
        {
            "runs": first.groupby(keys, sort=False).size(),
            "first_epoch": first.groupby(keys, sort=False)["epoch"].min(),
            "last_epoch": last.groupby(keys, sort=False)["epoch"].max(),
        }
    )
    for metric, column in zip(metrics, columns, strict=True):
        result[f"{metric}_start"] = start[column]
        result[f"{metric}_end"] = end[column].reindex(start.index)
    result.index.names = ["method", "level"]
    methods = list(dict.fromkeys(result.index.get_level_values("method")))
    levels = list(dict.fromkeys(result.index.get_level_values("level")))
    order = sorted(result.index, key=lambda i: (methods.index(i[0]), levels.index(i[1])))
    return result.loc[order]


def _value(x) -> str:
    return "n/a" if pd.isna(x) else f"{x:.4g}"


def _changed(start, end) -> np.ndarray:
    start, end = np.asarray(start, float), np.asarray(end, float)
    return np.abs(end - start) > 1e-9 * np.maximum(1.0, np.abs(start))


def _findings(tables: dict, metrics: list[str], level: str | None) -> list[str]:
    lines = []
    methods = list(dict.fromkeys(m for t in tables.values() for m in t.index.get_level_values(0)))
    unchanged = []
    for method in methods:
        moved = False
        for frame in tables.values():
            rows = frame.xs(method, level="method") if method in frame.index else None
            if rows is None:
                continue
            for metric in metrics:
                moved |= bool(_changed(rows[f"{metric}_start"], rows[f"{metric}_end"]).any())
        if not moved:
            unchanged.append(method)
    if unchanged and len(unchanged) < len(methods):
        lines.append(
            "Unchanged from the first snapshot to the last (the graph stays as it was built "
            f"or pruned): {', '.join(unchanged)}."
        )
    elif unchanged:
        lines.append("No method changed a metric between its first snapshot and its last.")
    level_name = level or "edge count"
    for layer, frame in tables.items():
        for metric in metrics:
            label = plots.TRAJECTORY_METRICS.get(metric, metric)
            delta = (frame[f"{metric}_end"] - frame[f"{metric}_start"]).abs()
            if (
                delta.isna().all()
                or not _changed(frame[f"{metric}_start"], frame[f"{metric}_end"]).any()
            ):
                lines.append(f"Layer {layer}, {label}: no method changed it.")
                continue
            method, value = delta.idxmax()
            row = frame.loc[(method, value)]
            where = "" if value == _OWN_COUNT else f" at {level_name} {value}"
            lines.append(
                f"Layer {layer}, {label}: the largest change is under {method}{where}, "
                f"{_value(row[f'{metric}_start'])} → {_value(row[f'{metric}_end'])} "
                f"(mean over {int(row['runs'])} runs, epoch {int(row['first_epoch'])} to "
                f"{int(row['last_epoch'])})."
            )
    return lines


def _stage_label(name: str, epochs) -> str:
    low, high = int(min(epochs)), int(max(epochs))
    if low == high:
        return f"{name} snapshot (epoch {low})"
    return f"{name} snapshot (epochs {low}–{high})"


def _degree_figures(data, layer, level, topologies, colors, folder, cache) -> dict:
    runs = _run_columns(data)
    if runs not in (["key"], ["run_key"]):
        return {}
    figures = {}
    ordered = data.sort_values("epoch", kind="stable")
    for value, part in ordered.groupby("_level", sort=False):
        grouped = part.groupby(runs[0], sort=False)
        first, last = grouped.head(1), grouped.tail(1)
        chosen = {}
        for method in dict.fromkeys(part["_method"]):
            stages = []
            for rows in (first, last):
                rows = rows[rows["_method"] == method]
                pairs = zip(rows[runs[0]], rows["epoch"], strict=True)
                stages.append([_topology(cache, topologies, k, e) for k, e in pairs])
            chosen[method] = tuple(stages)
        labels = (_stage_label("first", first["epoch"]), _stage_label("last", last["epoch"]))
        figure = plots.degree_distributions_figure(
            chosen, layer=layer, colors=colors, stage_labels=labels
        )
        stem = f"degrees_layer{layer}" + ("" if value == _OWN_COUNT else f"_{value}")
        figures[stem] = (
            plots.save_figure(figure, folder, stem),
            f"Degree distributions of layer {layer}"
            + ("" if value == _OWN_COUNT else f" at {level or 'edge count'} {value}")
            + f": {labels[0]} and {labels[1]}",
        )
    return figures


def _topology(cache, topologies, key, epoch):
    if (key, epoch) not in cache:
        cache[key, epoch] = topologies(key, int(epoch))
    return cache[key, epoch]


def section(
    snapshots: pd.DataFrame,
    folder,
    *,
    study: dict | None = None,
    topologies=None,
    draw: bool = True,
) -> tuple[list[str], dict, dict]:
    """The section's Markdown lines, its figures (stem -> [PNG, SVG]) and their captions.

    ``snapshots``: one row per run and snapshot epoch (nothing is written when it holds no
    row: the lines and dicts come back empty). ``folder``: where the figures go.
    ``study``: the store's study row (its ``dense_layers`` tell the sparse layers).
    ``topologies``: a callable ``(run_key, epoch) -> Topology`` for the degree figures
    (left out without it). ``draw``: draw the figures.
    """
    if snapshots is None or not len(snapshots):
        return [], {}, {}
    layers = sparse_layers(snapshots, study)
    level = _level(snapshots)
    data = _prepared(snapshots)
    colors = plots.variant_colors(data["_method"])
    n_runs = len(data.groupby(_run_columns(data), sort=False))
    epochs = ", ".join(str(int(e)) for e in sorted(data["epoch"].unique()))
    lines = [
        f"## {TITLE}",
        "",
        f"{n_runs} runs stored snapshots of their layer graphs, at epochs {epochs}. For each "
        "training method (a static family or pruning method, or a dynamic rule with the "
        "family it started from), the metrics below are means over its runs of the first "
        "and of the last snapshot of each run.",
        "",
    ]
    if not layers:
        return [*lines, "The snapshots hold no metric of a sparse layer.", ""], {}, {}
    tables, metrics_of = {}, {}
    for layer in layers:
        metrics = [m for m in plots.TRAJECTORY_METRICS if f"{m}_layer{layer}" in data.columns]
        if metrics:
            metrics_of[layer] = metrics
            tables[layer] = changes(snapshots, layer, metrics)
    common = [m for m in plots.TRAJECTORY_METRICS if all(m in v for v in metrics_of.values())]
    lines += [f"- {line}" for line in _findings(tables, common, level)] + [""]
    figures, captions, cache = {}, {}, {}
    for layer, frame in tables.items():
        metrics = metrics_of[layer]
        header = ["method", level or "edge count"]
        header += [f"{plots.TRAJECTORY_METRICS[m]}: first → last" for m in metrics] + ["runs"]
        rows = [
            [
                method,
                value,
                *(f"{_value(row[f'{m}_start'])} → {_value(row[f'{m}_end'])}" for m in metrics),
                int(row["runs"]),
            ]
            for (method, value), row in frame.iterrows()
        ]
        lines += [f"### Layer {layer}", "", table(rows, header), ""]
        if not draw:
            continue
        stem = f"trajectories_layer{layer}"
        figure = plots.metric_trajectories_figure(
            snapshots, layer=layer, metrics=metrics, colors=colors, level=level or "density"
        )
        caption = f"Layer {layer} along training (mean ± sd over seeds)"
        figures[stem], captions[stem] = plots.save_figure(figure, folder, stem), caption
        lines += figure_lines(figures[stem], caption)
        if topologies is None:
            continue
        for stem, (paths, caption) in _degree_figures(
            data, layer, level, topologies, colors, folder, cache
        ).items():
            figures[stem], captions[stem] = paths, caption
            lines += figure_lines(paths, caption)
    return lines, figures, captions
