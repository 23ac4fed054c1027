"""Sphinx configuration of the topokit documentation.

Build (as CI does, warnings are errors)::

    sphinx-build -W --keep-going -b html docs docs/_build/html

Nothing is fetched from the network at build time: no intersphinx, and the figures of
the family pages are drawn by ``_ext/topokit_figures.py`` from topokit itself.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

os.environ.setdefault("MPLBACKEND", "Agg")

import topokit  # noqa: E402

# -- project -------------------------------------------------------------------------
project = "topokit"
author = "the topokit developers"
copyright = "the topokit developers"
version = topokit.__version__
release = topokit.__version__

# -- extensions ----------------------------------------------------------------------
extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "topokit_cli",  # .. topokit-cli:: (the command reference, from build_parser())
    "topokit_figures",  # .. topokit-family:: (registry data and generated figures)
    "topokit_metrics",  # .. topokit-aggregate-keys:: (min_/mean_ keys of NETWORK_METRICS)
    "topokit_refs",  # re-exported names resolve (topokit.graph.LayerGraph -> topokit.LayerGraph)
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_generated", ".gitignore", "**/README.md"]
smartquotes = False  # command lines must show "--sizes", not an en dash

# -- MyST ----------------------------------------------------------------------------
myst_enable_extensions = ["colon_fence", "dollarmath", "amsmath", "deflist", "fieldlist"]
myst_heading_anchors = 3
myst_dmath_double_inline = True

# -- autodoc / autosummary / numpydoc --------------------------------------------------
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "none"  # numpydoc's Parameters sections say the types
autodoc_class_signature = "mixed"
autosummary_generate = False  # the API pages are written by hand; tables only link
# topokit.interop.torch needs PyTorch, an optional dependency: where it is absent the
# module is documented against a mock, so the build never needs torch
# (TOPOKIT_DOCS_MOCK_TORCH=1 forces the mock, to check that path where torch is installed).
_HAS_TORCH = importlib.util.find_spec("torch") is not None
_MOCK_TORCH = os.environ.get("TOPOKIT_DOCS_MOCK_TORCH") == "1" or not _HAS_TORCH
autodoc_mock_imports = ["torch"] if _MOCK_TORCH else []

numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

# No intersphinx: the build runs offline. References to numpy/scipy/... types in
# docstrings stay plain text (nitpicky is off).
nitpicky = False

# -- HTML ----------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"topokit {release}"
html_static_path = ["_static"]
html_css_files = ["topokit.css"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_show_sourcelink = False
html_last_updated_fmt = None
