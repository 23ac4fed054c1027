"""Without ``--seed`` a seed is drawn, used and recorded in every output, so a result rebuilds."""

import json
import re

import networkx as nx
import pytest

from topokit import Topology
from topokit.cli import main
from topokit.generators import layer_graph
from topokit.interop.graphs import read_edgelist, read_graphml
from topokit.io import load
from topokit.nn.mlp import SparseMLP

LAYER = ["erdos_renyi", "--n-in", 30, "--n-out", 20, "--density", 0.2]
NETWORK = ["small_world", "--sizes", "30,20,10", "--density", 0.3, "-p", "p=0.4"]
TRAIN = ["train", "--hidden", "16", "--density", "0.3", "--epochs", 1, "--no-metrics"]


def run_cli(capsys, *argv):
    """Run ``main`` in-process; return (status, stdout, stderr)."""
    status = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def run_json(capsys, *argv):
    status, out, err = run_cli(capsys, *argv, "--json")
    assert (status, err) == (0, "")
    return json.loads(out)


def _is_drawn_seed(seed) -> bool:
    return isinstance(seed, int) and 0 <= seed < 2**32


# ------------------------------------------------------------------ graph
@pytest.mark.parametrize("suffix", [".npz", ".graphml", ".edgelist"])
@pytest.mark.parametrize("source", [LAYER, NETWORK], ids=["layer", "network"])
def test_graph_records_the_drawn_seed_and_rebuilds_from_it(capsys, tmp_path, source, suffix):
    path = tmp_path / f"drawn{suffix}"
    seed = run_json(capsys, "graph", *source, "-o", path)["seed"]
    assert _is_drawn_seed(seed)
    reader = {".npz": load, ".graphml": read_graphml, ".edgelist": read_edgelist}[suffix]
    drawn = reader(path)
    layers = list(drawn) if isinstance(drawn, Topology) else [drawn]
    assert [layer.seed for layer in layers] == [seed] * len(layers)  # the file's provenance
    if suffix == ".edgelist":
        assert re.search(rf"^# (layer0_)?seed: {seed}$", path.read_text(), re.MULTILINE)
    if suffix == ".graphml":
        assert nx.read_graphml(path).graph[f"{'layer0_' * (len(layers) > 1)}seed"] == seed
    rebuilt = tmp_path / f"rebuilt{suffix}"
    run_json(capsys, "graph", *source, "--seed", seed, "-o", rebuilt)
    assert reader(rebuilt) == drawn
    # and the same edges as the Python API gives with that seed
    if source is LAYER:
        assert drawn == layer_graph("erdos_renyi", 30, 20, density=0.2, rng=seed)
    else:
        expected = Topology.build(
            [30, 20, 10], "small_world", density=0.3, dense_output=True, p=0.4, rng=seed
        )
        assert drawn == expected


def test_two_runs_without_seed_draw_different_seeds(capsys, tmp_path):
    seeds = {run_json(capsys, "graph", *LAYER, "-o", tmp_path / f"{k}.npz")["seed"] for k in "ab"}
    assert len(seeds) == 2  # 2**-32 chance of a false failure


def test_graph_text_summary_names_the_seed(capsys, tmp_path):
    status, out, _ = run_cli(capsys, "graph", *LAYER, "--seed", 11, "-o", tmp_path / "g.npz")
    assert status == 0
    assert out.rstrip().endswith(", seed 11")


def test_given_seed_is_recorded_as_given(capsys, tmp_path):
    path = tmp_path / "g.npz"
    assert run_json(capsys, "graph", *LAYER, "--seed", 7, "-o", path)["seed"] == 7
    assert load(path).seed == 7


# ---------------------------------------------------------------- metrics
@pytest.mark.parametrize("source", [LAYER, NETWORK], ids=["layer", "network"])
def test_metrics_records_the_drawn_seed_and_rebuilds_from_it(capsys, source):
    drawn = run_json(capsys, "metrics", *source, "-q")
    assert _is_drawn_seed(drawn["seed"])
    rebuilt = run_json(capsys, "metrics", *source, "-q", "--seed", drawn["seed"])
    assert rebuilt == drawn


def test_metrics_text_shows_the_seed_as_typed(capsys):
    status, out, _ = run_cli(capsys, "metrics", *LAYER, "--seed", 123456, "--keys", "n_edges")
    assert status == 0
    assert re.search(r"^seed\s+123456$", out, re.MULTILINE)


def test_metrics_of_a_file_has_no_seed_key(capsys, tmp_path):
    path = tmp_path / "g.npz"
    run_json(capsys, "graph", *LAYER, "-o", path)
    assert "seed" not in run_json(capsys, "metrics", path, "--keys", "n_edges")


# ------------------------------------------------------------------- draw
def test_draw_names_the_drawn_seed(capsys, tmp_path):
    figure = tmp_path / "g.png"
    status, out, err = run_cli(capsys, "draw", *LAYER, "-o", figure)
    assert (status, err) == (0, "")
    match = re.fullmatch(rf"wrote {re.escape(str(figure))} \(seed (\d+)\)\n", out)
    assert match
    assert _is_drawn_seed(int(match.group(1)))


# ------------------------------------------------------------------ train
def test_train_records_the_drawn_seed_in_json_and_model_and_reruns_the_same(capsys, tmp_path):
    path = tmp_path / "model.npz"
    drawn = run_json(capsys, *TRAIN, "--save", path)
    seed = drawn["config"]["seed"]
    assert _is_drawn_seed(seed)
    assert [layer.seed for layer in load(path)] == [seed, seed]  # the model file's provenance
    assert [layer.seed for layer in SparseMLP.load(path).topology] == [seed, seed]
    again = tmp_path / "again.npz"
    rerun = run_json(capsys, *TRAIN, "--seed", seed, "--save", again)
    assert list(load(again)) == list(load(path))  # the same edges
    assert rerun["test_accuracy"] == drawn["test_accuracy"]
    assert rerun["history"]["loss"] == drawn["history"]["loss"]


def test_train_text_summary_names_the_seed(capsys):
    status, out, _ = run_cli(capsys, *TRAIN, "--seed", 5)
    assert status == 0
    assert out.splitlines()[0].endswith(", seed 5")
