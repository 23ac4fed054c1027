"""topokit.nn: train multilayer perceptrons directly on the sparse weights of a Topology.

:class:`SparseLinear` is one layer whose weights live only on a layer graph's edges;
:class:`SparseMLP` stacks them into a softmax classifier; :mod:`topokit.nn.training` is
the one training loop that it, :class:`SparseMLPClassifier` and the studies share, with its
hooks (:class:`TrainingHook`, :class:`TrainingState`, :class:`EarlyStopping`).

The classes are imported at their first use (``topokit.nn.SparseMLP``, ``from topokit.nn
import SparseMLP``), not with the package: they bring numba and scikit-learn, and the
light modules below them (:mod:`topokit.nn.defaults`, the registries of activations,
optimizers and schedules, :mod:`topokit.nn.datasets`) are read by ``topokit --help``,
which must start fast.
"""

from topokit.nn import _openmp  # noqa: F401  (the OpenMP spin, set on import: see the module)
from topokit.nn.defaults import DEFAULT_DENSITY, DEFAULT_RECIPE, Recipe
from topokit.nn.history import History
from topokit.nn.pruning import PRUNING_METHODS, PruningResult, check_pruning, prune
from topokit.nn.training import EarlyStopping, TrainingHook, TrainingState

__all__ = [
    "DEFAULT_DENSITY",
    "DEFAULT_RECIPE",
    "PRUNING_METHODS",
    "DynamicSparsity",
    "EarlyStopping",
    "History",
    "PruningResult",
    "Recipe",
    "SparseLinear",
    "SparseMLP",
    "SparseMLPClassifier",
    "TrainingHook",
    "TrainingState",
    "check_pruning",
    "prune",
]


def __getattr__(name):
    """The classes that bring numba and scikit-learn, imported at their first use."""
    if name == "SparseLinear":
        from topokit.nn.linear import SparseLinear

        value = SparseLinear
    elif name == "DynamicSparsity":
        from topokit.nn.dynamic import DynamicSparsity

        value = DynamicSparsity
    elif name == "SparseMLP":
        from topokit.nn.mlp import SparseMLP

        value = SparseMLP
    elif name == "SparseMLPClassifier":
        from topokit.nn.classifier import SparseMLPClassifier

        value = SparseMLPClassifier
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # the next lookup finds it without this function
    return value


def __dir__():
    return sorted({*globals(), *__all__})
