"""``small_world``: a banded ring lattice with randomly rewired edges (Watts–Strogatz style)."""

from __future__ import annotations

import numpy as np

from topokit._validation import check_probability, edge_count, make_rng
from topokit.generators._registry import Family, Param, register
from topokit.generators._sampling import check_sizes, contains, csr_from_edges, first_occurrences
from topokit.graph import LayerGraph

__all__ = ["small_world"]

_NAME = "small_world"
_RANDOM_ROUNDS = 32  # rounds of rejection sampling before the exact per-input fallback


def _ceil_div(numerator: np.ndarray, denominator: int) -> np.ndarray:
    return -(-numerator // denominator)


def _windows(n_in: int, n_out: int, reach: int) -> tuple[np.ndarray, np.ndarray]:
    """First output and one past the last output of each input's band, for ``reach``.

    In units of ``1 / (2 n_in)`` output spacings, input ``i`` sits at
    ``(2i + 1) n_out`` and output ``j`` at ``(2j + 1) n_in``; input ``i`` is joined to the
    outputs ``j`` with ``-reach < (2j+1) n_in - (2i+1) n_out <= reach`` (integer
    arithmetic, so no rounding). Outputs are taken modulo ``n_out`` (a ring).
    """
    twice_centre = (2 * np.arange(n_in, dtype=np.int64) + 1) * n_out - n_in
    return (
        _ceil_div(twice_centre - reach, 2 * n_in),
        _ceil_div(twice_centre + reach, 2 * n_in),
    )


def _n_band_edges(n_in: int, n_out: int, reach: int) -> int:
    first, end = _windows(n_in, n_out, reach)
    return int((end - first).sum())


def _lattice(n_in: int, n_out: int, n_edges: int) -> tuple[np.ndarray, np.ndarray]:
    """Endpoints of the banded ring lattice with exactly ``n_edges`` edges, row-major.

    Input ``i`` is joined to the consecutive outputs (cyclically) nearest its scaled
    position ``(i + 1/2) · n_out / n_in − 1/2``. The band's half-width ``reach`` is the
    largest whose band has at most ``n_edges`` edges (bisection: the band has
    ``reach ± n_in`` edges); evenly spaced inputs among those whose band grows at
    ``reach + 1`` then get their one extra edge. Fan-outs and fan-ins each differ by at
    most 1 (every input and every output is an evenly spaced point on the ring).
    """
    low, high = max(0, n_edges - n_in), min(n_in * n_out, n_edges + n_in + 1)
    if _n_band_edges(n_in, n_out, high) <= n_edges:
        low = high
    while high - low > 1:
        middle = (low + high) // 2
        if _n_band_edges(n_in, n_out, middle) <= n_edges:
            low = middle
        else:
            high = middle
    first, end = _windows(n_in, n_out, low)
    missing = n_edges - int((end - first).sum())
    if missing:
        first_next, end_next = _windows(n_in, n_out, low + 1)
        grows_left = np.flatnonzero(first_next < first)
        grows_right = np.flatnonzero(end_next > end)
        growing = np.concatenate([grows_left, grows_right])
        on_right = np.r_[np.zeros(grows_left.size, bool), np.ones(grows_right.size, bool)]
        order = np.argsort(growing, kind="stable")
        picked = order[(np.arange(missing) * growing.size) // missing]
        np.subtract.at(first, growing[picked][~on_right[picked]], 1)
        np.add.at(end, growing[picked][on_right[picked]], 1)
    fan_out = end - first
    row_start = np.cumsum(fan_out) - fan_out
    edge_inputs = np.repeat(np.arange(n_in, dtype=np.int64), fan_out)
    offset = np.arange(n_edges, dtype=np.int64) - np.repeat(row_start, fan_out)
    return edge_inputs, (np.repeat(first, fan_out) + offset) % n_out


def _merge_sorted(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """One sorted array from two sorted ones (a stable sort merges the two runs)."""
    merged = np.concatenate([left, right])
    merged.sort(kind="stable")
    return merged


def _place_exactly(
    rng: np.random.Generator, inputs: np.ndarray, taken: np.ndarray, n_out: int
) -> np.ndarray:
    """New outputs for the edges of ``inputs``, uniform among those not in ``taken`` ids.

    Enumerates the free outputs of each input (O(n_out) per input); used only for the
    few edges left after the rejection rounds, whose inputs are nearly full.
    """
    outputs = np.empty(inputs.size, dtype=np.int64)
    order = np.argsort(inputs, kind="stable")
    starts = np.flatnonzero(np.r_[True, inputs[order][1:] != inputs[order][:-1]])
    for group in np.split(order, starts[1:]):
        source = inputs[group[0]]
        low, high = np.searchsorted(taken, [source * n_out, (source + 1) * n_out])
        free = np.setdiff1d(np.arange(n_out), taken[low:high] - source * n_out)
        outputs[group] = rng.choice(free, size=group.size, replace=False)
    return outputs


def _rewire(
    rng: np.random.Generator, inputs: np.ndarray, outputs: np.ndarray, n_out: int, p: float
) -> np.ndarray:
    """Move the output end of each edge, with probability ``p``, to a random free output.

    The moving edges are lifted out first; each then lands on an output drawn uniformly
    among those not joined to its input by a kept or already placed edge (its old output
    is allowed again). Returns the new outputs.
    """
    moving = np.flatnonzero(rng.random(inputs.size) < p)
    if moving.size == 0:
        return outputs
    kept = np.ones(inputs.size, dtype=bool)
    kept[moving] = False
    taken = np.sort(inputs[kept] * n_out + outputs[kept])
    moving_inputs = inputs[moving]
    new_outputs = np.empty(moving.size, dtype=np.int64)
    pending = np.arange(moving.size)
    placed = np.empty(0, dtype=np.int64)
    for _ in range(_RANDOM_ROUNDS):
        if pending.size == 0:
            break
        proposal = rng.integers(0, n_out, size=pending.size, dtype=np.int64)
        ids = moving_inputs[pending] * n_out + proposal
        ok = ~contains(taken, ids) & ~contains(placed, ids) & first_occurrences(ids)
        new_outputs[pending[ok]] = proposal[ok]
        placed = _merge_sorted(placed, np.sort(ids[ok]))
        pending = pending[~ok]
    if pending.size:
        taken = _merge_sorted(taken, placed)
        new_outputs[pending] = _place_exactly(rng, moving_inputs[pending], taken, n_out)
    outputs = outputs.copy()
    outputs[moving] = new_outputs
    return outputs


def _check(n_in, n_out, *, density=None, degree=None, p=0.1) -> tuple[int, int, int, float]:
    """``(n_in, n_out, E, p)``, or the TopokitError the builder raises (builds nothing)."""
    n_in, n_out = check_sizes(n_in, n_out)
    n_edges = edge_count(n_in, n_out, density, degree)
    return n_in, n_out, n_edges, check_probability("p", p)


def small_world(n_in, n_out, *, density=None, degree=None, rng=None, p=0.1) -> LayerGraph:
    """Banded ring lattice whose edges are each rewired with probability ``p``.

    The lattice joins input ``i`` to the outputs nearest its scaled position
    ``(i + 1/2) · n_out / n_in − 1/2``, taken cyclically (a ring, as in Watts–Strogatz),
    with the band width that gives exactly ``E`` edges: fan-outs are
    ``floor(E / n_in)`` or ``ceil(E / n_in)`` and fan-ins ``floor(E / n_out)`` or
    ``ceil(E / n_out)``. Then each edge,
    with probability ``p``, has its output end moved to a uniformly random output not
    joined to its input. The edge count and the fan-outs never change. ``p=0`` is the
    lattice itself (no randomness), ``p=1`` essentially a random graph with the lattice's
    fan-outs. Costs O(E log E).

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
    p : float in [0, 1], default 0.1
        Rewiring probability of each edge.

    Returns
    -------
    LayerGraph
        With exactly ``E`` edges.

    Raises
    ------
    TopokitError
        If a size is not a positive integer, density/degree is missing, both given, out
        of range or gives no edge, or ``p`` is not in [0, 1].

    References
    ----------
    - D. J. Watts, S. H. Strogatz, "Collective dynamics of 'small-world' networks",
      *Nature* 393 (1998).

    Examples
    --------
    >>> from topokit.generators import small_world
    >>> small_world(6, 6, degree=3, p=0).biadjacency.toarray().astype(int)
    array([[1, 1, 0, 0, 0, 1],
           [1, 1, 1, 0, 0, 0],
           [0, 1, 1, 1, 0, 0],
           [0, 0, 1, 1, 1, 0],
           [0, 0, 0, 1, 1, 1],
           [1, 0, 0, 0, 1, 1]])
    >>> small_world(50, 40, density=0.1, p=0.3, rng=0).n_edges
    200
    """
    n_in, n_out, n_edges, p = _check(n_in, n_out, density=density, degree=degree, p=p)
    generator = make_rng(rng)
    inputs, outputs = _lattice(n_in, n_out, n_edges)
    if p > 0:
        outputs = _rewire(generator, inputs, outputs, n_out, p)
    return LayerGraph._trusted(csr_from_edges(inputs, outputs, n_in, n_out), family=_NAME)


register(
    Family(
        name=_NAME,
        function=small_world,
        check=_check,
        summary=(
            "banded ring lattice (each input joined to the outputs nearest its scaled "
            "position), each edge rewired with probability p; edge count fixed"
        ),
        sizes="any n_in, n_out >= 1",
        params=(
            Param(
                "p",
                "float",
                0.1,
                "0 <= p <= 1",
                "probability that an edge's output end is moved to a random free output",
            ),
        ),
    )
)
