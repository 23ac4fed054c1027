"""numpydoc validation of the public API: every public function, class and method documents
its parameters, what it returns, what it raises, and shows an example.

The public API is the ``__all__`` of every public module of topokit (a module whose dotted
name has no part starting with ``_``), plus the public methods and properties that the
public classes define themselves. Each object's docstring goes through
:func:`numpydoc.validate.validate`, and one case per object reports the codes of ``CHECKS``
that it fails. ``.ci/run`` runs this file as its own step, ``== numpydoc``.

Each family's docstring also cites the papers of its concept page (docs/concepts/families),
so the References of the API reference and of the page do not drift apart.

Run ``python tests/test_docstrings.py`` for one line per failing object.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import sys
import textwrap
from pathlib import Path

import pytest
from numpydoc.docscrape import get_doc_object
from numpydoc.validate import validate

import topokit
import topokit.generators

# The numpydoc checks we hold the public API to, each for a reason.
CHECKS = {
    # There is a docstring at all, with a one-line summary to show in tables.
    "GL08": "the object has a docstring",
    "SS01": "the docstring starts with a summary line",
    # Section names that numpydoc does not know ("Return", "Example") are typos that hide
    # the section from the rendered page.
    "GL06": "no unknown section names",
    # Parameters match the signature: each one documented (PR01), none that does not exist
    # (PR02, a renamed parameter left behind), in the signature's order (PR03), with a type
    # (PR04). Not PR07 (a description under each parameter): the house style writes shapes
    # in the type line, ``X : array of shape (n_samples, n_features)``, which often says
    # all there is to say.
    "PR01": "every parameter is documented",
    "PR02": "no documented parameter that the signature lacks",
    "PR03": "parameters are documented in the signature's order",
    "PR04": "every documented parameter has a type",
    # A function that returns a value says what (numpydoc looks for ``return <value>`` in
    # the source); a generator says what it yields.
    "RT01": "a function that returns something has a Returns section",
    "YD01": "a generator has a Yields section",
    # A runnable example (the doctests run them).
    "EX01": "there is an Examples section",
}

# Our own check, which numpydoc does not have: a function whose own body has a ``raise``
# statement has a Raises section. It sees only the raises written in the function itself,
# not those of the helpers it calls (a lower bound, but no false alarms).
RAISES_CODE = "RX01"
CHECKS[RAISES_CODE] = "a function that raises in its own body has a Raises section"

# Codes that the public classes' own docstrings are not held to: a class's Returns/Yields
# come from its methods, and numpydoc reads ``__init__``'s parameters into the class.
_NOT_FOR_CLASSES = {"RT01", "YD01", RAISES_CODE}

# A property reads as an attribute: a summary that says what it holds is enough.
_NOT_FOR_PROPERTIES = {"EX01"}


def _public_modules():
    names = ["topokit"]
    for info in pkgutil.walk_packages(topokit.__path__, prefix="topokit."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    modules = []
    for name in sorted(names):
        try:
            modules.append(importlib.import_module(name))
        except ImportError as exc:  # an optional dependency (torch) that is not installed
            if exc.name is None or exc.name.split(".")[0] == "topokit":
                raise
    return modules


def _defined_here(cls, name):
    attr = cls.__dict__[name]
    if isinstance(attr, property):
        return attr.fget is not None
    if isinstance(attr, (staticmethod, classmethod)):
        attr = attr.__func__
    return inspect.isfunction(attr)


def public_api():
    """The dotted names of the public API, each object once (under its first public name)."""
    seen = {}
    for module in _public_modules():
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue  # constants such as LAYER_METRICS carry no docstring of their own
            if id(obj) in seen:
                continue
            full = f"{module.__name__}.{name}"
            seen[id(obj)] = full
            if inspect.isclass(obj):
                for attr in sorted(vars(obj)):
                    if not attr.startswith("_") and _defined_here(obj, attr):
                        seen.setdefault(id(vars(obj)[attr]), f"{full}.{attr}")
    return sorted(seen.values())


def _function_of(obj):
    if isinstance(obj, property):
        return obj.fget
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    return inspect.unwrap(obj) if inspect.isfunction(obj) else None


def _raises_in_own_body(function):
    try:
        source = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError):
        return False
    tree = ast.parse(source).body[0]
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Raise) and node.exc is not None:
            return True
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            todo.extend(ast.iter_child_nodes(node))
    return False


def failing_codes(name):
    """The codes of ``CHECKS`` that the docstring of the object ``name`` fails, with messages."""
    report = validate(name)
    obj = _load(name)
    codes = {code: message for code, message in report["errors"] if code in CHECKS}
    function = _function_of(obj)
    raises = function is not None and _raises_in_own_body(function)
    if raises and not get_doc_object(obj)["Raises"]:
        codes[RAISES_CODE] = "No Raises section, but the function raises"
    if inspect.isclass(obj):
        codes = {code: m for code, m in codes.items() if code not in _NOT_FOR_CLASSES}
    if isinstance(obj, property):
        codes = {code: m for code, m in codes.items() if code not in _NOT_FOR_PROPERTIES}
    return codes


def _load(name):
    module_name, _, rest = name.partition(".")
    obj = importlib.import_module(module_name)
    parts = rest.split(".") if rest else []
    while parts and inspect.ismodule(obj):
        try:
            obj = importlib.import_module(f"{obj.__name__}.{parts[0]}")
        except ImportError:
            obj = getattr(obj, parts[0])
        parts.pop(0)
    for part in parts:
        obj = inspect.getattr_static(obj, part) if inspect.isclass(obj) else getattr(obj, part)
    return obj


PUBLIC_API = public_api()


def test_public_api_is_found():
    """The walk finds names from each public package (a broken walk would pass vacuously)."""
    for name in (
        "topokit.LayerGraph",
        "topokit.LayerGraph.to_networkx",
        "topokit.generators.ramanujan",
        "topokit.network_metrics",
        "topokit.nn.SparseMLP.fit",
        "topokit.nn.datasets.load_dataset",
        "topokit.interop.read_weights",
        "topokit.analysis.run_study",
    ):
        assert name in PUBLIC_API


def _raises_directly(x):
    if x < 0:
        raise ValueError(f"x must be >= 0, got {x}")
    return x


def _raises_in_a_nested_function_only(x):
    def inner():
        raise ValueError("not the outer function's own raise")

    return inner


def _re_raises_only(x):
    try:
        return 1 / x
    except ZeroDivisionError:
        raise


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        (_raises_directly, True),
        (_raises_in_a_nested_function_only, False),
        (_re_raises_only, False),
    ],
    ids=["direct", "nested", "bare-raise"],
)
def test_raises_check_sees_only_the_functions_own_raise(function, expected):
    assert _raises_in_own_body(function) is expected


@pytest.mark.parametrize("name", PUBLIC_API)
def test_docstring(name):
    codes = failing_codes(name)
    assert not codes, "\n".join(f"{name}: {code} {message}" for code, message in codes.items())


DOCS = Path(__file__).resolve().parents[1] / "docs"


def _page_references(page):
    """First authors' surnames of the ``## References`` list of a docs page, in order."""
    text = page.read_text(encoding="utf-8")
    _, found, section = text.partition("\n## References\n")
    if not found:
        return []
    section = section.split("\n#", 1)[0]
    items = [line[2:] for line in section.splitlines() if line.startswith("- ")]
    return [item.split(",")[0].split()[-1] for item in items]


@pytest.mark.parametrize("family", topokit.families())
def test_family_docstring_cites_the_papers_of_its_page(family):
    """The API reference and the concept page of a family name the same papers."""
    function = getattr(topokit.generators, family)
    cited = "\n".join(get_doc_object(function)["References"])
    authors = _page_references(DOCS / "concepts" / "families" / f"{family}.md")
    assert bool(cited) == bool(authors), f"{family}: References on one side only"
    for author in authors:
        assert author in cited, f"{family}: the docstring does not cite {author}"


def _main():
    failures = 0
    for name in PUBLIC_API:
        for code, message in sorted(failing_codes(name).items()):
            print(f"{name}: {code} {message}")
            failures += 1
    print(f"{len(PUBLIC_API)} public names, {failures} failures", file=sys.stderr)


if __name__ == "__main__":
    _main()
