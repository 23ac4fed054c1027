"""Topology metrics of layer graphs and whole networks (keys and definitions: DESIGN.md).

:func:`layer_metrics` measures one :class:`~topokit.graph.LayerGraph`,
:func:`network_metrics` a :class:`~topokit.topology.Topology`, and
:func:`input_metrics` a network's first layer weighted by the variance of each input
feature (the data-aware metrics; the variances are numbers, not a data set).
``LAYER_METRICS``, ``NETWORK_METRICS`` and ``INPUT_METRICS`` list their keys in order.
"""

from topokit.metrics.inputs import INPUT_METRICS, input_metrics
from topokit.metrics.layer import LAYER_METRICS, layer_metrics
from topokit.metrics.network import (
    NETWORK_METRICS,
    is_dense_layer,
    network_metrics,
    sparse_aggregates,
)
from topokit.metrics.weighted import WEIGHTED_METRICS, weighted_metrics

__all__ = [
    "INPUT_METRICS",
    "LAYER_METRICS",
    "NETWORK_METRICS",
    "WEIGHTED_METRICS",
    "input_metrics",
    "is_dense_layer",
    "layer_metrics",
    "network_metrics",
    "sparse_aggregates",
    "weighted_metrics",
]
