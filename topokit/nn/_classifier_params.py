"""The parameters of SparseMLPClassifier declared as data, and the one function that checks them.

Each entry of :data:`PARAMETER_CHECKS` maps a constructor parameter to a checker
``check(name, value) -> value`` that returns the value in canonical form or raises
:class:`~topokit.TopokitError` naming the parameter, the constraint and the value.
:func:`validate_parameters` runs them all at ``fit`` (``__init__`` only stores).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from types import SimpleNamespace

import numpy as np

from topokit._errors import TopokitError
from topokit._validation import check_int, check_real
from topokit.allocation import ALLOCATIONS
from topokit.generators import get_family
from topokit.nn.activations import ACTIVATIONS
from topokit.nn.dynamic import DYNAMIC_RULES
from topokit.nn.schedules import SCHEDULES

__all__ = ["LEARNING_RATES", "PARAMETER_CHECKS", "validate_parameters"]

LEARNING_RATES = ("constant", "adaptive", *(name for name in SCHEDULES if name != "constant"))

_UNSUPPORTED = {
    "solver": {
        "lbfgs": "solver='lbfgs' is not supported: SparseMLPClassifier trains with "
        "minibatches only; use solver='adam' or solver='sgd'",
    },
    "learning_rate": {
        "invscaling": "learning_rate='invscaling' is not supported: the learning rate changes "
        "once per epoch here, not after every sample as scikit-learn's invscaling does; use "
        "'constant', 'adaptive', 'step' or 'cosine'",
    },
}


# ------------------------------------------------------------------ checkers
def _choice(*options):
    def check(name, value):
        if isinstance(value, str) and value in _UNSUPPORTED.get(name, {}):
            raise TopokitError(_UNSUPPORTED[name][value])
        if not isinstance(value, str) or value not in options:
            raise TopokitError(f"{name} must be one of {list(options)}, got {value!r}")
        return value

    return check


def _real(**bounds):
    return lambda name, value: check_real(name, value, **bounds)


def _integer(minimum):
    return lambda name, value: check_int(name, value, minimum=minimum)


def _boolean(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TopokitError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _verbose(name, value):
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    return check_int(name, value, minimum=0) > 0


def _batch_size(name, value):
    if isinstance(value, str):
        if value != "auto":
            raise TopokitError(f"{name} must be 'auto' or an integer >= 1, got {value!r}")
        return value
    return check_int(name, value, minimum=1)


def _hidden_layer_sizes(name, value):
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = [value]
    if isinstance(value, str) or not isinstance(value, Sequence | np.ndarray):
        raise TopokitError(
            f"{name} must be an integer or a sequence of integers >= 1 (one per hidden "
            f"layer), got {value!r}"
        )
    return tuple(check_int(f"{name}[{k}]", size, minimum=1) for k, size in enumerate(value))


def _random_state(name, value):
    if value is None or isinstance(value, np.random.RandomState | np.random.Generator):
        return value
    return check_int(name, value, minimum=0)


def _family(name, value):
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, Sequence) or not names:
        raise TopokitError(f"{name} must be a family name or one per sparse layer, got {value!r}")
    for family in names:
        get_family(family)  # raises naming the valid families
    return value


def _edge_count(kind):
    def check_one(name, value):
        if value is None:
            return None
        if kind == "density":
            return check_real(name, value, low=0.0, high=1.0, low_open=True)
        return check_int(name, value, minimum=1)

    def check(name, value):
        if isinstance(value, Sequence | np.ndarray) and not isinstance(value, str):
            return [check_one(f"{name}[{k}]", item) for k, item in enumerate(value)]
        return check_one(name, value)

    return check


def _mapping(name, value):
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TopokitError(f"{name} must be a dict of parameter names to values, got {value!r}")
    return dict(value)


def _optional_integer(minimum):
    def check(name, value):
        return None if value is None else check_int(name, value, minimum=minimum)

    return check


def _dtype(name, value):
    try:
        dtype = np.dtype(value)
    except TypeError:
        dtype = None
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TopokitError(f"{name} must be numpy.float32 or numpy.float64, got {value!r}")
    return dtype


PARAMETER_CHECKS = {
    "hidden_layer_sizes": _hidden_layer_sizes,
    "activation": _choice(*ACTIVATIONS),
    "solver": _choice("adam", "sgd"),
    "alpha": _real(low=0.0),
    "batch_size": _batch_size,
    "learning_rate": _choice(*LEARNING_RATES),
    "learning_rate_init": _real(low=0.0, low_open=True),
    "schedule_params": _mapping,
    "max_iter": _integer(1),
    "shuffle": _boolean,
    "random_state": _random_state,
    "tol": _real(low=0.0),
    "verbose": _verbose,
    "momentum": _real(low=0.0, high=1.0),
    "nesterovs_momentum": _boolean,
    "early_stopping": _boolean,
    "validation_fraction": _real(low=0.0, high=1.0, low_open=True, high_open=True),
    "beta_1": _real(low=0.0, high=1.0, high_open=True),
    "beta_2": _real(low=0.0, high=1.0, high_open=True),
    "epsilon": _real(low=0.0, low_open=True),
    "n_iter_no_change": _integer(1),
    "family": _family,
    "density": _edge_count("density"),
    "degree": _edge_count("degree"),
    "family_params": _mapping,
    "dense_output": _boolean,
    "allocation": _choice(*ALLOCATIONS),
    "dtype": _dtype,
    "dynamic": _choice(*DYNAMIC_RULES),
    "drop_fraction": _real(low=0.0, high=1.0, low_open=True, high_open=True),
    "update_interval": _optional_integer(1),
    "update_until": _real(low=0.0, high=1.0, low_open=True),
}


def validate_parameters(params: Mapping) -> SimpleNamespace:
    """Check every constructor parameter; return them in canonical form as attributes.

    Parameters
    ----------
    params : mapping
        ``estimator.get_params()``.

    Returns
    -------
    types.SimpleNamespace
        One attribute per parameter.

    Raises
    ------
    TopokitError
        For the first parameter that breaks its constraint.
    """
    return SimpleNamespace(
        **{name: check(name, params[name]) for name, check in PARAMETER_CHECKS.items()}
    )
