"""``topokit graph``: build a layer graph (or a whole network) and save it as ``.npz``."""

from __future__ import annotations

from topokit.cli._common import (
    FORMATTER,
    add_build_options,
    build_from_family,
    describe_sizes,
    print_json,
)

__all__ = ["add_parser", "run"]

_EPILOG = """\
examples:
  topokit graph erdos_renyi --n-in 784 --n-out 300 --density 0.1 --seed 0 --output layer.npz
  topokit graph left_regular --n-in 784 --n-out 300 --degree 16 --output layer.npz
  topokit graph projective_plane --param q=5 --output plane.npz
  topokit graph erdos_renyi --sizes 784,300,100,10 --density 0.1 --output net.npz
"""


def add_parser(subparsers) -> None:
    """Add the ``graph`` command."""
    parser = subparsers.add_parser(
        "graph",
        help="build a layer graph (or a network with --sizes) and save it",
        description="Build one layer graph of a family, or every layer of a network with\n"
        "--sizes, and save it as .npz (scipy.sparse.load_npz reads a layer file).",
        epilog=_EPILOG,
        formatter_class=FORMATTER,
    )
    parser.add_argument("family", metavar="FAMILY", help="family name (see 'topokit families')")
    add_build_options(parser, sizes_help="build a whole network with these layer sizes")
    parser.add_argument(
        "-o", "--output", required=True, metavar="PATH.npz", help="file to write (.npz)"
    )
    parser.add_argument("--json", action="store_true", help="print a JSON summary")
    parser.set_defaults(run=run)


def run(args) -> int:
    """Build the graph, save it, print a summary."""
    from topokit._errors import TopokitError
    from topokit.io import save_layer, save_topology
    from topokit.topology import Topology

    if not str(args.output).endswith(".npz"):
        raise TopokitError(f"--output must end in .npz, got {args.output!r}")
    built = build_from_family(args.family, args)
    if isinstance(built, Topology):
        save_topology(built, args.output)
        sizes, params = built.sizes, built.layers[0].params
    else:
        save_layer(built, args.output)
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
            f"{built.n_edges:,} edges, density {built.density:.4g}"
        )
    return 0
