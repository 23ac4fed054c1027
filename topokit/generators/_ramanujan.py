"""``ramanujan``: a random near-biregular graph certified to meet the Ramanujan bound."""

from __future__ import annotations

import math

from topokit._errors import TopokitError
from topokit._validation import check_int, edge_count, make_rng
from topokit.generators._configuration_model import biregular_csr
from topokit.generators._registry import Family, Param, register
from topokit.generators._sampling import check_sizes, feasible_density
from topokit.graph import LayerGraph
from topokit.spectrum import ramanujan_bound, top_singular_values

__all__ = ["ramanujan"]

_NAME = "ramanujan"


def _check_bound_can_be_met(n_in: int, n_out: int, n_edges: int) -> None:
    """TopokitError where no graph with these sizes and edge count can meet the bound."""
    smallest = max(n_in, n_out)
    if n_edges < smallest:
        side, n_side = ("input", n_in) if n_edges < n_in else ("output", n_out)
        raise TopokitError(
            f"family 'ramanujan' needs at least one edge per neuron: with {n_edges} edges "
            f"the mean degree of the {n_side} {side} neurons is below 1, so the bound "
            f"sqrt(E/n_in - 1) + sqrt(E/n_out - 1) is undefined; the smallest feasible "
            f"edge count is {smallest}, e.g. density={feasible_density(n_in, n_out, smallest)}"
            f" or degree={math.ceil(n_in / n_out)}"
        )
    for n_side, n_other, side in ((n_in, n_out, "input"), (n_out, n_in, "output")):
        if n_edges == n_side and n_other >= 2:
            raise TopokitError(
                f"family 'ramanujan' cannot meet its bound with {n_edges} edges: every "
                f"{side} neuron has exactly one edge, so the graph is a union of stars "
                f"(disconnected) and lambda2 = sqrt(second largest star) exceeds "
                f"sqrt(E/n_in - 1) + sqrt(E/n_out - 1); use more edges, e.g. "
                f"density={feasible_density(n_in, n_out, 2 * n_side)}"
            )


def _check(
    n_in, n_out, *, density=None, degree=None, max_attempts=100
) -> tuple[int, int, int, int]:
    """``(n_in, n_out, E, max_attempts)``, or the TopokitError the builder raises before
    sampling (builds nothing; whether the attempts meet the bound is known only by drawing)."""
    n_in, n_out = check_sizes(n_in, n_out)
    n_edges = edge_count(n_in, n_out, density, degree)
    max_attempts = check_int("max_attempts", max_attempts, minimum=1)
    _check_bound_can_be_met(n_in, n_out, n_edges)
    return n_in, n_out, n_edges, max_attempts


def ramanujan(n_in, n_out, *, density=None, degree=None, rng=None, max_attempts=100) -> LayerGraph:
    """Random near-biregular graph whose second singular value meets the Ramanujan bound.

    Draws :func:`~topokit.generators.biregular` graphs until one has
    ``lambda2 <= ramanujan_bound = sqrt(E/n_in − 1) + sqrt(E/n_out − 1)``
    (:func:`topokit.spectrum.ramanujan_bound`), where ``lambda2`` is the second largest
    singular value of the biadjacency (computed by
    :func:`topokit.spectrum.top_singular_values`, on the Gram matrix of the smaller
    side). The returned graph is certified: its ``lambda2`` was computed and
    found within the bound. For ``(c, d)``-biregular graphs the bound is
    ``sqrt(c − 1) + sqrt(d − 1)``; Marcus, Spielman and Srivastava proved that such
    bipartite Ramanujan graphs exist for every ``c, d``, and random biregular graphs are
    near-Ramanujan with high probability (Friedman for regular graphs; Brito, Dumitriu
    and Harris for biregular ones), so a sample falls within the bound with a
    probability that does not vanish with size, which is why resampling terminates.

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
    max_attempts : int >= 1, default 100
        How many biregular graphs to draw before giving up.

    Returns
    -------
    LayerGraph
        With exactly ``E`` edges, degrees as in ``biregular``, and
        ``lambda2 <= ramanujan_bound``.

    Raises
    ------
    TopokitError
        For bad sizes, density/degree or ``max_attempts``; where no graph can meet the
        bound (a side with mean degree at most 1); or when no attempt met it (the
        message gives the attempts, the best ``lambda2`` found and the bound).

    References
    ----------
    - A. W. Marcus, D. A. Spielman, N. Srivastava, "Interlacing families I: Bipartite
      Ramanujan graphs of all degrees", *Annals of Mathematics* 182 (2015): bipartite
      Ramanujan graphs exist for every pair of degrees.
    - G. Brito, I. Dumitriu, K. D. Harris, "Spectral gap in random bipartite biregular
      graphs and applications", *Combinatorics, Probability and Computing* 31 (2022):
      random biregular graphs are near-Ramanujan with high probability.

    Examples
    --------
    >>> from topokit.generators import ramanujan
    >>> from topokit.spectrum import ramanujan_bound, top_singular_values
    >>> g = ramanujan(60, 40, degree=6, rng=0)
    >>> lambda2 = top_singular_values(g.biadjacency, 2)[1]
    >>> bool(lambda2 <= ramanujan_bound(60, 40, g.n_edges))  # sqrt(4 - 1) + sqrt(6 - 1)
    True
    """
    n_in, n_out, n_edges, max_attempts = _check(
        n_in, n_out, density=density, degree=degree, max_attempts=max_attempts
    )
    bound = ramanujan_bound(n_in, n_out, n_edges)
    generator = make_rng(rng)
    best = math.inf
    for _ in range(max_attempts):
        csr = biregular_csr(generator, n_in, n_out, n_edges)
        lambda2 = float(top_singular_values(csr, 2)[1])
        if lambda2 <= bound:
            return LayerGraph._trusted(csr, family=_NAME)
        best = min(best, lambda2)
    raise TopokitError(
        f"family 'ramanujan': none of max_attempts={max_attempts} biregular graphs met "
        f"lambda2 <= ramanujan_bound={bound:.6g} (best lambda2 found: {best:.6g}); "
        f"try more attempts (e.g. max_attempts={10 * max_attempts}) or a larger degree"
    )


register(
    Family(
        name=_NAME,
        function=ramanujan,
        check=_check,
        summary=(
            "biregular resampled until lambda2 <= ramanujan_bound; certified, bounded attempts"
        ),
        sizes="any n_in, n_out >= 1 with at least max(n_in, n_out) edges",
        params=(
            Param(
                "max_attempts",
                "int",
                100,
                "integer >= 1",
                "how many biregular graphs to draw before giving up",
            ),
        ),
    )
)
