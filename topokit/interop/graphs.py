"""Graph exchange: a layer or a whole network as GraphML or as a plain edge list.

Both formats number neurons the same way: neuron ``i`` of neuron layer ``k`` (sizes
``[n_0, ..., n_L]``) is node ``n_0 + ... + n_{k-1} + i``, so a layer's inputs are nodes
``0 .. n_in-1`` and its outputs ``n_in .. n_in+n_out-1``, exactly the nodes of
:meth:`LayerGraph.to_networkx <topokit.LayerGraph.to_networkx>`. Each edge is written once,
from its neuron in the lower layer to its neuron in the next.

**GraphML** (:func:`write_graphml`, :func:`read_graphml`) keeps everything:

- node ids ``"0" .. "N-1"`` (``networkx.read_graphml(path, node_type=int)`` gives the
  integers back); node attributes ``layer`` (the neuron layer, 0..L) and ``neuron`` (the
  index within it), and for a single layer also ``bipartite`` (0 inputs, 1 outputs,
  networkx's bipartite convention);
- edge attribute ``layer`` (the weight layer, 0..L-1);
- graph attributes ``topokit`` (``"LayerGraph"`` or ``"Topology"``), ``sizes``
  (``"784 300 10"``) and the provenance: ``family``, ``params`` (JSON) and ``seed`` for a
  layer, ``layer{k}_family``, ``layer{k}_params``, ``layer{k}_seed`` for each layer of a
  topology, where known.

The graph is undirected by default (``edgedefault="undirected"``), so that networkx reads
the same :class:`networkx.Graph` as :meth:`~topokit.LayerGraph.to_networkx` and igraph an
undirected graph, the view every topokit metric takes; ``directed=True`` writes the
feed-forward direction (input to output) for tools that want a DAG. The reader accepts
both and does not use the orientation: the node layers say which end is the input.

The reader takes any GraphML whose nodes carry a neuron layer: the ``layer`` attribute,
or for a single layer networkx's ``bipartite`` (0/1) or igraph's boolean ``type``.
Numeric attributes may be typed int, long, float or double (igraph writes numbers as
double) or string. Without ``neuron``, neurons are numbered in document order within
their layer. Node ids may be any strings.

**Edge list** (:func:`write_edgelist`, :func:`read_edgelist`): one edge ``u v`` per line
with the global ids above, after a header of ``# key: value`` comment lines with the same
graph attributes (``# sizes: 784 300 10``, ``# family: ...``). Pairs alone cannot say where
one layer ends or that a neuron without edges exists, so the sizes come from that header,
or from ``sizes=`` for a file without one. ``networkx.read_edgelist(path, nodetype=int)``
and ``numpy.loadtxt`` skip the header as comments; igraph's ``Graph.Read_Edgelist`` rejects
comment lines, so write files for igraph with ``header=False`` (igraph then numbers the
vertices ``0 .. max id``, so neurons after the last one with an edge are dropped).

Both readers and writers stream: cost and memory grow with the number of edges, and
neither goes through networkx.
"""

from __future__ import annotations

import json
import os
import re

import numpy as np
import scipy.sparse as sp

from topokit._atomic import replacing
from topokit._errors import TopokitError
from topokit._plain import provenance_json
from topokit._validation import check_int
from topokit.graph import LayerGraph
from topokit.interop import _edgelist, _graphml
from topokit.topology import Topology

__all__ = ["read_edgelist", "read_graphml", "write_edgelist", "write_graphml"]

_KINDS = ("LayerGraph", "Topology")


# ------------------------------------------------------------ what is written
def _layers_of(graph) -> tuple[str, list[int], list[LayerGraph]]:
    if isinstance(graph, LayerGraph):
        return "LayerGraph", [graph.n_in, graph.n_out], [graph]
    if isinstance(graph, Topology):
        return "Topology", graph.sizes, list(graph.layers)
    raise TopokitError(f"graph must be a LayerGraph or a Topology, got {type(graph).__name__}")


def _graph_attributes(kind: str, sizes: list[int], layers: list[LayerGraph]) -> dict:
    """Graph-level attributes: what the file holds, its sizes, each layer's provenance."""
    attributes = {"topokit": kind, "sizes": " ".join(map(str, sizes))}
    for k, layer in enumerate(layers):
        prefix = "" if kind == "LayerGraph" else f"layer{k}_"
        if layer.family is not None:
            attributes[f"{prefix}family"] = str(layer.family)
        if layer.params:
            attributes[f"{prefix}params"] = provenance_json(layer.params)
        if layer.seed is not None:
            seed = layer.seed
            is_long = (
                isinstance(seed, int | np.integer)
                and not isinstance(seed, bool)
                and -(2**63) <= seed < 2**63  # GraphML's long
            )
            seed = int(seed) if is_long else provenance_json(seed)
            attributes[f"{prefix}seed"] = seed
    return attributes


def _layer_edges(sizes: list[int], layers: list[LayerGraph]):
    """Yield ``(k, sources, targets)``: layer ``k``'s edges as global neuron ids."""
    offsets = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)])
    for k, layer in enumerate(layers):
        rows, cols = layer.edges()
        yield k, rows + offsets[k], cols + offsets[k + 1]


def _open_for_writing(path):
    """A text file that replaces ``path`` once written whole (:func:`topokit._atomic.replacing`)."""
    return replacing(path, binary=False)


# -------------------------------------------------------------- what is read
def _check_readable(path) -> str:
    path = os.fspath(path)
    if os.path.isdir(path):
        raise TopokitError(f"{path!r} is a directory, not a graph file")
    if not os.path.exists(path):
        raise TopokitError(f"graph file {path!r} does not exist")
    return path


def _parse_sizes(text, where: str) -> list[int]:
    parts = [part for part in re.split(r"[\s,\[\]]+", str(text)) if part]
    try:
        sizes = [int(part) for part in parts]
    except ValueError:
        raise TopokitError(
            f"{where} must list layer sizes as integers such as '784 300 10', got {text!r}"
        ) from None
    return _check_sizes(sizes, where)


def _check_sizes(sizes, where: str) -> list[int]:
    if isinstance(sizes, str) or not hasattr(sizes, "__len__") or len(sizes) < 2:
        raise TopokitError(f"{where} must list at least two layer sizes, got {sizes!r}")
    return [check_int(f"{where}[{k}]", n, minimum=1) for k, n in enumerate(list(sizes))]


def _seed(value):
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _provenance(attributes: dict, prefix: str) -> dict:
    family = attributes.get(f"{prefix}family")
    params = attributes.get(f"{prefix}params", {})
    if isinstance(params, str):
        try:
            params = json.loads(params) if params.strip() else {}
        except json.JSONDecodeError:
            params = None
    if not isinstance(params, dict):
        raise TopokitError(
            f"graph attribute {prefix}params must be a JSON object such as "
            f'{{"p": 0.1}}, got {attributes[f"{prefix}params"]!r}'
        )
    seed = _seed(attributes[f"{prefix}seed"]) if f"{prefix}seed" in attributes else None
    return {"family": None if family is None else str(family), "params": params, "seed": seed}


def _assemble(ends: np.ndarray, sizes: list[int], attributes: dict, describe):
    """Build the LayerGraph or Topology whose edges join the global ids in ``ends``.

    ``ends`` is of shape (n_edges, 2), in either orientation; ``describe(i)`` names edge
    ``i`` the way the file does, for error messages.
    """
    kind = attributes.get("topokit")
    if kind is not None and kind not in _KINDS:
        raise TopokitError(
            f"graph attribute 'topokit' must be 'LayerGraph' or 'Topology', got {kind!r}"
        )
    if kind == "LayerGraph" and len(sizes) != 2:
        raise TopokitError(
            f"the file says it holds a LayerGraph, but its sizes {sizes} give "
            f"{len(sizes) - 1} layers"
        )
    offsets = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)])
    n_neurons = int(offsets[-1])
    outside = (ends < 0) | (ends >= n_neurons)
    if outside.any():
        i, side = np.argwhere(outside)[0]
        raise TopokitError(
            f"{describe(i)} names neuron {ends[i, side]}, but sizes {sizes} have "
            f"{n_neurons} neurons (ids 0 to {n_neurons - 1})"
        )
    low, high = ends.min(axis=1), ends.max(axis=1)
    layer_low = np.searchsorted(offsets, low, side="right") - 1
    layer_high = np.searchsorted(offsets, high, side="right") - 1
    wrong = layer_high - layer_low != 1
    if wrong.any():
        i = int(np.argmax(wrong))
        a, b = int(layer_low[i]), int(layer_high[i])
        what = f"joins two neurons of layer {a}" if a == b else f"joins neuron layers {a} and {b}"
        raise TopokitError(
            f"{describe(i)} {what} (sizes {sizes}); edges must join consecutive layers"
        )
    layers = []
    for k in range(len(sizes) - 1):
        (members,) = np.nonzero(layer_low == k)
        rows, cols = low[members] - offsets[k], high[members] - offsets[k + 1]
        matrix = sp.coo_array(
            (np.ones(members.size), (rows, cols)), shape=(sizes[k], sizes[k + 1])
        ).tocsr()
        if matrix.nnz < members.size:
            keys = rows * sizes[k + 1] + cols
            order = np.argsort(keys, kind="stable")
            repeat = np.nonzero(np.diff(keys[order]) == 0)[0][0] + 1
            i = int(members[order[repeat]])
            raise TopokitError(
                f"{describe(i)} repeats an edge between neuron {rows[order[repeat]]} of layer "
                f"{k} and neuron {cols[order[repeat]]} of layer {k + 1}; a layer graph has no "
                f"multi-edges"
            )
        prefix = "" if len(sizes) == 2 and kind != "Topology" else f"layer{k}_"
        layers.append(LayerGraph(matrix, **_provenance(attributes, prefix)))
    if kind == "Topology" or (kind is None and len(layers) > 1):
        return Topology(layers)
    return layers[0]


# ------------------------------------------------------------------- GraphML
def write_graphml(graph, path, *, directed: bool = False) -> None:
    """Write a layer graph or a whole topology as GraphML.

    Parameters
    ----------
    graph : LayerGraph or Topology
        What to write.
    path : str or os.PathLike
        Destination (conventionally ``.graphml``); overwritten if it exists.
    directed : bool, default False
        Write ``edgedefault="directed"`` (edges point from input to output) instead of an
        undirected graph.

    Raises
    ------
    TopokitError
        If ``graph`` is neither a LayerGraph nor a Topology.

    See Also
    --------
    read_graphml : read the file back.

    Notes
    -----
    The node numbering and the attributes are described in :mod:`topokit.interop.graphs`.
    Cost and memory are linear in the number of edges.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import networkx as nx
    >>> from topokit import layer_graph
    >>> from topokit.interop.graphs import read_graphml, write_graphml
    >>> layer = layer_graph("erdos_renyi", 6, 4, density=0.5, rng=0)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "layer.graphml"
    >>> write_graphml(layer, path)
    >>> read_graphml(path) == layer
    True
    >>> G = nx.read_graphml(path, node_type=int)  # the nodes of layer.to_networkx()
    >>> sorted(G.edges) == sorted(layer.to_networkx().edges)
    True
    >>> G.nodes[6]  # the first output neuron
    {'layer': 1, 'neuron': 0, 'bipartite': 1}
    >>> G.graph["family"], G.graph["sizes"]
    ('erdos_renyi', '6 4')
    """
    kind, sizes, layers = _layers_of(graph)
    with _open_for_writing(path) as file:
        _graphml.write_graphml_text(
            file,
            sizes=sizes,
            layer_edges=_layer_edges(sizes, layers),
            graph_attributes=_graph_attributes(kind, sizes, layers),
            bipartite=kind == "LayerGraph",
            directed=bool(directed),
        )


def _typed(text: str | None, key, what: str):
    """The value of a GraphML attribute's text under its declared type."""
    if text is None:
        return None
    kind = (key.type or "string").lower()
    stripped = text.strip()
    if kind == "boolean":
        lowered = stripped.lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        raise TopokitError(f"{what} must be a boolean (true/false), got {text!r}")
    if kind in ("int", "long"):
        try:
            return int(stripped)
        except ValueError:
            raise TopokitError(f"{what} is declared {kind} but holds {text!r}") from None
    if kind in ("float", "double"):
        try:
            return float(stripped)
        except ValueError:
            raise TopokitError(f"{what} is declared {kind} but holds {text!r}") from None
    return text


def _as_index(value, what: str) -> int:
    """An attribute value (int, integral float, bool, numeric string) as an int."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        try:
            value = float(value.strip()) if value.strip() else None
        except ValueError:
            value = None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise TopokitError(f"{what} must be a whole number, got {value!r}")


def _find_key(parsed, name: str, domain: str):
    for key_id, key in parsed.keys.items():
        if key.name == name and key.domain in (domain, "all"):
            return key_id
    return None


def _node_values(parsed, key_id, name: str) -> np.ndarray:
    """The integer attribute ``name`` of every node; an error names a node that lacks it."""
    key = parsed.keys[key_id]
    values = np.empty(len(parsed.node_ids), dtype=np.int64)
    for i, data in enumerate(parsed.node_data):
        node = parsed.node_ids[i]
        text = data.get(key_id, key.default)
        if text is None:
            raise TopokitError(f"node {node!r} has no {name!r} attribute; every node needs one")
        what = f"attribute {name!r} of node {node!r}"
        values[i] = _as_index(_typed(text, key, what), what)
    return values


def _node_layers(parsed) -> np.ndarray:
    for name in ("layer", "bipartite", "type"):
        key_id = _find_key(parsed, name, "node")
        if key_id is not None:
            layers = _node_values(parsed, key_id, name)
            if name != "layer" and not np.isin(layers, (0, 1)).all():
                node = parsed.node_ids[int(np.argmax(~np.isin(layers, (0, 1))))]
                raise TopokitError(
                    f"attribute {name!r} of node {node!r} must be 0 (input) or 1 (output)"
                )
            break
    else:
        raise TopokitError(
            "the nodes have no 'layer' attribute (nor networkx's 'bipartite' or igraph's "
            "'type' for a single layer), so their layers are unknown"
        )
    if layers.min() < 0:
        node = parsed.node_ids[int(np.argmin(layers))]
        raise TopokitError(f"attribute {name!r} of node {node!r} must be >= 0, got {layers.min()}")
    counts = np.bincount(layers)
    if counts.size < 2 or (counts == 0).any():
        empty = "one layer" if counts.size < 2 else f"no node in layer {np.argmin(counts)}"
        raise TopokitError(
            f"node layers must run from 0 to L >= 1 with neurons in each, got {empty} "
            f"(layer sizes {counts.tolist()})"
        )
    return layers


def _node_neurons(parsed, layers: np.ndarray, sizes: list[int]) -> np.ndarray:
    key_id = _find_key(parsed, "neuron", "node")
    if key_id is None:  # document order within each layer
        order = np.argsort(layers, kind="stable")
        starts = np.concatenate([[0], np.cumsum(sizes)])
        neurons = np.empty(layers.size, dtype=np.int64)
        neurons[order] = np.arange(layers.size) - starts[layers[order]]
        return neurons
    neurons = _node_values(parsed, key_id, "neuron")
    sizes_array = np.asarray(sizes)
    outside = (neurons < 0) | (neurons >= sizes_array[layers])
    if outside.any():
        i = int(np.argmax(outside))
        raise TopokitError(
            f"attribute 'neuron' of node {parsed.node_ids[i]!r} must be in "
            f"[0, {sizes[layers[i]]}) (layer {layers[i]} has {sizes[layers[i]]} nodes), "
            f"got {neurons[i]}"
        )
    ids = np.concatenate([[0], np.cumsum(sizes)])[layers] + neurons
    order = np.argsort(ids, kind="stable")
    repeats = np.nonzero(np.diff(ids[order]) == 0)[0]
    if repeats.size:
        first, second = order[repeats[0]], order[repeats[0] + 1]
        raise TopokitError(
            f"nodes {parsed.node_ids[first]!r} and {parsed.node_ids[second]!r} are both "
            f"neuron {neurons[first]} of layer {layers[first]}"
        )
    return neurons


def _check_edge_layers(parsed, lower_layers: np.ndarray, describe) -> None:
    """Edge ``layer`` attributes, where present, must name the weight layer the edge is in."""
    if not parsed.edge_layer_texts:
        return
    key = parsed.keys[_find_key(parsed, "layer", "edge")]
    values = []
    for text in parsed.edge_layer_texts:
        what = f"edge attribute 'layer' ({text.strip()!r})"
        values.append(_as_index(_typed(text, key, what), what))
    codes = parsed.edge_layer_codes
    given = np.asarray(values, dtype=np.int64)[codes]
    wrong = (given != lower_layers) & (codes >= 0)
    if wrong.any():
        i = int(np.argmax(wrong))
        raise TopokitError(
            f"{describe(i)} has layer={given[i]} but joins neuron layers {lower_layers[i]} "
            f"and {lower_layers[i] + 1}, so it is in weight layer {lower_layers[i]}"
        )


def read_graphml(path) -> LayerGraph | Topology:
    """Read a layer graph or a topology from a GraphML file.

    Reads what :func:`write_graphml` writes, and GraphML from networkx or igraph whose
    nodes carry their neuron layer (see :mod:`topokit.interop.graphs`).

    Parameters
    ----------
    path : str or os.PathLike
        A GraphML file holding one graph.

    Returns
    -------
    LayerGraph or Topology
        A Topology when the graph attribute ``topokit`` says so or when there are more
        than two neuron layers; otherwise a LayerGraph. Provenance (family, params, seed)
        is restored where the file has it.

    Raises
    ------
    TopokitError
        If the file is missing or not GraphML; a node lacks its layer (or neuron) attribute,
        or two nodes are the same neuron; an edge joins neurons that are not in consecutive
        layers, repeats another edge, or carries a ``layer`` that disagrees with its ends;
        the graph attribute ``sizes`` disagrees with the nodes.

    See Also
    --------
    write_graphml : the format.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import networkx as nx
    >>> from topokit.interop.graphs import read_graphml
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "k23.graphml"
    >>> nx.write_graphml(nx.complete_bipartite_graph(2, 3), path)  # 'bipartite' = 0/1
    >>> read_graphml(path)
    LayerGraph(n_in=2, n_out=3, n_edges=6)
    """
    path = _check_readable(path)
    try:
        return _read_graphml(path)
    except TopokitError as exc:
        raise TopokitError(f"{path!r}: {exc}") from None


def _read_graphml(path):
    parsed = _graphml.parse_graphml(path)
    if not parsed.node_ids:
        raise TopokitError("the graph has no nodes")
    layers = _node_layers(parsed)
    sizes = np.bincount(layers).tolist()
    neurons = _node_neurons(parsed, layers, sizes)
    global_ids = np.concatenate([[0], np.cumsum(sizes)])[layers] + neurons
    attributes = {}
    for key_id, text in parsed.graph_data.items():
        key = parsed.keys.get(key_id)
        if key is not None:
            attributes[key.name] = _typed(text, key, f"graph attribute {key.name!r}")
    if "sizes" in attributes:
        declared = _parse_sizes(attributes["sizes"], "graph attribute 'sizes'")
        if declared != sizes:
            raise TopokitError(
                f"graph attribute 'sizes' says {declared}, but the nodes' layers give {sizes}"
            )
    ends = parsed.ends

    def describe(i):
        return f"edge ({parsed.node_ids[ends[i, 0]]!r}, {parsed.node_ids[ends[i, 1]]!r})"

    end_layers = layers[ends]
    _check_edge_layers(parsed, end_layers.min(axis=1, initial=np.iinfo(np.int64).max), describe)
    return _assemble(global_ids[ends], sizes, attributes, describe)


# ----------------------------------------------------------------- edge list
def write_edgelist(graph, path, *, header: bool = True) -> None:
    """Write a layer graph or a whole topology as a plain-text edge list.

    Parameters
    ----------
    graph : LayerGraph or Topology
        What to write.
    path : str or os.PathLike
        Destination (conventionally ``.edgelist`` or ``.edges``); overwritten if it exists.
    header : bool, default True
        Start with ``# key: value`` comment lines holding the sizes and provenance, which
        :func:`read_edgelist` needs to restore the layers. networkx and numpy skip them;
        write ``header=False`` for igraph's ``Graph.Read_Edgelist``, which rejects them.

    Raises
    ------
    TopokitError
        If ``graph`` is neither a LayerGraph nor a Topology.

    See Also
    --------
    read_edgelist : read the file back.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import networkx as nx
    >>> from topokit import LayerGraph
    >>> from topokit.interop.graphs import read_edgelist, write_edgelist
    >>> layer = LayerGraph([[1, 0, 1], [0, 1, 0]])
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "layer.edgelist"
    >>> write_edgelist(layer, path)
    >>> print(path.read_text())  # doctest: +ELLIPSIS
    # topokit edge list: ...
    # topokit: LayerGraph
    # sizes: 2 3
    0 2
    0 4
    1 3
    <BLANKLINE>
    >>> sorted(nx.read_edgelist(path, nodetype=int).edges)
    [(0, 2), (0, 4), (1, 3)]
    >>> read_edgelist(path) == layer
    True
    """
    kind, sizes, layers = _layers_of(graph)
    attributes = _graph_attributes(kind, sizes, layers) if header else None
    with _open_for_writing(path) as file:
        _edgelist.write_edgelist_text(
            file, layer_edges=_layer_edges(sizes, layers), header=attributes
        )


def read_edgelist(path, sizes=None) -> LayerGraph | Topology:
    """Read a layer graph or a topology from an edge-list file.

    Parameters
    ----------
    path : str or os.PathLike
        Lines ``u v`` of global neuron ids (see :mod:`topokit.interop.graphs`), in either
        order; ``#`` lines and blank lines are skipped, columns after the second ignored.
    sizes : sequence of int, optional
        Layer sizes ``[n_0, ..., n_L]``. By default those of the file's ``# sizes:``
        header; required for a file without one (igraph's, networkx's).

    Returns
    -------
    LayerGraph or Topology
        A LayerGraph for two sizes (unless the header says ``# topokit: Topology``), a
        Topology for more; provenance is restored from the header.

    Raises
    ------
    TopokitError
        If the file is missing or not lines of integer pairs; the sizes are missing or
        disagree with ``sizes=``; an edge names a neuron beyond the sizes, joins neurons
        that are not in consecutive layers, or repeats another edge.

    See Also
    --------
    write_edgelist : the format.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import igraph
    >>> from topokit.interop.graphs import read_edgelist
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "from_igraph.edges"
    >>> igraph.Graph([(0, 3), (1, 3), (2, 4)]).write_edgelist(str(path))
    >>> read_edgelist(path, sizes=[3, 2])
    LayerGraph(n_in=3, n_out=2, n_edges=3)
    """
    path = _check_readable(path)
    try:
        return _read_edgelist(path, sizes)
    except TopokitError as exc:
        raise TopokitError(f"{path!r}: {exc}") from None


def _read_edgelist(path, sizes):
    header, ends = _edgelist.parse_edgelist(path)
    declared = _parse_sizes(header["sizes"], "the '# sizes:' header") if "sizes" in header else None
    if sizes is not None:
        sizes = _check_sizes(sizes, "sizes")
        if declared is not None and declared != sizes:
            raise TopokitError(
                f"sizes={sizes} disagrees with the file's '# sizes: "
                f"{' '.join(map(str, declared))}' header; leave sizes out to use the header"
            )
    elif declared is None:
        raise TopokitError(
            "the edge list has no '# sizes: n_0 n_1 ...' header, so its layers are unknown; "
            "pass sizes=[n_0, ..., n_L]"
        )
    sizes = declared if sizes is None else sizes

    def describe(i):
        return f"edge ({ends[i, 0]}, {ends[i, 1]})"

    return _assemble(ends, sizes, header, describe)
