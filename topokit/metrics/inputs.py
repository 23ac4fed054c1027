"""Data-aware metrics of a network's first layer: how its edges meet the input variance.

The graph core knows no data sets: :func:`input_metrics` takes the variance of each
input feature as numbers, and whoever holds the data (a study run, ``topokit metrics
--dataset``) computes them from the training split.

``scipy.stats`` (for the ranks) is imported in the function that uses it: it costs a
tenth of a second at import, and ``import topokit`` stays light.
"""

from __future__ import annotations

import numpy as np

from topokit._errors import TopokitError
from topokit.graph import LayerGraph
from topokit.metrics.layer import _select_keys
from topokit.topology import Topology

__all__ = ["INPUT_METRICS", "input_metrics"]

INPUT_METRICS: tuple[str, ...] = ("input_coverage", "input_variance_fan_out")


def _first_layer(graph) -> LayerGraph:
    if isinstance(graph, Topology):
        return graph.layers[0]
    if isinstance(graph, LayerGraph):
        return graph
    raise TopokitError(f"graph must be a LayerGraph or a Topology, got {type(graph).__name__}")


def _check_variances(variances, n_in: int) -> np.ndarray:
    """``variances`` as a float64 vector of ``n_in`` finite, non-negative numbers."""
    try:
        values = np.asarray(variances, dtype=np.float64)
    except (TypeError, ValueError):
        raise TopokitError(
            f"variances must be numbers, one per input neuron, got {variances!r:.80}"
        ) from None
    if values.ndim != 1:
        raise TopokitError(f"variances must be 1-D of shape (n_in,), got shape {values.shape}")
    if values.size != n_in:
        raise TopokitError(
            f"variances must have one value per input neuron: the first layer has "
            f"n_in = {n_in} inputs, got {values.size} variances"
        )
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        raise TopokitError(
            f"variances must be finite and >= 0, got {values[index]} at input {index} "
            f"({int(bad.sum())} such values in all)"
        )
    return values


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation of the average ranks of x and y; NaN when either is constant."""
    from scipy.stats import rankdata  # heavy: only when measured (module docstring)

    rank_x, rank_y = rankdata(x), rankdata(y)
    rank_x -= rank_x.mean()
    rank_y -= rank_y.mean()
    scale = np.sqrt((rank_x @ rank_x) * (rank_y @ rank_y))
    if scale == 0.0:
        return float("nan")
    return float(np.clip((rank_x @ rank_y) / scale, -1.0, 1.0))


def input_metrics(graph, variances, keys=None) -> dict:
    """Metrics of a network's first layer weighted by the variance of its inputs.

    A topology that leaves informative inputs unconnected loses accuracy that no
    data-blind metric sees, while an unconnected constant input (a blank border pixel)
    costs nothing. With ``v_i`` the variance of input ``i`` and ``d_i`` its fan-out in the
    first layer (DESIGN.md, "Data-aware metrics"):

    - ``input_coverage``: ``Σ_{i: d_i > 0} v_i / Σ_i v_i``, the share of the total input
      variance carried by inputs with at least one edge; 1 when every input with
      variance is connected. NaN when every variance is 0 (no share is defined).
    - ``input_variance_fan_out``: the Spearman rank correlation between ``d`` and ``v``
      (Pearson correlation of their average ranks, ties ranked by their mean); positive
      when the inputs that vary most get the most edges. NaN when the fan-outs are all
      equal (a biregular or dense first layer) or the variances are, since a
      correlation with a constant is undefined.

    Parameters
    ----------
    graph : LayerGraph or Topology
        The first layer, or a network whose first layer is measured.
    variances : array_like of shape (n_in,)
        The variance of each input feature (e.g. over the training split), finite and
        non-negative, in the order of the layer's input neurons.
    keys : iterable of str, optional
        The metrics to compute (any order; a single name is accepted). All of
        ``INPUT_METRICS`` by default.

    Returns
    -------
    dict
        ``{key: float}`` in ``INPUT_METRICS`` order; a value may be NaN as said above.

    Raises
    ------
    TopokitError
        If ``graph`` is neither a LayerGraph nor a Topology, ``variances`` is not a
        vector of ``n_in`` finite, non-negative numbers, or a key is unknown.

    See Also
    --------
    layer_metrics, network_metrics : the data-blind metrics.

    References
    ----------
    - C. Spearman, "The proof and measurement of association between two things",
      *The American Journal of Psychology* 15 (1904): the rank correlation.

    Examples
    --------
    Three inputs, the constant one left unconnected:

    >>> import numpy as np
    >>> from topokit.graph import LayerGraph
    >>> from topokit.metrics import input_metrics
    >>> layer = LayerGraph(np.array([[1, 1], [1, 0], [0, 0]]))
    >>> input_metrics(layer, [0.5, 0.25, 0.0])
    {'input_coverage': 1.0, 'input_variance_fan_out': 1.0}
    >>> input_metrics(layer, [0.0, 0.25, 0.75], keys="input_coverage")
    {'input_coverage': 0.25}
    """
    layer = _first_layer(graph)
    selected = _select_keys(keys, INPUT_METRICS, "input metric")
    values = _check_variances(variances, layer.n_in)
    fan_out = layer.fan_out
    result = {}
    if "input_coverage" in selected:
        # the total as covered + uncovered: exactly 1 when only constant inputs are left out
        covered, uncovered = values[fan_out > 0].sum(), values[fan_out == 0].sum()
        total = covered + uncovered
        result["input_coverage"] = float(covered / total) if total > 0 else float("nan")
    if "input_variance_fan_out" in selected:
        result["input_variance_fan_out"] = _spearman(fan_out, values)
    return result
