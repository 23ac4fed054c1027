"""The spectrum of a layer graph: largest singular values of its biadjacency, and the
Ramanujan bound they are compared with.

The spectrum of the adjacency ``A = [[0, B], [Bᵀ, 0]]`` of a bipartite graph is ``±σ_i(B)``
plus zeros, so ``lambda1`` and ``lambda2`` of a layer are the two largest singular values
of its biadjacency ``B``. The metrics (:mod:`topokit.metrics`), the drawing
(:mod:`topokit.draw`) and the ``ramanujan`` family all read them from here.

Everything works on the Gram matrix ``G`` of the smaller side (``Bᵀ B`` when
``n_in >= n_out``, else ``B Bᵀ``), never a shift-invert and never a dense
``n_in x n_out`` array: a dense eigendecomposition of ``G`` when the smaller side is
small; else, for up to four values, one certified Lanczos run per value with the vectors
found before projected out (:mod:`topokit._lanczos`: each pair is returned with an
explicitly computed residual ``‖G v − σ² v‖ <= 1e-10 max(σ², 1e-3 β)``, ``β >= ‖G‖``
the largest absolute row sum of ``B`` times that of ``Bᵀ``); for more
values ARPACK (``eigsh``, largest algebraic) on a matrix-free operator. Starts come from
a fixed-seed Generator, so results are reproducible. Singular values are read back as
``‖M v‖`` for the Gram eigenvectors ``v`` (``M`` the map from the small side to the
large side), which keeps small singular values accurate to ``eps * lambda1`` instead of
``sqrt(eps) * lambda1``.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from topokit._errors import TopokitError
from topokit._lanczos import dot, top_eigenpair
from topokit._validation import check_int

__all__ = ["SingularPairs", "ramanujan_bound", "top_singular_pairs", "top_singular_values"]

# Below this many columns in the Gram matrix of the smaller side, a dense
# eigendecomposition of that (small x small) Gram matrix is exact and fast.
_DENSE_GRAM_LIMIT = 400
# Up to this many pairs, one certified Lanczos run per pair (topokit._lanczos); above,
# ARPACK for all of them at once.
_LANCZOS_MAX_PAIRS = 4
# Relative residual of every Lanczos pair: well below the 1e-8 agreement we promise.
_LANCZOS_TOL = 1e-10
# ARPACK settings: a wide Krylov basis restarts less (spectra of expanders cluster at
# the edge), and a residual tolerance well below the 1e-8 agreement we promise.
_ARPACK_NCV = 48
_ARPACK_TOL = 1e-10
_SEED = 20170


class SingularPairs:
    """Top singular values of a matrix with their singular vectors on the smaller side.

    What :func:`top_singular_pairs` returns.

    Parameters
    ----------
    values : ndarray of shape (k,)
        The singular values, in decreasing order.
    vectors : ndarray of shape (small, k)
        Unit singular vectors on the smaller side, one column per value.
    tall : bool
        True when the smaller side is the columns (``n_in >= n_out``): the vectors are
        then right singular vectors, else left ones.

    Examples
    --------
    >>> import numpy as np
    >>> from topokit.spectrum import SingularPairs
    >>> SingularPairs(np.array([2.0, 1.0]), np.eye(2), tall=True).values.tolist()
    [2.0, 1.0]
    """

    __slots__ = ("tall", "values", "vectors")

    def __init__(self, values, vectors, tall):
        self.values = values
        self.vectors = vectors
        self.tall = tall


def _small_to_large(matrix: sp.csr_array, tall: bool):
    """The map ``M`` from the small side to the large side and its transpose, as CSR."""
    transpose = matrix.T.tocsr()
    return (matrix, transpose) if tall else (transpose, matrix)


def _is_zero_operator(matvec, size, forward, backward) -> bool:
    """Whether the (projected) Gram operator maps random vectors to roundoff."""
    bound = _max_abs_row_sum(forward) * _max_abs_row_sum(backward)  # >= ‖Gram‖
    probes = np.random.default_rng(_SEED + 1).standard_normal((2, size))
    return all(
        np.linalg.norm(matvec(probe)) <= 1e-10 * bound * np.linalg.norm(probe) for probe in probes
    )


def _max_abs_row_sum(matrix: sp.csr_array) -> float:
    """Largest ``Σ_j |m_ij|`` over the rows (empty rows included): the ∞-norm."""
    if matrix.nnz == 0:
        return 0.0
    return float(np.max(abs(matrix).sum(axis=1)))


def top_singular_pairs(matrix, k: int = 2, *, deflate=None) -> SingularPairs:
    """The ``k`` largest singular values of ``matrix`` and their small-side vectors.

    The Gram matrix ``G`` of the smaller side is decomposed densely when that side has
    at most 400 neurons. Otherwise each pair comes from a Lanczos run on ``G`` with the
    vectors found before (and ``deflate``) projected out, and is returned only with a
    certified residual: ``‖G v − σ² v‖ <= 1e-10 σ²``, so an eigenvalue of ``G`` lies
    within that distance of ``σ²`` and a singular value within ``1e-10 σ`` of ``σ``
    (``1e-13 β`` instead of ``1e-10 σ²`` for values with ``σ² < 1e-3 β``, ``β >= ‖G‖``
    the largest absolute row sum of ``matrix`` times that of its transpose). For ``k``
    above 4, ARPACK (``eigsh``) finds all of them in one run instead.

    Parameters
    ----------
    matrix : scipy.sparse array of shape (n_in, n_out)
    k : int
        How many singular values; missing ones (``k`` above the smaller side, or
        above the rank left after deflation) are zeros.
    deflate : ndarray of shape (small,), optional
        A unit vector on the smaller side that is a known right singular vector;
        it is projected out, so the values returned are the next ones.

    Returns
    -------
    SingularPairs

    Raises
    ------
    TopokitError
        If the iteration does not converge (the message says on what size).

    Examples
    --------
    The complete bipartite graph ``K(2, 3)`` has one nonzero singular value,
    ``sqrt(2 * 3)``, with the constant vector on the smaller side (the two inputs):

    >>> import numpy as np, scipy.sparse as sp
    >>> from topokit.spectrum import top_singular_pairs
    >>> pairs = top_singular_pairs(sp.csr_array(np.ones((2, 3))), k=2)
    >>> pairs.values.round(6).tolist(), pairs.tall
    ([2.44949, 0.0], False)
    >>> np.abs(pairs.vectors[:, 0]).round(6).tolist()
    [0.707107, 0.707107]

    With that vector deflated, the next singular value is the largest:

    >>> top_singular_pairs(sp.csr_array(np.ones((2, 3))), k=1,
    ...                    deflate=pairs.vectors[:, 0]).values.round(6).tolist()
    [0.0]
    """
    return _singular_pairs(matrix, k, deflate, lanczos=True)


def _arpack_singular_pairs(matrix, k: int = 2, *, deflate=None) -> SingularPairs:
    """:func:`top_singular_pairs` with ARPACK (default BLAS threads) for every ``k``.

    The reference that the Lanczos path is tested and benchmarked against.
    """
    return _singular_pairs(matrix, k, deflate, lanczos=False)


def _singular_pairs(matrix, k: int, deflate, *, lanczos: bool) -> SingularPairs:
    matrix = sp.csr_array(matrix, dtype=np.float64)
    n_in, n_out = matrix.shape
    tall = n_in >= n_out
    small = min(n_in, n_out)
    values = np.zeros(k)
    vectors = np.zeros((small, k))
    if matrix.nnz == 0:
        return SingularPairs(values, vectors, tall)
    forward, backward = _small_to_large(matrix, tall)
    deflate = None if deflate is None else np.asarray(deflate, dtype=np.float64)
    rank_bound = small - (deflate is not None)
    want = min(k, rank_bound)
    if want <= 0:
        return SingularPairs(values, vectors, tall)
    if small <= _DENSE_GRAM_LIMIT or want >= rank_bound - 1:
        found = _dense_gram_vectors(forward, backward, want, deflate)
        singular = np.linalg.norm(forward @ found, axis=0)
    elif lanczos and want <= _LANCZOS_MAX_PAIRS:
        found = _lanczos_gram_vectors(forward, backward, want, deflate)
        singular = np.sqrt([dot(column, column) for column in (forward @ found).T])
    else:
        found, singular = _arpack_gram_vectors(forward, backward, want, deflate)
        if found is None:
            return SingularPairs(values, vectors, tall)
    order = np.argsort(-singular, kind="stable")
    values[:want] = singular[order]
    vectors[:, :want] = found[:, order]
    return SingularPairs(values, vectors, tall)


def _projector(basis: list):
    """``x -> x − Σ b (bᵀ x)`` over the orthonormal vectors ``basis`` (1-D or 2-D x)."""

    def project(x):
        for vector in basis:
            weight = vector @ x if x.ndim == 2 else dot(vector, x)
            x = x - np.multiply.outer(vector, weight)
        return x

    return project


def _dense_gram_vectors(forward, backward, want: int, deflate) -> np.ndarray:
    """Top ``want`` eigenvectors of the dense Gram matrix (with ``deflate`` sent lowest)."""
    gram = (backward @ forward).toarray()
    if deflate is not None:
        # Project, then send `deflate` itself to a clearly lowest eigenvalue so that
        # the top eigenvectors are orthogonal to it even when zeros repeat.
        project = _projector([deflate])
        gram = project(project(gram).T)
        gram -= (np.trace(gram) + 1.0) * np.outer(deflate, deflate)
    # The full decomposition (the side is small): LAPACK's subset driver (?syevr) can
    # return fewer vectors than asked on heavily repeated eigenvalues, e.g. PG(2, 9).
    _, eigenvectors = np.linalg.eigh(gram)
    return eigenvectors[:, ::-1][:, :want]


def _lanczos_gram_vectors(forward, backward, want: int, deflate) -> np.ndarray:
    """Top ``want`` Gram eigenvectors, one certified Lanczos run each, deflating as found."""
    small = forward.shape[1]
    bound = _max_abs_row_sum(forward) * _max_abs_row_sum(backward)  # >= ‖Gram‖
    basis = [] if deflate is None else [deflate]
    rng = np.random.default_rng(_SEED)
    found = np.zeros((small, want))
    for column in range(want):
        project = _projector(list(basis))

        def gram_matvec(x, project=project):
            x = project(x)
            return project(backward @ (forward @ x))

        start = project(rng.standard_normal(small))
        _, vector, _ = top_eigenpair(
            gram_matvec,
            start,
            bound=bound,
            tol=_LANCZOS_TOL,
            what=f"the {small} x {small} Gram matrix (singular value {column + 1})",
        )
        vector = project(vector)
        vector /= math.sqrt(dot(vector, vector))
        found[:, column] = vector
        basis.append(vector)
    return found


def _arpack_gram_vectors(forward, backward, want: int, deflate):
    """Top ``want`` Gram eigenvectors and singular values by ARPACK; None for a zero operator."""
    small = forward.shape[1]
    project = _projector([] if deflate is None else [deflate])

    def gram_matvec(x):
        x = project(np.asarray(x, dtype=np.float64).ravel())
        return project(backward @ (forward @ x))

    operator = spla.LinearOperator((small, small), matvec=gram_matvec, dtype=np.float64)
    v0 = project(np.random.default_rng(_SEED).standard_normal(small))
    ncv = min(small, max(_ARPACK_NCV, 2 * want + 1))
    try:
        ritz, found = spla.eigsh(operator, k=want, which="LA", v0=v0, ncv=ncv, tol=_ARPACK_TOL)
    except spla.ArpackNoConvergence as exc:
        raise TopokitError(
            f"ARPACK did not converge on the {small} x {small} Gram matrix "
            f"(k={want}); the spectrum is too clustered for the iteration limit"
        ) from exc
    except spla.ArpackError as exc:
        # ARPACK fails on an operator that is zero (e.g. a complete bipartite graph
        # with its one nonzero singular value deflated): check that this is the case.
        if _is_zero_operator(gram_matvec, small, forward, backward):
            return None, None
        raise TopokitError(f"ARPACK failed on the {small} x {small} Gram matrix: {exc}") from exc
    found = project(found)
    kept = np.linalg.norm(found, axis=0)
    found /= np.where(kept > 0, kept, 1.0)
    singular = np.linalg.norm(forward @ found, axis=0)
    if deflate is not None:
        # ARPACK may restart from a vector outside the complement of `deflate`; a Ritz
        # vector that was mostly `deflate` (Ritz value 0 there) is not a singular vector.
        spurious = kept < 0.5
        singular[spurious] = np.sqrt(np.clip(ritz[spurious], 0.0, None))
    return found, singular


def top_singular_values(biadjacency, k: int = 2) -> np.ndarray:
    """The ``k`` largest singular values of ``biadjacency``, in decreasing order.

    Works on the Gram matrix of the smaller side (``B Bᵀ`` or ``Bᵀ B``): a dense
    eigendecomposition when that side is small, else certified Lanczos runs (up to
    four values) or ARPACK (``eigsh``, more values), never a shift-invert; see
    :func:`top_singular_pairs`. Missing values (when ``k`` exceeds the smaller side)
    are zeros.

    Parameters
    ----------
    biadjacency : scipy.sparse array of shape (n_in, n_out)
    k : int
        How many singular values.

    Returns
    -------
    ndarray of shape (k,)

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from topokit.spectrum import top_singular_values
    >>> top_singular_values(sp.csr_array(np.ones((3, 4))), k=2).round(6).tolist()
    [3.464102, 0.0]
    """
    return top_singular_pairs(biadjacency, k).values


def ramanujan_bound(n_in: int, n_out: int, n_edges: int) -> float:
    """The Ramanujan bound ``sqrt(E/n_in - 1) + sqrt(E/n_out - 1)`` of a layer's sizes.

    ``E/n_in`` and ``E/n_out`` are the average degrees of the input and output
    neurons. For a ``(c, d)``-biregular graph the bound is ``sqrt(c - 1) + sqrt(d - 1)``,
    the Marcus-Spielman-Srivastava bound on the nontrivial singular values of a
    bipartite Ramanujan graph: a layer with ``lambda2 <= ramanujan_bound`` is
    Ramanujan-like. A side whose average degree is below 1 contributes 0 (the square
    root of a negative number otherwise).

    Parameters
    ----------
    n_in, n_out : int
        Number of input and output neurons, at least 1.
    n_edges : int
        Number of edges ``E``, at least 0.

    Returns
    -------
    float

    Raises
    ------
    TopokitError
        If a size is not an integer >= 1 or ``n_edges`` is negative.

    Examples
    --------
    A ``(4, 4)``-biregular graph (the projective plane of order 3):

    >>> from topokit.spectrum import ramanujan_bound
    >>> ramanujan_bound(13, 13, 52) == 2 * 3**0.5
    True
    >>> ramanujan_bound(10, 40, 20)  # the outputs' average degree 1/2 contributes 0
    1.0
    """
    n_in = check_int("n_in", n_in, minimum=1)
    n_out = check_int("n_out", n_out, minimum=1)
    n_edges = check_int("n_edges", n_edges, minimum=0)
    return math.sqrt(max(n_edges / n_in - 1.0, 0.0)) + math.sqrt(max(n_edges / n_out - 1.0, 0.0))
