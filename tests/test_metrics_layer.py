"""Per-layer metrics against closed-form spectra, dense numpy, networkx and igraph."""

import itertools
import json
import math

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from topokit import spectrum
from topokit._errors import TopokitError
from topokit.graph import LayerGraph
from topokit.metrics import LAYER_METRICS, _facts, _laplacian, layer_metrics
from topokit.metrics._expansion import sweep_expansion

RTOL = 1e-8


# ------------------------------------------------------------------ builders
def complete(m, n):
    return np.ones((m, n))


def crown(n):
    """K_{n,n} minus a perfect matching."""
    return np.ones((n, n)) - np.eye(n)


def even_cycle(n):
    """C_{2n} as a bipartite graph: input i joins outputs i and i+1 (mod n)."""
    matrix = np.eye(n) + np.roll(np.eye(n), 1, axis=1)
    return np.minimum(matrix, 1)


def hypercube(d):
    """Q_d split into even and odd weight vertices; edges flip one bit."""
    vertices = np.arange(2**d)
    weight = np.array([bin(v).count("1") for v in vertices])
    even, odd = vertices[weight % 2 == 0], vertices[weight % 2 == 1]
    position = {v: j for j, v in enumerate(odd)}
    matrix = np.zeros((even.size, odd.size))
    for i, v in enumerate(even):
        for bit in range(d):
            matrix[i, position[v ^ (1 << bit)]] = 1
    return matrix, even, odd


def projective_plane(q):
    """Point-line incidence of PG(2, q), q prime, built from normalized vectors mod q."""
    points = []
    for vector in itertools.product(range(q), repeat=3):
        vector = np.array(vector)
        nonzero = np.nonzero(vector)[0]
        if nonzero.size and vector[nonzero[0]] == 1:
            points.append(vector)
    points = np.array(points)
    return (points @ points.T % q == 0).astype(float)


def random_biregular(n_in, n_out, c, seed):
    """Every input of degree c, every output of degree n_in*c/n_out, no repeated edge.

    Configuration model; a repeated edge's slot is swapped with a random slot until
    none is left (degrees are kept by every swap).
    """
    rng = np.random.default_rng(seed)
    d = n_in * c // n_out
    targets = rng.permutation(np.repeat(np.arange(n_out), d)).reshape(n_in, c)
    while True:
        ordered = np.sort(targets, axis=1)
        bad = np.nonzero((ordered[:, 1:] == ordered[:, :-1]).any(axis=1))[0]
        if bad.size == 0:
            break
        for row in bad:
            other = rng.integers(n_in), rng.integers(c)
            slot = rng.integers(c)
            targets[row, slot], targets[other] = targets[other], targets[row, slot]
    matrix = np.zeros((n_in, n_out))
    matrix[np.repeat(np.arange(n_in), c), targets.ravel()] = 1
    return matrix


def random_regular(n, d, seed):
    return random_biregular(n, n, d, seed)


def dense_laplacian(matrix):
    n_in, n_out = matrix.shape
    adjacency = np.zeros((n_in + n_out, n_in + n_out))
    adjacency[:n_in, n_in:] = matrix
    adjacency[n_in:, :n_in] = matrix.T
    return np.diag(adjacency.sum(axis=1)) - adjacency


def metrics(matrix, keys=None):
    return layer_metrics(LayerGraph(matrix), keys)


@pytest.fixture(params=["dense", "iterative"])
def path(request, monkeypatch):
    """Run a test on the dense solvers and again with the iterative (Lanczos) ones."""
    if request.param == "iterative":
        monkeypatch.setattr(spectrum, "_DENSE_GRAM_LIMIT", 2)
        monkeypatch.setattr(_laplacian, "_DENSE_LAPLACIAN_LIMIT", 4)
    return request.param


# -------------------------------------------------------------- closed forms
@pytest.mark.parametrize(("m", "n"), [(1, 1), (1, 5), (4, 1), (3, 3), (5, 8), (9, 4)])
def test_complete_bipartite(m, n, path):
    result = metrics(complete(m, n))
    assert result["lambda1"] == pytest.approx(np.sqrt(m * n), rel=RTOL)
    assert result["lambda2"] == pytest.approx(0.0, abs=1e-9)
    # Laplacian eigenvalues 0, m (n-1 times), n (m-1 times), m+n: K_{1,1} has only 0, 2.
    expected = 2 if m == n == 1 else min(m, n)
    assert result["fiedler_value"] == pytest.approx(expected, rel=RTOL)
    assert result["normalized_spectral_gap"] == pytest.approx(1.0, rel=RTOL)
    assert result["n_components"] == 1
    assert result["is_biregular"] is True


@pytest.mark.parametrize("n", [3, 4, 7, 12])
def test_crown_graph(n, path):
    result = metrics(crown(n))
    assert result["lambda1"] == pytest.approx(n - 1, rel=RTOL)
    assert result["lambda2"] == pytest.approx(1.0, rel=RTOL)
    # (n-1)-regular: Laplacian eigenvalues (n-1) ∓ σ, so the Fiedler value is n - 2.
    assert result["fiedler_value"] == pytest.approx(n - 2, rel=RTOL)


@pytest.mark.parametrize("n", [2, 3, 5, 8, 13])
def test_even_cycle(n, path):
    result = metrics(even_cycle(n))
    laplacian = 2 - 2 * np.cos(2 * np.pi * np.arange(2 * n) / (2 * n))
    assert result["fiedler_value"] == pytest.approx(np.sort(laplacian)[1], rel=RTOL)
    assert result["lambda1"] == pytest.approx(2.0, rel=RTOL)
    assert result["lambda2"] == pytest.approx(2 * np.cos(np.pi / n), rel=RTOL, abs=1e-12)
    # h(C_2n) = 2 / n: an arc of n nodes has 2 boundary edges; sweeps find an arc.
    assert result["edge_expansion_upper"] == pytest.approx(2 / n, rel=RTOL)


@pytest.mark.parametrize("d", [2, 3, 4, 5, 6])
def test_hypercube(d, path):
    matrix, _, _ = hypercube(d)
    result = metrics(matrix)
    assert result["fiedler_value"] == pytest.approx(2.0, rel=RTOL)
    assert result["edge_expansion_lower"] == pytest.approx(1.0, rel=RTOL)
    assert result["lambda1"] == pytest.approx(d, rel=RTOL)
    assert result["lambda2"] == pytest.approx(d - 2, rel=RTOL, abs=1e-9)
    if path == "dense":  # the whole Fiedler eigenspace: the coordinate cut is found
        assert result["edge_expansion_upper"] == 1.0
    else:  # one vector of the eigenspace: a real cut, so at least h(Q_d) = 1
        assert result["edge_expansion_upper"] >= 1.0


@pytest.mark.parametrize("d", [2, 3, 5, 7])
def test_hypercube_coordinate_sweep_finds_expansion_one(d):
    matrix, even, odd = hypercube(d)
    coordinate = np.concatenate([(-1.0) ** (even & 1), (-1.0) ** (odd & 1)])
    assert sweep_expansion(sp.csr_array(matrix), coordinate) == 1.0


@pytest.mark.parametrize("d", [2, 3, 4, 5, 6])
def test_hypercube_laplacian_spectrum_matches_binomial(d):
    matrix, _, _ = hypercube(d)
    expected = np.sort(np.repeat(2 * np.arange(d + 1), [math.comb(d, k) for k in range(d + 1)]))
    assert np.linalg.eigvalsh(dense_laplacian(matrix)) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("q", [2, 3, 5, 7])
def test_projective_plane(q, path):
    matrix = projective_plane(q)
    assert matrix.sum(axis=0) == pytest.approx(np.full(q * q + q + 1, q + 1))
    result = metrics(matrix)
    assert result["lambda1"] == pytest.approx(q + 1, rel=RTOL)
    assert result["lambda2"] == pytest.approx(np.sqrt(q), rel=RTOL)
    assert result["fiedler_value"] == pytest.approx(q + 1 - np.sqrt(q), rel=RTOL)
    assert result["ramanujan_gap"] == pytest.approx(2 * np.sqrt(q) - np.sqrt(q), rel=RTOL)


@pytest.mark.parametrize(("n", "d", "seed"), [(30, 3, 0), (200, 4, 1), (500, 6, 2)])
def test_regular_fiedler_is_degree_minus_lambda2(n, d, seed, path):
    result = metrics(random_regular(n, d, seed))
    assert result["fiedler_value"] == pytest.approx(d - result["lambda2"], rel=1e-8)


@pytest.mark.parametrize(("n_in", "c", "seed"), [(40, 3, 0), (120, 2, 1), (60, 4, 2)])
def test_biregular_laplacian_roots(n_in, c, seed, path):
    """(c, d)-biregular: each singular value σ gives the Laplacian roots of (x-c)(x-d) = σ²."""
    n_out = n_in // 2  # d = 2c
    matrix = random_biregular(n_in, n_out, c, seed)
    assert nx.is_connected(LayerGraph(matrix).to_networkx())
    d = 2 * c
    sigma2 = np.linalg.svd(matrix, compute_uv=False)[1]
    roots = np.roots([1.0, -(c + d), c * d - sigma2**2])
    result = metrics(matrix)
    assert result["fiedler_value"] == pytest.approx(roots.min(), rel=1e-8)
    assert result["fiedler_value"] == pytest.approx(
        np.linalg.eigvalsh(dense_laplacian(matrix))[1], rel=1e-8
    )


# --------------------------------------------------------- dense oracle (fuzz)
def brute_force_expansion(matrix):
    laplacian = dense_laplacian(matrix)
    adjacency = np.diag(np.diag(laplacian)) - laplacian
    n_nodes = adjacency.shape[0]
    best = np.inf
    for size in range(1, n_nodes // 2 + 1):
        for subset in itertools.combinations(range(n_nodes), size):
            inside = np.zeros(n_nodes, dtype=bool)
            inside[list(subset)] = True
            best = min(best, adjacency[inside][:, ~inside].sum() / size)
    return best


@st.composite
def small_biadjacency(draw):
    n_in = draw(st.integers(1, 7))
    n_out = draw(st.integers(1, 6))
    density = draw(st.sampled_from([0.0, 0.15, 0.3, 0.6, 1.0]))
    seed = draw(st.integers(0, 2**16))
    return (np.random.default_rng(seed).random((n_in, n_out)) < density).astype(float)


@settings(max_examples=60, deadline=None)
@given(small_biadjacency())
def test_against_dense_numpy(matrix):
    result = metrics(matrix)
    n_in, n_out = matrix.shape
    singular = np.concatenate([np.linalg.svd(matrix, compute_uv=False), [0.0]])
    laplacian_values = np.linalg.eigvalsh(dense_laplacian(matrix))
    n_components = int(np.sum(laplacian_values < 1e-9))
    fan_in, fan_out = matrix.sum(axis=0), matrix.sum(axis=1)
    assert result["n_edges"] == matrix.sum()
    assert result["fan_in_min"] == fan_in.min()
    assert result["fan_out_max"] == fan_out.max()
    assert result["isolated_inputs"] == np.sum(fan_out == 0)
    assert result["isolated_outputs"] == np.sum(fan_in == 0)
    assert result["n_components"] == n_components
    assert result["lambda1"] == pytest.approx(singular[0], rel=RTOL, abs=1e-12)
    assert result["lambda2"] == pytest.approx(singular[1], rel=RTOL, abs=1e-12)
    if n_components == 1:
        normalized = matrix / np.sqrt(np.outer(fan_out, fan_in))
        mu = np.concatenate([np.linalg.svd(normalized, compute_uv=False), [0.0]])
        assert result["normalized_spectral_gap"] == pytest.approx(1 - mu[1], rel=RTOL, abs=1e-12)
        assert result["fiedler_value"] == pytest.approx(laplacian_values[1], rel=RTOL)
    else:
        assert result["normalized_spectral_gap"] == 0.0
        assert result["fiedler_value"] == 0.0
        assert result["edge_expansion_upper"] == 0.0
    if n_in + n_out <= 11:
        h = brute_force_expansion(matrix)
        assert result["edge_expansion_lower"] <= h + 1e-12
        assert result["edge_expansion_upper"] >= h - 1e-12


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_expansion_upper_is_a_real_cut(seed):
    matrix = (np.random.default_rng(seed).random((6, 5)) < 0.5).astype(float)
    matrix[0, 0] = matrix[1, 0] = matrix[0, 1] = 1
    upper = metrics(matrix, ["edge_expansion_upper"])["edge_expansion_upper"]
    laplacian = dense_laplacian(matrix)
    adjacency = np.diag(np.diag(laplacian)) - laplacian
    n_nodes = adjacency.shape[0]
    ratios = {
        adjacency[list(s)][:, [v for v in range(n_nodes) if v not in s]].sum() / len(s)
        for size in range(1, n_nodes // 2 + 1)
        for s in itertools.combinations(range(n_nodes), size)
    }
    assert upper in ratios


# --------------------------------------------------------- networkx / igraph
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_against_networkx(seed):
    rng = np.random.default_rng(seed)
    matrix = (rng.random((25, 18)) < 0.2).astype(float)
    graph = LayerGraph(matrix)
    nx_graph = graph.to_networkx()
    result = layer_metrics(graph)
    assert result["n_components"] == nx.number_connected_components(nx_graph)
    nx_laplacian = np.linalg.eigvalsh(nx.laplacian_matrix(nx_graph).toarray())
    if nx.is_connected(nx_graph):
        assert result["fiedler_value"] == pytest.approx(
            nx.algebraic_connectivity(nx_graph, tol=1e-12), rel=1e-7
        )
        assert result["fiedler_value"] == pytest.approx(nx_laplacian[1], rel=RTOL)
    else:
        assert result["fiedler_value"] == 0.0


@pytest.mark.parametrize("seed", [0, 1])
def test_against_igraph(seed):
    matrix = (np.random.default_rng(seed).random((30, 30)) < 0.3).astype(float)
    graph = LayerGraph(matrix)
    laplacian = np.asarray(graph.to_igraph().laplacian(), dtype=float)
    values = np.linalg.eigvalsh(laplacian)
    assert graph.to_igraph().is_connected()
    assert layer_metrics(graph)["fiedler_value"] == pytest.approx(values[1], rel=RTOL)


# ------------------------------------------------------------- API contract
def test_keys_in_design_order_and_json_ready():
    result = metrics(crown(5))
    assert tuple(result) == LAYER_METRICS
    assert len(LAYER_METRICS) == 23
    json.dumps(result)
    for key, value in result.items():
        expected = bool if key == "is_biregular" else (int, float)
        assert type(value) in (expected if isinstance(expected, tuple) else (expected,)), key


def test_subset_of_keys_in_contract_order():
    result = metrics(crown(4), keys=["lambda2", "n_in"])
    assert list(result) == ["n_in", "lambda2"]


def test_cheap_keys_do_no_eigensolve(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("no eigensolve expected")

    monkeypatch.setattr(_facts, "top_singular_pairs", forbidden)
    monkeypatch.setattr(_facts, "fiedler_pair", forbidden)
    keys = ["fan_in_mean", "fan_out_max", "density", "n_components", "ramanujan_bound"]
    result = metrics(crown(6), keys=keys)
    assert result["fan_in_mean"] == 5.0


def test_unknown_key_lists_valid_keys():
    with pytest.raises(TopokitError, match=r"unknown layer metric key\(s\) \['lambda3'\].*lambda2"):
        metrics(crown(3), keys=["lambda3"])


def test_not_a_layer_graph():
    with pytest.raises(TopokitError, match="graph must be a LayerGraph, got ndarray"):
        layer_metrics(np.ones((2, 2)))


def test_single_edge_and_no_edge():
    single = np.zeros((3, 4))
    single[1, 2] = 1
    result = metrics(single)
    assert result["lambda1"] == 1.0
    assert result["lambda2"] == 0.0
    assert result["n_components"] == 6
    assert result["edge_expansion_upper"] == 0.0
    empty = metrics(np.zeros((2, 3)))
    assert empty["lambda1"] == 0.0
    assert empty["n_components"] == 5
    assert empty["ramanujan_bound"] == 0.0


def test_unequal_sides_iterative(monkeypatch):
    """n_in >> n_out through the iterative solvers (Lanczos) agrees with dense SVD."""
    monkeypatch.setattr(spectrum, "_DENSE_GRAM_LIMIT", 10)
    monkeypatch.setattr(_laplacian, "_DENSE_LAPLACIAN_LIMIT", 10)
    rng = np.random.default_rng(5)
    matrix = (rng.random((400, 40)) < 0.2).astype(float)
    result = metrics(matrix)
    singular = np.linalg.svd(matrix, compute_uv=False)
    assert result["lambda1"] == pytest.approx(singular[0], rel=RTOL)
    assert result["lambda2"] == pytest.approx(singular[1], rel=RTOL)
    assert result["fiedler_value"] == pytest.approx(
        np.linalg.eigvalsh(dense_laplacian(matrix))[1], rel=1e-7
    )
    fan_in, fan_out = matrix.sum(axis=0), matrix.sum(axis=1)
    mu = np.linalg.svd(matrix / np.sqrt(np.outer(fan_out, fan_in)), compute_uv=False)
    assert result["normalized_spectral_gap"] == pytest.approx(1 - mu[1], rel=RTOL)


def test_same_result_twice():
    matrix = random_regular(300, 3, 7)
    assert metrics(matrix) == metrics(matrix)


def test_single_key_name_is_accepted():
    assert metrics(crown(4), keys="lambda1") == {"lambda1": pytest.approx(3.0, rel=RTOL)}


def test_keys_must_be_iterable():
    with pytest.raises(TopokitError, match="keys must be an iterable of layer metric names, got 5"):
        metrics(crown(4), keys=5)
