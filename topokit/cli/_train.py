"""``topokit train``: train a sparse MLP on a data set and report accuracy, speed and metrics.

The parser reads only the light modules of :mod:`topokit.nn` (the recipe, the registries'
names); :class:`~topokit.nn.SparseMLP` (numba) and the data sets are imported when the
command runs, so that ``topokit --help`` and the other commands do not import them.
"""

from __future__ import annotations

import argparse
import statistics

from topokit._errors import TopokitError
from topokit._validation import check_int, check_real, make_rng
from topokit.cli._common import (
    FORMATTER,
    PARAM_HELP,
    add_allocation_option,
    add_output_option,
    dense_output,
    describe_sizes,
    draw_seed,
    parse_params,
    parse_sizes,
    print_json,
    progress,
)
from topokit.io import load, save_topology
from topokit.metrics import layer_metrics, network_metrics
from topokit.nn import DEFAULT_DENSITY, DEFAULT_RECIPE
from topokit.nn.activations import ACTIVATIONS
from topokit.nn.dynamic import DYNAMIC_RULES
from topokit.nn.optimizers import OPTIMIZERS
from topokit.nn.schedules import SCHEDULES
from topokit.nn.training import TrainingHook
from topokit.topology import Topology

__all__ = ["add_parser", "run"]

_DEFAULT_HIDDEN = "100"
_DEFAULT_FAMILY = "erdos_renyi"
#: SparseMLP's defaults of the options of --dynamic (tests/test_cli_train_dynamic.py
#: checks them against its signature)
_DYNAMIC_DEFAULTS = {"drop_fraction": 0.3, "update_interval": None, "update_until": 0.75}
_EPILOG = """\
sizes:
  --sizes lists every layer, N0,...,NL: N0 must be the data set's number of features and
  NL its number of classes (digits: 64 and 10). --hidden lists the hidden layers only and
  takes both ends from the data set. Without either: --hidden 100.

edge count:
  --family, --density and --degree take one value, or one per sparse layer (comma-
  separated). A family that needs an edge count and gets neither uses density 0.1.
  The last layer (into the classes) is dense, as in Bourely et al., SparseMLPClassifier
  and 'topokit graph/metrics --sizes'; the options describe the layers before it.
  --sparse-output builds the last layer from the family too (then give one value per
  layer). A network of one layer (--sizes N0,N1) is built from the family.
  --allocation erk spreads one --density over the sparse layers by ERK (denser small
  layers, the same total edge count) instead of giving each layer that density.

dynamic sparse training:
  --dynamic set or rigl rewires every sparse layer during training, each keeping its
  edge count: every --update-interval steps (default once per epoch, never after the
  last) it drops the --drop-fraction (default 0.3) of its edges of smallest |w| and
  regrows as many at random empty positions (set, new weights drawn as at the start) or
  at those of largest |gradient| (rigl, new weights zero, the fraction annealed by
  cosine to 0 at --update-until, default 0.75 of training). --save-topology writes the
  final layer graphs (read by topokit.load, 'topokit metrics', 'topokit draw',
  'topokit train --topology').

output:
  A summary (accuracy, loss, seconds per epoch, edges), or with --json one object:
  test_accuracy, train_accuracy, final_loss, seconds_per_epoch (the median epoch, so
  the first epoch's kernel compilation does not count), seconds_total, epochs,
  epochs_to_target, history (per-epoch lists), topology (the final one), dynamic (the
  rule, its parameters, ever_active_fraction per layer, n_updates, edges_changed per
  update and changes per layer and update), metrics (network metrics and per-layer
  "layers" of the final topology; --no-metrics skips them) and config.

examples:
  topokit train --dataset digits --sizes 64,256,10 --family ramanujan --density 0.1 --seed 0
  topokit train --hidden 300,100 --dataset mnist --density 0.05 --epochs 20
  topokit train --hidden 256 --optimizer sgd --learning-rate 0.05 --schedule cosine --json
  topokit train --hidden 256 --early-stopping --target-accuracy 0.95 --save model.npz
  topokit train --hidden 300,100 --family ramanujan,small_world -p small_world:p=0.1
  topokit train --dataset digits --topology snip.npz   # a file of topokit graph/prune
  topokit train --hidden 256 --density 0.05 --dynamic set --save-topology set.npz

Without --seed a seed is drawn and recorded (the summary, config.seed in --json, the
saved model's layers); --save's model file also reads as its topology (topokit.load,
'topokit metrics', 'topokit draw').
"""


def add_parser(subparsers) -> None:
    """Add the ``train`` command."""
    parser = subparsers.add_parser(
        "train",
        help="train a sparse MLP on a data set",
        description="Build a network of a family's layer graphs, train it directly on its\n"
        "sparse weights, and report test/train accuracy, loss, speed and the topology.",
        epilog=_EPILOG,
        formatter_class=FORMATTER,
    )
    data = parser.add_argument_group("data")
    data.add_argument(
        "--dataset",
        default="digits",
        metavar="NAME|PATH",
        help="digits (default), mnist1d, mnist, fashion_mnist, cifar10, or a .npz/.csv file",
    )
    data.add_argument("--data-dir", metavar="DIR", help="folder of downloaded data sets")

    network = parser.add_argument_group("network")
    sizes = network.add_mutually_exclusive_group()
    sizes.add_argument("--sizes", metavar="N0,...,NL", help="every layer size (see below)")
    sizes.add_argument("--hidden", metavar="H1,...", help="hidden layer sizes only")
    network.add_argument(
        "--topology",
        metavar="PATH.npz",
        help="train on the layer graphs of this file ('topokit graph', 'topokit prune', "
        "--save) instead of building them; its sizes must fit the data set",
    )
    network.add_argument(
        "--family",
        default=_DEFAULT_FAMILY,
        metavar="NAME[,NAME...]",
        help="layer-graph family, or one per sparse layer (default erdos_renyi)",
    )
    count = network.add_mutually_exclusive_group()
    count.add_argument("--density", metavar="D[,D...]", help="edge count round(D*n_in*n_out)")
    count.add_argument("--degree", metavar="K[,K...]", help="edge count K*n_out (fan-in)")
    add_allocation_option(network)
    network.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="[FAMILY:]KEY=VALUE",
        help=PARAM_HELP,
    )
    add_output_option(network)
    recipe = DEFAULT_RECIPE
    network.add_argument(
        "--activation",
        default=recipe.activation,
        choices=list(ACTIVATIONS),
        help=f"default {recipe.activation}",
    )

    training = parser.add_argument_group("training")
    training.add_argument(
        "--epochs", type=int, default=recipe.epochs, metavar="N", help=f"default {recipe.epochs}"
    )
    training.add_argument(
        "--batch-size",
        type=int,
        default=recipe.batch_size,
        metavar="B",
        help=f"default {recipe.batch_size}",
    )
    training.add_argument(
        "--seed",
        type=int,
        metavar="S",
        help="random seed (default: one is drawn; the output and --save record it)",
    )
    training.add_argument(
        "--optimizer",
        default=recipe.optimizer,
        choices=list(OPTIMIZERS),
        help=f"default {recipe.optimizer}",
    )
    training.add_argument(
        "--learning-rate",
        type=float,
        default=recipe.learning_rate,
        metavar="RATE",
        help=f"default {recipe.learning_rate:g}",
    )
    training.add_argument(
        "--weight-decay",
        type=float,
        default=recipe.weight_decay,
        metavar="A",
        help=f"L2 penalty (default {recipe.weight_decay:g})",
    )
    training.add_argument("--lr", action=_Renamed, new="--learning-rate")
    training.add_argument("--alpha", action=_Renamed, new="--weight-decay")
    training.add_argument(
        "--schedule",
        default=recipe.schedule,
        choices=list(SCHEDULES),
        help=f"default {recipe.schedule}",
    )
    training.add_argument(
        "--schedule-param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="step_size, gamma (step) or min_learning_rate (cosine)",
    )
    training.add_argument(
        "--validation-fraction",
        type=float,
        metavar="F",
        help="training share held out to measure validation accuracy "
        f"(default {recipe.validation_fraction:g} with --early-stopping, else 0)",
    )
    training.add_argument(
        "--early-stopping",
        action="store_true",
        default=recipe.early_stopping,
        help="stop when the validation accuracy stalls for --patience epochs",
    )
    training.add_argument(
        "--patience",
        type=int,
        default=recipe.patience,
        metavar="N",
        help=f"default {recipe.patience}",
    )
    dynamic = parser.add_argument_group("dynamic sparse training")
    dynamic.add_argument(
        "--dynamic",
        default="static",
        choices=list(DYNAMIC_RULES),
        help="rewire the sparse layers during training (default static: fixed)",
    )
    dynamic.add_argument(
        "--drop-fraction",
        type=float,
        default=_DYNAMIC_DEFAULTS["drop_fraction"],
        metavar="F",
        help="share of each sparse layer's edges an update replaces, in (0, 1) (default 0.3)",
    )
    dynamic.add_argument(
        "--update-interval",
        type=int,
        default=_DYNAMIC_DEFAULTS["update_interval"],
        metavar="STEPS",
        help="optimizer steps between updates (default: once per epoch)",
    )
    dynamic.add_argument(
        "--update-until",
        type=float,
        default=_DYNAMIC_DEFAULTS["update_until"],
        metavar="F",
        help="rigl: fraction of training after which it stops updating, in (0, 1] (default 0.75)",
    )
    training.add_argument(
        "--target-accuracy",
        type=float,
        metavar="ACC",
        help="report the first epoch reaching this (validation, else training) accuracy",
    )

    output = parser.add_argument_group("output")
    output.add_argument("--json", action="store_true", help="print one JSON object")
    output.add_argument(
        "--no-metrics", action="store_true", help="skip the topology metrics (null in --json)"
    )
    output.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress bar, no notice of the kernels' compilation",
    )
    output.add_argument("--save", metavar="PATH.npz", help="write the trained model (.npz)")
    output.add_argument(
        "--save-topology",
        metavar="PATH.npz",
        help="write the final topology (after --dynamic's rewiring) as a topology file",
    )
    parser.set_defaults(run=run)


class _Renamed(argparse.Action):
    """A hidden option under its old name: giving it raises an error naming the new one."""

    def __init__(self, option_strings, dest, *, new, **kwargs):
        super().__init__(option_strings, dest, help=argparse.SUPPRESS, **kwargs)
        self.new = new

    def __call__(self, parser, namespace, values, option_string=None):
        raise TopokitError(f"{option_string} is called {self.new} now: give {self.new} {values}")


def run(args) -> int:
    """Load the data, build the network, train it, print the outcome."""
    for option, path in (("--save", args.save), ("--save-topology", args.save_topology)):
        if path is not None and not str(path).endswith(".npz"):
            raise TopokitError(f"{option} must end in .npz, got {path!r}")
    _check_dynamic_options(args)
    from topokit.nn.datasets import load_dataset  # only when training (see the docstring)

    check_int("epochs", args.epochs, minimum=1)
    data = load_dataset(args.dataset, data_dir=args.data_dir)
    topology = None if args.topology is None else _read_topology(args, data)
    sizes = _network_sizes(args, data) if topology is None else topology.sizes
    args.seed = draw_seed(args.seed)
    model = _build_model(args, sizes, args.seed, topology)
    bar = progress(total=args.epochs, desc="training", quiet=args.quiet)
    try:
        model.fit(
            data.X_train,
            data.y_train,
            epochs=args.epochs,
            batch_size=args.batch_size,
            validation_fraction=_validation_fraction(args),
            early_stopping=args.early_stopping,
            patience=args.patience,
            target_accuracy=args.target_accuracy,
            hooks=[_EpochProgress(bar)],
        )
    finally:
        bar.close()
    stopped_early = model.history.n_epochs < args.epochs
    if args.save is not None:
        model.save(args.save)
    if args.save_topology is not None:
        save_topology(model.topology, args.save_topology)
    result = _result(args, data, model, stopped_early)
    if args.json:
        result["metrics"] = None if args.no_metrics else _metrics(model.topology)
        print_json(result)
    else:
        print(_summary(result))
    return 0


# ------------------------------------------------------------------ helpers
def _network_sizes(args, data) -> list[int]:
    """The layer sizes from --sizes (checked against the data) or --hidden."""
    if args.sizes is not None:
        if "," not in args.sizes:
            raise TopokitError(
                f"--sizes lists every layer, from the {data.n_features} features to the "
                f"{data.n_classes} classes, got {args.sizes!r}; for hidden sizes only use "
                f"--hidden {args.sizes}"
            )
        sizes = parse_sizes(args.sizes)
        if sizes[0] != data.n_features:
            raise TopokitError(
                f"--sizes starts with {sizes[0]} inputs but dataset {data.name!r} has "
                f"{data.n_features} features; the first size must be {data.n_features} "
                "(or give the hidden sizes only with --hidden)"
            )
        if sizes[-1] != data.n_classes:
            raise TopokitError(
                f"--sizes ends with {sizes[-1]} outputs but dataset {data.name!r} has "
                f"{data.n_classes} classes; the last size must be {data.n_classes} "
                "(or give the hidden sizes only with --hidden)"
            )
        return sizes
    text = _DEFAULT_HIDDEN if args.hidden is None else args.hidden
    try:
        hidden = [int(part) for part in text.split(",")]
    except ValueError:
        raise TopokitError(
            f"--hidden must be comma-separated integers such as 300,100, got {text!r}"
        ) from None
    if min(hidden) < 1:
        raise TopokitError(f"--hidden sizes must be >= 1, got {text!r}")
    return [data.n_features, *hidden, data.n_classes]


def _split_list(text, convert, option):
    """``"0.1"`` -> 0.1 and ``"0.1,0.2"`` -> [0.1, 0.2]; None stays None."""
    if text is None:
        return None
    try:
        values = [convert(part.strip()) for part in text.split(",")]
    except ValueError:
        kind = "numbers" if convert is float else "integers"
        raise TopokitError(
            f"{option} must be one or more comma-separated {kind}, got {text!r}"
        ) from None
    return values[0] if len(values) == 1 else values


def _parse_numbers(option, pairs) -> dict:
    """``["step_size=5", "gamma=0.5"]`` -> ``{"step_size": 5, "gamma": 0.5}``."""
    params = {}
    for pair in pairs:
        key, sep, value = (part.strip() for part in pair.partition("="))
        if not sep or not key:
            raise TopokitError(f"{option} must be KEY=VALUE, got {pair!r}")
        try:
            params[key] = int(value) if value.lstrip("-").isdigit() else float(value)
        except ValueError:
            raise TopokitError(f"{option} {key} must be a number, got {value!r}") from None
    return params


def _read_topology(args, data) -> Topology:
    """The Topology of the file ``--topology``, checked against the data and the options."""
    given = [
        option
        for option, value in (
            ("--sizes", args.sizes),
            ("--hidden", args.hidden),
            ("--density", args.density),
            ("--degree", args.degree),
        )
        if value is not None
    ]
    given += ["--param"] if args.param else []
    given += ["--sparse-output"] if args.sparse_output else []
    given += ["--family"] if args.family != _DEFAULT_FAMILY else []
    if given:
        raise TopokitError(
            f"{', '.join(given)} would build the layer graphs, which --topology {args.topology} "
            "gives already: give one or the other"
        )
    read = load(args.topology)
    topology = read if isinstance(read, Topology) else Topology([read])
    sizes = topology.sizes
    if sizes[0] != data.n_features or sizes[-1] != data.n_classes:
        raise TopokitError(
            f"--topology {args.topology} has sizes {sizes}, but dataset {data.name!r} has "
            f"{data.n_features} features and {data.n_classes} classes: the first and last "
            "sizes must be those"
        )
    return topology


def _build_model(args, sizes, seed, topology=None):
    from topokit.nn.mlp import SparseMLP  # numba: only when training (see the docstring)

    rng = make_rng(seed)
    if topology is None:
        topology = _build_topology(args, sizes, seed, rng)
    return SparseMLP(
        topology,
        args.activation,
        optimizer=args.optimizer,
        learning_rate=args.learning_rate,
        weight_decay=args.weight_decay,
        schedule=args.schedule,
        schedule_params=_parse_numbers("--schedule-param", args.schedule_param),
        dynamic=args.dynamic,
        **_dynamic_params(args),
        rng=rng,
    )


_DYNAMIC_OPTIONS = {
    "drop_fraction": "--drop-fraction",
    "update_interval": "--update-interval",
    "update_until": "--update-until",
}


def _dynamic_params(args) -> dict:
    """The options of --dynamic as SparseMLP's keywords."""
    return {name: getattr(args, name) for name in _DYNAMIC_OPTIONS}


def _check_dynamic_options(args) -> None:
    """The options of --dynamic need a rule that rewires; their values are SparseMLP's."""
    given = [
        option
        for name, option in _DYNAMIC_OPTIONS.items()
        if getattr(args, name) != _DYNAMIC_DEFAULTS[name]
    ]
    if args.dynamic == "static" and given:
        raise TopokitError(
            f"{', '.join(given)} applies to dynamic sparse training: give --dynamic set or "
            "--dynamic rigl with it (the default --dynamic static keeps the topology fixed)"
        )
    # the constraints of topokit.nn.dynamic, checked before the data set is loaded
    check_real(
        "--drop-fraction", args.drop_fraction, low=0.0, high=1.0, low_open=True, high_open=True
    )
    if args.update_interval is not None:
        check_int("--update-interval", args.update_interval, minimum=1)
    check_real("--update-until", args.update_until, low=0.0, high=1.0, low_open=True)


def _build_topology(args, sizes, seed, rng) -> Topology:
    family = _split_list(args.family, str, "--family")
    families = family if isinstance(family, list) else [family]
    topology = Topology.build(
        sizes,
        family,
        density=_split_list(args.density, float, "--density"),
        degree=_split_list(args.degree, int, "--degree"),
        dense_output=dense_output(args, sizes),
        default_density=DEFAULT_DENSITY,
        allocation=args.allocation or "uniform",
        rng=rng,
        **parse_params(families, args.param),
    )
    for layer in topology:
        layer.seed = seed  # as Topology.build records an int seed: the model file keeps it
    return topology


class _EpochProgress(TrainingHook):
    """Puts each epoch's loss and accuracies on the progress bar."""

    def __init__(self, bar):
        self.bar = bar

    def on_epoch_end(self, state):
        history = state.history
        postfix = {"loss": f"{history.loss[-1]:.4f}", "acc": history.train_accuracy[-1]}
        if history.val_accuracy[-1] is not None:
            postfix["val_acc"] = history.val_accuracy[-1]
        self.bar.set_postfix(postfix, refresh=False)
        self.bar.update()


def _validation_fraction(args) -> float:
    """--validation-fraction, else the recipe's share with --early-stopping, else none."""
    if args.validation_fraction is not None:
        return args.validation_fraction
    return DEFAULT_RECIPE.validation_fraction if args.early_stopping else 0.0


def _result(args, data, model, stopped_early) -> dict:
    history = model.history
    topology = model.topology
    return {
        "dataset": data.name,
        "n_train": data.n_train,
        "n_test": data.n_test,
        "test_accuracy": model.score(data.X_test, data.y_test),
        "train_accuracy": model.score(data.X_train, data.y_train),
        "final_loss": history.loss[-1] if history.loss else None,
        "seconds_per_epoch": statistics.median(history.seconds) if history.seconds else None,
        "seconds_total": sum(history.seconds),
        "epochs": history.n_epochs,
        "stopped_early": stopped_early,
        "target_accuracy": args.target_accuracy,
        "epochs_to_target": model.epochs_to_target,
        "history": history.as_dict(),
        "topology": {
            "sizes": topology.sizes,
            "families": [layer.family for layer in topology],
            "n_edges": topology.n_edges,
            "n_edges_per_layer": [layer.n_edges for layer in topology],
            "density": topology.density,
            "allocation": args.allocation or "uniform",
        },
        "dynamic": _dynamic_outcome(model),
        "config": {
            "activation": args.activation,
            "optimizer": args.optimizer,
            "learning_rate": args.learning_rate,
            "weight_decay": args.weight_decay,
            "schedule": args.schedule,
            "batch_size": args.batch_size,
            "epochs": args.epochs,
            "validation_fraction": _validation_fraction(args),
            "early_stopping": args.early_stopping,
            "seed": args.seed,
        },
        "saved": args.save,
        "saved_topology": args.save_topology,
    }


def _dynamic_outcome(model) -> dict:
    """The rule, its parameters and what it did: ever-active fraction and edges changed."""
    hook = model.dynamic_sparsity
    changes = [] if hook is None else hook.changes
    updates = {}  # step -> edges changed in all layers, in the order of the updates
    for change in changes:
        updates[change["step"]] = updates.get(change["step"], 0) + change["n_changed"]
    if hook is None:  # static: the positions ever active are the edges there are
        ever = [layer.n_edges / (layer.n_in * layer.n_out) for layer in model.topology]
    else:
        ever = hook.ever_active_fraction()
    return {
        "rule": model.dynamic,
        "drop_fraction": model.drop_fraction,
        "update_interval": model.update_interval,
        "update_until": model.update_until,
        "ever_active_fraction": ever,
        "n_updates": len(updates),
        "edges_changed": list(updates.values()),
        "changes": changes,
    }


def _metrics(topology) -> dict:
    return {**network_metrics(topology), "layers": [layer_metrics(layer) for layer in topology]}


def _summary(result) -> str:
    topology = result["topology"]
    families = ", ".join(dict.fromkeys(topology["families"]))
    lines = [
        f"{result['dataset']}: {describe_sizes(topology['sizes'])} ({families}), "
        f"{topology['n_edges']:,} edges, density {topology['density']:.4g}, "
        f"seed {result['config']['seed']}",
        f"trained {result['epochs']} epoch{'s' if result['epochs'] != 1 else ''}"
        + (" (stopped early)" if result["stopped_early"] else "")
        + f", {result['seconds_per_epoch']:.4g} s/epoch, final loss {result['final_loss']:.4g}",
        f"train accuracy {result['train_accuracy']:.4f}, "
        f"test accuracy {result['test_accuracy']:.4f}",
    ]
    dynamic = result["dynamic"]
    if dynamic["rule"] != "static":
        ever = ", ".join(f"{value:.3g}" for value in dynamic["ever_active_fraction"])
        lines.append(
            f"dynamic {dynamic['rule']}: {dynamic['n_updates']} "
            f"update{'s' if dynamic['n_updates'] != 1 else ''}, "
            f"{sum(dynamic['edges_changed']):,} edges changed, fraction of positions ever "
            f"active per layer {ever}"
        )
    if result["target_accuracy"] is not None:
        reached = result["epochs_to_target"]
        lines.append(
            f"epochs to {result['target_accuracy']:g}: "
            + ("not reached" if reached is None else str(reached))
        )
    if result["saved"] is not None:
        lines.append(f"saved {result['saved']}")
    if result["saved_topology"] is not None:
        lines.append(f"saved the topology to {result['saved_topology']}")
    return "\n".join(lines)
