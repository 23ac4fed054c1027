"""``topokit families``: list the layer-graph families, their sizes and parameters."""

from __future__ import annotations

import textwrap

from topokit.cli._common import FORMATTER, print_json
from topokit.generators import families, get_family

__all__ = ["add_parser", "run"]

_EPILOG = """\
examples:
  topokit families
  topokit families --json
"""

_WIDTH = 100

_EDGE_COUNT = {
    "given": "give --density or --degree",
    "fixed": "fixed by the sizes and parameters",
}


def add_parser(subparsers) -> None:
    """Add the ``families`` command."""
    parser = subparsers.add_parser(
        "families",
        help="list the layer-graph families",
        description="List the layer-graph families with the sizes and parameters they take.",
        epilog=_EPILOG,
        formatter_class=FORMATTER,
    )
    parser.add_argument("--json", action="store_true", help="print a JSON list")
    parser.set_defaults(run=run)


def _param_line(param: dict) -> str:
    default = "" if param["default"] is None else f", default {param['default']}"
    text = f"--param {param['name']}=... ({param['type']}{default}): {param['doc']}"
    return f"{text}; {param['constraint']}" if param["constraint"] else text


def format_table(descriptions: list[dict]) -> str:
    """The readable listing: one block per family, name and summary on the first line."""
    width = max((len(d["name"]) for d in descriptions), default=0) + 2
    indent = " " * width
    lines = []
    for d in descriptions:
        edges = _EDGE_COUNT.get(d["edge_count"], d["edge_count"])
        entries = [d["summary"], f"sizes: {d['sizes']}; edges: {edges}"]
        entries += [_param_line(p) for p in d["params"]]
        for k, entry in enumerate(entries):
            first = f"{d['name']:<{width}}" if k == 0 else indent
            lines.append(
                textwrap.fill(entry, _WIDTH, initial_indent=first, subsequent_indent=indent + "  ")
            )
    return "\n".join(lines)


def run(args) -> int:
    """Print the families (as JSON with ``--json``)."""
    descriptions = [get_family(name).describe() for name in families()]
    if args.json:
        print_json(descriptions)
    else:
        print(format_table(descriptions))
    return 0
