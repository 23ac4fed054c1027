"""``scale_free``: power-law expected degrees on both sides (Chung–Lu), edge count fixed."""

from __future__ import annotations

import numpy as np

from topokit._validation import check_real, edge_count, make_rng
from topokit.generators._registry import Family, Param, register
from topokit.generators._sampling import check_sizes, contains, csr_from_sorted_ids
from topokit.graph import LayerGraph

__all__ = ["scale_free"]

_NAME = "scale_free"
_EXACT_DENSITY = 0.25  # at or above this density, sample over all n_in·n_out pairs at once


def _power_law_weights(n_nodes: int, n_other: int, n_edges: int, exponent: float) -> np.ndarray:
    """Weights ``(i + i0)^(-1/(exponent-1))``, summing to 1, for ``i = 0 .. n_nodes-1``.

    ``i0`` is the smallest power of two for which the largest expected degree,
    ``n_edges · w_0``, is at most half the other side (at most all of it above density
    1/4), so that the biggest hub does not saturate.
    """
    cap = n_other / 2 if 4 * n_edges <= n_nodes * n_other else n_other
    positions = np.arange(n_nodes, dtype=np.float64)
    offset = 1.0
    while True:
        weights = (positions + offset) ** (-1.0 / (exponent - 1.0))
        weights /= weights.sum()
        if n_edges * weights[0] <= cap or offset > 2.0**60:
            return weights
        offset *= 2.0


def _guide_table(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Normalized CDF of ``weights`` and a guide table for drawing from it in O(1) each.

    ``guide[k]`` is the first index whose CDF exceeds ``k / len(guide)`` (Chen and Asau's
    guide-table method), so a draw ``u`` starts its search at ``guide[floor(u · len)]``.
    """
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    cdf[-1] = 1.0
    n_buckets = 4 * weights.size
    guide = np.searchsorted(cdf, np.arange(n_buckets) / n_buckets, side="right")
    return cdf, guide


def _draw(rng: np.random.Generator, table: tuple[np.ndarray, np.ndarray], size: int):
    """``size`` indices drawn with replacement from the distribution of :func:`_guide_table`."""
    cdf, guide = table
    u = rng.random(size)
    index = guide[(u * guide.size).astype(np.int64)]
    behind = np.flatnonzero(cdf[index] <= u)
    while behind.size:
        index[behind] += 1
        behind = behind[cdf[index[behind]] <= u[behind]]
    return index.astype(np.int64, copy=False)


def _distinct_in_draw_order(draws: np.ndarray, n_pairs: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of ``draws``, sorted, and where each first appears."""
    size = draws.size
    if n_pairs * size < 2**62:  # one sort of the packed keys (value, position)
        keys = draws * size + np.arange(size, dtype=np.int64)
        keys.sort()
        values = keys // size
        positions = keys - values * size
    else:
        positions = np.argsort(draws, kind="stable")
        values = draws[positions]
    first = np.ones(size, dtype=bool)
    first[1:] = values[1:] != values[:-1]
    return values[first], positions[first]


def _successive_sample(rng, w_in, w_out, n_edges: int) -> np.ndarray:
    """Sorted ids of ``n_edges`` distinct pairs, each next one drawn ∝ ``w_in[i]·w_out[j]``.

    Draws batches with replacement and keeps the first appearance of each new pair,
    in draw order, until there are ``n_edges``: exactly sampling without replacement.
    """
    n_in, n_out = w_in.size, w_out.size
    table_in, table_out = _guide_table(w_in), _guide_table(w_out)
    chosen = np.empty(0, dtype=np.int64)
    yield_rate = 1.0
    while chosen.size < n_edges:
        missing = n_edges - chosen.size
        size = int(missing / yield_rate * 1.05) + 64
        draws = _draw(rng, table_in, size) * n_out + _draw(rng, table_out, size)
        values, positions = _distinct_in_draw_order(draws, n_in * n_out)
        fresh = ~contains(chosen, values)
        values, positions = values[fresh], positions[fresh]
        yield_rate = max(values.size / size, 1e-3)
        if values.size > missing:
            last = np.partition(positions, missing - 1)[missing - 1]
            values = values[positions <= last]
        chosen = np.concatenate([chosen, values])
        chosen.sort(kind="stable")  # merges the two sorted runs
    return chosen


def _exact_sample(rng, w_in, w_out, n_edges: int) -> np.ndarray:
    """Same distribution as :func:`_successive_sample`, over all pairs at once.

    Efraimidis–Spirakis keys ``log(u) / w`` (the ``n_edges`` largest): O(n_in · n_out),
    used only at density >= 1/4, where that is O(E).
    """
    keys = np.log(rng.random((w_in.size, w_out.size))) / np.outer(w_in, w_out)
    keys = keys.ravel()
    if n_edges == keys.size:
        return np.arange(keys.size, dtype=np.int64)
    top = np.argpartition(keys, keys.size - n_edges)[keys.size - n_edges :]
    return np.sort(top).astype(np.int64)


def _check(n_in, n_out, *, density=None, degree=None, exponent=2.5) -> tuple[int, int, int, float]:
    """``(n_in, n_out, E, exponent)``, or the TopokitError the builder raises (builds nothing)."""
    n_in, n_out = check_sizes(n_in, n_out)
    n_edges = edge_count(n_in, n_out, density, degree)
    return n_in, n_out, n_edges, check_real("exponent", exponent, low=2.0, low_open=True)


def scale_free(n_in, n_out, *, density=None, degree=None, rng=None, exponent=2.5) -> LayerGraph:
    """Random graph with power-law expected degrees on both sides (Chung–Lu), ``E`` edges.

    Input ``i`` gets weight ``w_i ∝ (i + i0)^(-1/(exponent-1))`` and output ``j`` the
    same law on its side, so the expected degrees follow a power law
    ``P(k) ∝ k^(-exponent)``. Edges are drawn one after another, each new one picked
    with probability proportional to ``w_in[i] · w_out[j]`` among the pairs not yet
    chosen, until there are exactly ``E``. Neuron 0 of each side is the largest hub.
    ``i0``, the smallest power of two that keeps the largest expected degree within half
    the other side (within all of it from density 1/4 on), so hubs do not saturate; at
    high densities the law therefore flattens. Costs O(E log E) below density 1/4,
    O(n_in · n_out) = O(E) above.

    Parameters
    ----------
    n_in, n_out : int
        Number of input and output neurons, at least 1.
    density : float in (0, 1], optional
        ``E = round(density * n_in * n_out)``.
    degree : int, optional
        ``E = degree * n_out`` (the mean fan-in).
    rng : None, int or numpy.random.Generator, optional
        Source of randomness; the same seed gives the same graph.
    exponent : float > 2, default 2.5
        Power-law exponent of the degree distribution; smaller is more heavy-tailed.

    Returns
    -------
    LayerGraph
        With exactly ``E`` edges.

    Raises
    ------
    TopokitError
        If a size is not a positive integer, density/degree is missing, both given, out
        of range or gives no edge, or ``exponent`` is not a finite number above 2.

    References
    ----------
    - F. Chung, L. Lu, "Connected components in random graphs with given expected degree
      sequences", *Annals of Combinatorics* 6 (2002).

    Examples
    --------
    >>> from topokit.generators import scale_free
    >>> g = scale_free(2000, 2000, degree=5, rng=0)
    >>> g.n_edges
    10000
    >>> bool(g.fan_out.max() > 10 * g.fan_out.mean())
    True
    """
    n_in, n_out, n_edges, exponent = _check(
        n_in, n_out, density=density, degree=degree, exponent=exponent
    )
    generator = make_rng(rng)
    w_in = _power_law_weights(n_in, n_out, n_edges, exponent)
    w_out = _power_law_weights(n_out, n_in, n_edges, exponent)
    if n_edges >= _EXACT_DENSITY * n_in * n_out:
        edge_ids = _exact_sample(generator, w_in, w_out, n_edges)
    else:
        edge_ids = _successive_sample(generator, w_in, w_out, n_edges)
    return LayerGraph._trusted(csr_from_sorted_ids(edge_ids, n_in, n_out), family=_NAME)


register(
    Family(
        name=_NAME,
        function=scale_free,
        check=_check,
        summary="power-law expected degrees on both sides (Chung–Lu), edge count fixed",
        sizes="any n_in, n_out >= 1",
        params=(
            Param(
                "exponent",
                "float",
                2.5,
                "exponent > 2",
                "power-law exponent of the degree distribution (smaller: heavier tail)",
            ),
        ),
    )
)
