"""``topokit train --dynamic``: rewiring through the CLI, its outcomes, the saved topology."""

import json

import numpy as np
import pytest

from topokit import Topology, load
from topokit.cli import main
from topokit.nn._compile import COMPILING_MESSAGE
from topokit.nn.mlp import SparseMLP

TINY = ["train", "--dataset", "digits", "--hidden", "48", "--density", "0.2"]
TINY += ["--learning-rate", "0.01", "--seed", "0"]


def run_cli(capsys, *argv):
    status = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err.replace(f"topokit: {COMPILING_MESSAGE}\n", "")


def run_json(capsys, *argv):
    status, out, err = run_cli(capsys, *argv, "--json")
    assert (status, err) == (0, "")
    return json.loads(out)


def _edges(topology):
    return [graph.n_edges for graph in topology]


def test_set_on_digits_saves_the_final_topology_end_to_end(capsys, tmp_path):
    path = tmp_path / "set.npz"
    start = run_json(capsys, *TINY, "--epochs", 1, "--no-metrics")["topology"]
    result = run_json(capsys, *TINY, "--epochs", 4, "--dynamic", "set", "--save-topology", path)
    assert result["saved_topology"] == str(path)
    assert result["test_accuracy"] > 0.5  # chance is 0.1
    dynamic = result["dynamic"]
    assert dynamic["rule"] == "set"
    assert (dynamic["drop_fraction"], dynamic["update_interval"]) == (0.3, None)
    assert dynamic["n_updates"] == 3  # once per epoch, none after the last
    n_edges = start["n_edges_per_layer"][0]
    assert dynamic["edges_changed"] == [int(0.3 * n_edges)] * 3
    assert [c["layer"] for c in dynamic["changes"]] == [0, 0, 0]
    assert dynamic["ever_active_fraction"][1] == 1.0  # the dense output layer
    assert n_edges / (64 * 48) < dynamic["ever_active_fraction"][0] <= 1

    # the saved file is the final Topology: topokit.load reads it, edge counts as at the start
    saved = load(path)
    assert isinstance(saved, Topology)
    assert saved.sizes == [64, 48, 10]
    assert _edges(saved) == start["n_edges_per_layer"] == result["topology"]["n_edges_per_layer"]
    assert result["metrics"]["net_n_edges"] == saved.n_edges

    # topokit metrics and topokit draw read it
    metrics = run_json(capsys, "metrics", path)
    assert [layer["n_edges"] for layer in metrics["layers"]] == _edges(saved)
    assert metrics["layers"][0]["n_edges"] == n_edges
    status, _, err = run_cli(capsys, "draw", path, "-o", tmp_path / "set.png")
    assert (status, err) == (0, "")
    assert (tmp_path / "set.png").stat().st_size > 0

    # and topokit train trains on it
    again = run_json(capsys, "train", "--topology", path, "--epochs", 1, "--seed", "0")
    assert again["topology"]["n_edges_per_layer"] == _edges(saved)


def test_rigl_with_interval_and_until(capsys, tmp_path):
    model_path = tmp_path / "model.npz"
    result = run_json(
        capsys,
        *TINY,
        "--epochs",
        2,
        "--batch-size",
        200,
        "--dynamic",
        "rigl",
        "--drop-fraction",
        0.5,
        "--update-interval",
        3,
        "--update-until",
        1.0,
        "--save",
        model_path,
        "--no-metrics",
    )
    dynamic = result["dynamic"]
    assert (dynamic["rule"], dynamic["drop_fraction"], dynamic["update_interval"]) == (
        "rigl",
        0.5,
        3,
    )
    # 7 steps per epoch, 14 in all: updates at 3, 6, 9, 12 (annealed by cosine)
    assert [c["step"] for c in dynamic["changes"]] == [3, 6, 9, 12]
    fractions = [c["drop_fraction"] for c in dynamic["changes"]]
    assert fractions == pytest.approx([0.25 * (1 + np.cos(np.pi * t / 14)) for t in (3, 6, 9, 12)])
    model = SparseMLP.load(model_path)  # the model file keeps the parameters
    assert (model.dynamic, model.drop_fraction, model.update_interval, model.update_until) == (
        "rigl",
        0.5,
        3,
        1.0,
    )
    assert _edges(model.topology) == result["topology"]["n_edges_per_layer"]


def test_static_outcome_and_summary(capsys):
    result = run_json(capsys, *TINY, "--epochs", 1, "--no-metrics")
    dynamic = result["dynamic"]
    assert (dynamic["rule"], dynamic["n_updates"], dynamic["changes"]) == ("static", 0, [])
    per_layer = result["topology"]["n_edges_per_layer"]
    assert dynamic["ever_active_fraction"] == [per_layer[0] / (64 * 48), 1.0]
    status, out, _ = run_cli(capsys, *TINY, "--epochs", 2, "--dynamic", "set", "-q")
    assert status == 0
    assert "dynamic set: 1 update, " in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--dynamic", "magic"], "argument --dynamic: invalid choice: 'magic'"),
        (["--dynamic", "set", "--drop-fraction", "1.5"], "--drop-fraction must be in (0.0, 1.0)"),
        (["--dynamic", "set", "--drop-fraction", "0"], "--drop-fraction must be in (0.0, 1.0)"),
        (["--dynamic", "set", "--update-interval", "0"], "--update-interval must be >= 1, got 0"),
        (["--dynamic", "rigl", "--update-until", "0"], "--update-until must be in (0.0, 1.0]"),
        (["--drop-fraction", "0.2"], "--drop-fraction applies to dynamic sparse training"),
        (["--dynamic", "set", "--density", "1.0"], "dynamic='set' needs a topology with"),
        (["--save-topology", "topology.txt"], "--save-topology must end in .npz"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else "",
)
def test_bad_input_is_one_line_with_status_1(capsys, argv, message):
    status, out, err = run_cli(capsys, "train", "--seed", "0", "--epochs", "1", *argv)
    assert status == 1
    assert out == ""
    assert err.startswith("topokit: error: ")
    assert err.count("\n") == 1
    assert message in err


def test_the_options_defaults_are_sparse_mlps():
    import inspect

    from topokit.cli import build_parser
    from topokit.cli._train import _DYNAMIC_DEFAULTS

    signature = inspect.signature(SparseMLP).parameters
    args = build_parser().parse_args(["train"])
    assert args.dynamic == signature["dynamic"].default == "static"
    for name, value in _DYNAMIC_DEFAULTS.items():
        assert getattr(args, name) == value == signature[name].default
