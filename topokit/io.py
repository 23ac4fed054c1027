"""Reading and writing layer graphs and topologies as ``.npz`` files.

A layer file is exactly what ``scipy.sparse.save_npz`` writes for the CSR
biadjacency (so ``scipy.sparse.load_npz`` reads it), plus optional keys
``topokit_family``, ``topokit_params`` (JSON) and ``topokit_seed``. Any
``scipy.sparse.save_npz`` file reads as a layer: its graph is the matrix's nonzero
pattern, whatever the format (CSR, CSC, COO, DIA, BSR) and dtype. Duplicate entries
are summed first; an explicitly stored zero is not an edge, a NaN is.

A topology file holds ``topokit_sizes`` and, for each layer ``k``, the CSR arrays
``layer{k}_indices`` and ``layer{k}_indptr``, plus the same provenance keys per layer.

The same files are what :meth:`LayerGraph.save <topokit.LayerGraph.save>` and
:meth:`Topology.save <topokit.Topology.save>` write and their ``load`` methods read;
:func:`load` tells the two kinds apart. A model file written by
:meth:`SparseMLP.save <topokit.nn.SparseMLP.save>` holds a topology file's arrays
beside its weights, so it reads as the model's topology (its fixed patterns).
"""

from __future__ import annotations

from topokit._graph_file import is_topology_file, write_layer, write_topology
from topokit.graph import LayerGraph
from topokit.topology import Topology

__all__ = ["load", "load_layer", "load_topology", "save_layer", "save_topology"]


def save_layer(graph: LayerGraph, path) -> None:
    """Write one layer graph to ``path`` (``.npz``).

    A file already at ``path`` is replaced whole, once the new one is written: an
    interrupted save leaves it as it was.

    Parameters
    ----------
    graph : LayerGraph
        The layer to write, with its provenance (family, parameters, seed).
    path : str or os.PathLike
        Destination; must end in ``.npz``.

    Raises
    ------
    TopokitError
        If ``path`` does not end in ``.npz``.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, scipy.sparse as sp
    >>> from topokit import LayerGraph, save_layer
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "layer.npz"
    >>> save_layer(LayerGraph(np.eye(3)), path)
    >>> sp.load_npz(path).shape
    (3, 3)
    """
    write_layer(graph, path)


def save_topology(topology: Topology, path) -> None:
    """Write a :class:`~topokit.Topology` to ``path`` (``.npz``).

    A file already at ``path`` is replaced whole, once the new one is written: an
    interrupted save leaves it as it was.

    Parameters
    ----------
    topology : Topology
        The network to write, with each layer's provenance.
    path : str or os.PathLike
        Destination; must end in ``.npz``.

    Raises
    ------
    TopokitError
        If ``path`` does not end in ``.npz``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from topokit import Topology, load_topology, save_topology
    >>> top = Topology.build([4, 3, 2], "dense")
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "net.npz"
    >>> save_topology(top, path)
    >>> load_topology(path).sizes
    [4, 3, 2]
    """
    write_topology(topology, path)


def load_layer(path) -> LayerGraph:
    """Read one layer graph from a ``.npz`` written by :func:`save_layer` or ``save_npz``.

    A ``scipy.sparse.save_npz`` file of any format and dtype gives the nonzero pattern of
    its matrix: an explicitly stored zero is not an edge.

    Parameters
    ----------
    path : str or os.PathLike
        A layer file.

    Returns
    -------
    LayerGraph
        With the family, parameters and seed the file records.

    Raises
    ------
    TopokitError
        If the file is missing, not an ``.npz``, holds a whole topology, or is not a
        valid sparse matrix.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, scipy.sparse as sp
    >>> from topokit import load_layer
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "eye.npz"
    >>> sp.save_npz(path, sp.csr_array(np.eye(3)))
    >>> load_layer(path)
    LayerGraph(n_in=3, n_out=3, n_edges=3)
    >>> weights = sp.coo_array(([0.5, -2.0, 0.0], ([0, 1, 2], [1, 2, 0])), shape=(3, 3))
    >>> sp.save_npz(path, weights)  # weighted COO with a stored zero: two edges
    >>> load_layer(path).biadjacency.toarray()
    array([[0., 1., 0.],
           [0., 0., 1.],
           [0., 0., 0.]])
    """
    return LayerGraph.load(path)


def load_topology(path) -> Topology:
    """Read a :class:`~topokit.Topology` written by :func:`save_topology`.

    A single-layer file is read as a one-layer topology.

    Parameters
    ----------
    path : str or os.PathLike
        A topology file, or a layer file.

    Returns
    -------
    Topology

    Raises
    ------
    TopokitError
        If the file is missing, not an ``.npz``, lacks a layer, or a layer is not a
        valid sparse matrix.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> from topokit import LayerGraph, load_topology, save_layer
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "layer.npz"
    >>> save_layer(LayerGraph(np.ones((4, 2))), path)
    >>> load_topology(path)
    Topology(sizes=[4, 2], n_edges=8)
    """
    return Topology.load(path)


def load(path) -> LayerGraph | Topology:
    """Read a ``.npz`` file as a LayerGraph (one layer) or a Topology (several).

    Parameters
    ----------
    path : str or os.PathLike
        A file written by :func:`save_layer`, :func:`save_topology`,
        ``scipy.sparse.save_npz`` (its nonzero pattern) or
        :meth:`SparseMLP.save <topokit.nn.SparseMLP.save>` (the model's topology).

    Returns
    -------
    LayerGraph or Topology
        A Topology for a topology file, else a LayerGraph.

    Raises
    ------
    TopokitError
        As :func:`load_layer` and :func:`load_topology`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from topokit import Topology, load, save_layer, save_topology
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> top = Topology.build([4, 3, 2], "dense")
    >>> save_topology(top, folder / "net.npz")
    >>> save_layer(top[0], folder / "layer.npz")
    >>> load(folder / "net.npz"), load(folder / "layer.npz")
    (Topology(sizes=[4, 3, 2], n_edges=18), LayerGraph(n_in=4, n_out=3, n_edges=12, family='dense'))
    """
    return load_topology(path) if is_topology_file(path) else load_layer(path)
