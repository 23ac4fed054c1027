"""The defaults shared by :meth:`SparseMLP.fit`, ``topokit train`` and studies.

One recipe, read by all three: :meth:`topokit.nn.SparseMLP.fit` takes its parameter
defaults from :data:`DEFAULT_RECIPE`, ``topokit train`` its option defaults, and a
study's ``[training]`` table (:data:`topokit.analysis.study.TRAINING_DEFAULTS`) its
defaults for the same keys. :class:`~topokit.nn.SparseMLPClassifier` keeps
scikit-learn's own defaults (``max_iter=200``, ``batch_size="auto"``,
``n_iter_no_change=10``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["DEFAULT_DENSITY", "DEFAULT_RECIPE", "Recipe"]

DEFAULT_DENSITY = 0.1
"""Density of a sparse layer whose family needs an edge count and is given neither a
density nor a degree (:class:`~topokit.nn.SparseMLPClassifier`, ``topokit train``)."""


@dataclass(frozen=True)
class Recipe:
    """Default training length, minibatch size and early-stopping patience.

    The values suit the default user: a network of a few hundred thousand weights on a data
    set of the size of digits or MNIST. 30 epochs bring such a network near its final
    accuracy with Adam at learning rate 1e-3 (10 often stop short of it); minibatches of 128
    keep the sparse kernels busy while leaving enough updates per epoch on small data sets;
    a patience of 10 epochs waits through the noise of a validation score measured on a
    tenth of the data before early stopping gives up.

    Parameters
    ----------
    epochs : int, default 30
        Passes over the training data.
    batch_size : int, default 128
        Samples per minibatch.
    patience : int, default 10
        Epochs without improvement before early stopping ends training.

    Examples
    --------
    >>> from topokit.nn import DEFAULT_RECIPE
    >>> DEFAULT_RECIPE
    Recipe(epochs=30, batch_size=128, patience=10)
    >>> DEFAULT_RECIPE.as_dict()
    {'epochs': 30, 'batch_size': 128, 'patience': 10}
    """

    epochs: int = 30
    batch_size: int = 128
    patience: int = 10

    def as_dict(self) -> dict:
        """The recipe as a plain dict, keyed by the :meth:`SparseMLP.fit` parameter names.

        Returns
        -------
        dict
            ``{"epochs": ..., "batch_size": ..., "patience": ...}``.

        Examples
        --------
        >>> from topokit.nn.defaults import Recipe
        >>> Recipe(epochs=5).as_dict()["epochs"]
        5
        """
        return asdict(self)


DEFAULT_RECIPE = Recipe()
"""The recipe :meth:`SparseMLP.fit`, ``topokit train`` and studies use by default."""
