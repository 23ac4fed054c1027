"""Lazily computed facts about one bipartite graph, shared by the metric functions.

Each fact (degrees, components, singular values, Fiedler pair) is computed on first use
and cached, so a metric asks for what it needs and nothing more is computed.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from topokit.metrics._expansion import independent_directions, sweep_expansion
from topokit.metrics._laplacian import fiedler_pair
from topokit.spectrum import top_singular_pairs

__all__ = ["GraphFacts"]

# Largest Fiedler eigenspace rotated to independent directions (cost O(N m² iterations)).
_MAX_ROTATED = 32


class GraphFacts:
    """Cached facts of the bipartite graph with biadjacency ``matrix`` (n_in x n_out)."""

    def __init__(self, matrix: sp.csr_array):
        self.matrix = matrix
        self.n_in, self.n_out = matrix.shape
        self.n_edges = int(matrix.nnz)

    # ------------------------------------------------------------ degrees
    @cached_property
    def fan_out(self) -> np.ndarray:
        """Degrees of the inputs (row sums)."""
        return np.diff(self.matrix.indptr).astype(np.int64)

    @cached_property
    def fan_in(self) -> np.ndarray:
        """Degrees of the outputs (column sums)."""
        return np.bincount(self.matrix.indices, minlength=self.n_out).astype(np.int64)

    @cached_property
    def is_biregular(self) -> bool:
        fan_out, fan_in = self.fan_out, self.fan_in
        return bool(np.all(fan_out == fan_out[0]) and np.all(fan_in == fan_in[0]))

    # --------------------------------------------------------- components
    @cached_property
    def n_components(self) -> int:
        """Connected components of the n_in + n_out node graph (isolated nodes count)."""
        n_nodes = self.n_in + self.n_out
        # The biadjacency as the upper-right block of a directed N x N graph; its weak
        # components are the components of the undirected graph (E entries, not 2E).
        upper = sp.csr_array(
            (self.matrix.data, self.matrix.indices + self.n_in, self.matrix.indptr),
            shape=(self.n_in, n_nodes),
        )
        upper.resize((n_nodes, n_nodes))
        count, _ = connected_components(upper, directed=True, connection="weak")
        return int(count)

    @cached_property
    def connected(self) -> bool:
        return self.n_components == 1

    # ----------------------------------------------------------- spectrum
    @cached_property
    def _top_vector(self) -> np.ndarray | None:
        """Exact top right singular vector on the small side for biregular graphs."""
        if not (self.is_biregular and self.n_edges):
            return None
        small = min(self.n_in, self.n_out)
        return np.full(small, 1.0 / np.sqrt(small))

    @cached_property
    def _deflated_pairs(self):
        """Singular pairs after the exact top pair of a biregular graph."""
        return top_singular_pairs(self.matrix, 1, deflate=self._top_vector)

    @cached_property
    def singular_values(self) -> tuple[float, float]:
        """``(lambda1, lambda2)``; lambda2 = 0 when the smaller side has one neuron."""
        if self._top_vector is not None:
            lambda1 = float(np.sqrt(self.fan_out[0] * self.fan_in[0]))
            return lambda1, float(self._deflated_pairs.values[0])
        values = top_singular_pairs(self.matrix, 2).values
        return float(values[0]), float(values[1])

    @cached_property
    def normalized_second(self) -> float:
        """μ2 of D_in^{-1/2} B D_out^{-1/2} for a connected graph (0 if one singular value)."""
        if self._top_vector is not None:
            return self.singular_values[1] / self.singular_values[0]
        scale_in = 1.0 / np.sqrt(self.fan_out)
        scale_out = 1.0 / np.sqrt(self.fan_in)
        normalized = sp.csr_array(
            (
                scale_in[np.repeat(np.arange(self.n_in), self.fan_out)]
                * scale_out[self.matrix.indices],
                self.matrix.indices,
                self.matrix.indptr,
            ),
            shape=self.matrix.shape,
        )
        small_degrees = self.fan_in if self.n_in >= self.n_out else self.fan_out
        top = np.sqrt(small_degrees / small_degrees.sum())
        return float(top_singular_pairs(normalized, 1, deflate=top).values[0])

    # ----------------------------------------------------------- Laplacian
    @cached_property
    def fiedler(self):
        """``(value, vectors)`` of a connected graph; ``(0.0, None)`` when disconnected."""
        if not self.connected:
            return 0.0, None
        return fiedler_pair(
            self.matrix,
            self.fan_out,
            self.fan_in,
            singular=(lambda: self._deflated_pairs) if self._top_vector is not None else None,
        )

    @cached_property
    def fiedler_value(self) -> float:
        """Algebraic connectivity; 0 when disconnected."""
        return float(self.fiedler[0])

    @cached_property
    def expansion_upper(self) -> float:
        """Best sweep cut over the Fiedler vector(s); exactly 0 when disconnected."""
        if not self.connected:
            return 0.0
        vectors = self.fiedler[1]
        if 1 < vectors.shape[1] <= _MAX_ROTATED:  # repeated Fiedler value: sweep more directions
            vectors = np.hstack([vectors, independent_directions(vectors)])
        return min(sweep_expansion(self.matrix, vectors[:, j]) for j in range(vectors.shape[1]))
