"""The documentation cannot silently fall behind the code.

Fast checks, no Sphinx build: every metric key has a definition on the metrics page,
every family a concept page, every public name an API entry, every command a reference
section (from the docs' own extension), and the Python examples of the concept pages run.
The full build (``sphinx-build -W --keep-going -b html docs docs/_build/html``) runs in CI.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import re
import sys
from pathlib import Path

import pytest

import topokit

DOCS = Path(__file__).resolve().parents[1] / "docs"
CONCEPTS = DOCS / "concepts"
API = DOCS / "reference" / "api"
_NET_PREFIX = "net_"
_AGGREGATES = ("min_", "mean_")


def _ext(name: str):
    """Import one of the docs' Sphinx extensions (skips where Sphinx is not installed)."""
    pytest.importorskip("sphinx")
    if str(DOCS / "_ext") not in sys.path:
        sys.path.insert(0, str(DOCS / "_ext"))
    return importlib.import_module(name)


def _toctree_entries(page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    entries = []
    for block in re.findall(r"```\{toctree\}\n(.*?)```", text, re.S):
        entries += [line.strip() for line in block.splitlines() if line.strip() and ":" not in line]
    return entries


# ------------------------------------------------------------------------- metrics
def _metric_labels() -> dict[str, str]:
    """``{key: heading line}`` for every ``(metric-KEY)=`` label on the metrics page."""
    lines = (CONCEPTS / "metrics.md").read_text(encoding="utf-8").splitlines()
    labels = {}
    for k, line in enumerate(lines):
        match = re.fullmatch(r"\(metric-([a-z0-9_]+)\)=", line)
        if match:
            labels[match.group(1)] = lines[k + 1]
    return labels


@pytest.mark.parametrize("key", topokit.LAYER_METRICS)
def test_metrics_page_defines_layer_key(key):
    labels = _metric_labels()
    assert key in labels, f"docs/concepts/metrics.md has no (metric-{key})= definition"
    assert labels[key] == f"### `{key}`"


@pytest.mark.parametrize(
    "key", [key for key in topokit.NETWORK_METRICS if key.startswith(_NET_PREFIX)]
)
def test_metrics_page_defines_network_key(key):
    labels = _metric_labels()
    assert key in labels, f"docs/concepts/metrics.md has no (metric-{key})= definition"
    assert labels[key] == f"### `{key}`"


@pytest.mark.parametrize("key", topokit.INPUT_METRICS)
def test_metrics_page_defines_data_aware_key(key):
    labels = _metric_labels()
    assert key in labels, f"docs/concepts/metrics.md has no (metric-{key})= definition"
    assert labels[key] == f"### `{key}`"


@pytest.mark.parametrize("key", topokit.WEIGHTED_METRICS)
def test_metrics_page_defines_weighted_key(key):
    labels = _metric_labels()
    assert key in labels, f"docs/concepts/metrics.md has no (metric-{key})= definition"
    assert labels[key] == f"### `{key}`"


def test_metrics_page_defines_no_unknown_key():
    known = set(topokit.LAYER_METRICS) | set(topokit.NETWORK_METRICS) | set(topokit.INPUT_METRICS)
    known |= set(topokit.WEIGHTED_METRICS)
    assert set(_metric_labels()) <= known


@pytest.mark.parametrize("key", topokit.NETWORK_METRICS)
def test_network_key_is_net_or_documented_aggregate(key):
    """Every network key is a defined net_ key or min_/mean_ of a defined layer key."""
    labels = _metric_labels()
    if key.startswith(_NET_PREFIX):
        assert key in labels
    else:
        prefix, base = key.split("_", 1)
        assert f"{prefix}_" in _AGGREGATES
        assert base in labels


def test_aggregate_table_lists_every_aggregate_key():
    metrics_ext = _ext("topokit_metrics")
    listed = [name for _, names in metrics_ext.aggregate_rows() for name in names]
    expected = [key for key in topokit.NETWORK_METRICS if not key.startswith(_NET_PREFIX)]
    assert sorted(listed) == sorted(expected)
    assert "```{topokit-aggregate-keys}" in (CONCEPTS / "metrics.md").read_text(encoding="utf-8")


# ------------------------------------------------------------------------ families
@pytest.mark.parametrize("name", topokit.families())
def test_family_has_concept_page(name):
    page = CONCEPTS / "families" / f"{name}.md"
    assert page.is_file(), f"no concept page docs/concepts/families/{name}.md"
    text = page.read_text(encoding="utf-8")
    assert f"```{{topokit-family}} {name}\n" in text
    assert name in _toctree_entries(CONCEPTS / "families" / "index.md")


def test_family_pages_are_only_for_families():
    pages = {page.stem for page in (CONCEPTS / "families").glob("*.md")} - {"index"}
    assert pages == set(topokit.families())


@pytest.mark.parametrize(
    ("name", "n_in", "n_out", "options"),
    [
        pytest.param("ramanujan", 12, 8, {"degree": 3, "seed": 0}, id="ramanujan"),
        pytest.param("array_code", None, None, {"params": {"q": "3", "l": "2"}}, id="array_code"),
    ],
)
def test_family_figure_is_drawn(tmp_path, name, n_in, n_out, options):
    figures = _ext("topokit_figures")
    options = {"params": {}, "n-in": n_in, "n-out": n_out, **options}
    graph = figures.build_graph(name, options)
    metrics = topokit.layer_metrics(graph)
    path = tmp_path / "figure.png"
    figures.draw_family_figure(graph, path, metrics)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    caption = figures.family_caption(name, graph, options, metrics)
    assert f"n_in={graph.n_in}" in caption
    assert f"{graph.n_edges} edges" in caption
    assert f"lambda2 = {metrics['lambda2']:.4g}" in caption
    if "seed" in options:
        assert f"seed {options['seed']}" in caption


# ------------------------------------------------------------------ command line
def _commands() -> list[str]:
    from topokit.cli import _COMMANDS, build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert len(sub.choices) == len(_COMMANDS)
    return list(sub.choices)


def test_cli_reference_covers_every_command():
    cli = _ext("topokit_cli")
    from topokit.cli import build_parser

    progs = [prog for prog, _ in cli.command_parsers(build_parser())]
    assert progs == ["topokit"] + [f"topokit {name}" for name in _commands()]


@pytest.mark.parametrize("command", _commands())
def test_cli_reference_shows_every_argument(command):
    cli = _ext("topokit_cli")
    from topokit.cli import build_parser

    parser = dict(cli.command_parsers(build_parser()))[f"topokit {command}"]
    text = "\n".join(node.astext() for node in cli._arguments(parser))
    for action in parser._actions:
        if action.help == argparse.SUPPRESS:  # hidden from --help too (a renamed option)
            continue
        for option in action.option_strings or [action.metavar or action.dest]:
            assert option in text, f"topokit {command}: {option} missing from the reference"
    if parser.epilog:
        epilog = "\n".join(node.astext() for node in cli._epilog(parser.epilog))
        for line in parser.epilog.splitlines():
            if line.strip().startswith("topokit "):
                assert line.strip() in epilog


# ---------------------------------------------------------------------- API pages
_API_PAGES = {
    "topokit": "topokit.rst",
    "topokit.generators": "generators.rst",
    "topokit.metrics": "metrics.rst",
    "topokit.nn": "nn.rst",
    "topokit.nn.datasets": "datasets.rst",
    "topokit.analysis": "analysis.rst",
}


@pytest.mark.parametrize("module", list(_API_PAGES))
def test_api_page_lists_every_public_name(module):
    text = (API / _API_PAGES[module]).read_text(encoding="utf-8")
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))
    names = [name for name in importlib.import_module(module).__all__ if not name.startswith("__")]
    missing = [name for name in names if name not in words]
    assert not missing, f"docs/reference/api/{_API_PAGES[module]} lacks {missing}"


def test_interop_page_documents_every_module():
    package = Path(topokit.__file__).parent / "interop"
    public = sorted(p.stem for p in package.glob("*.py") if not p.stem.startswith("_"))
    text = (API / "interop.rst").read_text(encoding="utf-8")
    documented = sorted(re.findall(r"^\.\. automodule:: topokit\.interop\.(\w+)$", text, re.M))
    assert documented == [name for name in public if name != "conftest"]


def test_index_toctree_lists_every_part():
    assert _toctree_entries(DOCS / "index.md") == [
        "getting-started",
        "concepts/index",
        "guides/index",
        "results",
        "examples",
        "reference/index",
        "performance",
        "development",
    ]


# --------------------------------------------------------------- concept examples
def _python_blocks() -> list:
    """One ``pytest.param(page, [code block, ...])`` per concept page with Python code."""
    found = []
    for page in sorted(CONCEPTS.rglob("*.md")):
        blocks = re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S)
        if blocks:
            name = str(page.relative_to(DOCS))
            found.append(pytest.param(name, blocks, id=name))
    return found


@pytest.mark.parametrize(("page", "blocks"), _python_blocks())
def test_concept_examples_run(page, blocks):
    """Each page's blocks run in order; a last line ``expr  # value`` must repr as value."""
    namespace: dict = {}
    for block in blocks:
        lines = block.rstrip("\n").split("\n")
        exec(compile("\n".join(lines[:-1]), page, "exec"), namespace)
        expression, _, expected = lines[-1].partition("  # ")
        ast.parse(expression, mode="eval")  # the last line is an expression to show
        value = eval(expression, namespace)
        if expected:
            assert repr(value) == expected, f"{page}: {expression!r} gave {value!r}"
