"""Topology: the ordered layer graphs of a whole network."""

from __future__ import annotations

from collections.abc import Sequence

from topokit._errors import TopokitError
from topokit._graph_file import read_topology, write_topology
from topokit._validation import check_int, make_rng
from topokit.allocation import check_allocation, layer_densities
from topokit.generators import check_feasible, get_family, layer_graph
from topokit.graph import LayerGraph

__all__ = ["Topology"]


def _per_layer(name: str, value, n_layers: int, *, dense_output: bool = False) -> list:
    """Broadcast a scalar (or None) to ``n_layers`` layers, or check a per-layer list's length.

    With ``dense_output`` the layers counted are the sparse ones, before the dense output
    layer, and the message says so.
    """
    if isinstance(value, str) or not isinstance(value, Sequence):
        return [value] * n_layers
    if len(value) != n_layers:
        which = (
            f"one per sparse layer ({n_layers}: dense_output=True makes the output layer dense)"
            if dense_output
            else f"one per layer ({n_layers})"
        )
        raise TopokitError(
            f"{name} must be one value or {which}, got {len(value)} values: {list(value)!r}"
        )
    return list(value)


def _allocate(allocation, sizes, family_names, records, densities, degrees) -> list:
    """Each layer's density once ``allocation`` has spread the global density.

    The layers taking part are those whose family takes an edge count (a ``dense`` layer,
    or one whose sizes fix its edges, keeps them and is outside the budget), as ``density``
    means the density of each sparse layer under ``uniform``.
    """
    if allocation == "uniform":
        return densities
    taking = [k for k, record in enumerate(records) if record.edge_count == "given"]
    if not taking:
        raise TopokitError(
            f"allocation={allocation!r} spreads a density over the layers whose family takes "
            f"an edge count, and no layer's does (families: {', '.join(family_names)})"
        )
    given_degrees = [degrees[k] for k in taking if degrees[k] is not None]
    if given_degrees:
        raise TopokitError(
            f"allocation={allocation!r} spreads one global density over the layers: give "
            f"density, not degree (got degree={given_degrees[0]!r})"
        )
    values = list(dict.fromkeys(densities[k] for k in taking))
    if values == [None]:
        raise TopokitError(f"allocation={allocation!r} needs a density, got none")
    if len(values) > 1:
        raise TopokitError(
            f"allocation={allocation!r} spreads one global density over the layers, so density "
            f"must be one value, got {[densities[k] for k in taking]!r}"
        )
    shapes = [(sizes[k], sizes[k + 1]) for k in taking]
    spread = layer_densities(shapes, values[0], allocation)
    densities = list(densities)
    for k, value in zip(taking, spread, strict=True):
        densities[k] = value
    return densities


def _plan(
    sizes, family, density, degree, dense_output, default_density, params, allocation="uniform"
) -> list[dict]:
    """The arguments of :func:`~topokit.layer_graph` for each layer of :meth:`Topology.build`.

    Checks what concerns the whole network (the sizes, the per-layer lists, parameters no
    layer takes, the allocation); each layer's own arguments are checked by its family.
    """
    allocation = check_allocation(allocation)
    if isinstance(sizes, str) or not isinstance(sizes, Sequence) or len(sizes) < 2:
        raise TopokitError(f"sizes must list at least two layer sizes, got {sizes!r}")
    sizes = [check_int(f"sizes[{k}]", n, minimum=1) for k, n in enumerate(sizes)]
    n_sparse = len(sizes) - 1 - bool(dense_output)
    family_names = _per_layer("family", family, n_sparse, dense_output=dense_output)
    densities = _per_layer("density", density, n_sparse, dense_output=dense_output)
    degrees = _per_layer("degree", degree, n_sparse, dense_output=dense_output)
    records = [get_family(name) for name in family_names]
    if default_density is not None:
        for k, record in enumerate(records):
            if record.edge_count == "given" and densities[k] is None and degrees[k] is None:
                densities[k] = default_density
    if dense_output:
        family_names.append("dense")
        densities.append(None)
        degrees.append(None)
        records.append(get_family("dense"))
    densities = _allocate(allocation, sizes, family_names, records, densities, degrees)
    accepted = {param.name for record in records for param in record.params}
    unknown = sorted(set(params) - accepted)
    if unknown:
        names = list(dict.fromkeys(family_names))
        raise TopokitError(
            f"unknown parameter {unknown[0]!r} for family {names[0]!r}; no layer's family "
            f"takes it (families: {', '.join(names)}; their parameters: "
            f"{', '.join(sorted(accepted)) or 'none'})"
        )
    layers = []
    for k, (name, record) in enumerate(zip(family_names, records, strict=True)):
        own = {param.name for param in record.params}
        layer_params = {key: value for key, value in params.items() if key in own}
        if "layer" in own and "layer" not in layer_params:
            layer_params["layer"] = k
        layers.append(
            {
                "family": name,
                "n_in": sizes[k],
                "n_out": sizes[k + 1],
                "density": densities[k],
                "degree": degrees[k],
                **layer_params,
            }
        )
    return layers


def _where(k: int, arguments: dict) -> str:
    """How an error names layer ``k`` of a plan: ``layer 0 (64 -> 32)``."""
    return f"layer {k} ({arguments['n_in']} -> {arguments['n_out']})"


def _layer_error(k: int, arguments: dict, exc: TopokitError, allocation, density):
    """The error of layer ``k``, saying where its density came from when an allocation
    other than uniform set it."""
    message = f"{_where(k, arguments)}: {exc}"
    if allocation != "uniform" and arguments["density"] is not None:
        message += (
            f" (allocation={allocation!r} gave this layer density "
            f"{arguments['density']:.6g} from the global density={density!r})"
        )
    return TopokitError(message)


class Topology:
    """The bipartite layer graphs of a network with sizes ``[n_0, ..., n_L]``.

    Layer ``k`` maps ``n_k`` neurons to ``n_{k+1}``.

    Parameters
    ----------
    layers : sequence of LayerGraph
        At least one; the outputs of each layer are the inputs of the next.

    Raises
    ------
    TopokitError
        If there are no layers or consecutive sizes disagree.

    Examples
    --------
    >>> from topokit import Topology
    >>> top = Topology.build([64, 32, 10], "erdos_renyi", density=0.25, rng=0)
    >>> top
    Topology(sizes=[64, 32, 10], n_edges=592)
    >>> [layer.n_edges for layer in top]
    [512, 80]
    """

    __slots__ = ("layers",)

    def __init__(self, layers: Sequence[LayerGraph]):
        layers = list(layers)
        if not layers:
            raise TopokitError("a topology needs at least one layer, got none")
        for k, layer in enumerate(layers):
            if not isinstance(layer, LayerGraph):
                raise TopokitError(f"layer {k} must be a LayerGraph, got {type(layer).__name__}")
        for k in range(len(layers) - 1):
            if layers[k].n_out != layers[k + 1].n_in:
                raise TopokitError(
                    f"layer {k} has n_out={layers[k].n_out} but layer {k + 1} has "
                    f"n_in={layers[k + 1].n_in}; consecutive sizes must agree"
                )
        self.layers = layers

    @classmethod
    def build(
        cls,
        sizes,
        family,
        *,
        density=None,
        degree=None,
        dense_output=False,
        default_density=None,
        allocation="uniform",
        rng=None,
        **params,
    ) -> Topology:
        """Build every layer of a network from a family (or one family per layer).

        Parameters
        ----------
        sizes : sequence of int
            ``[n_0, ..., n_L]``, at least two sizes.
        family : str or sequence of str
            One family for all layers, or one per layer.
        density, degree : scalar or sequence, optional
            Edge count for all layers, or one value (or None) per layer.
        dense_output : bool, default False
            Make the last layer (into the outputs) complete; ``family``, ``density`` and
            ``degree`` then describe the layers before it (one value, or one per sparse
            layer).
        default_density : float, optional
            The density of a layer whose family needs an edge count and that is given
            neither a density nor a degree (without it, such a layer raises).
            :class:`~topokit.nn.SparseMLPClassifier` and ``topokit train`` use 0.1.
        allocation : {"uniform", "erk"}, default "uniform"
            How a global density is spread over the layers whose family takes an edge
            count (:func:`~topokit.allocation.layer_densities`): ``uniform`` builds each
            at ``density``; ``erk`` makes the density of layer ``k`` proportional to
            ``(n_in + n_out) / (n_in * n_out)``, capped at 1, with the same total edge
            count (to one edge). Dense layers (``dense_output``, the ``dense`` family)
            and families whose sizes fix their edges stay outside the budget. ``erk``
            takes one density (a number, or the same value for every such layer), not
            a degree.
        rng : None, int or numpy.random.Generator, optional
            Made into one Generator that builds the layers in order.
        **params
            Family parameters, given to every layer whose family takes them (with
            ``family=["small_world", "dense"]``, ``p=0.1`` goes to the small-world
            layer). ``layer`` is set to the layer's index for families that take it,
            such as ``radix``.

        Returns
        -------
        Topology

        Raises
        ------
        TopokitError
            For bad sizes or per-layer lists of the wrong length, an unknown allocation
            or one without a single density, and anything the families raise (the
            message says which layer).

        Examples
        --------
        >>> from topokit import Topology
        >>> top = Topology.build([20, 10, 10, 2], ["erdos_renyi", "erdos_renyi", "dense"],
        ...                      density=[0.5, 0.5, None], rng=1)
        >>> top.n_edges
        170
        >>> top = Topology.build([64, 32, 10], "erdos_renyi", dense_output=True,
        ...                      default_density=0.1, rng=0)
        >>> [(layer.family, layer.n_edges) for layer in top]
        [('erdos_renyi', 205), ('dense', 320)]
        >>> top = Topology.build([784, 300, 100, 10], "erdos_renyi", density=0.05,
        ...                      dense_output=True, allocation="erk", rng=0)
        >>> [layer.n_edges for layer in top], round(0.05 * (784 * 300 + 300 * 100))
        ([9686, 3574, 1000], 13260)
        """
        plan = _plan(
            sizes, family, density, degree, dense_output, default_density, params, allocation
        )
        generator = make_rng(rng)
        layers = []
        for k, arguments in enumerate(plan):
            try:
                graph = layer_graph(rng=generator, **arguments)
            except TopokitError as exc:
                raise _layer_error(k, arguments, exc, allocation, density) from exc
            if rng is not None and not hasattr(rng, "bit_generator"):
                graph.seed = rng
            layers.append(graph)
        return cls(layers)

    @classmethod
    def check_feasible(
        cls,
        sizes,
        family,
        *,
        density=None,
        degree=None,
        dense_output=False,
        default_density=None,
        allocation="uniform",
        **params,
    ) -> None:
        """Check that :meth:`build` can build this network, without building it.

        Runs the checks of :meth:`build` and, for each layer, of its family
        (:func:`~topokit.check_feasible`), at a cost that does not grow with the layers.
        Studies run it on every combination of their grid before the first run.

        Parameters
        ----------
        sizes : sequence of int
            ``[n_0, ..., n_L]``, at least two sizes.
        family : str or sequence of str
            One family for all layers, or one per layer.
        density, degree : scalar or sequence, optional
            As in :meth:`build`.
        dense_output : bool, default False
            As in :meth:`build`.
        default_density : float, optional
            As in :meth:`build`.
        allocation : {"uniform", "erk"}, default "uniform"
            As in :meth:`build`.
        **params
            Family parameters, as in :meth:`build`.

        Returns
        -------
        None
            When every layer can be built.

        Raises
        ------
        TopokitError
            The error :meth:`build` raises for the same arguments (the first layer that
            cannot be built, named as :meth:`build` names it), except where only
            building can tell (see :func:`~topokit.check_feasible`).

        Examples
        --------
        >>> from topokit import Topology
        >>> Topology.check_feasible([64, 64, 10], "projective_plane", dense_output=True, q=2)
        Traceback (most recent call last):
            ...
        topokit._errors.TopokitError: layer 0 (64 -> 64): n_in must be 7 (q²+q+1 for q=2), got 64
        >>> Topology.check_feasible([57, 57, 10], "projective_plane", dense_output=True)
        """
        plan = _plan(
            sizes, family, density, degree, dense_output, default_density, params, allocation
        )
        for k, arguments in enumerate(plan):
            try:
                check_feasible(**arguments)
            except TopokitError as exc:
                raise _layer_error(k, arguments, exc, allocation, density) from exc

    @property
    def sizes(self) -> list[int]:
        """``[n_0, ..., n_L]``."""
        return [self.layers[0].n_in] + [layer.n_out for layer in self.layers]

    @property
    def n_edges(self) -> int:
        """Total number of edges over all layers."""
        return sum(layer.n_edges for layer in self.layers)

    @property
    def density(self) -> float:
        """Edges over the edges of the dense network of the same sizes."""
        return self.n_edges / sum(a.n_in * a.n_out for a in self.layers)

    def save(self, path) -> None:
        """Write the network to a ``.npz`` file, with each layer's provenance.

        Same as :func:`topokit.save_topology`.

        Parameters
        ----------
        path : str or os.PathLike
            Destination; must end in ``.npz``.

        Raises
        ------
        TopokitError
            If ``path`` does not end in ``.npz``.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from topokit import Topology
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "net.npz"
        >>> top = Topology.build([4, 3, 2], "dense")
        >>> top.save(path)
        >>> Topology.load(path) == top
        True
        """
        write_topology(self, path)

    @classmethod
    def load(cls, path) -> Topology:
        """Read a network written by :meth:`save`.

        A layer file (:meth:`LayerGraph.save <topokit.LayerGraph.save>`) is read as a
        one-layer topology. Same as :func:`topokit.load_topology`.

        Parameters
        ----------
        path : str or os.PathLike
            A topology file, or a layer file.

        Returns
        -------
        Topology
            With the family, parameters and seed each layer's entry records.

        Raises
        ------
        TopokitError
            If the file is missing, not an ``.npz``, lacks a layer, or a layer is not a
            valid binary biadjacency.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from topokit import Topology
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "net.npz"
        >>> Topology.build([6, 4, 2], "erdos_renyi", density=0.5, rng=0).save(path)
        >>> top = Topology.load(path)
        >>> top.sizes, [layer.family for layer in top]
        ([6, 4, 2], ['erdos_renyi', 'erdos_renyi'])
        """
        return cls([LayerGraph(matrix, **provenance) for matrix, provenance in read_topology(path)])

    def __len__(self):
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)

    def __getitem__(self, k):
        return self.layers[k]

    def __eq__(self, other):
        if not isinstance(other, Topology):
            return NotImplemented
        return len(self) == len(other) and all(
            a == b for a, b in zip(self.layers, other.layers, strict=True)
        )

    __hash__ = None

    def __repr__(self):
        return f"Topology(sizes={self.sizes}, n_edges={self.n_edges})"
