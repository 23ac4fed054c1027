"""Validation of a study definition: every problem found, reported at once."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from pathlib import Path

from topokit._errors import TopokitError
from topokit.allocation import ALLOCATIONS
from topokit.analysis import _registries
from topokit.generators import get_family
from topokit.nn.defaults import DEFAULT_RECIPE
from topokit.topology import Topology

__all__ = [
    "DYNAMIC_DEFAULTS",
    "RENAMED_TRAINING_KEYS",
    "SNAPSHOT_EPOCHS",
    "TRAINING_DEFAULTS",
    "FamilySpec",
    "check_dynamic",
    "check_feasibility",
    "check_study",
]

#: The ``[training]`` keys of dynamic sparse training
#: (:class:`topokit.nn.dynamic.DynamicSparsity`) and their defaults: no rewiring. A run
#: configuration holds them only where they differ from these, so that the keys of runs
#: stored before they existed stay valid.
DYNAMIC_DEFAULTS = {
    "dynamic": "static",
    "drop_fraction": 0.3,
    "update_interval": None,
    "update_until": 0.75,
}

#: The training recipe's keys and their defaults (``[training]`` in a study file):
#: :data:`topokit.nn.DEFAULT_RECIPE`'s, in its field order, the study's own
#: ``target_accuracy`` (the accuracy whose first epoch is recorded; none by default), then
#: the keys of dynamic sparse training (:data:`DYNAMIC_DEFAULTS`).
TRAINING_DEFAULTS = {**DEFAULT_RECIPE.as_dict(), "target_accuracy": None, **DYNAMIC_DEFAULTS}

#: The default ``snapshot_epochs``: the start (0) and the last epoch trained (-1).
SNAPSHOT_EPOCHS = (0, -1)

#: Training keys by an old name, and the name they have now.
RENAMED_TRAINING_KEYS = {"learning_rate_schedule": "schedule"}

_TOP_LEVEL_KEYS = (
    "name",
    "description",
    "dataset",
    "sizes",
    "dense_layers",
    "densities",
    "degrees",
    "allocation",
    "seeds",
    "n_seeds",
    "metrics",
    "snapshot_epochs",
    "training",
    "families",
)
_FAMILY_KEYS = ("name", "densities", "degrees", "dynamic")


@dataclass(frozen=True)
class FamilySpec:
    """One ``[[families]]`` entry: the family, the values each of its parameters sweeps,
    the edge-count axis it brings, if any (else the study's), and the dynamic rules it
    trains with, if it gives its own (else the study's ``training.dynamic``)."""

    name: str
    params: dict  # name -> tuple of values to sweep
    densities: tuple | None = None
    degrees: tuple | None = None
    dynamic: tuple | None = None

    def to_dict(self) -> dict:
        out = {"name": self.name, "params": {k: list(v) for k, v in self.params.items()}}
        if self.densities is not None:
            out["densities"] = list(self.densities)
        if self.degrees is not None:
            out["degrees"] = list(self.degrees)
        if self.dynamic is not None:
            out["dynamic"] = list(self.dynamic)
        return out


class _Problems(list):
    def add(self, message: str) -> None:
        self.append(message)


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value) -> bool:
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _as_list(value):
    return list(value) if isinstance(value, list | tuple) else [value]


def _check_sizes(value, problems: _Problems):
    if value is None:
        problems.add("sizes is required, e.g. sizes = [64, 128, 10]")
        return ()
    if not isinstance(value, list) or not value:
        problems.add(f"sizes must be a list of layer sizes or a list of such lists, got {value!r}")
        return ()
    lists = value if all(isinstance(v, list) for v in value) else [value]
    out = []
    for sizes in lists:
        if len(sizes) < 2 or not all(_is_int(n) and n >= 1 for n in sizes):
            problems.add(
                f"sizes must list at least two positive integers (input ... output), got {sizes!r}"
            )
        else:
            out.append(tuple(int(n) for n in sizes))
    return tuple(out)


def _check_axis(name, value, problems: _Problems, where="") -> tuple | None:
    if value is None:
        return None
    values = _as_list(value)
    label = f"{where}{name}"
    if not values:
        problems.add(f"{label} must not be empty")
        return None
    out = []
    for v in values:
        if name == "densities":
            if not _is_real(v) or not 0 < v <= 1:
                problems.add(f"{label} must be in (0, 1], got {v!r}")
                continue
            out.append(float(v))
        else:
            if not _is_int(v) or v < 1:
                problems.add(f"{label} must be positive integers (fan-in per output), got {v!r}")
                continue
            out.append(int(v))
    if len(set(out)) != len(out):
        problems.add(f"{label} has repeated values: {values!r}")
    return tuple(out)


def _check_allocation(value, problems: _Problems) -> tuple[str, ...]:
    """``allocation``: one name or a list of names to sweep (default uniform)."""
    values = _as_list("uniform" if value is None else value)
    if not values:
        problems.add(f"allocation must not be empty; give one of {', '.join(ALLOCATIONS)}")
        return ("uniform",)
    bad = [v for v in values if v not in ALLOCATIONS]
    if bad:
        problems.add(f"allocation must be one of {', '.join(ALLOCATIONS)}, got {bad[0]!r}")
        return ("uniform",)
    if len(set(values)) != len(values):
        problems.add(f"allocation lists a value more than once: {values!r}")
    return tuple(dict.fromkeys(values))


def _check_seeds(config, problems: _Problems) -> tuple[int, ...]:
    seeds, n_seeds = config.get("seeds"), config.get("n_seeds")
    if seeds is not None and n_seeds is not None:
        problems.add(f"give seeds or n_seeds, not both (got seeds={seeds!r}, n_seeds={n_seeds!r})")
        return ()
    if seeds is None and n_seeds is None:
        return (0, 1, 2)
    if n_seeds is not None:
        if not _is_int(n_seeds) or n_seeds < 1:
            problems.add(f"n_seeds must be a positive integer, got {n_seeds!r}")
            return ()
        return tuple(range(n_seeds))
    values = _as_list(seeds)
    bad = [s for s in values if not _is_int(s) or s < 0]
    if bad or not values:
        problems.add(f"seeds must be a non-empty list of non-negative integers, got {seeds!r}")
        return ()
    if len(set(values)) != len(values):
        problems.add(f"seeds has repeated values: {values!r}")
    return tuple(int(s) for s in values)


def _check_param_value(family, param, value, problems, label) -> bool:
    kind = param.kind
    ok = {
        "int": _is_int(value),
        "float": _is_real(value),
        "str": isinstance(value, str),
        "ints": isinstance(value, list) and all(_is_int(v) for v in value),
    }.get(kind, True)
    if not ok:
        problems.add(
            f"{label}: parameter {param.name!r} of family {family!r} must be of type {kind} "
            f"({param.constraint}), got {value!r}"
        )
    return ok


def _check_families(config, problems: _Problems) -> tuple[FamilySpec, ...]:
    entries = config.get("families")
    if entries is None:
        problems.add('at least one [[families]] table is required, e.g. name = "erdos_renyi"')
        return ()
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        problems.add(f"families must be [[families]] tables, got {entries!r}")
        return ()
    if not entries:
        problems.add("families must not be empty")
    valid_families = _registries.family_names() + list(_registries.pruning_methods())
    specs = []
    for index, entry in enumerate(entries):
        name = entry.get("name")
        label = f"families[{index}]"
        if name is None:
            problems.add(f"{label} needs a name; valid families: {', '.join(valid_families)}")
            continue
        if name not in valid_families:
            problems.add(
                f"{label}: unknown family {name!r}; valid families: {', '.join(valid_families)}"
            )
            continue
        label = f"{label} ({name})"
        if name in _registries.pruning_methods():
            specs.append(_check_pruning_family(name, entry, label, problems))
            continue
        record = get_family(name)
        own = {p.name: p for p in record.params}
        params = {}
        for key, value in entry.items():
            if key in _FAMILY_KEYS:
                continue
            if key not in own:
                valid = ", ".join([*own, "densities", "degrees"])
                problems.add(f"{label}: unknown parameter {key!r}; valid parameters: {valid}")
                continue
            param = own[key]
            sweep = isinstance(value, list) and (
                param.kind != "ints" or (bool(value) and all(isinstance(v, list) for v in value))
            )
            values = value if sweep else [value]
            if not values:
                problems.add(f"{label}: parameter {key!r} sweeps over an empty list")
                continue
            if all(_check_param_value(name, param, v, problems, label) for v in values):
                if param.kind == "float":
                    values = [float(v) for v in values]
                params[key] = tuple(values)
        densities = _check_axis("densities", entry.get("densities"), problems, f"{label}: ")
        degrees = _check_axis("degrees", entry.get("degrees"), problems, f"{label}: ")
        if densities is not None and degrees is not None:
            problems.add(f"{label}: give densities or degrees, not both")
        if record.edge_count == "fixed" and (densities is not None or degrees is not None):
            problems.add(
                f"{label}: family {name!r} fixes its own edge count; remove densities/degrees"
            )
        dynamic = _check_rules(entry.get("dynamic"), problems, f"{label}: dynamic")
        specs.append(FamilySpec(name, params, densities, degrees, dynamic))
    return tuple(specs)


def _check_rules(value, problems: _Problems, label: str) -> tuple[str, ...] | None:
    """A ``dynamic`` value: one rule or a list of rules to sweep (None when absent)."""
    if value is None:
        return None
    values = _as_list(value)
    if not values:
        problems.add(f"{label} sweeps over an empty list; give at least one rule")
        return None
    rules = _registries.dynamic_rules()
    bad = [v for v in values if not isinstance(v, str) or v not in rules]
    if bad:
        problems.add(f"{label} must be one of {', '.join(rules)}, got {bad[0]!r}")
        return None
    if len(set(values)) != len(values):
        problems.add(f"{label} has repeated values: {values!r}")
    return tuple(dict.fromkeys(values))


def _check_pruning_family(name, entry, label, problems: _Problems) -> FamilySpec:
    """A ``[[families]]`` entry naming a pruning method (:func:`topokit.nn.prune`).

    Its parameters are the method's (:data:`topokit.nn.PRUNING_METHODS`), each of the
    type of its default; a list sweeps it. Its edge count is a density.
    """
    defaults = _registries.pruning_methods()[name]
    params = {}
    for key, value in entry.items():
        if key in _FAMILY_KEYS:
            continue
        if key not in defaults:
            valid = ", ".join([*defaults, "densities"])
            problems.add(f"{label}: unknown parameter {key!r}; valid parameters: {valid}")
            continue
        values = value if isinstance(value, list) else [value]
        kind = type(defaults[key])
        check = {int: _is_int, float: _is_real, str: lambda v: isinstance(v, str)}[kind]
        bad = [v for v in values if not check(v)]
        if not values or bad:
            problems.add(
                f"{label}: parameter {key!r} of pruning method {name!r} must be of type "
                f"{kind.__name__}, got {value!r}"
            )
            continue
        params[key] = tuple(float(v) if kind is float else v for v in values)
    densities = _check_axis("densities", entry.get("densities"), problems, f"{label}: ")
    if "degrees" in entry:
        problems.add(
            f"{label}: pruning method {name!r} keeps a share of the weights: give "
            "densities, not degrees"
        )
    dynamic = _check_rules(entry.get("dynamic"), problems, f"{label}: dynamic")
    return FamilySpec(name, params, densities, None, dynamic)


def _check_pruning_runs(config, families, degrees, dense_layers, sizes, problems) -> None:
    """What a study with pruning families needs: data, densities, a dense output only."""
    pruning = [spec.name for spec in families if spec.name in _registries.pruning_methods()]
    if not pruning:
        return
    on_data = [name for name in pruning if name != "synflow"]
    if on_data and config.get("dataset") is None:
        problems.add(
            f'families {", ".join(on_data)} prune on data: give dataset = "..." (a pruning '
            "family in a study needs a dataset)"
        )
    if degrees is not None and any(
        spec.densities is None for spec in families if spec.name in pruning
    ):
        problems.add(
            f"families {', '.join(pruning)} keep a share of the weights: give densities "
            "(in the study or in their [[families]] table), not degrees"
        )
    for s in sizes:
        n_layers = len(s) - 1
        dense = sorted({k % n_layers for k in dense_layers})
        if dense not in ([], [n_layers - 1]):
            problems.add(
                f"families {', '.join(pruning)} keep the output layer dense or none: "
                f"dense_layers must be [-1] or [], got {list(dense_layers)} for sizes {list(s)}"
            )


def _needs_edge_count(name: str) -> bool:
    return name in _registries.pruning_methods() or get_family(name).edge_count == "given"


# the order in which the values' problems are listed
_TRAINING_CHECK_ORDER = (
    "epochs",
    "batch_size",
    "patience",
    "optimizer",
    "activation",
    "schedule",
    "learning_rate",
    "momentum",
    "weight_decay",
    "validation_fraction",
    "nesterov",
    "early_stopping",
    "target_accuracy",
    "dynamic",
    "drop_fraction",
    "update_interval",
    "update_until",
)


def _training_constraint(key, value):
    """(ok, constraint, normalized value) of one training value."""
    if key in ("epochs", "batch_size", "patience", "update_interval"):
        return _is_int(value) and value >= 1, "an integer >= 1", value
    names = {
        "optimizer": _registries.optimizer_names,
        "activation": _registries.activation_names,
        "schedule": _registries.schedule_names,
        "dynamic": _registries.dynamic_rules,
    }
    if key in names:
        valid = names[key]()
        return value in valid, f"one of {', '.join(valid)}", value
    if key in ("nesterov", "early_stopping"):
        return isinstance(value, bool), "true or false", value
    reals = {
        "learning_rate": (lambda v: v > 0, "a positive number"),
        "momentum": (lambda v: 0 <= v <= 1, "in [0, 1]"),
        "weight_decay": (lambda v: v >= 0, "a number >= 0"),
        "validation_fraction": (lambda v: 0 <= v < 1, "in [0, 1)"),
        "target_accuracy": (lambda v: 0 < v <= 1, "in (0, 1]"),
        "drop_fraction": (lambda v: 0 < v < 1, "in (0, 1)"),
        "update_until": (lambda v: 0 < v <= 1, "in (0, 1]"),
    }
    if key == "target_accuracy" and value is None:
        return True, "", None
    test, constraint = reals[key]
    ok = _is_real(value) and test(value)
    return ok, constraint, float(value) if ok else value


def _check_training(value, problems: _Problems) -> dict:
    """The recipe, defaults filled in; a key given a list sweeps it (a tuple of values)."""
    if value is None:
        value = {}
    if not isinstance(value, dict):
        problems.add(f"training must be a [training] table, got {value!r}")
        return dict(TRAINING_DEFAULTS)
    recipe = dict(TRAINING_DEFAULTS)
    for key, given in value.items():
        if key in RENAMED_TRAINING_KEYS:
            new = RENAMED_TRAINING_KEYS[key]
            problems.add(f"training.{key} is called {new} now: write {new} = {given!r}")
        elif key not in TRAINING_DEFAULTS:
            problems.add(
                f"training: unknown key {key!r}; valid keys: {', '.join(TRAINING_DEFAULTS)}"
            )
    for key in _TRAINING_CHECK_ORDER:
        if key not in value:
            continue
        given = value[key]
        sweep = isinstance(given, list)
        values = given if sweep else [given]
        if not values:
            problems.add(f"training.{key} sweeps over an empty list; give at least one value")
            continue
        checked = []
        for one in values:
            ok, constraint, normalized = _training_constraint(key, one)
            if not ok:
                problems.add(f"training.{key} must be {constraint}, got {one!r}")
            checked.append(normalized)
        if len(set(map(repr, checked))) != len(checked):
            problems.add(f"training.{key} has repeated values: {given!r}")
        recipe[key] = tuple(checked) if sweep else checked[0]
    early = recipe["early_stopping"]
    fraction = recipe["validation_fraction"]
    early = early if isinstance(early, tuple) else (early,)
    fraction = fraction if isinstance(fraction, tuple) else (fraction,)
    if True in early and any(_is_real(f) and f == 0 for f in fraction):
        problems.add("training.early_stopping needs a validation_fraction > 0, got 0")
    return recipe


def _check_snapshot_epochs(value, training, families, problems: _Problems) -> tuple[int, ...]:
    """``snapshot_epochs``: epoch indices (0 the start, -1 the last epoch trained), sorted,
    -1 last; only for a study with runs whose graph is learned (dynamic or pruned)."""
    if value is None:
        return SNAPSHOT_EPOCHS
    values = value if isinstance(value, list) else None
    if not values or not all(_is_int(v) and v >= -1 for v in values):
        problems.add(
            "snapshot_epochs must be a non-empty list of epoch indices (0 the start, -1 the "
            f"last epoch trained), got {value!r}"
        )
        return SNAPSHOT_EPOCHS
    if len(set(values)) != len(values):
        problems.add(f"snapshot_epochs has repeated values: {values!r}")
    epochs = [e for e in _as_list(training["epochs"]) if _is_int(e)]
    late = [v for v in values if epochs and v > max(epochs)]
    if late:
        problems.add(
            f"snapshot_epochs must be at most training.epochs = {max(epochs)} (or -1 for the "
            f"last epoch trained), got {late[0]}"
        )
    rules = {rule for rule in _as_list(training["dynamic"]) if isinstance(rule, str)}
    for spec in families:
        rules |= set(spec.dynamic or ())
    pruned = any(spec.name in _registries.pruning_methods() for spec in families)
    if not pruned and rules <= {"static"}:
        problems.add(
            "snapshot_epochs records the graphs of dynamic and pruned runs, and this study has "
            'none: give training.dynamic = "set" (or "rigl"), a pruning family, or remove '
            "snapshot_epochs"
        )
    epochs = sorted({int(v) for v in values if v >= 0})
    return tuple(epochs + ([-1] if -1 in values else []))


def _check_metrics(value, problems: _Problems) -> tuple[str, ...] | None:
    if value is None or value == "all":
        return None
    layer_keys = _registries.layer_metric_keys()
    network_keys = _registries.network_metric_keys()
    if not isinstance(value, list) or not all(isinstance(k, str) for k in value) or not value:
        problems.add(f'metrics must be "all" or a non-empty list of metric keys, got {value!r}')
        return None
    unknown = [k for k in value if k not in layer_keys and k not in network_keys]
    if unknown:
        problems.add(
            f"metrics: unknown keys {', '.join(map(repr, unknown))}; valid layer keys: "
            f"{', '.join(layer_keys)}; valid network keys: {', '.join(network_keys)}"
        )
    keys = [k for k in value if k not in unknown]
    if "net_density" in network_keys:
        keys.append("net_density")  # always recorded: the statistics control for it
    return tuple(dict.fromkeys(keys))


def _check_dataset(value, problems: _Problems, base_dir) -> str:
    if value is None:
        return "digits"
    names = _registries.dataset_names()
    if not isinstance(value, str) or not value:
        problems.add(f"dataset must be a dataset name or a file path, got {value!r}")
        return ""
    if value in names:
        return value
    if value.endswith((".npz", ".csv")):
        path = Path(value)
        if not path.is_absolute():
            path = Path(base_dir or ".") / path
        if not path.is_file():
            problems.add(f"dataset file {value!r} does not exist (looked at {str(path)!r})")
            return value
        return str(path.resolve())
    problems.add(
        f"unknown dataset {value!r}; valid datasets: {', '.join(names)}, or a .npz/.csv file"
    )
    return value


def check_study(config, *, base_dir=None, where="") -> dict:
    """Validate a parsed study; the fields of :class:`~topokit.analysis.study.Study`.

    Raises
    ------
    TopokitError
        Listing every problem found, one per line.
    """
    if not isinstance(config, dict):
        raise TopokitError(f"a study must be a TOML table, got {type(config).__name__}")
    problems = _Problems()
    for key in config:
        if key not in _TOP_LEVEL_KEYS:
            problems.add(f"unknown key {key!r}; valid keys: {', '.join(_TOP_LEVEL_KEYS)}")
    name = config.get("name", "study")
    if not isinstance(name, str) or not name:
        problems.add(f"name must be a non-empty string, got {name!r}")
        name = "study"
    description = config.get("description", "")
    if not isinstance(description, str):
        problems.add(f"description must be a string, got {description!r}")
        description = ""
    dataset = _check_dataset(config.get("dataset"), problems, base_dir)
    sizes = _check_sizes(config.get("sizes"), problems)
    families = _check_families(config, problems)
    densities = _check_axis("densities", config.get("densities"), problems)
    degrees = _check_axis("degrees", config.get("degrees"), problems)
    if densities is not None and degrees is not None:
        problems.add("give densities or degrees, not both")
    needs_axis = [
        spec.name
        for spec in families
        if _needs_edge_count(spec.name) and spec.densities is None and spec.degrees is None
    ]
    if needs_axis and densities is None and degrees is None:
        problems.add(
            f"families {', '.join(needs_axis)} need an edge count: give densities = [...] or "
            "degrees = [...]"
        )
    allocation = _check_allocation(config.get("allocation"), problems)
    seeds = _check_seeds(config, problems)
    # the output layer is dense by default, as everywhere in topokit, unless a network
    # of the study has no layer before it (its one layer is then the family's)
    default_dense = [-1] if all(len(s) > 2 for s in sizes) else []
    dense_layers = config.get("dense_layers", default_dense)
    if not isinstance(dense_layers, list) or not all(_is_int(k) for k in dense_layers):
        problems.add(f"dense_layers must be a list of layer indices, got {dense_layers!r}")
        dense_layers = []
    for s in sizes:
        n_layers = len(s) - 1
        bad = [k for k in dense_layers if not -n_layers <= k < n_layers]
        if bad:
            problems.add(
                f"dense_layers {bad} out of range for sizes {list(s)} ({n_layers} layers: "
                f"indices 0..{n_layers - 1} or -{n_layers}..-1)"
            )
        elif len({k % n_layers for k in dense_layers}) == n_layers:
            problems.add(f"dense_layers makes every layer of sizes {list(s)} dense")
    shape = _registries.dataset_shape(dataset)
    for s in sizes if shape else ():
        if (s[0], s[-1]) != shape:
            problems.add(
                f"sizes {list(s)} must start with {shape[0]} inputs and end with {shape[1]} "
                f"outputs (the classes) for dataset {dataset!r}"
            )
    _check_pruning_runs(config, families, degrees, dense_layers, sizes, problems)
    training = _check_training(config.get("training"), problems)
    metrics = _check_metrics(config.get("metrics"), problems)
    snapshot_epochs = _check_snapshot_epochs(
        config.get("snapshot_epochs"), training, families, problems
    )
    _raise_problems(name, problems, where)
    return {
        "name": name,
        "description": description,
        "dataset": dataset,
        "sizes": sizes,
        "families": families,
        "densities": densities,
        "degrees": degrees,
        "seeds": seeds,
        "dense_layers": tuple(int(k) for k in dense_layers),
        "training": training,
        "metrics": metrics,
        "allocation": allocation,
        "snapshot_epochs": snapshot_epochs,
    }


def _raise_problems(name: str, problems: _Problems, where: str) -> None:
    """Raise one TopokitError listing ``problems``, one per line (nothing if none)."""
    if problems:
        head = f"invalid study {name!r}" + (f" ({where})" if where else "")
        noun = "problem" if len(problems) == 1 else "problems"
        raise TopokitError(f"{head}: {len(problems)} {noun}:\n" + "\n".join(problems))


def check_feasibility(name: str, cases, *, where: str = "") -> None:
    """Check that every topology of a study can be built, without building any.

    ``cases`` holds ``(label, edges, arguments)`` triples: a label naming the family (with
    its parameters) and the sizes, the edge count (``("density", 0.1)``,
    ``("degree", 4)`` or ``()``) and the arguments of
    :meth:`Topology.check_feasible <topokit.Topology.check_feasible>`, or a function
    that checks the case itself (a pruning family's :func:`~topokit.nn.check_pruning`).
    Every case is checked; the error lists each problem once, one per line, as ``label,
    densities 0.1, 0.2: layer k (n_in -> n_out): <the family's error>`` (the edge counts
    that meet the same error are listed together).

    Raises
    ------
    TopokitError
        Listing every combination that cannot be built.
    """
    failing = {}  # (label, message) -> edge counts meeting it
    for label, edges, arguments in cases:
        try:
            arguments() if callable(arguments) else Topology.check_feasible(**arguments)
        except TopokitError as exc:
            failing.setdefault((label, str(exc)), []).append(edges)
    problems = _Problems()
    for (label, message), edges in failing.items():
        problems.add(f"{label}{_edge_text(edges)}: {message}")
    _raise_problems(name, problems, where)


def check_dynamic(name: str, cases, *, where: str = "") -> None:
    """Check that every run given a dynamic rule has a sparse layer to rewire.

    ``cases`` holds ``(label, rule, has_sparse_layer)`` triples, one per run: a label
    naming the family (with its parameters), the sizes and the edge count, the run's
    ``training.dynamic`` and whether its topology has a layer with fewer edges than
    ``n_in * n_out``. Each problem is listed once.

    Raises
    ------
    TopokitError
        Listing every topology that a rule other than ``"static"`` cannot rewire.
    """
    problems = _Problems()
    for label, rule, sparse in cases:
        if rule == "static" or sparse:
            continue
        message = (
            f"training.dynamic = {rule!r} needs a sparse layer to rewire (fewer edges than "
            f"n_in * n_out), got {label} whose layers are all complete: give its "
            '[[families]] table dynamic = "static"'
        )
        if message not in problems:
            problems.add(message)
    _raise_problems(name, problems, where)


def _edge_text(edges: list) -> str:
    """``", density 0.1"``, ``", densities 0.1, 0.2"`` or ``""`` for a list of edge counts."""
    edges = [edge for edge in edges if edge]
    if not edges:
        return ""
    axis = edges[0][0]
    if len(edges) > 1:
        axis = {"density": "densities", "degree": "degrees"}[axis]
    return f", {axis} " + ", ".join(str(value) for _, value in edges)
