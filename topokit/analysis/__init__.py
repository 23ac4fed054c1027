"""Topology studies: sweeps of (family × density × seed × sizes) trainings, a resumable
store of their metrics and outcomes, and the statistics that relate the two.

The public names are imported from their modules at their first use
(``topokit.analysis.run_study``, ``from topokit.analysis import load_results``), not with
the package: a worker process that runs a study's runs imports
:mod:`topokit.analysis.runner` and what it needs, without the statistics, plots and
pandas behind the analysis (half a second of start-up in each worker).
"""

import importlib

#: Where each public name lives: imported at its first use (see the module docstring).
_HOMES = {
    "FitLine": "statistics",
    "ResultStore": "store",
    "RunConfig": "study",
    "RunResult": "store",
    "Study": "study",
    "StudyAnalysis": "analyze",
    "StudyPlan": "runner",
    "StudyStoppedError": "runner",
    "StudySummary": "runner",
    "accuracy_vs_density_figure": "plots",
    "analyze_study": "analyze",
    "build_topology": "study",
    "correlation_heatmap": "plots",
    "correlation_table": "statistics",
    "cross_validated_r2": "statistics",
    "cross_validation_table": "statistics",
    "degree_distributions_figure": "plots",
    "export_results": "results",
    "fit_line": "statistics",
    "learning_curves_figure": "plots",
    "library_versions": "store",
    "list_presets": "study",
    "load_curves": "results",
    "load_failed": "results",
    "load_layer_metrics": "results",
    "load_preset": "study",
    "load_results": "results",
    "load_snapshot_topology": "results",
    "load_snapshots": "results",
    "load_study": "study",
    "metric_groups": "statistics",
    "metric_trajectories_figure": "plots",
    "ols_table": "statistics",
    "open_store": "results",
    "partial_correlation": "statistics",
    "pearson": "statistics",
    "plan_study": "runner",
    "prune_run": "study",
    "rank_metrics": "statistics",
    "run_study": "runner",
    "salvage_store": "_salvage",
    "save_figure": "plots",
    "scatter_figure": "plots",
    "spearman": "statistics",
    "training_method_labels": "plots",
    "variant_colors": "plots",
    "varied_training_columns": "results",
    "write_report": "analyze",
}

__all__ = sorted(_HOMES)


def __getattr__(name):
    """A public name, imported from its module at its first use."""
    try:
        home = _HOMES[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # the next lookup finds it without this function
    return value


def __dir__():
    return sorted({*globals(), *__all__})
