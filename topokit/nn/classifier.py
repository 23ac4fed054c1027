"""SparseMLPClassifier: a scikit-learn classifier whose network has a fixed sparse topology."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from topokit._errors import TopokitError
from topokit._validation import make_rng
from topokit.nn._classifier_params import PARAMETER_CHECKS, validate_parameters
from topokit.nn._holdout import split_validation
from topokit.nn.defaults import DEFAULT_DENSITY
from topokit.nn.mlp import SparseMLP
from topokit.nn.schedules import make_schedule
from topokit.nn.training import TrainingHook, _restore, _run_loop, _snapshot
from topokit.topology import Topology

__all__ = ["SparseMLPClassifier"]

_AUTO_BATCH = 200  # batch_size="auto" means min(200, n_samples), as in scikit-learn
_SMALLEST_ADAPTIVE_RATE = 1e-6  # "adaptive" stops instead of dividing below this
_NO_Y = object()  # _check_data called for X alone (y=None is a user error, reported as such)


class SparseMLPClassifier(ClassifierMixin, BaseEstimator):
    """Multilayer perceptron classifier trained directly on sparse CSR weights.

    A scikit-learn estimator around :class:`~topokit.nn.SparseMLP`. Its parameters mean
    what they mean in :class:`sklearn.neural_network.MLPClassifier`; the network's
    connections are a :class:`~topokit.topology.Topology` drawn at ``fit`` from a family
    (``family``, ``density`` / ``degree``, ``family_params``, ``allocation``), fixed
    during training unless ``dynamic`` rewires it (SET, RigL: each layer keeps its edge
    count). Cost per step grows with the number of edges, not with the layer sizes'
    products.

    Differences from ``MLPClassifier``: ``solver="lbfgs"`` and
    ``learning_rate="invscaling"`` are refused with an error (training is by minibatch
    and the rate changes once per epoch); ``learning_rate`` also takes topokit's
    ``"step"`` and ``"cosine"`` schedules and, unlike scikit-learn, applies with
    ``solver="adam"`` too; binary problems use two softmax outputs (so
    ``n_outputs_ == 2``); weights start scaled by each neuron's actual fan-in (see
    :class:`~topokit.nn.SparseLinear`); ``coefs_`` are sparse.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default (100,)
        Neurons of each hidden layer.
    activation : {"relu", "tanh", "logistic", "identity"}, default "relu"
        Activation of the hidden layers.
    solver : {"adam", "sgd"}, default "adam"
    alpha : float, default 1e-4
        L2 penalty, divided by the batch size when added to the loss.
    batch_size : int or "auto", default "auto"
        Minibatch size; "auto" is ``min(200, n_samples)``. Larger than the number of
        samples: clipped, with a warning (as scikit-learn does).
    learning_rate : {"constant", "adaptive", "step", "cosine"}, default "constant"
        ``adaptive`` divides the rate by 5 each time ``n_iter_no_change`` epochs pass
        without improvement (instead of stopping), stopping once it is below 1e-6;
        ``step`` and ``cosine`` follow :func:`topokit.nn.schedules.make_schedule` over
        ``max_iter`` epochs (with ``schedule_params``).
    learning_rate_init : float, default 1e-3
    schedule_params : dict, optional
        Parameters of the ``step`` (``step_size``, ``gamma``) or ``cosine``
        (``min_learning_rate``) schedule.
    max_iter : int, default 200
        Maximum number of epochs.
    shuffle : bool, default True
        Shuffle the samples in every epoch.
    random_state : int, numpy.random.RandomState, numpy.random.Generator or None
        Seeds the topology, the initial weights, the validation split and the
        shuffling. The same int gives the same fitted model.
    tol : float, default 1e-4
        Improvement below which an epoch counts as no improvement.
    verbose : bool, default False
        Print the loss after every epoch.
    momentum : float, default 0.9
        SGD momentum, in [0, 1].
    nesterovs_momentum : bool, default True
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the training data (stratified) and stop
        when its accuracy has not improved by ``tol`` for ``n_iter_no_change``
        epochs; the best weights are restored.
    validation_fraction : float, default 0.1
    beta_1, beta_2, epsilon : float, default 0.9, 0.999, 1e-8
        Adam parameters.
    n_iter_no_change : int, default 10
    family : str or sequence of str, default "erdos_renyi"
        Family of the sparse layers (see :func:`topokit.generators.families`), or one
        per sparse layer.
    density, degree : float / int or sequence, optional
        Edge count of the sparse layers (one value, or one per sparse layer). When
        neither is given, a family that needs an edge count uses density 0.1.
    family_params : dict, optional
        The family's own parameters, given to every sparse layer.
    dense_output : bool, default True
        Make the output layer (last hidden layer -> classes) dense, as in Bourely et
        al. (2017); the sparse layers are then the ``len(hidden_layer_sizes)`` layers
        into the hidden layers. With False every layer is sparse.
    allocation : {"uniform", "erk"}, default "uniform"
        How ``density`` is spread over the sparse layers: each at ``density``, or by
        ERK (density proportional to ``(n_in + n_out) / (n_in * n_out)``, the same total
        edge count; see :func:`topokit.allocation.layer_densities`). ``erk`` takes one
        density, not a degree.
    dtype : numpy.float32 or numpy.float64, default numpy.float32
        Precision of the weights and computations.
    dynamic : {"static", "set", "rigl"}, default "static"
        Dynamic sparse training (:class:`~topokit.nn.DynamicSparsity`): ``"set"`` and
        ``"rigl"`` rewire the sparse layers during training; at least one layer must be
        sparse (with ``dense_output=True``, a hidden layer).
    drop_fraction : float, default 0.3
        In (0, 1): the share of each sparse layer's edges an update replaces.
    update_interval : int or None, default None
        Optimizer steps between updates (>= 1); None: once per epoch. Under
        ``partial_fit`` the steps are counted across the calls, and None means once per
        call.
    update_until : float, default 0.75
        In (0, 1]: the fraction of the ``max_iter`` epochs' steps after which RigL stops
        updating; its drop fraction anneals by cosine to 0 there. ``partial_fit`` does
        not know how many calls will come: RigL then keeps ``drop_fraction`` at every
        update, without annealing or an end.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    feature_names_in_ : ndarray of shape ``(n_features_in_,)``
        Only when ``X`` had string column names.
    model_ : SparseMLP
        The trained network.
    topology_ : Topology
        Its layer graphs, sizes ``[n_features_in_, *hidden_layer_sizes, n_classes]``
        (after training: as ``dynamic`` left them).
    dynamic_sparsity_ : DynamicSparsity or None
        With ``dynamic`` set or rigl: the hook that rewired the layers, with the
        outcomes (``ever_active_fraction()`` per layer, ``changes`` per update and
        layer); None for ``"static"``.
    loss_curve_ : list of float
        Mean training loss of each epoch.
    loss_ : float
        The last epoch's loss.
    best_loss_ : float or None
        Lowest loss seen (None with early stopping).
    validation_scores_ : list of float or None
        Validation accuracy of each epoch (early stopping only).
    best_validation_score_ : float or None
    n_iter_ : int
        Epochs trained.
    t_ : int
        Training samples seen.
    n_layers_ : int
        Layers of neurons, input and output included.
    n_outputs_ : int
        Output neurons (the number of classes).
    out_activation_ : str
        ``"softmax"``.
    coefs_ : list of scipy.sparse.csr_array
        Weight matrix of each layer, of shape (n_in, n_out), sharing the model's memory.
    intercepts_ : list of ndarray
        Bias vector of each layer.

    Raises
    ------
    TopokitError
        At ``fit``: for a parameter out of range, a family that cannot build a layer
        (the message names the layer), or bad data.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from topokit.nn.classifier import SparseMLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = SparseMLPClassifier((32,), density=0.5, learning_rate_init=0.01,
    ...                           max_iter=300, n_iter_no_change=300, random_state=0)
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # ConvergenceWarning after max_iter epochs
    ...     clf = clf.fit(X, y)
    >>> clf.score(X, y) > 0.9, clf.coefs_[0].shape, clf.n_iter_
    (True, (4, 32), 300)
    """

    _parameter_checks = PARAMETER_CHECKS

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=1e-4,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=1e-3,
        schedule_params=None,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        family="erdos_renyi",
        density=None,
        degree=None,
        family_params=None,
        dense_output=True,
        allocation="uniform",
        dtype=np.float32,
        dynamic="static",
        drop_fraction=0.3,
        update_interval=None,
        update_until=0.75,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.schedule_params = schedule_params
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.family = family
        self.density = density
        self.degree = degree
        self.family_params = family_params
        self.dense_output = dense_output
        self.allocation = allocation
        self.dtype = dtype
        self.dynamic = dynamic
        self.drop_fraction = drop_fraction
        self.update_interval = update_interval
        self.update_until = update_until

    # ---------------------------------------------------------------- fitting
    def fit(self, X, y):
        """Draw the topology, then train for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
        y : array_like of shape (n_samples,)
            Class labels of any type (numbers or strings), at least two classes.

        Returns
        -------
        SparseMLPClassifier
            ``self``.

        Raises
        ------
        TopokitError
            For bad parameters or data, an infeasible family or edge count (naming the
            layer), or a loss that diverges.

        Warns
        -----
        sklearn.exceptions.ConvergenceWarning
            When ``max_iter`` epochs pass without meeting the stopping rule.

        Examples
        --------
        >>> import numpy as np
        >>> from topokit.nn import SparseMLPClassifier
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]] * 10)
        >>> y = np.array(["no", "yes", "yes", "yes"] * 10)
        >>> clf = SparseMLPClassifier((8,), density=0.5, learning_rate_init=0.05,
        ...                           random_state=0).fit(X, y)
        >>> clf.classes_.tolist(), clf.topology_.sizes, clf.score(X, y)
        (['no', 'yes'], [2, 8, 2], 1.0)
        """
        self.__dict__.pop("model_", None)  # a fit that fails leaves the estimator unfitted
        params = validate_parameters(self._parameters())
        X, y = self._check_data(X, y, reset=True, dtype=params.dtype)
        self.classes_, codes = np.unique(y, return_inverse=True)
        _check_two_classes(self.classes_)
        self._initialize(params, X.shape[1])
        self._train(X, codes.reshape(-1), params, incremental=False)
        return self

    def partial_fit(self, X, y, classes=None):
        """Train one epoch over ``(X, y)``, continuing from the current weights.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
        y : array_like of shape (n_samples,)
        classes : array_like of shape (n_classes,), optional
            Every class that will ever be seen; required on the first call (before
            any ``fit``), optional afterwards (must then equal ``classes_``).

        Returns
        -------
        SparseMLPClassifier
            ``self``.

        Raises
        ------
        TopokitError
            As :meth:`fit`; also without ``classes`` on the first call, for labels
            outside ``classes_``, or with ``early_stopping=True``.

        Notes
        -----
        ``n`` calls on the same data with the same ``random_state`` give the model that
        ``fit`` gives with ``max_iter=n`` (when ``fit`` does not stop early), for
        ``dynamic="static"`` and ``"set"``, except that with ``"set"`` the ``n``-th call
        still ends with an update (``fit`` has none after its last epoch).
        ``update_interval`` counts the optimizer steps across the calls; RigL, which
        cannot know how many calls will come, replaces ``drop_fraction`` of the edges at
        every update, without the cosine annealing of ``fit``.

        A call after the first on plain NumPy arrays (``X`` numeric, ``y`` of numbers or
        strings, an estimator fitted without column names) checks them in one pass
        over the data, as cheaply as :meth:`SparseMLP.train_step` does: the cost of a
        call on one minibatch is that of a training step. Any other input goes
        through scikit-learn's checks, which report what is wrong with it.

        Examples
        --------
        >>> import numpy as np
        >>> from topokit.nn import SparseMLPClassifier
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]] * 10)
        >>> y = np.array(["no", "yes", "yes", "yes"] * 10)
        >>> clf = SparseMLPClassifier((8,), density=0.5, random_state=0)
        >>> clf = clf.partial_fit(X[:20], y[:20], classes=["no", "yes"])
        >>> clf = clf.partial_fit(X[20:], y[20:])
        >>> clf.n_iter_, clf.t_
        (2, 40)
        """
        params = self._validated_parameters()
        if params.early_stopping:
            raise TopokitError(
                "partial_fit does not support early_stopping=True (there is no held-out "
                "validation set across calls); set early_stopping=False"
            )
        first_call = not hasattr(self, "model_")
        if first_call:
            if classes is None:
                raise TopokitError(
                    "classes must be given on the first call to partial_fit, e.g. "
                    "classes=numpy.unique(y_all)"
                )
            X, y = self._check_data(X, y, reset=True, dtype=params.dtype)
            self.classes_ = np.unique(_check_targets(classes))
            _check_two_classes(self.classes_)
            codes = self._encode(y)
            self._initialize(params, X.shape[1])
        else:
            if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
                raise TopokitError(
                    f"classes={np.unique(classes).tolist()!r} differs from classes_="
                    f"{self.classes_.tolist()!r} of the earlier calls"
                )
            checked = self._checked_plain_arrays(X, y)
            if checked is None:  # not plain arrays, or something to report: the full checks
                X, y = self._check_data(X, y, reset=False, dtype=self.model_.dtype)
                codes = self._encode(y)
            else:
                X, codes = checked
        self._train(X, codes, params, incremental=True)
        return self

    def _parameters(self) -> dict:
        """The constructor parameters (what ``get_params`` gives, without its introspection)."""
        return {name: getattr(self, name) for name in PARAMETER_CHECKS}

    def _validated_parameters(self) -> SimpleNamespace:
        """:func:`validate_parameters` of the parameters, for :meth:`partial_fit`.

        The previous call's result when every parameter is the same object as then and
        none of them that can change in place (a list, dict or array) has: a call on one
        minibatch then costs what a training step costs.
        """
        raw = self._parameters()
        last = getattr(self, "_last_validated", None)
        if last is not None:
            values, contents, params = last
            if all(raw[name] is value for name, value in values.items()) and (
                _mutable_contents(raw) == contents
            ):
                return params
        params = validate_parameters(raw)
        self._last_validated = (raw, _mutable_contents(raw), params)
        return params

    def _encode(self, y) -> np.ndarray:
        """``y`` as int64 indices into ``classes_``; raises for labels outside it."""
        unknown = np.setdiff1d(y, self.classes_)
        if unknown.size:
            raise TopokitError(
                f"y has labels {unknown.tolist()!r} not in classes_={self.classes_.tolist()!r}"
            )
        return np.searchsorted(self.classes_, y).astype(np.int64, copy=False)

    def _checked_plain_arrays(self, X, y):
        """``(X, codes)`` when ``X`` and ``y`` pass every check of a later ``partial_fit``.

        The fast path of a fitted estimator, at a cost of O(n_samples) and no copy for
        ``X`` in the model's dtype: plain ndarrays, ``X`` 2-D, numeric, finite, of
        ``n_features_in_`` columns (an estimator fitted without column names), ``y`` 1-D
        of numbers or strings, of as many labels, each one of ``classes_``. None
        otherwise: the full checks (scikit-learn's ``validate_data`` and
        ``check_classification_targets``) then run and report what is wrong.
        """
        if type(X) is not np.ndarray or type(y) is not np.ndarray:
            return None
        if X.ndim != 2 or y.ndim != 1 or X.dtype.kind not in "fiu" or y.dtype.kind not in "fiuU":
            return None
        n_samples = X.shape[0]
        if n_samples == 0 or y.shape[0] != n_samples or X.shape[1] != self.n_features_in_:
            return None
        if hasattr(self, "feature_names_in_") or (y.dtype.kind == "U") != (
            self.classes_.dtype.kind == "U"
        ):
            return None
        X = np.ascontiguousarray(X, dtype=self.model_.dtype)
        if not np.isfinite(X).all():
            return None
        codes = np.searchsorted(self.classes_, y)
        # every label is its class exactly (so y is finite, integral where classes_ are)
        if not np.array_equal(self.classes_.take(codes, mode="clip"), y):
            return None
        return X, codes.astype(np.int64, copy=False)

    def _initialize(self, params, n_features):
        rng = _generator(params.random_state)
        sizes = [n_features, *params.hidden_layer_sizes, len(self.classes_)]
        self.topology_ = Topology.build(
            sizes,
            params.family,
            density=params.density,
            degree=params.degree,
            dense_output=params.dense_output,
            default_density=DEFAULT_DENSITY,
            allocation=params.allocation,
            rng=rng,
            **(params.family_params or {}),
        )
        self.model_ = SparseMLP(
            self.topology_,
            params.activation,
            optimizer=params.solver,
            learning_rate=params.learning_rate_init,
            momentum=params.momentum,
            nesterov=params.nesterovs_momentum,
            beta_1=params.beta_1,
            beta_2=params.beta_2,
            epsilon=params.epsilon,
            weight_decay=params.alpha,
            dtype=params.dtype,
            dynamic=params.dynamic,
            drop_fraction=params.drop_fraction,
            update_interval=params.update_interval,
            update_until=params.update_until,
            rng=rng,
        )
        schedule = "constant" if params.learning_rate == "adaptive" else params.learning_rate
        make_schedule(schedule, params.learning_rate_init, 1, **params.schedule_params)
        self._rng = rng
        self._rate = params.learning_rate_init  # current rate of "adaptive"
        self._no_improvement_count = 0
        self.n_layers_ = len(sizes)
        self.n_outputs_ = len(self.classes_)
        self.out_activation_ = "softmax"
        self.n_iter_ = 0
        self.t_ = 0
        self._n_steps = 0  # optimizer steps since the network was drawn (the loop's state.step)
        self.loss_curve_ = []
        if params.early_stopping:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = np.inf

    def _train(self, X, codes, params, *, incremental):
        """The training loop over ``(X, codes)``: ``max_iter`` epochs, or one (``partial_fit``)."""
        model = self.model_
        X = np.ascontiguousarray(X, dtype=model.dtype)
        codes = codes.astype(np.int64, copy=False)
        validation = None
        if params.early_stopping:
            X, codes, X_val, codes_val = split_validation(
                X, codes, params.validation_fraction, self._rng, stratify=True
            )
            validation = (X_val, codes_val)
        n_samples = X.shape[0]
        bookkeeping = _Bookkeeping(self, params, n_samples, incremental, validation is not None)
        # the rewiring after the bookkeeping, which may end training (then no update)
        dynamic = model._dynamic_hook()
        state = _run_loop(
            model,
            X,
            codes,
            epochs=1 if incremental else params.max_iter,
            batch_size=_batch_size(params.batch_size, n_samples),
            rate=lambda epoch: self._set_epoch_rate(params),
            shuffle=params.shuffle,
            validation=validation,
            hooks=[bookkeeping] if dynamic is None else [bookkeeping, dynamic],
            first_step=getattr(self, "_n_steps", 0) if incremental else 0,
            plan_steps=not incremental,
        )
        self._n_steps = state.step
        self.topology_ = model.topology
        self.dynamic_sparsity_ = model.dynamic_sparsity

    def _set_epoch_rate(self, params) -> float:
        """The rate of the epoch about to start, also set as the model's ``learning_rate``."""
        rate = self.model_.learning_rate = self._epoch_rate(params)
        return rate

    def _epoch_rate(self, params) -> float:
        if params.learning_rate in ("constant", "adaptive"):
            return self._rate
        rate = make_schedule(
            params.learning_rate,
            params.learning_rate_init,
            params.max_iter,
            **params.schedule_params,
        )
        return rate(min(self.n_iter_, params.max_iter - 1))

    def _check_data(self, X, y=_NO_Y, *, reset, dtype):
        """Validate ``X`` (and ``y``) as scikit-learn does; its ValueErrors become TopokitError."""
        try:
            if y is _NO_Y:
                return validate_data(self, X, reset=reset, dtype=dtype)
            X, y = validate_data(self, X, y, reset=reset, dtype=dtype)
            return X, _check_targets(y)
        except TopokitError:
            raise
        except ValueError as exc:
            raise TopokitError(str(exc)) from exc

    # ------------------------------------------------------------- prediction
    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        TopokitError
            For bad data.

        Examples
        --------
        >>> import numpy as np
        >>> from topokit.nn import SparseMLPClassifier
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]] * 10)
        >>> y = np.array(["no", "yes", "yes", "yes"] * 10)
        >>> clf = SparseMLPClassifier((8,), density=0.5, learning_rate_init=0.05,
        ...                           random_state=0).fit(X, y)
        >>> proba = clf.predict_proba([[0.0, 0.0], [1.0, 1.0]])
        >>> proba.shape, proba.argmax(axis=1).tolist(), bool(np.allclose(proba.sum(axis=1), 1))
        ((2, 2), [0, 1], True)
        """
        check_is_fitted(self)
        X = self._check_data(X, reset=False, dtype=self.model_.dtype)
        return self.model_.predict_proba(X)

    def predict_log_proba(self, X) -> np.ndarray:
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Natural logarithms of the probabilities; ``-inf`` where a probability is 0.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        TopokitError
            For bad data.

        Examples
        --------
        >>> import numpy as np
        >>> from topokit.nn import SparseMLPClassifier
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]] * 10)
        >>> y = np.array(["no", "yes", "yes", "yes"] * 10)
        >>> clf = SparseMLPClassifier((8,), density=0.5, learning_rate_init=0.05,
        ...                           random_state=0).fit(X, y)
        >>> log_proba = clf.predict_log_proba([[0.0, 0.0], [1.0, 1.0]])
        >>> bool(np.allclose(np.exp(log_proba), clf.predict_proba([[0.0, 0.0], [1.0, 1.0]])))
        True
        """
        proba = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(proba, out=proba)

    def predict(self, X) -> np.ndarray:
        """The most probable class of each sample.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels from ``classes_`` (of their type): the class of the largest
            probability of :meth:`predict_proba` (the first one on ties).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        TopokitError
            For bad data.

        Examples
        --------
        >>> import numpy as np
        >>> from topokit.nn import SparseMLPClassifier
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]] * 10)
        >>> y = np.array(["no", "yes", "yes", "yes"] * 10)
        >>> clf = SparseMLPClassifier((8,), density=0.5, learning_rate_init=0.05,
        ...                           random_state=0).fit(X, y)
        >>> clf.predict([[0.0, 0.0], [1.0, 1.0]]).tolist()
        ['no', 'yes']
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    # ------------------------------------------------------------ sklearn view
    @property
    def coefs_(self) -> list:
        """Weights of each layer as CSR arrays of shape (n_in, n_out) (never densified)."""
        check_is_fitted(self)
        return [layer.weight for layer in self.model_.layers]

    @property
    def intercepts_(self) -> list:
        """Bias of each layer, arrays of shape (n_out,)."""
        check_is_fitted(self)
        return [layer.bias for layer in self.model_.layers]

    def __sklearn_is_fitted__(self) -> bool:
        return "model_" in self.__dict__

    def __setstate__(self, state):
        super().__setstate__(state)
        if "model_" in self.__dict__:
            # joblib may hand the arrays back as read-only memmaps; training and the
            # dense path write into them, so give the model plain writeable copies.
            _make_writeable(self.model_, set())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.classifier_tags.multi_label = False
        return tags


class _Bookkeeping(TrainingHook):
    """The estimator's side of each epoch, as scikit-learn's ``MLPClassifier`` keeps it.

    ``n_iter_``, ``t_``, ``loss_``, ``loss_curve_``, the validation scores and the best
    weights (early stopping, restored at the end), the ``adaptive`` rate, the stopping
    rule (``n_iter_no_change`` epochs without an improvement of ``tol``), ``verbose``
    and the ConvergenceWarning after ``max_iter`` epochs.
    """

    def __init__(self, estimator, params, n_samples, incremental, has_validation):
        self.estimator = estimator
        self.params = params
        self.n_samples = n_samples
        self.incremental = incremental
        self.best = _snapshot(estimator.model_) if has_validation else None

    def on_epoch_end(self, state):
        estimator, params = self.estimator, self.params
        estimator.n_iter_ += 1
        estimator.t_ += self.n_samples
        estimator.loss_ = state.history.loss[-1]
        estimator.loss_curve_.append(estimator.loss_)
        if params.verbose:
            print(f"Iteration {estimator.n_iter_}, loss = {estimator.loss_:.8f}")
        if self.best is not None:
            score = state.history.val_accuracy[-1]
            estimator.validation_scores_.append(score)
            improved = score >= estimator.best_validation_score_ + params.tol
            if score > estimator.best_validation_score_:
                estimator.best_validation_score_ = score
                self.best = _snapshot(state.model)
        else:
            improved = estimator.loss_ <= estimator.best_loss_ - params.tol
            estimator.best_loss_ = min(estimator.best_loss_, estimator.loss_)
        count = 0 if improved else estimator._no_improvement_count + 1
        estimator._no_improvement_count = count
        if count > params.n_iter_no_change:
            if params.learning_rate != "adaptive" or estimator._rate <= _SMALLEST_ADAPTIVE_RATE:
                state.stop = True
                return
            estimator._rate /= 5.0
            estimator._no_improvement_count = 0
        if not self.incremental and estimator.n_iter_ == params.max_iter:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({params.max_iter}) reached "
                "and the optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=5,
            )

    def on_fit_end(self, state):
        if self.best is not None:
            _restore(state.model, self.best, "the best validation epoch")


# ------------------------------------------------------------------ helpers
def _mutable_contents(parameters) -> tuple:
    """What each parameter value that can change in place holds: an array's dtype, shape
    and bytes (its ``repr`` elides long ones), a list's, dict's or set's text."""
    return tuple(
        (name, (value.dtype, value.shape, value.tobytes()))
        if isinstance(value, np.ndarray)
        else (name, repr(value))
        for name, value in parameters.items()
        if isinstance(value, list | dict | set | np.ndarray)
    )


def _check_targets(y):
    y = np.asarray(y)
    check_classification_targets(y)
    return y


def _check_two_classes(classes):
    if classes.size < 2:
        raise TopokitError(
            f"y has only one class ({classes.tolist()[0]!r}); a classifier needs at least 2 classes"
        )


def _generator(random_state) -> np.random.Generator:
    """One Generator from a scikit-learn style ``random_state``."""
    if isinstance(random_state, np.random.RandomState):
        return make_rng(int(random_state.randint(np.iinfo(np.int32).max)))
    return make_rng(random_state)


def _batch_size(batch_size, n_samples) -> int:
    if batch_size == "auto":
        return min(_AUTO_BATCH, n_samples)
    if batch_size > n_samples:
        warnings.warn(
            f"batch_size={batch_size} is larger than the {n_samples} training samples; "
            f"it is clipped to {n_samples}",
            UserWarning,
            stacklevel=4,
        )
        return n_samples
    return batch_size


def _make_writeable(obj, seen) -> None:
    """Replace every read-only or memmap array among the attributes of topokit objects."""
    own = type(obj).__module__.startswith("topokit.") and hasattr(obj, "__dict__")
    if not own or isinstance(obj, type) or id(obj) in seen:
        return
    seen.add(id(obj))
    attributes = vars(obj)
    for name, value in list(attributes.items()):
        new = _writeable(value, seen)
        if new is not value:
            attributes[name] = new


def _writeable(value, seen):
    if isinstance(value, np.ndarray):
        if type(value) is np.ndarray and value.flags.writeable:
            return value
        return np.array(value)
    if isinstance(value, list):
        value[:] = [_writeable(item, seen) for item in value]
        return value
    if isinstance(value, tuple):
        return tuple(_writeable(item, seen) for item in value)
    _make_writeable(value, seen)
    return value
