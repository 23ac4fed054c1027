"""``topokit graph``: build a layer graph (or a whole network) and save it.

The format follows the suffix of ``--output``: ``.npz`` (topokit's own, which
``scipy.sparse.load_npz`` reads for a layer), ``.graphml``, or an edge list
(``.edgelist``, ``.edges``); see :mod:`topokit.interop.graphs`.
"""

from __future__ import annotations

import os

from topokit._errors import TopokitError
from topokit.cli._common import (
    FORMATTER,
    add_build_options,
    build_from_family,
    describe_sizes,
    print_json,
)
from topokit.interop.graphs import write_edgelist, write_graphml
from topokit.io import save_layer, save_topology
from topokit.topology import Topology

__all__ = ["add_parser", "run"]

_FORMATS = {".npz": "npz", ".graphml": "graphml", ".edgelist": "edgelist", ".edges": "edgelist"}

_EPILOG = """\
formats (chosen by the suffix of --output):
  .npz                 topokit's graph file; scipy.sparse.load_npz reads a layer's
                       biadjacency (n_in, n_out)
  .graphml             GraphML with node attributes layer, neuron (and bipartite for a
                       layer), edge attribute layer, and the sizes and provenance as graph
                       attributes: networkx.read_graphml(PATH, node_type=int) gives the
                       nodes of LayerGraph.to_networkx(); igraph.Graph.Read_GraphML(PATH)
  .edgelist, .edges    one edge 'u v' per line, neurons numbered across layers (inputs
                       0..n_in-1, then outputs), after '# sizes: ...' comment lines:
                       networkx.read_edgelist(PATH, nodetype=int); for
                       igraph.Graph.Read_Edgelist(PATH) write it with --no-header

networks (--sizes):
  The family builds every layer but the output layer (the last), which is dense, as in
  Bourely et al. and 'topokit train'; --sparse-output builds it from the family too. A
  network of one layer (--sizes N0,N1) is built from the family.

examples:
  topokit graph erdos_renyi --n-in 784 --n-out 300 --density 0.1 --seed 0 --output layer.npz
  topokit graph left_regular --n-in 784 --n-out 300 --degree 16 --output layer.npz
  topokit graph projective_plane --param q=5 --output plane.graphml
  topokit graph erdos_renyi --sizes 784,300,100,10 --density 0.1 --output net.npz
  topokit graph biregular --sizes 784,300,10 --degree 8 --seed 1 --output net.graphml
  topokit graph biregular --n-in 64 --n-out 32 --degree 4 --no-header --output layer.edges
  topokit graph ramanujan,small_world --sizes 64,32,16,10 --degree 4 -p small_world:p=0.1 -o net.npz

FAMILY may be one family per sparse layer with --sizes (ramanujan,small_world above); -p KEY=VALUE
is for every family given, -p FAMILY:KEY=VALUE for that family only. Without --seed a seed
is drawn; the summary (--json: "seed") and the file's provenance record it, so --seed
with that number rebuilds the same graph.
"""


def add_parser(subparsers) -> None:
    """Add the ``graph`` command."""
    parser = subparsers.add_parser(
        "graph",
        help="build a layer graph (or a network with --sizes) and save it",
        description="Build one layer graph of a family, or every layer of a network with\n"
        "--sizes, and save it as .npz, GraphML or an edge list (by the suffix of --output).",
        epilog=_EPILOG,
        formatter_class=FORMATTER,
    )
    parser.add_argument(
        "family",
        metavar="FAMILY",
        help="family name, or one per sparse layer with --sizes: ramanujan,small_world "
        "(see 'topokit families')",
    )
    add_build_options(parser, sizes_help="build a whole network with these layer sizes")
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="PATH",
        help="file to write: .npz, .graphml, .edgelist or .edges (format from the suffix)",
    )
    group = parser.add_argument_group("graph-exchange formats")
    group.add_argument(
        "--directed",
        action="store_true",
        help=".graphml only: a directed graph, edges from input to output (default undirected)",
    )
    group.add_argument(
        "--no-header",
        action="store_true",
        help=".edgelist/.edges only: leave out the '# key: value' header, for igraph's "
        "Read_Edgelist (reading the file back then needs the sizes)",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON summary")
    parser.set_defaults(run=run)


def _output_format(args) -> str:
    """The format the suffix of ``--output`` names; options of other formats are errors."""
    suffix = os.path.splitext(str(args.output))[1].lower()
    if suffix not in _FORMATS:
        raise TopokitError(
            f"--output must end in .npz, .graphml, .edgelist or .edges, got {args.output!r}"
        )
    fmt = _FORMATS[suffix]
    if args.directed and fmt != "graphml":
        raise TopokitError(f"--directed only applies to .graphml output, not {args.output!r}")
    if args.no_header and fmt != "edgelist":
        raise TopokitError(
            f"--no-header only applies to .edgelist/.edges output, not {args.output!r}"
        )
    return fmt


def _save(built, path, fmt: str, args) -> None:
    if fmt == "graphml":
        write_graphml(built, path, directed=args.directed)
    elif fmt == "edgelist":
        write_edgelist(built, path, header=not args.no_header)
    elif isinstance(built, Topology):
        save_topology(built, path)
    else:
        save_layer(built, path)


def run(args) -> int:
    """Build the graph, save it in the format of the output's suffix, print a summary."""
    fmt = _output_format(args)
    built = build_from_family(args.family, args)
    _save(built, args.output, fmt, args)
    if isinstance(built, Topology):
        sizes, params = built.sizes, {}
        for layer in reversed(built.layers):  # every family's parameters; the first layer's win
            params = {**params, **layer.params}
    else:
        sizes, params = [built.n_in, built.n_out], built.params
    summary = {
        "path": str(args.output),
        "family": args.family,
        "sizes": sizes,
        "n_edges": built.n_edges,
        "params": params,
        "seed": args.seed,
    }
    if args.json:
        print_json(summary)
    else:
        print(
            f"wrote {args.output}: {args.family} {describe_sizes(sizes)}, "
            f"{built.n_edges:,} edges, density {built.density:.4g}, seed {args.seed}"
        )
    return 0
