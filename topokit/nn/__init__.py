"""topokit.nn: train multilayer perceptrons directly on the sparse weights of a Topology.

:class:`SparseLinear` is one layer whose weights live only on a layer graph's edges;
:class:`SparseMLP` stacks them into a softmax classifier with its own training loop.
"""

from topokit.nn.classifier import SparseMLPClassifier
from topokit.nn.defaults import DEFAULT_DENSITY, DEFAULT_RECIPE, Recipe
from topokit.nn.history import History
from topokit.nn.linear import SparseLinear
from topokit.nn.mlp import SparseMLP

__all__ = [
    "DEFAULT_DENSITY",
    "DEFAULT_RECIPE",
    "History",
    "Recipe",
    "SparseLinear",
    "SparseMLP",
    "SparseMLPClassifier",
]
