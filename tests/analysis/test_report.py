"""report.md and the figures of a synthetic study with a known relationship: test accuracy
rises with the spectral gap beyond density; the Fiedler value is pure noise."""

import io
import pathlib
import re

import numpy as np
import pandas as pd
import pytest

from topokit import _atomic
from topokit._errors import TopokitError
from topokit.analysis.analyze import analyze_study, write_report
from topokit.analysis.report import CAPTIONS
from topokit.analysis.results import load_results
from topokit.analysis.statistics import OUTCOME_LABELS
from topokit.analysis.store import ResultStore, RunResult
from topokit.analysis.study import load_study

STUDY = """
name = "synthetic"
description = "accuracy follows the spectral gap; the Fiedler value is noise"
sizes = [64, 8, 10]
dense_layers = [-1]
densities = [0.25, 0.5]
seeds = {seeds}
[training]
epochs = 3
target_accuracy = 0.9
# the study defaults when this synthetic store was designed: they fix the run keys, and
# with them the order in which the report lists the failed variants
batch_size = 32
patience = 5
[[families]]
name = "erdos_renyi"
[[families]]
name = "small_world"
p = [0.0, 1.0]
[[families]]
name = "dense"
"""
N_SEEDS = 12
FAILED_SEEDS = {0: "layer 0 (64 -> 8): cannot build", 1: "training diverged (loss is nan)"}
NET_DENSITY = {0.25: 0.3, 0.5: 0.55, None: 1.0}


def _result(run, rng) -> RunResult:
    gaps = rng.uniform(0.5, 3.0, size=2)
    noise = rng.uniform(0.1, 1.0, size=2)
    density = run.density
    gap = gaps[0]  # layer 0, the one sparse layer (dense_layers = [-1])
    accuracy = 0.85 + 0.1 * (density or 1.0) + 0.02 * gap + 0.004 * rng.normal()
    layer = [
        {"spectral_gap": gaps[0], "fiedler_value": noise[0], "n_in": 64},
        {"spectral_gap": 30.0, "fiedler_value": 8.0, "n_in": 8},  # the dense output layer
    ]
    epochs_to_target = None if accuracy < 0.905 else 2
    return RunResult(
        "ok",
        seconds=0.5,
        test_accuracy=accuracy,
        train_accuracy=accuracy + 0.01,
        final_loss=0.3,
        epochs_to_target=epochs_to_target,
        epochs=3,
        layer_metrics=layer,
        network_metrics={"net_density": NET_DENSITY[density]},
        curve=[
            {"epoch": e, "loss": 1 / e, "train_accuracy": accuracy - 0.1 / e, "val_accuracy": 0.8}
            for e in (1, 2, 3)
        ],
    )


def _record(folder, n_seeds=N_SEEDS, *, failures=True, curves=True, limit=None):
    study = load_study(STUDY.format(seeds=list(range(n_seeds))))
    rng = np.random.default_rng(2024)
    runs = study.runs()[:limit]
    with ResultStore(folder, study) as store:
        for index, run in enumerate(runs):
            result = _result(run, rng)
            if failures and run.family == "erdos_renyi" and run.seed in FAILED_SEEDS:
                result = RunResult.failed(FAILED_SEEDS[run.seed])
            if failures and index == 5 and run.family != "erdos_renyi":
                result = RunResult.failed(FAILED_SEEDS[0])
            if not curves:
                result.curve = []
            store.record(run, result)
    return study


@pytest.fixture(scope="module")
def analysis(tmp_path_factory):
    folder = tmp_path_factory.mktemp("study")
    _record(folder)
    return analyze_study(folder)


@pytest.fixture(scope="module")
def report(analysis):
    return analysis.report.read_text(encoding="utf-8")


def _within_level_partial_r(frame, metric):
    """Independent reference: correlation after removing each density level's mean, over the
    runs with a value (a run without sparse layer has no aggregate)."""
    frame = frame.dropna(subset=[metric])
    centered = frame.groupby("net_density")[[metric, "test_accuracy"]].transform(
        lambda column: column - column.mean()
    )
    return float(np.corrcoef(centered[metric], centered["test_accuracy"])[0, 1])


def _ranking_row(report, metric):
    """The cells of the ranking row whose metric cell names ``metric`` (alone or in a
    group, "`min_x` (= `mean_x`)")."""
    section = report.split("## Which metric explains test accuracy beyond density")[1]
    section = section.split("\n## ")[0]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in section.splitlines()]
    return next(cells for cells in rows if len(cells) > 1 and f"`{metric}`" in cells[1])


def _ranking_entry(analysis, metric):
    """The ranking row of the group that holds ``metric``."""
    table = analysis.ranking
    holds = [metric in [m.strip() for m in members.split(",")] for members in table["members"]]
    assert sum(holds) == 1
    return table[holds].iloc[0]


def test_report_written_with_sections(analysis, report):
    assert analysis.report == analysis.directory / "report.md"
    for heading in (
        "# Study report: synthetic",
        "## Summary",
        "## Runs",
        "## Test accuracy by family and density",
        "## Which metric explains test accuracy beyond density",
        "## Figures",
        "## Correlations",
        "## OLS of the outcome on metric and density (standardized coefficients)",
        "## Cross-validated R²",
        "## Configuration",
    ):
        assert heading in report
    assert "accuracy follows the spectral gap; the Fiedler value is noise" in report
    assert 'name = "synthetic"' in report  # the study file


def test_counts_and_failures(analysis, report):
    frame = load_results(analysis.directory)
    n_failed = int((frame["status"] == "failed").sum())
    assert analysis.counts == {"ok": len(frame) - n_failed, "failed": n_failed, "planned": 84}
    assert n_failed == 5
    assert f"| succeeded | {len(frame) - 5} |" in report
    assert "| failed | 5 |" in report
    failures = analysis.failures.set_index("error")["runs"].to_dict()
    assert failures == {"layer 0 (64 -> 8): cannot build": 3, "training diverged (loss is nan)": 2}
    assert "| layer 0 (64 -> 8): cannot build | 3 | erdos_renyi, small_world(p=1.0) |" in report


def test_partial_r_of_the_signal_matches_an_independent_reference(analysis, report):
    ok = load_results(analysis.directory).query("status == 'ok'")
    expected = _within_level_partial_r(ok, "mean_spectral_gap")
    assert expected > 0.5
    cells = _ranking_row(report, "mean_spectral_gap")
    assert cells[3].startswith(f"{expected:+.3f} [")
    assert cells[10] == "supported"
    row = _ranking_entry(analysis, "mean_spectral_gap")
    assert row["partial_r"] == pytest.approx(expected, rel=1e-9)
    assert "Beyond density, the metric that best explains test accuracy is `" in report


def test_noise_metric_is_not_supported(analysis, report):
    ok = load_results(analysis.directory).query("status == 'ok'")
    expected = _within_level_partial_r(ok, "mean_fiedler_value")
    row = _ranking_entry(analysis, "mean_fiedler_value")
    assert row["partial_r"] == pytest.approx(expected, rel=1e-9)
    assert row["partial_ci_low"] < 0 < row["partial_ci_high"]
    cells = _ranking_row(report, "mean_fiedler_value")
    assert cells[10] == "not supported"
    summary = report.split("## Summary")[1].split("## Runs")[0]
    line = next(line for line in summary.splitlines() if line.startswith("- Not supported"))
    assert "`mean_fiedler_value`" in line
    assert "95% CI of the partial r includes 0" in line


def test_constant_metric_cannot_be_assessed(analysis, report):
    row = _ranking_entry(analysis, "mean_n_in")
    assert (row["kind"], row["verdict"]) == ("constant", "cannot be assessed")
    line = next(line for line in report.splitlines() if line.startswith("Constant across"))
    assert "`mean_n_in`" in line
    assert "`min_n_in`" in line


def test_censored_epochs_to_target_reported(analysis, report):
    ok = load_results(analysis.directory).query("status == 'ok'")
    censored = int(ok["epochs_to_target"].isna().sum())
    assert 0 < censored < len(ok)
    expected = (
        f"{censored} of {len(ok)} successful runs ({100 * censored / len(ok):.0f}%) never "
        "reached the target accuracy 0.9 within 3 epochs"
    )
    assert expected in report
    # every run that reached the target did so at epoch 2: nothing to relate
    assert "did so at epoch 2, so epochs to target does not vary" in report


def test_accuracy_table_means(analysis, report):
    ok = load_results(analysis.directory).query("status == 'ok'")
    group = ok[(ok["variant"] == "small_world(p=1.0)") & (ok["density"] == 0.5)]["test_accuracy"]
    cell = f"{100 * group.mean():.2f} ± {100 * group.std():.2f} ({len(group)})"
    assert re.search(rf"\| small_world\(p=1\.0\) \|[^\n]*{re.escape(cell)}", report)


def test_figures_exist_and_are_linked(analysis, report):
    expected = {
        "accuracy_vs_spectral_gap",
        "accuracy_vs_fiedler_value",
        "accuracy_vs_density_scatter",
        "accuracy_vs_density",
        "correlation_heatmap",
        "learning_curves",
    }
    assert set(analysis.figures) == expected
    for name, (png, svg) in analysis.figures.items():
        assert png.parent == analysis.directory / "figures"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert svg.read_text(encoding="utf-8").lstrip().startswith("<?xml")
        assert f"](figures/{name}.png)" in report
        assert f"](figures/{name}.svg)" in report
    # metrics the study did not record: the figure is absent and the report says why
    assert "`accuracy_vs_ramanujan_gap` not drawn: the study did not record `ramanujan_gap`" in (
        report
    )


def test_headings_use_the_one_set_of_labels(analysis, report):
    for label in OUTCOME_LABELS.values():  # a subsection per outcome in each table section
        assert report.count(f"### {label}\n") == 3
    for name in analysis.figures:
        assert f"### {CAPTIONS[name]}\n\n![{CAPTIONS[name]}](figures/{name}.png)" in report
    assert CAPTIONS["accuracy_vs_spectral_gap"] == "Test accuracy vs spectral gap"


def test_to_dict_is_json_ready(analysis):
    import json

    data = analysis.to_dict()
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text)["counts"]["failed"] == 5
    ranking = pd.DataFrame(data["ranking"])
    assert ranking.loc[0, "rank"] == 1
    assert data["report"].endswith("report.md")


def test_partial_study_and_too_few_runs(tmp_path):
    _record(tmp_path, failures=False, limit=6)
    path = write_report(tmp_path)
    text = path.read_text(encoding="utf-8")
    assert "6 runs are stored: 6 succeeded and 0 failed; 78 of the 84 planned runs" in text
    assert "With only 6 successful runs the data cannot support or rule out any" in text


def test_no_curves_says_so(tmp_path):
    _record(tmp_path, n_seeds=4, curves=False)
    analysis = analyze_study(tmp_path, figures=True)
    assert "learning_curves" not in analysis.figures
    assert "No learning curves were recorded" in analysis.report.read_text(encoding="utf-8")


def test_no_store_raises(tmp_path):
    with pytest.raises(TopokitError, match="no result store at"):
        write_report(tmp_path)


def test_no_successful_run_raises(tmp_path):
    study = load_study(STUDY.format(seeds=[0]))
    with ResultStore(tmp_path, study) as store:
        for run in study.runs():
            store.record(run, RunResult.failed("training diverged (loss is nan)"))
    with pytest.raises(TopokitError, match=r"no successful runs \(7 failed\); most common"):
        write_report(tmp_path)
    assert not (tmp_path / "report.md").exists()


def test_degree_study(tmp_path):
    study = load_study(
        'name = "by-degree"\nsizes = [64, 8, 10]\ndense_layers = [-1]\ndegrees = [2, 4]\n'
        'seeds = [0, 1, 2, 3, 4, 5]\n[[families]]\nname = "erdos_renyi"\n'
        '[[families]]\nname = "left_regular"\n'
    )
    rng = np.random.default_rng(3)
    with ResultStore(tmp_path, study) as store:
        for run in study.runs():
            gap = rng.uniform(0.5, 3.0)
            store.record(
                run,
                RunResult(
                    "ok",
                    test_accuracy=0.8 + 0.02 * run.degree + 0.01 * gap + 0.002 * rng.normal(),
                    layer_metrics=[{"spectral_gap": gap}, {"spectral_gap": 1.0}, {}],
                    network_metrics={"net_density": run.degree / 64},
                ),
            )
    analysis = analyze_study(tmp_path)
    text = analysis.report.read_text(encoding="utf-8")
    assert "## Test accuracy by family and degree" in text
    assert "| variant | degree 2 | degree 4 |" in text
    assert "accuracy_vs_density" in analysis.figures
    assert analysis.ranking.loc[0, "metric"] in {"mean_spectral_gap", "min_spectral_gap"}


def test_a_failed_write_leaves_the_previous_report_whole(tmp_path, monkeypatch):
    _record(tmp_path, n_seeds=2, curves=False)
    before = write_report(tmp_path).read_text(encoding="utf-8")

    class HalfWrittenFile(io.StringIO):  # a full disk, half-way through the new report
        def __init__(self, path):
            super().__init__()
            self.path = pathlib.Path(path)

        def write(self, text):
            self.path.write_text(text[: len(text) // 2], encoding="utf-8")
            raise OSError(28, "No space left on device")

    def open_half(path, mode="r", **kwargs):
        if mode == "xb":  # the figures, which go through the same helper: written whole
            return open(path, mode, **kwargs)
        assert mode == "x"
        return HalfWrittenFile(path)

    monkeypatch.setattr(_atomic, "open", open_half, raising=False)
    with pytest.raises(TopokitError, match=r"cannot write the report .*No space left"):
        write_report(tmp_path)
    monkeypatch.undo()
    assert (tmp_path / "report.md").read_text(encoding="utf-8") == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".report.md")] == []
