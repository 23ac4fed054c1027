"""The defaults shared by :class:`SparseMLP`, ``topokit train`` and studies.

One recipe, read by all three: :class:`topokit.nn.SparseMLP` and its
:meth:`~topokit.nn.SparseMLP.fit` take their parameter defaults from
:data:`DEFAULT_RECIPE`, ``topokit train`` its option defaults and ``--help`` text, and a
study's ``[training]`` table (:data:`topokit.analysis.study.TRAINING_DEFAULTS`) its
defaults for the same keys. :class:`~topokit.nn.SparseMLPClassifier` keeps
scikit-learn's own names and defaults (``max_iter=200``, ``batch_size="auto"``,
``n_iter_no_change=10``, ``alpha=1e-4``, ...).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["DEFAULT_DENSITY", "DEFAULT_RECIPE", "Recipe"]

DEFAULT_DENSITY = 0.1
"""Density of a sparse layer whose family needs an edge count and is given neither a
density nor a degree (:class:`~topokit.nn.SparseMLPClassifier`, ``topokit train``)."""


@dataclass(frozen=True)
class Recipe:
    """A training recipe: how long, in what minibatches, with which optimizer and penalty.

    The fields are the parameter names of :class:`~topokit.nn.SparseMLP` and
    :meth:`~topokit.nn.SparseMLP.fit`, and the keys of a study's ``[training]`` table.
    The default values suit the default user: a network of a few hundred thousand weights
    on a data set of the size of digits or MNIST. 30 epochs bring such a network near its
    final accuracy with Adam at learning rate 1e-3 (10 often stop short of it); minibatches
    of 128 keep the sparse kernels busy while leaving enough updates per epoch on small
    data sets; a patience of 10 epochs waits through the noise of a validation score
    measured on a tenth of the data before early stopping gives up.

    Parameters
    ----------
    epochs : int, default 30
        Passes over the training data.
    batch_size : int, default 128
        Samples per minibatch.
    optimizer : {"adam", "sgd"}, default "adam"
        The update rule.
    learning_rate : float, default 1e-3
        Initial learning rate.
    schedule : {"constant", "step", "cosine"}, default "constant"
        Learning-rate schedule over the epochs.
    momentum : float, default 0.9
        SGD momentum (``optimizer="sgd"`` only).
    nesterov : bool, default True
        Nesterov momentum (``optimizer="sgd"`` only).
    activation : {"relu", "tanh", "logistic", "identity"}, default "relu"
        Activation of the hidden layers.
    weight_decay : float, default 1e-4
        L2 penalty; scikit-learn's ``alpha``.
    early_stopping : bool, default False
        Stop once the validation accuracy has not improved for ``patience`` epochs.
    patience : int, default 10
        Epochs without improvement before early stopping ends training.
    validation_fraction : float, default 0.1
        Share of the training data held out to score after each epoch, where training
        holds some out: a study always, ``topokit train`` with ``--early-stopping``.
        :meth:`~topokit.nn.SparseMLP.fit` holds out nothing unless asked
        (``validation_fraction=0.0``): its caller owns the split of its data.

    Examples
    --------
    >>> from topokit.nn import DEFAULT_RECIPE
    >>> DEFAULT_RECIPE.epochs, DEFAULT_RECIPE.batch_size, DEFAULT_RECIPE.optimizer
    (30, 128, 'adam')
    >>> from topokit.nn.defaults import Recipe
    >>> Recipe(epochs=5, learning_rate=0.01).learning_rate
    0.01
    """

    epochs: int = 30
    batch_size: int = 128
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    schedule: str = "constant"
    momentum: float = 0.9
    nesterov: bool = True
    activation: str = "relu"
    weight_decay: float = 1e-4
    early_stopping: bool = False
    patience: int = 10
    validation_fraction: float = 0.1

    def as_dict(self) -> dict:
        """The recipe as a plain dict, keyed by the field names, in field order.

        Returns
        -------
        dict
            ``{"epochs": ..., "batch_size": ..., ..., "validation_fraction": ...}``.

        Examples
        --------
        >>> from topokit.nn.defaults import Recipe
        >>> recipe = Recipe(epochs=5).as_dict()
        >>> recipe["epochs"], list(recipe)[:3]
        (5, ['epochs', 'batch_size', 'optimizer'])
        """
        return asdict(self)


DEFAULT_RECIPE = Recipe()
"""The recipe :class:`SparseMLP`, ``topokit train`` and studies use by default."""
