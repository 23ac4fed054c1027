"""Input checks shared by every entry point (one place, short messages)."""

from __future__ import annotations

import math
import numbers

import numpy as np

from topokit._errors import TopokitError

__all__ = [
    "check_int",
    "check_probability",
    "check_real",
    "edge_count",
    "make_rng",
]


def make_rng(rng=None) -> np.random.Generator:
    """Turn ``rng`` (None, int seed, SeedSequence or Generator) into a Generator, once."""
    try:
        return np.random.default_rng(rng)
    except (TypeError, ValueError) as exc:
        raise TopokitError(
            f"rng must be None, a non-negative int seed or a numpy Generator, got {rng!r}"
        ) from exc


def check_int(name: str, value, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an int, raising TopokitError if it is not an integer in range."""
    if isinstance(value, bool):
        raise TopokitError(f"{name} must be an integer, got {value!r}")
    if not isinstance(value, numbers.Integral):
        if isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer():
            value = int(value)
        else:
            raise TopokitError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise TopokitError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise TopokitError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_real(
    name: str,
    value,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a finite float within the given bounds."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TopokitError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise TopokitError(f"{name} must be finite, got {value}")
    left = "(" if low_open or low is None else "["
    right = ")" if high_open or high is None else "]"
    interval = f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        raise TopokitError(f"{name} must be in {interval}, got {value}")
    return value


def check_probability(name: str, value) -> float:
    """Return ``value`` as a float in [0, 1]."""
    return check_real(name, value, low=0.0, high=1.0)


def edge_count(n_in: int, n_out: int, density=None, degree=None) -> int:
    """Number of edges asked for by ``density`` or ``degree`` (exactly one of them).

    ``E = round(density * n_in * n_out)`` (halves round up) or ``E = degree * n_out``,
    ``degree`` being the fan-in of every output neuron.

    Raises
    ------
    TopokitError
        If both or neither are given, or the value is out of range, or the
        density rounds to zero edges.
    """
    if density is not None and degree is not None:
        raise TopokitError(
            f"give density or degree, not both (got density={density!r}, degree={degree!r})"
        )
    if density is None and degree is None:
        raise TopokitError("this family needs an edge count: give density=... or degree=...")
    if degree is not None:
        degree = check_int("degree", degree, minimum=1)
        if degree > n_in:
            raise TopokitError(
                f"degree (fan-in of each output neuron) must be <= n_in={n_in}, got {degree}; "
                f"the nearest feasible choice is degree={n_in}"
            )
        return degree * n_out
    density = check_real("density", density, low=0.0, high=1.0, low_open=True)
    n_edges = math.floor(density * n_in * n_out + 0.5)
    if n_edges < 1:
        raise TopokitError(
            f"density={density} gives 0 edges for a {n_in} x {n_out} layer; "
            f"the smallest feasible density is {1 / (n_in * n_out):.3g}"
        )
    return n_edges
