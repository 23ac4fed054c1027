"""Train a SparseMLP one epoch at a time, so that a caller can show progress after each epoch.

``topokit train`` uses it: :meth:`SparseMLP.fit` over all epochs gives no hook between
epochs, so this loop calls ``fit(epochs=1)`` with the schedule's rate for each epoch, a
validation set split once, and the same early-stopping rule as :meth:`SparseMLP.fit`.
"""

from __future__ import annotations

import math

from topokit._errors import TopokitError
from topokit._validation import check_int, check_real, make_rng
from topokit.nn.schedules import make_schedule

__all__ = ["train_model"]


def train_model(
    model,
    X,
    y,
    *,
    epochs,
    batch_size=128,
    schedule="constant",
    schedule_params=None,
    validation_fraction=0.0,
    early_stopping=False,
    patience=10,
    tol=1e-4,
    target_accuracy=None,
    rng=None,
    progress=None,
) -> dict:
    """Train ``model`` for up to ``epochs`` epochs; ``model.history`` records each.

    Parameters
    ----------
    model : SparseMLP
        Its ``learning_rate`` is the schedule's initial rate (restored at the end).
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of int, of shape (n_samples,)
    epochs : int
        At least 1.
    batch_size : int, default 128
    schedule : {"constant", "step", "cosine"}, default "constant"
        Over ``epochs`` epochs (see :func:`topokit.nn.schedules.make_schedule`).
    schedule_params : dict, optional
    validation_fraction : float, default 0.0
        Share of ``(X, y)`` held out once (a random split drawn from ``rng``) and
        scored after every epoch; in [0, 1).
    early_stopping : bool, default False
        Stop once the validation accuracy (without validation data: minus the training
        loss) has not improved by ``tol`` for ``patience`` epochs; with validation data
        the best weights are restored.
    patience : int, default 10
    tol : float, default 1e-4
    target_accuracy : float, optional
        Recorded for ``model.epochs_to_target``.
    rng : numpy.random.Generator, int or None
        Draws the validation split.
    progress : tqdm-like, optional
        Gets ``set_postfix(...)`` and ``update()`` after each epoch and ``close()`` at
        the end.

    Returns
    -------
    dict
        ``{"stopped_early": bool}``.

    Raises
    ------
    TopokitError
        For bad arguments, and what :meth:`SparseMLP.fit` raises (a diverging loss).

    Examples
    --------
    >>> import numpy as np
    >>> from topokit import Topology
    >>> from topokit.nn import SparseMLP
    >>> from topokit.nn._train_loop import train_model
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 4))
    >>> y = (X[:, 0] > 0).astype(int)
    >>> model = SparseMLP(Topology.build([4, 8, 2], "dense"), learning_rate=0.01, rng=0)
    >>> train_model(model, X, y, epochs=3, batch_size=50, schedule="cosine")
    {'stopped_early': False}
    >>> model.history.n_epochs, model.history.learning_rate[1]
    (3, 0.0075)
    """
    base_rate = model.learning_rate
    try:
        epochs = check_int("epochs", epochs, minimum=1)
        patience = check_int("patience", patience, minimum=1)
        tol = check_real("tol", tol, low=0.0)
        rate = make_schedule(schedule, base_rate, epochs, **(schedule_params or {}))
        X, y, validation = _split(X, y, validation_fraction, make_rng(rng))
        best_weights, stopped_early = _epochs(
            model,
            X,
            y,
            validation,
            rate=rate,
            epochs=epochs,
            batch_size=batch_size,
            stopping=(patience, tol) if early_stopping else None,
            target_accuracy=target_accuracy,
            progress=progress,
        )
    finally:
        model.learning_rate = base_rate
        if progress is not None:
            progress.close()
    if best_weights is not None:
        for layer, (weights, bias) in zip(model.layers, best_weights, strict=True):
            layer.weight_data[:] = weights
            layer.bias[:] = bias
    return {"stopped_early": stopped_early}


def _epochs(
    model, X, y, validation, *, rate, epochs, batch_size, stopping, target_accuracy, progress
):
    """The epoch loop; returns (best weights or None, whether it stopped early)."""
    best_score, best_weights, stale = None, None, 0
    for epoch in range(epochs):
        model.learning_rate = rate(epoch)
        model.fit(
            X,
            y,
            epochs=1,
            batch_size=batch_size,
            validation_data=validation,
            target_accuracy=target_accuracy,
        )
        history = model.history
        if progress is not None:
            postfix = {"loss": f"{history.loss[-1]:.4f}", "acc": history.train_accuracy[-1]}
            if validation is not None:
                postfix["val_acc"] = history.val_accuracy[-1]
            progress.set_postfix(postfix, refresh=False)
            progress.update()
        if stopping is None:
            continue
        patience, tol = stopping
        score = history.val_accuracy[-1] if validation is not None else -history.loss[-1]
        if best_score is None or score > best_score + tol:
            best_score, stale = score, 0
            if validation is not None:
                best_weights = [(ly.weight_data.copy(), ly.bias.copy()) for ly in model.layers]
        else:
            stale += 1
            if stale >= patience:
                return best_weights, epoch + 1 < epochs
    return best_weights, False


def _split(X, y, fraction, rng):
    fraction = check_real("validation_fraction", fraction, low=0.0, high=1.0, high_open=True)
    if fraction == 0:
        return X, y, None
    n_samples = len(X)
    n_val = math.floor(fraction * n_samples + 0.5)
    if n_val < 1 or n_val >= n_samples:
        raise TopokitError(
            f"validation_fraction={fraction} of {n_samples} samples leaves {n_val} for "
            f"validation and {n_samples - n_val} for training; both must be >= 1"
        )
    order = rng.permutation(n_samples)
    val, train = order[:n_val], order[n_val:]
    return X[train], y[train], (X[val], y[val])
