"""Topology studies: sweeps of (family × density × seed × sizes) trainings, a resumable
store of their metrics and outcomes, and the statistics that relate the two."""

from topokit.analysis._salvage import salvage_store
from topokit.analysis.analyze import StudyAnalysis, analyze_study, write_report
from topokit.analysis.plots import (
    accuracy_vs_density_figure,
    correlation_heatmap,
    learning_curves_figure,
    save_figure,
    scatter_figure,
    variant_colors,
)
from topokit.analysis.results import (
    export_results,
    load_curves,
    load_failed,
    load_layer_metrics,
    load_results,
    open_store,
    varied_training_columns,
)
from topokit.analysis.runner import (
    StudyPlan,
    StudyStoppedError,
    StudySummary,
    plan_study,
    run_study,
)
from topokit.analysis.statistics import (
    FitLine,
    correlation_table,
    cross_validated_r2,
    cross_validation_table,
    fit_line,
    metric_groups,
    ols_table,
    partial_correlation,
    pearson,
    rank_metrics,
    spearman,
)
from topokit.analysis.store import ResultStore, RunResult, library_versions
from topokit.analysis.study import (
    RunConfig,
    Study,
    build_topology,
    list_presets,
    load_preset,
    load_study,
    prune_run,
)

__all__ = [
    "FitLine",
    "ResultStore",
    "RunConfig",
    "RunResult",
    "Study",
    "StudyAnalysis",
    "StudyPlan",
    "StudyStoppedError",
    "StudySummary",
    "accuracy_vs_density_figure",
    "analyze_study",
    "build_topology",
    "correlation_heatmap",
    "correlation_table",
    "cross_validated_r2",
    "cross_validation_table",
    "export_results",
    "fit_line",
    "learning_curves_figure",
    "library_versions",
    "list_presets",
    "load_curves",
    "load_failed",
    "load_layer_metrics",
    "load_preset",
    "load_results",
    "load_study",
    "metric_groups",
    "ols_table",
    "open_store",
    "partial_correlation",
    "pearson",
    "plan_study",
    "prune_run",
    "rank_metrics",
    "run_study",
    "salvage_store",
    "save_figure",
    "scatter_figure",
    "spearman",
    "variant_colors",
    "varied_training_columns",
    "write_report",
]
