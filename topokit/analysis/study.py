"""Study definitions: TOML in, validated grid of runs out.

A study is one dataset, one training recipe and a grid of
sizes × families (× their swept parameters) × densities or degrees × seeds. The whole
file is checked before anything runs and every problem is reported at once; then
:meth:`Study.runs` expands the grid into :class:`RunConfig` records, each keyed by a
hash of its full configuration so that a store can tell finished runs from new ones.

A study file::

    name = "my-study"                 # names the study in its store and report
    description = "..."               # optional, free text (not part of the study key)
    dataset = "digits"                # a name (topokit.nn.datasets) or a .npz/.csv path,
                                      # relative to the study file
    sizes = [64, 128, 128, 10]        # or a list of lists, to sweep sizes
    dense_layers = [-1]               # optional: layers kept dense (default: the output layer)
    densities = [0.05, 0.1, 0.2]      # or degrees = [4, 8] (fan-in of each output neuron)
    allocation = "uniform"            # or "erk", or ["uniform", "erk"] to sweep: how a
                                      # density is spread over the sparse layers
    seeds = [0, 1, 2]                 # or n_seeds = 3 (seeds 0, 1, 2); default three seeds
    metrics = "all"                   # or a list of layer / net_ / input_ metric keys
    # snapshot_epochs = [0, 5, -1]    # when the runs that learn their graph store it

    [training]                        # every key optional; see TRAINING_DEFAULTS
    epochs = 10
    # learning_rate = [0.001, 0.01]   # a list would sweep a training key too
    target_accuracy = 0.9             # for epochs_to_target
    # dynamic = ["static", "set"]     # dynamic sparse training: static, set, rigl

    [[families]]
    name = "small_world"
    p = [0.0, 0.1, 1.0]               # a list sweeps a parameter
    [[families]]
    name = "left_regular"
    degrees = [2, 4]                  # a family may bring its own edge-count axis
    [[families]]
    name = "dense"                    # fixes its own edge count: one run per sizes and seed
    # dynamic = "static"              # its own rules (a dense network cannot rewire)

The training keys are the parameter names of :class:`topokit.nn.SparseMLP` (``optimizer``,
``learning_rate``, ``schedule``, ``momentum``, ``nesterov``, ``activation``,
``weight_decay``), of :meth:`~topokit.nn.SparseMLP.fit` (``epochs``, ``batch_size``,
``validation_fraction``, ``early_stopping``, ``patience``, ``target_accuracy``) and of
:class:`~topokit.nn.dynamic.DynamicSparsity` (``dynamic``, ``drop_fraction``,
``update_interval``, ``update_until``). Any of them may be a list of values: the study
runs every combination, and each run's configuration holds one value. A ``[[families]]``
table may give its own ``dynamic`` rules (one or a list), which replace the study's for
that family.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import tomllib
from dataclasses import dataclass, field, replace
from functools import cached_property
from importlib import resources
from pathlib import Path

import numpy as np

from topokit._errors import TopokitError
from topokit.analysis import _registries
from topokit.analysis._study_checks import (
    DYNAMIC_DEFAULTS,
    SNAPSHOT_EPOCHS,
    TRAINING_DEFAULTS,
    FamilySpec,
    check_dynamic,
    check_feasibility,
    check_study,
)
from topokit.generators import get_family
from topokit.nn import PRUNING_METHODS, PruningResult, check_pruning, prune
from topokit.topology import Topology

__all__ = [
    "DYNAMIC_DEFAULTS",
    "FORMAT_VERSION",
    "SNAPSHOT_EPOCHS",
    "TRAINING_COLUMNS",
    "TRAINING_DEFAULTS",
    "RunConfig",
    "Study",
    "build_topology",
    "list_presets",
    "load_preset",
    "load_study",
    "prune_run",
]

#: The column of :func:`load_results` for each training key (present where it varies):
#: the key itself, but ``training_epochs`` for ``epochs`` (an outcome column already).
TRAINING_COLUMNS = {key: "training_epochs" if key == "epochs" else key for key in TRAINING_DEFAULTS}

#: Version of the run-configuration format; part of every run key and study key.
FORMAT_VERSION = 1


#: Training keys renamed after run keys of format 1 were first written: current name ->
#: the name the keys hash. Run and study keys stay those of the stores written before.
_KEYED_NAMES = {"schedule": "learning_rate_schedule"}
_CURRENT_NAMES = {old: new for new, old in _KEYED_NAMES.items()}


def _keyed(config: dict) -> dict:
    """``config`` with its training keys under the names that run and study keys hash."""
    training = {_KEYED_NAMES.get(key, key): value for key, value in config["training"].items()}
    return {**config, "training": training}


def _without_dynamic_defaults(training: dict) -> dict:
    """``training`` less the keys of dynamic sparse training that hold their default: a
    configuration names them only where they change something, so that the keys of runs
    and studies written before they existed stay valid."""
    return {
        key: value
        for key, value in training.items()
        if key not in DYNAMIC_DEFAULTS or value != DYNAMIC_DEFAULTS[key]
    }


def _canonical_json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _sha256(value) -> str:
    return hashlib.sha256(_canonical_json(value).encode()).hexdigest()


@dataclass(frozen=True)
class RunConfig:
    """One training run of a study: everything that decides its outcome.

    :meth:`Study.runs` makes them; each parameter is an attribute of the same name (the
    instance is frozen).

    Parameters
    ----------
    dataset : str
        Dataset name, or the absolute path of a user ``.npz``/``.csv`` file.
    sizes : tuple of int
        Layer sizes ``(n_0, ..., n_L)``.
    family : str
        The layer-graph family of the sparse layers.
    params : dict
        The family's own parameters for this run (one value each).
    density, degree : float or int or None
        The edge count of each sparse layer; both None for families whose sizes fix it
        (such as ``dense``).
    seed : int
        Seeds the topology and the training (see :meth:`rngs`).
    dense_layers : tuple of int, default ()
        Indices (from 0) of the layers that are dense whatever the family.
    training : dict, default TRAINING_DEFAULTS
        The training recipe (keys of :data:`TRAINING_DEFAULTS`).
    metrics : tuple of str or None, default None
        Metric keys to record; None records all.
    allocation : {"uniform", "erk"}, default "uniform"
        How ``density`` is spread over the sparse layers
        (:func:`topokit.allocation.layer_densities`).
    snapshot_epochs : tuple of int, default (0, -1)
        The epochs whose layer graphs a run that learns its graph (:attr:`snapshots`)
        stores, with their metrics: 0 the start, ``k`` after ``k`` epochs, -1 the last
        epoch trained.

    Examples
    --------
    >>> from topokit.analysis.study import RunConfig
    >>> run = RunConfig("digits", (64, 32, 10), "erdos_renyi", {}, 0.1, None, seed=0)
    >>> len(run.key), run.to_dict()["format"], run.layer_families()
    (64, 1, ['erdos_renyi', 'erdos_renyi'])
    >>> rewired = RunConfig("digits", (64, 32, 10), "erdos_renyi", {}, 0.1, None, seed=0,
    ...                     training={**run.training, "dynamic": "set"})
    >>> rewired.label, rewired.dynamic, rewired.snapshots, run.snapshots
    ('erdos_renyi(dynamic=set)', 'set', True, False)
    """

    dataset: str
    sizes: tuple[int, ...]
    family: str
    params: dict
    density: float | None
    degree: int | None
    seed: int
    dense_layers: tuple[int, ...] = ()
    training: dict = field(default_factory=lambda: dict(TRAINING_DEFAULTS))
    metrics: tuple[str, ...] | None = None
    allocation: str = "uniform"
    snapshot_epochs: tuple[int, ...] = SNAPSHOT_EPOCHS

    def to_dict(self) -> dict:
        """The run as a plain JSON-ready dict (what the store keeps).

        Returns
        -------
        dict
            ``format`` (:data:`FORMAT_VERSION`) and each field of the run, tuples as
            lists; :meth:`from_dict` reads it back. ``allocation`` is there only when it
            is not ``"uniform"``, ``snapshot_epochs`` only when not ``(0, -1)`` and the
            training keys of :data:`DYNAMIC_DEFAULTS` only where they differ from their
            defaults, so a run's key is the one it had before these existed.

        Examples
        --------
        >>> from topokit.analysis.study import RunConfig
        >>> run = RunConfig("digits", (64, 32, 10), "erdos_renyi", {}, 0.1, None, seed=0)
        >>> config = run.to_dict()
        >>> config["format"], config["sizes"], config["density"], config["dense_layers"]
        (1, [64, 32, 10], 0.1, [])
        """
        config = {
            "format": FORMAT_VERSION,
            "dataset": self.dataset,
            "sizes": list(self.sizes),
            "family": self.family,
            "params": dict(self.params),
            "density": self.density,
            "degree": self.degree,
            "seed": self.seed,
            "dense_layers": list(self.dense_layers),
            "training": _without_dynamic_defaults(self.training),
            "metrics": None if self.metrics is None else list(self.metrics),
        }
        if self.allocation != "uniform":
            config["allocation"] = self.allocation
        if tuple(self.snapshot_epochs) != SNAPSHOT_EPOCHS:
            config["snapshot_epochs"] = list(self.snapshot_epochs)
        return config

    @classmethod
    def from_dict(cls, config: dict) -> RunConfig:
        """Rebuild a run from :meth:`to_dict`'s output.

        A training key stored under its old name (stores written before it was renamed)
        comes back under its current one; the keys of :data:`DYNAMIC_DEFAULTS` left out
        come back with their defaults.

        Parameters
        ----------
        config : dict
            As :meth:`to_dict` returns it (``metrics`` may be left out: all metrics;
            ``allocation`` too: uniform; ``snapshot_epochs`` too: ``(0, -1)``).

        Returns
        -------
        RunConfig

        Raises
        ------
        TopokitError
            If ``config["format"]`` is not :data:`FORMAT_VERSION`, or a key it must hold
            is missing (naming it).

        Examples
        --------
        >>> from topokit.analysis.study import RunConfig
        >>> run = RunConfig("digits", (64, 10), "dense", {}, None, None, seed=3)
        >>> RunConfig.from_dict(run.to_dict()) == run
        True
        >>> RunConfig.from_dict({**run.to_dict(), "format": 0})
        Traceback (most recent call last):
        ...
        topokit._errors.TopokitError: run configuration format must be 1, got 0
        """
        if config.get("format") != FORMAT_VERSION:
            raise TopokitError(
                f"run configuration format must be {FORMAT_VERSION}, got {config.get('format')!r}"
            )
        metrics = config.get("metrics")
        try:
            return cls(
                dataset=config["dataset"],
                sizes=tuple(config["sizes"]),
                family=config["family"],
                params=dict(config["params"]),
                density=config["density"],
                degree=config["degree"],
                seed=config["seed"],
                dense_layers=tuple(config["dense_layers"]),
                training={
                    **DYNAMIC_DEFAULTS,
                    **{_CURRENT_NAMES.get(k, k): v for k, v in config["training"].items()},
                },
                metrics=None if metrics is None else tuple(metrics),
                allocation=config.get("allocation", "uniform"),
                snapshot_epochs=tuple(config.get("snapshot_epochs", SNAPSHOT_EPOCHS)),
            )
        except KeyError as exc:
            raise TopokitError(
                f"run configuration has no {exc.args[0]!r} key (a damaged store, or one "
                "another program wrote)"
            ) from None

    @cached_property
    def key(self) -> str:
        """sha256 (hex) of the canonical JSON of :meth:`to_dict`: stable across sessions."""
        return _sha256(_keyed(self.to_dict()))

    @property
    def label(self) -> str:
        """The family with its parameters, e.g. ``"small_world(p=0.1)"``; an allocation
        other than uniform and a dynamic rule other than static read as parameters:
        ``"erdos_renyi(allocation=erk, dynamic=rigl)"``."""
        if self.dynamic == "static":
            return self._topology_label
        return _variant_label(self.family, {**self._label_params, "dynamic": self.dynamic})

    @property
    def _topology_label(self) -> str:
        """The label of the topology the run starts from (no dynamic rule)."""
        return _variant_label(self.family, self._label_params)

    @property
    def _label_params(self) -> dict:
        if self.allocation == "uniform":
            return dict(self.params)
        return {**self.params, "allocation": self.allocation}

    @property
    def dynamic(self) -> str:
        """The run's rule of dynamic sparse training: ``"static"``, ``"set"`` or ``"rigl"``."""
        return self.training.get("dynamic", DYNAMIC_DEFAULTS["dynamic"])

    @property
    def snapshots(self) -> bool:
        """Whether the run stores snapshots of its layer graphs: it learns its graph, by a
        dynamic rule or a pruning family."""
        return self.dynamic != "static" or self.family in PRUNING_METHODS

    @property
    def layer_metric_keys(self) -> tuple[str, ...] | None:
        """The per-layer metric keys to record (None: all; may be empty)."""
        return _split_metrics(self.metrics)[0]

    @property
    def network_metric_keys(self) -> tuple[str, ...] | None:
        """The whole-network and aggregated metric keys to record (None: all)."""
        return _split_metrics(self.metrics)[1]

    def layer_families(self) -> list[str]:
        """The family of each layer (``"dense"`` for the :attr:`dense_layers`).

        Returns
        -------
        list of str
            One name per layer, ``len(sizes) - 1`` of them.

        Examples
        --------
        >>> from topokit.analysis.study import RunConfig
        >>> run = RunConfig("digits", (64, 32, 10), "erdos_renyi", {}, 0.1, None, seed=0,
        ...                 dense_layers=(1,))
        >>> run.layer_families()
        ['erdos_renyi', 'dense']
        """
        return [
            "dense" if k in self.dense_layers else self.family for k in range(len(self.sizes) - 1)
        ]

    def rngs(self) -> tuple[np.random.Generator, np.random.Generator]:
        """Two independent generators from :attr:`seed`: (topology, training).

        Both are spawned from ``numpy.random.SeedSequence(seed)``, so each call gives
        generators in the same state.

        Returns
        -------
        topology : numpy.random.Generator
            Builds the run's topology (:func:`build_topology`).
        training : numpy.random.Generator
            Initialises and shuffles the training.

        Examples
        --------
        >>> from topokit.analysis.study import RunConfig
        >>> run = RunConfig("digits", (64, 10), "dense", {}, None, None, seed=0)
        >>> topology, training = run.rngs()
        >>> again, _ = run.rngs()
        >>> bool(topology.random() == again.random()), bool(topology.random() != training.random())
        (True, True)
        """
        topology_seed, training_seed = np.random.SeedSequence(self.seed).spawn(2)
        return np.random.default_rng(topology_seed), np.random.default_rng(training_seed)

    def __hash__(self):
        return hash(self.key)

    def __repr__(self):
        edges = f"density={self.density}" if self.degree is None else f"degree={self.degree}"
        return (
            f"RunConfig({self.label}, sizes={list(self.sizes)}, {edges}, seed={self.seed}, "
            f"key={self.key[:12]})"
        )


def _split_metrics(metrics):
    """(layer keys, network keys) of a metric selection; (None, None) for all."""
    if metrics is None:
        return None, None
    layer_keys = set(_registries.layer_metric_keys())
    return (
        tuple(k for k in metrics if k in layer_keys),
        tuple(k for k in metrics if k not in layer_keys),
    )


def _variant_label(family: str, params: dict) -> str:
    if not params:
        return family
    inner = ", ".join(f"{name}={value}" for name, value in sorted(params.items()))
    return f"{family}({inner})"


def build_topology(run: RunConfig, rng=None) -> Topology:
    """Build the network topology of ``run``.

    Sparse layers use ``run.family`` with its parameters and edge count; the
    :attr:`~RunConfig.dense_layers` are complete.

    Parameters
    ----------
    run : RunConfig
    rng : None, int or numpy.random.Generator, optional
        Defaults to the topology generator of :meth:`RunConfig.rngs`.

    Returns
    -------
    Topology

    Raises
    ------
    TopokitError
        When the family cannot build a layer of these sizes (the message names the layer).

    Examples
    --------
    >>> from topokit.analysis.study import RunConfig, build_topology
    >>> run = RunConfig("digits", (64, 10), "dense", {}, None, None, seed=0)
    >>> build_topology(run)
    Topology(sizes=[64, 10], n_edges=640)
    """
    generator = run.rngs()[0] if rng is None else np.random.default_rng(rng)
    if run.family in PRUNING_METHODS:
        return prune_run(run, rng=generator).topology
    return Topology.build(**_topology_arguments(run), rng=generator)


def prune_run(run: RunConfig, dataset=None, rng=None) -> PruningResult:
    """The network that a run whose family is a pruning method trains.

    :func:`topokit.nn.prune` prunes the dense network of ``run.sizes`` to
    ``run.density`` with the run's parameters; the parameters it shares with the training
    recipe (``activation``, ``learning_rate``, ``batch_size``, ``epochs``) default to the
    run's recipe. The output layer stays dense when it is among the run's
    :attr:`~RunConfig.dense_layers`. The run trains the topology from a fresh
    initialisation, or for ``lottery`` from the rewound weights
    (:meth:`PruningResult.load_weights <topokit.nn.PruningResult.load_weights>`).

    Parameters
    ----------
    run : RunConfig
    dataset : Dataset or str, optional
        The run's data set, if already loaded (default: ``run.dataset``, loaded here).
    rng : None, int or numpy.random.Generator, optional
        Defaults to the topology generator of :meth:`RunConfig.rngs`.

    Returns
    -------
    PruningResult

    Raises
    ------
    TopokitError
        If the run's family is not a pruning method, or the method cannot prune to the
        run's density.

    Examples
    --------
    >>> from topokit.analysis.study import RunConfig, prune_run
    >>> run = RunConfig("digits", (64, 16, 10), "snip", {}, 0.1, None, seed=0,
    ...                 dense_layers=(1,))
    >>> prune_run(run).topology
    Topology(sizes=[64, 16, 10], n_edges=262)
    """
    if run.family not in PRUNING_METHODS:
        raise TopokitError(
            f"run.family must be a pruning method ({', '.join(PRUNING_METHODS)}), got "
            f"{run.family!r}"
        )
    generator = run.rngs()[0] if rng is None else np.random.default_rng(rng)
    return prune(
        **_pruning_arguments(run),
        dataset=run.dataset if dataset is None else dataset,
        rng=generator,
    )


def _pruning_arguments(run: RunConfig) -> dict:
    """The arguments of :func:`~topokit.nn.prune` and ``check_pruning`` for ``run``
    (data and generator aside): the run's parameters, else its recipe's."""
    taken = PRUNING_METHODS[run.family]
    recipe = {key: value for key, value in run.training.items() if key in taken}
    return {
        "method": run.family,
        "sizes": list(run.sizes),
        "density": run.density,
        "dense_output": len(run.sizes) - 2 in run.dense_layers,
        **recipe,
        **run.params,
    }


def _topology_arguments(run: RunConfig) -> dict:
    """The arguments of :meth:`Topology.build` (and ``check_feasible``) for ``run``."""
    families = run.layer_families()
    allocation = {} if run.allocation == "uniform" else {"allocation": run.allocation}
    return {
        "sizes": run.sizes,
        "family": families,
        "density": [None if name == "dense" else run.density for name in families],
        "degree": [None if name == "dense" else run.degree for name in families],
        **allocation,
        **run.params,
    }


def _feasibility_cases(runs) -> list[tuple[str, tuple, dict]]:
    """One (label, edge count, topology arguments) per distinct topology of ``runs``
    (seeds aside); the edge count is ``("density", value)``, ``("degree", value)`` or ().
    A pruning family's case holds the check of its pruning request instead of arguments."""
    cases = {}
    for run in runs:
        if run.family in PRUNING_METHODS:
            label = f"{run._topology_label} at sizes {list(run.sizes)}"
            arguments = _pruning_arguments(run)
            cases.setdefault(
                (label, ("density", run.density)), functools.partial(check_pruning, **arguments)
            )
            continue
        if run.density is not None:
            edges = ("density", run.density)
        elif run.degree is not None:
            edges = ("degree", run.degree)
        else:
            edges = ()
        label = f"{run._topology_label} at sizes {list(run.sizes)}"
        cases.setdefault((label, edges), _topology_arguments(run))
    return [(label, edges, arguments) for (label, edges), arguments in cases.items()]


def _has_sparse_layer(run: RunConfig) -> bool:
    """Whether the topology of ``run`` has a layer with fewer edges than ``n_in * n_out``,
    found from its configuration without building it (a family that fixes its own edge
    count counts as sparse; training checks the built topology again)."""
    for k, family in enumerate(run.layer_families()):
        n_in, n_out = run.sizes[k], run.sizes[k + 1]
        if family == "dense":
            continue
        if family in PRUNING_METHODS or run.allocation != "uniform":
            # a share of the weights of all the sparse layers together: one is sparse
            if run.density < 1:
                return True
        elif get_family(family).edge_count == "fixed":
            return True
        elif run.degree is not None:
            if run.degree < n_in:
                return True
        elif round(run.density * n_in * n_out) < n_in * n_out:
            return True
    return False


def _dynamic_cases(runs) -> list[tuple[str, str, bool]]:
    """One (label, rule, has a sparse layer) per run with a dynamic rule."""
    cases = []
    for run in runs:
        if run.dynamic == "static":
            continue
        edges = (
            f", density {run.density}"
            if run.density is not None
            else f", degree {run.degree}"
            if run.degree is not None
            else ""
        )
        label = f"{run._topology_label} at sizes {list(run.sizes)}{edges}"
        cases.append((label, run.dynamic, _has_sparse_layer(run)))
    return cases


@dataclass(frozen=True, eq=False)
class Study:
    """A validated study: build with :func:`load_study`, :func:`load_preset` or
    :meth:`from_dict`.

    Each parameter is an attribute of the same name (the instance is frozen); the
    builders above check the values, the constructor does not.

    Parameters
    ----------
    name : str
        Names the study in its store and report.
    dataset : str
        A dataset name (:mod:`topokit.nn.datasets`), or the absolute path of a user
        ``.npz``/``.csv`` file.
    sizes : tuple of tuple of int
        One or more size lists (several sweep the sizes).
    families : tuple
        The ``[[families]]`` entries, each with its ``name``, the values each of its
        parameters sweeps (``params``) and the edge-count axis it brings, if any
        (``densities``, ``degrees``).
    seeds : tuple of int
        One run per seed of each combination.
    training : dict
        The full recipe, defaults filled in; a key swept over a list of values holds
        them as a tuple (:meth:`recipes` expands them).
    densities, degrees : tuple or None, default None
        The edge-count axis (exactly one of them, unless every family fixes its own).
    dense_layers : tuple of int, default ()
        Layers kept dense (negative indices count from the output layer).
    metrics : tuple of str or None, default None
        Metric keys to record (None: all); ``net_density`` is always among them, as the
        statistics control for it.
    description : str, default ""
        Free text; not part of the study's :attr:`key`.
    allocation : tuple of str, default ("uniform",)
        How each density is spread over the sparse layers; several values sweep it
        (families whose sizes fix their edge count run once).
    snapshot_epochs : tuple of int, default (0, -1)
        The epochs whose layer graphs the runs that learn their graph (dynamic or pruned)
        store: 0 the start, -1 the last epoch trained.
    source : str, default ""
        The TOML text it came from ("" when built from a dict).

    Examples
    --------
    >>> from topokit.analysis import load_study
    >>> study = load_study('''
    ... name = "tiny"
    ... dataset = "digits"
    ... sizes = [64, 16, 10]
    ... densities = [0.25, 0.5]
    ... seeds = [0, 1]
    ... [[families]]
    ... name = "dense"
    ... ''')
    >>> len(study.runs())   # dense fixes its own edge count: one run per seed
    2
    """

    name: str
    dataset: str
    sizes: tuple[tuple[int, ...], ...]
    families: tuple[FamilySpec, ...]
    seeds: tuple[int, ...]
    training: dict
    densities: tuple[float, ...] | None = None
    degrees: tuple[int, ...] | None = None
    dense_layers: tuple[int, ...] = ()
    metrics: tuple[str, ...] | None = None
    description: str = ""
    allocation: tuple[str, ...] = ("uniform",)
    snapshot_epochs: tuple[int, ...] = SNAPSHOT_EPOCHS
    source: str = field(default="", repr=False)

    @classmethod
    def from_dict(cls, config: dict, *, source: str = "", base_dir=None) -> Study:
        """Validate a parsed study (the TOML's tables as a dict) and build it.

        Parameters
        ----------
        config : dict
            As ``tomllib.loads`` returns it.
        source : str, optional
            The TOML text, kept for the store.
        base_dir : path, optional
            Folder that a relative dataset path is resolved against (default: the
            current directory).

        Returns
        -------
        Study

        Raises
        ------
        TopokitError
            Listing every problem found, one per line; also when the grid lists a run
            more than once.

        Examples
        --------
        >>> from topokit.analysis.study import Study
        >>> study = Study.from_dict({"name": "tiny", "sizes": [64, 10], "seeds": [0, 1],
        ...                          "densities": [0.1, 0.2],
        ...                          "families": [{"name": "erdos_renyi"}, {"name": "dense"}]})
        >>> study.densities, len(study.runs())
        ((0.1, 0.2), 6)
        >>> Study.from_dict({"sizes": [64, 10], "families": [{"name": "erdos_renyi"}]})
        Traceback (most recent call last):
        ...
        topokit._errors.TopokitError: invalid study 'study': 1 problem:
        families erdos_renyi need an edge count: give densities = [...] or degrees = [...]
        """
        return _validate(config, source=source, base_dir=base_dir)

    def to_dict(self) -> dict:
        """The normalized configuration (defaults filled in), JSON-ready.

        Returns
        -------
        dict
            ``format`` (:data:`FORMAT_VERSION`) and every field but ``description`` and
            ``source``, tuples as lists (``allocation`` only when it is not uniform,
            ``snapshot_epochs`` only when not ``(0, -1)``, the training keys of
            :data:`DYNAMIC_DEFAULTS` only where they differ from their defaults); the
            study's :attr:`key` hashes it.

        Examples
        --------
        >>> from topokit.analysis import load_study
        >>> study = load_study('sizes = [64, 10]\\nseeds = [0]\\n[[families]]\\nname = "dense"')
        >>> config = study.to_dict()
        >>> config["name"], config["sizes"], config["families"], config["densities"]
        ('study', [[64, 10]], [{'name': 'dense', 'params': {}}], None)
        """
        return {
            "format": FORMAT_VERSION,
            "name": self.name,
            "dataset": self.dataset,
            "sizes": [list(s) for s in self.sizes],
            "families": [spec.to_dict() for spec in self.families],
            "densities": None if self.densities is None else list(self.densities),
            "degrees": None if self.degrees is None else list(self.degrees),
            "seeds": list(self.seeds),
            "dense_layers": list(self.dense_layers),
            "training": {
                key: list(value) if isinstance(value, tuple) else value
                for key, value in _without_dynamic_defaults(self.training).items()
            },
            "metrics": None if self.metrics is None else list(self.metrics),
            **({} if self.allocation == ("uniform",) else {"allocation": list(self.allocation)}),
            **(
                {}
                if self.snapshot_epochs == SNAPSHOT_EPOCHS
                else {"snapshot_epochs": list(self.snapshot_epochs)}
            ),
        }

    @cached_property
    def key(self) -> str:
        """sha256 (hex) of the normalized configuration (the description excluded)."""
        return _sha256(_keyed(self.to_dict()))

    @property
    def layer_metric_keys(self) -> tuple[str, ...] | None:
        """The per-layer metric keys to record (None: all; may be empty)."""
        return _split_metrics(self.metrics)[0]

    @property
    def network_metric_keys(self) -> tuple[str, ...] | None:
        """The whole-network and aggregated metric keys to record (None: all)."""
        return _split_metrics(self.metrics)[1]

    @property
    def swept_training(self) -> dict:
        """The ``[training]`` keys given a list of values: key -> tuple of values."""
        return {k: v for k, v in self.training.items() if isinstance(v, tuple)}

    def recipes(self) -> list[dict]:
        """Every training recipe of the study: one per combination of the swept keys.

        Returns
        -------
        list of dict
            Full recipes (one value per key): every combination of the swept keys'
            values, the keys taken in the order of :data:`TRAINING_DEFAULTS`, the first
            varying slowest; one recipe when no key is swept. ``dynamic`` is not swept
            here: a family may bring its own rules, and :meth:`runs` sweeps them per
            family (a recipe holds the study's rules, a tuple where it lists several).

        Examples
        --------
        >>> from topokit.analysis.study import Study
        >>> study = Study.from_dict({"sizes": [64, 10], "families": [{"name": "dense"}],
        ...                          "training": {"learning_rate": [0.01, 0.1],
        ...                                       "batch_size": [32, 64]}})
        >>> [(r["learning_rate"], r["batch_size"]) for r in study.recipes()]
        [(0.01, 32), (0.1, 32), (0.01, 64), (0.1, 64)]
        """
        swept = {k: v for k, v in self.swept_training.items() if k != "dynamic"}
        names = list(swept)
        recipes = []
        for values in itertools.product(*(swept[name] for name in names)):
            recipes.append({**self.training, **dict(zip(names, values, strict=True))})
        return recipes

    def runs(self) -> list[RunConfig]:
        """Expand the grid into runs.

        Order: sizes, then training recipes (:meth:`recipes`), then seeds, then families
        (parameters swept in the order given), then the dynamic rules (the family's own,
        else ``training.dynamic``), then the edge-count axis, then the allocations.
        Families whose sizes fix the edge count (``dense``) get one run per sizes, recipe,
        seed and rule. A ``"static"`` run holds the defaults of the other keys of dynamic
        training (they change nothing), and is listed once however many values of them a
        recipe sweeps; only runs that learn their graph (a dynamic rule, a pruning family)
        hold :attr:`snapshot_epochs`.
        (Loading a study has checked that every combination can be built.)

        Returns
        -------
        list of RunConfig

        Examples
        --------
        >>> from topokit.analysis.study import Study
        >>> study = Study.from_dict({"sizes": [64, 10], "seeds": [0, 1], "densities": [0.1, 0.2],
        ...                          "families": [{"name": "erdos_renyi"}, {"name": "dense"}]})
        >>> for run in study.runs():
        ...     print(run.seed, run.family, run.density)
        0 erdos_renyi 0.1
        0 erdos_renyi 0.2
        0 dense None
        1 erdos_renyi 0.1
        1 erdos_renyi 0.2
        1 dense None
        """
        runs = []
        reset = {}  # key of each static run -> whether its recipe's dynamic keys were reset
        grid = itertools.product(self.sizes, self.recipes(), self.seeds, self.families)
        for sizes, recipe, seed, spec in grid:
            n_layers = len(sizes) - 1
            dense_layers = tuple(sorted({k % n_layers for k in self.dense_layers}))
            names = list(spec.params)
            for values, rule in itertools.product(
                itertools.product(*(spec.params[n] for n in names)), self._rules(spec, recipe)
            ):
                params = dict(zip(names, values, strict=True))
                training = {**recipe, "dynamic": rule}
                if rule == "static":
                    static = {**training, **DYNAMIC_DEFAULTS}
                    was_reset, training = static != training, static
                for (density, degree), allocation in itertools.product(
                    self._edge_axis(spec), self._allocations(spec)
                ):
                    run = RunConfig(
                        dataset=self.dataset,
                        sizes=tuple(sizes),
                        family=spec.name,
                        params=dict(params),
                        density=density,
                        degree=degree,
                        seed=seed,
                        dense_layers=dense_layers,
                        training=dict(training),
                        metrics=self.metrics,
                        allocation=allocation,
                    )
                    if run.snapshots:
                        run = replace(run, snapshot_epochs=self.snapshot_epochs)
                    if rule == "static":
                        # the same static run again, for another value of a key that
                        # only dynamic runs use: listed once
                        if run.key in reset and (was_reset or reset[run.key]):
                            continue
                        reset.setdefault(run.key, was_reset)
                    runs.append(run)
        return runs

    def _rules(self, spec: FamilySpec, recipe: dict) -> tuple[str, ...]:
        if spec.dynamic is not None:
            return spec.dynamic
        rules = recipe["dynamic"]
        return rules if isinstance(rules, tuple) else (rules,)

    def _allocations(self, spec: FamilySpec) -> tuple[str, ...]:
        # a pruning method places its edges itself (its scope); a fixed family has no budget
        if spec.name in PRUNING_METHODS or get_family(spec.name).edge_count == "fixed":
            return ("uniform",)
        return self.allocation

    def _edge_axis(self, spec: FamilySpec):
        if spec.name not in PRUNING_METHODS and get_family(spec.name).edge_count == "fixed":
            return [(None, None)]
        densities, degrees = self.densities, self.degrees
        if spec.densities is not None or spec.degrees is not None:
            densities, degrees = spec.densities, spec.degrees
        if densities is not None:
            return [(d, None) for d in densities]
        return [(None, d) for d in degrees]

    def __repr__(self):
        return (
            f"Study({self.name!r}, dataset={self.dataset!r}, runs={len(self.runs())}, "
            f"key={self.key[:12]})"
        )


# ---------------------------------------------------------------- loading


def load_study(path_or_text) -> Study:
    """Read and validate a study from a TOML file or TOML text.

    Parameters
    ----------
    path_or_text : str or os.PathLike
        A path to a ``.toml`` file, or the TOML text itself (a string with a newline
        or an ``=`` is taken as text).

    Returns
    -------
    Study

    Raises
    ------
    TopokitError
        If the file cannot be read, is not valid TOML, or the study is invalid (every
        problem listed, one per line).

    Examples
    --------
    >>> from topokit.analysis import load_study
    >>> load_study('name = "s"\\nsizes = [64, 10]\\nseeds = [0]\\n[[families]]\\nname = "dense"')
    ... # doctest: +ELLIPSIS
    Study('s', dataset='digits', runs=1, key=...)
    """
    base_dir = None
    if isinstance(path_or_text, str) and ("\n" in path_or_text or "=" in path_or_text):
        text, where = path_or_text, "<text>"
    else:
        path = Path(path_or_text)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise TopokitError(f"study file {str(path)!r} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise TopokitError(f"cannot read study file {str(path)!r}: {exc}") from exc
        where, base_dir = str(path), path.parent
    try:
        config = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TopokitError(f"study {where} is not valid TOML: {exc}") from exc
    return _validate(config, source=text, base_dir=base_dir, where=where)


def list_presets() -> list[str]:
    """Names of the built-in studies.

    Returns
    -------
    list of str
        Sorted; each loads with :func:`load_preset`.

    Examples
    --------
    >>> from topokit.analysis import list_presets
    >>> list_presets()
    ['default', 'learned', 'mnist']
    """
    folder = resources.files("topokit.analysis") / "presets"
    return sorted(p.name[: -len(".toml")] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_preset(name: str) -> Study:
    """The built-in study called ``name`` (see :func:`list_presets`).

    Parameters
    ----------
    name : str
        One of :func:`list_presets`.

    Returns
    -------
    Study
        Validated, as :func:`load_study` reads it.

    Raises
    ------
    TopokitError
        If there is no such preset; the message lists them.

    Examples
    --------
    >>> from topokit.analysis import load_preset
    >>> load_preset("default").name
    'default'
    >>> load_preset("tiny")
    Traceback (most recent call last):
    ...
    topokit._errors.TopokitError: unknown preset 'tiny'; valid presets: default, learned, mnist
    """
    names = list_presets()
    if name not in names:
        raise TopokitError(f"unknown preset {name!r}; valid presets: {', '.join(names)}")
    text = (resources.files("topokit.analysis") / "presets" / f"{name}.toml").read_text("utf-8")
    return load_study(text)


def _validate(config, *, source="", base_dir=None, where="") -> Study:
    study = Study(**check_study(config, base_dir=base_dir, where=where), source=source)
    keys = [run.key for run in study.runs()]
    if len(set(keys)) != len(keys):
        raise TopokitError(
            f"invalid study {study.name!r}: the grid lists {len(keys) - len(set(keys))} runs "
            "more than once (a family with the same parameters given twice?)"
        )
    check_feasibility(study.name, _feasibility_cases(study.runs()), where=where)
    check_dynamic(study.name, _dynamic_cases(study.runs()), where=where)
    return study
