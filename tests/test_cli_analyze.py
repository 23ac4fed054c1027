"""``topokit analyze DIR [--json]`` in process: the summary, the JSON object, errors."""

import json

import numpy as np
import pytest

from topokit.analysis.store import ResultStore, RunResult
from topokit.analysis.study import load_study
from topokit.cli import main

STUDY = """
name = "cli-analyze"
sizes = [64, 8, 10]
dense_layers = [-1]
densities = [0.25, 0.5]
seeds = [0, 1, 2, 3, 4, 5, 6, 7]
[training]
epochs = 2
target_accuracy = 0.9
[[families]]
name = "erdos_renyi"
[[families]]
name = "small_world"
p = [0.0, 1.0]
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("study")
    study = load_study(STUDY)
    rng = np.random.default_rng(5)
    with ResultStore(folder, study) as store:
        for index, run in enumerate(study.runs()):
            if index == 0:
                store.record(run, RunResult.failed("layer 0 (64 -> 8): cannot build"))
                continue
            gap = rng.uniform(0.5, 3.0)
            accuracy = 0.8 + 0.1 * run.density + 0.03 * gap + 0.003 * rng.normal()
            store.record(
                run,
                RunResult(
                    "ok",
                    test_accuracy=accuracy,
                    epochs_to_target=1 + int(rng.integers(2)),
                    layer_metrics=[{"spectral_gap": gap}, {"spectral_gap": 2.0}, {}],
                    network_metrics={"net_density": run.density, "net_lambda1": rng.normal()},
                    curve=[{"epoch": 1, "val_accuracy": 0.5}, {"epoch": 2, "val_accuracy": 0.8}],
                ),
            )
    return folder


def test_json(folder, capsys):
    assert main(["analyze", str(folder), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["counts"] == {"ok": 47, "failed": 1, "planned": 48}
    assert data["report"] == str(folder / "report.md")
    assert (folder / "report.md").is_file()
    for paths in data["figures"].values():
        assert [p[-4:] for p in paths] == [".png", ".svg"]
        assert all((folder / "figures" / p.rsplit("/", 1)[-1]).is_file() for p in paths)
    top = data["ranking"][0]
    assert top["metric"] == "mean_spectral_gap"
    assert top["verdict"] == "supported"
    assert top["partial_ci_low"] > 0
    assert {"correlations", "ols", "cross_validation", "failures", "summary"} <= set(data)
    assert data["failures"] == [
        {"error": "layer 0 (64 -> 8): cannot build", "runs": 1, "variants": "erdos_renyi"}
    ]
    outcomes = {row["outcome"] for row in data["correlations"]}
    assert outcomes == {"test_accuracy", "epochs_to_target"}


def test_text_summary(folder, capsys):
    assert main(["analyze", str(folder), "--top", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "runs: 47 ok, 1 failed, 48 planned"
    assert out[1].startswith("metrics ranked by partial r with test accuracy given net_density")
    assert out[2].split()[:2] == ["1.", "mean_spectral_gap"]
    assert out[2].endswith("supported")
    assert out[3].split()[0] == "2."
    assert out[4] == f"report: {folder / 'report.md'}"


@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        (["analyze", "{missing}"], "does not exist"),
        (["analyze", "{empty}"], "no result store at"),
        (["analyze", "{folder}", "--top", "0"], "--top must be >= 1, got 0"),
    ],
    ids=["missing-folder", "no-store", "bad-top"],
)
def test_errors(arguments, match, tmp_path, folder, capsys):
    names = {"missing": tmp_path / "nope", "empty": tmp_path, "folder": folder}
    arguments = [a.format(**names) for a in arguments]
    assert main(arguments) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("topokit: error: ")
    assert match in lines[0]


def test_no_successful_runs(tmp_path, capsys):
    study = load_study(STUDY)
    with ResultStore(tmp_path, study) as store:
        for run in study.runs()[:3]:
            store.record(run, RunResult.failed("training diverged (loss is nan)"))
    assert main(["analyze", str(tmp_path), "--json"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"topokit: error: the study in {str(tmp_path)!r} has no successful runs (3 failed); "
        "most common failure: training diverged (loss is nan)\n"
    )
