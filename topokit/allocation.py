"""Layer-wise allocation of a global density: how many edges each sparse layer gets.

``uniform`` gives every layer the global density. ``erk`` (Erdős–Rényi–Kernel, Evci et
al. 2020, from the Erdős–Rényi allocation of Mocanu et al. 2018) gives layer ``k`` a
density proportional to ``(n_in + n_out) / (n_in * n_out)``: small layers are kept
denser, large ones sparser, at the same total edge count. The scale ``ε`` is chosen so
that the layers together hold ``density * Σ n_in * n_out`` edges; a layer whose density
would exceed 1 is made complete and the edges it cannot take go to the others, again
until no layer exceeds 1. Both give each layer's density as ``E_k / (n_in * n_out)``
with whole edge counts ``E_k`` that add up to ``round(density * Σ n_in * n_out)``
(largest remainders), so a family that builds ``round(density * n_in * n_out)`` edges
builds exactly ``E_k``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from topokit._errors import TopokitError
from topokit._validation import check_int, check_real

__all__ = ["ALLOCATIONS", "check_allocation", "layer_densities"]

#: The allocation names, the first the default.
ALLOCATIONS: tuple[str, ...] = ("uniform", "erk")


def check_allocation(allocation) -> str:
    """Check an allocation name.

    Parameters
    ----------
    allocation : str
        One of :data:`ALLOCATIONS`.

    Returns
    -------
    str
        ``allocation``.

    Raises
    ------
    TopokitError
        If it is not one of :data:`ALLOCATIONS`.

    Examples
    --------
    >>> from topokit.allocation import check_allocation
    >>> check_allocation("erk")
    'erk'
    >>> check_allocation("ERK")
    Traceback (most recent call last):
        ...
    topokit._errors.TopokitError: allocation must be one of uniform, erk, got 'ERK'
    """
    if not isinstance(allocation, str) or allocation not in ALLOCATIONS:
        raise TopokitError(
            f"allocation must be one of {', '.join(ALLOCATIONS)}, got {allocation!r}"
        )
    return allocation


def _erk_edges(areas: np.ndarray, weights: np.ndarray, target: float) -> np.ndarray:
    """Real-valued edge counts ``min(ε * weights, areas)`` summing to ``target``."""
    complete = np.zeros(areas.size, dtype=bool)
    while not complete.all():
        free = ~complete
        scale = (target - areas[complete].sum()) / weights[free].sum()
        over = free & (scale * weights > areas)
        if not over.any():
            return np.where(complete, areas, np.minimum(scale * weights, areas))
        complete |= over
    return areas.copy()


def _whole_edges(edges: np.ndarray, areas: np.ndarray, total: int) -> np.ndarray:
    """Round real edge counts to integers that sum to ``total`` (largest remainders)."""
    whole = np.minimum(np.floor(edges), areas)
    short = int(total - whole.sum())
    remainders = np.where(whole < areas, edges - whole, -np.inf)
    order = np.argsort(-remainders, kind="stable")
    whole[order[:short]] += 1
    return whole


def layer_densities(shapes, density, allocation: str = "uniform") -> list[float]:
    """The density of each layer when ``density`` is spread over ``shapes`` by ``allocation``.

    Parameters
    ----------
    shapes : sequence of (int, int)
        ``(n_in, n_out)`` of each layer taking part (the sparse layers).
    density : float
        The global density, in (0, 1]: the layers together hold
        ``round(density * Σ n_in * n_out)`` edges.
    allocation : {"uniform", "erk"}, default "uniform"
        ``uniform``: each layer at ``density``. ``erk``: layer ``k`` at
        ``min(1, ε (n_in + n_out) / (n_in n_out))``, ``ε`` such that the edges add up
        (a layer capped at 1 passes its excess to the others).

    Returns
    -------
    list of float
        One density per layer, ``E_k / (n_in * n_out)`` with whole edge counts ``E_k``
        (each layer's ``round(density_k * n_in * n_out)`` is ``E_k``). For ``uniform``,
        ``density`` itself for every layer.

    Raises
    ------
    TopokitError
        For an unknown allocation, a density outside (0, 1], no layers, or a size below 1.

    References
    ----------
    - U. Evci, T. Gale, J. Menick, P. S. Castro, E. Elsen, "Rigging the Lottery: Making
      All Tickets Winners", ICML (2020): the ERK allocation.
    - D. C. Mocanu et al., "Scalable training of artificial neural networks with adaptive
      sparse connectivity inspired by network science", *Nature Communications* 9 (2018).

    Examples
    --------
    >>> from topokit.allocation import layer_densities
    >>> layer_densities([(100, 100), (100, 10)], 0.1, "erk")
    [0.071, 0.39]

    The 100 x 10 layer is denser (ε = 1100 / 310: 710 and 390 edges, 1100 in all); with
    a global density of 0.5 it would exceed 1, so it is made complete:

    >>> layer_densities([(100, 100), (100, 10)], 0.5, "erk")
    [0.45, 1.0]
    """
    allocation = check_allocation(allocation)
    density = check_real("density", density, low=0, high=1, low_open=True)
    if isinstance(shapes, str) or not isinstance(shapes, Sequence) or not shapes:
        raise TopokitError(
            f"shapes must list the (n_in, n_out) of at least one layer, got {shapes!r}"
        )
    sizes = []
    for k, shape in enumerate(shapes):
        if isinstance(shape, str) or not isinstance(shape, Sequence) or len(shape) != 2:
            raise TopokitError(f"shapes[{k}] must be a pair (n_in, n_out), got {shape!r}")
        sizes.append(tuple(check_int(f"shapes[{k}]", n, minimum=1) for n in shape))
    if allocation == "uniform":
        return [density] * len(sizes)
    n_in, n_out = (np.array(side, dtype=np.float64) for side in zip(*sizes, strict=True))
    areas = n_in * n_out
    total = round(density * areas.sum())
    edges = _whole_edges(_erk_edges(areas, n_in + n_out, float(total)), areas, total)
    return [float(e / a) for e, a in zip(edges, areas, strict=True)]
