"""``topokit metrics``: the DESIGN.md metrics of a layer graph or a whole network.

The network may also be one someone else made: a PyTorch state dict or an ``.npz`` of
weight matrices, measured by its nonzero pattern (:mod:`topokit.interop.weights`).
With ``--dataset`` the data-aware metrics of the first layer are added
(:func:`topokit.metrics.input_metrics`, from the variances of the data set's training
features). A file that carries weights (an ``.npz`` of weight matrices, a model saved by
``topokit train --save``) also gets the weighted metrics of each layer
(:func:`topokit.metrics.weighted_metrics`, the spectrum of ``|W|``); a model file is
read with :meth:`topokit.nn.SparseMLP.load`, imported only then.
"""

from __future__ import annotations

import numbers
import os

import numpy as np

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
from topokit.interop.weights import is_weights_npz, read_weight_matrices
from topokit.metrics import (
    INPUT_METRICS,
    LAYER_METRICS,
    NETWORK_METRICS,
    WEIGHTED_METRICS,
    input_metrics,
    layer_metrics,
    network_metrics,
    weighted_metrics,
)
from topokit.topology import Topology

__all__ = ["add_parser", "run"]

_EPILOG = """\
examples:
  topokit metrics layer.npz
  topokit metrics layer.npz --keys lambda1,lambda2,spectral_gap --json
  topokit metrics erdos_renyi --n-in 784 --n-out 300 --density 0.1 --seed 0 --json
  topokit metrics erdos_renyi --sizes 784,300,100,10 --density 0.1 --json
  topokit metrics ramanujan,small_world --sizes 784,300,100,10 --degree 16 -p small_world:p=0.1
  topokit metrics net.graphml
  topokit metrics model.npz            # a model saved by 'topokit train --save'
  topokit metrics model.npz --keys weighted_spectral_gap,net_effective_density
  topokit metrics model.pt
  topokit metrics weights.npz --layout in_out --json
  topokit metrics erdos_renyi --sizes 64,32,10 --density 0.1 --dataset digits

An .npz that scipy.sparse.save_npz wrote (any format: csr, csc, coo, dia, bsr; any
dtype) is measured by its nonzero pattern: an explicitly stored zero is not an edge.
A family built without --seed uses a drawn seed, shown as "seed" in the output.

A weights file is measured by its nonzero pattern: a PyTorch state dict (.pt, .pth,
from torch.save(model.state_dict(), path); each nn.Linear's weight_mask if pruned,
else its weight) or an .npz of 2-D weight matrices in the order written
(np.savez(path, W1, W2, ...); 1-D arrays such as biases are skipped). --layout says
which way round the .npz matrices are; auto works whenever only one way chains.

A file that carries weights -- an .npz of weight matrices, or a model saved by
'topokit train --save' -- also gets per layer weighted_lambda1, weighted_lambda2 and
weighted_spectral_gap: the two largest singular values of |W| and their difference.

--dataset adds the data-aware metrics of the first layer, weighted by the variance
of each input feature over the data set's training split: input_coverage (the share
of the total variance carried by inputs with an edge) and input_variance_fan_out
(the Spearman correlation of an input's fan-out with its variance). The data set is
found as by topokit train (--data-dir, else $TOPOKIT_DATA, else the cache).
"""


def add_parser(subparsers) -> None:
    """Add the ``metrics`` command."""
    parser = subparsers.add_parser(
        "metrics",
        help="compute the metrics of a layer graph or a network",
        description="Compute the per-layer metrics of a layer graph, or the network\n"
        "metrics (net_*, min_*, mean_*) and per-layer metrics of a whole network\n"
        "(a file holding several layers, a family with --sizes, or the nonzero pattern\n"
        "of a PyTorch state dict or an .npz of weight matrices); with --dataset also\n"
        "the data-aware metrics of the first layer.",
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
    data = parser.add_argument_group("data-aware metrics")
    data.add_argument(
        "--dataset",
        metavar="NAME|PATH",
        help="add input_coverage and input_variance_fan_out, from this data set's training "
        "features: digits, mnist1d, mnist, fashion_mnist, cifar10, or a .npz/.csv file",
    )
    data.add_argument("--data-dir", metavar="DIR", help="folder of downloaded data sets")
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


def _input_keys(keys, dataset) -> tuple[str, ...]:
    """The data-aware keys asked for: all with ``--dataset`` and no ``--keys``."""
    if keys is None:
        return INPUT_METRICS if dataset is not None else ()
    asked = tuple(key for key in INPUT_METRICS if key in keys)
    if asked and dataset is None:
        raise TopokitError(
            f"--keys {','.join(asked)} needs the data: give --dataset NAME (such as digits)"
        )
    return asked


def _without_input_keys(keys):
    return None if keys is None else [key for key in keys if key not in INPUT_METRICS]


def _is_model_file(path: str) -> bool:
    """Whether ``path`` is a model saved by ``SparseMLP.save`` (it marks its format)."""
    with np.load(path, allow_pickle=False) as arrays:
        return "topokit_mlp_version" in arrays.files


def _weight_matrices(args):
    """The weights (n_in, n_out) of each layer when ``args.source`` is a file carrying
    them: an .npz of weight matrices, or a saved model; else None."""
    path = args.source
    if os.path.splitext(path)[1].lower() != ".npz" or not os.path.isfile(path):
        return None
    if is_weights_npz(path):
        return read_weight_matrices(path, layout=args.layout or "auto")
    if _is_model_file(path):
        # topokit.nn (numba, scikit-learn) is imported only for a model file
        from topokit.nn.mlp import SparseMLP

        return [layer.weight for layer in SparseMLP.load(path).layers]
    return None


def _weighted_keys(keys, weights) -> tuple[str, ...]:
    """The weighted keys asked for: all for a file with weights and no ``--keys``."""
    if keys is None:
        return WEIGHTED_METRICS if weights is not None else ()
    asked = tuple(key for key in WEIGHTED_METRICS if key in keys)
    if asked and weights is None:
        raise TopokitError(
            f"--keys {','.join(asked)} needs weights: give an .npz of weight matrices or a "
            f"model saved by 'topokit train --save', not a graph or a family"
        )
    return asked


def _network_keys(keys):
    """Split ``--keys`` for a network: (per-layer keys, network keys).

    A per-layer key asks for its per-layer values and its min_/mean_ aggregates; a
    network key (net_*, min_*, mean_*) for itself; data-aware keys are left to
    :func:`_input_keys`. None means all of both.
    """
    if keys is None:
        return None, None
    valid = (*LAYER_METRICS, *NETWORK_METRICS, *INPUT_METRICS, *WEIGHTED_METRICS)
    unknown = [key for key in keys if key not in valid]
    if unknown:
        raise TopokitError(
            f"unknown metric key(s) {unknown!r} in --keys; valid keys are the per-layer "
            f"keys {', '.join(LAYER_METRICS)}, the network keys {', '.join(NETWORK_METRICS)}, "
            f"for a file with weights {', '.join(WEIGHTED_METRICS)} "
            f"and, with --dataset, {', '.join(INPUT_METRICS)}"
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


def _topology_metrics(topology, keys, quiet: bool, weights=None, weighted_keys=()) -> dict:
    layer_keys, network_keys = _network_keys(keys)
    with progress(total=len(topology) + 1, desc="metrics", quiet=quiet) as bar:
        layers = []
        for k, layer in enumerate(topology):
            values = layer_metrics(layer, keys=layer_keys) if layer_keys != [] else {}
            if weighted_keys:
                values.update(weighted_metrics(weights[k], keys=weighted_keys))
            layers.append(values)
            bar.update()
        network = network_metrics(topology, keys=network_keys)
        bar.update()
    return {"sizes": topology.sizes, **network, "layers": layers}


def _data_metrics(source, keys: tuple[str, ...], args) -> dict:
    """The data-aware metrics of the first layer of ``source``, from ``--dataset``."""
    # topokit.nn (numba, scikit-learn) is imported only when data are asked for
    from topokit.nn.datasets import load_dataset

    n_in = source.sizes[0] if isinstance(source, Topology) else source.n_in
    data = load_dataset(args.dataset, data_dir=args.data_dir)
    if data.n_features != n_in:
        raise TopokitError(
            f"--dataset {args.dataset} has {data.n_features} features, but the first layer "
            f"has n_in = {n_in} inputs: they must be equal"
        )
    return input_metrics(source, data.feature_variances, keys=keys)


def run(args) -> int:
    """Read or build the graph, compute its metrics, print them."""
    keys = _parse_keys(args.keys)
    if args.data_dir is not None and args.dataset is None:
        raise TopokitError("--data-dir only applies with --dataset NAME")
    source = load_source(args)
    input_keys = _input_keys(keys, args.dataset)
    weights = _weight_matrices(args) if isinstance(source, Topology) else None
    weighted_keys = _weighted_keys(keys, weights)
    # the data first: a data set that does not fit fails before the long computations
    data_aware = _data_metrics(source, input_keys, args) if input_keys else {}
    if isinstance(source, Topology):
        result = _topology_metrics(source, keys, args.quiet, weights, weighted_keys)
        layers = result.pop("layers")
        result = {**result, **data_aware, "layers": layers}
        text = format_network
    else:
        layer_keys = _without_input_keys(keys)
        result = layer_metrics(source, keys=layer_keys) if layer_keys != [] else {}
        result.update(data_aware)
        text = format_layer
    if args.seed is not None:  # built from a family: the seed used (drawn without --seed)
        result = {"seed": args.seed, **result}
    if args.json:
        print_json(result)
    else:
        print(text(result))
    return 0
