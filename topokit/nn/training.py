"""The one stochastic training loop of topokit.nn, and the hooks that watch and steer it.

:meth:`SparseMLP.fit <topokit.nn.SparseMLP.fit>`, :class:`~topokit.nn.SparseMLPClassifier`'s
``fit`` and ``partial_fit``, ``topokit train`` and the studies all train through one loop,
as scikit-learn's ``MLPClassifier`` has one. Per epoch it shuffles the samples with the
model's Generator, takes one optimizer step per minibatch, checks the loss for
divergence after every step, scores the validation set, records the epoch in the
model's :class:`~topokit.nn.History`, and calls the hooks:

* ``on_fit_start(state)`` once, before the first step;
* ``on_step_end(state)`` after each optimizer step;
* ``on_epoch_end(state)`` after each epoch, once it is in the history (validation
  included);
* ``on_fit_end(state)`` once, when training ends without an error.

A hook sees and may change the :class:`TrainingState`: setting ``state.stop`` ends
training (after the current epoch's hooks; set in ``on_step_end``, it ends the epoch
after that step). Early stopping (:class:`EarlyStopping`), the estimator's bookkeeping
and progress bars are hooks; learning-rate schedules are the loop's ``rate``.

Nothing here holds a layer's sparsity pattern from one step to the next: a hook may
rewire a layer between steps (keeping its edge count), and the next step runs on the
new pattern. This module imports no numba (``topokit --help`` reads hooks defined on it).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from topokit._errors import TopokitError
from topokit._validation import check_int, check_real
from topokit.nn.history import History

__all__ = ["EarlyStopping", "TrainingHook", "TrainingState"]

_DIVERGENCE_FACTOR = 1e3  # loss above this times its reference counts as exploding


@dataclass
class TrainingState:
    """What the training loop hands to each hook: the model, where training is, the batch.

    Parameters
    ----------
    model : SparseMLP
        The network being trained.
    optimizer : SGD or Adam
        Its optimizer (``model.optimizer``), with its per-layer state.
    history : History
        The history being filled (``model.history``).
    epoch : int, default 0
        0-based index of the current epoch in this call to ``fit``.
    step : int, default 0
        Optimizer steps done so far: 1 after the first step of a ``fit``; across the
        calls of ``partial_fit`` the count goes on from the calls before.
    total_steps : int or None, default None
        Steps planned for the whole fit (``epochs * steps_per_epoch``; early stopping may
        end sooner), None when unknown (``partial_fit``).
    steps_per_epoch : int, default 0
        Minibatches in an epoch.
    X_batch : ndarray of shape (batch, n_features) or None, default None
        The current minibatch, in the model's dtype, as :meth:`SparseMLP.train_step`
        takes it. Set for every step when some hook has an ``on_step_end`` (the loop
        then copies each minibatch out of the data; the last one stays for
        ``on_epoch_end``); None otherwise.
    y_batch : ndarray of int64, of shape (batch,) or None, default None
        Its class indices.
    loss : float, default nan
        The last step's loss.
    stop : bool, default False
        Set it True to end training.

    Examples
    --------
    >>> import numpy as np
    >>> from topokit import Topology
    >>> from topokit.nn import SparseMLP
    >>> from topokit.nn.training import TrainingHook
    >>> class Steps(TrainingHook):
    ...     def on_fit_end(self, state):
    ...         self.seen = (state.step, state.total_steps, state.steps_per_epoch)
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((100, 4)), rng.integers(0, 2, 100)
    >>> hook = Steps()
    >>> _ = SparseMLP(Topology.build([4, 8, 2], "dense"), rng=0).fit(
    ...     X, y, epochs=3, batch_size=40, hooks=[hook])
    >>> hook.seen
    (9, 9, 3)
    """

    model: Any
    optimizer: Any
    history: History
    epoch: int = 0
    step: int = 0
    total_steps: int | None = None
    steps_per_epoch: int = 0
    X_batch: np.ndarray | None = None
    y_batch: np.ndarray | None = None
    loss: float = math.nan
    stop: bool = False


class TrainingHook:
    """Base class of training-loop hooks: each method does nothing unless overridden.

    Pass instances to :meth:`SparseMLP.fit <topokit.nn.SparseMLP.fit>` as ``hooks=[...]``;
    the loop calls them in the order given. A hook that rewires a layer's pattern
    between steps must keep the layer's edge count.

    Examples
    --------
    >>> import numpy as np
    >>> from topokit import Topology
    >>> from topokit.nn import SparseMLP
    >>> from topokit.nn.training import TrainingHook
    >>> class StopAtLoss(TrainingHook):
    ...     def on_step_end(self, state):
    ...         state.stop = state.loss < 0.6
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 4))
    >>> y = (X[:, 0] > 0).astype(int)
    >>> model = SparseMLP(Topology.build([4, 8, 2], "dense"), learning_rate=0.01, rng=0)
    >>> model.fit(X, y, epochs=50, batch_size=20, hooks=[StopAtLoss()]).history.n_epochs < 50
    True
    """

    def on_fit_start(self, state: TrainingState) -> None:
        """Called once before the first step.

        Parameters
        ----------
        state : TrainingState

        Examples
        --------
        >>> from topokit.nn.training import TrainingHook
        >>> TrainingHook().on_fit_start(None)
        """

    def on_step_end(self, state: TrainingState) -> None:
        """Called after each optimizer step.

        Parameters
        ----------
        state : TrainingState

        Examples
        --------
        >>> from topokit.nn.training import TrainingHook
        >>> TrainingHook().on_step_end(None)
        """

    def on_epoch_end(self, state: TrainingState) -> None:
        """Called after each epoch, once it is in ``state.history`` (validation included).

        Parameters
        ----------
        state : TrainingState

        Examples
        --------
        >>> from topokit.nn.training import TrainingHook
        >>> TrainingHook().on_epoch_end(None)
        """

    def on_fit_end(self, state: TrainingState) -> None:
        """Called once when training ends without an error (``state.stop`` or the last epoch).

        Parameters
        ----------
        state : TrainingState

        Examples
        --------
        >>> from topokit.nn.training import TrainingHook
        >>> TrainingHook().on_fit_end(None)
        """

    def __repr__(self):
        return f"{type(self).__name__}()"


class EarlyStopping(TrainingHook):
    """Stop when the score has not improved by ``tol`` for ``patience`` epochs.

    The score is the validation accuracy where the fit has validation data (the best
    weights are then restored at the end), else the negated training loss.
    ``SparseMLP.fit(early_stopping=True)`` adds this hook.

    Parameters
    ----------
    patience : int, default 10
        At least 1.
    tol : float, default 1e-4
        Non-negative.

    Raises
    ------
    TopokitError
        If ``patience < 1`` or ``tol < 0``.

    Warns
    -----
    UserWarning
        At the end, when a hook rewired a layer after the best epoch: that epoch's
        weights no longer fit the pattern and the final weights are kept.

    Examples
    --------
    >>> import numpy as np
    >>> from topokit import Topology
    >>> from topokit.nn import SparseMLP
    >>> from topokit.nn.training import EarlyStopping
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 4))
    >>> y = (X[:, 0] > 0).astype(int)
    >>> model = SparseMLP(Topology.build([4, 8, 2], "dense"), learning_rate=0.01, rng=0)
    >>> model = model.fit(X, y, epochs=100, validation_fraction=0.2,
    ...                   hooks=[EarlyStopping(patience=2)])
    >>> model.history.n_epochs < 100
    True
    """

    def __init__(self, patience=10, tol=1e-4):
        self.patience = check_int("patience", patience, minimum=1)
        self.tol = check_real("tol", tol, low=0.0)
        self._best_score = self._best = None
        self._stale = 0

    def on_fit_start(self, state):
        """Forget the scores of an earlier fit.

        Parameters
        ----------
        state : TrainingState

        Examples
        --------
        >>> from topokit.nn.training import EarlyStopping
        >>> EarlyStopping().on_fit_start(None)
        """
        self._best_score, self._best, self._stale = None, None, 0

    def on_epoch_end(self, state):
        """Score the epoch; keep its weights if it is the best; stop after ``patience`` stale ones.

        Parameters
        ----------
        state : TrainingState

        Examples
        --------
        >>> from topokit.nn.history import History
        >>> from topokit.nn.training import EarlyStopping, TrainingState
        >>> hook, history = EarlyStopping(patience=1, tol=0.0), History()
        >>> state = TrainingState(model=None, optimizer=None, history=history)
        >>> for loss in (1.0, 2.0):
        ...     history._append(loss, 0.5, None, 0.1, 0.01)
        ...     hook.on_epoch_end(state)
        >>> state.stop
        True
        """
        val_accuracy = state.history.val_accuracy[-1]
        has_val = val_accuracy is not None
        score = val_accuracy if has_val else -state.history.loss[-1]
        if self._best_score is None or score > self._best_score + self.tol:
            self._best_score, self._stale = score, 0
            if has_val:
                self._best = _snapshot(state.model)
        else:
            self._stale += 1
            if self._stale >= self.patience:
                state.stop = True

    def on_fit_end(self, state):
        """Restore the weights of the best validation epoch, if there was validation data.

        Parameters
        ----------
        state : TrainingState

        Examples
        --------
        >>> from topokit.nn.training import EarlyStopping
        >>> EarlyStopping().on_fit_end(None)  # no validation epoch scored: nothing to restore
        """
        if self._best is not None:
            _restore(state.model, self._best, "the best validation epoch")
            self._best = None

    def __repr__(self):
        return f"EarlyStopping(patience={self.patience}, tol={self.tol})"


def _snapshot(model) -> list:
    """Each layer's weights, bias and pattern (its column indices), copied."""
    return [
        (layer.weight_data.copy(), layer.bias.copy(), layer.weight.indices.copy())
        for layer in model.layers
    ]


def _restore(model, snapshot, what) -> None:
    """Put ``snapshot``'s weights back, unless a layer's pattern has changed since."""
    if any(
        not np.array_equal(layer.weight.indices, indices)
        for layer, (_, _, indices) in zip(model.layers, snapshot, strict=True)
    ):
        warnings.warn(
            f"a layer was rewired after {what}: its weights do not fit the current "
            "pattern, so the final weights are kept",
            UserWarning,
            stacklevel=4,
        )
        return
    for layer, (weights, bias, _) in zip(model.layers, snapshot, strict=True):
        layer.weight_data[:] = weights
        layer.bias[:] = bias


class _OnEpoch(TrainingHook):
    """``fit(on_epoch=f)``: ``f(model)`` after each epoch."""

    def __init__(self, function):
        self.function = function

    def on_epoch_end(self, state):
        self.function(state.model)


class _ProgressBar(TrainingHook):
    """``fit(progress=True)``: a tqdm bar over the epochs."""

    def __init__(self, epochs):
        self.epochs = epochs
        self.bar = None

    def on_fit_start(self, state):
        from tqdm.auto import tqdm  # only when a bar is asked for

        self.bar = tqdm(total=self.epochs, desc="epochs", unit="epoch")

    def on_epoch_end(self, state):
        self.bar.update()

    def on_fit_end(self, state):
        self.bar.close()


def _overrides(hook, name) -> bool:
    return getattr(type(hook), name) is not getattr(TrainingHook, name)


def _run_loop(
    model,
    X,
    labels,
    *,
    epochs,
    batch_size,
    rate,
    shuffle=True,
    validation=None,
    hooks=(),
    first_step=0,
    plan_steps=True,
):
    """Train ``model`` for up to ``epochs`` epochs on checked data: the one loop.

    ``X`` is C-contiguous in the model's dtype, ``labels`` int64 class indices (the
    caller has checked them; non-finite features are counted as each minibatch is
    loaded and raise before its step). ``batch_size`` is at most the number of
    samples; ``rate(epoch)`` gives each epoch's learning rate; ``validation`` is
    ``(X_val, y_val)`` or None. ``first_step`` is where ``state.step`` starts;
    ``plan_steps`` False leaves ``state.total_steps`` None. Returns the final
    :class:`TrainingState`.
    """
    n_samples = X.shape[0]
    steps_per_epoch = -(-n_samples // batch_size)
    state = TrainingState(
        model=model,
        optimizer=model.optimizer,
        history=model.history,
        step=first_step,
        total_steps=epochs * steps_per_epoch if plan_steps else None,
        steps_per_epoch=steps_per_epoch,
    )
    step_hooks = [hook for hook in hooks if _overrides(hook, "on_step_end")]
    for hook in hooks:
        hook.on_fit_start(state)
    for epoch in range(epochs):
        state.epoch = epoch
        model._current_rate = rate(epoch)
        loss, accuracy, seconds = _run_epoch(state, X, labels, batch_size, shuffle, step_hooks)
        val_accuracy = None if validation is None else model.score(*validation)
        state.history._append(loss, accuracy, val_accuracy, seconds, model._current_rate)
        if _diverged(model, loss):
            _raise_divergence(model, loss, state.history.n_epochs)
        for hook in hooks:
            hook.on_epoch_end(state)
        if state.stop:
            break
    for hook in hooks:
        hook.on_fit_end(state)
    return state


def _run_epoch(state, X, labels, batch_size, shuffle, step_hooks):
    """One pass over the samples; returns (mean loss, training accuracy, seconds)."""
    model = state.model
    n_samples = X.shape[0]
    order = model._rng.permutation(n_samples) if shuffle else np.arange(n_samples)
    total_loss, total_correct, n_seen = 0.0, 0, 0
    start = time.perf_counter()
    for first in range(0, n_samples, batch_size):
        rows = order[first : first + batch_size]
        y_batch = labels[rows]
        if step_hooks:
            state.X_batch, state.y_batch = X[rows], y_batch
            xt = model._load_batch(state.X_batch)
        else:
            xt = model._load_batch(X, rows)
        loss, n_correct = model._step(xt, y_batch)
        state.step += 1
        state.loss = loss
        if _diverged(model, loss):
            elapsed = time.perf_counter() - start
            accuracy = total_correct / max(first, 1)
            state.history._append(loss, accuracy, None, elapsed, model._current_rate)
            _raise_divergence(model, loss, state.history.n_epochs)
        if model._loss_reference is None:
            model._loss_reference = max(loss, math.log(model.n_classes))
        total_loss += loss * rows.size
        total_correct += n_correct
        n_seen += rows.size
        for hook in step_hooks:
            hook.on_step_end(state)
        if state.stop:
            break
    seconds = time.perf_counter() - start
    return total_loss / n_seen, total_correct / n_seen, seconds


def _diverged(model, loss) -> bool:
    """NaN/inf, or more than a thousand times the model's first loss (or log n_classes)."""
    if not math.isfinite(loss):
        return True
    reference = model._loss_reference or math.log(model.n_classes)
    return loss > _DIVERGENCE_FACTOR * reference


def _raise_divergence(model, loss, epoch):
    raise TopokitError(
        f"training diverged in epoch {epoch}: the loss reached {loss:.4g} at "
        f"learning_rate={model._current_rate:g}; lower the learning rate "
        f"(the epochs so far are in .history)"
    )
