"""The names a study may use, read from the packages that own them."""

from __future__ import annotations

from topokit.generators import families
from topokit.metrics import INPUT_METRICS, LAYER_METRICS, NETWORK_METRICS
from topokit.nn import PRUNING_METHODS
from topokit.nn.activations import ACTIVATIONS
from topokit.nn.datasets import datasets
from topokit.nn.dynamic import DYNAMIC_RULES
from topokit.nn.optimizers import OPTIMIZERS
from topokit.nn.schedules import SCHEDULES

__all__ = [
    "activation_names",
    "dataset_names",
    "dataset_shape",
    "dynamic_rules",
    "family_names",
    "input_metric_keys",
    "layer_metric_keys",
    "network_metric_keys",
    "optimizer_names",
    "pruning_methods",
    "schedule_names",
]

# (n_features, n_classes) of the built-in data sets as topokit.nn.datasets loads them,
# so that sizes can be checked without loading (or downloading) the data.
_DATASET_SHAPES = {
    "digits": (64, 10),
    "mnist1d": (40, 10),
    "mnist": (784, 10),
    "fashion_mnist": (784, 10),
    "cifar10": (3072, 10),
}


def family_names() -> list[str]:
    """Registered layer-graph families."""
    return families()


def pruning_methods() -> dict[str, dict]:
    """Pruning methods, usable as study families, and their parameters' defaults."""
    return PRUNING_METHODS


def layer_metric_keys() -> tuple[str, ...]:
    """Per-layer metric keys (``topokit.metrics.LAYER_METRICS``)."""
    return tuple(LAYER_METRICS)


def network_metric_keys() -> tuple[str, ...]:
    """Metric keys with one value per run: whole-network and aggregated
    (``topokit.metrics.NETWORK_METRICS``), then data-aware (:func:`input_metric_keys`)."""
    return tuple(NETWORK_METRICS) + input_metric_keys()


def input_metric_keys() -> tuple[str, ...]:
    """Data-aware metric keys of the first layer (``topokit.metrics.INPUT_METRICS``)."""
    return tuple(INPUT_METRICS)


def dataset_names() -> tuple[str, ...]:
    """Built-in dataset names of ``topokit.nn.datasets``."""
    return tuple(datasets())


def dataset_shape(name: str) -> tuple[int, int] | None:
    """``(n_features, n_classes)`` of a built-in data set; None if unknown."""
    return _DATASET_SHAPES.get(name)


def activation_names() -> tuple[str, ...]:
    """Activations that ``topokit.nn`` trains with."""
    return tuple(ACTIVATIONS)


def optimizer_names() -> tuple[str, ...]:
    """Optimizers that ``topokit.nn`` trains with."""
    return tuple(OPTIMIZERS)


def dynamic_rules() -> tuple[str, ...]:
    """Rules of dynamic sparse training (``topokit.nn.dynamic.DYNAMIC_RULES``)."""
    return tuple(DYNAMIC_RULES)


def schedule_names() -> tuple[str, ...]:
    """Learning-rate schedules that ``topokit.nn`` trains with."""
    return tuple(SCHEDULES)
