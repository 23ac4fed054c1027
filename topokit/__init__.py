"""topokit: build, measure and train sparse neural-network topologies.

The graph core: :class:`LayerGraph` (one layer's bipartite graph), :class:`Topology`
(the stack of a network's layer graphs), families that build them, and metrics.
"""

from topokit._errors import TopokitError
from topokit.generators import Family, Param, check_feasible, families, get_family, layer_graph
from topokit.graph import LayerGraph
from topokit.io import load, load_layer, load_topology, save_layer, save_topology
from topokit.metrics import (
    INPUT_METRICS,
    LAYER_METRICS,
    NETWORK_METRICS,
    WEIGHTED_METRICS,
    input_metrics,
    layer_metrics,
    network_metrics,
    weighted_metrics,
)
from topokit.topology import Topology

__version__ = "0.1.0"

__all__ = [
    "INPUT_METRICS",
    "LAYER_METRICS",
    "NETWORK_METRICS",
    "WEIGHTED_METRICS",
    "Family",
    "LayerGraph",
    "Param",
    "TopokitError",
    "Topology",
    "__version__",
    "check_feasible",
    "families",
    "get_family",
    "input_metrics",
    "layer_graph",
    "layer_metrics",
    "load",
    "load_layer",
    "load_topology",
    "network_metrics",
    "save_layer",
    "save_topology",
    "weighted_metrics",
]
