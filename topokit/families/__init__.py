"""Layer-graph families: constructions of the bipartite graph of one layer.

Every family is a function ``f(n_in, n_out, *, density=None, degree=None, rng=None,
**params) -> LayerGraph`` registered under its public name; :func:`layer_graph`
builds any of them by name and :func:`families` lists the names.
"""

from topokit.families._registry import Family, Param, families, get_family, layer_graph
from topokit.families.dense import dense

__all__ = [
    "Family",
    "Param",
    "dense",
    "families",
    "get_family",
    "layer_graph",
]
