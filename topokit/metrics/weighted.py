"""Metrics of a layer with weights: the spectrum of ``|W|`` (keys and definitions: DESIGN.md).

A layer graph's ``lambda1`` and ``lambda2`` are the top singular values of its binary
biadjacency; a trained or pruned layer also has weights, and Hoang et al. (2023) read
the Ramanujan-like quality of a learned graph from the spectrum of the weighted
biadjacency ``|W|`` (the magnitudes on the edges). The singular values come from
:func:`topokit.spectrum.top_singular_values`, on the stored entries only: cost grows
with the edges, never with ``n_in * n_out``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from topokit._errors import TopokitError
from topokit.metrics.layer import _select_keys
from topokit.spectrum import top_singular_values

__all__ = ["WEIGHTED_METRICS", "weighted_metrics"]

#: The keys of :func:`weighted_metrics`, in order.
WEIGHTED_METRICS: tuple[str, ...] = (
    "weighted_lambda1",
    "weighted_lambda2",
    "weighted_spectral_gap",
)


def _magnitudes(weights) -> sp.csr_array:
    """``|W|`` as a float64 CSR array of shape (n_in, n_out), checked."""
    if sp.issparse(weights):
        matrix = sp.csr_array(weights, dtype=np.float64)
    else:
        try:
            array = np.asarray(weights)
        except (TypeError, ValueError) as exc:
            raise TopokitError(
                f"weights must be a 2-D array of shape (n_in, n_out), got "
                f"{type(weights).__name__}: {exc}"
            ) from exc
        if array.dtype == object or not (
            np.issubdtype(array.dtype, np.number) or array.dtype == bool
        ):
            raise TopokitError(f"weights must be a numeric 2-D array, got dtype {array.dtype}")
        if array.ndim != 2:
            raise TopokitError(
                f"weights must be a 2-D array of shape (n_in, n_out), got shape {array.shape}"
            )
        matrix = sp.csr_array(array.astype(np.float64, copy=False))
    if min(matrix.shape) < 1:
        raise TopokitError(
            f"weights must have at least one row and one column, got shape {matrix.shape}"
        )
    if not np.all(np.isfinite(matrix.data)):
        bad = int(np.count_nonzero(~np.isfinite(matrix.data)))
        raise TopokitError(f"weights must be finite, got {bad} NaN or infinite entries")
    return sp.csr_array((np.abs(matrix.data), matrix.indices, matrix.indptr), shape=matrix.shape)


def weighted_metrics(weights, keys=None) -> dict:
    """Spectral metrics of a layer's weight magnitudes ``|W|``, as a JSON-ready dict.

    ``weighted_lambda1`` and ``weighted_lambda2`` are the two largest singular values of
    ``|W|`` (the two largest eigenvalues of the weighted bipartite adjacency
    ``[[0, |W|], [|W|ᵀ, 0]]``), ``weighted_spectral_gap`` their difference, as
    ``spectral_gap`` is for the binary biadjacency (``lambda1 - lambda2``). With all
    weights 1 they are ``lambda1``, ``lambda2`` and ``spectral_gap``. ``weighted_lambda2``
    is 0 when the smaller side has a single neuron.

    Parameters
    ----------
    weights : array_like or scipy.sparse array of shape (n_in, n_out)
        The layer's weights, ``X @ W`` (a trained layer's ``SparseLinear.weight``, a
        matrix of a weights file); a sparse matrix is used through its stored entries
        only. The signs are dropped.
    keys : iterable of str, optional
        The metrics to compute (any order; a single name is accepted). All by default.

    Returns
    -------
    dict
        ``{key: value}`` in ``WEIGHTED_METRICS`` order, values plain ``float``.

    Raises
    ------
    TopokitError
        If ``weights`` is not a finite numeric 2-D matrix with at least one row and one
        column, or a key is unknown (the message lists the valid keys).

    References
    ----------
    - D. N. Hoang, S. Liu, R. Marculescu, Z. Wang, "Revisiting Pruning at Initialization
      through the Lens of Ramanujan Graph", ICLR (2023): the weighted spectral gap of
      ``|W|`` of pruned layers.

    Examples
    --------
    >>> import numpy as np
    >>> from topokit.metrics import weighted_metrics
    >>> W = np.array([[2.0, 0.0], [0.0, -1.0], [0.0, 0.0]])   # (n_in, n_out)
    >>> weighted_metrics(W)
    {'weighted_lambda1': 2.0, 'weighted_lambda2': 1.0, 'weighted_spectral_gap': 1.0}
    """
    selected = _select_keys(keys, WEIGHTED_METRICS, "weighted metric")
    magnitudes = _magnitudes(weights)
    if not selected:
        return {}
    lambda1, lambda2 = (float(value) for value in top_singular_values(magnitudes, k=2))
    values = {
        "weighted_lambda1": lambda1,
        "weighted_lambda2": lambda2,
        "weighted_spectral_gap": lambda1 - lambda2,
    }
    return {key: values[key] for key in selected}
