"""Dynamic sparse training: layers that rewire during training (SET, RigL), truly sparse.

A rule drops a fraction of each sparse layer's edges, those of smallest ``|w|``, and
regrows as many at positions that were empty:

- ``"set"`` (Mocanu et al. 2018): at uniformly random empty positions; the new weights are
  drawn as the layer's weights were at the start (He or Glorot, scaled by each neuron's
  degree in the new pattern).
- ``"rigl"`` (Evci et al. 2020): at the empty positions with the largest ``|dL/dW|`` on the
  current minibatch; the new weights start at zero. The drop fraction anneals by cosine
  from ``drop_fraction`` to 0 at ``update_until`` (a fraction of the planned steps).
- ``"static"``: no change (the default of the training loop).

Every layer keeps exactly its edge count. The optimizer's state (momentum, Adam moments)
of a dropped edge is discarded; that of a new edge starts at zero. No update allocates a
dense ``n_in x n_out`` array beyond :data:`BLOCK_ELEMENTS` entries: RigL's candidate
gradients ``Xᵀ Δ`` are computed a block of output neurons at a time, keeping the top
``k`` of each block, and SET draws empty positions by rejection against the sorted keys
of the present edges, never listing the empty ones.

:class:`DynamicSparsity` is a training-loop hook (``on_fit_start``, ``on_step_end``,
``on_epoch_end``, ``on_fit_end``); :func:`rewire_layer` is the surgery it runs on one
layer, usable on its own.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from topokit._errors import TopokitError
from topokit._validation import check_int, check_real, make_rng
from topokit.graph import LayerGraph
from topokit.nn.training import TrainingHook
from topokit.topology import Topology

__all__ = ["BLOCK_ELEMENTS", "DYNAMIC_RULES", "DynamicSparsity", "rewire_layer"]

DYNAMIC_RULES = ("static", "set", "rigl")

#: Entries of the largest dense block of candidate gradients RigL holds at once (8 MB in
#: float32): a layer with at most this many positions is scored in one block.
BLOCK_ELEMENTS = 1 << 21

_INITS = ("zeros", "he", "glorot")


# --------------------------------------------------------------- validation
def _check_rule(rule) -> str:
    if not isinstance(rule, str) or rule not in DYNAMIC_RULES:
        raise TopokitError(f"dynamic must be one of {list(DYNAMIC_RULES)}, got {rule!r}")
    return rule


def _check_drop_fraction(value) -> float:
    return check_real("drop_fraction", value, low=0.0, high=1.0, low_open=True, high_open=True)


def _check_update_interval(value) -> int | None:
    if value is None:
        return None
    return check_int("update_interval", value, minimum=1)


def _check_update_until(value) -> float:
    return check_real("update_until", value, low=0.0, high=1.0, low_open=True)


def _is_sparse(layer) -> bool:
    return layer.n_edges < layer.n_in * layer.n_out


def _check_has_sparse_layer(model, rule) -> None:
    if not any(_is_sparse(layer) for layer in model.layers):
        shapes = [(layer.n_in, layer.n_out) for layer in model.layers]
        raise TopokitError(
            f"dynamic={rule!r} needs a topology with at least one sparse layer (fewer edges "
            f"than n_in * n_out), got only complete layers of shapes {shapes}"
        )


# ------------------------------------------------------------ edge keys
def _keys(layer) -> np.ndarray:
    """Flat keys ``i * n_out + j`` of the layer's edges: ascending (the CSR is canonical)."""
    csr = layer.graph.biadjacency
    rows = np.repeat(np.arange(layer.n_in, dtype=np.int64), np.diff(csr.indptr))
    return rows * layer.n_out + csr.indices.astype(np.int64)


def _smallest_magnitudes(weights, n) -> np.ndarray:
    """Indices of the ``n`` entries of smallest ``|w|``, ties to the lower index; ascending."""
    if n <= 0:
        return np.empty(0, dtype=np.int64)
    order = np.argsort(np.abs(weights), kind="stable")
    return np.sort(order[:n])


def _top_k(scores, k, keys=None) -> np.ndarray:
    """Indices of the ``k`` largest ``scores`` (all >= 0 count; negative never), ties to the
    smaller key (to the lower index when ``keys`` is None)."""
    valid = int(np.count_nonzero(scores >= 0))
    k = min(k, valid)
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    threshold = np.partition(scores, scores.size - k)[scores.size - k]
    above = np.flatnonzero(scores > threshold)
    tied = np.flatnonzero(scores == threshold)
    need = k - above.size
    if keys is not None and tied.size > need:
        tied = tied[np.argsort(keys[tied], kind="stable")]
    return np.concatenate([above, tied[:need]])


# ------------------------------------------------------------- regrowth
def _sample_empty(keys, n_positions, n, rng) -> np.ndarray:
    """``n`` distinct keys drawn uniformly among the positions not in ``keys`` (sorted).

    Rejection sampling: uniform draws in ``[0, n_positions)``, those of present edges and
    repeats dropped, in the order drawn (the first ``n`` distinct keys of an i.i.d.
    uniform sequence are a uniform random subset). Never lists the empty positions.
    """
    chosen = np.empty(0, dtype=np.int64)
    empty_share = 1.0 - keys.size / n_positions
    while chosen.size < n:
        missing = n - chosen.size
        draws = rng.integers(0, n_positions, size=int(missing / empty_share * 1.1) + 16)
        at = np.searchsorted(keys, draws)
        if keys.size:
            present = keys[np.minimum(at, keys.size - 1)] == draws
        else:
            present = np.zeros(draws.size, dtype=bool)
        draws = np.concatenate([chosen, draws[~present]])
        _, first = np.unique(draws, return_index=True)
        chosen = draws[np.sort(first)]
    return np.sort(chosen[:n])


def _layer_signals(model, X, y):
    """Per layer its input ``(batch, n_in)`` and ``dL/dZ`` of its output ``(batch, n_out)``.

    A forward and backward pass of the mean softmax cross-entropy on ``(X, y)`` with the
    model's current weights; ``dL/dW = inputᵀ · delta``. The weight decay adds nothing
    at empty positions (their weight is zero).
    """
    layers = model.layers
    dtype = layers[0].dtype
    a = np.ascontiguousarray(X, dtype=dtype)
    y = np.asarray(y, dtype=np.int64)
    inputs = []
    for k, layer in enumerate(layers):
        inputs.append(a)
        z = layer.forward(a)
        layer._input_t = None
        if k < len(layers) - 1:
            model.activation.apply(z)
        a = np.ascontiguousarray(z)
    logits = a.astype(np.float64)
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    probs[np.arange(y.size), y] -= 1.0
    delta = (probs / y.size).astype(dtype)
    deltas = [None] * len(layers)
    for k in range(len(layers) - 1, -1, -1):
        deltas[k] = delta
        if k == 0:
            break
        # dL/dinput = delta Wᵀ, times the activation's derivative at the layer's input
        grad = np.ascontiguousarray((layers[k].weight @ delta.T).T, dtype=dtype)
        model.activation.backprop(inputs[k], grad)
        delta = grad
    return inputs, deltas


def _top_gradient_empty(layer, x, delta, n, block_elements=BLOCK_ELEMENTS) -> np.ndarray:
    """Keys of the ``n`` empty positions of largest ``|Σ_b x[b, i] delta[b, j]|`` (sorted).

    Ties go to the smaller key. Scores a block of output neurons at a time (at most
    ``block_elements`` positions), keeping each block's top ``n`` and merging them.
    """
    n_in, n_out = layer.n_in, layer.n_out
    csc = layer.graph.biadjacency.tocsc()
    xt = np.ascontiguousarray(x.T)
    width = max(1, min(n_out, block_elements // max(n_in, 1)))
    best_scores = np.empty(0, dtype=xt.dtype)
    best_keys = np.empty(0, dtype=np.int64)
    for j0 in range(0, n_out, width):
        j1 = min(n_out, j0 + width)
        scores = xt @ delta[:, j0:j1]  # (n_in, j1 - j0): the block's gradient
        np.abs(scores, out=scores)
        start, stop = csc.indptr[j0], csc.indptr[j1]
        columns = np.repeat(np.arange(j1 - j0), np.diff(csc.indptr[j0 : j1 + 1]))
        scores[csc.indices[start:stop], columns] = -1  # present edges are no candidates
        flat = scores.ravel()
        if best_keys.size == n:
            # only scores reaching the k-th best so far can enter (ties: a smaller key)
            candidates = np.flatnonzero(flat >= best_scores.min())
            picked = candidates[_top_k(flat[candidates], n)]
        else:
            picked = _top_k(flat, n)  # flat order in the block is key order
        rows, cols = np.divmod(picked, j1 - j0)
        keys = rows.astype(np.int64) * n_out + j0 + cols
        all_scores = np.concatenate([best_scores, flat[picked]])
        all_keys = np.concatenate([best_keys, keys])
        keep = _top_k(all_scores, n, all_keys)
        best_scores, best_keys = all_scores[keep], all_keys[keep]
        del scores, flat
    return np.sort(best_keys)


# --------------------------------------------------------------- surgery
def _optimizer_states(optimizer, n_layers) -> list:
    """The optimizer's state arrays of each parameter: lists in the model's parameter order.

    The model passes ``[W_0, b_0, W_1, b_1, ...]`` to the optimizer; SGD keeps a velocity
    per array, Adam a first and a second moment. Before the first step there is none.
    """
    if optimizer is None:
        return []
    try:
        states = list(optimizer.state)
    except AttributeError:
        raise TopokitError(
            f"optimizer must keep its per-parameter arrays in a .state attribute, as "
            f"topokit's SGD and Adam do, got {type(optimizer).__name__}"
        ) from None
    for arrays in states:
        if len(arrays) != 2 * n_layers:
            raise TopokitError(
                f"optimizer state must hold 2 arrays per layer (weights, bias) for "
                f"{n_layers} layers, got {len(arrays)}"
            )
    return states


def _rebind(layer, indptr, indices, init, rng):
    """Point ``layer`` at a new pattern (same edge count); returns the fresh weights.

    The pattern's derived arrays are made by a fresh :class:`SparseLinear` on the new
    graph (drawn with ``init``, as the layer was at the start) and moved into ``layer``;
    its parameter arrays stay the same objects.
    """
    from topokit.nn.linear import SparseLinear  # numba: off the parser's path

    csr = sp.csr_array(
        (np.ones(indices.size), indices, indptr), shape=(layer.n_in, layer.n_out), copy=False
    )
    old = layer.graph
    graph = LayerGraph(csr, family=old.family, params=old.params, seed=old.seed)
    threshold = layer.dense_threshold
    fresh = SparseLinear(
        graph,
        init=init,
        dtype=layer.dtype,
        dense_threshold=None if math.isinf(threshold) else threshold,
        rng=rng,
    )
    parameters = ("weight_data", "bias", "weight_grad", "bias_grad")
    for name, value in vars(fresh).items():
        if name not in parameters:
            setattr(layer, name, value)
    return graph, fresh.weight_data


def rewire_layer(model, index, drop, grow, *, init="zeros", rng=None, optimizer=None):
    """Remove the edges ``drop`` of layer ``index`` and add the edges ``grow``, in place.

    Positions are flat keys ``i * n_out + j`` (input i, output j). The layer keeps its
    edge count and its CSR stays canonical (sorted, no repeats); kept edges keep their
    weights and optimizer state; new edges get weights drawn by ``init`` (as at the start,
    scaled by the degrees of the new pattern) and zero optimizer state. The model's
    :attr:`topology` gets the new layer graph.

    Parameters
    ----------
    model : SparseMLP
        Its ``layers[index]`` changes, and ``topology``.
    index : int
        The layer.
    drop : array_like of int
        Keys of present edges to remove.
    grow : array_like of int
        Keys of empty positions to fill, as many as ``drop``.
    init : {"zeros", "he", "glorot"}, default "zeros"
        How the new weights start: zero, or drawn as :class:`SparseLinear` draws them.
    rng : None, int or numpy.random.Generator, optional
        Source of the new weights when ``init`` draws them.
    optimizer : SGD or Adam, optional
        The optimizer whose state to carry over; the model's by default.

    Returns
    -------
    LayerGraph
        The layer's new graph.

    Raises
    ------
    TopokitError
        For an ``index`` out of range, an unknown ``init``, ``drop`` and ``grow`` of
        different sizes, a ``drop`` key that is no edge, a ``grow`` key out of range, already
        an edge or repeated.

    Examples
    --------
    >>> import numpy as np
    >>> from topokit import LayerGraph, Topology
    >>> from topokit.nn import SparseMLP
    >>> from topokit.nn.dynamic import rewire_layer
    >>> model = SparseMLP(Topology([LayerGraph(np.eye(2))]), rng=0)
    >>> model.layers[0].weight_data[:] = [1.0, 2.0]    # W = [[1, 0], [0, 2]]
    >>> graph = rewire_layer(model, 0, drop=[0], grow=[1])    # (0, 0) -> (0, 1)
    >>> graph.biadjacency.toarray().tolist(), model.layers[0].weight_data.tolist()
    ([[0.0, 1.0], [0.0, 1.0]], [0.0, 2.0])
    """
    index = check_int("index", index, minimum=0, maximum=len(model.layers) - 1)
    if init not in _INITS:
        raise TopokitError(f"init must be one of {list(_INITS)}, got {init!r}")
    layer = model.layers[index]
    keys = _keys(layer)
    drop = np.unique(np.asarray(drop, dtype=np.int64).ravel())
    grow = np.asarray(grow, dtype=np.int64).ravel()
    if drop.size != grow.size:
        raise TopokitError(
            f"grow must give as many distinct positions as drop ({drop.size}), got {grow.size}"
        )
    at = np.searchsorted(keys, drop)
    if drop.size and (at.max() >= keys.size or np.any(keys[np.minimum(at, keys.size - 1)] != drop)):
        missing = drop[(at >= keys.size) | (keys[np.minimum(at, keys.size - 1)] != drop)][0]
        raise TopokitError(f"drop must name edges of layer {index}, got position {missing}")
    n_positions = layer.n_in * layer.n_out
    if grow.size and (grow.min() < 0 or grow.max() >= n_positions):
        bad = grow[(grow < 0) | (grow >= n_positions)][0]
        raise TopokitError(
            f"grow must name positions in [0, {n_positions}) of layer {index}, got {bad}"
        )
    grow = np.sort(grow)
    if np.any(grow[1:] == grow[:-1]):
        raise TopokitError(
            f"grow must not repeat a position, got {grow[1:][grow[1:] == grow[:-1]][0]}"
        )
    hit = np.searchsorted(keys, grow)
    taken = keys[np.minimum(hit, keys.size - 1)] == grow if keys.size else np.zeros(0, bool)
    if np.any(taken):
        raise TopokitError(
            f"grow must name empty positions of layer {index}, got the edge {grow[taken][0]}"
        )
    # checked before anything changes: an unknown optimizer leaves the layer as it was
    n_layers = len(model.layers)
    states = _optimizer_states(model.optimizer if optimizer is None else optimizer, n_layers)
    kept = np.ones(keys.size, dtype=bool)
    kept[at] = False
    merged = np.concatenate([keys[kept], grow])
    order = np.argsort(merged, kind="stable")
    new_keys = merged[order]
    is_new = order >= kept.sum()  # entries of the new order that are grown edges

    rows, cols = np.divmod(new_keys, layer.n_out)
    index_dtype = layer.graph.biadjacency.indices.dtype
    indptr = np.zeros(layer.n_in + 1, dtype=index_dtype)
    np.cumsum(np.bincount(rows, minlength=layer.n_in), out=indptr[1:])
    graph, drawn = _rebind(layer, indptr, cols.astype(index_dtype), init, make_rng(rng))

    def carry(array, new_values):
        """Kept entries then ``new_values`` (in key order of ``grow``), into key order."""
        array[:] = np.concatenate([array[kept], new_values])[order]

    carry(layer.weight_data, drawn[is_new])
    layer.weight_grad[:] = 0
    zeros = np.zeros(grow.size, dtype=layer.dtype)
    for arrays in states:
        carry(arrays[2 * index], zeros)
    if not isinstance(getattr(type(model), "topology", None), property):
        # a model whose topology is a plain attribute; one that derives it from its
        # layers' graphs follows the new graph by itself
        model.topology = Topology(
            [graph if k == index else g for k, g in enumerate(model.topology)]
        )
    return graph


# ------------------------------------------------------------------ hook
class DynamicSparsity(TrainingHook):
    """A training-loop hook that rewires the sparse layers during training: SET or RigL.

    At each update every sparse layer (fewer edges than ``n_in * n_out``) drops the
    ``floor(f * n_edges)`` edges of smallest ``|w|`` (ties to the lower position) and
    regrows as many at positions that were empty before the update: at random for
    ``"set"``, with new weights drawn as at the start (He for the hidden layers of a ReLU
    network, Glorot otherwise, scaled by the degrees of the new pattern); at the largest
    ``|dL/dW|`` on the current minibatch for ``"rigl"``, with new weights at zero. The
    optimizer state of dropped edges is discarded and that of new edges starts at zero.

    Updates come every ``update_interval`` steps (``on_step_end``), or once per epoch
    after validation (``on_epoch_end``) when it is None, never on the last planned
    step nor once a hook before it has set ``state.stop``. For ``"set"``
    ``f = drop_fraction``; for ``"rigl"`` it anneals by cosine,
    ``f = drop_fraction / 2 · (1 + cos(π t / T))`` at step ``t`` with
    ``T = update_until · total_steps``, and there is no update from ``T`` on (no
    annealing when the loop does not know ``total_steps``).

    Parameters
    ----------
    rule : {"static", "set", "rigl"}, default "set"
        ``"static"`` changes nothing.
    drop_fraction : float, default 0.3
        In (0, 1).
    update_interval : int or None, default None
        Steps between updates (>= 1); None: once per epoch.
    update_until : float, default 0.75
        In (0, 1]: the fraction of training after which RigL stops updating.
    rng : None, int or numpy.random.Generator, optional
        Source of SET's positions and new weights. Same seed, same training.

    Attributes
    ----------
    changes : list of dict
        One entry per layer and update: ``step``, ``epoch``, ``layer``, ``n_changed``
        (edges dropped, as many grown) and ``drop_fraction`` (the fraction used).

    Raises
    ------
    TopokitError
        For an unknown rule, ``drop_fraction`` outside (0, 1), ``update_interval < 1`` or
        ``update_until`` outside (0, 1]; at the start of training, for ``"set"`` or
        ``"rigl"`` on a topology without a sparse layer.

    Examples
    --------
    >>> import numpy as np
    >>> from topokit import Topology
    >>> from topokit.nn import SparseMLP
    >>> from topokit.nn.dynamic import DynamicSparsity
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((64, 20)), rng.integers(0, 2, 64)
    >>> model = SparseMLP(Topology.build([20, 30, 2], "erdos_renyi", density=0.2, rng=0), rng=0)
    >>> hook = DynamicSparsity("rigl", drop_fraction=0.5, rng=0)
    >>> _ = model.train_step(X, y)
    >>> hook.update(model, X, y)    # one update now: edges changed per layer
    [60, 6]
    >>> [layer.n_edges for layer in model.layers]
    [120, 12]
    >>> [round(f, 3) for f in hook.ever_active_fraction()]
    [0.3, 0.3]
    """

    def __init__(
        self, rule="set", *, drop_fraction=0.3, update_interval=None, update_until=0.75, rng=None
    ):
        self.rule = _check_rule(rule)
        self.drop_fraction = _check_drop_fraction(drop_fraction)
        self.update_interval = _check_update_interval(update_interval)
        self.update_until = _check_update_until(update_until)
        self._rng = make_rng(rng)
        self.changes = []
        self._ever = None  # per layer: sorted keys of every position ever an edge

    def __repr__(self):
        return (
            f"DynamicSparsity({self.rule!r}, drop_fraction={self.drop_fraction}, "
            f"update_interval={self.update_interval}, update_until={self.update_until})"
        )

    # ------------------------------------------------------- loop events
    def on_fit_start(self, state) -> None:
        """Check the model and start the record of positions ever active.

        Parameters
        ----------
        state : TrainingState
            Uses ``state.model``.

        Raises
        ------
        TopokitError
            For ``"set"`` or ``"rigl"`` on a model without a sparse layer.

        Examples
        --------
        >>> from types import SimpleNamespace
        >>> from topokit import Topology
        >>> from topokit.nn import SparseMLP
        >>> from topokit.nn.dynamic import DynamicSparsity
        >>> model = SparseMLP(Topology.build([4, 3], "dense"))
        >>> DynamicSparsity("set").on_fit_start(SimpleNamespace(model=model))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        topokit._errors.TopokitError: dynamic='set' needs a topology with at least one sparse ...
        """
        if self.rule != "static":
            _check_has_sparse_layer(state.model, self.rule)
        self._start_record(state.model)

    def on_step_end(self, state) -> None:
        """Update when ``update_interval`` is set and ``state.step`` is a multiple of it.

        Parameters
        ----------
        state : TrainingState
            Uses ``model``, ``optimizer``, ``step``, ``total_steps``, ``epoch``,
            ``X_batch`` and ``y_batch``.

        Examples
        --------
        >>> from topokit.nn.dynamic import DynamicSparsity
        >>> DynamicSparsity("set", update_interval=100).update_interval
        100
        """
        if self.rule == "static" or self.update_interval is None:
            return
        if state.step % self.update_interval == 0:
            self._scheduled_update(state)

    def on_epoch_end(self, state) -> None:
        """Update once per epoch (after validation) when ``update_interval`` is None.

        Parameters
        ----------
        state : TrainingState
            As for :meth:`on_step_end`; the minibatch is the epoch's last.

        Examples
        --------
        >>> from topokit.nn.dynamic import DynamicSparsity
        >>> DynamicSparsity("rigl").update_interval is None    # once per epoch
        True
        """
        if self.rule == "static" or self.update_interval is not None:
            return
        self._scheduled_update(state)

    def on_fit_end(self, state) -> None:
        """Nothing to do: the record stays readable on the hook.

        Parameters
        ----------
        state : TrainingState

        Examples
        --------
        >>> from topokit.nn.dynamic import DynamicSparsity
        >>> DynamicSparsity("set").on_fit_end(None)
        """

    # ------------------------------------------------------------ rules
    def drop_fraction_at(self, step, total_steps=None) -> float:
        """The fraction of edges an update at ``step`` replaces.

        Parameters
        ----------
        step : int
            Optimizer steps done.
        total_steps : int or None, optional
            Steps planned for the whole training; None: unknown (no annealing).

        Returns
        -------
        float
            ``drop_fraction`` for SET; for RigL its cosine annealing, 0 from
            ``update_until · total_steps`` on; 0 for ``"static"``.

        Examples
        --------
        >>> from topokit.nn.dynamic import DynamicSparsity
        >>> rigl = DynamicSparsity("rigl", drop_fraction=0.4, update_until=0.5)
        >>> [round(rigl.drop_fraction_at(t, 100), 3) for t in (0, 25, 50, 90)]
        [0.4, 0.2, 0.0, 0.0]
        """
        if self.rule == "static":
            return 0.0
        if self.rule == "set" or total_steps is None:
            return self.drop_fraction
        end = self.update_until * total_steps
        if step >= end:
            return 0.0
        return self.drop_fraction / 2 * (1 + math.cos(math.pi * step / end))

    def _scheduled_update(self, state) -> None:
        total = state.total_steps
        if (total is not None and state.step >= total) or getattr(state, "stop", False):
            # no update on the last step (planned, or a hook before this one ended
            # training): nothing would train the new edges
            return
        fraction = self.drop_fraction_at(state.step, total)
        if fraction <= 0:
            return
        self.update(
            state.model,
            state.X_batch,
            state.y_batch,
            fraction=fraction,
            optimizer=getattr(state, "optimizer", None),
            step=state.step,
            epoch=state.epoch,
        )

    def update(self, model, X, y, *, fraction=None, optimizer=None, step=None, epoch=None):
        """Rewire every sparse layer of ``model`` now; returns the edges changed per layer.

        Parameters
        ----------
        model : SparseMLP
        X : array_like of shape (batch, n_features)
            The minibatch RigL scores the empty positions on (SET ignores it).
        y : array_like of int, of shape (batch,)
        fraction : float, optional
            The fraction of each layer's edges to replace, in [0, 1); ``drop_fraction`` by
            default.
        optimizer : SGD or Adam, optional
            The optimizer whose state to carry over; the model's by default.
        step, epoch : int, optional
            Recorded in :attr:`changes`.

        Returns
        -------
        list of int
            Edges dropped (and as many grown) in each layer; 0 for complete layers.

        Raises
        ------
        TopokitError
            For a model without a sparse layer or a ``fraction`` outside [0, 1).

        Examples
        --------
        >>> import numpy as np
        >>> from topokit import Topology
        >>> from topokit.nn import SparseMLP
        >>> from topokit.nn.dynamic import DynamicSparsity
        >>> model = SparseMLP(Topology.build([50, 40, 3], "erdos_renyi", density=0.1, rng=1))
        >>> DynamicSparsity("set", rng=0).update(model, None, None, fraction=0.25)
        [50, 3]
        """
        if self.rule == "static":
            return [0] * len(model.layers)
        _check_has_sparse_layer(model, self.rule)
        self._start_record(model)
        if fraction is None:
            fraction = self.drop_fraction
        fraction = check_real("fraction", fraction, low=0.0, high=1.0, high_open=True)
        signals = _layer_signals(model, X, y) if self.rule == "rigl" else None
        last = len(model.layers) - 1
        changed = []
        for k, layer in enumerate(model.layers):
            n_positions = layer.n_in * layer.n_out
            n = min(int(fraction * layer.n_edges), n_positions - layer.n_edges)
            if not _is_sparse(layer) or n <= 0:
                changed.append(0)
                continue
            keys = _keys(layer)
            drop = keys[_smallest_magnitudes(layer.weight_data, n)]
            if self.rule == "set":
                grow = _sample_empty(keys, n_positions, n, self._rng)
                init = model.activation.init if k < last else "glorot"  # as SparseMLP draws
            else:
                grow = _top_gradient_empty(layer, signals[0][k], signals[1][k], n)
                init = "zeros"
            rewire_layer(model, k, drop, grow, init=init, rng=self._rng, optimizer=optimizer)
            ever = self._ever[k]
            fresh = grow[~np.isin(grow, ever, assume_unique=True)]
            self._ever[k] = np.insert(ever, np.searchsorted(ever, fresh), fresh)
            self.changes.append(
                {
                    "step": step,
                    "epoch": epoch,
                    "layer": k,
                    "n_changed": int(n),
                    "drop_fraction": fraction,
                }
            )
            changed.append(int(n))
        return changed

    # ------------------------------------------------------------ outcomes
    def _start_record(self, model) -> None:
        if self._ever is None:
            self._ever = [_keys(layer) if _is_sparse(layer) else None for layer in model.layers]
            self._positions = [layer.n_in * layer.n_out for layer in model.layers]

    def ever_active_fraction(self) -> list[float]:
        """Per layer, the fraction of its positions ever an edge (in-time over-parameterization).

        Returns
        -------
        list of float
            One value per layer (1.0 for a complete layer); empty before training.

        Examples
        --------
        >>> from topokit.nn.dynamic import DynamicSparsity
        >>> DynamicSparsity("set").ever_active_fraction()
        []
        """
        if self._ever is None:
            return []
        return [
            1.0 if keys is None else keys.size / n
            for keys, n in zip(self._ever, self._positions, strict=True)
        ]
