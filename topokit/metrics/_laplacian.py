"""Algebraic connectivity (Fiedler value and vector) of a connected bipartite graph.

The graph is given by its biadjacency ``B`` (n_in x n_out); its nodes are the inputs
``0 .. n_in-1`` then the outputs. ``L = D - A``. Three ways, no shift-invert anywhere:

- small graphs: dense ``eigh`` of L (exact); the whole eigenspace of the Fiedler
  value is returned, since symmetric graphs (hypercubes) repeat it;
- (c, d)-biregular graphs: closed form from the second singular triplet of B, since
  each singular value σ gives the Laplacian eigenvalues solving (x − c)(x − d) = σ²;
  the Fiedler vector is (σ u, (c − x) v);
- otherwise: the top eigenpair of ``c I − L`` with the constant vector projected out,
  ``c = 2 · max degree ≥ λmax(L)``, by certified Lanczos (:mod:`topokit._lanczos`:
  residual at most ``1e-10 c``); the value is then refined as the Rayleigh quotient
  ``Σ_edges (x_i − x_j)² / ‖x‖²`` (no cancellation).

Callers decide connectivity first: the Fiedler value of a disconnected graph is 0.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from topokit._lanczos import dot, top_eigenpair

__all__ = ["biregular_fiedler", "fiedler_pair", "laplacian_quadratic_form"]

_DENSE_LAPLACIAN_LIMIT = 400  # nodes
# Relative residual of the Lanczos pair of c I − L (topokit._lanczos).
_LANCZOS_TOL = 1e-10
_SEED = 20171
# Eigenvalues of a dense L within this (times the largest degree) of the Fiedler
# value count as the same eigenvalue.
_MULTIPLICITY_TOL = 1e-9


def laplacian_quadratic_form(matrix: sp.csr_array, vector: np.ndarray) -> float:
    """``xᵀ L x = Σ over edges (x_input − x_output)²`` for ``x`` on all nodes."""
    n_in = matrix.shape[0]
    rows = np.repeat(np.arange(n_in), np.diff(matrix.indptr))
    diff = vector[rows] - vector[n_in + matrix.indices]
    return dot(diff, diff)


def biregular_fiedler(c: int, d: int, sigma: float) -> float:
    """Smallest root of ``(x − c)(x − d) = σ²``, in a form free of cancellation.

    ``c`` is the degree of every input, ``d`` of every output. The product of the
    roots is ``c d − σ²``, their sum ``c + d``.
    """
    larger = ((c + d) + np.sqrt((c - d) ** 2 + 4.0 * sigma**2)) / 2.0
    return float(max(c * d - sigma**2, 0.0) / larger)


def _dense_fiedler(matrix: sp.csr_array, fan_out, fan_in):
    n_in, n_out = matrix.shape
    dense = matrix.toarray()
    laplacian = np.zeros((n_in + n_out, n_in + n_out))
    laplacian[:n_in, n_in:] = -dense
    laplacian[n_in:, :n_in] = -dense.T
    laplacian[np.diag_indices_from(laplacian)] = np.concatenate([fan_out, fan_in])
    eigenvalues, eigenvectors = np.linalg.eigh(laplacian)
    value = float(eigenvalues[1])
    scale = max(float(eigenvalues[-1]), 1.0)
    same = np.abs(eigenvalues - value) <= _MULTIPLICITY_TOL * scale
    same[0] = False
    return value, eigenvectors[:, same]


def _iterative_fiedler(matrix: sp.csr_array, fan_out, fan_in):
    n_in, n_out = matrix.shape
    n_nodes = n_in + n_out
    transpose = matrix.T.tocsr()
    degrees = np.concatenate([fan_out, fan_in]).astype(np.float64)
    shift = 2.0 * degrees.max()

    def shifted_matvec(x):
        x = np.asarray(x, dtype=np.float64).ravel()
        x = x - x.mean()
        adjacency_x = np.concatenate([matrix @ x[n_in:], transpose @ x[:n_in]])
        y = (shift - degrees) * x + adjacency_x
        return y - y.mean()

    v0 = np.random.default_rng(_SEED).standard_normal(n_nodes)
    v0 -= v0.mean()
    _, vector, _ = top_eigenpair(
        shifted_matvec,
        v0,
        bound=shift,
        tol=_LANCZOS_TOL,
        what=f"the shifted Laplacian of a graph with {n_nodes} nodes",
    )
    vector = vector - vector.mean()
    value = laplacian_quadratic_form(matrix, vector) / dot(vector, vector)
    return value, vector[:, None]


def fiedler_pair(matrix: sp.csr_array, fan_out, fan_in, singular=None):
    """Fiedler value and a basis of Fiedler vectors of a *connected* bipartite graph.

    Parameters
    ----------
    matrix : scipy.sparse.csr_array of shape (n_in, n_out)
    fan_out, fan_in : ndarray
        Degrees of the inputs (row sums) and of the outputs (column sums).
    singular : callable, optional
        Returns the :class:`SingularPairs` of ``matrix`` with the top pair deflated
        (used for biregular graphs; computed only when needed).

    Returns
    -------
    value : float
    vectors : ndarray of shape (n_in + n_out, m)
        ``m >= 1`` vectors (orthogonal to the constant) spanning Fiedler directions.
    """
    n_in, n_out = matrix.shape
    if n_in + n_out <= _DENSE_LAPLACIAN_LIMIT:
        return _dense_fiedler(matrix, fan_out, fan_in)
    c, d = int(fan_out[0]), int(fan_in[0])
    biregular = np.all(fan_out == c) and np.all(fan_in == d)
    if biregular and singular is not None:
        pairs = singular()
        sigma = float(pairs.values[0])
        if sigma > 0:
            value = biregular_fiedler(c, d, sigma)
            small_vector = pairs.vectors[:, 0]
            forward = matrix if pairs.tall else matrix.T.tocsr()
            large_vector = (forward @ small_vector) / sigma
            u, v = (large_vector, small_vector) if pairs.tall else (small_vector, large_vector)
            vector = np.concatenate([sigma * u, (c - value) * v])
            return value, vector[:, None]
    return _iterative_fiedler(matrix, fan_out, fan_in)
