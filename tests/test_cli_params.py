"""``--param [FAMILY:]KEY=VALUE``: one parser (cli/_common.parse_params) for every command."""

import json
import re

import pytest

from topokit import TopokitError, Topology
from topokit.cli import main
from topokit.cli._common import parse_params
from topokit.io import load


def run_cli(capsys, *argv):
    """Run ``main`` in-process; return (status, stdout, stderr)."""
    status = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# ------------------------------------------------------------------ parser
@pytest.mark.parametrize(
    ("families", "pairs", "expected"),
    [
        pytest.param("small_world", ["p=0.2"], {"p": 0.2}, id="one-family"),
        pytest.param("small_world", ["small_world:p=0.2"], {"p": 0.2}, id="one-family-scoped"),
        pytest.param(["ramanujan", "small_world"], ["small_world:p=0.2"], {"p": 0.2},
                     id="scoped-to-one-of-two"),
        pytest.param(["ramanujan", "small_world"],
                     ["small_world:p=0.2", "ramanujan:max_attempts=7"],
                     {"p": 0.2, "max_attempts": 7}, id="each-scoped"),
        pytest.param(["small_world", "small_world"], ["p=0.5"], {"p": 0.5}, id="repeated-family"),
        pytest.param(["projective_plane", "array_code"], ["q=5"], {"q": 5},
                     id="shared-key-unscoped"),
        pytest.param(["projective_plane", "array_code"],
                     ["projective_plane:q=5", "array_code:q=5"], {"q": 5},
                     id="shared-key-scoped-alike"),
        pytest.param(["radix"], ["radices=2,2"], {"radices": [2, 2]}, id="list-value"),
        pytest.param(["erdos_renyi", "dense"], [], {}, id="none"),
    ],
)  # fmt: skip
def test_parse_params(families, pairs, expected):
    assert parse_params(families, pairs) == expected


@pytest.mark.parametrize(
    ("families", "pairs", "match"),
    [
        pytest.param(["ramanujan", "small_world"], ["p=0.2"],
                     r"--param p=0\.2: the family 'ramanujan' takes no parameter 'p' "
                     r"\(its parameters: max_attempts\); to give it to the families that take "
                     r"it, scope it: -p small_world:p=0\.2$", id="unscoped-not-for-all"),
        pytest.param(["ramanujan", "erdos_renyi"], ["p=0.2"],
                     r"unknown parameter 'p' for family 'ramanujan'", id="unscoped-for-none"),
        pytest.param(["ramanujan"], ["small_world:p=0.2"],
                     r"--param 'small_world:p=0\.2' is for the family 'small_world', which is "
                     r"not among the families given \(ramanujan\)", id="scope-not-given"),
        pytest.param(["ramanujan"], ["nosuch:p=0.2"], "is for the family 'nosuch', which is not",
                     id="scope-unknown"),
        pytest.param(["ramanujan", "small_world"], ["small_world:q=3"],
                     "unknown parameter 'q' for family 'small_world'; valid parameters: p",
                     id="scoped-unknown-key"),
        pytest.param(["small_world"], [":p=0.2"], r"--param must be KEY=VALUE, got ':p=0\.2'",
                     id="empty-scope"),
        pytest.param(["small_world"], ["small_world:p"], "--param must be KEY=VALUE",
                     id="scoped-no-value"),
        pytest.param(["ramanujan", "small_world"], ["small_world:p=0.2", "small_world:p=0.3"],
                     r"--param p given twice \('small_world:p=0\.2' and 'small_world:p=0\.3'\) "
                     r"for the family 'small_world'", id="scoped-twice"),
        pytest.param(["small_world"], ["p=0.2", "small_world:p=0.3"], "--param p given twice",
                     id="unscoped-then-scoped"),
        pytest.param(["projective_plane", "array_code"], ["projective_plane:q=5"],
                     r"parameter 'q' goes to every layer whose family takes it \(projective_plane, "
                     r"array_code\), so they all take one value; .* -p q=VALUE",
                     id="shared-key-scoped-to-one"),
        pytest.param(["projective_plane", "array_code"],
                     ["projective_plane:q=5", "array_code:q=7"], "so they all take one value",
                     id="shared-key-different-values"),
        pytest.param(["small_world"], ["small_world:p=x"], "parameter p must be", id="bad-value"),
    ],
)  # fmt: skip
def test_parse_params_errors(families, pairs, match):
    with pytest.raises(TopokitError, match=match):
        parse_params(families, pairs)


# ---------------------------------------------------------------- commands
def test_graph_with_one_family_per_layer_and_a_scoped_param(capsys, tmp_path):
    path = tmp_path / "net.npz"
    argv = ["graph", "ramanujan,small_world", "--sizes", "32,32,32,10", "--degree", 4, "--seed", 3]
    status, _, err = run_cli(capsys, *argv, "-p", "small_world:p=0.2", "-o", path)
    assert (status, err) == (0, "")
    built = load(path)
    assert [layer.family for layer in built] == ["ramanujan", "small_world", "dense"]
    assert built[1].params["p"] == 0.2
    assert "p" not in built[0].params
    expected = Topology.build(
        [32, 32, 32, 10], ["ramanujan", "small_world"], degree=4, dense_output=True, rng=3, p=0.2
    )
    assert list(built) == list(expected)


def test_graph_summary_lists_the_parameters_of_every_family(capsys, tmp_path):
    argv = ["graph", "ramanujan,small_world", "--sizes", "32,32,32,10", "--degree", 4, "--json"]
    argv += ["-p", "small_world:p=0.2", "-p", "ramanujan:max_attempts=50", "-o", tmp_path / "n.npz"]
    status, out, _ = run_cli(capsys, *argv)
    assert status == 0
    summary = json.loads(out)
    assert (summary["family"], summary["params"]) == (
        "ramanujan,small_world",
        {"p": 0.2, "max_attempts": 50},
    )


def test_metrics_with_one_family_per_layer_and_a_scoped_param(capsys):
    argv = ["metrics", "ramanujan,small_world", "--sizes", "32,32,32,10", "--degree", 4]
    status, out, err = run_cli(capsys, *argv, "-p", "small_world:p=0.2", "--json", "-q")
    assert (status, err) == (0, "")
    assert json.loads(out)["sizes"] == [32, 32, 32, 10]


def test_train_with_one_family_per_layer_and_a_scoped_param(capsys):
    argv = ["train", "--hidden", "32,16", "--family", "ramanujan,small_world", "--degree", "4"]
    argv += ["-p", "small_world:p=0.2", "--epochs", 1, "--seed", 0, "--json", "--no-metrics"]
    status, out, err = run_cli(capsys, *argv)
    assert (status, err) == (0, "")
    families = json.loads(out)["topology"]["families"]
    assert families == ["ramanujan", "small_world", "dense"]


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["graph", "ramanujan,small_world", "--sizes", "32,32,32,10", "--degree", 4,
                      "-o", "{tmp}/x.npz"], id="graph"),
        pytest.param(["metrics", "ramanujan,small_world", "--sizes", "32,32,32,10", "--degree", 4],
                     id="metrics"),
        pytest.param(["train", "--hidden", "32,16", "--family", "ramanujan,small_world",
                      "--epochs", 1], id="train"),
    ],
)  # fmt: skip
def test_unscoped_param_not_taken_by_every_family_suggests_the_scoped_form(capsys, tmp_path, argv):
    argv = [str(arg).format(tmp=tmp_path) for arg in argv]
    status, out, err = run_cli(capsys, *argv, "-p", "p=0.2")
    assert (status, out) == (1, "")
    assert err.count("\n") == 1
    assert re.search(r"the family 'ramanujan' takes no parameter 'p'.*-p small_world:p=0\.2", err)


def test_scoped_param_for_a_family_not_given(capsys, tmp_path):
    argv = ["graph", "ramanujan", "--n-in", 8, "--n-out", 8, "--degree", 3]
    status, out, err = run_cli(capsys, *argv, "-p", "small_world:p=0.2", "-o", tmp_path / "x.npz")
    assert (status, out) == (1, "")
    assert "is for the family 'small_world', which is not among the families given" in err


def test_several_families_without_sizes(capsys, tmp_path):
    argv = ["graph", "ramanujan,small_world", "--n-in", 8, "--n-out", 8, "--degree", 3]
    status, out, err = run_cli(capsys, *argv, "-o", tmp_path / "x.npz")
    assert (status, out) == (1, "")
    assert "one family per layer (ramanujan,small_world) builds a network: give" in err
