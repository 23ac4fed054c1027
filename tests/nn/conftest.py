"""Shared fixtures for the nn tests: random layer patterns, small topologies, thread counts."""

import itertools

import numba
import numpy as np
import pytest
import scipy.sparse as sp

from topokit.graph import LayerGraph
from topokit.topology import Topology


def random_pattern(n_in, n_out, density, rng, *, empty_rows=(), empty_cols=()):
    """A random binary (n_in, n_out) LayerGraph with the given rows/columns left empty."""
    mask = rng.random((n_in, n_out)) < density
    mask[list(empty_rows), :] = False
    mask[:, list(empty_cols)] = False
    if not mask.any():
        mask[n_in - 1, n_out - 1] = True
    return LayerGraph(sp.csr_array(mask.astype(np.float64)))


@pytest.fixture
def make_pattern():
    """Factory: ``make_pattern(n_in, n_out, density, seed, empty_rows=, empty_cols=)``."""

    def make(n_in, n_out, density, seed=0, **empty):
        return random_pattern(n_in, n_out, density, np.random.default_rng(seed), **empty)

    return make


@pytest.fixture
def make_topology():
    """Factory: random sparse topology with sizes ``sizes`` at ``density`` per layer."""

    def make(sizes, density, seed=0):
        rng = np.random.default_rng(seed)
        return Topology([random_pattern(a, b, density, rng) for a, b in itertools.pairwise(sizes)])

    return make


@pytest.fixture
def on_one_and_all_threads():
    """``run_twice(run)``: ``run()`` on one numba thread, then on all; returns both results.

    The thread count is restored afterwards, whatever ``run`` raises.
    """

    def run_twice(run):
        before = numba.get_num_threads()
        try:
            numba.set_num_threads(1)
            one = run()
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
            return one, run()
        finally:
            numba.set_num_threads(before)

    return run_twice
