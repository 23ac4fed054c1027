"""What every command shares: the parser class, graph-source options, output helpers."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys

from topokit._errors import TopokitError
from topokit._plain import to_plain
from topokit.allocation import ALLOCATIONS
from topokit.generators import families, get_family, layer_graph
from topokit.interop.graphs import read_edgelist, read_graphml
from topokit.interop.weights import is_weights_npz, read_weights
from topokit.io import load
from topokit.topology import Topology

__all__ = [
    "FORMATTER",
    "PARAM_HELP",
    "CommandParser",
    "UsageError",
    "add_allocation_option",
    "add_build_options",
    "add_layout_option",
    "add_output_option",
    "add_source_argument",
    "build_from_family",
    "dense_output",
    "describe_sizes",
    "draw_seed",
    "family_names",
    "load_source",
    "parse_params",
    "parse_sizes",
    "print_json",
    "progress",
]


class UsageError(Exception):
    """A command line that argparse rejected; ``main`` turns it into one line, exit 1."""


class CommandParser(argparse.ArgumentParser):
    """ArgumentParser whose usage errors raise instead of printing usage and exiting 2."""

    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} -h')")


FORMATTER = argparse.RawDescriptionHelpFormatter  # keeps the epilog's examples as written

PARAM_HELP = (
    "a family parameter; repeat for several (see 'topokit families'). KEY=VALUE is for "
    "every family given, FAMILY:KEY=VALUE for that family only (-p small_world:p=0.2)"
)


# ------------------------------------------------------------------ arguments
def add_source_argument(parser: argparse.ArgumentParser) -> None:
    """The positional ``SOURCE``: a graph or weights file, or a family name."""
    parser.add_argument(
        "source",
        metavar="FILE|FAMILY",
        help="a graph file: .npz written by 'topokit graph', 'topokit train --save' or "
        "scipy.sparse.save_npz (any format and dtype: its nonzero pattern), .graphml, or "
        "an edge list (.edgelist, .edges); weights whose nonzero pattern is the graph: a "
        "PyTorch state dict (.pt, .pth) or an .npz of weight matrices (np.savez); or a "
        "family name to build a graph from, or one per layer with --sizes "
        "(ramanujan,small_world; see 'topokit families')",
    )


def add_layout_option(parser: argparse.ArgumentParser) -> None:
    """``--layout``: which way round the matrices of a weights file are stored."""
    parser.add_argument(
        "--layout",
        choices=("auto", "in_out", "out_in"),
        default=None,
        help="for a weights file: in_out = each matrix is (n_in, n_out), X @ W; "
        "out_in = (out_features, in_features), PyTorch's nn.Linear.weight; auto "
        "(default) = the one in which consecutive shapes chain. A state dict is out_in",
    )


def add_build_options(parser: argparse.ArgumentParser, *, sizes_help: str) -> None:
    """Options that say how to build a graph from a family (sizes, edge count, params)."""
    group = parser.add_argument_group("building from a family")
    group.add_argument("--n-in", type=int, metavar="N", help="number of input neurons")
    group.add_argument("--n-out", type=int, metavar="M", help="number of output neurons")
    group.add_argument("--sizes", metavar="N0,N1,...", help=sizes_help)
    count = group.add_mutually_exclusive_group()
    count.add_argument(
        "--density", type=float, metavar="D", help="edge count as round(D * n_in * n_out)"
    )
    count.add_argument(
        "--degree", type=int, metavar="K", help="edge count as K * n_out (fan-in of each output)"
    )
    add_allocation_option(group)
    group.add_argument(
        "--seed",
        type=int,
        metavar="S",
        help="random seed (default: one is drawn; the output records it)",
    )
    group.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="[FAMILY:]KEY=VALUE",
        help=PARAM_HELP,
    )

    add_output_option(group)


_BUILD_OPTIONS = ("n_in", "n_out", "sizes", "density", "degree", "allocation", "seed")


def add_allocation_option(group) -> None:
    """``--allocation``: how a network's density is spread over its sparse layers."""
    group.add_argument(
        "--allocation",
        choices=ALLOCATIONS,
        default=None,
        help="for a network (--sizes): uniform (default) = every sparse layer at --density; "
        "erk = density of each sparse layer proportional to (n_in + n_out) / (n_in * n_out), "
        "capped at 1, with the same total edge count (Evci et al. 2020)",
    )


class _Removed(argparse.Action):
    """A hidden flag that is gone: giving it raises ``message`` (which names the new one)."""

    def __init__(self, option_strings, dest, *, message, **kwargs):
        super().__init__(option_strings, argparse.SUPPRESS, nargs=0, help=argparse.SUPPRESS)
        self.message = message

    def __call__(self, parser, namespace, values, option_string=None):
        raise TopokitError(self.message)


def add_output_option(group) -> None:
    """``--sparse-output``: the one switch for the output layer, which is dense by default."""
    group.add_argument(
        "--sparse-output",
        action="store_true",
        help="build the output layer (the last) from the family too; by default it is "
        "dense, as in Bourely et al., and the family builds the layers before it",
    )
    group.add_argument(
        "--dense-output",
        action=_Removed,
        message="--dense-output is gone: the output layer is dense by default; "
        "give --sparse-output to build it from the family too",
    )


def dense_output(args, sizes) -> bool:
    """Whether the output layer of a network of ``sizes`` is dense.

    It is, unless ``--sparse-output``, or unless it is the network's only layer, which is
    then the family's (as in a study; building it dense would ignore the family).
    """
    return not getattr(args, "sparse_output", False) and len(sizes) > 2


# -------------------------------------------------------------------- parsing
def parse_sizes(text: str) -> list[int]:
    """``"784,300,10"`` -> ``[784, 300, 10]``; TopokitError naming --sizes if malformed."""
    parts = [part.strip() for part in text.split(",")]
    try:
        sizes = [int(part) for part in parts]
    except ValueError:
        raise TopokitError(
            f"--sizes must be comma-separated integers such as 784,300,10, got {text!r}"
        ) from None
    if len(sizes) < 2:
        raise TopokitError(f"--sizes must list at least two layer sizes, got {text!r}")
    return sizes


def parse_params(names, pairs: list[str]) -> dict:
    """Turn ``--param`` values into the family parameters of one build.

    ``names`` are the families the build uses (a name, or one per layer).
    ``KEY=VALUE`` is for every one of them, and each must take KEY (else the error names
    the family that does not and suggests the scoped form); ``FAMILY:KEY=VALUE`` is for
    FAMILY alone, which must be one of them. Each value is converted by its family's own
    ``Param.parse``.

    The result is the keyword arguments of ``Topology.build`` and ``layer_graph``, which
    give a parameter to every layer whose family takes it: a KEY that two of the families
    take must reach both with one value. A malformed pair, a key given twice for one
    family, or a key that two families take with different (or missing) values raises
    TopokitError.
    """
    names = list(dict.fromkeys([names] if isinstance(names, str) else names))
    records = {name: get_family(name) for name in names}
    given: dict[str, dict[str, tuple]] = {}  # key -> {family: (value, pair)}
    for pair in pairs:
        head, sep, text = pair.partition("=")
        scope, colon, key = (part.strip() for part in head.partition(":"))
        if not colon:
            scope, key = "", scope
        if not sep or not key or (colon and not scope):
            raise TopokitError(
                f"--param must be KEY=VALUE, got {pair!r} "
                f"(or FAMILY:KEY=VALUE for one family of several)"
            )
        if colon and scope not in records:
            raise TopokitError(
                f"--param {pair!r} is for the family {scope!r}, which is not among the "
                f"families given ({', '.join(names)})"
            )
        targets = [scope] if colon else _families_taking(key, text, records)
        for name in targets:
            earlier = given.setdefault(key, {}).get(name)
            if earlier is not None:
                raise TopokitError(
                    f"--param {key} given twice ({earlier[1]!r} and {pair!r})"
                    + (f" for the family {name!r}" if len(names) > 1 else "")
                )
            given[key][name] = (records[name].param(key).parse(text.strip()), pair)
    return {key: _one_value(key, values, records) for key, values in given.items()}


def _families_taking(key: str, text: str, records: dict) -> list[str]:
    """The families of an unscoped ``KEY=VALUE``: all of them, each of which must take KEY."""
    takers = [name for name, record in records.items() if key in _param_names(record)]
    refusing = [name for name in records if name not in takers]
    if refusing and takers:
        scoped = " ".join(f"-p {name}:{key}={text.strip()}" for name in takers)
        raise TopokitError(
            f"--param {key}={text.strip()}: the family {refusing[0]!r} takes no parameter "
            f"{key!r} (its parameters: {', '.join(_param_names(records[refusing[0]])) or 'none'}); "
            f"to give it to the families that take it, scope it: {scoped}"
        )
    if refusing:
        for name in refusing:
            records[name].param(key)  # raises: unknown parameter, with the valid ones
    return takers


def _one_value(key: str, values: dict, records: dict):
    """The one value of ``key`` for every family that takes it (``Topology.build``'s rule)."""
    takers = [name for name, record in records.items() if key in _param_names(record)]
    distinct = {repr(value) for value, _ in values.values()}
    if set(values) != set(takers) or len(distinct) > 1:
        shown = ", ".join(f"{name}: {values[name][1]!r}" for name in values)
        raise TopokitError(
            f"parameter {key!r} goes to every layer whose family takes it "
            f"({', '.join(takers)}), so they all take one value; got {shown}: give it once "
            f"for all, -p {key}=VALUE"
        )
    return next(iter(values.values()))[0]


def _param_names(record) -> list[str]:
    return [param.name for param in record.params]


def family_names(text: str) -> list[str] | None:
    """``"ramanujan,small_world"`` -> the names, if every part is a family; else None."""
    names = [part.strip() for part in str(text).split(",")]
    return names if all(name in families() for name in names) else None


def _looks_like_path(text: str) -> bool:
    return any(mark in text for mark in (".", "/", os.sep))


# ------------------------------------------------------------ file readers
# ``load_source`` reads a file by its suffix: each reader takes (path, layout) and returns
# a LayerGraph or a Topology. One more format is one more entry in ``_READERS``.
def _read_npz(path: str, layout):
    """A topokit graph file or any scipy.sparse.save_npz file (topokit.io), else weights.

    A graph file is read by its nonzero pattern, whatever the matrix's format and dtype;
    a saved SparseMLP holds a topology file's arrays and reads as its topology.
    """
    if is_weights_npz(path):
        return read_weights(path, layout=layout or "auto")
    _reject_layout(layout, path)
    return load(path)  # also says why a missing or malformed file cannot be read


def _read_weights(path: str, layout):
    """A file of weight matrices (a PyTorch state dict): the topology of its nonzeros."""
    return read_weights(path, layout=layout or "auto")


def _graph_reader(function):
    """A reader for a graph-exchange format: ``function(path)``, no ``--layout``."""

    def read(path: str, layout):
        _reject_layout(layout, path)
        return function(path)

    return read


_READERS = {
    ".npz": _read_npz,  # a topokit graph file, or weight matrices (np.savez)
    ".pt": _read_weights,  # a PyTorch state dict
    ".pth": _read_weights,
    ".graphml": _graph_reader(read_graphml),
    ".edgelist": _graph_reader(read_edgelist),
    ".edges": _graph_reader(read_edgelist),
}


def _reject_layout(layout, source: str) -> None:
    if layout is not None:
        raise TopokitError(
            f"--layout only applies to weight files (a PyTorch state dict or an .npz of "
            f"weight matrices), not to {source!r}"
        )


def load_source(args):
    """The LayerGraph or Topology that ``args.source`` names (a file or a family).

    A file is read by its suffix (see ``_READERS``): ``.npz`` is a topokit graph file
    or else an archive of weight matrices, ``.pt``/``.pth`` a PyTorch state dict,
    ``.graphml`` GraphML and ``.edgelist``/``.edges`` an edge list
    (:mod:`topokit.interop.graphs`). Weight files give the Topology of their nonzero
    pattern, oriented by ``args.layout`` (None: automatic). A family name builds a
    graph from the build options; anything else is an error that says which it is not.
    """
    source = args.source
    layout = getattr(args, "layout", None)
    reader = _READERS.get(os.path.splitext(source)[1].lower())
    if reader is not None:
        _reject_build_options(args, source)
        return reader(source, layout)
    if family_names(source) is not None:
        _reject_layout(layout, f"the family {source}")
        return build_from_family(source, args)
    suffixes = ", ".join(_READERS)
    if os.path.isdir(source):
        raise TopokitError(
            f"{source!r} is a directory; give a graph file ({suffixes}) or a family name"
        )
    if os.path.exists(source):
        raise TopokitError(f"{source!r} is not a graph file: graph files end in {suffixes}")
    what = "an existing file" if _looks_like_path(source) else "a family name"
    raise TopokitError(
        f"{source!r} is not {what}; give a graph file ({suffixes}) or one of the "
        f"families: {', '.join(families())}"
    )


def _reject_build_options(args, path: str) -> None:
    given = [name for name in _BUILD_OPTIONS if getattr(args, name, None) is not None]
    given += ["param"] if getattr(args, "param", None) else []
    given += ["sparse_output"] if getattr(args, "sparse_output", False) else []
    if given:
        options = ", ".join("--" + name.replace("_", "-") for name in given)
        raise TopokitError(
            f"{options} only apply when building from a family, not to the file {path!r}"
        )


def draw_seed(seed: int | None) -> int:
    """``--seed`` as given, or else a seed drawn from the system's entropy (32 bits).

    Every command that builds or trains uses the seed this returns and records it in its
    outputs, so that a result made without ``--seed`` can be rebuilt with ``--seed``.
    """
    return secrets.randbits(32) if seed is None else seed


def build_from_family(family: str, args):
    """Build a LayerGraph (``--n-in/--n-out``) or a Topology (``--sizes``) of ``family``.

    ``family`` is one name, or with ``--sizes`` one per sparse layer
    (``"ramanujan,small_world"``). A Topology's output layer is dense unless
    ``--sparse-output`` (:func:`dense_output`); ``--allocation`` spreads its density.
    Without ``--seed`` a seed is drawn (:func:`draw_seed`); ``args.seed`` is set to the
    seed used, which the graph's provenance records too.
    """
    names = family_names(family) or [family]  # an unknown name fails in parse_params
    params = parse_params(names, args.param)
    args.seed = draw_seed(args.seed)
    count = {"density": args.density, "degree": args.degree, "rng": args.seed}
    if args.sizes is not None:
        if args.n_in is not None or args.n_out is not None:
            raise TopokitError("give --sizes or --n-in/--n-out, not both")
        sizes = parse_sizes(args.sizes)
        per_layer = names if len(names) > 1 else names[0]
        dense = dense_output(args, sizes)
        allocation = args.allocation or "uniform"
        return Topology.build(
            sizes, per_layer, dense_output=dense, allocation=allocation, **count, **params
        )
    if getattr(args, "sparse_output", False):
        raise TopokitError("--sparse-output only applies to a network (--sizes)")
    if args.allocation is not None:
        raise TopokitError(
            f"--allocation {args.allocation} spreads a density over the layers of a network: "
            "give its layer sizes with --sizes"
        )
    if len(names) > 1:
        raise TopokitError(
            f"one family per layer ({family}) builds a network: give its layer sizes with --sizes"
        )
    record = get_family(family)
    if not record.fixes_sizes and (args.n_in is None or args.n_out is None):
        missing = [name for name in ("n_in", "n_out") if getattr(args, name) is None]
        options = " and ".join("--" + name.replace("_", "-") for name in missing)
        raise TopokitError(
            f"family {family!r} needs the layer sizes: give {options} (or --sizes for a network)"
        )
    graph = layer_graph(family, args.n_in, args.n_out, **count, **params)
    graph.seed = args.seed  # provenance, also for a family that draws nothing
    return graph


# -------------------------------------------------------------------- output
def describe_sizes(sizes) -> str:
    """``[784, 300, 10]`` -> ``"784 → 300 → 10"``."""
    return " → ".join(str(n) for n in sizes)


def print_json(value) -> None:
    """Print ``value`` as one strict JSON document (non-finite floats become null)."""
    print(json.dumps(to_plain(value), indent=2, allow_nan=False))


def progress(*, total: int, desc: str, quiet: bool = False):
    """A tqdm bar on stderr for ``total`` steps (call ``update()``), shown only on a terminal."""
    from tqdm import tqdm

    hidden = quiet or not sys.stderr.isatty()
    return tqdm(total=total, desc=desc, disable=hidden, leave=False, file=sys.stderr)
