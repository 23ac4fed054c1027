"""topokit.spectrum: singular values against dense SVD, the Ramanujan bound's closed form."""

import math

import numpy as np
import pytest
import scipy.sparse as sp

from topokit import spectrum
from topokit._errors import TopokitError
from topokit.generators import layer_graph, ramanujan
from topokit.metrics import layer_metrics
from topokit.spectrum import ramanujan_bound, top_singular_pairs, top_singular_values


# ------------------------------------------------------------ ramanujan_bound
@pytest.mark.parametrize(
    ("n_in", "n_out", "n_edges", "expected"),
    [
        (13, 13, 52, 2 * math.sqrt(3)),  # projective plane q=3: (4,4)-biregular
        (15, 25, 75, 2 + math.sqrt(2)),  # array code q=5, l=3: c=5, d=3
        (10, 40, 20, 1.0),  # outputs' average degree 1/2 < 1 contributes 0
        (3, 4, 0, 0.0),  # no edges: both sides contribute 0
        (1, 1, 1, 0.0),  # a single edge: both average degrees are 1
    ],
    ids=["4-4-biregular", "5-3-biregular", "sparse-side", "no-edges", "one-edge"],
)
def test_ramanujan_bound_closed_form(n_in, n_out, n_edges, expected):
    assert ramanujan_bound(n_in, n_out, n_edges) == pytest.approx(expected, rel=1e-14, abs=0)


def test_ramanujan_bound_of_biregular_is_marcus_spielman_srivastava():
    """(c, d)-biregular: E = c·n_in = d·n_out, the bound is sqrt(c − 1) + sqrt(d − 1)."""
    for c, d, n_out in [(3, 5, 12), (7, 2, 14), (6, 6, 9)]:
        n_edges = d * n_out
        n_in = n_edges // c
        expected = math.sqrt(c - 1) + math.sqrt(d - 1)
        assert ramanujan_bound(n_in, n_out, n_edges) == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((0, 3, 2), r"n_in must be >= 1, got 0"),
        ((3, 0, 2), r"n_out must be >= 1, got 0"),
        ((3, 3, -1), r"n_edges must be >= 0, got -1"),
        ((2.5, 3, 2), r"n_in must be an integer, got 2\.5"),
    ],
    ids=["n_in-zero", "n_out-zero", "negative-edges", "fractional-size"],
)
def test_ramanujan_bound_rejects_bad_sizes(args, match):
    with pytest.raises(TopokitError, match=match):
        ramanujan_bound(*args)


def test_metrics_and_ramanujan_family_use_the_same_bound():
    graph = ramanujan(60, 40, degree=6, rng=3)
    result = layer_metrics(graph, keys=["ramanujan_bound", "ramanujan_gap", "lambda2"])
    bound = ramanujan_bound(60, 40, graph.n_edges)
    assert result["ramanujan_bound"] == bound
    assert result["ramanujan_gap"] == bound - result["lambda2"]
    assert result["ramanujan_gap"] >= 0.0  # the family certifies lambda2 <= bound


# -------------------------------------------------------- top singular values
@pytest.mark.parametrize("path", ["dense", "iterative"])
@pytest.mark.parametrize(("n_in", "n_out"), [(60, 45), (45, 60)], ids=["tall", "wide"])
def test_top_singular_values_against_dense_svd(n_in, n_out, path, monkeypatch):
    if path == "iterative":
        monkeypatch.setattr(spectrum, "_DENSE_GRAM_LIMIT", 2)
    graph = layer_graph("erdos_renyi", n_in, n_out, density=0.2, rng=11)
    expected = np.linalg.svd(graph.biadjacency.toarray(), compute_uv=False)[:4]
    np.testing.assert_allclose(top_singular_values(graph.biadjacency, 4), expected, rtol=1e-8)


def test_top_singular_values_pads_with_zeros():
    values = top_singular_values(sp.csr_array(np.eye(2)), k=4)
    np.testing.assert_array_equal(values, [1.0, 1.0, 0.0, 0.0])


def test_top_singular_pairs_vectors_are_singular_vectors():
    """B v = σ u with ‖u‖ = 1: ‖(Bᵀ B) v − σ² v‖ vanishes for vectors on the small side."""
    graph = layer_graph("erdos_renyi", 50, 30, density=0.3, rng=2)
    pairs = top_singular_pairs(graph.biadjacency, 3)
    assert pairs.tall
    gram = (graph.biadjacency.T @ graph.biadjacency).toarray()
    for sigma, vector in zip(pairs.values, pairs.vectors.T, strict=True):
        np.testing.assert_allclose(gram @ vector, sigma**2 * vector, atol=1e-9 * sigma**2)


def test_zero_operator_after_deflation_iterative(monkeypatch):
    """K_{m,n} through ARPACK: the deflated Gram matrix is zero, so lambda2 = 0."""
    monkeypatch.setattr(spectrum, "_DENSE_GRAM_LIMIT", 2)
    pairs = top_singular_pairs(
        sp.csr_array(np.ones((30, 50))), 1, deflate=np.full(30, 1 / np.sqrt(30))
    )
    assert pairs.values[0] == pytest.approx(0.0, abs=1e-9)
