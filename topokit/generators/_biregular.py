"""``biregular``: random near-biregular graph (configuration model without multi-edges)."""

from __future__ import annotations

from topokit._validation import edge_count, make_rng
from topokit.generators._configuration_model import biregular_csr
from topokit.generators._registry import Family, register
from topokit.generators._sampling import check_sizes
from topokit.graph import LayerGraph

__all__ = ["biregular"]

_NAME = "biregular"


def _check(n_in, n_out, *, density=None, degree=None) -> tuple[int, int, int]:
    """``(n_in, n_out, E)``, or the TopokitError the builder raises (builds nothing)."""
    n_in, n_out = check_sizes(n_in, n_out)
    return n_in, n_out, edge_count(n_in, n_out, density, degree)


def biregular(n_in, n_out, *, density=None, degree=None, rng=None) -> LayerGraph:
    """Random graph whose degrees differ by at most 1 on each side.

    Every input neuron gets ``floor(E / n_in)`` or ``ceil(E / n_in)`` edges and every
    output neuron ``floor(E / n_out)`` or ``ceil(E / n_out)``; which neurons get the
    larger degree is random. The graph is exactly ``(c, d)``-biregular when
    ``n_in · c = n_out · d = E``. Built by the configuration model (stubs paired by a
    random permutation), whose repeated edges are then removed by random degree-keeping
    edge swaps, so the result is simple and keeps every degree. Costs O(E log E).

    Parameters
    ----------
    n_in, n_out : int
        Number of input and output neurons, at least 1.
    density : float in (0, 1], optional
        ``E = round(density * n_in * n_out)``.
    degree : int, optional
        ``E = degree * n_out``; every output neuron then has fan-in exactly ``degree``.
    rng : None, int or numpy.random.Generator, optional
        Source of randomness; the same seed gives the same graph.

    Returns
    -------
    LayerGraph
        With exactly ``E`` edges and near-regular degrees on both sides.

    Raises
    ------
    TopokitError
        If a size is not a positive integer, or density/degree is missing, both given,
        out of range, or gives no edge.

    References
    ----------
    - G. Brito, I. Dumitriu, K. D. Harris, "Spectral gap in random bipartite biregular
      graphs and applications", *Combinatorics, Probability and Computing* 31 (2022):
      random biregular graphs are near-Ramanujan with high probability.

    Examples
    --------
    >>> from topokit.generators import biregular
    >>> g = biregular(30, 20, degree=3, rng=0)
    >>> sorted(set(g.fan_in.tolist())), sorted(set(g.fan_out.tolist()))
    ([3], [2])
    >>> h = biregular(7, 5, density=0.4, rng=0)
    >>> h.n_edges, sorted(set(h.fan_out.tolist())), sorted(set(h.fan_in.tolist()))
    (14, [2], [2, 3])
    """
    n_in, n_out, n_edges = _check(n_in, n_out, density=density, degree=degree)
    generator = make_rng(rng)
    return LayerGraph._trusted(biregular_csr(generator, n_in, n_out, n_edges), family=_NAME)


register(
    Family(
        name=_NAME,
        function=biregular,
        check=_check,
        summary=(
            "random graph whose degrees differ by at most 1 on each side; configuration "
            "model without multi-edges"
        ),
        sizes="any n_in, n_out >= 1",
    )
)
