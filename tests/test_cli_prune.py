"""``topokit prune``: the file it writes works in metrics and train; one-line errors."""

import json

import numpy as np
import pytest

from topokit import Topology, load
from topokit.cli import main
from topokit.nn import prune
from topokit.nn._compile import COMPILING_MESSAGE
from topokit.nn.datasets import load_dataset
from topokit.nn.mlp import SparseMLP

PRUNE = ["prune", "snip", "--dataset", "digits", "--sizes", "64,32,10", "--density", "0.1"]


def run_cli(capsys, *argv):
    status = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err.replace(f"topokit: {COMPILING_MESSAGE}\n", "")


def test_prune_then_metrics_then_train(capsys, tmp_path):
    path = tmp_path / "snip.npz"
    status, out, err = run_cli(capsys, *PRUNE, "--seed", 0, "-o", path, "--json")
    assert (status, err) == (0, "")
    summary = json.loads(out)
    assert summary["n_edges_per_layer"] == [205, 320]
    assert (summary["method"], summary["dataset"], summary["seed"]) == ("snip", "digits", 0)
    topology = load(path)
    expected = prune("snip", [64, 32, 10], dataset="digits", density=0.1, rng=0).topology
    for got, want in zip(topology, expected, strict=True):
        assert (got.biadjacency != want.biadjacency).nnz == 0
    assert [layer.family for layer in topology] == ["snip", "dense"]

    status, out, err = run_cli(capsys, "metrics", path, "--json")
    assert (status, err) == (0, "")
    assert json.loads(out)["net_n_edges"] == 525

    status, out, err = run_cli(
        capsys,
        "train",
        "--dataset",
        "digits",
        "--topology",
        path,
        "--epochs",
        5,
        "--learning-rate",
        0.01,
        "--seed",
        0,
        "--json",
        "--no-metrics",
    )
    assert (status, err) == (0, "")
    result = json.loads(out)
    assert result["topology"]["n_edges_per_layer"] == [205, 320]
    assert result["topology"]["families"] == ["snip", "dense"]
    assert result["test_accuracy"] > 0.2  # chance is 0.1


def test_text_summary_and_synflow_without_data(capsys, tmp_path):
    path = tmp_path / "syn.npz"
    status, out, err = run_cli(
        capsys,
        "prune",
        "synflow",
        "--sizes",
        "20,30,5",
        "--density",
        "0.2",
        "--seed",
        3,
        "-p",
        "iterations=10",
        "-o",
        path,
    )
    assert (status, err) == (0, "")
    assert out == (
        f"wrote {path}: synflow 20 → 30 → 5, 270 edges (120, 150), density 0.36, seed 3\n"
    )


def test_lottery_saves_the_model_with_rewound_weights(capsys, tmp_path):
    path, model_path = tmp_path / "ticket.npz", tmp_path / "ticket-model.npz"
    status, _, err = run_cli(
        capsys,
        "prune",
        "lottery",
        "--dataset",
        "digits",
        "--sizes",
        "64,16,10",
        "--density",
        "0.3",
        "--seed",
        1,
        "-p",
        "rounds=2",
        "-p",
        "epochs=1",
        "-o",
        path,
        "--save-model",
        model_path,
    )
    assert (status, err) == (0, "")
    model = SparseMLP.load(model_path)
    expected = prune(
        "lottery",
        [64, 16, 10],
        dataset=load_dataset("digits"),
        density=0.3,
        rng=1,
        rounds=2,
        epochs=1,
    )
    for layer, weights in zip(model.layers, expected.weights, strict=True):
        np.testing.assert_allclose(layer.weight.toarray(), weights.toarray(), rtol=1e-6)
    assert isinstance(load(model_path), Topology)


def test_sparse_output_prunes_the_last_layer(capsys, tmp_path):
    path = tmp_path / "all.npz"
    status, out, err = run_cli(
        capsys,
        *PRUNE,
        "--seed",
        0,
        "--sparse-output",
        "-p",
        "scope=layer",
        "-o",
        path,
        "--json",
    )
    assert (status, err) == (0, "")
    assert json.loads(out)["n_edges_per_layer"] == [205, 32]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(
            ["prune", "obd", "--sizes", "64,32,10", "--density", "0.1", "-o", "x.npz"],
            "argument METHOD: invalid choice: 'obd'",
            id="method",
        ),
        pytest.param(
            ["prune", "snip", "--sizes", "64,32,10", "--density", "0.1", "-o", "x.npz"],
            "--dataset is required by pruning method 'snip' (only synflow is data-free), got none",
            id="no-dataset",
        ),
        pytest.param(
            [*PRUNE[:-1], "0.0001", "-o", "x.npz"],
            "density=0.0001 keeps 0 of the 2048 weights with scope 'global'; the smallest "
            "density that keeps one is 0.000488",
            id="unreachable",
        ),
        pytest.param(
            [*PRUNE, "-p", "rounds=2", "-o", "x.npz"],
            "--param rounds: unknown parameter for pruning method 'snip'; its parameters: "
            "scope, batch_size, activation",
            id="param",
        ),
        pytest.param(
            [*PRUNE, "-p", "batch_size=many", "-o", "x.npz"],
            "--param batch_size must be an integer, got 'many'",
            id="param-type",
        ),
        pytest.param(
            [*PRUNE, "-o", "x.graphml"], "--output must end in .npz, got 'x.graphml'", id="output"
        ),
        pytest.param(
            [
                "prune",
                "snip",
                "--dataset",
                "nope",
                "--sizes",
                "64,32,10",
                "--density",
                "0.1",
                "-o",
                "x.npz",
            ],
            "unknown dataset 'nope'",
            id="dataset",
        ),
        pytest.param(
            [
                "prune",
                "snip",
                "--dataset",
                "digits",
                "--sizes",
                "60,32,10",
                "--density",
                "0.1",
                "-o",
                "x.npz",
            ],
            "sizes must run from the 64 features to the 10 classes of dataset 'digits', "
            "got [60, 32, 10]",
            id="sizes",
        ),
    ],
)
def test_bad_input_is_one_line(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    status, out, err = run_cli(capsys, *argv)
    assert status == 1
    assert out == ""
    assert err.startswith("topokit: error: ")
    assert message in err
    assert err.count("\n") == 1
    assert not (tmp_path / "x.npz").exists()


def test_train_topology_rejects_build_options_and_wrong_sizes(capsys, tmp_path):
    path = tmp_path / "snip.npz"
    assert run_cli(capsys, *PRUNE, "--seed", 0, "-o", path)[0] == 0
    status, _, err = run_cli(
        capsys, "train", "--dataset", "digits", "--topology", path, "--density", "0.2"
    )
    assert status == 1
    assert "--density would build the layer graphs, which --topology" in err
    status, _, err = run_cli(capsys, "train", "--dataset", "mnist1d", "--topology", path)
    assert status == 1
    assert "has sizes [64, 32, 10], but dataset 'mnist1d' has 40 features" in err
