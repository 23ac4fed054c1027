"""Topology metrics of a whole network: its layered graph, and per-layer aggregates."""

from __future__ import annotations

import itertools
import math

import numpy as np
import scipy.sparse as sp

from topokit._errors import TopokitError
from topokit.metrics._facts import GraphFacts
from topokit.metrics._paths import alive_inputs, alive_outputs, effective_edges, reachable_pairs
from topokit.metrics.layer import LAYER_METRICS, _layer_values, _select_keys
from topokit.topology import Topology

__all__ = ["NETWORK_METRICS", "is_dense_layer", "network_metrics", "sparse_aggregates"]

_NET_KEYS = (
    "net_n_nodes",
    "net_n_edges",
    "net_density",
    "net_lambda1",
    "net_lambda2",
    "net_spectral_gap",
    "net_fiedler_value",
    "net_dead_inputs",
    "net_dead_outputs",
    "net_path_connectivity",
    "net_effective_density",
)

NETWORK_METRICS: tuple[str, ...] = _NET_KEYS + tuple(
    f"{aggregate}_{key}" for key in LAYER_METRICS for aggregate in ("min", "mean")
)


def _layered_biadjacency(topology: Topology) -> sp.csr_array:
    """The whole network as one bipartite graph: even layers' neurons x odd layers' neurons.

    The layered graph is bipartite (every edge joins layer k to k + 1), so its
    adjacency is ``[[0, C], [Cᵀ, 0]]`` with ``C`` sparse, of shape
    (Σ n_even, Σ n_odd); layer ``k``'s biadjacency is block (k, k+1) of ``C`` when k
    is even, or the transpose of block (k+1, k) when k is odd. Never dense.
    """
    sizes = topology.sizes
    even, odd = sizes[0::2], sizes[1::2]
    even_start = np.concatenate([[0], np.cumsum(even)])
    odd_start = np.concatenate([[0], np.cumsum(odd)])
    rows, cols = [], []
    for k, layer in enumerate(topology.layers):
        inputs, outputs = layer.edges()
        if k % 2 == 0:
            rows.append(inputs + even_start[k // 2])
            cols.append(outputs + odd_start[k // 2])
        else:
            rows.append(outputs + even_start[(k + 1) // 2])
            cols.append(inputs + odd_start[k // 2])
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    shape = (int(even_start[-1]), int(odd_start[-1]))
    matrix = sp.csr_array((np.ones(rows.size), (rows, cols)), shape=shape)
    matrix.sort_indices()
    return matrix


def _net_values(topology: Topology, keys: tuple[str, ...]) -> dict:
    layers = [layer.biadjacency for layer in topology.layers]
    sizes = topology.sizes
    values = {}
    whole = None
    spectral = ("net_lambda1", "net_lambda2", "net_spectral_gap", "net_fiedler_value")
    if any(key in keys for key in spectral):
        whole = GraphFacts(_layered_biadjacency(topology))
    for key in keys:
        if key == "net_n_nodes":
            values[key] = int(sum(sizes))
        elif key == "net_n_edges":
            values[key] = int(topology.n_edges)
        elif key == "net_density":
            values[key] = topology.n_edges / sum(a * b for a, b in itertools.pairwise(sizes))
        elif key == "net_lambda1":
            values[key] = whole.singular_values[0]
        elif key == "net_lambda2":
            values[key] = whole.singular_values[1]
        elif key == "net_spectral_gap":
            values[key] = whole.singular_values[0] - whole.singular_values[1]
        elif key == "net_fiedler_value":
            values[key] = whole.fiedler_value
        elif key == "net_dead_inputs":
            values[key] = int(sizes[0] - alive_inputs(layers).sum())
        elif key == "net_dead_outputs":
            values[key] = int(sizes[-1] - alive_outputs(layers).sum())
        elif key == "net_path_connectivity":
            values[key] = reachable_pairs(layers) / (sizes[0] * sizes[-1])
        elif key == "net_effective_density":
            n_edges = topology.n_edges
            values[key] = effective_edges(layers) / n_edges if n_edges else 0.0
    return values


def is_dense_layer(n_in: int, n_out: int, n_edges: int) -> bool:
    """Whether a layer is dense: complete, every input joined to every output.

    The one rule that decides which layers the ``min_``/``mean_`` aggregates leave out:
    a layer of the ``dense`` family, and a layer of any family built at density 1, is
    dense; every other layer is sparse.

    Parameters
    ----------
    n_in, n_out : int
        The layer's input and output neurons.
    n_edges : int
        Its edges.

    Returns
    -------
    bool
        ``n_edges == n_in * n_out``.

    Examples
    --------
    >>> from topokit.metrics import is_dense_layer
    >>> is_dense_layer(3, 2, 6), is_dense_layer(3, 2, 5)
    (True, False)
    """
    return int(n_edges) == int(n_in) * int(n_out)


def _aggregate(per_layer: list, aggregate: str):
    if aggregate == "min":
        return min(per_layer)  # keeps the type: int, float, or bool (all layers biregular)
    return float(sum(per_layer) / len(per_layer))


def sparse_aggregates(per_layer, dense, keys=None) -> dict:
    """``min_<key>`` and ``mean_<key>`` of per-layer metrics over the sparse layers.

    The one computation of the aggregates: :func:`network_metrics` uses it on a
    topology's layers, and :func:`~topokit.analysis.load_results` on a store's per-layer
    values, so the store, the tables, the exports and the figures give the same numbers.
    Dense layers (:func:`is_dense_layer`) are left out; with no sparse layer every
    aggregate is NaN.

    Parameters
    ----------
    per_layer : sequence of dict
        One ``{key: value}`` per layer, in layer order.
    dense : sequence of bool
        Whether each layer is dense, as long as ``per_layer``.
    keys : iterable of str, optional
        The per-layer keys to aggregate. Default: every key of the first layer.

    Returns
    -------
    dict
        ``{"min_<key>": ..., "mean_<key>": ...}`` for each key in order; a min keeps the
        values' type (``int``, ``float``, ``bool``), a mean is a ``float``; NaN where no
        sparse layer has the key.

    Raises
    ------
    TopokitError
        If ``dense`` and ``per_layer`` differ in length.

    Examples
    --------
    >>> from topokit.metrics import sparse_aggregates
    >>> layers = [{"n_edges": 4}, {"n_edges": 6}, {"n_edges": 10}]
    >>> sparse_aggregates(layers, [False, False, True])
    {'min_n_edges': 4, 'mean_n_edges': 5.0}
    >>> sparse_aggregates(layers[2:], [True])
    {'min_n_edges': nan, 'mean_n_edges': nan}
    """
    per_layer, dense = list(per_layer), [bool(flag) for flag in dense]
    if len(per_layer) != len(dense):
        raise TopokitError(
            f"dense must give one flag per layer: {len(per_layer)} layers, {len(dense)} flags"
        )
    if keys is None:
        keys = list(per_layer[0]) if per_layer else []
    sparse = [values for values, flag in zip(per_layer, dense, strict=True) if not flag]
    result = {}
    for key in keys:
        column = [values[key] for values in sparse if key in values and values[key] is not None]
        column = [v for v in column if not (isinstance(v, float) and math.isnan(v))]
        for aggregate in ("min", "mean"):
            result[f"{aggregate}_{key}"] = _aggregate(column, aggregate) if column else math.nan
    return result


def network_metrics(topology: Topology, keys=None) -> dict:
    """Topology metrics of a whole network, as a JSON-ready dict.

    The ``net_`` keys describe the layered graph of all layers (N = Σ n_k nodes, held
    as a sparse bipartite graph, never dense): sizes, edges, density,
    ``net_lambda1``/``net_lambda2`` (the two largest eigenvalues of the whole
    adjacency: it is bipartite, so these are the top singular values of its
    biadjacency; as for a layer, ``net_lambda2`` is 0 for a 1 x 1 network, whose
    spectrum is only ±lambda1), ``net_fiedler_value`` (0 when disconnected), dead inputs
    (layer-0 neurons with no path to any last-layer neuron), dead outputs (last-layer
    neurons no input reaches), and ``net_path_connectivity``, the exact fraction of
    (input, output) pairs joined by a path (bitset propagation from the smaller end:
    O(E · min(n_0, n_L) / 64) word operations; for one layer it is the density), and
    ``net_effective_density``, the fraction of edges that lie on some input-to-output
    path (an edge whose input no input reaches, or whose output reaches no output, does
    nothing; one sweep each way, O(E); 1 for one layer, 0 for a network without edges).
    It is a fraction of the edges present: the effective density of Vysogorets & Kempe,
    relative to the dense network, is ``net_density * net_effective_density``.

    Then ``min_<key>`` and ``mean_<key>`` over the **sparse** layers for every per-layer
    key of ``LAYER_METRICS`` (:func:`sparse_aggregates`): a dense layer, one that joins
    every input to every output (:func:`is_dense_layer`, e.g. a dense output layer), is
    left out, and a network with no sparse layer has NaN aggregates. For
    ``is_biregular`` the min says whether all sparse layers are and the mean is the
    fraction that are.

    Parameters
    ----------
    topology : Topology
    keys : iterable of str, optional
        The metrics to compute (any order; a single name is accepted). All by default.
        Only what they need is computed: ``min_lambda2`` solves per layer but builds no
        whole-network spectrum.

    Returns
    -------
    dict
        ``{key: value}`` in ``NETWORK_METRICS`` order, values plain ``int``, ``float``
        or ``bool``.

    Raises
    ------
    TopokitError
        If ``topology`` is not a Topology or a key is unknown (the message lists the
        valid keys).

    References
    ----------
    - S. Bourely, J. P. Boueri, K. Choromanski, "Sparse Neural Networks Topologies",
      arXiv:1706.05683 (2017): the accuracy of a sparse network follows the spectral gap
      and algebraic connectivity of its layer graphs rather than their density.
    - M. Fiedler, "Algebraic connectivity of graphs", *Czechoslovak Mathematical Journal* 23
      (1973): ``net_fiedler_value``.
    - A. Vysogorets, J. Kempe, "Connectivity Matters: Neural Network Pruning Through the
      Lens of Effective Sparsity", *Journal of Machine Learning Research* 24 (2023):
      ``net_effective_density``.

    Examples
    --------
    >>> import numpy as np
    >>> from topokit.graph import LayerGraph
    >>> from topokit.topology import Topology
    >>> from topokit.metrics import network_metrics
    >>> top = Topology([LayerGraph(np.eye(3)), LayerGraph(np.ones((3, 2)))])
    >>> network_metrics(top, keys=["net_n_nodes", "net_dead_inputs", "mean_n_edges"])
    {'net_n_nodes': 8, 'net_dead_inputs': 0, 'mean_n_edges': 3.0}

    The second layer is complete (dense), so ``mean_n_edges`` is the first layer's 3 edges.
    Below, hidden neuron 1 has no input, so its edge to the output does nothing:

    >>> cut = Topology([LayerGraph(np.array([[1, 0], [1, 0]])), LayerGraph(np.ones((2, 1)))])
    >>> network_metrics(cut, keys=["net_effective_density"])
    {'net_effective_density': 0.75}
    """
    if not isinstance(topology, Topology):
        raise TopokitError(f"topology must be a Topology, got {type(topology).__name__}")
    selected = _select_keys(keys, NETWORK_METRICS, "network metric")
    values = _net_values(topology, tuple(key for key in selected if key in _NET_KEYS))
    layer_keys = tuple(
        key for key in LAYER_METRICS if f"min_{key}" in selected or f"mean_{key}" in selected
    )
    if layer_keys:
        per_layer = [
            _layer_values(GraphFacts(layer.biadjacency), layer_keys) for layer in topology.layers
        ]
        dense = [is_dense_layer(layer.n_in, layer.n_out, layer.n_edges) for layer in topology]
        aggregates = sparse_aggregates(per_layer, dense, layer_keys)
        values.update({key: value for key, value in aggregates.items() if key in selected})
    return {key: values[key] for key in selected}
