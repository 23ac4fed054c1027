"""A worker process that runs a study's runs imports :mod:`topokit.analysis.runner` without
the statistics, plots and pandas behind the analysis (its start-up time, on a local pool
and on every Dask worker); the public names come at their first use.
"""

import pytest

import topokit.analysis
from topokit.analysis.analyze import analyze_study
from topokit.analysis.runner import run_study
from topokit.analysis.statistics import fit_line

_HEAVY = ("pandas", "scipy.stats", "matplotlib", "topokit.analysis.analyze")


@pytest.mark.parametrize(
    ("statement", "loaded"),
    [
        pytest.param("import topokit.analysis", set(), id="package"),
        pytest.param("import topokit.analysis.runner", set(), id="runner"),
        pytest.param("from topokit.analysis import load_study, run_study", set(), id="run"),
        pytest.param(
            "from topokit.analysis import analyze_study",
            {"pandas", "scipy.stats", "topokit.analysis.analyze"},
            id="analyze",
        ),
    ],
)
def test_what_each_import_loads(loaded_after, statement, loaded):
    assert loaded_after(statement, _HEAVY) == loaded


@pytest.mark.parametrize(
    ("name", "value"),
    [("run_study", run_study), ("analyze_study", analyze_study), ("fit_line", fit_line)],
)
def test_the_lazy_names_are_the_functions(name, value):
    assert getattr(topokit.analysis, name) is value
    assert name in dir(topokit.analysis)
    assert name in topokit.analysis.__all__


def test_every_public_name_resolves():
    for name in topokit.analysis.__all__:
        assert getattr(topokit.analysis, name).__module__.startswith("topokit.analysis")


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match=r"module 'topokit\.analysis' has no attribute 'Nope'"):
        topokit.analysis.Nope  # noqa: B018
