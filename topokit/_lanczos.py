"""The largest eigenpair of a symmetric operator, by Lanczos, with a certified residual.

Used by :mod:`topokit.spectrum` (Gram matrices of layer graphs) and by the Fiedler value
of :mod:`topokit.metrics` (a shifted Laplacian). The operator is given by its
matrix-vector product only; nothing of size ``n x n`` is ever formed.

The method is the plain three-term Lanczos recurrence, run twice:

1. the first pass builds the tridiagonal matrix ``T_k`` (two numbers a step) and stops
   when the Ritz estimate ``beta_k |s_k|`` of the top Ritz pair of ``T_k`` falls below
   ``tol * scale``; it keeps the Lanczos vectors ``q_j`` while they fit in 256 MiB (at
   least 48 of them);
2. the Ritz vector ``y = sum_j s_j q_j`` is summed from the kept vectors, and the
   recurrence resumes after the last kept one to regenerate the others (same
   operations, same order, so the same vectors).

Memory is thus bounded whatever the number of steps. Then the result is
*checked*, not trusted: with ``y`` normalised, ``rho = yᵀ G y`` and ``r = G y − rho y``
are computed explicitly. For a symmetric ``G`` an eigenvalue lies within ``‖r‖`` of
``rho`` (and ``rho`` never exceeds the largest eigenvalue); the pair is returned only when
``‖r‖ <= tol * max(rho, 1e-3 * bound)``, else Lanczos restarts from ``y``.

No reorthogonalisation is done: in floating point the recurrence loses orthogonality only
once a Ritz value has converged (Paige), which is when the first pass stops. Inner products
and norms are computed with ``numpy.einsum``, which does not call BLAS: OpenBLAS threads
its level-1 routines on long vectors, and its spinning threads then compete with any
other work on the machine (see the docs' Performance page).
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
# Lanczos vectors kept from the first pass, so that the second pass does not recompute
# them: up to this many bytes, and at least this many vectors (the basis of the ARPACK
# path of topokit.spectrum, _ARPACK_NCV).
_STORED_BYTES = 256 * 2**20
_STORED_VECTORS = 48
# beta below this (times the operator's norm bound) is an invariant subspace.
_BREAKDOWN = 1e3 * np.finfo(np.float64).eps
# Eigenvalues below this fraction of the norm bound get an absolute residual tolerance.
_FLOOR = 1e-3


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """Inner product of two 1-D float arrays, on the calling thread (no BLAS)."""
    return float(np.einsum("i,i->", a, b))


def _recurrence(matvec, q: np.ndarray, q_previous=None, beta_previous: float = 0.0):
    """Yield ``(q_j, alpha_j, beta_j)`` of the Lanczos recurrence from the unit vector ``q``.

    ``q_previous`` and ``beta_previous`` resume it at a later step (the vector and the
    ``beta`` of the step before ``q``).
    """
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
    """One Lanczos cycle: the top Ritz vector of the Krylov space, unit norm.

    The first steps' vectors are kept (up to :data:`_STORED_BYTES`, at least
    :data:`_STORED_VECTORS` of them); the second pass resumes the recurrence after the
    last kept one, so it costs one product per step beyond them (and one more, at the
    last kept step, to resume).
    """
    size = start.size
    capacity = min(max_steps, max(_STORED_VECTORS, _STORED_BYTES // (8 * size)))
    stored = np.empty((capacity, size))  # pages are touched only as rows are written
    alphas, betas = [], []
    first = start / math.sqrt(dot(start, start))
    for step, (q, alpha, beta) in enumerate(_recurrence(matvec, first), start=1):
        if step <= capacity:
            stored[step - 1] = q
        alphas.append(alpha)
        betas.append(beta)
        breakdown = beta <= _BREAKDOWN * bound
        if breakdown or step % _CHECK_EVERY == 0 or step >= max_steps:
            theta, ritz = _top_ritz(alphas, betas)
            if breakdown or step >= max_steps:
                break
            if beta * abs(ritz[-1]) <= tol * max(theta, _FLOOR * bound):
                break
    kept = min(len(alphas), capacity)
    vector = np.zeros(size)
    for weight, q in zip(ritz[:kept], stored[:kept], strict=True):
        vector += weight * q
    if len(alphas) > kept:
        previous = (stored[kept - 2], betas[kept - 2]) if kept >= 2 else (None, 0.0)
        resumed = _recurrence(matvec, stored[kept - 1], *previous)
        next(resumed)  # step `kept` again: its vector is already summed
        for weight, (q, _, _) in zip(ritz[kept:], resumed, strict=False):
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
