"""Measure a topology someone else made: the nonzero pattern of weight matrices.

A trained or pruned network's connections are the nonzero entries of its weight
matrices. :func:`topology_from_weights` turns a list of matrices into a
:class:`~topokit.Topology`; :func:`read_weights` does the same for a file: an ``.npz``
of matrices or a PyTorch state dict (``.pt``/``.pth``). Neither needs torch, except to
read a ``.pt`` file.

Two layouts say which way round a matrix is stored: ``"in_out"`` is topokit's
(n_in, n_out), ``X @ W``; ``"out_in"`` is PyTorch's ``nn.Linear.weight``,
(out_features, in_features), ``X @ W.T``. ``"auto"`` picks the one in which
consecutive shapes chain.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping

import numpy as np
import scipy.sparse as sp

from topokit._atomic import replacing
from topokit._errors import TopokitError
from topokit._graph_file import (
    SPARSE_INDEX_PARTS,
    open_npz,
    read_sparse_matrix,
    read_sparse_pattern,
)
from topokit.interop._patterns import (
    LAYOUTS,
    as_matrix,
    build_topology,
    check_layout,
    infer_layout,
)
from topokit.interop._state_dict import load_state_dict, topology_from_state_dict

__all__ = [
    "LAYOUTS",
    "is_weights_npz",
    "read_weight_matrices",
    "read_weights",
    "save_weights",
    "topology_from_weights",
]

_TORCH_SUFFIXES = (".pt", ".pth")
_SPARSE_PARTS = (
    "format",
    "shape",
    "data",
    *dict.fromkeys(part for parts in SPARSE_INDEX_PARTS.values() for part in parts),
)


def _named(matrices) -> dict:
    """``matrices`` (a sequence or a mapping) as an ordered dict name -> matrix."""
    if isinstance(matrices, Mapping):
        return {f"matrix {str(key)!r}": value for key, value in matrices.items()}
    if isinstance(matrices, (str, bytes)) or len(getattr(matrices, "shape", ())) == 2:
        raise TopokitError(
            f"matrices must be a list of 2-D weight matrices, got a single "
            f"{type(matrices).__name__}; wrap it in a list: [matrix]"
        )
    try:
        items = list(matrices)
    except TypeError:
        raise TopokitError(
            f"matrices must be a list of 2-D weight matrices, got {type(matrices).__name__}"
        ) from None
    return {f"matrix {k}": value for k, value in enumerate(items)}


def topology_from_weights(matrices, *, layout="auto"):
    """The Topology whose edges are the nonzero entries of weight matrices.

    Parameters
    ----------
    matrices : sequence or mapping of 2-D arrays
        One weight matrix per layer, in order: numpy arrays, scipy.sparse matrices or
        arrays (explicit zeros stored in a sparse matrix are not edges), or torch
        tensors. A mapping's keys name the matrices in error messages.
    layout : {"auto", "in_out", "out_in"}, default "auto"
        ``"in_out"``: each matrix has shape (n_in, n_out), as topokit's biadjacency
        (``X @ W``). ``"out_in"``: shape (out_features, in_features), as PyTorch's
        ``nn.Linear.weight`` (``X @ W.T``). ``"auto"``: the one in which each matrix
        takes the previous one's outputs.

    Returns
    -------
    Topology
        Layer k has an edge (i, j) when matrix k's entry for input i and output j is
        nonzero (NaN counts as nonzero).

    Raises
    ------
    TopokitError
        If there are no matrices, one is not 2-D, ``layout`` is unknown, the shapes do
        not chain in the given layout, or ``layout="auto"`` finds them chaining both
        ways round (for example all square, or a single matrix) or neither.

    Notes
    -----
    A sparse matrix costs time and memory in its number of stored entries; it is never
    densified. A dense one costs what scanning it does.

    Examples
    --------
    >>> import numpy as np
    >>> from topokit.interop.weights import topology_from_weights
    >>> W1 = np.array([[0.5, 0.0, -1.0], [0.0, 2.0, 0.0]])  # (n_in=2, n_out=3)
    >>> W2 = np.array([[1.0], [0.0], [3.0]])                 # (n_in=3, n_out=1)
    >>> top = topology_from_weights([W1, W2])
    >>> top.sizes, [layer.n_edges for layer in top]
    ([2, 3, 1], [3, 2])
    >>> topology_from_weights([W1.T, W2.T]).sizes  # PyTorch's (out, in), found by "auto"
    [2, 3, 1]
    >>> topology_from_weights([np.eye(3)])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    topokit._errors.TopokitError: layout='auto' cannot tell which way round ...
    """
    check_layout(layout)
    return build_topology(_named(matrices), layout)


# ------------------------------------------------------------------ files
def _holds_graph(keys) -> bool:
    """Whether an archive with these keys is a topokit graph file (see topokit.io)."""
    keys = set(keys)
    return "topokit_sizes" in keys or {"format", "shape"} <= keys


def is_weights_npz(path) -> bool:
    """Whether ``path`` is a readable ``.npz`` archive that is not a topokit graph file.

    Tells an ``.npz`` of weight matrices (``np.savez``, :func:`save_weights`) from a
    graph file (:func:`topokit.save_layer`, :func:`topokit.save_topology`, or
    ``scipy.sparse.save_npz``), without reading the arrays.

    Parameters
    ----------
    path : str or os.PathLike
        The file to look at.

    Returns
    -------
    bool
        True for an archive of weight matrices; False for a graph file, and also for
        a missing or unreadable file, so that the graph reader reports why.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> from topokit import LayerGraph, save_layer
    >>> from topokit.interop.weights import is_weights_npz, save_weights
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> save_weights(folder / "weights.npz", [np.ones((4, 3)), np.ones((3, 2))])
    >>> save_layer(LayerGraph(np.eye(3)), folder / "layer.npz")
    >>> is_weights_npz(folder / "weights.npz"), is_weights_npz(folder / "layer.npz")
    (True, False)
    >>> is_weights_npz(folder / "missing.npz")
    False
    """
    try:
        with np.load(os.fspath(path), allow_pickle=False) as arrays:
            return not _holds_graph(arrays.files)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, AttributeError, TypeError):
        return False


def _sparse_names(files) -> list[str]:
    """Names ``N`` of the sparse matrices stored as ``N.format``, ``N.shape``, ... .

    A matrix is stored as ``scipy.sparse.save_npz`` stores one, each key prefixed by its
    name (:func:`save_weights`); ``N.indptr`` beside ``N.indices`` and ``N.shape`` without
    ``N.format`` is a CSR matrix.
    """
    present = set(files)
    names = []
    for key in files:
        name, dot, part = key.rpartition(".")
        if not dot or f"{name}.shape" not in present or name in names:
            continue
        if part == "format" or (part == "indptr" and f"{name}.indices" in present):
            names.append(name)
    return names


def _npz_matrices(arrays, path: str, *, values: bool = False) -> dict:
    """The weight matrices of an archive, in the order they were written.

    A sparse matrix is read as its nonzero pattern, or with ``values`` as its values;
    a ``<name>weight_mask`` stands for its module, and with ``values`` holds
    ``weight_orig * weight_mask``.
    """
    files = arrays.files
    sparse = {f"{name}.{part}": name for name in _sparse_names(files) for part in _SPARSE_PARTS}
    masked = {key[: -len("_mask")] for key in files if key.endswith("weight_mask")}
    named = {}
    for key in files:
        if key in sparse:
            name = sparse[key]
            if name not in named:
                where = f"sparse matrix {name!r} in {path!r}"
                read = read_sparse_matrix if values else read_sparse_pattern
                named[name] = read(arrays, f"{name}.", where)
            continue
        if key.endswith("weight_orig") and key[: -len("_orig")] in masked:
            continue  # the mask beside it is the pattern
        array = arrays[key]
        original = key[: -len("_mask")] + "_orig"
        if values and key.endswith("weight_mask") and original in files:
            array = arrays[original] * array
        if array.ndim > 2:
            raise TopokitError(
                f"array {key!r} in {path!r} has shape {array.shape}: only 2-D weight matrices "
                f"are layer graphs (leave out convolution weights)"
            )
        if array.ndim == 2:
            named[key] = array
    if not named:
        raise TopokitError(
            f"{path!r} holds no 2-D weight matrices (1-D arrays such as biases are skipped); "
            f"its arrays are: {', '.join(map(repr, files)) or 'none'}"
        )
    return named


def read_weights(path, *, layout="auto"):
    """Read the topology of the weight matrices stored in a file.

    Parameters
    ----------
    path : str or os.PathLike
        ``.npz``: the 2-D arrays of the archive in the order they were written
        (``np.savez(path, W1, W2)`` or with names); 1-D arrays (biases) are skipped,
        and a ``<name>weight_orig`` beside a ``<name>weight_mask`` is left for the mask.
        Sparse matrices are stored as :func:`save_weights` writes them: as
        ``scipy.sparse.save_npz`` writes one (any format), each key prefixed by the
        matrix's name; their nonzero pattern is read (a stored zero is not an edge).
        ``.pt`` / ``.pth``: a PyTorch state dict (``torch.save(model.state_dict(), path)``),
        read with ``torch.load(weights_only=True)``; each module's ``weight_mask``
        (``torch.nn.utils.prune``), else ``weight_orig``, else 2-D ``weight`` is a
        layer, in state-dict order. A checkpoint dict with the state dict under
        ``state_dict``, ``model_state_dict`` or ``model`` is read from there.
    layout : {"auto", "in_out", "out_in"}, default "auto"
        How the matrices are stored, as in :func:`topology_from_weights`. A state dict
        is always ``"out_in"`` (PyTorch's (out_features, in_features)); ``"auto"``
        means that there.

    Returns
    -------
    Topology

    Raises
    ------
    TopokitError
        If the file is missing or unreadable, has another suffix, is a topokit graph
        file (read it with :func:`topokit.load`), holds no 2-D matrices or a weight of
        more than two dimensions (a convolution), if the shapes do not chain, if a
        ``.pt`` file is read without torch installed, or holds a pickled model rather
        than a state dict.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> from topokit.interop.weights import read_weights
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "weights.npz"
    >>> rng = np.random.default_rng(0)
    >>> W1 = rng.normal(size=(8, 6)) * (rng.random((8, 6)) < 0.5)   # (n_in, n_out)
    >>> W2 = rng.normal(size=(6, 4))
    >>> np.savez(path, W1, W2, np.zeros(4))                            # a bias is skipped
    >>> top = read_weights(path)
    >>> top.sizes, top[0].n_edges == int(np.count_nonzero(W1))
    ([8, 6, 4], True)
    """
    check_layout(layout)
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix in _TORCH_SUFFIXES:
        if layout == "in_out":
            raise TopokitError(
                f"layout must be 'out_in' or 'auto' for the PyTorch state dict {path!r} "
                f"(nn.Linear.weight has shape (out_features, in_features)), got 'in_out'"
            )
        return topology_from_state_dict(load_state_dict(path))
    if suffix != ".npz":
        raise TopokitError(f"weights files must end in .npz, .pt or .pth, got {path!r}")
    with open_npz(
        path,
        what="weights file",
        single_array="holds a single array; an .npz of weight matrices holds one per layer "
        "(np.savez(path, W1, W2, ...))",
    ) as arrays:
        if _holds_graph(arrays.files):
            raise TopokitError(
                f"{path!r} is a topokit graph file, not weight matrices; read it with topokit.load"
            )
        named = _npz_matrices(arrays, path)
        return build_topology(named, layout)


def read_weight_matrices(path, *, layout="auto") -> list:
    """Read the weight matrices of an ``.npz`` weights file, with their values.

    The same matrices, in the same order and orientation, as the layers of
    :func:`read_weights`: for measuring the weights themselves
    (:func:`topokit.metrics.weighted_metrics`) beside the topology of their nonzeros.

    Parameters
    ----------
    path : str or os.PathLike
        An ``.npz`` of weight matrices, as :func:`read_weights` takes it (a
        ``weight_orig`` beside a ``weight_mask`` gives their product).
    layout : {"auto", "in_out", "out_in"}, default "auto"
        How the matrices are stored, as in :func:`read_weights`.

    Returns
    -------
    list of scipy.sparse.csr_array
        One per layer, of shape (n_in, n_out), float64, duplicates summed; a dense
        matrix keeps its nonzero entries.

    Raises
    ------
    TopokitError
        As :func:`read_weights` for an ``.npz``; also for a file of another suffix
        (a PyTorch state dict's values are not read here).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> from topokit.interop.weights import read_weight_matrices
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "weights.npz"
    >>> W1 = np.array([[0.5, 0.0, -2.0], [0.0, 1.0, 0.0]])          # (n_in, n_out) = (2, 3)
    >>> np.savez(path, W1, np.ones((3, 4)))
    >>> first, second = read_weight_matrices(path)
    >>> first.toarray().tolist(), second.shape
    ([[0.5, 0.0, -2.0], [0.0, 1.0, 0.0]], (3, 4))
    """
    check_layout(layout)
    path = os.fspath(path)
    if os.path.splitext(path)[1].lower() != ".npz":
        raise TopokitError(f"weight values are read from .npz weights files, got {path!r}")
    with open_npz(
        path,
        what="weights file",
        single_array="holds a single array; an .npz of weight matrices holds one per layer "
        "(np.savez(path, W1, W2, ...))",
    ) as arrays:
        if _holds_graph(arrays.files):
            raise TopokitError(
                f"{path!r} is a topokit graph file, not weight matrices; read it with topokit.load"
            )
        named = _npz_matrices(arrays, path, values=True)
    names = list(named)
    matrices = [as_matrix(named[name], name) for name in names]
    layout = infer_layout(names, [matrix.shape for matrix in matrices], layout)
    out = []
    for matrix in matrices:
        csr = sp.csr_array(matrix, dtype=np.float64)
        csr.eliminate_zeros()
        out.append(csr.T.tocsr() if layout == "out_in" else csr)
    return out


def save_weights(path, matrices) -> None:
    """Write weight matrices to an ``.npz`` that :func:`read_weights` reads back in order.

    Dense arrays are stored as they are (``np.savez`` style, named ``arr_0``, ``arr_1``,
    ... or by the mapping's keys). A scipy.sparse matrix named ``N`` is stored in CSR
    form as the arrays ``N.format``, ``N.shape``, ``N.data``, ``N.indices`` and
    ``N.indptr``: what ``scipy.sparse.save_npz`` writes, each key prefixed by the name.

    Parameters
    ----------
    path : str or os.PathLike
        Destination; must end in ``.npz``.
    matrices : sequence or mapping of 2-D arrays
        numpy arrays or scipy.sparse matrices, in layer order.

    Raises
    ------
    TopokitError
        If the path does not end in ``.npz``, a matrix is not 2-D, or two names clash.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import numpy as np, scipy.sparse as sp
    >>> from topokit.interop.weights import read_weights, save_weights
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "sparse.npz"
    >>> W1 = sp.random_array((100, 50), density=0.1, rng=0)
    >>> save_weights(path, {"fc1": W1, "fc2": np.ones((50, 10))})
    >>> top = read_weights(path, layout="in_out")
    >>> top.sizes, top[0].n_edges == W1.nnz
    ([100, 50, 10], True)
    """
    path = os.fspath(path)
    if not path.endswith(".npz"):
        raise TopokitError(f"weights files written by save_weights end in .npz, got {path!r}")
    if isinstance(matrices, Mapping):
        items = [(str(key), value) for key, value in matrices.items()]
    else:
        items = [(f"arr_{k}", value) for k, value in enumerate(_named(matrices).values())]
    arrays = {}
    for name, value in items:
        matrix = as_matrix(value if sp.issparse(value) else np.asarray(value), f"matrix {name!r}")
        if sp.issparse(matrix):
            csr = sp.csr_array(matrix)
            parts = {
                "format": np.array("csr"),
                "shape": np.array(csr.shape),
                "data": csr.data,
                "indices": csr.indices,
                "indptr": csr.indptr,
            }
            entries = {f"{name}.{part}": array for part, array in parts.items()}
        else:
            entries = {name: matrix}
        clash = sorted(set(entries) & set(arrays))
        if clash:
            raise TopokitError(f"matrix names clash in save_weights: {clash[0]!r} given twice")
        arrays.update(entries)
    with replacing(path) as file:  # whole or not at all
        np.savez_compressed(file, **arrays)
