"""Links for re-exported names: ``topokit.graph.LayerGraph`` finds ``topokit.LayerGraph``.

topokit documents each public object once, under the name users import it by
(``topokit.LayerGraph``, ``topokit.generators.layer_graph``, ...), while docstrings
also name the module that defines it. On a missing Python reference this imports the
target and, when the object is documented under another name, links there.
"""

from __future__ import annotations

import importlib

from sphinx.util.nodes import make_refnode

__all__ = ["setup"]


def _import(dotted: str):
    """The object called ``dotted`` (``pkg.module.attr.attr``), or None."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        try:
            for attr in parts[split:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def _documented(env) -> dict[int, tuple[str, object]]:
    """``{id(object): (documented name, entry)}`` for every documented topokit object."""
    cache = getattr(env, "_topokit_documented", None)
    if cache is None:
        cache = {}
        for name, entry in env.get_domain("py").objects.items():
            if name.startswith("topokit") and not entry.aliased:
                obj = _import(name)
                if obj is not None and not isinstance(obj, (int, float, str, tuple, bool)):
                    cache.setdefault(id(obj), (name, entry))
        env._topokit_documented = cache
    return cache


def _resolve(app, env, node, contnode):
    if node.get("refdomain") != "py" or not node.get("reftarget", "").startswith("topokit"):
        return None
    obj = _import(node["reftarget"])
    if obj is None:
        return None
    found = _documented(env).get(id(obj))
    if found is None:
        return None
    name, entry = found
    return make_refnode(app.builder, node["refdoc"], entry.docname, entry.node_id, contnode, name)


def _forget(app, env, *args):
    env._topokit_documented = None


def setup(app):
    app.connect("missing-reference", _resolve)
    app.connect("env-updated", _forget)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
