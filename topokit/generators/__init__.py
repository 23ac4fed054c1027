"""Layer-graph families: constructions of the bipartite graph of one layer.

Every family is a function ``f(n_in, n_out, *, density=None, degree=None, rng=None,
**params) -> LayerGraph`` registered under its public name (in the order below, the
order of :func:`families`); :func:`layer_graph` builds any of them by name.
"""

from topokit.generators._registry import (
    Family,
    Param,
    check_feasible,
    families,
    get_family,
    layer_graph,
)

# The import order is the registration order, which is the listing order.
from topokit.generators._dense import dense  # isort: skip
from topokit.generators._erdos_renyi import erdos_renyi  # isort: skip
from topokit.generators._biregular import biregular  # isort: skip
from topokit.generators._left_regular import left_regular  # isort: skip
from topokit.generators._ramanujan import ramanujan  # isort: skip
from topokit.generators._projective_plane import projective_plane  # isort: skip
from topokit.generators._array_code import array_code  # isort: skip
from topokit.generators._small_world import small_world  # isort: skip
from topokit.generators._scale_free import scale_free  # isort: skip
from topokit.generators._radix import radix  # isort: skip

__all__ = [
    "Family",
    "Param",
    "array_code",
    "biregular",
    "check_feasible",
    "dense",
    "erdos_renyi",
    "families",
    "get_family",
    "layer_graph",
    "left_regular",
    "projective_plane",
    "radix",
    "ramanujan",
    "scale_free",
    "small_world",
]
