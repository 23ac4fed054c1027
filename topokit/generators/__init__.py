"""Layer-graph families: constructions of the bipartite graph of one layer.

Every family is a function ``f(n_in, n_out, *, density=None, degree=None, rng=None,
**params) -> LayerGraph`` registered under its public name; :func:`layer_graph`
builds any of them by name and :func:`families` lists the names.
"""

# TEMPORARY while the family modules are being written in parallel: import every
# module named after a family and re-export its function. Replaced by explicit imports.
import importlib as _importlib
import pkgutil as _pkgutil

from topokit.generators._registry import Family, Param, families, get_family, layer_graph

__all__ = ["Family", "Param", "families", "get_family", "layer_graph"]

for _module in _pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        _mod = _importlib.import_module(f"{__name__}.{_module.name}")
        for _name in getattr(_mod, "__all__", []):
            globals()[_name] = getattr(_mod, _name)
            __all__.append(_name)
