"""``topokit metrics``: the DESIGN.md metrics of a layer graph or a whole network.

The network may also be one someone else made: a PyTorch state dict or an ``.npz`` of
weight matrices, measured by its nonzero pattern (:mod:`topokit.interop.weights`).
"""

from __future__ import annotations

import numbers

from topokit._errors import TopokitError
from topokit.cli._common import (
    FORMATTER,
    add_build_options,
    add_layout_option,
    add_source_argument,
    describe_sizes,
    load_source,
    print_json,
    progress,
)
from topokit.metrics import LAYER_METRICS, NETWORK_METRICS, layer_metrics, network_metrics
from topokit.topology import Topology

__all__ = ["add_parser", "run"]

_EPILOG = """\
examples:
  topokit metrics layer.npz
  topokit metrics layer.npz --keys lambda1,lambda2,spectral_gap --json
  topokit metrics erdos_renyi --n-in 784 --n-out 300 --density 0.1 --seed 0 --json
  topokit metrics erdos_renyi --sizes 784,300,100,10 --density 0.1 --json
  topokit metrics ramanujan,small_world --sizes 784,300,10 --degree 16 -p small_world:p=0.1
  topokit metrics net.graphml
  topokit metrics model.npz            # a model saved by 'topokit train --save'
  topokit metrics model.pt
  topokit metrics weights.npz --layout in_out --json

An .npz that scipy.sparse.save_npz wrote (any format: csr, csc, coo, dia, bsr; any
dtype) is measured by its nonzero pattern: an explicitly stored zero is not an edge.
A family built without --seed uses a drawn seed, shown as "seed" in the output.

A weights file is measured by its nonzero pattern: a PyTorch state dict (.pt, .pth,
from torch.save(model.state_dict(), path); each nn.Linear's weight_mask if pruned,
else its weight) or an .npz of 2-D weight matrices in the order written
(np.savez(path, W1, W2, ...); 1-D arrays such as biases are skipped). --layout says
which way round the .npz matrices are; auto works whenever only one way chains.
"""


def add_parser(subparsers) -> None:
    """Add the ``metrics`` command."""
    parser = subparsers.add_parser(
        "metrics",
        help="compute the metrics of a layer graph or a network",
        description="Compute the per-layer metrics of a layer graph, or the network\n"
        "metrics (net_*, min_*, mean_*) and per-layer metrics of a whole network\n"
        "(a file holding several layers, a family with --sizes, or the nonzero pattern\n"
        "of a PyTorch state dict or an .npz of weight matrices).",
        epilog=_EPILOG,
        formatter_class=FORMATTER,
    )
    add_source_argument(parser)
    add_build_options(parser, sizes_help="build a whole network with these layer sizes")
    add_layout_option(parser)
    parser.add_argument(
        "--keys",
        metavar="K1,K2,...",
        help="only these metrics (default: all); for a network, a per-layer key "
        "also gives its min_/mean_ aggregates",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=run)


def _parse_keys(text):
    """``--keys`` as a list of names, or None for all."""
    if text is None:
        return None
    keys = [key.strip() for key in text.split(",") if key.strip()]
    if not keys:
        raise TopokitError(f"--keys must list metric names such as lambda1,lambda2, got {text!r}")
    return keys


def _network_keys(keys):
    """Split ``--keys`` for a network: (per-layer keys, network keys).

    A per-layer key asks for its per-layer values and its min_/mean_ aggregates; a
    network key (net_*, min_*, mean_*) for itself. None means all of both.
    """
    if keys is None:
        return None, None
    unknown = [key for key in keys if key not in LAYER_METRICS and key not in NETWORK_METRICS]
    if unknown:
        raise TopokitError(
            f"unknown metric key(s) {unknown!r} in --keys; valid keys are the per-layer "
            f"keys {', '.join(LAYER_METRICS)} and the network keys {', '.join(NETWORK_METRICS)}"
        )
    layer_keys = [key for key in keys if key in LAYER_METRICS]
    network_keys = [key for key in keys if key in NETWORK_METRICS]
    network_keys += [f"{aggregate}_{key}" for key in layer_keys for aggregate in ("min", "mean")]
    return layer_keys, network_keys


def _format_value(value) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    if isinstance(value, numbers.Real):
        return f"{float(value):.6g}"
    return str(value)


def _table(rows: list[list[str]]) -> str:
    """Columns padded to their widest cell; the first column left-aligned, the rest right."""
    if not rows:
        return ""
    widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def format_layer(metrics: dict) -> str:
    """A two-column table: metric name, value (a seed as typed, without separators)."""
    return _table(
        [
            [key, str(value) if key == "seed" else _format_value(value)]
            for key, value in metrics.items()
        ]
    )


def format_network(result: dict) -> str:
    """The network metrics, then one column per layer for the per-layer metrics."""
    network = {key: value for key, value in result.items() if key not in ("sizes", "layers")}
    layers = result["layers"]
    parts = [f"network {describe_sizes(result['sizes'])}", format_layer(network)]
    if layers[0]:
        rows = [["metric"] + [f"layer {k}" for k in range(len(layers))]]
        rows += [[key] + [_format_value(layer.get(key)) for layer in layers] for key in layers[0]]
        parts += ["", "per layer", _table(rows)]
    return "\n".join(parts)


def _topology_metrics(topology, keys, quiet: bool) -> dict:
    layer_keys, network_keys = _network_keys(keys)
    with progress(total=len(topology) + 1, desc="metrics", quiet=quiet) as bar:
        layers = []
        for layer in topology:
            layers.append(layer_metrics(layer, keys=layer_keys) if layer_keys != [] else {})
            bar.update()
        network = network_metrics(topology, keys=network_keys)
        bar.update()
    return {"sizes": topology.sizes, **network, "layers": layers}


def run(args) -> int:
    """Read or build the graph, compute its metrics, print them."""
    keys = _parse_keys(args.keys)
    source = load_source(args)
    if isinstance(source, Topology):
        result = _topology_metrics(source, keys, args.quiet)
        text = format_network
    else:
        result = layer_metrics(source, keys=keys)
        text = format_layer
    if args.seed is not None:  # built from a family: the seed used (drawn without --seed)
        result = {"seed": args.seed, **result}
    if args.json:
        print_json(result)
    else:
        print(text(result))
    return 0
