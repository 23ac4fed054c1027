"""``left_regular``: every output neuron has the same number of random inputs (X-Net style)."""

from __future__ import annotations

import numpy as np

from topokit._errors import TopokitError
from topokit._validation import edge_count, make_rng
from topokit.generators._registry import Family, register
from topokit.generators._sampling import (
    check_sizes,
    csr_from_edges,
    csr_from_sorted_ids,
    feasible_density,
)
from topokit.graph import LayerGraph

__all__ = ["left_regular"]

_NAME = "left_regular"


def _fan_in(n_in: int, n_out: int, density, degree) -> int:
    """The common fan-in asked for, or TopokitError naming the nearest feasible choices."""
    n_edges = edge_count(n_in, n_out, density, degree)
    if n_edges % n_out == 0:
        return n_edges // n_out
    below, above = n_edges // n_out, n_edges // n_out + 1
    choices = [
        f"density={feasible_density(n_in, n_out, fan_in * n_out)} (degree={fan_in})"
        for fan_in in (below, above)
        if 1 <= fan_in <= n_in
    ]
    raise TopokitError(
        f"family 'left_regular' gives every output neuron the same fan-in, so the edge count "
        f"must be a multiple of n_out={n_out}; density={density} gives {n_edges} edges; "
        f"the nearest feasible choices are {' or '.join(choices)}"
    )


def _distinct_per_output(rng: np.random.Generator, n_in: int, n_out: int, k: int) -> np.ndarray:
    """For each output, ``k`` distinct inputs drawn uniformly: an array of shape (n_out, k).

    Draws with replacement, then redraws the repeated entries of each row until none is
    left. The rule treats every input label alike, so each row is a uniformly random
    ``k``-subset. Meant for ``k <= n_in / 2``, where each redraw succeeds with
    probability at least 1/2, so the number of rounds is O(log E); after the first
    round only the rows with a repeat are touched.
    """
    chosen = rng.integers(0, n_in, size=(n_out, k), dtype=np.int64)
    chosen.sort(axis=1)
    rows = np.arange(n_out)
    while rows.size:
        block = chosen[rows]
        repeated = np.zeros(block.shape, dtype=bool)
        repeated[:, 1:] = block[:, 1:] == block[:, :-1]
        has_repeat = repeated.any(axis=1)
        rows, block, repeated = rows[has_repeat], block[has_repeat], repeated[has_repeat]
        block[repeated] = rng.integers(0, n_in, size=int(repeated.sum()), dtype=np.int64)
        block.sort(axis=1)
        chosen[rows] = block
    return chosen


def _check(n_in, n_out, *, density=None, degree=None) -> tuple[int, int, int]:
    """``(n_in, n_out, fan_in)``, or the TopokitError the builder raises (builds nothing)."""
    n_in, n_out = check_sizes(n_in, n_out)
    return n_in, n_out, _fan_in(n_in, n_out, density, degree)


def left_regular(n_in, n_out, *, density=None, degree=None, rng=None) -> LayerGraph:
    """Random graph in which every output neuron has exactly ``degree`` distinct inputs.

    Each output neuron draws its inputs uniformly at random, independently of the
    others (the random layers of X-Net); the fan-outs of the inputs vary. Costs
    O(E log degree); for a fan-in above ``n_in / 2`` the inputs left out are drawn
    instead, at cost O(n_in · n_out) = O(E).

    Parameters
    ----------
    n_in, n_out : int
        Number of input and output neurons, at least 1.
    density : float in (0, 1], optional
        Accepted when ``round(density * n_in * n_out)`` is a multiple of ``n_out``;
        the fan-in is then that number over ``n_out``.
    degree : int, optional
        The fan-in of every output neuron, ``1 <= degree <= n_in``.
    rng : None, int or numpy.random.Generator, optional
        Source of randomness; the same seed gives the same graph.

    Returns
    -------
    LayerGraph
        With ``degree * n_out`` edges and every fan-in equal to ``degree``.

    Raises
    ------
    TopokitError
        If a size is not a positive integer, density/degree is missing, both given or
        out of range, or the density does not give the same fan-in to every output
        (the message names the nearest densities that do).

    References
    ----------
    - A. Prabhu, G. Varma, A. Namboodiri, "Deep Expander Networks: Efficient Deep Networks
      from Graph Theory", ECCV (2018), arXiv:1711.08757: X-Net, whose random layers give
      every output neuron the same number of random inputs.

    Examples
    --------
    >>> from topokit.generators import left_regular
    >>> g = left_regular(100, 10, degree=5, rng=0)
    >>> g.n_edges, set(g.fan_in.tolist())
    (50, {5})
    >>> left_regular(100, 10, density=0.2, rng=0).fan_in.tolist() == [20] * 10
    True
    """
    n_in, n_out, fan_in = _check(n_in, n_out, density=density, degree=degree)
    generator = make_rng(rng)
    if 2 * fan_in > n_in:
        left_out = _distinct_per_output(generator, n_in, n_out, n_in - fan_in)
        keep = np.ones((n_in, n_out), dtype=bool)
        keep[left_out.ravel(), np.repeat(np.arange(n_out), n_in - fan_in)] = False
        csr = csr_from_sorted_ids(np.flatnonzero(keep), n_in, n_out)
    else:
        inputs = _distinct_per_output(generator, n_in, n_out, fan_in)
        outputs = np.repeat(np.arange(n_out, dtype=np.int64), fan_in)
        csr = csr_from_edges(inputs.ravel(), outputs, n_in, n_out)
    return LayerGraph._trusted(csr, family=_NAME)


register(
    Family(
        name=_NAME,
        function=left_regular,
        check=_check,
        summary="every output neuron has exactly `degree` random inputs (X-Net style)",
        sizes="any n_in, n_out >= 1; with density, density·n_in·n_out a multiple of n_out",
    )
)
