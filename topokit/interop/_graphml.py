"""GraphML text: a streaming writer and a streaming (expat) reader of raw nodes and edges.

This module knows XML, not layers: the writer takes global neuron ids and ready-made
attribute values, and the reader returns the file's nodes, edges and typed attributes
as plain lists. :mod:`topokit.interop.graphs` turns them into layers.
"""

from __future__ import annotations

import os
from array import array
from dataclasses import dataclass, field
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from topokit._errors import TopokitError

__all__ = ["ParsedGraphML", "parse_graphml", "write_graphml_text"]

_NAMESPACE = "http://graphml.graphdrawing.org/xmlns"
_HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<graphml xmlns="{_NAMESPACE}" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    f'xsi:schemaLocation="{_NAMESPACE} {_NAMESPACE}/1.0/graphml.xsd">\n'
)
_CHUNK = 1 << 16  # edges formatted per write


# ------------------------------------------------------------------- writing
def _graph_type(value) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "double"
    return "string"


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


def write_graphml_text(file, *, sizes, layer_edges, graph_attributes, bipartite, directed) -> None:
    """Write GraphML for a network of neuron layers of ``sizes`` to ``file``.

    Neuron ``i`` of neuron layer ``k`` is node ``offsets[k] + i``; every node has
    ``layer`` and ``neuron`` (and ``bipartite`` when asked), every edge ``layer``.
    ``layer_edges`` yields ``(k, sources, targets)``: each weight layer's edges as arrays
    of global neuron ids.
    """
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    file.write(_HEADER)
    for name, value in graph_attributes.items():
        file.write(
            f'  <key id={quoteattr("g_" + name)} for="graph" attr.name={quoteattr(name)} '
            f'attr.type="{_graph_type(value)}"/>\n'
        )
    node_keys = ["layer", "neuron", *(["bipartite"] if bipartite else [])]
    for name in node_keys:
        file.write(f'  <key id="v_{name}" for="node" attr.name="{name}" attr.type="long"/>\n')
    file.write('  <key id="e_layer" for="edge" attr.name="layer" attr.type="long"/>\n')
    edgedefault = "directed" if directed else "undirected"
    file.write(f'  <graph id="G" edgedefault="{edgedefault}">\n')
    for name, value in graph_attributes.items():
        file.write(f"    <data key={quoteattr('g_' + name)}>{_text(value)}</data>\n")
    for k, size in enumerate(sizes):
        side = f'<data key="v_bipartite">{k}</data>' if bipartite else ""
        template = (
            f'    <node id="{{}}"><data key="v_layer">{k}</data>'
            f'<data key="v_neuron">{{}}</data>{side}</node>\n'
        )
        for start in range(0, size, _CHUNK):
            neurons = range(start, min(start + _CHUNK, size))
            ids = range(offsets[k] + start, offsets[k] + neurons.stop)
            file.write("".join(map(template.format, ids, neurons)))
    for k, sources, targets in layer_edges:
        template = f'    <edge source="{{}}" target="{{}}"><data key="e_layer">{k}</data></edge>\n'
        for start in range(0, sources.size, _CHUNK):
            chunk = slice(start, start + _CHUNK)
            lines = map(template.format, sources[chunk].tolist(), targets[chunk].tolist())
            file.write("".join(lines))
    file.write("  </graph>\n</graphml>\n")


# ------------------------------------------------------------------- reading
@dataclass
class Key:
    """One ``<key>``: the attribute's domain (node, edge, graph, all), name, type, default."""

    domain: str
    name: str
    type: str
    default: str | None = None


@dataclass
class ParsedGraphML:
    """The graph of a GraphML file, as read.

    ``node_ids`` and ``node_data`` (key id -> text) are in document order; ``ends`` of
    shape (n_edges, 2) holds each edge's source and target as positions in that order;
    ``edge_layer_codes`` of shape (n_edges,) indexes ``edge_layer_texts`` with each edge's
    ``layer`` text (-1 where it has none); ``graph_data`` maps key ids to texts.
    """

    keys: dict = field(default_factory=dict)
    directed: bool = False
    node_ids: list = field(default_factory=list)
    node_data: list = field(default_factory=list)
    ends: np.ndarray | None = None
    edge_layer_codes: np.ndarray | None = None
    edge_layer_texts: list = field(default_factory=list)
    graph_data: dict = field(default_factory=dict)


_TAGS = ("graphml", "key", "default", "graph", "node", "edge", "data", "hyperedge", "port")
_NODE, _EDGE, _GRAPH, _DEFAULT = "node", "edge", "graph", "default"


def _local_name(name: str) -> str | None:
    """The GraphML tag of an element name, ``"g:edge"`` -> ``"edge"``; None if not GraphML."""
    local = name.rpartition(":")[2]
    return local if local in _TAGS else None


def parse_graphml(path) -> ParsedGraphML:
    """Read the nodes, edges and attributes of the graph in the GraphML file ``path``.

    One pass with expat and no element tree; an edge costs 24 bytes (two node positions
    and a code for its ``layer`` text). The text of a ``<data>`` (or ``<default>``) is
    collected until the next element starts, which saves a Python call per closing tag
    (the hot path runs once per edge).
    """
    parsed = ParsedGraphML()
    keys, node_data, graph_data = parsed.keys, parsed.node_data, parsed.graph_data
    position: dict = {}  # node id -> position in document order
    find = position.get
    sources, targets, edge_layers = array("q"), array("q"), array("q")
    add_source, add_target, add_edge_layer = sources.append, targets.append, edge_layers.append
    later: list = []  # (edge, column, id) for ends named before their node
    layer_code: dict = {}  # edge layer text -> index in parsed.edge_layer_texts
    names = {name: name for name in _TAGS}  # element name -> tag, filled as names appear
    graph_keys: set = set()
    edge_layer_keys: set = set()
    pending = None  # the key whose text is being collected
    target = None  # where it goes: _NODE, _EDGE, _GRAPH or _DEFAULT
    parts: list[str] = []
    context = None  # the element the next <data> belongs to
    n_graphs = 0

    def start(name, attrs):
        nonlocal pending, target, parts, context, n_graphs
        if pending is not None:  # the previous <data> has ended: store its text
            if target is _EDGE:
                if pending in edge_layer_keys:
                    text = "".join(parts)
                    code = layer_code.get(text)
                    if code is None:
                        code = layer_code[text] = len(layer_code)
                        parsed.edge_layer_texts.append(text)
                    edge_layers[-1] = code
            elif target is _NODE:
                node_data[-1][pending] = "".join(parts).strip()
            elif target is _GRAPH:
                graph_data[pending] = "".join(parts).strip()
            elif target is _DEFAULT:
                pending.default = "".join(parts).strip()
            pending = None
        tag = names.get(name, False)
        if tag is False:
            tag = names[name] = _local_name(name)
        if tag == "data":
            if attrs and attrs[0] == "key":
                pending = attrs[1]
            else:
                pending = dict(zip(attrs[::2], attrs[1::2], strict=True)).get("key")
            target = _GRAPH if pending in graph_keys else context
            parts = []
        elif tag == "edge":
            if len(attrs) < 4 or attrs[0] != "source" or attrs[2] != "target":
                attrs = dict(zip(attrs[::2], attrs[1::2], strict=True))
                if "source" not in attrs or "target" not in attrs:
                    raise TopokitError(f"an <edge> needs source and target attributes, got {attrs}")
                attrs = ["source", attrs["source"], "target", attrs["target"]]
            source, target_ = find(attrs[1], -1), find(attrs[3], -1)
            if source < 0 or target_ < 0:
                later.extend(
                    (len(sources), column, attrs[2 * column + 1])
                    for column, end in enumerate((source, target_))
                    if end < 0
                )
            add_source(source)
            add_target(target_)
            add_edge_layer(-1)
            context = _EDGE
        else:
            _structure(tag, dict(zip(attrs[::2], attrs[1::2], strict=True)))

    def _structure(tag, attrs):
        """Everything but <data> and <edge>: rare, so clarity over speed."""
        nonlocal pending, target, parts, context, n_graphs
        if tag == "node":
            if "id" not in attrs:
                raise TopokitError(f"a <node> needs an id attribute, got {attrs}")
            if attrs["id"] in position:
                raise TopokitError(f"node id {attrs['id']!r} appears twice")
            position[attrs["id"]] = len(parsed.node_ids)
            parsed.node_ids.append(attrs["id"])
            node_data.append({})
            context = _NODE
        elif tag == "key":
            key_id = attrs.get("id")
            key = Key(attrs.get("for", "all"), attrs.get("attr.name", ""), attrs.get("attr.type"))
            keys[key_id] = key
            if key.domain == "graph":
                graph_keys.add(key_id)
            if key.name == "layer" and key.domain in ("edge", "all"):
                edge_layer_keys.add(key_id)
            context = key
        elif tag == "default":
            if isinstance(context, Key):
                pending, target, parts = context, _DEFAULT, []
        elif tag == "graph":
            n_graphs += 1
            if n_graphs > 1:
                raise TopokitError(
                    "the file holds more than one graph (or a graph nested in a node); "
                    "topokit reads files with one <graph>"
                )
            parsed.directed = attrs.get("edgedefault", "directed") == "directed"
            context = _GRAPH
        elif tag in ("hyperedge", "port"):
            raise TopokitError(f"GraphML <{tag}> elements are not supported in layer graphs")

    def characters(text):
        if pending is not None:
            parts.append(text)

    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.ordered_attributes = True
    parser.StartElementHandler = start
    parser.CharacterDataHandler = characters
    try:
        with open(path, "rb") as file:
            parser.ParseFile(file)
    except expat.ExpatError as exc:
        raise TopokitError(f"cannot read {os.fspath(path)!r} as GraphML: {exc}") from None
    start("", [])  # store the text of a final <data>
    if n_graphs == 0:
        raise TopokitError(f"{os.fspath(path)!r} holds no <graph> element; is it GraphML?")
    parsed.ends = np.column_stack(
        [np.frombuffer(sources, dtype=np.int64), np.frombuffer(targets, dtype=np.int64)]
    ).reshape(-1, 2)
    for edge, column, node in later:  # ends named before their node (rare)
        if node not in position:
            raise TopokitError(f"an edge names node {node!r}, which is not a node")
        parsed.ends[edge, column] = position[node]
    parsed.edge_layer_codes = np.frombuffer(edge_layers, dtype=np.int64)
    return parsed
