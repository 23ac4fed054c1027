"""Largest singular values of a sparse biadjacency, without forming a dense n_in x n_out array."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

__all__ = ["top_singular_values"]

# Below this many columns in the Gram matrix of the smaller side, a dense
# eigendecomposition of that (small x small) Gram matrix is exact and fast.
_DENSE_GRAM_LIMIT = 600


def top_singular_values(biadjacency: sp.csr_array, k: int = 2) -> np.ndarray:
    """The ``k`` largest singular values of ``biadjacency``, in decreasing order.

    Works on the Gram matrix of the smaller side (``B Bᵀ`` or ``Bᵀ B``): a dense
    eigendecomposition when that side is small, else ARPACK (``eigsh``, largest
    algebraic, no shift-invert) on a matrix-free operator. Missing values (when
    ``k`` exceeds the smaller side) are zeros.

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
    >>> from topokit.metrics._spectral import top_singular_values
    >>> top_singular_values(sp.csr_array(np.ones((3, 4))), k=2).round(6).tolist()
    [3.464102, 0.0]
    """
    matrix = sp.csr_array(biadjacency, dtype=np.float64)
    n_in, n_out = matrix.shape
    small = min(n_in, n_out)
    out = np.zeros(k)
    if matrix.nnz == 0:
        return out
    tall = n_in >= n_out  # Gram matrix on the columns (n_out x n_out) when tall
    if small <= _DENSE_GRAM_LIMIT or k >= small - 1:
        gram = (matrix.T @ matrix) if tall else (matrix @ matrix.T)
        eigenvalues = np.linalg.eigvalsh(gram.toarray())[::-1]
    else:
        transpose = matrix.T.tocsr()

        def gram_matvec(x):
            x = np.asarray(x).ravel()
            return transpose @ (matrix @ x) if tall else matrix @ (transpose @ x)

        operator = spla.LinearOperator((small, small), matvec=gram_matvec, dtype=np.float64)
        v0 = np.random.default_rng(0).standard_normal(small)
        eigenvalues = spla.eigsh(operator, k=k, which="LA", v0=v0, return_eigenvectors=False)
        eigenvalues = np.sort(eigenvalues)[::-1]
    values = np.sqrt(np.clip(eigenvalues[:k], 0.0, None))
    out[: values.size] = values
    return out
