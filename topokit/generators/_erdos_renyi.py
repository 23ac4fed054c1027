"""``erdos_renyi``: a uniformly random edge set of exactly the asked size."""

from __future__ import annotations

from topokit._validation import edge_count, make_rng
from topokit.generators._registry import Family, register
from topokit.generators._sampling import check_sizes, csr_from_sorted_ids, distinct_integers
from topokit.graph import LayerGraph

__all__ = ["erdos_renyi"]

_NAME = "erdos_renyi"


def _check(n_in, n_out, *, density=None, degree=None) -> tuple[int, int, int]:
    """``(n_in, n_out, E)``, or the TopokitError the builder raises (builds nothing)."""
    n_in, n_out = check_sizes(n_in, n_out)
    return n_in, n_out, edge_count(n_in, n_out, density, degree)


def erdos_renyi(n_in, n_out, *, density=None, degree=None, rng=None) -> LayerGraph:
    """Uniformly random bipartite graph with exactly ``E`` edges (the G(n_in, n_out, E) model).

    Every set of ``E`` input–output pairs is equally likely. The edges are drawn as
    distinct ids in ``range(n_in * n_out)`` in O(E log E) time and O(E) memory; the
    ``n_in × n_out`` grid is never built (for density above 1/2 the complement is drawn,
    which costs O(n_in · n_out) = O(E)).

    Parameters
    ----------
    n_in, n_out : int
        Number of input and output neurons, at least 1.
    density : float in (0, 1], optional
        ``E = round(density * n_in * n_out)``.
    degree : int, optional
        ``E = degree * n_out`` (the mean fan-in; individual fan-ins vary).
    rng : None, int or numpy.random.Generator, optional
        Source of randomness; the same seed gives the same graph.

    Returns
    -------
    LayerGraph
        With exactly ``E`` edges.

    Raises
    ------
    TopokitError
        If a size is not a positive integer, or density/degree is missing, both given,
        out of range, or gives no edge.

    Examples
    --------
    >>> from topokit.generators import erdos_renyi
    >>> g = erdos_renyi(100, 50, density=0.1, rng=0)
    >>> g.n_edges
    500
    >>> g == erdos_renyi(100, 50, density=0.1, rng=0)
    True
    """
    n_in, n_out, n_edges = _check(n_in, n_out, density=density, degree=degree)
    generator = make_rng(rng)
    edge_ids = distinct_integers(generator, n_in * n_out, n_edges)
    return LayerGraph._trusted(csr_from_sorted_ids(edge_ids, n_in, n_out), family=_NAME)


register(
    Family(
        name=_NAME,
        function=erdos_renyi,
        check=_check,
        summary="uniformly random edge set with exactly round(density·n_in·n_out) edges",
        sizes="any n_in, n_out >= 1",
    )
)
