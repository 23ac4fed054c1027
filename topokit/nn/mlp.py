"""SparseMLP: a multilayer perceptron trained directly on the CSR weights of a Topology."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import scipy.sparse as sp

from topokit._atomic import replacing
from topokit._errors import TopokitError
from topokit._graph_file import read_topology, topology_arrays
from topokit._validation import check_int, check_real, make_rng
from topokit.graph import LayerGraph
from topokit.nn import _panels
from topokit.nn._checks import check_features, check_labels, non_finite_error, renamed
from topokit.nn._holdout import split_validation
from topokit.nn._softmax import softmax_cross_entropy
from topokit.nn.activations import get_activation
from topokit.nn.defaults import DEFAULT_RECIPE
from topokit.nn.dynamic import (
    DynamicSparsity,
    _check_drop_fraction,
    _check_has_sparse_layer,
    _check_rule,
    _check_update_interval,
    _check_update_until,
)
from topokit.nn.history import History
from topokit.nn.linear import SparseLinear, _check_dtype
from topokit.nn.optimizers import make_optimizer
from topokit.nn.schedules import make_schedule
from topokit.nn.training import EarlyStopping, TrainingHook, _OnEpoch, _ProgressBar, _run_loop
from topokit.topology import Topology

__all__ = ["SparseMLP"]

_PREDICT_CHUNK = 4096  # samples per forward pass in predict_proba
_FORMAT_VERSION = 2  # 2: the topology file's arrays (topokit.io) with provenance


class SparseMLP:
    """A classifier network whose layer ``k`` has exactly the edges of ``topology[k]``.

    Hidden layers apply ``activation``; the last layer feeds a softmax with the
    cross-entropy loss, so the topology's last size is the number of classes.
    Weights start scaled by each output neuron's actual fan-in (He for ``relu``,
    Glorot from both end degrees otherwise; the softmax layer uses Glorot), biases
    at zero. Training follows scikit-learn's ``MLPClassifier``: the gradient of
    ``mean cross-entropy + weight_decay / (2 * batch) * Σ W²`` (biases not penalised),
    the same SGD and Adam updates, applied only to the stored weights.

    The defaults of ``activation``, ``optimizer``, ``learning_rate``, ``momentum``,
    ``nesterov``, ``weight_decay`` and ``schedule`` are :data:`topokit.nn.DEFAULT_RECIPE`'s,
    shared with ``topokit train`` and studies.

    Parameters
    ----------
    topology : Topology
        The network's layer graphs, sizes ``[n_features, ..., n_classes]``,
        ``n_classes >= 2``.
    activation : {"relu", "tanh", "logistic", "identity"}, default "relu"
    optimizer : {"adam", "sgd"}, default "adam"
    learning_rate : float, default 1e-3
        Initial learning rate (positive).
    momentum : float, default 0.9
        SGD momentum, in [0, 1].
    nesterov : bool, default True
        Nesterov momentum for SGD.
    beta_1, beta_2, epsilon : float, default 0.9, 0.999, 1e-8
        Adam parameters.
    weight_decay : float, default 1e-4
        L2 penalty (non-negative); scikit-learn's ``alpha``.
    schedule : {"constant", "step", "cosine"}, default "constant"
        Learning-rate schedule over the epochs of each :meth:`fit`.
    schedule_params : dict, optional
        The schedule's parameters (``step_size``, ``gamma``; ``min_learning_rate``).
    dense_threshold : float or None, default 0.3
        Layers at least this dense run on dense BLAS products (same results).
    dtype : {numpy.float32, numpy.float64}, default numpy.float32
    dynamic : {"static", "set", "rigl"}, default "static"
        Dynamic sparse training (:class:`~topokit.nn.DynamicSparsity`): with ``"set"``
        or ``"rigl"`` every :meth:`fit` rewires the sparse layers as it trains, each
        keeping its edge count; ``"static"`` keeps the topology fixed.
    drop_fraction : float, default 0.3
        In (0, 1): the share of each sparse layer's edges an update replaces (RigL's
        starting value, annealed by cosine).
    update_interval : int or None, default None
        Optimizer steps between updates (>= 1); None: once per epoch, after the
        validation score. The count runs over each :meth:`fit`.
    update_until : float, default 0.75
        In (0, 1]: the fraction of a :meth:`fit`'s planned steps after which RigL stops
        updating.
    rng : None, int or numpy.random.Generator, optional
        Made once into the Generator that draws the initial weights, shuffles the
        minibatches, splits off validation data and draws SET's new positions and
        weights. Same seed, same trained model (and the same final topology).

    Attributes
    ----------
    layers : list of SparseLinear
    history : History
        One entry per epoch trained, kept when training stops with an error.
    target_accuracy : float or None
        The target of the last :meth:`fit`, if any.
    dynamic_sparsity : DynamicSparsity or None
        With ``dynamic`` set or rigl, after the first :meth:`fit`: the hook that rewires
        the layers, kept across fits, with the outcomes of training so far: its
        ``ever_active_fraction()`` per layer and its ``changes`` (one record per layer
        and update). None otherwise. Not written by :meth:`save`.

    Raises
    ------
    TopokitError
        For an unknown activation, optimizer, schedule or dynamic rule, a parameter out
        of range, or ``dynamic`` set or rigl on a topology without a sparse layer.

    Examples
    --------
    >>> import numpy as np
    >>> from topokit import Topology
    >>> from topokit.nn import SparseMLP
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 4))
    >>> y = (X[:, 0] + X[:, 1] > 0).astype(int)
    >>> model = SparseMLP(Topology.build([4, 16, 2], "dense"), learning_rate=0.01, rng=0)
    >>> model.fit(X, y, epochs=30, batch_size=32).score(X, y) > 0.9
    True

    With ``dynamic="set"`` the sparse layers are rewired once per epoch:

    >>> sparse = Topology.build([4, 32, 2], "erdos_renyi", density=0.25, rng=0)
    >>> model = SparseMLP(sparse, dynamic="set", learning_rate=0.01, rng=0)
    >>> model = model.fit(X, y, epochs=5, batch_size=32)
    >>> [layer.n_edges for layer in model.topology] == [g.n_edges for g in sparse]
    True
    >>> len(model.dynamic_sparsity.changes)    # 4 updates (none after the last epoch), 2 layers
    8
    """

    @renamed(alpha="weight_decay")
    def __init__(
        self,
        topology,
        activation=DEFAULT_RECIPE.activation,
        *,
        optimizer=DEFAULT_RECIPE.optimizer,
        learning_rate=DEFAULT_RECIPE.learning_rate,
        momentum=DEFAULT_RECIPE.momentum,
        nesterov=DEFAULT_RECIPE.nesterov,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        weight_decay=DEFAULT_RECIPE.weight_decay,
        schedule=DEFAULT_RECIPE.schedule,
        schedule_params=None,
        dense_threshold=0.3,
        dtype=np.float32,
        dynamic="static",
        drop_fraction=0.3,
        update_interval=None,
        update_until=0.75,
        rng=None,
    ):
        if not isinstance(topology, Topology):
            raise TopokitError(f"topology must be a Topology, got {type(topology).__name__}")
        if topology.sizes[-1] < 2:
            raise TopokitError(
                f"the last layer size is the number of classes and must be >= 2, got "
                f"{topology.sizes[-1]} (use 2 outputs for a binary problem)"
            )
        self._topology = topology
        self.activation = get_activation(activation)
        self.dtype = _check_dtype(dtype)
        self.learning_rate = check_real("learning_rate", learning_rate, low=0.0, low_open=True)
        self.weight_decay = check_real("weight_decay", weight_decay, low=0.0)
        optimizer_params = (
            {"momentum": momentum, "nesterov": nesterov}
            if optimizer == "sgd"
            else {"beta_1": beta_1, "beta_2": beta_2, "epsilon": epsilon}
        )
        self.optimizer = make_optimizer(optimizer, **optimizer_params)
        self.schedule = schedule
        self.schedule_params = dict(schedule_params or {})
        make_schedule(schedule, self.learning_rate, 1, **self.schedule_params)  # validate
        self._config = {
            "activation": activation,
            "optimizer": optimizer,
            "learning_rate": self.learning_rate,
            "momentum": float(momentum),
            "nesterov": bool(nesterov),
            "beta_1": float(beta_1),
            "beta_2": float(beta_2),
            "epsilon": float(epsilon),
            "weight_decay": self.weight_decay,
            "schedule": schedule,
            "schedule_params": self.schedule_params,
            "dense_threshold": dense_threshold,
            "dtype": self.dtype.name,
        }
        self.dynamic = _check_rule(dynamic)
        self.drop_fraction = _check_drop_fraction(drop_fraction)
        self.update_interval = _check_update_interval(update_interval)
        self.update_until = _check_update_until(update_until)
        self._config.update(
            dynamic=self.dynamic,
            drop_fraction=self.drop_fraction,
            update_interval=self.update_interval,
            update_until=self.update_until,
        )
        self._rng = make_rng(rng)
        n_layers = len(topology)
        self.layers = [
            SparseLinear(
                graph,
                init=self.activation.init if k < n_layers - 1 else "glorot",
                dtype=self.dtype,
                dense_threshold=dense_threshold,
                rng=self._rng,
            )
            for k, graph in enumerate(topology)
        ]
        if self.dynamic != "static":
            _check_has_sparse_layer(self, self.dynamic)
        self.dynamic_sparsity = None
        self.history = History()
        self.target_accuracy = None
        self._current_rate = self.learning_rate
        self._loss_reference = None
        self._buffers = {}  # batch size -> training buffers (see _training_buffers)

    # --------------------------------------------------------------- sizes
    @property
    def topology(self) -> Topology:
        """The network's layer graphs: each layer's current pattern (``layer.graph``).

        A training hook that rewires a layer (giving it a new graph) changes it; the
        Topology given at construction otherwise.
        """
        layers = self._topology.layers
        if any(layer.graph is not graph for layer, graph in zip(self.layers, layers, strict=True)):
            self._topology = Topology([layer.graph for layer in self.layers])
        return self._topology

    @property
    def n_features(self) -> int:
        """Input size of the network."""
        return self.layers[0].n_in

    @property
    def n_classes(self) -> int:
        """Output size of the network (number of classes)."""
        return self.layers[-1].n_out

    @property
    def n_edges(self) -> int:
        """Number of trainable weights (biases not counted)."""
        return self.topology.n_edges

    @property
    def epochs_to_target(self) -> int | None:
        """First epoch reaching :attr:`target_accuracy` (validation, else training); None if never.

        See :meth:`History.epochs_to_reach`.
        """
        if self.target_accuracy is None:
            return None
        return self.history.epochs_to_reach(self.target_accuracy)

    # ------------------------------------------------------------ passes
    def _training_buffers(self, batch):
        """Arrays reused by every training step at this batch size, in the panel layout.

        ``inputs`` (P · n_features, width) receives the minibatch (see
        :meth:`_load_batch`); ``outputs[k]`` (P · n_out, width) layer k's activations,
        ``input_grads[k]`` (P · n_in, width) the gradient for its input (k >= 1), None
        where the layer writes it over its input (``SparseLinear._backward_in_place``); P
        panels of ``width`` samples, :func:`~topokit.nn._panels.panel_shape`. They are
        allocated once per batch size and reused by every step, so that a step allocates
        nothing: glibc gives a freed multi-megabyte block back to the system, and a new
        one page-faults in on first touch, at a cost of the order of the sparse kernels'
        at low density (the Performance page of the docs). The last two batch sizes are
        kept (the full one and an epoch's remainder).
        """
        buffers = self._buffers.get(batch)
        if buffers is None:
            if len(self._buffers) >= 2:
                self._buffers.pop(next(iter(self._buffers)))
            n_panels, width = _panels.panel_shape(batch)

            def panels(n):
                return _panels.empty_aligned((n_panels * n, width), self.dtype)

            outputs = [panels(layer.n_out) for layer in self.layers]
            # none for a layer that writes its input gradient over its input (a fresh
            # array each step should that change, as when pruning moves it to the dense path)
            input_grads = [None] + [
                None if layer._backward_in_place(self.activation) else panels(layer.n_in)
                for layer in self.layers[1:]
            ]
            inputs = panels(self.n_features)
            inputs[...] = 0  # the padding columns stay zero
            buffers = self._buffers[batch] = (inputs, outputs, input_grads)
        return buffers

    def _load_batch(self, X, rows=None):
        """Samples ``X[rows]`` (all of ``X`` by default) in the reused input buffer, panel layout.

        Raises
        ------
        TopokitError
            If any of them is NaN or infinite.
        """
        if rows is None:
            rows = np.arange(X.shape[0])
        inputs = self._training_buffers(rows.size)[0]
        n_bad = _panels.load_panels(64 * inputs.size, X, rows, inputs)
        if n_bad:
            raise non_finite_error(n_bad)
        return inputs

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_buffers"] = {}  # scratch space, rebuilt on the next training step
        return state

    def __setstate__(self, state):
        if "topology" in state:  # pickled when the topology was a plain attribute
            state["_topology"] = state.pop("topology")
        # pickled before dynamic sparse training was a parameter
        for name, value in (
            ("dynamic", "static"),
            ("drop_fraction", 0.3),
            ("update_interval", None),
            ("update_until", 0.75),
            ("dynamic_sparsity", None),
        ):
            state.setdefault(name, value)
        self.__dict__.update(state)

    def _logits_t(self, xt, *, keep_inputs, outputs=None):
        """Forward on feature-major input; returns the activations of every layer.

        ``outputs``, if given, holds an array per layer that receives its activations.
        """
        activations = [xt]
        last = len(self.layers) - 1
        for k, layer in enumerate(self.layers):
            activation = self.activation if k < last else None
            out = None if outputs is None else outputs[k]
            z = layer._forward_panels(
                activations[-1], keep_input=keep_inputs, activation=activation, out=out
            )
            activations.append(z)
        return activations

    def _loss_and_gradients(self, xt, labels, *, input_grad=False):
        """Forward and backward on one minibatch; fills every layer's gradients.

        ``xt`` is the minibatch feature-major, (n_features, batch), or in the panel
        layout of :meth:`_training_buffers` (samples past ``labels.size`` are padding).
        Returns ``(loss, n_correct)``, plus the gradient of the loss with respect to
        ``xt`` (in its layout) when ``input_grad``.
        """
        batch = labels.size
        n_panels, width = xt.shape[0] // self.n_features, xt.shape[1]
        outputs, input_grads = None, [None] * len(self.layers)
        if (n_panels, width) == _panels.panel_shape(batch):
            _, outputs, input_grads = self._training_buffers(batch)
        activations = self._logits_t(xt, keep_inputs=True, outputs=outputs)
        logits = activations[-1]
        delta = np.empty_like(logits)
        loss, n_correct = softmax_cross_entropy(logits, labels, self.n_classes, delta)
        # L2 penalty weight_decay / (2 batch) Σ W²: its gradient is added by each layer's backward
        decay = self.dtype.type(self.weight_decay / batch)
        for k in range(len(self.layers) - 1, -1, -1):
            # the input of layer k > 0 is the activation's output: _backward_panels applies
            # its derivative to the input gradient
            activation = self.activation if k > 0 else None
            out = input_grads[k]
            if outputs is not None and k > 0 and self.layers[k]._backward_in_place(activation):
                out = self.layers[k]._input_t  # its input (outputs[k - 1]), row by row
            # the input gradient of layer 0 is returned to the caller: a fresh array
            # layer k's input gradient sums to layer k - 1's bias gradient: the
            # kernel that writes it sums it too (bias_grad_ready below)
            grad_in = self.layers[k]._backward_panels(
                delta,
                input_grad=k > 0 or input_grad,
                activation=activation,
                out=out,
                input_grad_sums=self.layers[k - 1].bias_grad if k > 0 else None,
                bias_grad_ready=k < len(self.layers) - 1,
                weight_decay=decay,
            )
            delta = grad_in
        if self.weight_decay > 0:
            penalty = sum(layer._weight_sum_of_squares() for layer in self.layers)
            loss += 0.5 * (self.weight_decay / batch) * penalty
        for layer in self.layers:
            layer._input_t = None
        if input_grad:
            return loss, n_correct, grad_in
        return loss, n_correct

    def _step(self, xt, labels):
        loss, n_correct = self._loss_and_gradients(xt, labels)
        if math.isfinite(loss):
            params, grads = [], []
            for layer in self.layers:
                params += [layer.weight_data, layer.bias]
                grads += [layer.weight_grad, layer.bias_grad]
            self.optimizer.step(params, grads, self._current_rate)
        return loss, n_correct

    def train_step(self, X, y) -> float:
        """One optimizer step on the minibatch ``(X, y)`` at the current learning rate.

        Parameters
        ----------
        X : array_like of shape (batch, n_features)
        y : array_like of int, of shape (batch,)
            Class indices in [0, n_classes).

        Returns
        -------
        float
            The minibatch loss before the step.

        Raises
        ------
        TopokitError
            For bad data (see :meth:`fit`) or a non-finite loss.

        Examples
        --------
        >>> import numpy as np
        >>> from topokit import Topology
        >>> from topokit.nn import SparseMLP
        >>> model = SparseMLP(Topology.build([3, 2], "dense"), rng=0)
        >>> model.train_step(np.ones((4, 3)), [0, 1, 1, 0]) > 0
        True
        """
        # the values are checked as they are copied into the input buffer
        X = check_features(X, self.n_features, self.dtype, finite=False)
        labels = check_labels(y, X.shape[0], self.n_classes)
        loss, _ = self._step(self._load_batch(X), labels)
        if not math.isfinite(loss):
            raise TopokitError(
                f"training diverged: the loss is {loss} at learning_rate="
                f"{self._current_rate:g}; lower the learning rate"
            )
        return loss

    # ------------------------------------------------------------- fitting
    def fit(
        self,
        X,
        y,
        *,
        epochs=DEFAULT_RECIPE.epochs,
        batch_size=DEFAULT_RECIPE.batch_size,
        validation_fraction=0.0,
        validation_data=None,
        early_stopping=DEFAULT_RECIPE.early_stopping,
        patience=DEFAULT_RECIPE.patience,
        tol=1e-4,
        target_accuracy=None,
        shuffle=True,
        progress=False,
        on_epoch=None,
        hooks=None,
    ):
        """Train for ``epochs`` passes over ``(X, y)``, continuing from the current weights.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Finite numbers.
        y : array_like of int, of shape (n_samples,)
            Class indices in [0, n_classes).
        epochs : int, default 30
            The defaults of ``epochs``, ``batch_size``, ``early_stopping`` and ``patience``
            are :data:`topokit.nn.DEFAULT_RECIPE`'s, shared with ``topokit train`` and
            studies.
        batch_size : int, default 128
            Clipped to the number of training samples.
        validation_fraction : float, default 0.0
            Fraction of ``(X, y)`` held out (drawn with the model's Generator) to
            measure validation accuracy after each epoch; in [0, 1).
        validation_data : tuple (X_val, y_val), optional
            Explicit validation set (instead of ``validation_fraction``).
        early_stopping : bool, default False
            Stop when the validation accuracy (or, without validation data, the
            training loss) has not improved by ``tol`` for ``patience`` epochs; with
            validation data the best weights are restored.
        patience : int, default 10
        tol : float, default 1e-4
        target_accuracy : float, optional
            Records the target for :attr:`epochs_to_target`.
        shuffle : bool, default True
            Shuffle the samples every epoch with the model's Generator.
        progress : bool, default False
            Show a tqdm progress bar over epochs.
        on_epoch : callable, optional
            Called as ``on_epoch(model)`` after each epoch, once the epoch is in
            :attr:`history` (after the ``hooks``).
        hooks : sequence of TrainingHook, optional
            Called by the training loop at the start, after each step, after each
            epoch and at the end (:mod:`topokit.nn.training`), in the order given and
            before the built-in ones (``on_epoch``, early stopping, the rewiring of
            ``dynamic``, the progress bar).

        Returns
        -------
        SparseMLP
            ``self``.

        Raises
        ------
        TopokitError
            For NaN/inf or non-numeric features, labels that do not match ``X``, a
            feature count other than the topology's input size, an empty dataset,
            bad parameters, hooks that are not :class:`~topokit.nn.training.TrainingHook`,
            or a loss that diverges (the message gives the epoch and the learning rate;
            :attr:`history` keeps the epochs trained).

        Examples
        --------
        >>> import numpy as np
        >>> from topokit import Topology
        >>> from topokit.nn import SparseMLP
        >>> rng = np.random.default_rng(0)
        >>> X = rng.standard_normal((200, 4))
        >>> y = (X[:, 0] > 0).astype(int)
        >>> model = SparseMLP(Topology.build([4, 8, 2], "dense"), learning_rate=0.01, rng=0)
        >>> losses = []
        >>> model = model.fit(X, y, epochs=3, batch_size=50,
        ...                   on_epoch=lambda m: losses.append(m.history.loss[-1]))
        >>> model.history.n_epochs, losses == model.history.loss
        (3, True)
        """
        X = check_features(X, self.n_features, self.dtype)
        labels = check_labels(y, X.shape[0], self.n_classes)
        epochs = check_int("epochs", epochs, minimum=0)
        batch_size = check_int("batch_size", batch_size, minimum=1)
        patience = check_int("patience", patience, minimum=1)
        tol = check_real("tol", tol, low=0.0)
        if target_accuracy is not None:
            target_accuracy = check_real("target_accuracy", target_accuracy, low=0.0, high=1.0)
        hooks = _check_hooks(hooks)
        self.target_accuracy = target_accuracy
        X, labels, X_val, y_val = self._validation_set(
            X, labels, validation_fraction, validation_data
        )
        rate = make_schedule(self.schedule, self.learning_rate, epochs, **self.schedule_params)
        if on_epoch is not None:
            hooks.append(_OnEpoch(on_epoch))
        if early_stopping:
            hooks.append(EarlyStopping(patience, tol))
        dynamic = self._dynamic_hook()
        if dynamic is not None:
            hooks.append(dynamic)
        if progress:
            hooks.append(_ProgressBar(epochs))
        _run_loop(
            self,
            X,
            labels,
            epochs=epochs,
            batch_size=min(batch_size, X.shape[0]),
            rate=rate,
            shuffle=shuffle,
            validation=None if X_val is None else (X_val, y_val),
            hooks=hooks,
        )
        return self

    def _dynamic_hook(self) -> DynamicSparsity | None:
        """The hook of ``dynamic`` (made at the first fit, on the model's Generator); None
        for ``"static"``. It runs after early stopping, which may end training: it does
        not rewire after the last epoch (``state.stop``)."""
        if self.dynamic == "static":
            return None
        if self.dynamic_sparsity is None:
            self.dynamic_sparsity = DynamicSparsity(
                self.dynamic,
                drop_fraction=self.drop_fraction,
                update_interval=self.update_interval,
                update_until=self.update_until,
                rng=self._rng,
            )
        return self.dynamic_sparsity

    def _validation_set(self, X, labels, fraction, validation_data):
        if validation_data is not None:
            if fraction:
                raise TopokitError(
                    "give validation_fraction or validation_data, not both "
                    f"(got validation_fraction={fraction})"
                )
            try:
                X_val, y_val = validation_data
            except (TypeError, ValueError) as exc:
                raise TopokitError("validation_data must be a pair (X_val, y_val)") from exc
            X_val = check_features(X_val, self.n_features, self.dtype, name="X_val")
            y_val = check_labels(y_val, X_val.shape[0], self.n_classes, name="y_val")
            return X, labels, X_val, y_val
        return split_validation(X, labels, fraction, self._rng)

    # ---------------------------------------------------------- prediction
    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (softmax of the last layer).

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)

        Raises
        ------
        TopokitError
            For bad features (see :meth:`fit`).

        Examples
        --------
        >>> import numpy as np
        >>> from topokit import Topology
        >>> from topokit.nn import SparseMLP
        >>> model = SparseMLP(Topology.build([3, 5, 4], "dense"), rng=0)
        >>> proba = model.predict_proba(np.ones((2, 3)))
        >>> proba.shape, bool(np.allclose(proba.sum(axis=1), 1))
        ((2, 4), True)
        """
        X = check_features(X, self.n_features, self.dtype)
        out = np.empty((X.shape[0], self.n_classes), dtype=self.dtype)
        for first in range(0, X.shape[0], _PREDICT_CHUNK):
            rows = np.arange(first, min(first + _PREDICT_CHUNK, X.shape[0]))
            n_panels, width = _panels.panel_shape(rows.size)
            xt = _panels.empty_aligned((n_panels * self.n_features, width), self.dtype)
            # padding (the last panel's columns past the samples) set, not left to chance
            xt.reshape(n_panels, self.n_features, width)[-1, :, rows.size % width or width :] = 0
            _panels.load_panels(64 * xt.size, X, rows, xt)
            logits = self._logits_t(xt, keep_inputs=False)[-1]
            # (P · n_classes, width) -> (n_classes, samples)
            logits = logits.reshape(n_panels, self.n_classes, width).transpose(1, 0, 2)
            logits = logits.reshape(self.n_classes, -1)[:, : rows.size]
            logits = logits - logits.max(axis=0)
            np.exp(logits, out=logits)
            logits /= logits.sum(axis=0)
            out[rows] = logits.T
        return out

    def predict(self, X) -> np.ndarray:
        """Most probable class index of each sample.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of int, of shape (n_samples,)
            The index of the largest probability of :meth:`predict_proba` (the first
            one on ties).

        Raises
        ------
        TopokitError
            For bad features (see :meth:`fit`).

        Examples
        --------
        >>> import numpy as np
        >>> from topokit import Topology
        >>> from topokit.nn import SparseMLP
        >>> model = SparseMLP(Topology.build([3, 4], "dense"), rng=0)
        >>> model.layers[0].bias[:] = [0, 0, 5, 0]
        >>> model.predict(np.zeros((2, 3))).tolist()
        [2, 2]
        """
        return np.argmax(self.predict_proba(X), axis=1)

    def score(self, X, y) -> float:
        """Accuracy: the fraction of samples whose predicted class is ``y``.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
        y : array_like of int, of shape (n_samples,)
            Class indices in ``[0, n_classes)``.

        Returns
        -------
        float
            In [0, 1].

        Raises
        ------
        TopokitError
            For bad features or labels (see :meth:`fit`).

        Examples
        --------
        >>> import numpy as np
        >>> from topokit import Topology
        >>> from topokit.nn import SparseMLP
        >>> model = SparseMLP(Topology.build([3, 4], "dense"), rng=0)
        >>> model.layers[0].bias[:] = [0, 0, 5, 0]
        >>> model.score(np.zeros((4, 3)), [2, 2, 2, 1])
        0.75
        """
        X = check_features(X, self.n_features, self.dtype)
        labels = check_labels(y, X.shape[0], self.n_classes)
        return float(np.mean(self.predict(X) == labels))

    # ------------------------------------------------------------- save/load
    def save(self, path) -> None:
        """Write the weights, patterns, biases, configuration and history to ``.npz``.

        Optimizer state (momenta) is not saved; a loaded model predicts identically
        and trains on with fresh optimizer state. A file already at ``path`` (an earlier
        checkpoint) is replaced whole, once the new one is written: an interrupted save
        (Ctrl-C, a full disk) leaves it as it was. The file holds the arrays of a
        topology file too (:func:`topokit.save_topology`): :func:`topokit.load`,
        ``topokit metrics`` and ``topokit draw`` read it as the model's topology (its
        layers' patterns, with their family, parameters and seed).

        Parameters
        ----------
        path : str or os.PathLike
            Must end in ``.npz``.

        Raises
        ------
        TopokitError
            If ``path`` does not end in ``.npz``.

        Examples
        --------
        See :meth:`load`.
        """
        path = _check_npz(path)
        arrays = {
            **topology_arrays(self.topology),  # so the file reads as a topology file too
            "topokit_mlp_version": np.array(_FORMAT_VERSION),
            "config": np.array(json.dumps(self._config)),
            "history": np.array(json.dumps(self.history.as_dict())),
        }
        for k, layer in enumerate(self.layers):
            arrays[f"layer{k}_weights"] = layer.weight_data
            arrays[f"layer{k}_bias"] = layer.bias
        with replacing(path) as file:  # an interrupted save keeps the previous file
            np.savez(file, **arrays)

    @classmethod
    def load(cls, path) -> SparseMLP:
        """Read a model written by :meth:`save`.

        Parameters
        ----------
        path : str or os.PathLike

        Returns
        -------
        SparseMLP

        Raises
        ------
        TopokitError
            If the file is not a saved SparseMLP.

        Examples
        --------
        >>> import pathlib, tempfile, numpy as np
        >>> from topokit import Topology
        >>> from topokit.nn import SparseMLP
        >>> model = SparseMLP(Topology.build([3, 4, 2], "dense"), rng=0)
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.npz"
        >>> model.save(path)
        >>> X = np.ones((2, 3))
        >>> np.array_equal(SparseMLP.load(path).predict_proba(X), model.predict_proba(X))
        True
        """
        path = _check_npz(path)
        try:
            with np.load(path, allow_pickle=False) as arrays:
                if "topokit_mlp_version" not in arrays:
                    raise TopokitError(f"{path!r} is not a saved SparseMLP (no format version)")
                config = json.loads(str(arrays["config"]))
                history = json.loads(str(arrays["history"]))
                if "topokit_sizes" in arrays:  # the arrays of a topology file
                    layers = [LayerGraph(m, **prov) for m, prov in read_topology(path)]
                else:  # format 1: the sizes and the patterns without provenance
                    layers = _format1_layers(arrays)
                weights = [
                    (arrays[f"layer{k}_weights"], arrays[f"layer{k}_bias"])
                    for k in range(len(layers))
                ]
        except (OSError, KeyError, ValueError) as exc:
            if isinstance(exc, TopokitError):
                raise
            raise TopokitError(f"cannot read a SparseMLP from {path!r}: {exc}") from exc
        if "alpha" in config:  # files written before weight decay had one name
            config["weight_decay"] = config.pop("alpha")
        model = cls(Topology(layers), **config)
        for layer, (data, bias) in zip(model.layers, weights, strict=True):
            if data.shape != layer.weight_data.shape or bias.shape != layer.bias.shape:
                raise TopokitError(f"{path!r}: weight arrays do not match the stored pattern")
            layer.weight_data[:] = data
            layer.bias[:] = bias
        model.history = History(**history)
        return model

    def __repr__(self):
        return (
            f"SparseMLP(sizes={self.topology.sizes}, n_edges={self.n_edges}, "
            f"activation={self.activation.name!r}, optimizer={self.optimizer.name!r}, "
            f"dtype={self.dtype.name})"
        )


def _format1_layers(arrays) -> list[LayerGraph]:
    """The layer graphs of a model file of format 1 (``sizes`` and the CSR patterns)."""
    sizes = arrays["sizes"].tolist()
    layers = []
    for k in range(len(sizes) - 1):
        indices = arrays[f"layer{k}_indices"]
        pattern = (np.ones(indices.size), indices, arrays[f"layer{k}_indptr"])
        layers.append(LayerGraph(sp.csr_array(pattern, shape=(sizes[k], sizes[k + 1]))))
    return layers


def _check_npz(path) -> str:
    path = os.fspath(path)
    if not path.endswith(".npz"):
        raise TopokitError(f"model files must end in .npz, got {path!r}")
    return path


def _check_hooks(hooks) -> list:
    """``hooks`` as a new list of TrainingHook instances (None: empty)."""
    if hooks is None:
        return []
    if isinstance(hooks, TrainingHook):
        hooks = [hooks]
    try:
        hooks = list(hooks)
    except TypeError:
        raise TopokitError(
            f"hooks must be a sequence of TrainingHook instances, got {hooks!r}"
        ) from None
    for k, hook in enumerate(hooks):
        if not isinstance(hook, TrainingHook):
            raise TopokitError(
                f"hooks[{k}] must be a topokit.nn.training.TrainingHook, got {type(hook).__name__}"
            )
    return hooks
