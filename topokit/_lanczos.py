"""The largest eigenpair of a symmetric operator, by Lanczos, with a certified residual.

Used by :mod:`topokit.spectrum` (Gram matrices of layer graphs) and by the Fiedler value
of :mod:`topokit.metrics` (a shifted Laplacian). The operator is given by its
matrix-vector product only; nothing of size ``n x n`` is ever formed.

The method is the plain three-term Lanczos recurrence, run twice:

1. the first pass keeps only the tridiagonal matrix ``T_k`` (two numbers a step) and
   stops when the Ritz estimate ``beta_k |s_k|`` of the top Ritz pair of ``T_k`` falls
   below ``tol * scale``;
2. the second pass runs the very same recurrence again (same operations, same order, so
   the same vectors) and accumulates the Ritz vector ``y = sum_j s_j q_j``.

Memory is a few vectors of length ``n`` whatever the number of steps. Then the result is
*checked*, not trusted: with ``y`` normalised, ``rho = yᵀ G y`` and ``r = G y − rho y``
are computed explicitly. For a symmetric ``G`` an eigenvalue lies within ``‖r‖`` of
``rho`` (and ``rho`` never exceeds the largest eigenvalue); the pair is returned only when
``‖r‖ <= tol * max(rho, 1e-3 * bound)``, else Lanczos restarts from ``y``.

No reorthogonalisation is done: in floating point the recurrence loses orthogonality only
once a Ritz value has converged (Paige), which is when the first pass stops. Inner products
and norms are computed with ``numpy.einsum``, which does not call BLAS: OpenBLAS threads
its level-1 routines on long vectors, and on a busy machine their spinning threads made
each product thousands of times slower than the single-thread loop.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg as sla

from topokit._errors import TopokitError

__all__ = ["dot", "top_eigenpair"]

# Steps between two looks at the top Ritz pair of the tridiagonal matrix.
_CHECK_EVERY = 10
# Steps of one Lanczos cycle, and cycles (restarts from the last Ritz vector) at most.
_MAX_STEPS = 4000
_MAX_CYCLES = 8
# beta below this (times the operator's norm bound) is an invariant subspace.
_BREAKDOWN = 1e3 * np.finfo(np.float64).eps
# Eigenvalues below this fraction of the norm bound get an absolute residual tolerance.
_FLOOR = 1e-3


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """Inner product of two 1-D float arrays, on the calling thread (no BLAS)."""
    return float(np.einsum("i,i->", a, b))


def _recurrence(matvec, start: np.ndarray):
    """Yield ``(q_j, alpha_j, beta_j)`` of the Lanczos recurrence from ``start``."""
    q = start / math.sqrt(dot(start, start))
    q_previous = None
    beta_previous = 0.0
    while True:
        w = np.asarray(matvec(q), dtype=np.float64)
        alpha = dot(q, w)
        w = w - alpha * q
        if q_previous is not None:
            w -= beta_previous * q_previous
        beta = math.sqrt(dot(w, w))
        yield q, alpha, beta
        if beta == 0.0:
            return
        q_previous, q, beta_previous = q, w / beta, beta


def _top_ritz(alphas: list, betas: list):
    """Top eigenvalue of the tridiagonal ``T_k`` and its eigenvector."""
    k = len(alphas)
    values, vectors = sla.eigh_tridiagonal(
        np.asarray(alphas), np.asarray(betas[: k - 1]), select="i", select_range=(k - 1, k - 1)
    )
    return float(values[0]), vectors[:, 0]


def _cycle(matvec, start: np.ndarray, bound: float, tol: float, max_steps: int):
    """One two-pass Lanczos cycle: the top Ritz vector of the Krylov space, unit norm."""
    alphas, betas = [], []
    for step, (_, alpha, beta) in enumerate(_recurrence(matvec, start), start=1):
        alphas.append(alpha)
        betas.append(beta)
        breakdown = beta <= _BREAKDOWN * bound
        if breakdown or step % _CHECK_EVERY == 0 or step >= max_steps:
            theta, ritz = _top_ritz(alphas, betas)
            if breakdown or step >= max_steps:
                break
            if beta * abs(ritz[-1]) <= tol * max(theta, _FLOOR * bound):
                break
    vector = np.zeros(start.size)
    for weight, (q, _, _) in zip(ritz, _recurrence(matvec, start), strict=False):
        vector += weight * q
    return vector / math.sqrt(dot(vector, vector))


def top_eigenpair(matvec, start: np.ndarray, *, bound: float, tol: float, what: str):
    """Largest eigenvalue of a symmetric operator, its unit eigenvector and residual.

    Parameters
    ----------
    matvec : callable
        ``x -> G x`` for 1-D float64 arrays; ``G`` symmetric.
    start : ndarray of shape (n,)
        Nonzero start vector (a random one finds the top eigenvalue with probability 1).
    bound : float
        An upper bound on ``‖G‖`` (e.g. a Gershgorin bound); sets the breakdown test
        and the absolute tolerance of eigenvalues near 0.
    tol : float
        Relative residual asked: ``‖G y − rho y‖ <= tol * max(rho, 1e-3 * bound)``.
    what : str
        The operator in words, for the error message.

    Returns
    -------
    value : float
        The Rayleigh quotient ``rho = yᵀ G y``.
    vector : ndarray of shape (n,)
        ``y``, of unit norm.
    residual : float
        ``‖G y − rho y‖``: an eigenvalue of ``G`` lies within it of ``rho``.

    Raises
    ------
    TopokitError
        If the residual is still above the tolerance after the restarts.
    """
    size = start.size
    max_steps = max(1, min(_MAX_STEPS, size))
    vector = np.asarray(start, dtype=np.float64)
    residual = math.inf
    for _ in range(_MAX_CYCLES):
        vector = _cycle(matvec, vector, bound, tol, max_steps)
        image = np.asarray(matvec(vector), dtype=np.float64)
        value = dot(vector, image)
        remainder = image - value * vector
        residual = math.sqrt(dot(remainder, remainder))
        if residual <= tol * max(value, _FLOOR * bound):
            return value, vector, residual
    raise TopokitError(
        f"Lanczos did not converge on {what}: residual {residual:.3g} after {_MAX_CYCLES} "
        f"cycles of up to {max_steps} steps (tolerance {tol:g} relative)"
    )
