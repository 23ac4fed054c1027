"""The analysis of a study folder: run counts, statistics tables, ranking and findings.

:func:`analyze_study` reads ``DIR/results.sqlite`` (a finished or partial study), counts
the runs and groups the failures by reason, computes the tables of
:mod:`topokit.analysis.statistics` over the successful runs, ranks the metrics by how much
they explain test accuracy beyond density (with a Holm correction and a verdict) and
states the findings in plain language. It hands the result, a :class:`StudyAnalysis`, to
:mod:`topokit.analysis.report`, which draws the figures into ``DIR/figures/`` and writes
``DIR/report.md``. :func:`write_report` does the same and returns the report's path.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from topokit._errors import TopokitError
from topokit.analysis import _findings, report
from topokit.analysis.results import (
    load_results,
    load_snapshot_topology,
    load_snapshots,
    open_store,
)
from topokit.analysis.statistics import (
    DEFAULT_OUTCOMES,
    correlation_table,
    cross_validation_table,
    ols_table,
    rank_metrics,
)
from topokit.analysis.study import RunConfig, load_study

__all__ = ["StudyAnalysis", "analyze_study", "write_report"]


@dataclass
class StudyAnalysis:
    """Everything :func:`analyze_study` computed and wrote.

    :func:`analyze_study` makes it; each parameter is an attribute of the same name.

    Parameters
    ----------
    directory : pathlib.Path
        The study's output folder.
    study : dict or None
        The store's study row (name, config, TOML, created, versions).
    counts : dict
        Stored runs of the current study file by status (``ok``, ``failed``),
        ``planned`` (the runs it names) when known, and ``unnamed`` (stored runs it does
        not name, left out of the analysis) when there are any.
    failures : pandas.DataFrame
        Failure reasons: ``error``, ``runs``, ``variants``.
    correlations, ols, cross_validation : pandas.DataFrame
        The tables of :mod:`topokit.analysis.statistics` over the successful runs.
    ranking : pandas.DataFrame
        :func:`~topokit.analysis.statistics.rank_metrics` for test accuracy, with
        ``p_holm`` and ``verdict``.
    summary : list of str, default []
        The plain-language findings.
    figures : dict, default {}
        Figure name → [PNG path, SVG path]; empty when no figures were drawn.
    report : pathlib.Path or None, default None
        ``DIR/report.md`` once written.

    Examples
    --------
    >>> import tempfile
    >>> from topokit.analysis import ResultStore, RunResult, analyze_study, load_study
    >>> study = load_study('sizes = [64, 10]\\nseeds = [0, 1, 2]\\n[[families]]\\nname = "dense"')
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     with ResultStore(folder, study) as store:
    ...         for run in study.runs():
    ...             _ = store.record(run, RunResult("ok", test_accuracy=0.9 + run.seed / 100))
    ...     analysis = analyze_study(folder, figures=False)
    >>> analysis.counts, analysis.report.name, analysis.figures
    ({'ok': 3, 'failed': 0, 'planned': 3}, 'report.md', {})
    >>> analysis.summary[0]
    '3 runs are stored: 3 succeeded and 0 failed.'
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
        """A JSON-ready dict: tables as lists of records, paths as strings.

        Returns
        -------
        dict
            Keys ``directory``, ``study`` (the study's name, or None), ``report``,
            ``counts``, ``failures``, ``summary``, ``ranking``, ``correlations``, ``ols``,
            ``cross_validation`` and ``figures``; NaN table cells become None.

        Examples
        --------
        >>> import tempfile
        >>> from topokit.analysis import ResultStore, RunResult, analyze_study, load_study
        >>> study = load_study('sizes = [64, 10]\\nseeds = [0, 1, 2]\\n'
        ...                    '[[families]]\\nname = "dense"')
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     with ResultStore(folder, study) as store:
        ...         for run in study.runs():
        ...             _ = store.record(run, RunResult("ok", test_accuracy=0.9 + run.seed / 100))
        ...     analysis = analyze_study(folder, figures=False)
        >>> import json
        >>> record = json.loads(json.dumps(analysis.to_dict()))
        >>> record["study"], record["counts"], record["failures"]
        ('study', {'ok': 3, 'failed': 0, 'planned': 3}, [])
        """

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


def _read_store(directory: Path):
    with open_store(directory) as store:
        info = store.study_info()
        rows = store.run_rows()
        named = store.study_run_keys()
    return info, rows, named


def _planned_runs(info) -> int | None:
    if info is None or not info.get("config_toml"):
        return None
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

    Examples
    --------
    A study of four seeds, one of which failed (no figures drawn):

    >>> import tempfile
    >>> from topokit.analysis import ResultStore, RunResult, analyze_study, load_study
    >>> study = load_study('sizes = [64, 10]\\nseeds = [0, 1, 2, 3]\\n'
    ...                    '[[families]]\\nname = "dense"')
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     with ResultStore(folder, study) as store:
    ...         for run in study.runs()[:3]:
    ...             _ = store.record(run, RunResult("ok", test_accuracy=0.9 + run.seed / 100))
    ...         _ = store.record(study.runs()[3], RunResult.failed("loss is nan"))
    ...     analysis = analyze_study(folder, figures=False)
    >>> analysis.counts
    {'ok': 3, 'failed': 1, 'planned': 4}
    >>> analysis.failures.to_dict(orient="records")
    [{'error': 'loss is nan', 'runs': 1, 'variants': 'dense'}]
    """
    directory = Path(directory)
    info, rows, named = _read_store(directory)
    frame = load_results(directory)
    n_unnamed = 0
    if named is not None:  # the runs the current study file names; others stay stored
        n_unnamed = len(rows) - sum(row["run_key"] in named for row in rows)
        rows = [row for row in rows if row["run_key"] in named]
        frame = frame[frame["run_key"].isin(named)].reset_index(drop=True)
    counts = {
        "ok": int((frame["status"] == "ok").sum()),
        "failed": int((frame["status"] != "ok").sum()),
    }
    planned = _planned_runs(info) if named is None else len(named)
    if planned is not None:
        counts["planned"] = planned
    if n_unnamed:
        counts["unnamed"] = n_unnamed
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
    analysis = StudyAnalysis(
        directory=directory,
        study=info,
        counts=counts,
        failures=failures,
        correlations=correlation_table(ok, outcomes=outcomes),
        ols=ols_table(ok, outcomes=outcomes),
        cross_validation=cross_validation_table(ok, outcomes=outcomes),
        ranking=_findings.verdicts(rank_metrics(ok)),
    )
    analysis.summary = _findings.summary(analysis, ok)
    if n_unnamed:
        analysis.summary.append(
            f"{n_unnamed} more stored runs are not named by the current study file (of its "
            "earlier definitions); they are kept in the store and left out of this analysis."
        )
    snapshots = load_snapshots(directory)
    snapshots = snapshots[snapshots["run_key"].isin(ok["run_key"])].reset_index(drop=True)
    report.write(
        analysis,
        frame,
        figures=figures,
        snapshots=snapshots if len(snapshots) else None,
        topologies=functools.partial(load_snapshot_topology, directory),
    )
    return analysis


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
    >>> from topokit.analysis import ResultStore, RunResult, load_study, write_report
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
