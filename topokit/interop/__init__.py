"""Hand-off to other tools: PyTorch models, weight files and graph-exchange formats.

``topokit.interop.torch`` needs PyTorch (``pip install topokit[torch]``) and is imported
on its own; everything else here needs only topokit's own dependencies.
"""

from topokit.interop.graphs import read_edgelist, read_graphml, write_edgelist, write_graphml
from topokit.interop.weights import (
    is_weights_npz,
    read_weights,
    save_weights,
    topology_from_weights,
)

__all__ = [
    "is_weights_npz",
    "read_edgelist",
    "read_graphml",
    "read_weights",
    "save_weights",
    "topology_from_weights",
    "write_edgelist",
    "write_graphml",
]
