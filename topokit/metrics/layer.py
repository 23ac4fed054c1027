"""Topology metrics of one layer graph (the keys of DESIGN.md, in order)."""

from __future__ import annotations

from collections.abc import Iterable

from topokit._errors import TopokitError
from topokit.graph import LayerGraph
from topokit.metrics._facts import GraphFacts
from topokit.spectrum import ramanujan_bound

__all__ = ["LAYER_METRICS", "layer_metrics"]


def _normalized_spectral_gap(facts: GraphFacts) -> float:
    return 1.0 - facts.normalized_second if facts.connected else 0.0


_METRICS = {
    "n_in": lambda f: f.n_in,
    "n_out": lambda f: f.n_out,
    "n_edges": lambda f: f.n_edges,
    "density": lambda f: f.n_edges / (f.n_in * f.n_out),
    "fan_in_min": lambda f: int(f.fan_in.min()),
    "fan_in_mean": lambda f: f.n_edges / f.n_out,
    "fan_in_max": lambda f: int(f.fan_in.max()),
    "fan_out_min": lambda f: int(f.fan_out.min()),
    "fan_out_mean": lambda f: f.n_edges / f.n_in,
    "fan_out_max": lambda f: int(f.fan_out.max()),
    "n_components": lambda f: f.n_components,
    "isolated_inputs": lambda f: int((f.fan_out == 0).sum()),
    "isolated_outputs": lambda f: int((f.fan_in == 0).sum()),
    "lambda1": lambda f: f.singular_values[0],
    "lambda2": lambda f: f.singular_values[1],
    "spectral_gap": lambda f: f.singular_values[0] - f.singular_values[1],
    "normalized_spectral_gap": _normalized_spectral_gap,
    "ramanujan_bound": lambda f: ramanujan_bound(f.n_in, f.n_out, f.n_edges),
    "ramanujan_gap": lambda f: ramanujan_bound(f.n_in, f.n_out, f.n_edges) - f.singular_values[1],
    "is_biregular": lambda f: f.is_biregular,
    "fiedler_value": lambda f: f.fiedler_value,
    "edge_expansion_lower": lambda f: f.fiedler_value / 2.0,
    "edge_expansion_upper": lambda f: f.expansion_upper,
}

LAYER_METRICS: tuple[str, ...] = tuple(_METRICS)


def _select_keys(keys, valid: tuple[str, ...], what: str) -> tuple[str, ...]:
    """The asked keys in the order of ``valid``; all of them when ``keys`` is None."""
    if keys is None:
        return valid
    if isinstance(keys, str):
        keys = [keys]
    if not isinstance(keys, Iterable):
        raise TopokitError(f"keys must be an iterable of {what} names, got {keys!r}")
    asked = list(keys)
    unknown = [key for key in asked if key not in valid]
    if unknown:
        raise TopokitError(f"unknown {what} key(s) {unknown!r}; valid keys are: {', '.join(valid)}")
    asked_set = set(asked)
    return tuple(key for key in valid if key in asked_set)


def _layer_values(facts: GraphFacts, keys: tuple[str, ...]) -> dict:
    """Values of ``keys`` (already checked) from ``facts``."""
    return {key: _METRICS[key](facts) for key in keys}


def layer_metrics(graph: LayerGraph, keys=None) -> dict:
    """Topology metrics of one layer graph, as a JSON-ready dict.

    The keys and their definitions are those of DESIGN.md (``LAYER_METRICS``, in that
    order): sizes and density, fan-in/fan-out statistics, components and isolated
    neurons, the two largest singular values of the biadjacency and the gaps built on
    them, the Ramanujan bound, biregularity, the Fiedler value and two certified
    bounds on the edge expansion. Conventions for the edge cases:

    - ``lambda2`` is 0 when the smaller side has a single neuron (one singular value);
    - ``normalized_spectral_gap``, ``fiedler_value``, ``edge_expansion_lower`` and
      ``edge_expansion_upper`` are exactly 0 when the graph is disconnected (isolated
      neurons included: the smallest component is a cut of size 0);
    - in ``ramanujan_bound`` a side whose average degree is below 1 contributes 0.

    Only what the asked keys need is computed: ``fan_in_mean`` costs O(1), degree
    keys O(E), ``lambda1``/``lambda2`` an eigensolve on the Gram matrix of the smaller
    side, the Fiedler keys one on the Laplacian (none for large biregular graphs, whose
    Laplacian spectrum follows from the singular values).

    Parameters
    ----------
    graph : LayerGraph
    keys : iterable of str, optional
        The metrics to compute (any order; a single name is accepted). All by default.

    Returns
    -------
    dict
        ``{key: value}`` in ``LAYER_METRICS`` order, values plain ``int``, ``float``
        or ``bool``.

    Raises
    ------
    TopokitError
        If ``graph`` is not a LayerGraph or a key is unknown (the message lists the
        valid keys).

    References
    ----------
    - S. Bourely, J. P. Boueri, K. Choromanski, "Sparse Neural Networks Topologies",
      arXiv:1706.05683 (2017): the accuracy of a sparse network follows the spectral gap
      and algebraic connectivity of its layer graphs rather than their density.
    - M. Fiedler, "Algebraic connectivity of graphs", *Czechoslovak Mathematical Journal* 23
      (1973): ``fiedler_value``.
    - A. W. Marcus, D. A. Spielman, N. Srivastava, "Interlacing families I: Bipartite
      Ramanujan graphs of all degrees", *Annals of Mathematics* 182 (2015):
      ``ramanujan_bound``.
    - K. Feng, W.-C. W. Li, "Spectra of hypergraphs and applications", *Journal of Number
      Theory* 60 (1996): the bipartite Alon–Boppana bound, below which ``lambda2`` of a
      large biregular graph cannot fall.
    - B. Mohar, "Isoperimetric numbers of graphs", *Journal of Combinatorial Theory,
      Series B* 47 (1989): ``edge_expansion_lower``.
    - F. R. K. Chung, *Spectral Graph Theory*, AMS (1997): ``normalized_spectral_gap``.
    - S. Hoory, N. Linial, A. Wigderson, "Expander graphs and their applications",
      *Bulletin of the AMS* 43 (2006): the expander mixing lemma and the Cheeger
      inequalities.

    Examples
    --------
    >>> import numpy as np
    >>> from topokit.graph import LayerGraph
    >>> from topokit.metrics import layer_metrics
    >>> complete = LayerGraph(np.ones((2, 3)))
    >>> m = layer_metrics(complete, keys=["lambda1", "lambda2", "fiedler_value"])
    >>> {key: round(value, 6) for key, value in m.items()}
    {'lambda1': 2.44949, 'lambda2': 0.0, 'fiedler_value': 2.0}
    """
    if not isinstance(graph, LayerGraph):
        raise TopokitError(f"graph must be a LayerGraph, got {type(graph).__name__}")
    selected = _select_keys(keys, LAYER_METRICS, "layer metric")
    return _layer_values(GraphFacts(graph.biadjacency), selected)
