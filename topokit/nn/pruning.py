"""Pruned topologies: the layer graphs that pruning a dense network leaves.

One entry point, :func:`prune`, for five published methods (:data:`PRUNING_METHODS`):

- ``magnitude``: train the dense network, keep the weights of largest ``|w|``;
- ``lottery``: iterative magnitude pruning over ``rounds`` (Frankle & Carbin 2019): train,
  keep the largest ``|w|``, rewind the survivors to their weights at step ``rewind_step``
  (0: the initialisation; Frankle et al. 2020 rewind to an early step), train again;
- ``snip``: ``|g * w|`` at initialisation, ``g`` the gradient of the loss on a minibatch
  (Lee et al. 2019);
- ``grasp``: ``-w * (H g)`` at initialisation, ``H`` the Hessian of the loss on a
  minibatch (Wang et al. 2020); the weights of largest score are removed, so the kept
  ones are those of largest ``w * (H g)``. ``H g`` is exact (a double backward, see
  :mod:`topokit.nn._dense_scores`), not a finite difference; the loss is the paper's,
  without the temperature that the authors' code divides the logits by;
- ``synflow``: ``|w| * dR/d|w|`` with ``R = 1^T |W_1| ... |W_L| 1``, the sum of the
  products of ``|w|`` along every input-to-output path through the weight; data-free and
  iterative, ``iterations`` rounds that keep ``density ** (i / iterations)`` of the weights
  after round i (Tanaka et al. 2020).

Pruning at initialisation scores the complete (dense) network of ``sizes`` with the
weights :class:`~topokit.nn.SparseMLP` would draw for it, in float64 NumPy; ``magnitude``
and ``lottery`` train it with :class:`~topokit.nn.SparseMLP` (a complete layer graph
runs on dense BLAS products). The output layer stays dense by default, as in
``Topology.build(..., dense_output=True)``, ``topokit train`` and a study's
``dense_layers = [-1]``: it is part of the network that is scored but is not pruned.

:class:`~topokit.nn.SparseMLP` (numba) is imported where a model is made, and the data
sets where one is loaded, not with the module: ``topokit --help`` reads
:data:`PRUNING_METHODS` and must start fast.

Long pruning (training, SynFlow's rounds) says where it is every 30 s, as INFO records of
the ``"topokit.nn"`` logger, which ``topokit prune`` shows on stderr unless ``--quiet``.
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from topokit._errors import TopokitError
from topokit._validation import check_int, check_real, make_rng
from topokit.generators import layer_graph
from topokit.graph import LayerGraph
from topokit.nn import _dense_scores
from topokit.nn.activations import get_activation
from topokit.nn.defaults import DEFAULT_RECIPE
from topokit.nn.training import TrainingHook, _run_loop
from topokit.topology import Topology

__all__ = ["PRUNING_METHODS", "PruningResult", "check_pruning", "prune"]

_LOGGER = logging.getLogger("topokit.nn")
_NOTICE_SECONDS = 30.0  # long pruning says where it is at most this often

_SCOPES = ("layer", "global")

_TRAINING = {
    "epochs": DEFAULT_RECIPE.epochs,
    "batch_size": DEFAULT_RECIPE.batch_size,
    "learning_rate": DEFAULT_RECIPE.learning_rate,
    "activation": DEFAULT_RECIPE.activation,
}

PRUNING_METHODS = {
    "magnitude": {"scope": "layer", **_TRAINING},
    "lottery": {"scope": "layer", "rounds": 3, "rewind_step": 0, **_TRAINING},
    "snip": {"scope": "global", "batch_size": 128, "activation": DEFAULT_RECIPE.activation},
    "grasp": {"scope": "global", "batch_size": 128, "activation": DEFAULT_RECIPE.activation},
    "synflow": {"scope": "global", "iterations": 100},
}
"""Each pruning method's parameters and their defaults (the ``**params`` of :func:`prune`).

``scope``: ``"layer"`` keeps round(density * n_in * n_out) weights in every pruned
layer, ``"global"`` ranks all of them together and keeps round(density * their total
count), the per-layer counts being an outcome. ``epochs``, ``batch_size``,
``learning_rate``, ``activation``: the training of the dense network (``magnitude``,
``lottery``; :class:`~topokit.nn.SparseMLP`'s Adam), or the minibatch and activation that
``snip`` and ``grasp`` score with. ``rounds``: prune-and-retrain rounds of ``lottery``,
each keeping ``density ** (1 / rounds)`` of the weights left. ``rewind_step``: the
optimizer step whose weights ``lottery`` rewinds to (0: the initial weights).
``iterations``: ``synflow``'s rounds.
"""


@dataclass(frozen=True, eq=False)
class PruningResult:
    """The Topology a pruning method found, and for ``lottery`` the weights to train from.

    Parameters
    ----------
    topology : Topology
        The pruned network: every layer is a :class:`~topokit.LayerGraph` whose
        ``family`` is the method (``"dense"`` for a dense output layer) and whose
        ``params`` record the method's parameters, the density and the data set.
    method : str
        The pruning method.
    params : dict
        The method's parameters, defaults filled in.
    weights : list of scipy.sparse.csr_array or None
        ``lottery``: the rewound weights on the topology's edges, one (n_in, n_out)
        matrix per layer; None for the other methods (train from a fresh start).
    biases : list of ndarray or None
        ``lottery``: the rewound biases, one array of shape (n_out,) per layer.

    Examples
    --------
    >>> from topokit.nn import prune
    >>> result = prune("synflow", [8, 6, 3], density=0.5, rng=0, iterations=10)
    >>> result.topology
    Topology(sizes=[8, 6, 3], n_edges=42)
    >>> result.weights is None
    True
    """

    topology: Topology
    method: str
    params: dict = field(default_factory=dict)
    weights: list | None = None
    biases: list | None = None

    def model(self, **kwargs):
        """A :class:`~topokit.nn.SparseMLP` on the pruned topology, ready to train.

        For ``lottery`` its weights and biases are the rewound ones; for the other
        methods they are a fresh initialisation drawn from ``rng``.

        Parameters
        ----------
        **kwargs
            :class:`~topokit.nn.SparseMLP`'s parameters (``activation``, ``rng``, ...).

        Returns
        -------
        SparseMLP

        Raises
        ------
        TopokitError
            For a parameter that :class:`~topokit.nn.SparseMLP` rejects.

        Examples
        --------
        >>> from topokit.nn import prune
        >>> from topokit.nn.datasets import load_dataset
        >>> data = load_dataset("digits")
        >>> result = prune("lottery", [64, 16, 10], dataset=data, density=0.3, rng=0,
        ...                rounds=2, epochs=1)
        >>> model = result.model(rng=0)
        >>> model.layers[0].n_edges
        307
        """
        from topokit.nn.mlp import SparseMLP  # numba: only when a model is made (see above)

        model = SparseMLP(self.topology, **kwargs)
        self.load_weights(model)
        return model

    def load_weights(self, model) -> None:
        """Give ``model`` the rewound weights and biases (``lottery``); else leave it be.

        Parameters
        ----------
        model : SparseMLP
            A model on :attr:`topology` (a study's, made with its own recipe).

        Raises
        ------
        TopokitError
            If the model's layers are not those of :attr:`topology`.

        Examples
        --------
        >>> from topokit.nn import SparseMLP, prune
        >>> result = prune("lottery", [64, 16, 10], dataset="digits", density=0.3, rng=0,
        ...                rounds=1, epochs=1)
        >>> model = SparseMLP(result.topology, rng=1)
        >>> result.load_weights(model)
        >>> bool((model.layers[0].weight_data == result.weights[0].data).all())
        True
        """
        if self.weights is None:
            return
        layers = model.layers
        if len(layers) != len(self.weights) or not all(
            _same_pattern(layer.graph.biadjacency, weights)
            for layer, weights in zip(layers, self.weights, strict=False)
        ):
            raise TopokitError(
                f"model must be a SparseMLP on the pruned topology {self.topology!r}, got "
                f"one of sizes {[layers[0].n_in] + [layer.n_out for layer in layers]} and "
                f"{sum(layer.n_edges for layer in layers)} edges"
            )
        for layer, weights, bias in zip(layers, self.weights, self.biases, strict=True):
            layer.weight_data[:] = weights.data  # the same pattern, in the same order
            layer.bias[:] = bias

    def __repr__(self):
        rewound = ", rewound weights" if self.weights is not None else ""
        return f"PruningResult({self.method!r}, {self.topology!r}{rewound})"


def prune(
    method: str,
    sizes,
    *,
    density,
    dataset=None,
    rng=None,
    dense_output: bool = True,
    **params,
) -> PruningResult:
    """Prune the dense network of ``sizes`` to ``density`` with a published method.

    Parameters
    ----------
    method : {"magnitude", "lottery", "snip", "grasp", "synflow"}
        See the module's description and :data:`PRUNING_METHODS`.
    sizes : sequence of int
        Layer sizes ``[n_features, ..., n_classes]``; with a data set, its numbers of
        features and classes.
    density : float in (0, 1]
        Share of the weights kept in the pruned layers: round(density * n_in * n_out)
        in each (``scope="layer"``) or round(density * their total) in all
        (``scope="global"``).
    dataset : Dataset or str, optional
        The training data (a name for :func:`~topokit.nn.datasets.load_dataset`); every
        method but ``synflow`` needs it.
    rng : None, int or numpy.random.Generator, optional
        Draws the initial weights, the minibatches and the shuffles. Same seed, same
        topology; ties between equal scores go to the earlier layer, then the earlier
        (row-major) position.
    dense_output : bool, default True
        Keep the output layer (the last) dense and prune the layers before it.
    **params
        The method's parameters (:data:`PRUNING_METHODS`).

    Returns
    -------
    PruningResult
        ``.topology`` is the pruned Topology; ``.model()`` a SparseMLP on it.

    Raises
    ------
    TopokitError
        For an unknown method or parameter, a parameter out of range, a density that
        keeps no weight, a missing data set, or sizes that disagree with the data set.

    Examples
    --------
    >>> from topokit.nn import prune
    >>> result = prune("snip", [64, 32, 10], dataset="digits", density=0.1, rng=0)
    >>> [layer.n_edges for layer in result.topology]
    [205, 320]
    >>> result.topology[0].family
    'snip'
    """
    params = check_pruning(method, sizes, density=density, dense_output=dense_output, **params)
    sizes = [int(n) for n in sizes]
    density = float(density)
    n_pruned = len(sizes) - 1 - bool(dense_output)
    data = _dataset(method, dataset, sizes)
    seed = rng if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) else None
    generator = make_rng(rng)
    provenance = {**params, "density": density}
    if data is not None:
        provenance["dataset"] = data.name
    weights = biases = None
    notices = _Notices(method)
    if method in ("magnitude", "lottery"):
        masks, weights, biases = _train_and_prune(
            method, sizes, n_pruned, data, density, params, generator, notices
        )
    else:
        masks = _prune_at_init(method, sizes, n_pruned, data, density, params, generator, notices)
    layers = [
        LayerGraph.from_edges(
            *np.nonzero(mask), *mask.shape, family=method, params=provenance, seed=seed
        )
        for mask in masks
    ]
    if dense_output:
        output = layer_graph("dense", sizes[-2], sizes[-1])
        output.seed = seed
        layers.append(output)
    topology = Topology(layers)
    if weights is not None:
        weights = [
            _on_pattern(matrix, graph.biadjacency)
            for matrix, graph in zip(weights, topology, strict=True)
        ]
    return PruningResult(topology, method, params, weights, biases)


# ---------------------------------------------------------------- checks
def check_pruning(method: str, sizes, *, density, dense_output: bool = True, **params) -> dict:
    """Check what :func:`prune` would be asked, without pruning (and without data).

    Parameters
    ----------
    method : str
        A pruning method (:data:`PRUNING_METHODS`).
    sizes : sequence of int
        Layer sizes.
    density : float in (0, 1]
        Share of the weights kept, as :func:`prune` counts it.
    dense_output : bool, default True
        Keep the output layer dense.
    **params
        The method's parameters.

    Returns
    -------
    dict
        The method's parameters, its defaults (:data:`PRUNING_METHODS`) filled in.

    Raises
    ------
    TopokitError
        For an unknown method or parameter, a parameter out of range, sizes with no
        layer to prune, or a density that keeps no weight (naming the smallest that
        keeps one).

    Examples
    --------
    >>> from topokit.nn import check_pruning
    >>> check_pruning("synflow", [8, 6, 3], density=0.5)["iterations"]
    100
    >>> check_pruning("snip", [8, 6, 3], density=0.01)
    Traceback (most recent call last):
    ...
    topokit._errors.TopokitError: density=0.01 keeps 0 of the 48 weights with scope ...
    """
    if method not in PRUNING_METHODS:
        raise TopokitError(f"method must be one of {', '.join(PRUNING_METHODS)}, got {method!r}")
    params = _method_params(method, params)
    sizes = _check_sizes(sizes)
    if dense_output and len(sizes) < 3:
        raise TopokitError(
            f"dense_output=True keeps the output layer dense, and sizes {sizes} has no "
            "other layer to prune; give dense_output=False to prune the only layer"
        )
    density = check_real("density", density, low=0.0, high=1.0, low_open=True)
    n_pruned = len(sizes) - 1 - bool(dense_output)
    _check_reachable(density, list(itertools.pairwise(sizes))[:n_pruned], params["scope"])
    return params


def _method_params(method: str, given: dict) -> dict:
    defaults = PRUNING_METHODS[method]
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise TopokitError(
            f"unknown parameter {unknown[0]!r} for pruning method {method!r}; its "
            f"parameters: {', '.join(defaults)}"
        )
    params = {**defaults, **given}
    if params["scope"] not in _SCOPES:
        raise TopokitError(f"scope must be 'layer' or 'global', got {params['scope']!r}")
    for name in ("epochs", "batch_size", "rounds", "iterations"):
        if name in params:
            params[name] = check_int(name, params[name], minimum=1)
    if "rewind_step" in params:
        params["rewind_step"] = check_int("rewind_step", params["rewind_step"], minimum=0)
    if "learning_rate" in params:
        params["learning_rate"] = check_real(
            "learning_rate", params["learning_rate"], low=0.0, low_open=True
        )
    if "activation" in params:
        get_activation(params["activation"])  # raises for an unknown name
    return params


def _check_sizes(sizes) -> list[int]:
    if isinstance(sizes, str) or not hasattr(sizes, "__len__") or len(sizes) < 2:
        raise TopokitError(f"sizes must list at least two layer sizes, got {sizes!r}")
    return [check_int(f"sizes[{k}]", n, minimum=1) for k, n in enumerate(sizes)]


def _check_reachable(density: float, shapes, scope: str) -> None:
    """Raise unless ``density`` keeps at least one weight (per layer, or in all)."""
    if scope == "layer":
        for k, (n_in, n_out) in enumerate(shapes):
            if _kept(density, n_in * n_out) < 1:
                raise TopokitError(
                    f"density={density} keeps 0 of the {n_in * n_out} weights of layer {k} "
                    f"({n_in} -> {n_out}) with scope 'layer'; the smallest density that "
                    f"keeps one is {1 / (n_in * n_out):.3g}"
                )
    else:
        total = sum(n_in * n_out for n_in, n_out in shapes)
        if _kept(density, total) < 1:
            raise TopokitError(
                f"density={density} keeps 0 of the {total} weights with scope 'global'; "
                f"the smallest density that keeps one is {1 / total:.3g}"
            )


def _dataset(method: str, dataset, sizes):
    """The Dataset to score or train with (None for synflow), checked against ``sizes``."""
    if method == "synflow":
        return None
    if dataset is None:
        raise TopokitError(
            f"dataset is required by pruning method {method!r} (it scores or trains on "
            "data; only 'synflow' is data-free), got None"
        )
    from topokit.nn.datasets import Dataset, load_dataset  # off the CLI's start (see above)

    data = load_dataset(dataset) if isinstance(dataset, str) else dataset
    if not isinstance(data, Dataset):
        raise TopokitError(
            f"dataset must be a Dataset or a data set name, got {type(dataset).__name__}"
        )
    if sizes[0] != data.n_features or sizes[-1] != data.n_classes:
        raise TopokitError(
            f"sizes must run from the {data.n_features} features to the {data.n_classes} "
            f"classes of dataset {data.name!r}, got {sizes}"
        )
    return data


def _kept(density: float, n: int) -> int:
    """round(density * n), halves up (the edge count of a density, as families count it)."""
    return int(np.floor(density * n + 0.5))


# ------------------------------------------------------------- selection
def _top_mask(scores: np.ndarray, k: int) -> np.ndarray:
    """A boolean array, True at the ``k`` largest entries of the 1-D ``scores``.

    Ties at the threshold go to the earlier indices, so the choice is deterministic.
    """
    if k >= scores.size:
        return np.ones(scores.size, dtype=bool)
    if k <= 0:
        return np.zeros(scores.size, dtype=bool)
    threshold = _kth_largest(scores, k)
    keep = scores > threshold
    need = k - int(np.count_nonzero(keep))
    keep[np.flatnonzero(scores == threshold)[:need]] = True
    return keep


_SAMPLE = 100_000  # scores sampled to bracket the k-th largest of a large array
_MARGIN = 2_000  # sample positions either side of the estimate (~12 standard deviations)


def _kth_largest(scores: np.ndarray, k: int) -> float:
    """The ``k``-th largest entry of the 1-D ``scores`` (1 <= k <= scores.size), exactly.

    ``np.partition`` of a whole large array is slow on scores laid out by row and column
    scales (SynFlow's, SNIP's), where its pivots go wrong; so a strided sample brackets
    the answer, and only the entries inside the bracket (a few per cent) are partitioned.
    Where the bracket misses, the whole array is.
    """
    n = scores.size
    if n > 20 * _SAMPLE:
        sample = np.sort(scores[:: n // _SAMPLE])
        position = round((n - k) / n * (sample.size - 1))
        low = sample[max(position - _MARGIN, 0)]
        high = sample[min(position + _MARGIN, sample.size - 1)]
        n_above = int(np.count_nonzero(scores > high))
        inside = scores[(scores >= low) & (scores <= high)]
        need = k - n_above  # the k-th largest is the need-th largest inside, if inside
        if 1 <= need <= inside.size:
            return inside[np.argpartition(inside, inside.size - need)[inside.size - need]]
    return np.partition(scores, n - k)[n - k]


def _keep(scores, masks, density: float, scope: str) -> list[np.ndarray]:
    """The masks that keep the ``density`` share of the best-scored weights.

    ``scores`` and ``masks`` hold one (n_in, n_out) array per pruned layer; a weight
    outside its mask is never kept (its score is overwritten with -inf, in place).
    ``density`` is the share of each layer's (or all layers') positions kept,
    round(density * n) of them.
    """
    for score in scores:
        if np.isnan(score).any():
            raise TopokitError(
                "the pruning scores hold NaN (the network's outputs overflow): use a "
                "smaller network or a different method"
            )
    for score, mask in zip(scores, masks, strict=True):
        score[~mask] = -np.inf
    if scope == "layer":
        return [
            _top_mask(score.ravel(), _kept(density, score.size)).reshape(score.shape)
            for score in scores
        ]
    offsets = np.cumsum([0] + [score.size for score in scores])
    kept = _top_mask(
        np.concatenate([score.ravel() for score in scores]), _kept(density, offsets[-1])
    )
    return [
        kept[offsets[k] : offsets[k + 1]].reshape(score.shape) for k, score in enumerate(scores)
    ]


# ------------------------------------------------------ pruning at init
def _prune_at_init(method, sizes, n_pruned, data, density, params, generator, notices):
    """The masks of ``snip``, ``grasp`` or ``synflow`` on the initial dense network."""
    init = "he" if method == "synflow" else get_activation(params["activation"]).init
    weights = _dense_scores.initial_weights(sizes, init, generator)
    masks = [np.ones(w.shape, dtype=bool) for w in weights[:n_pruned]]
    if method == "synflow":
        iterations = params["iterations"]
        masked = [np.abs(w) for w in weights]
        for i in range(1, iterations + 1):
            for matrix, mask in zip(masked, masks, strict=False):  # the pruned layers
                matrix[~mask] = 0.0
            scores = _dense_scores.synflow_scores(masked)[:n_pruned]
            masks = _keep(scores, masks, density ** (i / iterations), params["scope"])
            notices.tick(f"iteration {i} of {iterations} done")
        return masks
    X, y = _minibatch(data, params["batch_size"], generator)
    if method == "snip":
        _, grads = _dense_scores.gradient(weights, params["activation"], X, y)
        scores = [np.abs(g * w) for g, w in zip(grads[:n_pruned], weights, strict=False)]
    else:
        _, hessian_grads = _dense_scores.hessian_gradient_product(
            weights, params["activation"], X, y
        )
        # GraSP removes the largest -w * (H g): it keeps the largest w * (H g)
        scores = [w * hg for w, hg in zip(weights[:n_pruned], hessian_grads, strict=False)]
    return _keep(scores, masks, density, params["scope"])


def _minibatch(data, batch_size, generator):
    """``batch_size`` training samples drawn without replacement (all if fewer)."""
    n = data.n_train
    rows = np.sort(generator.choice(n, size=min(batch_size, n), replace=False))
    return np.asarray(data.X_train[rows], dtype=np.float64), np.asarray(data.y_train[rows])


# ------------------------------------------------ magnitude and lottery
def _train_and_prune(method, sizes, n_pruned, data, density, params, generator, notices):
    """Masks of ``magnitude`` or ``lottery``; for ``lottery`` the rewound weights too."""
    dense = Topology(
        [layer_graph("dense", n_in, n_out) for n_in, n_out in itertools.pairwise(sizes)]
    )
    masks = [
        np.ones((n_in, n_out), dtype=bool)
        for n_in, n_out in list(itertools.pairwise(sizes))[:n_pruned]
    ]
    rewind_step = params.get("rewind_step")
    model = _model(dense, params, generator)
    rewound = _train(model, data, params, rewind_step, notices, "the dense network")
    if method == "magnitude":
        return _keep(_abs_weights(model)[:n_pruned], masks, density, params["scope"]), None, None
    rounds = params["rounds"]
    for r in range(1, rounds + 1):
        masks = _keep(
            _abs_weights(model)[:n_pruned], masks, density ** (r / rounds), params["scope"]
        )
        if r < rounds:
            pattern = Topology([LayerGraph(mask) for mask in masks] + list(dense)[n_pruned:])
            model = _model(pattern, params, generator)
            _load_weights(model, rewound)
            _train(model, data, params, None, notices, f"round {r + 1} of {rounds}")
    weights = [matrix for matrix, _ in rewound]
    biases = [bias for _, bias in rewound]
    return masks, weights, biases


def _model(topology, params, generator):
    from topokit.nn.mlp import SparseMLP  # numba: only when training (see the module)

    return SparseMLP(
        topology,
        params["activation"],
        learning_rate=params["learning_rate"],
        rng=generator,
    )


def _train(model, data, params, snapshot_step, notices, stage):
    """Train ``epochs`` epochs of shuffled minibatches; the weights at ``snapshot_step``.

    The one training loop of :mod:`topokit.nn.training` (the minibatches shuffled by the
    model's Generator, the pruning's own: see :func:`_model`), with the snapshot and the
    progress notices as a step hook. The snapshot is a list of (dense weight matrix, bias) per
    layer, or None when ``snapshot_step`` is None.
    """
    batch_size, epochs = params["batch_size"], params["epochs"]
    n = data.n_train
    steps = epochs * -(-n // batch_size)
    if snapshot_step is not None and snapshot_step > steps:
        raise TopokitError(
            f"rewind_step must be <= the {steps} steps of training ({epochs} epochs of "
            f"{-(-n // batch_size)} minibatches), got {snapshot_step}"
        )
    hook = _Rewind(snapshot_step, notices, stage, epochs)
    X = np.ascontiguousarray(data.X_train, dtype=model.dtype)
    labels = np.asarray(data.y_train, dtype=np.int64)
    _run_loop(
        model,
        X,
        labels,
        epochs=epochs,
        batch_size=min(batch_size, n),
        rate=lambda epoch: model.learning_rate,
        hooks=[hook],
    )
    return hook.snapshot


class _Rewind(TrainingHook):
    """The weights after step ``snapshot_step`` (0: before the first), and the notices."""

    def __init__(self, snapshot_step, notices, stage, epochs):
        self.snapshot_step = snapshot_step
        self.notices, self.stage, self.epochs = notices, stage, epochs
        self.snapshot = None

    def on_fit_start(self, state):
        if self.snapshot_step == 0:
            self.snapshot = _dense_weights(state.model)

    def on_step_end(self, state):
        if state.step == self.snapshot_step:
            self.snapshot = _dense_weights(state.model)
        self.notices.tick(f"training {self.stage}, epoch {state.epoch + 1} of {self.epochs}")


class _Notices:
    """One INFO line on the ``"topokit.nn"`` logger at most every ``_NOTICE_SECONDS``."""

    def __init__(self, method: str):
        self.method = method
        self.last = time.monotonic()

    def tick(self, where: str) -> None:
        now = time.monotonic()
        if now - self.last >= _NOTICE_SECONDS:
            self.last = now
            _LOGGER.info("pruning with %s: %s", self.method, where)


def _dense_weights(model) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each layer's (weights as a dense (n_in, n_out) float64 matrix, bias copy)."""
    return [
        (layer.weight.toarray().astype(np.float64), layer.bias.copy()) for layer in model.layers
    ]


def _abs_weights(model) -> list[np.ndarray]:
    return [np.abs(matrix) for matrix, _ in _dense_weights(model)]


def _load_weights(model, weights) -> None:
    for layer, (matrix, bias) in zip(model.layers, weights, strict=True):
        layer.weight_data[:] = _pattern_values(matrix, layer.graph.biadjacency)
        layer.bias[:] = bias


def _pattern_values(matrix: np.ndarray, pattern: sp.csr_array) -> np.ndarray:
    """The entries of the dense ``matrix`` at the stored positions of ``pattern``."""
    rows = np.repeat(np.arange(pattern.shape[0]), np.diff(pattern.indptr))
    return matrix[rows, pattern.indices]


def _same_pattern(a: sp.csr_array, b: sp.csr_array) -> bool:
    return (
        a.shape == b.shape
        and np.array_equal(a.indptr, b.indptr)
        and np.array_equal(a.indices, b.indices)
    )


def _on_pattern(matrix, pattern: sp.csr_array) -> sp.csr_array:
    """``matrix`` restricted to the stored positions of ``pattern``, as a CSR array."""
    return sp.csr_array(
        (_pattern_values(matrix, pattern), pattern.indices.copy(), pattern.indptr.copy()),
        shape=pattern.shape,
    )
