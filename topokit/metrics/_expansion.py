"""Sweep cuts: a certified upper bound on the edge expansion from an ordering of the nodes."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["independent_directions", "sweep_expansion"]

_ROTATION_ITERATIONS = 200


def sweep_expansion(matrix: sp.csr_array, vector: np.ndarray) -> float:
    """Best ``|∂S| / |S|`` over the sweep cuts of ``vector``, ``0 < |S| <= |V|/2``.

    The nodes (inputs ``0 .. n_in-1``, then outputs) are sorted by ``vector``; every
    prefix ``S_k`` (the first ``k`` nodes) and its complement (a prefix from the other
    end) is a cut, scored by ``|∂S_k| / min(k, |V| − k)``. An edge whose endpoints sit
    at sorted positions ``lo < hi`` crosses exactly the cuts ``lo < k <= hi``, so all
    boundaries come from one difference array over edge positions: O(E + V log V).

    Parameters
    ----------
    matrix : scipy.sparse.csr_array of shape (n_in, n_out)
    vector : ndarray of shape (n_in + n_out,)

    Returns
    -------
    float
        The smallest ratio (each a real cut, so an upper bound on h(G)).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from topokit.metrics._expansion import sweep_expansion
    >>> path = sp.csr_array(np.array([[1, 0], [1, 1]]))  # path in0-out0-in1-out1
    >>> sweep_expansion(path, np.array([0.0, 1.0, 0.5, 2.0]))
    0.5
    """
    n_in, n_out = matrix.shape
    n_nodes = n_in + n_out
    position = np.empty(n_nodes, dtype=np.int64)
    position[np.argsort(vector, kind="stable")] = np.arange(n_nodes)
    rows = np.repeat(np.arange(n_in), np.diff(matrix.indptr))
    ends_in = position[rows]
    ends_out = position[n_in + matrix.indices]
    lo = np.minimum(ends_in, ends_out)
    hi = np.maximum(ends_in, ends_out)
    change = np.bincount(lo + 1, minlength=n_nodes + 1) - np.bincount(hi + 1, minlength=n_nodes + 1)
    boundary = np.cumsum(change)[1:n_nodes]  # boundary[k - 1] = |∂S_k|, k = 1 .. n_nodes - 1
    sizes = np.arange(1, n_nodes)
    smaller = np.minimum(sizes, n_nodes - sizes)
    return float(np.min(boundary / smaller))


def independent_directions(basis: np.ndarray) -> np.ndarray:
    """Rotate an orthonormal eigenspace basis to its kurtosis-extremal directions.

    A repeated Fiedler value leaves the eigenvector an arbitrary mix of the
    eigenspace, and a sweep of a mix can miss the best cut: the hypercube's
    eigenspace is spanned by the coordinate vectors (±1 by one coordinate), which are
    independent ±1 variables over the vertices, while their mixes are not. FastICA's
    fixed point for kurtosis (``w ← mean(z (wᵀz)³) − 3w``, deflated) recovers such
    independent directions; sweeping them too finds the coordinate cuts. The start is
    the identity, so the result is deterministic.

    Parameters
    ----------
    basis : ndarray of shape (n_nodes, m)
        Orthonormal columns, each orthogonal to the constant vector.

    Returns
    -------
    ndarray of shape (n_nodes, m)
    """
    n_nodes, m = basis.shape
    samples = basis * np.sqrt(n_nodes)  # whitened: mean 0, identity covariance
    found = np.zeros((m, m))
    for j in range(m):
        w = np.eye(m)[j]
        for _ in range(_ROTATION_ITERATIONS):
            projection = samples @ w
            new = samples.T @ projection**3 / n_nodes - 3.0 * w
            new -= found[:j].T @ (found[:j] @ new)
            norm = np.linalg.norm(new)
            if norm < 1e-12:
                break
            new /= norm
            converged = abs(abs(new @ w) - 1.0) < 1e-12
            w = new
            if converged:
                break
        found[j] = w
    return basis @ found.T
