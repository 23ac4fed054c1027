"""``topokit graph --output`` in every format: .npz, .graphml, .edgelist/.edges."""

import json
import shlex

import igraph
import networkx as nx
import pytest

from topokit import Topology, layer_graph
from topokit.cli import _graph, main
from topokit.cli._common import _READERS
from topokit.interop.graphs import read_edgelist, read_graphml
from topokit.io import load


def run_cli(capsys, *argv):
    """Run ``main`` in-process; return (status, stdout, stderr)."""
    status = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


LAYER = ["erdos_renyi", "--n-in", 30, "--n-out", 20, "--density", 0.2, "--seed", 4]
NETWORK = ["small_world", "--sizes", "30,20,10", "--density", 0.3, "-p", "p=0.1", "--seed", 2]


def _expected_layer():
    return layer_graph("erdos_renyi", 30, 20, density=0.2, rng=4)


def _expected_network():
    # the output layer is dense, as with every --sizes
    return Topology.build([30, 20, 10], "small_world", density=0.3, p=0.1, dense_output=True, rng=2)


def _provenance(graph):
    layers = list(graph) if isinstance(graph, Topology) else [graph]
    return [(layer.family, layer.params, layer.seed) for layer in layers]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [pytest.param(LAYER, _expected_layer, id="layer"),
     pytest.param(NETWORK, _expected_network, id="network")],
)  # fmt: skip
@pytest.mark.parametrize(
    ("name", "read"),
    [pytest.param("g.graphml", read_graphml, id="graphml"),
     pytest.param("g.GraphML", read_graphml, id="graphml-upper-case"),
     pytest.param("g.edgelist", read_edgelist, id="edgelist"),
     pytest.param("g.edges", read_edgelist, id="edges"),
     pytest.param("g.npz", load, id="npz")],
)  # fmt: skip
def test_graph_writes_the_format_of_the_suffix(capsys, tmp_path, argv, expected, name, read):
    path = tmp_path / name
    status, out, err = run_cli(capsys, "graph", *argv, "-o", path)
    assert (status, err) == (0, "")
    assert out.startswith(f"wrote {path}: ")
    built = read(path)
    assert built == expected()
    assert _provenance(built) == _provenance(expected())


def test_graphml_output_is_what_networkx_and_igraph_read(capsys, tmp_path):
    path = tmp_path / "layer.graphml"
    assert run_cli(capsys, "graph", *LAYER, "-o", path)[0] == 0
    layer = _expected_layer()
    G = nx.read_graphml(path, node_type=int)
    assert type(G) is nx.Graph
    assert sorted(map(sorted, G.edges)) == sorted(map(sorted, layer.to_networkx().edges))
    assert dict(G.nodes(data="bipartite")) == dict(layer.to_networkx().nodes(data="bipartite"))
    g = igraph.Graph.Read_GraphML(str(path))
    assert sorted(g.get_edgelist()) == sorted(layer.to_igraph().get_edgelist())


def test_directed_graphml(capsys, tmp_path):
    path = tmp_path / "net.graphml"
    assert run_cli(capsys, "graph", *NETWORK, "--directed", "-o", path)[0] == 0
    G = nx.read_graphml(path, node_type=int)
    assert type(G) is nx.DiGraph
    assert all(G.nodes[v]["layer"] == G.nodes[u]["layer"] + 1 for u, v in G.edges)
    assert read_graphml(path) == _expected_network()


def test_edgelist_without_header_for_igraph(capsys, tmp_path):
    path = tmp_path / "net.edges"
    assert run_cli(capsys, "graph", *NETWORK, "--no-header", "-o", path)[0] == 0
    assert not path.read_text().startswith("#")
    network = _expected_network()
    g = igraph.Graph.Read_Edgelist(str(path), directed=False)
    assert g.ecount() == network.n_edges
    assert read_edgelist(path, sizes=[30, 20, 10]) == network


def test_edgelist_output_is_what_networkx_reads(capsys, tmp_path):
    path = tmp_path / "layer.edgelist"
    assert run_cli(capsys, "graph", *LAYER, "-o", path)[0] == 0
    G = nx.read_edgelist(path, nodetype=int)
    expected = _expected_layer().to_networkx()
    assert sorted(map(sorted, G.edges)) == sorted(map(sorted, expected.edges))


def test_json_summary_is_the_same_in_every_format(capsys, tmp_path):
    summaries = []
    for name in ("g.npz", "g.graphml", "g.edges"):
        status, out, _ = run_cli(capsys, "graph", *NETWORK, "-o", tmp_path / name, "--json")
        assert status == 0
        summary = json.loads(out)
        assert summary.pop("path") == str(tmp_path / name)
        summaries.append(summary)
    assert summaries[0] == summaries[1] == summaries[2]
    assert summaries[0]["sizes"] == [30, 20, 10]


def test_help_lists_the_formats(capsys):
    status, out, _ = run_cli(capsys, "graph", "-h")
    assert status == 0
    for text in (".graphml", ".edgelist", ".edges", "--directed", "--no-header"):
        assert text in out


def _epilog_examples():
    lines = _graph._EPILOG.split("examples:\n", 1)[1].splitlines()
    return [shlex.split(line)[1:] for line in lines if line.strip().startswith("topokit ")]


@pytest.mark.parametrize("argv", _epilog_examples(), ids=lambda argv: argv[-1])
def test_epilog_examples_run(capsys, tmp_path, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    status, _, err = run_cli(capsys, *argv)
    assert (status, err) == (0, "")
    assert (tmp_path / argv[-1]).stat().st_size > 0


ERRORS = [
    pytest.param(["-o", "{tmp}/x.txt"],
                 "--output must end in .npz, .graphml, .edgelist or .edges, got '.*x.txt'",
                 id="unknown-suffix"),
    pytest.param(["-o", "{tmp}/graphml"], "--output must end in .npz", id="no-suffix"),
    pytest.param(["--directed", "-o", "{tmp}/x.edges"],
                 "--directed only applies to .graphml output", id="directed-edgelist"),
    pytest.param(["--directed", "-o", "{tmp}/x.npz"],
                 "--directed only applies to .graphml output", id="directed-npz"),
    pytest.param(["--no-header", "-o", "{tmp}/x.graphml"],
                 r"--no-header only applies to \.edgelist/\.edges output", id="no-header-graphml"),
    pytest.param(["--no-header", "-o", "{tmp}/x.npz"],
                 r"--no-header only applies to \.edgelist/\.edges output", id="no-header-npz"),
    pytest.param(["-o", "{tmp}/no/dir/x.graphml"], "No such file or directory",
                 id="missing-folder"),
]  # fmt: skip


@pytest.mark.parametrize(("options", "match"), ERRORS)
def test_errors_are_one_line_and_exit_1(capsys, tmp_path, options, match):
    import re

    options = [option.format(tmp=tmp_path) for option in options]
    status, out, err = run_cli(capsys, "graph", "dense", "--n-in", 3, "--n-out", 2, *options)
    assert (status, out) == (1, "")
    assert err.startswith("topokit: error: ")
    assert err.count("\n") == 1
    assert re.search(match, err), err
    assert not any(tmp_path.iterdir())  # nothing written


@pytest.mark.skipif(
    ".graphml" not in _READERS or ".edgelist" not in _READERS,
    reason="load_source does not read graph-exchange files yet",
)
@pytest.mark.parametrize("name", ["net.graphml", "net.edgelist"])
def test_metrics_of_an_exchange_file_equal_metrics_of_its_npz(capsys, tmp_path, name):
    assert run_cli(capsys, "graph", *NETWORK, "-o", tmp_path / "net.npz")[0] == 0
    assert run_cli(capsys, "graph", *NETWORK, "-o", tmp_path / name)[0] == 0
    from_npz = json.loads(run_cli(capsys, "metrics", tmp_path / "net.npz", "--json")[1])
    from_exchange = json.loads(run_cli(capsys, "metrics", tmp_path / name, "--json")[1])
    assert from_npz["net_n_edges"] == _expected_network().n_edges
    assert from_exchange == from_npz
