"""Input-to-output reachability through the layers of a network.

Dead neurons come from one boolean sweep per direction (O(E)), and so do the edges that
lie on some input-to-output path: edge (u, v) of layer k does when the sweep from the
inputs reaches u and the sweep back from the outputs reaches v. The number of
(input, output) pairs joined by a path is exact: reachability sets are propagated as
bitsets (64 sources per uint64 word) from the smaller end, a batch of words at a time;
each layer step ORs the words of each node's in-neighbours (a gather and an
``bitwise_or.reduceat`` over CSR rows). Cost O(E_total · n_small / 64) word
operations; memory O((max n_k + max E_k) · words per batch), the batch chosen to keep
that near ``_BATCH_BYTES`` — never n_0 × n_L.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["alive_inputs", "alive_outputs", "effective_edges", "reachable_pairs"]

_BATCH_BYTES = 64 * 2**20


def _reached(layers: list[sp.csr_array]) -> list[np.ndarray]:
    """Per neuron layer 0..L, as 0/1 floats: reached from some input (every input is)."""
    masks = [np.ones(layers[0].shape[0], dtype=np.float64)]
    for matrix in layers:
        masks.append((matrix.T @ masks[-1] > 0).astype(np.float64))
    return masks


def _reaching(layers: list[sp.csr_array]) -> list[np.ndarray]:
    """Per neuron layer 0..L, as 0/1 floats: reaches some output (every output does)."""
    masks = [np.ones(layers[-1].shape[1], dtype=np.float64)]
    for matrix in reversed(layers):
        masks.append((matrix @ masks[-1] > 0).astype(np.float64))
    return masks[::-1]


def alive_outputs(layers: list[sp.csr_array]) -> np.ndarray:
    """Boolean mask of the last-layer neurons that some input reaches."""
    return _reached(layers)[-1] > 0


def alive_inputs(layers: list[sp.csr_array]) -> np.ndarray:
    """Boolean mask of the layer-0 neurons with a path to some last-layer neuron."""
    return _reaching(layers)[0] > 0


def effective_edges(layers: list[sp.csr_array]) -> int:
    """Number of edges that lie on some input-to-output path (O(E)).

    Edge (u, v) of layer k counts when u is reached from some input (every input is) and
    v reaches some output (every output does): ``Σ_k reachedₖᵀ Bₖ reachingₖ₊₁`` over the
    0/1 masks and the binary biadjacencies, exact in float64 below 2**53 edges.
    """
    reached, reaching = _reached(layers), _reaching(layers)
    total = sum(float(reached[k] @ (matrix @ reaching[k + 1])) for k, matrix in enumerate(layers))
    return round(total)


def _popcount(words: np.ndarray) -> int:
    if hasattr(np, "bitwise_count"):
        return int(np.bitwise_count(words).sum(dtype=np.int64))
    return int(np.unpackbits(words.view(np.uint8)).sum(dtype=np.int64))  # numpy < 2


def reachable_pairs(layers: list[sp.csr_array]) -> int:
    """Number of (input, output) pairs joined by a path through all ``layers``."""
    if len(layers) == 1:
        return int(layers[0].nnz)
    n_first, n_last = layers[0].shape[0], layers[-1].shape[1]
    if n_first <= n_last:
        # step k maps sources at layer k to layer k + 1: rows of B_kᵀ gather from B_k's rows
        steps = [matrix.T.tocsr() for matrix in layers]
        n_sources = n_first
    else:
        steps = [matrix.tocsr() for matrix in reversed(layers)]
        n_sources = n_last
    n_words = -(-n_sources // 64)
    widest = max(max(step.shape[0], step.shape[1], step.nnz) for step in steps)
    batch = int(min(n_words, max(1, _BATCH_BYTES // (8 * widest))))
    total = 0
    for first_word in range(0, n_words, batch):
        words = min(batch, n_words - first_word)
        first, stop = first_word * 64, min(n_sources, (first_word + words) * 64)
        bits = np.zeros((n_sources, words), dtype=np.uint64)
        sources = np.arange(first, stop)
        offset = sources - first
        bits[sources, offset // 64] = np.left_shift(np.uint64(1), (offset % 64).astype(np.uint64))
        for step in steps:
            bits = _or_over_rows(step, bits)
        total += _popcount(bits)
    return total


def _or_over_rows(step: sp.csr_array, bits: np.ndarray) -> np.ndarray:
    """``out[j] = OR of bits[i] over the stored i of row j`` of ``step``."""
    out = np.zeros((step.shape[0], bits.shape[1]), dtype=np.uint64)
    nonempty = np.diff(step.indptr) > 0
    if step.nnz:
        gathered = bits[step.indices]
        out[nonempty] = np.bitwise_or.reduceat(gathered, step.indptr[:-1][nonempty], axis=0)
    return out
