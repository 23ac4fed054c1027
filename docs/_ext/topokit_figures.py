"""``.. topokit-family:: NAME``: a family's registry data and figure, made by topokit itself.

The directive renders, from ``topokit.get_family(NAME)``: the one-line summary, the
sizes it allows, how its edge count is given, whether it is random, and a table of
its own parameters (the registry's :class:`~topokit.Param` records). Then it builds
one layer graph with the options below, draws its biadjacency and its singular-value
spectrum (with its ``ramanujan_bound`` as a dashed line) into
``_generated/families/NAME.png`` and shows it as a figure whose caption states the
sizes, edge count, seed and the metrics topokit computed for it.

Options: ``:n-in:``, ``:n-out:``, ``:density:``, ``:degree:``, ``:seed:`` and
``:params:`` (``key=value; key=value``, values parsed by the family's ``Param``).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util.docutils import SphinxDirective

__all__ = ["build_graph", "draw_family_figure", "family_caption", "family_facts", "setup"]

_OUT_DIR = Path("_generated") / "families"
_EDGE_COUNT = {
    "given": "given by ``density`` (E = round(density·n_in·n_out)) or ``degree`` "
    "(E = degree·n_out)",
    "fixed": "fixed by the sizes and parameters (a ``density`` or ``degree`` that "
    "disagrees is an error)",
}


def build_graph(name: str, options: dict):
    """The family's layer graph for the directive's options (sizes, count, seed, params)."""
    import topokit

    family = topokit.get_family(name)
    params = {key: family.param(key).parse(text) for key, text in options["params"].items()}
    return topokit.layer_graph(
        name,
        options.get("n-in"),
        options.get("n-out"),
        density=options.get("density"),
        degree=options.get("degree"),
        rng=options.get("seed"),
        **params,
    )


def family_caption(name: str, graph, options: dict, metrics: dict) -> str:
    """What the figure shows: sizes, edge count, seed, parameters and measured values."""
    family_params = ", ".join(f"{key}={value}" for key, value in options["params"].items())
    count = (
        f"density={options['density']}"
        if options.get("density") is not None
        else f"degree={options['degree']}"
        if options.get("degree") is not None
        else ""
    )
    built = ", ".join(
        part
        for part in (f"n_in={graph.n_in}", f"n_out={graph.n_out}", count, family_params)
        if part
    )
    seed = f", seed {options['seed']}" if options.get("seed") is not None else ""
    bound = metrics["ramanujan_bound"]
    return (
        f"{name} with {built}{seed}: {graph.n_edges} edges. Left: the biadjacency "
        f"(row i = input neuron i, column j = output neuron j; a dark cell is an edge). "
        f"Right: all singular values of the biadjacency, largest first; lambda1 = "
        f"{metrics['lambda1']:.4g}, lambda2 = {metrics['lambda2']:.4g}, Ramanujan bound "
        f"{bound:.4g} (dashed), {metrics['n_components']} connected component"
        f"{'s' if metrics['n_components'] != 1 else ''}. Drawn by the documentation build "
        f"from topokit {_version()}."
    )


def _version() -> str:
    import topokit

    return topokit.__version__


def draw_family_figure(graph, path: Path, metrics: dict) -> None:
    """Biadjacency (left) and singular-value spectrum (right) of a small graph, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    dense = graph.biadjacency.toarray()  # docs-only: the drawn graphs have ~10³ cells
    singular = np.linalg.svd(dense, compute_uv=False)
    figure, (left, right) = plt.subplots(
        1, 2, figsize=(9.0, 3.8), gridspec_kw={"width_ratios": [1, 1.25]}
    )
    left.imshow(dense, cmap="Greys", vmin=0, vmax=1, interpolation="nearest", aspect="auto")
    left.set_xlabel(f"output neuron j (n_out = {graph.n_out})")
    left.set_ylabel(f"input neuron i (n_in = {graph.n_in})")
    left.set_title("biadjacency B")
    index = np.arange(1, singular.size + 1)
    right.plot(index, singular, "o", markersize=3, color="tab:blue", label="σ_i(B)")
    right.plot([1, 2], singular[:2], "o", markersize=6, color="tab:red", label="λ1, λ2")
    right.axhline(
        metrics["ramanujan_bound"],
        color="k",
        linestyle="--",
        linewidth=1,
        label="Ramanujan bound",
    )
    right.set_xlabel("index i")
    right.set_ylabel("singular value")
    right.set_title("singular values of B")
    right.set_ylim(bottom=0)
    right.legend(loc="best", fontsize="small")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(figure)


def _params_option(text: str) -> dict:
    """``"q=5; l=3"`` -> ``{"q": "5", "l": "3"}`` (parsed later by each Param)."""
    params = {}
    for item in (text or "").split(";"):
        if item.strip():
            key, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"expected key=value, got {item!r}")
            params[key.strip()] = value.strip()
    return params


def _cell(text: str) -> nodes.entry:
    entry = nodes.entry()
    entry += nodes.paragraph(text=text)
    return entry


def _literal_cell(text: str) -> nodes.entry:
    entry = nodes.entry()
    paragraph = nodes.paragraph()
    paragraph += nodes.literal(text=text)
    entry += paragraph
    return entry


def _table(header: list[str], rows: list[list[nodes.entry]], widths: list[int]) -> nodes.table:
    table = nodes.table(classes=["topokit-params"])
    group = nodes.tgroup(cols=len(header))
    table += group
    for width in widths:
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    row = nodes.row()
    for text in header:
        row += _cell(text)
    head += row
    group += head
    body = nodes.tbody()
    for cells in rows:
        row = nodes.row()
        for cell in cells:
            row += cell
        body += row
    group += body
    return table


def _inline(text: str) -> list[nodes.Node]:
    """Text whose ````double backquoted```` spans become literals."""
    parts = text.split("``")
    return [nodes.literal(text=part) if k % 2 else nodes.Text(part) for k, part in enumerate(parts)]


def _field(name: str, body: list[nodes.Node]) -> nodes.field:
    field = nodes.field()
    field += nodes.field_name(text=name)
    content = nodes.field_body()
    paragraph = nodes.paragraph()
    paragraph.extend(body)
    content += paragraph
    field += content
    return field


def family_facts(family) -> list[nodes.Node]:
    """Summary, sizes, edge count, randomness and parameter table of a Family record."""
    summary = nodes.paragraph(text=family.summary[0].upper() + family.summary[1:] + ".")
    fields = nodes.field_list()
    fields += _field("Name", [nodes.literal(text=family.name)])
    fields += _field("Sizes", [nodes.Text(family.sizes)])
    fields += _field("Edge count", _inline(_EDGE_COUNT[family.edge_count]))
    fields += _field(
        "Random",
        _inline(
            "yes: ``rng`` (an int seed or a Generator) chooses the graph"
            if family.random
            else "no: the construction is deterministic (``rng`` is ignored)"
        ),
    )
    result = [summary, fields]
    if family.params:
        rows = [
            [
                _literal_cell(param.name),
                _cell(param.kind),
                _cell("—" if param.default is None else repr(param.default)),
                _cell(param.constraint),
                _cell(param.doc),
            ]
            for param in family.params
        ]
        result.append(nodes.rubric(text="Parameters"))
        result.append(
            _table(
                ["name", "type", "default", "allowed values", "meaning"], rows, [12, 6, 9, 30, 40]
            )
        )
    else:
        result.append(
            nodes.paragraph(
                text="No parameters of its own beyond the sizes, density/degree and rng."
            )
        )
    return result


class TopokitFamilyDirective(SphinxDirective):
    """Registry facts about one family, and a figure of one of its graphs."""

    required_arguments = 1
    option_spec: ClassVar[dict] = {
        "n-in": directives.positive_int,
        "n-out": directives.positive_int,
        "density": float,
        "degree": directives.positive_int,
        "seed": directives.nonnegative_int,
        "params": _params_option,
    }

    def run(self) -> list[nodes.Node]:
        import topokit

        name = self.arguments[0]
        family = topokit.get_family(name)
        options = {"params": {}, **self.options}
        self.env.note_dependency(__file__)
        graph = build_graph(name, options)
        metrics = topokit.layer_metrics(graph)
        relative = _OUT_DIR / f"{name}.png"
        draw_family_figure(graph, Path(self.env.srcdir) / relative, metrics)

        figure = nodes.figure(classes=["topokit-family-figure"])
        figure += nodes.image(uri="/" + relative.as_posix(), alt=f"{name} biadjacency and spectrum")
        figure += nodes.caption(text=family_caption(name, graph, options, metrics))
        return [*family_facts(family), figure]


def setup(app):
    app.add_directive("topokit-family", TopokitFamilyDirective)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
