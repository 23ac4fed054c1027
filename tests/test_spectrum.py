"""topokit.spectrum: singular values against dense SVD, the Ramanujan bound's closed form."""

import math

import numpy as np
import pytest
import scipy.sparse as sp

from topokit import spectrum
from topokit._errors import TopokitError
from topokit.generators import layer_graph, ramanujan
from topokit.graph import LayerGraph
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


# ------------------------------------------- the certified Lanczos path (k <= 4)
def _two_components(matrix):
    """Two copies of a layer side by side: every singular value twice."""
    return sp.block_diag([matrix, matrix], format="csr")


def _lanczos_cases():
    regular = layer_graph("biregular", 60, 60, degree=5, rng=1).biadjacency
    biregular = layer_graph("biregular", 90, 60, degree=6, rng=2).biadjacency  # c=4, d=6
    irregular = layer_graph("erdos_renyi", 70, 50, density=0.1, rng=3).biadjacency
    # K(1,5), K(2,2), one edge and an isolated input: singular values √5, 2, 1, 0, 0
    star_and_more = np.zeros((5, 8))
    star_and_more[0, :5] = 1.0
    star_and_more[1:3, 5:7] = 1.0
    star_and_more[3, 7] = 1.0
    return {
        "regular": regular,
        "biregular-4-6": biregular,
        "irregular": irregular,
        "two-components": _two_components(biregular),
        "star-and-more": sp.csr_array(star_and_more),
    }


@pytest.mark.parametrize("name", list(_lanczos_cases()))
def test_lanczos_pairs_against_dense_svd(name, monkeypatch):
    monkeypatch.setattr(spectrum, "_DENSE_GRAM_LIMIT", 1)
    matrix = _lanczos_cases()[name]
    small = min(matrix.shape)
    k = min(4, small - 2)  # above that the dense path runs
    assert k >= 3
    pairs = top_singular_pairs(matrix, k)
    expected = np.linalg.svd(matrix.toarray(), compute_uv=False)[:k]
    np.testing.assert_allclose(pairs.values, expected, rtol=1e-8, atol=1e-12)
    # each vector is certified: ‖G v − σ² v‖ <= 1e-10 max(σ², 1e-3 ‖G‖)
    dense = matrix.toarray()
    gram = dense.T @ dense if pairs.tall else dense @ dense.T
    norm = np.linalg.norm(gram, 2)
    for sigma, vector in zip(pairs.values, pairs.vectors.T, strict=True):
        residual = np.linalg.norm(gram @ vector - sigma**2 * vector)
        assert residual <= 1.01e-10 * max(sigma**2, 1e-3 * norm) + 1e-13


@pytest.mark.parametrize("name", ["regular", "biregular-4-6", "two-components"])
def test_lanczos_deflated_biregular_against_dense_svd(name, monkeypatch):
    """The metrics' use: the exact top pair of a biregular graph deflated, the next found."""
    monkeypatch.setattr(spectrum, "_DENSE_GRAM_LIMIT", 1)
    matrix = _lanczos_cases()[name]
    small = min(matrix.shape)
    pairs = top_singular_pairs(matrix, 1, deflate=np.full(small, 1 / np.sqrt(small)))
    expected = np.linalg.svd(matrix.toarray(), compute_uv=False)[1]
    assert pairs.values[0] == pytest.approx(expected, rel=1e-8)


def test_two_components_have_lambda2_equal_to_lambda1(monkeypatch):
    monkeypatch.setattr(spectrum, "_DENSE_GRAM_LIMIT", 1)
    matrix = _lanczos_cases()["two-components"]
    result = layer_metrics(
        LayerGraph(matrix), ["n_components", "lambda1", "lambda2", "fiedler_value"]
    )
    assert result["n_components"] == 2
    assert result["lambda1"] == pytest.approx(np.sqrt(4 * 6), rel=1e-12)
    assert result["lambda2"] == pytest.approx(result["lambda1"], rel=1e-8)
    assert result["fiedler_value"] == 0.0


def test_lanczos_agrees_with_the_arpack_reference():
    """Above the dense limit without patching: both iterative methods, one graph."""
    graph = layer_graph("biregular", 1200, 800, degree=9, rng=4)  # c=6, d=9
    small = 800
    top = np.full(small, 1 / np.sqrt(small))
    ours = top_singular_pairs(graph.biadjacency, 1, deflate=top).values[0]
    reference = spectrum._arpack_singular_pairs(graph.biadjacency, 1, deflate=top).values[0]
    assert ours == pytest.approx(reference, rel=1e-9)
    both = top_singular_pairs(graph.biadjacency, 2).values
    assert both[0] == pytest.approx(np.sqrt(6 * 9), rel=1e-12)
    assert both[1] == pytest.approx(reference, rel=1e-9)


def test_many_pairs_use_arpack(monkeypatch):
    """Above four pairs one ARPACK run finds them all; its values match dense SVD."""
    monkeypatch.setattr(spectrum, "_DENSE_GRAM_LIMIT", 1)
    monkeypatch.setattr(spectrum, "top_eigenpair", None)  # the Lanczos path would fail
    graph = layer_graph("erdos_renyi", 80, 60, density=0.2, rng=5)
    expected = np.linalg.svd(graph.biadjacency.toarray(), compute_uv=False)[:6]
    np.testing.assert_allclose(top_singular_values(graph.biadjacency, 6), expected, rtol=1e-8)
