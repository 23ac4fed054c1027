"""``dense``: the complete bipartite graph."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from topokit._errors import TopokitError
from topokit._validation import check_int, edge_count
from topokit.generators._registry import Family, register
from topokit.graph import LayerGraph

__all__ = ["dense"]


def _check(n_in, n_out, *, density=None, degree=None) -> tuple[int, int]:
    """``(n_in, n_out)``, or the TopokitError the builder raises (builds nothing)."""
    n_in = check_int("n_in", n_in, minimum=1)
    n_out = check_int("n_out", n_out, minimum=1)
    if (density is not None or degree is not None) and edge_count(
        n_in, n_out, density, degree
    ) != n_in * n_out:
        raise TopokitError(
            f"family 'dense' has every edge: density must be 1 (or degree {n_in}), got "
            f"density={density}, degree={degree}; for fewer edges use a sparse family "
            "such as 'erdos_renyi'"
        )
    return n_in, n_out


def dense(n_in, n_out, *, density=None, degree=None, rng=None) -> LayerGraph:
    """Complete bipartite graph: every input feeds every output.

    Parameters
    ----------
    n_in, n_out : int
        Number of input and output neurons, at least 1.
    density : float, optional
        Accepted only if it asks for every edge (``density=1``).
    degree : int, optional
        Accepted only if it equals ``n_in``.
    rng : ignored
        Present so that every family has the same signature.

    Returns
    -------
    LayerGraph
        With ``n_in * n_out`` edges.

    Raises
    ------
    TopokitError
        If a size is not a positive integer, or density/degree asks for fewer edges.

    Examples
    --------
    >>> from topokit.generators._dense import dense
    >>> dense(3, 4).n_edges
    12
    """
    n_in, n_out = _check(n_in, n_out, density=density, degree=degree)
    index_dtype = np.int32 if n_in * n_out < 2**31 else np.int64
    indptr = np.arange(0, n_in * n_out + 1, n_out, dtype=index_dtype)
    indices = np.tile(np.arange(n_out, dtype=index_dtype), n_in)
    csr = sp.csr_array((np.ones(n_in * n_out), indices, indptr), shape=(n_in, n_out))
    return LayerGraph._trusted(csr, family="dense")


register(
    Family(
        name="dense",
        function=dense,
        check=_check,
        summary="complete bipartite graph (every input feeds every output)",
        sizes="any n_in, n_out >= 1",
        edge_count="fixed",
        random=False,
    )
)
