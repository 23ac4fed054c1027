"""``topokit prune``: the topology a pruning method finds on a data set, saved as .npz.

A thin shell over :func:`topokit.nn.prune`. The parser reads only
:data:`topokit.nn.PRUNING_METHODS` (light); the data set and, for ``magnitude`` and
``lottery``, :class:`~topokit.nn.SparseMLP` (numba) are loaded when the command runs.
"""

from __future__ import annotations

from topokit._errors import TopokitError
from topokit.cli._common import (
    FORMATTER,
    add_output_option,
    dense_output,
    describe_sizes,
    draw_seed,
    parse_sizes,
    print_json,
)
from topokit.io import save_topology
from topokit.nn import PRUNING_METHODS, prune

__all__ = ["add_parser", "run"]

_EPILOG = """\
methods and their parameters (-p KEY=VALUE; defaults in brackets):
{methods}

  magnitude  train the dense network (Adam, --epochs), keep the largest |w|
  lottery    iterative magnitude pruning: train, keep density**(1/rounds) of the
             weights left by |w|, rewind them to their weights at step rewind_step
             (0: the initial ones), train again; --save-model keeps the rewound weights
  snip       |g * w| at initialisation on one minibatch (Lee et al. 2019)
  grasp      removes the largest -w * (H g) at initialisation (Wang et al. 2020)
  synflow    data-free, iterative: |w| * dR/d|w|, R = 1^T |W1|...|WL| 1 (Tanaka et al. 2020)

scope=layer keeps round(D * n_in * n_out) weights in every pruned layer; scope=global
ranks them all together and keeps round(D * their total). The output layer (the last)
stays dense, as in 'topokit train' and 'topokit graph'; --sparse-output prunes it too.

examples:
  topokit prune snip --dataset digits --sizes 64,256,10 --density 0.1 --seed 0 -o snip.npz
  topokit prune synflow --sizes 784,300,100,10 --density 0.05 -p iterations=100 -o syn.npz
  topokit prune lottery --dataset digits --sizes 64,128,10 --density 0.2 -p rounds=3 \\
      -p epochs=5 -o ticket.npz --save-model ticket-model.npz
  topokit metrics snip.npz
  topokit train --dataset digits --topology snip.npz
"""


def _methods_table() -> str:
    lines = []
    for name, params in PRUNING_METHODS.items():
        shown = ", ".join(f"{key} [{value}]" for key, value in params.items())
        lines.append(f"  {name:<10} {shown}")
    return "\n".join(lines)


def add_parser(subparsers) -> None:
    """Add the ``prune`` command."""
    parser = subparsers.add_parser(
        "prune",
        help="prune a dense network to a sparse topology (magnitude, lottery, snip, ...)",
        description="Prune the dense network of --sizes to --density with a published method\n"
        "and save the topology it leaves (.npz), for 'topokit metrics', 'topokit draw' and\n"
        "'topokit train --topology'.",
        epilog=_EPILOG.format(methods=_methods_table()),
        formatter_class=FORMATTER,
    )
    parser.add_argument(
        "method",
        choices=list(PRUNING_METHODS),
        metavar="METHOD",
        help=f"one of {', '.join(PRUNING_METHODS)}",
    )
    parser.add_argument(
        "--dataset",
        metavar="NAME|PATH",
        help="digits, mnist1d, mnist, fashion_mnist, cifar10, or a .npz/.csv file "
        "(every method but synflow needs one)",
    )
    parser.add_argument("--data-dir", metavar="DIR", help="folder of downloaded data sets")
    parser.add_argument(
        "--sizes",
        required=True,
        metavar="N0,...,NL",
        help="every layer size, from the data set's features to its classes",
    )
    parser.add_argument(
        "--density", required=True, type=float, metavar="D", help="share of weights kept"
    )
    parser.add_argument(
        "--seed",
        type=int,
        metavar="S",
        help="random seed (default: one is drawn; the output and the file record it)",
    )
    parser.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a parameter of the method (see below); repeat for several",
    )
    add_output_option(parser)
    parser.add_argument(
        "-o", "--output", required=True, metavar="PATH.npz", help="topology file to write"
    )
    parser.add_argument(
        "--save-model",
        metavar="PATH.npz",
        help="also write a SparseMLP on the topology (lottery: with the rewound weights), "
        "for SparseMLP.load",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON summary")
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress notices, no notice of the kernels' compilation",
    )
    parser.set_defaults(run=run)


def _parse_method_params(method: str, pairs: list[str]) -> dict:
    """``-p KEY=VALUE`` values, each converted to the type of the parameter's default."""
    defaults = PRUNING_METHODS[method]
    params = {}
    for pair in pairs:
        key, sep, text = (part.strip() for part in pair.partition("="))
        if not sep or not key:
            raise TopokitError(f"--param must be KEY=VALUE, got {pair!r}")
        if key not in defaults:
            raise TopokitError(
                f"--param {key}: unknown parameter for pruning method {method!r}; its "
                f"parameters: {', '.join(defaults)}"
            )
        if key in params:
            raise TopokitError(f"--param {key} given twice")
        kind = type(defaults[key])
        try:
            params[key] = kind(text)
        except ValueError:
            raise TopokitError(
                f"--param {key} must be {'an integer' if kind is int else 'a number'}, got {text!r}"
            ) from None
    return params


def _check_paths(args) -> None:
    for option, path in (("--output", args.output), ("--save-model", args.save_model)):
        if path is not None and not str(path).endswith(".npz"):
            raise TopokitError(f"{option} must end in .npz, got {path!r}")


def run(args) -> int:
    """Load the data, prune, save the topology, print a summary."""
    _check_paths(args)
    params = _parse_method_params(args.method, args.param)
    sizes = parse_sizes(args.sizes)
    data = None
    if args.dataset is None and args.method != "synflow":
        raise TopokitError(
            f"--dataset is required by pruning method {args.method!r} (only synflow is "
            "data-free), got none"
        )
    if args.dataset is not None:
        from topokit.nn.datasets import load_dataset  # only when pruning (see the docstring)

        data = load_dataset(args.dataset, data_dir=args.data_dir)
    args.seed = draw_seed(args.seed)
    result = prune(
        args.method,
        sizes,
        dataset=data,
        density=args.density,
        rng=args.seed,
        dense_output=dense_output(args, sizes),
        **params,
    )
    topology = result.topology
    save_topology(topology, args.output)
    if args.save_model is not None:
        result.model(activation=result.params.get("activation", "relu"), rng=args.seed).save(
            args.save_model
        )
    summary = {
        "path": str(args.output),
        "method": args.method,
        "dataset": None if data is None else data.name,
        "sizes": topology.sizes,
        "n_edges": topology.n_edges,
        "n_edges_per_layer": [layer.n_edges for layer in topology],
        "density": topology.density,
        "params": result.params,
        "seed": args.seed,
        "saved_model": args.save_model,
    }
    if args.json:
        print_json(summary)
    else:
        per_layer = ", ".join(f"{n:,}" for n in summary["n_edges_per_layer"])
        print(
            f"wrote {args.output}: {args.method} {describe_sizes(topology.sizes)}, "
            f"{topology.n_edges:,} edges ({per_layer}), density {topology.density:.4g}, "
            f"seed {args.seed}"
        )
        if args.save_model is not None:
            print(f"wrote {args.save_model}: the model on it")
    return 0
