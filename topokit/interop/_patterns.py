"""Nonzero patterns of weight matrices as layer graphs, and which way round they are stored.

Two layouts name how a matrix maps to a layer with ``n_in`` inputs and ``n_out`` outputs:

- ``"in_out"``: shape (n_in, n_out), topokit's biadjacency and ``X @ W``;
- ``"out_in"``: shape (n_out, n_in), PyTorch's ``nn.Linear.weight`` and ``X @ W.T``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from topokit._errors import TopokitError
from topokit.graph import LayerGraph
from topokit.topology import Topology

__all__ = [
    "LAYOUTS",
    "as_matrix",
    "build_topology",
    "check_layout",
    "infer_layout",
    "layer_sizes",
    "pattern_layer",
]

LAYOUTS = ("auto", "in_out", "out_in")

_MEANING = {
    "in_out": "(n_in, n_out), topokit's X @ W",
    "out_in": "(out_features, in_features), PyTorch's nn.Linear.weight",
}


def check_layout(layout) -> str:
    """``layout`` itself if it is one of :data:`LAYOUTS`, else a TopokitError."""
    if not isinstance(layout, str) or layout not in LAYOUTS:
        raise TopokitError(f"layout must be one of {', '.join(map(repr, LAYOUTS))}, got {layout!r}")
    return layout


def layer_sizes(shape, layout: str) -> tuple[int, int]:
    """``(n_in, n_out)`` of a matrix of ``shape`` stored in ``layout``."""
    rows, cols = shape
    return (rows, cols) if layout == "in_out" else (cols, rows)


def _first_break(shapes, layout: str):
    """Index k of the first matrix that does not take the previous one's outputs, or None."""
    for k in range(1, len(shapes)):
        if layer_sizes(shapes[k - 1], layout)[1] != layer_sizes(shapes[k], layout)[0]:
            return k
    return None


def _shape_list(names, shapes) -> str:
    return ", ".join(f"{name} {tuple(shape)}" for name, shape in zip(names, shapes, strict=True))


def infer_layout(names, shapes, layout: str) -> str:
    """The layout in which the matrices chain (``layout`` resolved if ``"auto"``).

    Parameters
    ----------
    names : list of str
        How to call each matrix in a message.
    shapes : list of (int, int)
    layout : {"auto", "in_out", "out_in"}

    Returns
    -------
    {"in_out", "out_in"}

    Raises
    ------
    TopokitError
        If the matrices do not chain in the given layout, or, for ``"auto"``, chain in
        both layouts (ambiguous) or in neither.
    """
    check_layout(layout)
    if layout != "auto":
        k = _first_break(shapes, layout)
        if k is not None:
            n_out = layer_sizes(shapes[k - 1], layout)[1]
            n_in = layer_sizes(shapes[k], layout)[0]
            raise TopokitError(
                f"with layout={layout!r} (shape {_MEANING[layout]}), {names[k]} of shape "
                f"{tuple(shapes[k])} takes {n_in} inputs but {names[k - 1]} of shape "
                f"{tuple(shapes[k - 1])} gives {n_out} outputs; consecutive layers must agree"
            )
        return layout
    fits = [name for name in ("in_out", "out_in") if _first_break(shapes, name) is None]
    if len(fits) == 1:
        return fits[0]
    listed = _shape_list(names, shapes)
    if fits:
        raise TopokitError(
            f"layout='auto' cannot tell which way round the matrices are: the shapes "
            f"{listed} chain both as {_MEANING['in_out']} and as {_MEANING['out_in']}; "
            f"give layout='in_out' or layout='out_in' (--layout on the command line)"
        )
    raise TopokitError(
        f"layout='auto' found no way to chain the shapes {listed}: neither as "
        f"{_MEANING['in_out']} nor as {_MEANING['out_in']} does each matrix take the "
        f"previous one's outputs"
    )


def pattern_layer(matrix, layout: str, name: str) -> LayerGraph:
    """The LayerGraph of the nonzero entries of ``matrix`` stored in ``layout``.

    ``matrix`` is a 2-D numpy array (any numeric or bool dtype; NaN counts as nonzero)
    or a scipy.sparse matrix/array, whose explicit zeros are not edges. A sparse input
    costs time and memory in its number of stored entries; it is never densified, and
    it is not modified.
    """
    if sp.issparse(matrix):
        csr = sp.csr_array(matrix).copy()  # a copy: the clean-up below must not touch it
        csr.sum_duplicates()
        csr.eliminate_zeros()
        if layout == "out_in":
            csr = csr.T.tocsr()
        pattern = sp.csr_array(
            (np.ones(csr.nnz), csr.indices, csr.indptr), shape=csr.shape, copy=False
        )
    else:
        rows, cols = np.nonzero(matrix)
        if layout == "out_in":
            rows, cols = cols, rows
        shape = layer_sizes(matrix.shape, layout)
        pattern = sp.csr_array((np.ones(rows.size), (rows, cols)), shape=shape)
    try:
        return LayerGraph(pattern)
    except TopokitError as exc:
        raise TopokitError(f"{name}: {exc}") from exc


def as_matrix(value, name: str):
    """``value`` as a 2-D numpy array or scipy.sparse array, checked; TopokitError if not.

    A torch tensor (anything with ``detach``) becomes the bool array of its nonzero
    entries, which works for every dtype (bfloat16 included) and device.
    """
    if sp.issparse(value):
        matrix = value
    elif hasattr(value, "detach") and hasattr(value, "cpu"):
        matrix = (value.detach() != 0).cpu().numpy()
    else:
        try:
            matrix = np.asarray(value)
        except (TypeError, ValueError) as exc:
            raise TopokitError(
                f"{name} must be a 2-D array, got {type(value).__name__}: {exc}"
            ) from exc
        if matrix.dtype == object or not (
            np.issubdtype(matrix.dtype, np.number) or matrix.dtype == bool
        ):
            raise TopokitError(f"{name} must be a numeric 2-D array, got dtype {matrix.dtype}")
    if len(matrix.shape) != 2:
        raise TopokitError(f"{name} must be a 2-D weight matrix, got shape {tuple(matrix.shape)}")
    if min(matrix.shape) < 1:
        raise TopokitError(
            f"{name} must have at least one row and one column, got shape {tuple(matrix.shape)}"
        )
    return matrix


def build_topology(named: dict, layout: str):
    """The Topology of the nonzero patterns of ``named`` (name -> 2-D matrix), in order.

    Each value is checked with :func:`as_matrix`; ``layout`` is resolved with
    :func:`infer_layout`.
    """
    if not named:
        raise TopokitError("need at least one weight matrix, got none")
    check_layout(layout)
    names = list(named)
    matrices = [as_matrix(named[name], name) for name in names]
    layout = infer_layout(names, [matrix.shape for matrix in matrices], layout)
    return Topology(
        [pattern_layer(matrix, layout, name) for name, matrix in zip(names, matrices, strict=True)]
    )
