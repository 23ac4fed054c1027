"""The report's section "The graph along training" from a synthetic frame of snapshots of
the shape a study stores (one row per run and epoch, ``{metric}_layer{k}`` columns): real
layer graphs and their real metrics, static runs whose graph never changes beside SET-like
runs whose graph is redrawn at each snapshot. Numbers are checked against pandas means
computed here."""

import re

import numpy as np
import pandas as pd
import pytest

from topokit import Topology
from topokit.analysis import _along_training
from topokit.analysis.analyze import analyze_study
from topokit.analysis.report import write
from topokit.analysis.results import load_results
from topokit.analysis.store import ResultStore, RunResult
from topokit.analysis.study import build_topology, load_study
from topokit.metrics import layer_metrics

STUDY = """
name = "along-training"
sizes = [64, 16, 10]
dense_layers = [-1]
densities = [0.25, 0.5]
seeds = [0, 1, 2]
[training]
epochs = 10
[[families]]
name = "erdos_renyi"
[[families]]
name = "ramanujan"
"""
EPOCHS = (0, 5, 10)
KEYS = ("spectral_gap", "ramanujan_gap", "fiedler_value", "isolated_inputs", "density")


def _row(key, family, rule, density, seed, epoch, topology):
    row = {"key": key, "family": family, "dynamic": rule, "density": density, "seed": seed}
    row["epoch"] = epoch
    for k, layer in enumerate(topology):
        for name, value in layer_metrics(layer, keys=KEYS).items():
            row[f"{name}_layer{k}"] = value
    return row


@pytest.fixture(scope="module")
def study_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("along")
    study = load_study(STUDY)
    topologies, rows = {}, []
    with ResultStore(folder, study) as store:
        for run in study.runs():
            store.record(run, RunResult("ok", test_accuracy=0.8 + run.density / 4))
            topology = build_topology(run)
            for epoch in EPOCHS:  # a static run: the same graph at every snapshot
                topologies[run.key, epoch] = topology
                rows.append(
                    _row(run.key, run.family, "static", run.density, run.seed, epoch, topology)
                )
            if run.family == "erdos_renyi":  # its SET counterpart: a new graph each time
                key = f"set-{run.key[:12]}"
                for epoch in EPOCHS:
                    drawn = Topology.build(
                        [64, 16, 10],
                        "erdos_renyi",
                        density=run.density,
                        dense_output=True,
                        rng=1000 * run.seed + epoch,
                    )
                    topologies[key, epoch] = drawn
                    rows.append(
                        _row(key, "erdos_renyi", "set", run.density, run.seed, epoch, drawn)
                    )
    analysis = analyze_study(folder, figures=False)
    return folder, analysis, pd.DataFrame(rows), topologies


@pytest.fixture(scope="module")
def report(study_folder):
    folder, analysis, snapshots, topologies = study_folder
    path = write(
        analysis,
        load_results(folder),
        snapshots=snapshots,
        topologies=lambda key, epoch: topologies[key, epoch],
    )
    return analysis, path.read_text(encoding="utf-8"), snapshots


def _section(text):
    return text.split("## The graph along training", 1)[1].split("\n## ", 1)[0]


def test_section_sits_after_the_accuracy_table(report):
    _, text, _ = report
    headings = re.findall(r"^## (.+)$", text, re.M)
    at = headings.index("The graph along training")
    assert headings[at - 1].startswith("Test accuracy by family")
    assert headings[at + 1] == "Which metric explains test accuracy beyond density"


def test_only_sparse_layers_are_reported(report):
    _, text, _ = report
    section = _section(text)
    assert "### Layer 0" in section
    assert "### Layer 1" not in section  # the dense output layer


def test_intro_counts_runs_and_epochs(report):
    _, text, snapshots = report
    n_runs = snapshots["key"].nunique()
    assert f"{n_runs} runs stored snapshots of their layer graphs, at epochs 0, 5, 10." in text


def test_static_methods_are_named_unchanged(report):
    _, text, _ = report
    assert (
        "Unchanged from the first snapshot to the last (the graph stays as it was built or "
        "pruned): erdos_renyi, ramanujan." in _section(text)
    )


def _means(snapshots, rule, family, density, column):
    runs = snapshots[
        (snapshots["dynamic"] == rule)
        & (snapshots["family"] == family)
        & (snapshots["density"] == density)
    ]
    return runs.loc[runs["epoch"] == 0, column].mean(), runs.loc[runs["epoch"] == 10, column].mean()


@pytest.mark.parametrize("metric", ["spectral_gap", "ramanujan_gap", "fiedler_value"])
def test_largest_change_sentence(report, metric):
    _, text, snapshots = report
    column = f"{metric}_layer0"
    changes = {
        density: _means(snapshots, "set", "erdos_renyi", density, column) for density in (0.25, 0.5)
    }
    density = max(changes, key=lambda d: abs(changes[d][1] - changes[d][0]))
    start, end = changes[density]
    label = {
        "spectral_gap": "spectral gap λ1 − λ2",
        "ramanujan_gap": "Ramanujan gap (bound − λ2)",
        "fiedler_value": "Fiedler value",
    }[metric]
    sentence = (
        f"Layer 0, {label}: the largest change is under set (erdos_renyi) at density "
        f"{density:g}, {start:.4g} → {end:.4g} (mean over 3 runs, epoch 0 to 10)."
    )
    assert sentence in text


@pytest.mark.parametrize(
    ("family", "rule", "label"),
    [
        ("erdos_renyi", "set", "set (erdos_renyi)"),
        ("ramanujan", "static", "ramanujan"),
    ],
)
@pytest.mark.parametrize("density", [0.25, 0.5])
def test_table_rows_are_first_and_last_means(report, family, rule, label, density):
    _, text, snapshots = report
    cells = []
    for metric in ("spectral_gap", "ramanujan_gap", "fiedler_value", "isolated_inputs"):
        start, end = _means(snapshots, rule, family, density, f"{metric}_layer0")
        cells.append(f"{start:.4g} → {end:.4g}")
    row = f"| {label} | {density:g} | " + " | ".join(cells) + " | 3 |"
    assert row in _section(text)


def test_figures_drawn_linked_once(report, study_folder):
    analysis, text, _ = report
    folder = study_folder[0]
    stems = ["trajectories_layer0", "degrees_layer0_0.25", "degrees_layer0_0.5"]
    for stem in stems:
        assert (folder / "figures" / f"{stem}.png").is_file()
        assert (folder / "figures" / f"{stem}.svg").is_file()
        assert text.count(f"(figures/{stem}.png)") == 1
        assert f"(figures/{stem}.png)" in _section(text)
        assert [p.name for p in analysis.figures[stem]] == [f"{stem}.png", f"{stem}.svg"]
    caption = "### Degree distributions of layer 0 at density 0.25: first snapshot (epoch 0) and "
    assert caption + "last snapshot (epoch 10)" in text


def test_no_snapshots_no_section(study_folder):
    folder, analysis, _, _ = study_folder
    text = write(analysis, load_results(folder), figures=False).read_text(encoding="utf-8")
    assert "The graph along training" not in text


def test_without_figures_or_topologies(study_folder, tmp_path):
    _, analysis, snapshots, _ = study_folder
    # without a study or density columns every layer with metrics is reported
    plain = snapshots.drop(columns=["density_layer0", "density_layer1"])
    lines, figures, captions = _along_training.section(plain, tmp_path, draw=False)
    assert figures == captions == {}
    assert "### Layer 0" in lines
    assert "### Layer 1" in lines  # no study: every layer
    lines, figures, _ = _along_training.section(
        snapshots, tmp_path, study=analysis.study, topologies=None
    )
    assert list(figures) == ["trajectories_layer0"]


def test_sparse_layers_from_the_density_columns():
    frame = pd.DataFrame({"density_layer0": [0.1, 0.2], "density_layer1": [1.0, 1.0]})
    assert _along_training.sparse_layers(frame) == [0]
    study = {"config": {"sizes": [[64, 32, 16, 10]], "dense_layers": [-1, 0]}}
    frame = pd.DataFrame({f"spectral_gap_layer{k}": [1.0] for k in range(3)})
    assert _along_training.sparse_layers(frame, study) == [1]


def test_changes_uses_each_runs_own_last_snapshot():
    # run b stopped early (epoch 5): its last snapshot is epoch 5, not missing
    frame = pd.DataFrame(
        {
            "key": ["a", "a", "b", "b"],
            "family": "erdos_renyi",
            "dynamic": "rigl",
            "density": 0.1,
            "seed": [0, 0, 1, 1],
            "epoch": [0, 10, 0, 5],
            "spectral_gap_layer0": [4.0, 2.0, 6.0, 5.0],
        }
    )
    table = _along_training.changes(frame, 0, ["spectral_gap"])
    row = table.loc[("rigl (erdos_renyi)", "0.1")]
    assert (row["runs"], row["first_epoch"], row["last_epoch"]) == (2, 0, 10)
    assert row["spectral_gap_start"] == pytest.approx(5.0)
    assert row["spectral_gap_end"] == pytest.approx(3.5)
    assert np.isfinite(row["spectral_gap_end"])
