"""GraphML and edge-list exchange, checked against networkx and igraph themselves."""

import itertools
import tempfile
from pathlib import Path

import igraph
import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from topokit import LayerGraph, TopokitError, Topology, layer_graph
from topokit.interop.graphs import read_edgelist, read_graphml, write_edgelist, write_graphml


# ----------------------------------------------------------------- fixtures
def _layer():
    """5 inputs, 4 outputs; input 4 and output 3 have no edge; with provenance."""
    pattern = np.array([[1, 0, 1, 0], [0, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]])
    return LayerGraph(pattern, family="handmade", params={"p": 0.25, "radices": [2, 3]}, seed=7)


def _topology():
    """Sizes [6, 5, 4, 3] from three families; neurons without edges in every layer."""
    first = layer_graph("erdos_renyi", 6, 5, density=0.3, rng=1)
    second = layer_graph("small_world", 5, 4, density=0.4, p=0.2, rng=2)
    last = LayerGraph(np.array([[1, 0, 0], [0, 0, 0], [1, 1, 0], [0, 0, 0]]))  # output 2 isolated
    return Topology([first, second, last])


def _global_edges(graph):
    """The expected (u, v) pairs with the global numbering, lower layer first."""
    layers = [graph] if isinstance(graph, LayerGraph) else list(graph)
    sizes = [layers[0].n_in] + [layer.n_out for layer in layers]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    pairs = []
    for k, layer in enumerate(layers):
        rows, cols = layer.edges()
        pairs += zip((rows + offsets[k]).tolist(), (cols + offsets[k + 1]).tolist(), strict=True)
    return sorted(pairs), sizes


def _provenance(graph):
    layers = [graph] if isinstance(graph, LayerGraph) else list(graph)
    return [(layer.family, layer.params, layer.seed) for layer in layers]


def _same(read, original):
    assert type(read) is type(original)
    assert read == original
    assert _provenance(read) == _provenance(original)


GRAPHS = [pytest.param(_layer, id="layer"), pytest.param(_topology, id="topology")]
DIRECTED = [pytest.param(False, id="undirected"), pytest.param(True, id="directed")]


# ----------------------------------------------------------- GraphML: ours
@pytest.mark.parametrize("directed", DIRECTED)
@pytest.mark.parametrize("make", GRAPHS)
def test_graphml_round_trip(tmp_path, make, directed):
    graph = make()
    path = tmp_path / "g.graphml"
    write_graphml(graph, path, directed=directed)
    _same(read_graphml(path), graph)
    _same(read_graphml(str(path)), graph)


@pytest.mark.parametrize(
    "seed", [0, 2**64 + 1, "entropy-42", [1, 2]], ids=["int", "beyond-long", "str", "list"]
)
@pytest.mark.parametrize("write", [write_graphml, write_edgelist], ids=["graphml", "edgelist"])
def test_any_json_seed_survives(tmp_path, write, seed):
    layer = LayerGraph(np.eye(2), family="dense", seed=seed)
    write(layer, tmp_path / "g")
    read = read_graphml if write is write_graphml else read_edgelist
    assert read(tmp_path / "g").seed == seed


def test_graphml_one_layer_topology_stays_a_topology(tmp_path):
    topology = Topology([_layer()])
    write_graphml(topology, tmp_path / "t.graphml")
    _same(read_graphml(tmp_path / "t.graphml"), topology)


def test_networkx_reads_a_layer_as_to_networkx(tmp_path):
    layer = _layer()
    write_graphml(layer, tmp_path / "g.graphml")
    G = nx.read_graphml(tmp_path / "g.graphml", node_type=int)
    expected = layer.to_networkx()
    assert type(G) is nx.Graph
    assert list(G.nodes) == list(expected.nodes)  # isolated neurons included
    assert sorted(map(sorted, G.edges)) == sorted(map(sorted, expected.edges))
    assert dict(G.nodes(data="bipartite")) == dict(expected.nodes(data="bipartite"))
    assert G.nodes[5] == {"layer": 1, "neuron": 0, "bipartite": 1}
    assert G.nodes[4] == {"layer": 0, "neuron": 4, "bipartite": 0}
    assert {layer for _, _, layer in G.edges(data="layer")} == {0}
    assert G.graph["topokit"] == "LayerGraph"
    assert G.graph["sizes"] == "5 4"
    assert (G.graph["family"], G.graph["seed"]) == ("handmade", 7)
    assert G.graph["params"] == '{"p": 0.25, "radices": [2, 3]}'
    assert LayerGraph.from_networkx(G) == layer


def test_networkx_reads_a_topology_with_every_neuron(tmp_path):
    topology = _topology()
    write_graphml(topology, tmp_path / "t.graphml", directed=True)
    G = nx.read_graphml(tmp_path / "t.graphml", node_type=int)
    pairs, sizes = _global_edges(topology)
    assert type(G) is nx.DiGraph
    assert sorted(G.edges) == pairs  # input -> output orientation
    assert G.number_of_nodes() == sum(sizes) == 18
    offsets = np.cumsum([0, *sizes])
    for node, data in G.nodes(data=True):
        k = int(np.searchsorted(offsets, node, side="right") - 1)
        assert data == {"layer": k, "neuron": node - offsets[k]}
    for u, _, k in G.edges(data="layer"):
        assert offsets[k] <= u < offsets[k + 1]
    assert G.graph["sizes"] == "6 5 4 3"
    assert G.graph["layer1_family"] == "small_world"
    assert G.graph["layer1_params"] == '{"p": 0.2}'
    assert G.graph["layer0_seed"] == 1
    assert "layer2_family" not in G.graph


def test_igraph_reads_a_layer_as_to_igraph(tmp_path):
    layer = _layer()
    write_graphml(layer, tmp_path / "g.graphml")
    g = igraph.Graph.Read_GraphML(str(tmp_path / "g.graphml"))
    expected = layer.to_igraph()
    assert not g.is_directed()
    assert g.vcount() == expected.vcount() == 9
    assert sorted(g.get_edgelist()) == sorted(expected.get_edgelist())
    assert g.vs["bipartite"] == [float(t) for t in expected.vs["type"]]
    assert g.vs["layer"] == [0.0] * 5 + [1.0] * 4
    assert g.vs["neuron"] == [0.0, 1.0, 2.0, 3.0, 4.0, 0.0, 1.0, 2.0, 3.0]
    assert g["family"] == "handmade"


@pytest.mark.parametrize("directed", DIRECTED)
@pytest.mark.parametrize("make", GRAPHS)
def test_graphml_through_igraph(tmp_path, make, directed):
    """igraph reads ours and writes it back (numbers as double, ids n0..): ours reads that."""
    graph = make()
    write_graphml(graph, tmp_path / "ours.graphml", directed=directed)
    g = igraph.Graph.Read_GraphML(str(tmp_path / "ours.graphml"))
    assert g.is_directed() == directed
    g.write_graphml(str(tmp_path / "igraph.graphml"))
    assert 'attr.type="double"' in (tmp_path / "igraph.graphml").read_text()
    _same(read_graphml(tmp_path / "igraph.graphml"), graph)


@pytest.mark.parametrize("directed", DIRECTED)
@pytest.mark.parametrize("make", GRAPHS)
def test_graphml_through_networkx(tmp_path, make, directed):
    """networkx reads ours (string ids) and writes it back (graph data last): ours reads it."""
    graph = make()
    write_graphml(graph, tmp_path / "ours.graphml", directed=directed)
    G = nx.read_graphml(tmp_path / "ours.graphml")
    nx.write_graphml(G, tmp_path / "networkx.graphml")
    _same(read_graphml(tmp_path / "networkx.graphml"), graph)


# ------------------------------------------------------ GraphML: foreign
def test_networkx_bipartite_graph_reads_by_its_bipartite_attribute(tmp_path):
    layer = _layer()
    nx.write_graphml(layer.to_networkx(), tmp_path / "nx.graphml")  # only 'bipartite'
    read = read_graphml(tmp_path / "nx.graphml")
    assert read == layer
    assert read.family is None


def test_networkx_complete_bipartite_graph(tmp_path):
    nx.write_graphml(nx.complete_bipartite_graph(3, 2), tmp_path / "k32.graphml")
    assert read_graphml(tmp_path / "k32.graphml") == LayerGraph(np.ones((3, 2)))


def test_igraph_bipartite_graph_reads_by_its_type_attribute(tmp_path):
    layer = _layer()
    layer.to_igraph().write_graphml(str(tmp_path / "ig.graphml"))  # boolean 'type'
    assert read_graphml(tmp_path / "ig.graphml") == layer


def test_networkx_graph_with_own_labels_and_neuron_attributes(tmp_path):
    """Node ids are free and their order is not the neuron order: 'neuron' decides."""
    G = nx.Graph()
    G.add_node("out-b", layer=1, neuron=1)
    G.add_node("in-b", layer=0, neuron=1)
    G.add_node("out-a", layer=1, neuron=0)
    G.add_node("in-a", layer=0, neuron=0)
    G.add_node("in-c", layer=0, neuron=2)
    G.add_edges_from([("out-b", "in-a"), ("in-b", "out-a"), ("in-c", "out-b")])
    nx.write_graphml(G, tmp_path / "labels.graphml")
    expected = LayerGraph(np.array([[0, 1], [1, 0], [0, 1]]))
    assert read_graphml(tmp_path / "labels.graphml") == expected


def test_without_neuron_attribute_document_order_numbers_each_layer(tmp_path):
    G = nx.Graph()
    for node, layer in [("a", 0), ("x", 1), ("b", 0), ("y", 1), ("z", 2), ("c", 0)]:
        G.add_node(node, layer=layer)
    G.add_edges_from([("c", "y"), ("a", "x"), ("y", "z")])
    nx.write_graphml(G, tmp_path / "order.graphml")
    read = read_graphml(tmp_path / "order.graphml")
    assert isinstance(read, Topology)
    assert read.sizes == [3, 2, 1]
    assert read[0] == LayerGraph.from_edges([2, 0], [1, 0], 3, 2)
    assert read[1] == LayerGraph.from_edges([1], [0], 2, 1)


def _graphml_text(nodes, edges, *, keys=None, graph="", prefix=""):
    """A small GraphML document; ``nodes`` and ``edges`` are lists of XML snippets."""
    keys = keys or (
        '<key id="l" for="node" attr.name="layer" attr.type="long"/>'
        '<key id="n" for="node" attr.name="neuron" attr.type="long"/>'
        '<key id="b" for="node" attr.name="bipartite" attr.type="long"/>'
        '<key id="el" for="edge" attr.name="layer" attr.type="long"/>'
        '<key id="gs" for="graph" attr.name="sizes" attr.type="string"/>'
        '<key id="gt" for="graph" attr.name="topokit" attr.type="string"/>'
        '<key id="gp" for="graph" attr.name="params" attr.type="string"/>'
    )
    p = f"{prefix}:" if prefix else ""
    namespace = f'xmlns{":" + prefix if prefix else ""}="http://graphml.graphdrawing.org/xmlns"'
    body = "\n".join(nodes + edges)
    if prefix:
        keys = keys.replace("<key", f"<{p}key")
        body = body.replace("<node", f"<{p}node").replace("</node", f"</{p}node")
        body = body.replace("<edge", f"<{p}edge").replace("</edge", f"</{p}edge")
        body = body.replace("<data", f"<{p}data").replace("</data", f"</{p}data")
    return (
        f'<?xml version="1.0"?>\n<{p}graphml {namespace}>{keys}\n'
        f'<{p}graph edgedefault="undirected">{graph}\n{body}\n</{p}graph></{p}graphml>\n'
    )


def _node(node_id, layer=None, neuron=None):
    data = "" if layer is None else f'<data key="l">{layer}</data>'
    data += "" if neuron is None else f'<data key="n">{neuron}</data>'
    return f'<node id="{node_id}">{data}</node>'


def _edge(source, target, layer=None):
    data = "" if layer is None else f'<data key="el">{layer}</data>'
    return f'<edge source="{source}" target="{target}">{data}</edge>'


_SQUARE = [_node("a", 0, 0), _node("b", 0, 1), _node("c", 1, 0), _node("d", 1, 1)]


def test_attributes_typed_as_string_and_double_with_key_defaults(tmp_path):
    keys = (
        '<key id="l" for="node" attr.name="layer" attr.type="string"><default>0</default></key>'
        '<key id="n" for="node" attr.name="neuron" attr.type="double"/>'
        '<key id="el" for="all" attr.name="layer" attr.type="int"/>'
    )
    nodes = [
        _node("a", neuron="0.0"),
        _node("b", neuron="1.0"),  # layer 0 from the key's default
        _node("c", " 1 ", "0"),
        _node("d", "1", "1.0"),
    ]
    path = tmp_path / "typed.graphml"
    path.write_text(_graphml_text(nodes, [_edge("a", "d", 0), _edge("c", "b")], keys=keys))
    assert read_graphml(path) == LayerGraph(np.array([[0, 1], [1, 0]]))


def test_double_typed_layer_must_be_whole(tmp_path):
    keys = '<key id="l" for="node" attr.name="layer" attr.type="double"/>'
    path = tmp_path / "half.graphml"
    path.write_text(_graphml_text([_node("a", "0.0"), _node("b", "0.5")], [], keys=keys))
    with pytest.raises(TopokitError, match=r"'layer' of node 'b' must be a whole number, got 0\.5"):
        read_graphml(path)


def test_prefixed_graphml_elements(tmp_path):
    path = tmp_path / "prefixed.graphml"
    path.write_text(_graphml_text(_SQUARE, [_edge("a", "c", 0)], prefix="g"))
    assert read_graphml(path) == LayerGraph(np.array([[1, 0], [0, 0]]))


def test_edges_before_their_nodes(tmp_path):
    path = tmp_path / "edges-first.graphml"
    nodes = [_edge("d", "a", 0), _node("a", 0, 0), _node("b", 0, 1)]
    path.write_text(_graphml_text(nodes, [_edge("b", "c"), _node("c", 1, 0), _node("d", 1, 1)]))
    assert read_graphml(path) == LayerGraph(np.array([[0, 1], [1, 0]]))


def test_edge_direction_is_not_used(tmp_path):
    path = tmp_path / "backwards.graphml"
    path.write_text(_graphml_text(_SQUARE, [_edge("d", "a", 0), _edge("b", "c")]))
    assert read_graphml(path) == LayerGraph(np.array([[0, 1], [1, 0]]))


GRAPHML_ERRORS = [
    pytest.param([_node("a", 0, 0), _node("b", neuron=0)], [], "",
                 "node 'b' has no 'layer' attribute", id="node-without-layer"),
    pytest.param([_node("a", 0, 0), _node("b", 1)], [], "",
                 "node 'b' has no 'neuron' attribute", id="node-without-neuron"),
    pytest.param([_node("a", 0, 0), _node("b", 1.5, 0)], [], "",
                 "attribute 'layer' of node 'b' is declared long but holds '1.5'",
                 id="fractional-layer"),
    pytest.param([_node("a", 0, 0), _node("b", "x", 0)], [], "",
                 "attribute 'layer' of node 'b' is declared long but holds 'x'",
                 id="non-numeric-layer"),
    pytest.param([_node("a", 0, 0), _node("b", -1, 0)], [], "",
                 "attribute 'layer' of node 'b' must be >= 0, got -1", id="negative-layer"),
    pytest.param([_node("a", 0, 0), _node("b", 2, 0)], [], "",
                 "no node in layer 1", id="empty-layer"),
    pytest.param([_node("a", 0, 0), _node("b", 0, 1)], [], "",
                 "got one layer", id="single-layer"),
    pytest.param([*_SQUARE, _node("e", 0, 0)], [], "",
                 "nodes 'a' and 'e' are both neuron 0 of layer 0", id="same-neuron"),
    pytest.param([*_SQUARE, _node("e", 1, 3)], [], "",
                 r"attribute 'neuron' of node 'e' must be in \[0, 3\) .* got 3",
                 id="neuron-out-of-range"),
    pytest.param([*_SQUARE, _node("a", 1, 2)], [], "",
                 "node id 'a' appears twice", id="repeated-id"),
    pytest.param([*_SQUARE, _node("e", 2, 0)], [_edge("a", "e")], "",
                 r"edge \('a', 'e'\) joins neuron layers 0 and 2 .*consecutive layers",
                 id="edge-skips-a-layer"),
    pytest.param(_SQUARE, [_edge("a", "b")], "",
                 r"edge \('a', 'b'\) joins two neurons of layer 0", id="edge-inside-a-layer"),
    pytest.param(_SQUARE, [_edge("a", "c"), _edge("c", "a")], "",
                 r"edge \('c', 'a'\) repeats an edge between neuron 0 of layer 0 and neuron 0 "
                 "of layer 1", id="repeated-edge"),
    pytest.param(_SQUARE, [_edge("a", "c", 1)], "",
                 r"edge \('a', 'c'\) has layer=1 but joins neuron layers 0 and 1",
                 id="edge-layer-disagrees"),
    pytest.param(_SQUARE, [_edge("a", "zz")], "",
                 "an edge names node 'zz', which is not a node", id="unknown-node"),
    pytest.param(_SQUARE, [], '<data key="gs">2 3</data>',
                 r"graph attribute 'sizes' says \[2, 3\], but the nodes' layers give \[2, 2\]",
                 id="sizes-disagree"),
    pytest.param(_SQUARE, [], '<data key="gt">Network</data>',
                 "graph attribute 'topokit' must be 'LayerGraph' or 'Topology', got 'Network'",
                 id="unknown-kind"),
    pytest.param(_SQUARE, [], '<data key="gp">[1, 2]</data>',
                 "graph attribute params must be a JSON object", id="params-not-an-object"),
    pytest.param([], [], "", "the graph has no nodes", id="no-nodes"),
    pytest.param([_node("a", 0, 0), _node("b", 2, 0)], ["<hyperedge/>"], "",
                 "<hyperedge> elements are not supported", id="hyperedge"),
]  # fmt: skip


@pytest.mark.parametrize(("nodes", "edges", "graph", "match"), GRAPHML_ERRORS)
def test_graphml_errors(tmp_path, nodes, edges, graph, match):
    path = tmp_path / "bad.graphml"
    path.write_text(_graphml_text(nodes, edges, graph=graph))
    with pytest.raises(TopokitError, match=match) as info:
        read_graphml(path)
    assert str(path) in str(info.value)  # every message names the file


def test_graphml_without_any_layer_attribute(tmp_path):
    nx.write_graphml(nx.path_graph(3), tmp_path / "path.graphml")
    with pytest.raises(TopokitError, match=r"nodes have no 'layer' attribute .*'bipartite'"):
        read_graphml(tmp_path / "path.graphml")


def test_graphml_bipartite_must_be_0_or_1(tmp_path):
    G = nx.Graph()
    G.add_nodes_from([(0, {"bipartite": 0}), (1, {"bipartite": 2})])
    nx.write_graphml(G, tmp_path / "b.graphml")
    with pytest.raises(TopokitError, match=r"'bipartite' of node '1' must be 0 \(input\) or 1"):
        read_graphml(tmp_path / "b.graphml")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        pytest.param("<graphml><graph>", "cannot read .* as GraphML: no element found",
                     id="truncated"),
        pytest.param("not xml at all", "cannot read .* as GraphML: syntax error", id="not-xml"),
        pytest.param("<graphml></graphml>", "holds no <graph> element", id="no-graph"),
        pytest.param("<graphml><graph/><graph/></graphml>", "more than one graph",
                     id="two-graphs"),
        pytest.param('<graphml><graph><node id="a"><graph/></node></graph></graphml>',
                     "more than one graph", id="nested-graph"),
    ],
)  # fmt: skip
def test_graphml_malformed_files(tmp_path, text, match):
    path = tmp_path / "bad.graphml"
    path.write_text(text)
    with pytest.raises(TopokitError, match=match):
        read_graphml(path)


@pytest.mark.parametrize("read", [read_graphml, read_edgelist], ids=["graphml", "edgelist"])
def test_missing_file_and_directory(tmp_path, read):
    with pytest.raises(TopokitError, match=r"graph file '.*nope' does not exist"):
        read(tmp_path / "nope")
    with pytest.raises(TopokitError, match="is a directory, not a graph file"):
        read(tmp_path)


@pytest.mark.parametrize("write", [write_graphml, write_edgelist], ids=["graphml", "edgelist"])
def test_write_needs_a_layer_graph_or_topology(tmp_path, write):
    with pytest.raises(TopokitError, match="graph must be a LayerGraph or a Topology, got csr"):
        write(sp.csr_array(np.eye(2)), tmp_path / "x")


# --------------------------------------------------------------- edge list
@pytest.mark.parametrize("make", GRAPHS)
def test_edgelist_round_trip(tmp_path, make):
    graph = make()
    write_edgelist(graph, tmp_path / "g.edgelist")
    _same(read_edgelist(tmp_path / "g.edgelist"), graph)


def test_edgelist_header(tmp_path):
    write_edgelist(_layer(), tmp_path / "g.edges")
    lines = (tmp_path / "g.edges").read_text().splitlines()
    assert lines[0].startswith("# topokit edge list")
    assert lines[1:6] == [
        "# topokit: LayerGraph",
        "# sizes: 5 4",
        "# family: handmade",
        '# params: {"p": 0.25, "radices": [2, 3]}',
        "# seed: 7",
    ]
    assert lines[6:] == ["0 5", "0 7", "1 6", "2 5", "2 6", "3 7"]


def test_edgelist_one_layer_topology_stays_a_topology(tmp_path):
    topology = Topology([_layer()])
    write_edgelist(topology, tmp_path / "t.edges")
    _same(read_edgelist(tmp_path / "t.edges"), topology)


@pytest.mark.parametrize("make", GRAPHS)
def test_networkx_reads_our_edgelist(tmp_path, make):
    graph = make()
    write_edgelist(graph, tmp_path / "g.edgelist")
    G = nx.read_edgelist(tmp_path / "g.edgelist", nodetype=int)
    pairs, _ = _global_edges(graph)
    assert sorted(map(tuple, map(sorted, G.edges))) == pairs
    if isinstance(graph, LayerGraph):  # the edges of to_networkx (isolated nodes are lost)
        expected = graph.to_networkx()
        assert sorted(map(sorted, G.edges)) == sorted(map(sorted, expected.edges))


@pytest.mark.parametrize("make", GRAPHS)
def test_igraph_reads_our_edgelist_without_header(tmp_path, make):
    graph = make()
    write_edgelist(graph, tmp_path / "g.edges", header=False)
    g = igraph.Graph.Read_Edgelist(str(tmp_path / "g.edges"), directed=False)
    pairs, sizes = _global_edges(graph)
    assert sorted(g.get_edgelist()) == pairs
    assert g.vcount() == max(max(pair) for pair in pairs) + 1  # ids 0 .. max id
    read = read_edgelist(tmp_path / "g.edges", sizes=sizes)
    assert type(read) is type(graph)
    assert read == graph
    assert {(family, seed) for family, _, seed in _provenance(read)} == {(None, None)}


def test_igraph_rejects_the_header(tmp_path):
    """Why ``header=False`` exists: igraph's edge-list reader has no comment lines."""
    write_edgelist(_layer(), tmp_path / "g.edges")
    with pytest.raises(igraph.InternalError, match="Unexpected character '#'"):
        igraph.Graph.Read_Edgelist(str(tmp_path / "g.edges"))


@pytest.mark.parametrize("make", GRAPHS)
def test_igraph_written_edgelist(tmp_path, make):
    graph = make()
    pairs, sizes = _global_edges(graph)
    igraph.Graph(edges=pairs).write_edgelist(str(tmp_path / "ig.edges"))
    assert read_edgelist(tmp_path / "ig.edges", sizes=sizes) == graph


@pytest.mark.parametrize("data", [True, False], ids=["with-data", "without-data"])
def test_networkx_written_edgelist(tmp_path, data):
    layer = _layer()
    G = layer.to_networkx()
    nx.set_edge_attributes(G, 0, "layer")
    nx.write_edgelist(G, tmp_path / "nx.edges", data=data)  # "0 5 {'layer': 0}" with data
    assert read_edgelist(tmp_path / "nx.edges", sizes=[5, 4]) == layer


def test_numpy_reads_our_edgelist(tmp_path):
    topology = _topology()
    write_edgelist(topology, tmp_path / "t.edges")
    pairs, _ = _global_edges(topology)
    assert sorted(map(tuple, np.loadtxt(tmp_path / "t.edges", dtype=int).tolist())) == pairs


def test_edgelist_explicit_sizes_agreeing_with_the_header(tmp_path):
    write_edgelist(_layer(), tmp_path / "g.edges")
    assert read_edgelist(tmp_path / "g.edges", sizes=(5, 4)) == _layer()


def test_edgelist_orientation_blank_lines_and_comments(tmp_path):
    path = tmp_path / "g.edges"
    path.write_text("# sizes: 2 3\n\n4 0\n# a comment\n1   2\t\n")
    assert read_edgelist(path) == LayerGraph.from_edges([0, 1], [2, 0], 2, 3)


def test_edgelist_without_edges(tmp_path):
    path = tmp_path / "empty.edges"
    path.write_text("# sizes: 3 2\n")
    read = read_edgelist(path)
    assert (read.shape, read.n_edges) == ((3, 2), 0)


EDGELIST_ERRORS = [
    pytest.param("0 4\n", {}, r"no '# sizes: n_0 n_1 \.\.\.' header, .* pass sizes=",
                 id="no-sizes"),
    pytest.param("# sizes: 4 3\n0 4\n", {"sizes": [4, 2]},
                 r"sizes=\[4, 2\] disagrees with the file's '# sizes: 4 3' header",
                 id="sizes-disagree"),
    pytest.param("# sizes: 4 x\n0 4\n", {},
                 "the '# sizes:' header must list layer sizes as integers", id="bad-header"),
    pytest.param("# sizes: 4\n0 4\n", {}, "header must list at least two layer sizes",
                 id="header-one-size"),
    pytest.param("0 4\n", {"sizes": [4]}, "sizes must list at least two layer sizes",
                 id="one-size"),
    pytest.param("0 4\n", {"sizes": [4, 0]}, r"sizes\[1\] must be >= 1, got 0", id="zero-size"),
    pytest.param("0 4\n", {"sizes": 4}, "sizes must list at least two layer sizes",
                 id="sizes-not-a-list"),
    pytest.param("0 9\n", {"sizes": [4, 3]},
                 r"edge \(0, 9\) names neuron 9, but sizes \[4, 3\] have 7 neurons "
                 r"\(ids 0 to 6\)", id="beyond-sizes"),
    pytest.param("-1 4\n", {"sizes": [4, 3]}, r"edge \(-1, 4\) names neuron -1",
                 id="negative-id"),
    pytest.param("0 4\n1 7\n", {"sizes": [4, 3, 2]},
                 r"edge \(1, 7\) joins neuron layers 0 and 2 \(sizes \[4, 3, 2\]\); edges must "
                 "join consecutive layers", id="skips-a-layer"),
    pytest.param("4 5\n", {"sizes": [4, 3]}, r"edge \(4, 5\) joins two neurons of layer 1",
                 id="inside-a-layer"),
    pytest.param("3 3\n", {"sizes": [4, 3]}, r"edge \(3, 3\) joins two neurons of layer 0",
                 id="self-loop"),
    pytest.param("0 4\n1 5\n4 0\n", {"sizes": [4, 3]},
                 r"edge \(4, 0\) repeats an edge between neuron 0 of layer 0 and neuron 0 of "
                 "layer 1", id="repeated-edge"),
    pytest.param("0 4\n1\n", {"sizes": [4, 3]}, "cannot read .* as an edge list of integer",
                 id="one-column"),
    pytest.param("0 x\n", {"sizes": [4, 3]}, "cannot read .* as an edge list of integer",
                 id="not-an-integer"),
    pytest.param("# topokit: Topology\n# sizes: 4 3\n# layer0_params: {oops\n0 4\n", {},
                 "graph attribute layer0_params must be a JSON object", id="bad-params"),
    pytest.param("# topokit: LayerGraph\n# sizes: 4 3 2\n0 4\n", {},
                 r"says it holds a LayerGraph, but its sizes \[4, 3, 2\] give 2 layers",
                 id="kind-disagrees"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "options", "match"), EDGELIST_ERRORS)
def test_edgelist_errors(tmp_path, text, options, match):
    path = tmp_path / "bad.edges"
    path.write_text(text)
    with pytest.raises(TopokitError, match=match) as info:
        read_edgelist(path, **options)
    assert str(path) in str(info.value)


def test_edgelist_not_text(tmp_path):
    path = tmp_path / "binary.edges"
    path.write_bytes(b"\xff\xfe\x00\x81 binary")
    with pytest.raises(TopokitError, match=r"cannot read .* as an edge list"):
        read_edgelist(path, sizes=[2, 2])


# ------------------------------------------------------- random round trips
@st.composite
def _networks(draw):
    sizes = draw(st.lists(st.integers(1, 7), min_size=2, max_size=4))
    layers = []
    for n_in, n_out in itertools.pairwise(sizes):
        bits = draw(st.lists(st.booleans(), min_size=n_in * n_out, max_size=n_in * n_out))
        layers.append(LayerGraph(np.array(bits, dtype=float).reshape(n_in, n_out)))
    return layers[0] if len(layers) == 1 else Topology(layers)


@settings(max_examples=40, deadline=None)
@given(graph=_networks(), directed=st.booleans())
def test_random_networks_round_trip_through_both_formats_and_both_libraries(graph, directed):
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        write_graphml(graph, folder / "g.graphml", directed=directed)
        assert read_graphml(folder / "g.graphml") == graph
        nx.write_graphml(nx.read_graphml(folder / "g.graphml"), folder / "nx.graphml")
        assert read_graphml(folder / "nx.graphml") == graph
        igraph.Graph.Read_GraphML(str(folder / "g.graphml")).write_graphml(
            str(folder / "ig.graphml")
        )
        assert read_graphml(folder / "ig.graphml") == graph
        write_edgelist(graph, folder / "g.edges")
        assert read_edgelist(folder / "g.edges") == graph
        G = nx.read_edgelist(folder / "g.edges", nodetype=int)
        assert sorted(tuple(sorted(edge)) for edge in G.edges) == _global_edges(graph)[0]
