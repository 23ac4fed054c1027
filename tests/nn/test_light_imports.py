"""topokit.nn's light modules import neither numba nor scikit-learn (start-up speed).

The classes come at their first use, through the package's module ``__getattr__``.
"""

import pytest

import topokit.nn
from topokit.nn.classifier import SparseMLPClassifier
from topokit.nn.linear import SparseLinear
from topokit.nn.mlp import SparseMLP

_HEAVY = ("numba", "sklearn")


@pytest.mark.parametrize(
    ("statement", "loaded"),
    [
        pytest.param("import topokit.nn", set(), id="package"),
        pytest.param("from topokit.nn import DEFAULT_RECIPE, History, Recipe", set(), id="recipe"),
        pytest.param(
            "import topokit.nn.activations, topokit.nn.optimizers, topokit.nn.schedules",
            set(),
            id="registries",
        ),
        pytest.param("import topokit.nn.datasets", set(), id="datasets"),
        pytest.param("import topokit.nn.training", set(), id="training-hooks"),
        pytest.param("from topokit.nn import SparseMLP", {"numba"}, id="SparseMLP"),
        pytest.param(
            "from topokit.nn import SparseMLPClassifier", {"numba", "sklearn"}, id="classifier"
        ),
    ],
)
def test_what_each_import_loads(loaded_after, statement, loaded):
    assert loaded_after(statement, _HEAVY) == loaded


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("SparseLinear", SparseLinear),
        ("SparseMLP", SparseMLP),
        ("SparseMLPClassifier", SparseMLPClassifier),
    ],
)
def test_the_lazy_names_are_the_classes(name, cls):
    assert getattr(topokit.nn, name) is cls
    assert name in dir(topokit.nn)
    assert name in topokit.nn.__all__


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match=r"module 'topokit\.nn' has no attribute 'Nope'"):
        topokit.nn.Nope  # noqa: B018
