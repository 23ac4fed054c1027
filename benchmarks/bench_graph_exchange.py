"""Speed of GraphML and edge-list export/import of a layer graph.

Measures, in one run, on one ``erdos_renyi`` layer (10^6 edges by default):

1. ``topokit.interop.graphs`` write/read of GraphML and of an edge list (target: a few
   seconds each for 10^6 edges);
2. the same through networkx (``to_networkx`` + ``nx.write_graphml`` /
   ``nx.read_graphml`` + ``from_networkx``; ``nx.write_edgelist`` / ``nx.read_edgelist``)
   and through igraph (``to_igraph`` + ``write_graphml`` / ``Read_GraphML``, C code), with
   the ratio of their time to ours.

networkx is run on a smaller layer (``--networkx-edges``, 2 * 10^5 by default) and compared
per edge, since it takes minutes at 10^6.

``--quick`` runs the same code paths on tiny sizes in a few seconds.

Usage: ``python benchmarks/bench_graph_exchange.py [--quick]``
"""

from __future__ import annotations

import argparse
import pathlib
import tempfile
import time

import igraph
import networkx as nx

from topokit import LayerGraph, layer_graph
from topokit.interop.graphs import read_edgelist, read_graphml, write_edgelist, write_graphml


def seconds(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def layer_with(n_edges: int) -> LayerGraph:
    """An ``erdos_renyi`` layer of density 0.1, shape 8:5, with about ``n_edges`` edges."""
    n_out = round((10 * n_edges / 1.6) ** 0.5)
    return layer_graph("erdos_renyi", round(1.6 * n_out), n_out, density=0.1, rng=0)


def ours(layer: LayerGraph, folder: pathlib.Path) -> dict:
    times = {}
    for name, write, read in (
        ("graphml", write_graphml, read_graphml),
        ("edgelist", write_edgelist, read_edgelist),
    ):
        path = folder / f"ours.{name}"
        times[f"{name} write"] = seconds(lambda write=write, path=path: write(layer, path))
        result = []
        times[f"{name} read"] = seconds(
            lambda read=read, path=path, result=result: result.append(read(path))
        )
        assert result[0] == layer
        size = path.stat().st_size / 1e6
        print(
            f"  ours {name:>8}: write {times[f'{name} write']:6.2f} s, read "
            f"{times[f'{name} read']:6.2f} s  ({size:,.0f} MB)"
        )
    return times


def with_networkx(layer: LayerGraph, folder: pathlib.Path) -> dict:
    times = {}
    path = folder / "nx.graphml"
    times["graphml write"] = seconds(lambda: nx.write_graphml(layer.to_networkx(), path))
    result = []
    times["graphml read"] = seconds(
        lambda: result.append(LayerGraph.from_networkx(nx.read_graphml(path, node_type=int)))
    )
    assert result[0] == layer
    path = folder / "nx.edgelist"
    times["edgelist write"] = seconds(
        lambda: nx.write_edgelist(layer.to_networkx(), path, data=False)
    )
    times["edgelist read"] = seconds(lambda: nx.read_edgelist(path, nodetype=int))
    return times


def with_igraph(layer: LayerGraph, folder: pathlib.Path) -> dict:
    times = {}
    path = str(folder / "ig.graphml")
    times["graphml write"] = seconds(lambda: layer.to_igraph().write_graphml(path))
    result = []
    times["graphml read"] = seconds(
        lambda: result.append(LayerGraph.from_igraph(igraph.Graph.Read_GraphML(path)))
    )
    assert result[0] == layer
    path = str(folder / "ig.edges")
    times["edgelist write"] = seconds(lambda: layer.to_igraph().write_edgelist(path))
    times["edgelist read"] = seconds(lambda: igraph.Graph.Read_Edgelist(path, directed=False))
    return times


def compare(label: str, theirs: dict, ours_times: dict, scale: float) -> None:
    """Print their time over ours per edge (``scale`` = our edges / their edges)."""
    print(f"  {label}:")
    for task, their_seconds in theirs.items():
        ratio = their_seconds * scale / ours_times[task]
        print(f"    {task:>15}: {their_seconds:6.2f} s  ratio {ratio:5.1f}× ours (per edge)")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a few seconds")
    parser.add_argument("--edges", type=int, default=10**6, help="edges of the layer")
    parser.add_argument("--networkx-edges", type=int, default=2 * 10**5)
    args = parser.parse_args(argv)
    n_edges = 2_000 if args.quick else args.edges
    n_networkx = 2_000 if args.quick else min(args.networkx_edges, n_edges)
    with tempfile.TemporaryDirectory() as name:
        folder = pathlib.Path(name)
        layer = layer_with(n_edges)
        print(f"== one layer: {layer.n_in:,} x {layer.n_out:,}, {layer.n_edges:,} edges ==")
        mine = ours(layer, folder)
        compare("igraph (same layer)", with_igraph(layer, folder), mine, 1.0)
        small = layer_with(n_networkx)
        scale = layer.n_edges / small.n_edges
        compare(f"networkx ({small.n_edges:,} edges)", with_networkx(small, folder), mine, scale)


if __name__ == "__main__":
    main()
