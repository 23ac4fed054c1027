"""Hidden-layer activations and their derivatives, keyed by the names users type.

Each activation is applied in place to a pre-activation array; its derivative is
written in terms of the activation's *output* ``a`` (as scikit-learn does), and
multiplies an incoming gradient in place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from topokit._errors import TopokitError

__all__ = ["ACTIVATIONS", "Activation", "get_activation"]


@dataclass(frozen=True)
class Activation:
    """A hidden activation: ``apply(z)`` in place, ``backprop(a, grad)`` in place.

    Parameters
    ----------
    name : str
        The name users type (``"relu"``, ``"tanh"``, ``"logistic"``, ``"identity"``).
    apply : callable
        ``apply(z)`` overwrites ``z`` with ``f(z)``.
    backprop : callable
        ``backprop(a, grad)`` overwrites ``grad`` with ``grad * f'(z)``, where ``a = f(z)``.
    init : str
        Weight initialisation suited to it: ``"he"`` or ``"glorot"``.

    Examples
    --------
    >>> import numpy as np
    >>> from topokit.nn.activations import get_activation
    >>> relu = get_activation("relu")
    >>> z = np.array([-1.0, 2.0])
    >>> relu.apply(z)
    >>> z
    array([0., 2.])
    >>> relu.init
    'he'
    """

    name: str
    apply: Callable[[np.ndarray], None]
    backprop: Callable[[np.ndarray, np.ndarray], None]
    init: str

    def __repr__(self):
        return f"Activation({self.name!r})"


def _relu(z):
    np.maximum(z, 0, out=z)


def _relu_backprop(a, grad):
    np.multiply(grad, a > 0, out=grad)


def _tanh(z):
    np.tanh(z, out=z)


def _tanh_backprop(a, grad):
    grad *= 1 - a * a


def _logistic(z):
    # 1 / (1 + exp(-z)); exp's argument is capped so that very negative z gives 0
    # without an overflow warning.
    np.negative(z, out=z)
    np.minimum(z, 700.0 if z.dtype == np.float64 else 80.0, out=z)
    np.exp(z, out=z)
    z += 1
    np.reciprocal(z, out=z)


def _logistic_backprop(a, grad):
    grad *= a * (1 - a)


def _identity(z):
    return None


def _identity_backprop(a, grad):
    return None


ACTIVATIONS: dict[str, Activation] = {
    "relu": Activation("relu", _relu, _relu_backprop, "he"),
    "tanh": Activation("tanh", _tanh, _tanh_backprop, "glorot"),
    "logistic": Activation("logistic", _logistic, _logistic_backprop, "glorot"),
    "identity": Activation("identity", _identity, _identity_backprop, "glorot"),
}


def get_activation(name) -> Activation:
    """The registered activation called ``name``.

    Parameters
    ----------
    name : str
        One of ``relu``, ``tanh``, ``logistic``, ``identity``.

    Returns
    -------
    Activation

    Raises
    ------
    TopokitError
        If ``name`` is not registered.

    Examples
    --------
    >>> import numpy as np
    >>> from topokit.nn.activations import get_activation
    >>> z = np.array([-1.0, 2.0])
    >>> get_activation("relu").apply(z)
    >>> z.tolist()
    [0.0, 2.0]
    """
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise TopokitError(f"activation must be one of {sorted(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]
