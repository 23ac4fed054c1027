"""The graph along training: snapshots of a run's layer graphs, and their compact form.

A study run that learns its graph (a dynamic rule, a pruning family) stores its layer
graphs at the epochs of :attr:`RunConfig.snapshot_epochs
<topokit.analysis.RunConfig.snapshot_epochs>`, each with its metrics. :class:`GraphSnapshots`
is the training-loop hook that takes them: epoch 0 before the first step, epoch ``e``
after the hooks of epoch ``e`` (a rewiring at the end of the epoch included: the graph
that epoch ``e + 1`` trains on), and with -1 the last epoch trained, when training ends.

A layer graph is stored as its edges' flat positions ``i * n_out + j`` in ascending order,
as the gaps between consecutive positions (the first from 0) in the smallest unsigned
integer type that holds them, in the ``.npy`` format, compressed by zlib:
:func:`encode_layer` and :func:`decode_layer`. For a random layer of density ``d`` the gaps
are about ``1 / d``, so a layer costs about one byte per edge at ``d >= 1/256`` and two at
sparser densities, before compression.
"""

from __future__ import annotations

import io
import math
import zlib

import numpy as np
import scipy.sparse as sp

from topokit._errors import TopokitError
from topokit.graph import LayerGraph
from topokit.nn.training import TrainingHook

__all__ = ["GraphSnapshots", "decode_layer", "dynamic_outcomes", "encode_layer"]

_COMPRESSION = 6  # zlib's level: the gaps compress well at once, more level buys little


def encode_layer(graph: LayerGraph) -> bytes:
    """A layer graph's edges as compressed bytes (see the module docstring)."""
    csr = graph.biadjacency
    rows = np.repeat(np.arange(graph.n_in, dtype=np.int64), np.diff(csr.indptr))
    keys = rows * graph.n_out + csr.indices.astype(np.int64)
    if keys.size > 1 and np.any(keys[1:] <= keys[:-1]):
        keys = np.unique(keys)
    gaps = np.diff(keys, prepend=0)
    largest = int(gaps.max()) if gaps.size else 0
    dtypes = (np.uint8, np.uint16, np.uint32, np.uint64)
    dtype = next(t for t in dtypes if largest <= np.iinfo(t).max)
    buffer = io.BytesIO()
    np.save(buffer, gaps.astype(dtype), allow_pickle=False)
    return zlib.compress(buffer.getvalue(), _COMPRESSION)


def decode_layer(blob: bytes, n_in: int, n_out: int, *, family=None) -> LayerGraph:
    """The layer graph of :func:`encode_layer`'s bytes, of shape ``(n_in, n_out)``."""
    try:
        gaps = np.load(io.BytesIO(zlib.decompress(blob)), allow_pickle=False)
    except (zlib.error, ValueError, OSError) as exc:
        raise TopokitError(f"a stored snapshot graph cannot be read: {exc}") from exc
    keys = np.cumsum(gaps, dtype=np.int64)
    if keys.size and keys[-1] >= n_in * n_out:
        raise TopokitError(
            f"a stored snapshot graph names position {int(keys[-1])}, outside its "
            f"{n_in} x {n_out} layer"
        )
    rows, cols = np.divmod(keys, n_out)
    indptr = np.zeros(n_in + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_in), out=indptr[1:])
    csr = sp.csr_array((np.ones(keys.size), cols, indptr), shape=(n_in, n_out))
    return LayerGraph(csr, family=family)


class GraphSnapshots(TrainingHook):
    """Take the model's layer graphs at chosen epochs, encoded (:func:`encode_layer`).

    ``epochs`` holds epoch indices: 0 the start, ``e`` after ``e`` epochs (after every
    hook of that epoch: put this hook after the one that rewires), -1 the last epoch
    trained. :attr:`taken` maps each epoch reached to the list of
    ``(n_in, n_out, n_edges, bytes)`` of its layers; epochs that training does not reach
    (early stopping) are not there.
    """

    def __init__(self, epochs):
        self.epochs = {int(e) for e in epochs if e >= 0}
        self.last = -1 in epochs
        self.taken = {}

    def _take(self, epoch: int, model) -> None:
        self.taken[epoch] = [
            (graph.n_in, graph.n_out, graph.n_edges, encode_layer(graph))
            for graph in model.topology
        ]

    def on_fit_start(self, state):
        if 0 in self.epochs:
            self._take(0, state.model)

    def on_epoch_end(self, state):
        if state.epoch + 1 in self.epochs:
            self._take(state.epoch + 1, state.model)

    def on_fit_end(self, state):
        if self.last:
            self._take(state.history.n_epochs, state.model)

    def __repr__(self):
        epochs = sorted(self.epochs) + ([-1] if self.last else [])
        return f"GraphSnapshots({epochs})"


def dynamic_outcomes(hook, topology) -> tuple[dict, list[dict]]:
    """The outcomes of a run trained with a :class:`~topokit.nn.dynamic.DynamicSparsity`
    hook, on the topology it started from: (run values, one dict per layer).

    - ``ever_active_fraction``: the share of a layer's ``n_in * n_out`` positions that
      held an edge at some point of training (the in-time over-parameterization rate of
      Liu et al. 2021); for the run, over the sparse layers together (positions ever
      active / positions), 1 for a complete layer;
    - ``edges_changed_per_update``: edges dropped (as many grown) per update, the mean
      over the updates; for the run, over all layers; NaN without an update;
    - ``n_updates`` (run only): the updates that changed at least one edge.
    """
    fractions = hook.ever_active_fraction()
    steps = {(change["step"], change["epoch"]) for change in hook.changes}
    n_updates = len(steps)
    changed = [0] * len(topology)
    for change in hook.changes:
        changed[change["layer"]] += change["n_changed"]
    per_update = [c / n_updates if n_updates else math.nan for c in changed]
    positions = [graph.n_in * graph.n_out for graph in topology]
    sparse = [k for k, graph in enumerate(topology) if graph.n_edges < positions[k]]
    if not fractions:  # no training step: nothing was ever active beyond the start
        fractions = [graph.n_edges / n for graph, n in zip(topology, positions, strict=True)]
    ever = sum(fractions[k] * positions[k] for k in sparse)
    total = sum(positions[k] for k in sparse)
    run = {
        "ever_active_fraction": ever / total if total else math.nan,
        "edges_changed_per_update": sum(changed) / n_updates if n_updates else math.nan,
        "n_updates": n_updates,
    }
    layers = [
        {"ever_active_fraction": fraction, "edges_changed_per_update": value}
        for fraction, value in zip(fractions, per_update, strict=True)
    ]
    return run, layers
