"""``topokit draw``: one figure of a layer graph (pattern, degrees, singular values)."""

from __future__ import annotations

from topokit._errors import TopokitError
from topokit.cli._common import (
    FORMATTER,
    add_build_options,
    add_layout_option,
    add_source_argument,
    load_source,
)
from topokit.draw import check_figure_path, draw_layer
from topokit.topology import Topology

__all__ = ["add_parser", "run"]

_EPILOG = """\
examples:
  topokit draw layer.npz --output layer.png
  topokit draw net.npz --layer 1 --output layer1.svg
  topokit draw erdos_renyi --n-in 784 --n-out 300 --density 0.05 --seed 0 --output er.pdf
"""


def add_parser(subparsers) -> None:
    """Add the ``draw`` command."""
    parser = subparsers.add_parser(
        "draw",
        help="draw a layer graph's pattern, degree histograms and spectrum",
        description="Draw one layer graph: its edge pattern, histograms of fan-in and\n"
        "fan-out, and the singular values of its biadjacency with lambda1, lambda2 and\n"
        "the Ramanujan bound. The output suffix picks the format (.png, .svg, .pdf).",
        epilog=_EPILOG,
        formatter_class=FORMATTER,
    )
    add_source_argument(parser)
    add_build_options(parser, sizes_help="build a whole network and draw the layer --layer")
    add_layout_option(parser)
    parser.add_argument(
        "--layer", type=int, default=0, metavar="K", help="which layer of a network to draw"
    )
    parser.add_argument(
        "-o", "--output", required=True, metavar="PATH", help="image file (.png, .svg, .pdf)"
    )
    parser.set_defaults(run=run)


def _pick_layer(source, layer: int):
    if not isinstance(source, Topology):
        if layer != 0:
            raise TopokitError(f"--layer must be 0 for a single layer graph, got {layer}")
        return source
    if not 0 <= layer < len(source):
        raise TopokitError(
            f"--layer must be in [0, {len(source) - 1}] for a network of {len(source)} "
            f"layers (sizes {source.sizes}), got {layer}"
        )
    return source[layer]


def run(args) -> int:
    """Build or read the graph, draw it, save the figure."""
    check_figure_path(args.output)
    graph = _pick_layer(load_source(args), args.layer)
    draw_layer(graph, args.output)
    seed = "" if args.seed is None else f" (seed {args.seed})"  # built from a family
    print(f"wrote {args.output}{seed}")
    return 0
