"""Data sets for training sparse networks: ``load_dataset(name)`` returns a :class:`Dataset`.

Built in: ``digits`` (scikit-learn, embedded; the default), ``mnist1d`` (generated
offline), ``mnist`` and ``fashion_mnist`` (IDX files), ``cifar10`` (python batches);
also your own ``.npz`` or ``.csv`` file. :func:`datasets` lists the names.
"""

from topokit.nn.datasets._cache import ENV_VAR
from topokit.nn.datasets._dataset import Dataset
from topokit.nn.datasets._load import datasets, load_dataset

__all__ = ["ENV_VAR", "Dataset", "datasets", "load_dataset"]
