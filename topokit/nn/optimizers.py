"""Optimizers that update parameter arrays in place (only the stored weights exist).

They follow scikit-learn's ``MLPClassifier`` solvers exactly: SGD with momentum
(optionally Nesterov) and Adam with bias correction folded into the step size.

The numba kernels they run (:mod:`topokit.nn._optimizer_kernels`) are imported in
``step``, not at the top: the registry :data:`OPTIMIZERS` is read by ``topokit train``'s
parser, and ``topokit --help`` must not import numba.
"""

from __future__ import annotations

import math

import numpy as np

from topokit._errors import TopokitError
from topokit._validation import check_real

__all__ = ["OPTIMIZERS", "SGD", "Adam", "make_optimizer"]


def _groups(*columns):
    """The arrays, index by index, in groups of one dtype and layout: a kernel call each.

    ``columns`` are equal-length lists (parameters, gradients, state...); yields a
    tuple per list for each group, so that a model's arrays go to the kernels in one
    call (each costs several microseconds before any work: numba checks every
    argument's type).
    """
    groups = {}
    for arrays in zip(*columns, strict=True):
        key = tuple((a.dtype, a.flags.c_contiguous) for a in arrays)
        groups.setdefault(key, []).append(arrays)
    for members in groups.values():
        yield tuple(zip(*members, strict=True))


def _check_arrays(params, grads, state) -> None:
    """Raise unless each parameter is a 1-D float array matched by its gradient and state.

    The kernels index every array by one flat position up to the parameter's size: a 2-D
    array, or a gradient or state array of another shape, would read or write out of bounds.
    """
    if len(grads) != len(params) or len(state) != len(params):
        raise TopokitError(
            f"grads must hold one array per parameter array ({len(state)} on the first "
            f"step), got {len(params)} parameter and {len(grads)} gradient arrays"
        )
    for k, (param, grad, held) in enumerate(zip(params, grads, state, strict=True)):
        if not isinstance(param, np.ndarray) or param.ndim != 1 or param.dtype.kind != "f":
            raise TopokitError(
                f"params[{k}] must be a 1-D float ndarray (ravel a weight matrix first), got "
                f"{getattr(param, 'shape', type(param).__name__)} of "
                f"{getattr(param, 'dtype', '?')}"
            )
        if (
            not isinstance(grad, np.ndarray)
            or grad.shape != param.shape
            or grad.dtype != param.dtype
        ):
            raise TopokitError(
                f"grads[{k}] must have the shape and dtype of params[{k}], "
                f"{param.shape} of {param.dtype}, got {getattr(grad, 'shape', None)} of "
                f"{getattr(grad, 'dtype', type(grad).__name__)}"
            )
        if held.shape != param.shape or held.dtype != param.dtype:
            raise TopokitError(
                f"params[{k}] changed since the first step: {param.shape} of {param.dtype}, "
                f"the optimizer's state holds {held.shape} of {held.dtype}"
            )


class SGD:
    """Stochastic gradient descent with momentum, as scikit-learn's ``solver="sgd"``.

    ``v = momentum * v - lr * g``, then ``p += v`` (or, with Nesterov,
    ``p += momentum * v - lr * g``).

    Parameters
    ----------
    momentum : float, default 0.9
        In [0, 1].
    nesterov : bool, default True

    Examples
    --------
    >>> import numpy as np
    >>> from topokit.nn.optimizers import SGD
    >>> p, g = np.array([1.0]), np.array([0.5])
    >>> SGD(momentum=0.0).step([p], [g], learning_rate=0.1)
    >>> p.tolist()
    [0.95]
    """

    name = "sgd"

    def __init__(self, *, momentum=0.9, nesterov=True):
        self.momentum = check_real("momentum", momentum, low=0.0, high=1.0)
        self.nesterov = bool(nesterov)
        self._velocities = None

    def step(self, params, grads, learning_rate) -> None:
        """Update each array of ``params`` in place from the matching ``grads``.

        The first call makes one velocity per array (zeros); later calls must pass
        arrays of the same shapes in the same order.

        Parameters
        ----------
        params : list of ndarray
            1-D, C-contiguous float arrays, changed in place.
        grads : list of ndarray
            The gradient of each array of ``params``, of the same shape and dtype.
        learning_rate : float
            The step size ``lr`` of this update.

        Raises
        ------
        TopokitError
            If a parameter array is not a 1-D float ndarray, a gradient differs from its
            parameter in shape or dtype, or the arrays differ from those of the first step.

        Examples
        --------
        >>> import numpy as np
        >>> from topokit.nn.optimizers import SGD
        >>> p = np.array([1.0, 2.0])
        >>> sgd = SGD(momentum=0.5, nesterov=False)
        >>> for _ in range(2):
        ...     sgd.step([p], [np.array([1.0, -1.0])], learning_rate=0.1)
        >>> p.round(6).tolist()
        [0.75, 2.25]
        """
        from topokit.nn import _optimizer_kernels  # numba: off the parser's path

        _check_arrays(params, grads, params if self._velocities is None else self._velocities)
        if self._velocities is None:
            self._velocities = [np.zeros_like(p) for p in params]
        for param, grad, velocity in _groups(params, grads, self._velocities):
            # memory-bound: both threads from a 64th of the kernels' threshold
            work = 64 * sum(p.size for p in param)
            rate = float(learning_rate)
            _optimizer_kernels.sgd_update(
                work, param, grad, velocity, rate, self.momentum, self.nesterov
            )

    @property
    def state(self) -> tuple:
        """The arrays kept per parameter: ``(velocities,)``, one list in the order of the
        ``params`` of :meth:`step`; ``()`` before the first step.

        Code that changes a parameter's size (rewiring a layer) changes these arrays with
        it; their values are the optimizer's to update.

        Examples
        --------
        >>> import numpy as np
        >>> from topokit.nn.optimizers import SGD
        >>> sgd = SGD()
        >>> sgd.state
        ()
        >>> sgd.step([np.array([1.0])], [np.array([0.5])], learning_rate=0.1)
        >>> [v.tolist() for v in sgd.state[0]]
        [[-0.05]]
        """
        return () if self._velocities is None else (self._velocities,)

    def __repr__(self):
        return f"SGD(momentum={self.momentum}, nesterov={self.nesterov})"


class Adam:
    """Adam, as scikit-learn's ``solver="adam"``.

    At step t: ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g²``,
    ``p -= lr·sqrt(1 - b2^t)/(1 - b1^t) · m / (sqrt(v) + eps)``.

    Parameters
    ----------
    beta_1, beta_2 : float, default 0.9, 0.999
        In [0, 1).
    epsilon : float, default 1e-8
        Positive.

    Examples
    --------
    >>> import numpy as np
    >>> from topokit.nn.optimizers import Adam
    >>> p, g = np.array([1.0]), np.array([0.5])
    >>> Adam().step([p], [g], learning_rate=0.1)
    >>> round(float(p[0]), 6)
    0.9
    """

    name = "adam"

    def __init__(self, *, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        self.beta_1 = check_real("beta_1", beta_1, low=0.0, high=1.0, high_open=True)
        self.beta_2 = check_real("beta_2", beta_2, low=0.0, high=1.0, high_open=True)
        self.epsilon = check_real("epsilon", epsilon, low=0.0, low_open=True)
        self.t = 0
        self._moments = None

    def step(self, params, grads, learning_rate) -> None:
        """Update each array of ``params`` in place from the matching ``grads``.

        Each call is one step ``t`` (:attr:`t` counts them). The first call makes the
        first and second moments of each array (zeros); later calls must pass arrays of
        the same shapes in the same order.

        Parameters
        ----------
        params : list of ndarray
            1-D, C-contiguous float arrays, changed in place.
        grads : list of ndarray
            The gradient of each array of ``params``, of the same shape and dtype.
        learning_rate : float
            The step size ``lr`` of this update, before bias correction.

        Raises
        ------
        TopokitError
            If a parameter array is not a 1-D float ndarray, a gradient differs from its
            parameter in shape or dtype, or the arrays differ from those of the first step.

        Examples
        --------
        >>> import numpy as np
        >>> from topokit.nn.optimizers import Adam
        >>> p = np.array([1.0, 2.0])
        >>> adam = Adam()
        >>> for _ in range(3):
        ...     adam.step([p], [np.array([1.0, -1.0])], learning_rate=0.1)
        >>> adam.t, p.round(6).tolist()
        (3, [0.7, 2.3])
        """
        from topokit.nn import _optimizer_kernels  # numba: off the parser's path

        _check_arrays(params, grads, params if self._moments is None else self._moments[0])
        if self._moments is None:
            # first and second moments, an array of each per parameter
            self._moments = ([np.zeros_like(p) for p in params], [np.zeros_like(p) for p in params])
        self.t += 1
        step_size = learning_rate * math.sqrt(1 - self.beta_2**self.t) / (1 - self.beta_1**self.t)
        for param, grad, m, v in _groups(params, grads, *self._moments):
            work = 64 * sum(p.size for p in param)
            _optimizer_kernels.adam_update(
                work, param, grad, m, v, self.beta_1, self.beta_2, float(step_size), self.epsilon
            )

    @property
    def state(self) -> tuple:
        """The arrays kept per parameter: ``(first moments, second moments)``, each a list
        in the order of the ``params`` of :meth:`step`; ``()`` before the first step.

        Code that changes a parameter's size (rewiring a layer) changes these arrays with
        it; their values are the optimizer's to update.

        Examples
        --------
        >>> import numpy as np
        >>> from topokit.nn.optimizers import Adam
        >>> adam = Adam()
        >>> adam.step([np.array([1.0])], [np.array([0.5])], learning_rate=0.1)
        >>> [[a.round(6).tolist() for a in arrays] for arrays in adam.state]
        [[[0.05]], [[0.00025]]]
        """
        return () if self._moments is None else self._moments

    def __repr__(self):
        return f"Adam(beta_1={self.beta_1}, beta_2={self.beta_2}, epsilon={self.epsilon})"


OPTIMIZERS = {"sgd": SGD, "adam": Adam}


def make_optimizer(name, **params):
    """A fresh optimizer by name.

    Parameters
    ----------
    name : {"sgd", "adam"}
    **params
        Keyword arguments of :class:`SGD` or :class:`Adam`.

    Returns
    -------
    SGD or Adam

    Raises
    ------
    TopokitError
        For an unknown name or a parameter the optimizer does not take.

    Examples
    --------
    >>> from topokit.nn.optimizers import make_optimizer
    >>> make_optimizer("sgd", momentum=0.5, nesterov=False)
    SGD(momentum=0.5, nesterov=False)
    """
    if not isinstance(name, str) or name not in OPTIMIZERS:
        raise TopokitError(f"optimizer must be one of {sorted(OPTIMIZERS)}, got {name!r}")
    try:
        return OPTIMIZERS[name](**params)
    except TypeError as exc:
        raise TopokitError(f"optimizer {name!r}: {exc}") from exc
