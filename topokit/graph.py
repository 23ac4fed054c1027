"""LayerGraph: the bipartite graph of one sparse layer, held as a CSR biadjacency."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from topokit._errors import TopokitError
from topokit._graph_file import read_layer, write_layer

__all__ = ["LayerGraph"]


def _as_biadjacency(matrix) -> sp.csr_array:
    """Validate ``matrix`` and return it as a canonical binary CSR array (float64 ones)."""
    if sp.issparse(matrix):
        csr = sp.csr_array(matrix)
    else:
        try:
            dense = np.asarray(matrix)
        except (TypeError, ValueError) as exc:
            raise TopokitError(f"biadjacency must be a 2-D array, got {type(matrix)!r}") from exc
        if dense.dtype == object:
            raise TopokitError("biadjacency must be a numeric 2-D array, got dtype object")
        csr = sp.csr_array(dense) if dense.ndim == 2 else None
    if csr is None or csr.ndim != 2:
        raise TopokitError(f"biadjacency must be 2-D, got shape {np.shape(matrix)}")
    if min(csr.shape) < 1:
        raise TopokitError(f"biadjacency must have at least one row and column, got {csr.shape}")
    csr.sum_duplicates()
    csr.eliminate_zeros()
    if csr.nnz and not np.all(csr.data == 1):
        bad = csr.data[csr.data != 1][0]
        raise TopokitError(
            f"biadjacency must be binary (entries 0 or 1, no duplicate edges), found entry {bad}"
        )
    index_dtype = np.int32 if csr.nnz < 2**31 and max(csr.shape) < 2**31 else np.int64
    return sp.csr_array(
        (
            np.ones(csr.nnz, dtype=np.float64),
            csr.indices.astype(index_dtype, copy=False),
            csr.indptr.astype(index_dtype, copy=False),
        ),
        shape=csr.shape,
    )


class LayerGraph:
    """Bipartite graph between the ``n_in`` inputs and ``n_out`` outputs of one layer.

    Parameters
    ----------
    biadjacency : sparse matrix or array_like of shape (n_in, n_out)
        Binary biadjacency: entry (i, j) is 1 when input i feeds output j.
        Stored as a canonical CSR array with float64 ones and sorted indices.
    family : str, optional
        Name of the family that built the graph (provenance only).
    params : dict, optional
        Parameters the family was built with (provenance only).
    seed : int, optional
        Seed the graph was built with, where one was given (provenance only).

    Attributes
    ----------
    biadjacency : scipy.sparse.csr_array of shape (n_in, n_out)

    Raises
    ------
    TopokitError
        If the matrix is not 2-D, is empty, or has entries other than 0 and 1.

    Examples
    --------
    >>> import numpy as np
    >>> from topokit import LayerGraph
    >>> g = LayerGraph(np.array([[1, 0, 1], [0, 1, 1]]))
    >>> g
    LayerGraph(n_in=2, n_out=3, n_edges=4)
    >>> g.fan_in.tolist(), g.fan_out.tolist()
    ([1, 1, 2], [2, 2])
    """

    __slots__ = ("biadjacency", "family", "params", "seed")

    def __init__(self, biadjacency, *, family=None, params=None, seed=None):
        self.biadjacency = _as_biadjacency(biadjacency)
        self.family = family
        self.params = dict(params or {})
        self.seed = seed

    @classmethod
    def _trusted(cls, biadjacency: sp.csr_array, *, family=None, params=None, seed=None):
        """Wrap a CSR array a family built (canonical, binary); skips the O(E) checks."""
        graph = cls.__new__(cls)
        graph.biadjacency = biadjacency
        graph.family = family
        graph.params = dict(params or {})
        graph.seed = seed
        return graph

    @classmethod
    def from_edges(cls, inputs, outputs, n_in: int, n_out: int, **provenance) -> LayerGraph:
        """Build from parallel arrays of edge endpoints.

        Parameters
        ----------
        inputs, outputs : array_like of int, of shape (n_edges,)
            Input neuron and output neuron of each edge.
        n_in, n_out : int
            Number of input and output neurons.
        **provenance
            ``family``, ``params``, ``seed``, passed to the constructor.

        Returns
        -------
        LayerGraph

        Raises
        ------
        TopokitError
            If an endpoint is out of range or an edge repeats.

        Examples
        --------
        >>> from topokit import LayerGraph
        >>> LayerGraph.from_edges([0, 1, 1], [1, 0, 1], 2, 2).n_edges
        3
        """
        inputs = np.asarray(inputs, dtype=np.int64)
        outputs = np.asarray(outputs, dtype=np.int64)
        if inputs.shape != outputs.shape or inputs.ndim != 1:
            raise TopokitError(
                f"inputs and outputs must be 1-D of equal length, got shapes "
                f"{inputs.shape} and {outputs.shape}"
            )
        for name, ends, size in (("inputs", inputs, n_in), ("outputs", outputs, n_out)):
            if ends.size and (ends.min() < 0 or ends.max() >= size):
                raise TopokitError(
                    f"{name} must lie in [0, {size}), got values from {ends.min()} to {ends.max()}"
                )
        coo = sp.coo_array((np.ones(inputs.size), (inputs, outputs)), shape=(n_in, n_out))
        return cls(coo, **provenance)

    # ----------------------------------------------------------------- sizes
    @property
    def n_in(self) -> int:
        """Number of input neurons (rows of the biadjacency)."""
        return self.biadjacency.shape[0]

    @property
    def n_out(self) -> int:
        """Number of output neurons (columns of the biadjacency)."""
        return self.biadjacency.shape[1]

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_in, n_out)``."""
        return self.biadjacency.shape

    @property
    def n_edges(self) -> int:
        """Number of edges (stored ones)."""
        return int(self.biadjacency.nnz)

    @property
    def density(self) -> float:
        """``n_edges / (n_in * n_out)``."""
        return self.n_edges / (self.n_in * self.n_out)

    @property
    def fan_in(self) -> np.ndarray:
        """Degree of each output neuron (column sums), of shape (n_out,), int64."""
        return np.bincount(self.biadjacency.indices, minlength=self.n_out).astype(np.int64)

    @property
    def fan_out(self) -> np.ndarray:
        """Degree of each input neuron (row sums), of shape (n_in,), int64."""
        return np.diff(self.biadjacency.indptr).astype(np.int64)

    def edges(self) -> tuple[np.ndarray, np.ndarray]:
        """Edge endpoints ``(inputs, outputs)``, in row-major order.

        Returns
        -------
        inputs : numpy.ndarray of int64, of shape (n_edges,)
            Input neuron of each edge, ascending.
        outputs : numpy.ndarray of int64, of shape (n_edges,)
            Output neuron of each edge, ascending within each input.

        Examples
        --------
        >>> import numpy as np
        >>> from topokit import LayerGraph
        >>> inputs, outputs = LayerGraph(np.array([[1, 0, 1], [0, 1, 1]])).edges()
        >>> inputs.tolist(), outputs.tolist()
        ([0, 0, 1, 1], [0, 2, 1, 2])
        """
        rows = np.repeat(np.arange(self.n_in, dtype=np.int64), self.fan_out)
        return rows, self.biadjacency.indices.astype(np.int64)

    # ----------------------------------------------------------- conversions
    def to_scipy(self) -> sp.csr_array:
        """A copy of the biadjacency as a scipy CSR array.

        Returns
        -------
        scipy.sparse.csr_array of shape (n_in, n_out)
            Float64 ones at the edges, sorted indices; changing it leaves the graph as it is.

        Examples
        --------
        >>> import numpy as np
        >>> from topokit import LayerGraph
        >>> LayerGraph(np.array([[1, 0, 1], [0, 1, 1]])).to_scipy().toarray()
        array([[1., 0., 1.],
               [0., 1., 1.]])
        """
        return self.biadjacency.copy()

    def to_networkx(self):
        """The graph as a ``networkx.Graph``.

        Inputs are nodes ``0 .. n_in-1`` with ``bipartite=0``, outputs are nodes
        ``n_in .. n_in+n_out-1`` with ``bipartite=1`` (the convention of
        ``networkx.bipartite.from_biadjacency_matrix``).

        Returns
        -------
        networkx.Graph
            With ``n_in + n_out`` nodes and one edge per edge of the layer.

        Examples
        --------
        >>> import numpy as np
        >>> from topokit import LayerGraph
        >>> G = LayerGraph(np.ones((2, 3))).to_networkx()
        >>> G.number_of_nodes(), G.number_of_edges()
        (5, 6)
        """
        import networkx as nx

        graph = nx.Graph()
        graph.add_nodes_from(range(self.n_in), bipartite=0)
        graph.add_nodes_from(range(self.n_in, self.n_in + self.n_out), bipartite=1)
        rows, cols = self.edges()
        graph.add_edges_from(zip(rows.tolist(), (cols + self.n_in).tolist(), strict=True))
        return graph

    @classmethod
    def from_networkx(cls, graph, inputs=None) -> LayerGraph:
        """Build from a bipartite ``networkx`` graph.

        Parameters
        ----------
        graph : networkx.Graph
            A bipartite graph.
        inputs : sequence of nodes, optional
            The input neurons, in order. By default the nodes whose ``bipartite``
            attribute is 0, in node order; the other nodes are the outputs.

        Returns
        -------
        LayerGraph

        Raises
        ------
        TopokitError
            If the sides cannot be told apart, or an edge joins two nodes of one side.

        Examples
        --------
        >>> import networkx as nx
        >>> from topokit import LayerGraph
        >>> LayerGraph.from_networkx(nx.complete_bipartite_graph(2, 3))
        LayerGraph(n_in=2, n_out=3, n_edges=6)
        """
        nodes = list(graph.nodes)
        if inputs is None:
            sides = dict(graph.nodes(data="bipartite"))
            if any(side not in (0, 1) for side in sides.values()):
                raise TopokitError(
                    "graph nodes need a 'bipartite' attribute of 0 (input) or 1 (output), "
                    "or pass inputs=[...]"
                )
            inputs = [node for node in nodes if sides[node] == 0]
        inputs = list(inputs)
        input_set = set(inputs)
        outputs = [node for node in nodes if node not in input_set]
        if not inputs or not outputs:
            raise TopokitError(
                f"a layer graph needs inputs and outputs, got {len(inputs)} inputs and "
                f"{len(outputs)} outputs"
            )
        row = {node: i for i, node in enumerate(inputs)}
        col = {node: j for j, node in enumerate(outputs)}
        rows, cols = [], []
        for u, v in graph.edges:
            if u in row and v in col:
                rows.append(row[u])
                cols.append(col[v])
            elif v in row and u in col:
                rows.append(row[v])
                cols.append(col[u])
            else:
                raise TopokitError(f"edge ({u!r}, {v!r}) joins two nodes of the same side")
        return cls.from_edges(rows, cols, len(inputs), len(outputs))

    def to_igraph(self):
        """The graph as an ``igraph.Graph`` with a boolean ``type`` vertex attribute.

        Vertices ``0 .. n_in-1`` are the inputs (``type=False``), the rest the outputs.

        Returns
        -------
        igraph.Graph
            Undirected, with ``n_in + n_out`` vertices and one edge per edge of the layer.

        Examples
        --------
        >>> import numpy as np
        >>> from topokit import LayerGraph
        >>> g = LayerGraph(np.eye(3)).to_igraph()
        >>> g.vcount(), g.ecount(), g.is_bipartite()
        (6, 3, True)
        """
        import igraph

        rows, cols = self.edges()
        edges = np.column_stack([rows, cols + self.n_in])
        graph = igraph.Graph(n=self.n_in + self.n_out, edges=edges.tolist())
        graph.vs["type"] = [False] * self.n_in + [True] * self.n_out
        return graph

    @classmethod
    def from_igraph(cls, graph) -> LayerGraph:
        """Build from a bipartite ``igraph.Graph`` whose ``type`` attribute marks outputs.

        Parameters
        ----------
        graph : igraph.Graph
            A bipartite graph with a boolean vertex attribute ``type``: the vertices with
            ``type`` False are the inputs, those with True the outputs, each side in
            vertex order (the layout :meth:`to_igraph` writes).

        Returns
        -------
        LayerGraph

        Raises
        ------
        TopokitError
            If the graph has no ``type`` vertex attribute, an edge joins two vertices of
            the same side, or a side is empty.

        Examples
        --------
        >>> import numpy as np
        >>> from topokit import LayerGraph
        >>> g = LayerGraph(np.eye(3))
        >>> LayerGraph.from_igraph(g.to_igraph()) == g
        True
        """
        if "type" not in graph.vs.attributes():
            raise TopokitError(
                "igraph graph needs a boolean vertex attribute 'type' (outputs True)"
            )
        types = np.asarray(graph.vs["type"], dtype=bool)
        position = np.empty(types.size, dtype=np.int64)
        position[~types] = np.arange((~types).sum())
        position[types] = np.arange(types.sum())
        edges = np.asarray(graph.get_edgelist(), dtype=np.int64).reshape(-1, 2)
        u, v = edges[:, 0], edges[:, 1]
        if np.any(types[u] == types[v]):
            raise TopokitError("igraph graph has an edge inside one side; it is not bipartite")
        ins = np.where(types[u], v, u)
        outs = np.where(types[u], u, v)
        return cls.from_edges(position[ins], position[outs], int((~types).sum()), int(types.sum()))

    # ------------------------------------------------------------ protocol
    def save(self, path) -> None:
        """Write the graph to a ``.npz`` that ``scipy.sparse.load_npz`` reads.

        The file also records the provenance (family, parameters, seed). Same as
        :func:`topokit.save_layer`.

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
        >>> import tempfile, pathlib, numpy as np
        >>> from topokit import LayerGraph
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "layer.npz"
        >>> g = LayerGraph(np.eye(3), family="identity")
        >>> g.save(path)
        >>> LayerGraph.load(path)
        LayerGraph(n_in=3, n_out=3, n_edges=3, family='identity')
        """
        write_layer(self, path)

    @classmethod
    def load(cls, path) -> LayerGraph:
        """Read a graph written by :meth:`save` (or any ``scipy.sparse.save_npz`` file).

        Same as :func:`topokit.load_layer`.

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
        >>> from topokit import LayerGraph
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "eye.npz"
        >>> sp.save_npz(path, sp.csr_array(np.eye(3)))
        >>> LayerGraph.load(path)
        LayerGraph(n_in=3, n_out=3, n_edges=3)
        """
        matrix, provenance = read_layer(path)
        return cls(matrix, **provenance)

    def __eq__(self, other):
        if not isinstance(other, LayerGraph):
            return NotImplemented
        if self.shape != other.shape or self.n_edges != other.n_edges:
            return False
        return bool(
            np.array_equal(self.biadjacency.indptr, other.biadjacency.indptr)
            and np.array_equal(self.biadjacency.indices, other.biadjacency.indices)
        )

    __hash__ = None

    def __repr__(self):
        family = f", family={self.family!r}" if self.family else ""
        return f"LayerGraph(n_in={self.n_in}, n_out={self.n_out}, n_edges={self.n_edges}{family})"
