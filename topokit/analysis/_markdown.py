"""Markdown of a study report (:func:`topokit.analysis.report.write`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from topokit import __version__
from topokit.analysis._findings import edge_level, format_p, interval
from topokit.analysis.statistics import OUTCOME_LABELS

__all__ = ["figure_lines", "render", "table"]


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "n/a"
    if isinstance(value, float | np.floating):
        return f"{value:.3f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _numeric_column(rows, k) -> bool:
    """Right-align a column of numbers and intervals ("+0.42 [...]", "n/a", "1.2e-05")."""
    for row in rows:
        value = row[k]
        text = isinstance(value, str) and value not in ("", "n/a")
        if text and not (value[0].isdigit() or value[0] in "+-"):
            return False
    return True


def table(rows: list[list], header: list[str]) -> str:
    """A Markdown table; first column left-aligned, the others right-aligned."""
    lines = ["| " + " | ".join(header) + " |"]
    align = [":--"] + ["--:" if _numeric_column(rows, k) else ":--" for k in range(1, len(header))]
    lines.append("|" + "|".join(align) + "|")
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _ci(row, prefix) -> str:
    return interval(row[f"{prefix}_r"], row[f"{prefix}_ci_low"], row[f"{prefix}_ci_high"])


def _beta(row, prefix) -> str:
    return interval(row[prefix], row[f"{prefix}_ci_low"], row[f"{prefix}_ci_high"])


def _runs_section(analysis) -> list[str]:
    counts = analysis.counts
    rows = [["succeeded", counts["ok"]], ["failed", counts["failed"]]]
    if "planned" in counts:
        done = counts["ok"] + counts["failed"]
        rows.append(["not run yet", max(counts["planned"] - done, 0)])
        rows.append(["planned", counts["planned"]])
    parts = ["## Runs", "", table(rows, ["runs", "count"]), ""]
    if len(analysis.failures):
        parts += ["Failures, grouped by reason:", ""]
        failure_rows = [[r.error, r.runs, r.variants] for r in analysis.failures.itertuples()]
        parts += [table(failure_rows, ["reason", "runs", "variants"]), ""]
    else:
        parts += ["No run failed.", ""]
    return parts


def _accuracy_section(ok: pd.DataFrame) -> list[str]:
    level = edge_level(ok)
    data = ok.dropna(subset=["test_accuracy"]).copy()
    data["level"] = data[level].map(lambda v: "fixed" if pd.isna(v) else f"{v:g}")
    stats = data.groupby(["variant", "level"])["test_accuracy"].agg(["mean", "std", "count"])
    levels = sorted(
        set(data["level"]), key=lambda v: (v == "fixed", float(v) if v != "fixed" else 0)
    )
    rows = []
    for variant in dict.fromkeys(sorted(data["variant"], key=lambda v: (v == "dense", v))):
        row = [variant]
        for value in levels:
            if (variant, value) not in stats.index:
                row.append("")
                continue
            item = stats.loc[(variant, value)]
            sd = f" ± {100 * item['std']:.2f}" if item["count"] > 1 else ""
            row.append(f"{100 * item['mean']:.2f}{sd} ({int(item['count'])})")
        rows.append(row)
    header = ["variant"] + [f"{level} {v}" if v != "fixed" else "own edge count" for v in levels]
    return [
        f"## Test accuracy by family and {level}",
        "",
        "Mean ± sd over seeds, in %, with the number of runs in parentheses.",
        "",
        table(rows, header),
        "",
    ]


def _members(row) -> str:
    others = [m.strip() for m in str(row.members).split(",") if m.strip() != row.metric]
    if not others:
        return f"`{row.metric}`"
    others = ", ".join(f"`{m}`" for m in others)
    return f"`{row.metric}` (= {others})"


def _ranking_section(ranking: pd.DataFrame) -> list[str]:
    controls = next((c for c in ranking["controls"] if c), "")
    kinds = ranking["kind"] if "kind" in ranking.columns else pd.Series("distinct", ranking.index)
    tested = ranking[kinds == "distinct"]
    rows = []
    for r in tested.itertuples():
        rows.append(
            [
                r.rank,
                _members(r) if "members" in ranking.columns else f"`{r.metric}`",
                r.n,
                interval(r.partial_r, r.partial_ci_low, r.partial_ci_high),
                format_p(r.partial_p),
                format_p(r.p_holm),
                r.pearson_r,
                r.r2_density,
                r.r2_metric_density,
                r.delta_r2,
                r.verdict,
                r.note,
            ]
        )
    header = ["rank", "metric", "n", "partial r [95% CI]", "p", "Holm p", "Pearson r"]
    header += ["CV R² density", "CV R² density + metric", "ΔR²", "verdict", "note"]
    n_tests = int(ranking["p_holm"].notna().sum())
    if n_tests:
        holm = (
            f"Holm p: adjusted for {n_tests} distinct "
            f"{'hypothesis' if n_tests == 1 else 'hypotheses'} (one per row; metrics that are "
            "exact affine functions of each other share a row and are tested once)."
        )
    else:
        holm = "No metric could be tested, so no p-value is adjusted."
    parts = [
        "## Which metric explains test accuracy beyond density",
        "",
        f"Metrics ranked by |partial r| with test accuracy, controlling for "
        f"{controls or 'nothing (density does not vary)'}. {holm} CV R²: 5-fold "
        "cross-validated R² of a least-squares fit; ΔR² is what the metric adds to density.",
        "",
        table(rows, header) if rows else "No metric varies independently of the controls.",
        "",
    ]
    for kind, text in (
        ("constant", "Constant across the runs (not tested)"),
        ("controls", "Determined by the controls (not tested)"),
    ):
        for r in ranking[kinds == kind].itertuples():
            names = ", ".join(f"`{m.strip()}`" for m in str(r.members).split(","))
            parts += [f"{text}: {names}.", ""]
    return parts


def figure_lines(paths, caption: str) -> list[str]:
    """A figure of the report: its caption as a heading, the PNG, a link to the SVG."""
    png, svg = (f"figures/{p.name}" for p in paths)
    return [f"### {caption}", "", f"![{caption}]({png})", "", f"[SVG]({svg})", ""]


def _figures_section(figures: dict, notes: list[str], captions: dict) -> list[str]:
    parts = ["## Figures", ""]
    for name, paths in figures.items():
        parts += figure_lines(paths, captions.get(name, name))
    if not figures:
        parts += ["No figure was drawn.", ""]
    for note in notes:
        parts += [f"- {note}"]
    if notes:
        parts.append("")
    return parts


def _left_out(frame: pd.DataFrame, column: str) -> str:
    missing = frame[frame[column].isna()]
    if missing.empty:
        return ""
    reasons = missing.groupby("note", sort=False)["metric"].apply(list)
    parts = [
        f"{', '.join(f'`{m}`' for m in names)} ({note or 'undefined'})"
        for note, names in reasons.items()
    ]
    return "Left out (no coefficient): " + "; ".join(parts) + "."


def _per_outcome(frame, title, header, make_row, key_column) -> list[str]:
    parts = [f"## {title}", ""]
    for outcome, part in frame.groupby("outcome", sort=False):
        shown = part[part[key_column].notna()]
        controls = next((c for c in part["controls"] if c), "")
        parts += [f"### {OUTCOME_LABELS.get(outcome, outcome)}", ""]
        if controls:
            parts += [f"Controls: {controls}.", ""]
        if len(shown):
            rows = [make_row(r) for _, r in shown.iterrows()]
            # a column with no value anywhere (β density when density enters by level)
            empty = [k for k in range(len(header)) if all(_cell(row[k]) == "n/a" for row in rows)]
            if empty:
                names = ", ".join(header[k] for k in empty)
                parts += [f"Not shown, undefined for every metric here: {names}.", ""]
            keep = [k for k in range(len(header)) if k not in empty]
            rows = [[row[k] for k in keep] for row in rows]
            parts += [table(rows, [header[k] for k in keep]), ""]
        left = _left_out(part, key_column)
        if left:
            parts += [left, ""]
    return parts


def _correlation_row(r):
    return [
        f"`{r.metric}`",
        r.n,
        r.n_dropped,
        _ci(r, "pearson"),
        format_p(r.pearson_p),
        _ci(r, "spearman"),
        format_p(r.spearman_p),
        _ci(r, "partial"),
        format_p(r.partial_p),
        r.note,
    ]


def _ols_row(r):
    return [
        f"`{r.metric}`",
        r.n,
        _beta(r, "beta_metric"),
        format_p(r.p_metric),
        _beta(r, "beta_density"),
        format_p(r.p_density),
        r.r2,
        r.r2_adj,
        r.note,
    ]


def _cv_row(r):
    return [
        f"`{r.metric}`",
        r.n,
        r.r2_metric,
        r.r2_density,
        r.r2_metric_density,
        r.delta_r2,
        r.note,
    ]


def _configuration_section(study: dict | None) -> list[str]:
    parts = ["## Configuration", ""]
    if study is None:
        return [*parts, "The store is not bound to a study configuration.", ""]
    config = study["config"]
    rows = [
        ["name", study["name"]],
        ["study key", study["study_key"][:16]],
        ["created", study["created"]],
        ["dataset", config.get("dataset")],
        ["sizes", "; ".join("-".join(str(n) for n in s) for s in config.get("sizes", []))],
        ["dense layers", ", ".join(str(k) for k in config.get("dense_layers", [])) or "none"],
        ["densities", ", ".join(f"{d:g}" for d in config.get("densities") or []) or "—"],
        ["degrees", ", ".join(str(d) for d in config.get("degrees") or []) or "—"],
        ["seeds", ", ".join(str(s) for s in config.get("seeds", []))],
        ["metrics", "all" if config.get("metrics") is None else ", ".join(config["metrics"])],
    ]
    for spec in config.get("families", []):
        rows.append(["family", json.dumps(spec, sort_keys=True)])
    parts += [table(rows, ["setting", "value"]), "", "Training recipe:", ""]
    training = [[k, json.dumps(v)] for k, v in sorted(config.get("training", {}).items())]
    parts += [table(training, ["key", "value"]), ""]
    versions = [[k, v or "not installed"] for k, v in sorted(study["versions"].items())]
    parts += [
        "Library versions when the study was created:",
        "",
        table(versions, ["library", "version"]),
        "",
    ]
    if study.get("config_toml"):
        parts += ["The study file:", "", "```toml", study["config_toml"].strip(), "```", ""]
    return parts


def render(
    analysis,
    ok: pd.DataFrame,
    notes: list[str],
    captions: dict,
    *,
    along_training=(),
    shown=frozenset(),
) -> str:
    """The whole report as Markdown text (``captions``: figure stem → caption).

    ``along_training``: the lines of the section "The graph along training", placed after
    the accuracy table; ``shown``: the stems of the figures that section shows, left out
    of the section "Figures"."""
    study = analysis.study
    name = study["name"] if study else analysis.directory.name
    description = study["config"].get("description") if study else None
    now = datetime.now(UTC).isoformat(timespec="seconds")
    parts = [f"# Study report: {name}", ""]
    if description:
        parts += [description, ""]
    parts += [f"Written {now} by topokit {__version__} from `results.sqlite`.", ""]
    parts += ["## Summary", ""] + [f"- {line}" for line in analysis.summary] + [""]
    parts += _runs_section(analysis)
    parts += _accuracy_section(ok)
    parts += list(along_training)
    parts += _ranking_section(analysis.ranking)
    others = {name: paths for name, paths in analysis.figures.items() if name not in shown}
    parts += _figures_section(others, notes, captions)
    header = ["metric", "n", "dropped", "Pearson r [95% CI]", "p", "Spearman ρ [95% CI]", "p"]
    header += ["partial r [95% CI]", "p", "note"]
    parts += _per_outcome(
        analysis.correlations, "Correlations", header, _correlation_row, "pearson_r"
    )
    header = ["metric", "n", "β metric [95% CI]", "p (metric)", "β density [95% CI]"]
    header += ["p (density)", "R²", "adj. R²"]
    parts += _per_outcome(
        analysis.ols,
        "OLS of the outcome on metric and density (standardized coefficients)",
        [*header, "note"],
        _ols_row,
        "beta_metric",
    )
    header = ["metric", "n", "R² metric", "R² density", "R² metric + density", "ΔR²", "note"]
    parts += _per_outcome(
        analysis.cross_validation, "Cross-validated R²", header, _cv_row, "r2_metric"
    )
    parts += _configuration_section(study)
    return "\n".join(parts).rstrip() + "\n"
