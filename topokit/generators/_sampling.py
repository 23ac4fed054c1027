"""Helpers shared by the random families: size checks, sampling, canonical CSR assembly.

An edge (input i, output j) is encoded as the id ``i * n_out + j`` (int64), so sorting
ids sorts edges row-major, which is the order of a canonical CSR biadjacency.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from topokit._validation import check_int, edge_count

__all__ = [
    "check_sizes",
    "contains",
    "csr_from_edges",
    "csr_from_sorted_ids",
    "distinct_integers",
    "feasible_density",
    "first_occurrences",
    "near_regular_degrees",
    "sorted_unique",
]


def check_sizes(n_in, n_out) -> tuple[int, int]:
    """``(n_in, n_out)`` as ints >= 1, or TopokitError naming the bad one."""
    return check_int("n_in", n_in, minimum=1), check_int("n_out", n_out, minimum=1)


def _index_dtype(n_edges: int, n_in: int, n_out: int):
    """int32 where it fits (the canonical choice of LayerGraph), else int64."""
    return np.int32 if n_edges < 2**31 and max(n_in, n_out) < 2**31 else np.int64


def csr_from_sorted_ids(edge_ids: np.ndarray, n_in: int, n_out: int) -> sp.csr_array:
    """Canonical CSR biadjacency from sorted, distinct edge ids ``i * n_out + j``."""
    rows = edge_ids // n_out
    cols = edge_ids - rows * n_out
    dtype = _index_dtype(edge_ids.size, n_in, n_out)
    indptr = np.zeros(n_in + 1, dtype=dtype)
    np.cumsum(np.bincount(rows, minlength=n_in), out=indptr[1:])
    csr = sp.csr_array(
        (np.ones(edge_ids.size), cols.astype(dtype), indptr), shape=(n_in, n_out), copy=False
    )
    csr.has_sorted_indices = True
    return csr


def csr_from_edges(inputs: np.ndarray, outputs: np.ndarray, n_in: int, n_out: int) -> sp.csr_array:
    """Canonical CSR biadjacency from distinct edges given by their two endpoints."""
    edge_ids = inputs.astype(np.int64) * n_out + outputs
    edge_ids.sort()
    return csr_from_sorted_ids(edge_ids, n_in, n_out)


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted (a sort and a diff; faster than ``np.unique`` here)."""
    ordered = np.sort(values)
    if ordered.size == 0:
        return ordered
    keep = np.empty(ordered.size, dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def first_occurrences(values: np.ndarray) -> np.ndarray:
    """Boolean mask, True where a value appears for the first time in ``values``."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    first = np.ones(values.size, dtype=bool)
    if values.size:
        first[order[1:]] = ordered[1:] != ordered[:-1]
    return first


def contains(sorted_values: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Boolean mask, True where ``queries`` occur in the sorted array ``sorted_values``."""
    if sorted_values.size == 0:
        return np.zeros(queries.shape, dtype=bool)
    position = np.searchsorted(sorted_values, queries)
    position[position == sorted_values.size] = 0
    return sorted_values[position] == queries


def distinct_integers(rng: np.random.Generator, population: int, count: int) -> np.ndarray:
    """A uniformly random ``count``-subset of ``range(population)``, sorted, int64.

    O(count log count) time and memory for ``count <= population / 2``: draw with
    replacement, keep the distinct values, top up, then drop a uniformly random
    surplus (the distinct set is exchangeable, so the result is uniform). Larger
    counts draw the complement instead, which costs O(population) <= O(2 count).
    """
    if 2 * count > population:
        keep = np.ones(population, dtype=bool)
        keep[distinct_integers(rng, population, population - count)] = False
        return np.flatnonzero(keep).astype(np.int64, copy=False)
    values = np.empty(0, dtype=np.int64)
    while values.size < count:
        missing = count - values.size
        free_fraction = 1.0 - (values.size + missing / 2) / population
        n_draws = int(missing / free_fraction * 1.02) + 16
        draws = rng.integers(0, population, size=n_draws, dtype=np.int64)
        values = sorted_unique(np.concatenate([values, draws]))
    if values.size > count:
        surplus = rng.choice(values.size, values.size - count, replace=False)
        values = np.delete(values, surplus)
    return values


def near_regular_degrees(rng: np.random.Generator, n_nodes: int, n_edges: int) -> np.ndarray:
    """Degrees ``floor(n_edges / n_nodes)`` or one more, summing to ``n_edges``.

    The ``n_edges % n_nodes`` nodes that get one more are chosen uniformly at random.
    """
    degrees = np.full(n_nodes, n_edges // n_nodes, dtype=np.int64)
    degrees[rng.choice(n_nodes, n_edges % n_nodes, replace=False)] += 1
    return degrees


def feasible_density(n_in: int, n_out: int, n_edges: int) -> str:
    """The shortest decimal density that gives exactly ``n_edges`` edges, as text."""
    exact = n_edges / (n_in * n_out)
    for digits in range(3, 18):
        text = f"{exact:.{digits}g}"
        if edge_count(n_in, n_out, density=float(text)) == n_edges:
            return text
    return repr(exact)
