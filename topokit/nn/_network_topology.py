"""The Topology of a classifier network: sparse layers of a family, optionally a dense output layer.

Shared by :class:`~topokit.nn.classifier.SparseMLPClassifier` and ``topokit train`` so
both read ``family``/``density``/``degree`` the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from topokit._errors import TopokitError
from topokit.generators import get_family, layer_graph
from topokit.nn._classifier_params import DEFAULT_DENSITY
from topokit.topology import Topology

__all__ = ["build_network_topology"]


def _per_layer(name, value, n_sparse, dense_output):
    if isinstance(value, str) or not isinstance(value, Sequence):
        return [value] * n_sparse
    if len(value) != n_sparse:
        which = (
            f"one per sparse layer ({n_sparse}: dense_output=True makes the output layer dense)"
            if dense_output
            else f"one per layer ({n_sparse})"
        )
        raise TopokitError(
            f"{name} must be one value or {which}, got {len(value)} values: {list(value)!r}"
        )
    return list(value)


def build_network_topology(
    sizes,
    family="erdos_renyi",
    *,
    density=None,
    degree=None,
    family_params=None,
    dense_output=False,
    rng=None,
) -> Topology:
    """Build a network's layers: ``family`` on the sparse layers, the output layer dense on request.

    A sparse layer whose family needs an edge count and that is given neither a density
    nor a degree gets density :data:`DEFAULT_DENSITY` (0.1).

    Parameters
    ----------
    sizes : sequence of int
        ``[n_features, *hidden, n_classes]``.
    family : str or sequence of str
        One family for every sparse layer, or one per sparse layer.
    density, degree : scalar or sequence, optional
        One value for every sparse layer, or one (or None) per sparse layer.
    family_params : dict, optional
        Family parameters given to every sparse layer.
    dense_output : bool, default False
        Make the last layer (into the classes) complete; ``family``, ``density`` and
        ``degree`` then describe the other layers only.
    rng : numpy.random.Generator, int or None

    Returns
    -------
    Topology

    Raises
    ------
    TopokitError
        For lists of the wrong length, or anything a family raises (the message names
        the layer).

    Examples
    --------
    >>> from topokit.nn._network_topology import build_network_topology
    >>> top = build_network_topology([64, 32, 10], dense_output=True, rng=0)
    >>> [(layer.family, layer.n_edges) for layer in top]
    [('erdos_renyi', 205), ('dense', 320)]
    """
    n_layers = len(sizes) - 1
    n_sparse = n_layers - 1 if dense_output else n_layers
    families = _per_layer("family", family, n_sparse, dense_output)
    densities = _per_layer("density", density, n_sparse, dense_output)
    degrees = _per_layer("degree", degree, n_sparse, dense_output)
    for k, name in enumerate(families):
        needs_count = get_family(name).edge_count == "given"
        if needs_count and densities[k] is None and degrees[k] is None:
            densities[k] = DEFAULT_DENSITY
    layers = []
    if n_sparse:
        sparse = Topology.build(
            list(sizes[: n_sparse + 1]),
            families,
            density=densities,
            degree=degrees,
            rng=rng,
            **(family_params or {}),
        )
        layers += sparse.layers
    if dense_output:
        layers.append(layer_graph("dense", sizes[-2], sizes[-1]))
    return Topology(layers)
