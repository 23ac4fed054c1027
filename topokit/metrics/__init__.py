"""Topology metrics of layer graphs and whole networks (keys and definitions: DESIGN.md).

:func:`layer_metrics` measures one :class:`~topokit.graph.LayerGraph`,
:func:`network_metrics` a :class:`~topokit.topology.Topology`; ``LAYER_METRICS`` and
``NETWORK_METRICS`` list their keys in order.
"""

from topokit.metrics.layer import LAYER_METRICS, layer_metrics
from topokit.metrics.network import (
    NETWORK_METRICS,
    is_dense_layer,
    network_metrics,
    sparse_aggregates,
)

__all__ = [
    "LAYER_METRICS",
    "NETWORK_METRICS",
    "is_dense_layer",
    "layer_metrics",
    "network_metrics",
    "sparse_aggregates",
]
