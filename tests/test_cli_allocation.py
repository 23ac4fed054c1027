"""``--allocation`` on the commands that build networks: graph, metrics, draw, train."""

import json

import pytest

from topokit.allocation import layer_densities
from topokit.cli import main
from topokit.io import load
from topokit.nn._compile import COMPILING_MESSAGE

SIZES = [64, 200, 50, 10]
SPARSE = [(64, 200), (200, 50)]


def run_cli(capsys, *argv):
    """Run ``main`` in-process; return (status, stdout, stderr without the compile notice)."""
    status = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err.replace(f"topokit: {COMPILING_MESSAGE}\n", "")


def _erk_edges(density):
    densities = layer_densities(SPARSE, density, "erk")
    return [round(d * a * b) for d, (a, b) in zip(densities, SPARSE, strict=True)]


def test_graph_erk_writes_the_erk_edge_counts(capsys, tmp_path):
    path = tmp_path / "net.npz"
    sizes = ",".join(map(str, SIZES))
    status, _, err = run_cli(
        capsys, "graph", "erdos_renyi", "--sizes", sizes, "--density", 0.1, "--allocation", "erk",
        "--seed", 0, "--output", path,
    )  # fmt: skip
    assert (status, err) == (0, "")
    top = load(path)
    assert [layer.n_edges for layer in top] == [*_erk_edges(0.1), 500]
    assert sum(_erk_edges(0.1)) == round(0.1 * (64 * 200 + 200 * 50))


@pytest.mark.parametrize("allocation", ["uniform", "erk"])
def test_metrics_allocation(capsys, allocation):
    status, out, err = run_cli(
        capsys, "metrics", "erdos_renyi", "--sizes", ",".join(map(str, SIZES)), "--density", 0.1,
        "--allocation", allocation, "--seed", 0, "--keys", "n_edges", "--json",
    )  # fmt: skip
    assert (status, err) == (0, "")
    edges = [layer["n_edges"] for layer in json.loads(out)["layers"]]
    expected = _erk_edges(0.1) if allocation == "erk" else [1280, 1000]
    assert edges == [*expected, 500]


def test_metrics_without_allocation_is_uniform(capsys):
    argv = ["metrics", "erdos_renyi", "--sizes", "64,200,50,10", "--density", 0.1, "--seed", 3]
    _, plain, _ = run_cli(capsys, *argv, "--json")
    _, uniform, _ = run_cli(capsys, *argv, "--allocation", "uniform", "--json")
    assert plain == uniform


def test_draw_erk(capsys, tmp_path):
    figure = tmp_path / "layer1.svg"
    status, out, err = run_cli(
        capsys, "draw", "erdos_renyi", "--sizes", ",".join(map(str, SIZES)), "--density", 0.1,
        "--allocation", "erk", "--seed", 0, "--layer", 1, "-o", figure,
    )  # fmt: skip
    assert (status, out, err) == (0, f"wrote {figure} (seed 0)\n", "")
    assert f"{_erk_edges(0.1)[1]:,} edges" in figure.read_text(encoding="utf-8")


def test_train_erk(capsys):
    status, out, err = run_cli(
        capsys, "train", "--dataset", "digits", "--sizes", ",".join(map(str, SIZES)),
        "--density", 0.1, "--allocation", "erk", "--epochs", 1, "--seed", 0, "--no-metrics",
        "--json", "--quiet",
    )  # fmt: skip
    assert (status, err) == (0, "")
    topology = json.loads(out)["topology"]
    assert topology["n_edges_per_layer"] == [*_erk_edges(0.1), 500]
    assert topology["allocation"] == "erk"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(
            ["graph", "erdos_renyi", "--n-in", 5, "--n-out", 4, "--density", 0.5,
             "--allocation", "erk", "-o", "x.npz"],
            "--allocation erk spreads a density over the layers of a network: give its layer "
            "sizes with --sizes",
            id="single-layer",
        ),
        pytest.param(
            ["metrics", "erdos_renyi", "--sizes", "20,10,5", "--degree", 3, "--allocation", "erk"],
            "allocation='erk' spreads one global density over the layers: give density, not "
            "degree (got degree=3)",
            id="degree",
        ),
        pytest.param(
            ["metrics", "erdos_renyi", "--sizes", "20,10,5", "--density", 0.1, "--allocation",
             "ERK"],
            "argument --allocation: invalid choice: 'ERK'",
            id="unknown",
        ),
        pytest.param(
            ["train", "--dataset", "digits", "--hidden", "32,16", "--density", "0.1,0.2",
             "--allocation", "erk", "--epochs", 1],
            "allocation='erk' spreads one global density over the layers, so density must be "
            "one value, got [0.1, 0.2]",
            id="train-two-densities",
        ),
    ],
)  # fmt: skip
def test_allocation_errors_are_one_line(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    status, out, err = run_cli(capsys, *argv)
    assert status == 1
    assert out == ""
    assert err.count("\n") == 1
    assert message in err


def test_allocation_is_refused_for_a_file(capsys, tmp_path):
    path = tmp_path / "net.npz"
    run_cli(capsys, "graph", "dense", "--sizes", "4,3,2", "--output", path)
    status, _, err = run_cli(capsys, "metrics", path, "--allocation", "erk")
    assert status == 1
    assert "--allocation only apply when building from a family" in err
