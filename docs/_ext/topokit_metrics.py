"""``.. topokit-aggregate-keys::``: the ``min_``/``mean_`` keys of ``NETWORK_METRICS``.

A table with one row per key of ``LAYER_METRICS``: the layer key (linking to its
definition, label ``metric-<key>``) and the two network keys that aggregate it, read
from ``topokit.NETWORK_METRICS`` itself, so the list cannot fall behind the code.
"""

from __future__ import annotations

from docutils import nodes
from sphinx import addnodes
from sphinx.util.docutils import SphinxDirective

__all__ = ["aggregate_rows", "setup"]


def aggregate_rows() -> list[tuple[str, list[str]]]:
    """``[(layer key, [network keys aggregating it]), ...]`` in ``LAYER_METRICS`` order."""
    from topokit import LAYER_METRICS, NETWORK_METRICS

    return [
        (key, [name for name in NETWORK_METRICS if name in (f"min_{key}", f"mean_{key}")])
        for key in LAYER_METRICS
    ]


def _entry(*children: nodes.Node) -> nodes.entry:
    entry = nodes.entry()
    paragraph = nodes.paragraph()
    for k, child in enumerate(children):
        if k:
            paragraph += nodes.Text(", ")
        paragraph += child
    entry += paragraph
    return entry


def _link(key: str) -> nodes.Node:
    ref = addnodes.pending_xref(
        "", refdomain="std", reftype="ref", reftarget=f"metric-{key}", refexplicit=True
    )
    ref += nodes.literal(text=key)
    return ref


class AggregateKeysDirective(SphinxDirective):
    has_content = False

    def run(self) -> list[nodes.Node]:
        self.env.note_dependency(__file__)
        table = nodes.table(classes=["topokit-aggregate-keys"])
        group = nodes.tgroup(cols=2)
        table += group
        group += nodes.colspec(colwidth=30)
        group += nodes.colspec(colwidth=50)
        head = nodes.thead()
        row = nodes.row()
        row += _entry(nodes.Text("layer key"))
        row += _entry(nodes.Text("network keys"))
        head += row
        group += head
        body = nodes.tbody()
        for key, names in aggregate_rows():
            row = nodes.row()
            row += _entry(_link(key))
            row += _entry(*(nodes.literal(text=name) for name in names))
            body += row
        group += body
        return [table]


def setup(app):
    app.add_directive("topokit-aggregate-keys", AggregateKeysDirective)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
