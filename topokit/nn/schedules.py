"""Learning-rate schedules: the rate for each epoch, keyed by the names users type."""

from __future__ import annotations

import math
from collections.abc import Callable

from topokit._errors import TopokitError
from topokit._validation import check_int, check_real

__all__ = ["SCHEDULES", "make_schedule"]


def _constant(learning_rate, n_epochs):
    return lambda epoch: learning_rate


def _step(learning_rate, n_epochs, *, step_size=10, gamma=0.1):
    step_size = check_int("step_size", step_size, minimum=1)
    gamma = check_real("gamma", gamma, low=0.0, low_open=True)
    return lambda epoch: learning_rate * gamma ** (epoch // step_size)


def _cosine(learning_rate, n_epochs, *, min_learning_rate=0.0):
    min_learning_rate = check_real(
        "min_learning_rate", min_learning_rate, low=0.0, high=learning_rate
    )

    def rate(epoch):
        progress = min(epoch / max(n_epochs, 1), 1.0)
        return min_learning_rate + 0.5 * (learning_rate - min_learning_rate) * (
            1 + math.cos(math.pi * progress)
        )

    return rate


SCHEDULES = {"constant": _constant, "step": _step, "cosine": _cosine}


def make_schedule(name, learning_rate, n_epochs, **params) -> Callable[[int], float]:
    """The learning rate as a function of the (0-based) epoch.

    ``constant``: ``lr``; ``step``: ``lr * gamma ** (epoch // step_size)`` (defaults
    ``step_size=10``, ``gamma=0.1``); ``cosine``: from ``lr`` at epoch 0 down to
    ``min_learning_rate`` (default 0) at epoch ``n_epochs``, along half a cosine.

    Parameters
    ----------
    name : {"constant", "step", "cosine"}
    learning_rate : float
        Positive initial rate.
    n_epochs : int
        Length of the run (used by ``cosine``).
    **params
        The schedule's own parameters.

    Returns
    -------
    callable
        ``rate(epoch) -> float``.

    Raises
    ------
    TopokitError
        For an unknown name, a bad parameter, or one the schedule does not take.

    Examples
    --------
    >>> from topokit.nn.schedules import make_schedule
    >>> rate = make_schedule("step", 0.1, 30, step_size=10, gamma=0.5)
    >>> [rate(0), rate(10), rate(25)]
    [0.1, 0.05, 0.025]
    >>> make_schedule("cosine", 0.1, 10)(10)
    0.0
    """
    if not isinstance(name, str) or name not in SCHEDULES:
        raise TopokitError(f"schedule must be one of {sorted(SCHEDULES)}, got {name!r}")
    learning_rate = check_real("learning_rate", learning_rate, low=0.0, low_open=True)
    n_epochs = check_int("n_epochs", n_epochs, minimum=0)
    try:
        return SCHEDULES[name](learning_rate, n_epochs, **params)
    except TypeError as exc:
        raise TopokitError(f"schedule {name!r}: {exc}") from exc
