"""projective_plane: incidence axioms, exact spectrum, networkx, inference and errors."""

import networkx as nx
import numpy as np
import pytest

from topokit._errors import TopokitError
from topokit.generators import layer_graph
from topokit.generators._finite_field import galois_field
from topokit.generators._projective_plane import projective_plane
from topokit.generators._registry import get_family
from topokit.graph import LayerGraph
from topokit.spectrum import top_singular_values
from topokit.topology import Topology

SMALL_ORDERS = [2, 3, 4, 5, 7, 8, 9]
RTOL = 1e-9


def _naive_field(q):
    """Add and multiply tables of GF(q) from schoolbook arithmetic (independent oracle).

    Prime q: integers modulo q. Prime powers: polynomials modulo the primitive
    polynomial topokit documents for GF(q) (its labels must match the oracle's).
    """
    field = galois_field(q)
    if field.degree == 1:
        a, b = np.meshgrid(np.arange(q), np.arange(q), indexing="ij")
        return (a + b) % q, (a * b) % q
    p, modulus = field.characteristic, field.modulus
    k = len(modulus) - 1

    def poly(v):
        return [(v // p**i) % p for i in range(k)]

    def value(coefficients):
        return sum(c * p**i for i, c in enumerate(coefficients))

    def times(u, v):
        product = [0] * (2 * k - 1)
        for i, x in enumerate(poly(u)):
            for j, y in enumerate(poly(v)):
                product[i + j] = (product[i + j] + x * y) % p
        for top in range(2 * k - 2, k - 1, -1):
            c, product[top] = product[top], 0
            for i in range(k):
                product[top - k + i] = (product[top - k + i] - c * modulus[i]) % p
        return value(product[:k])

    add = np.array(
        [
            [value([(x + y) % p for x, y in zip(poly(u), poly(v), strict=True)]) for v in range(q)]
            for u in range(q)
        ]
    )
    mul = np.array([[times(u, v) for v in range(q)] for u in range(q)])
    return add, mul


def _canonical_coordinates(q):
    """Rows of the documented indexing: (1, a, b), then (0, 1, b), then (0, 0, 1)."""
    points = [(1, i // q, i % q) for i in range(q * q)]
    points += [(0, 1, b) for b in range(q)]
    points.append((0, 0, 1))
    return np.array(points)


def _dense_incidence(q):
    """B[p, l] = 1 iff p · l = 0 over GF(q), from the naive field: O(n²) oracle."""
    add, mul = _naive_field(q)
    coords = _canonical_coordinates(q)
    dot = mul[coords[:, None, 0], coords[None, :, 0]]
    for c in (1, 2):
        dot = add[dot, mul[coords[:, None, c], coords[None, :, c]]]
    return (dot == 0).astype(float)


@pytest.mark.parametrize("q", SMALL_ORDERS)
def test_matches_brute_force_incidence(q):
    graph = projective_plane(q=q)
    assert np.array_equal(graph.biadjacency.toarray(), _dense_incidence(q))


@pytest.mark.parametrize("q", SMALL_ORDERS)
def test_sizes_and_degrees(q):
    graph = projective_plane(q=q)
    n = q * q + q + 1
    assert graph.shape == (n, n)
    assert graph.n_edges == (q + 1) * n
    assert np.all(graph.fan_in == q + 1)
    assert np.all(graph.fan_out == q + 1)
    assert graph.params == {"q": q}


@pytest.mark.parametrize("q", SMALL_ORDERS)
def test_incidence_axioms(q):
    # two points share exactly one line: B Bᵀ = q I + J; two lines meet in one point: Bᵀ B too
    matrix = projective_plane(q=q).biadjacency
    n = q * q + q + 1
    expected = q * np.eye(n) + np.ones((n, n))
    assert np.array_equal((matrix @ matrix.T).toarray(), expected)
    assert np.array_equal((matrix.T @ matrix).toarray(), expected)


@pytest.mark.parametrize("q", SMALL_ORDERS)
def test_spectrum_against_dense_numpy(q):
    singular = np.linalg.svd(projective_plane(q=q).biadjacency.toarray(), compute_uv=False)
    expected = np.array([q + 1.0] + [np.sqrt(q)] * (q * q + q))
    np.testing.assert_allclose(singular, expected, rtol=RTOL)


@pytest.mark.parametrize("q", [4, 8, 9, 16, 27])  # 27: 757 points, the iterative (Lanczos) path
def test_top_singular_values(q):
    values = top_singular_values(projective_plane(q=q).biadjacency, k=2)
    np.testing.assert_allclose(values, [q + 1.0, np.sqrt(q)], rtol=RTOL)


@pytest.mark.parametrize("q", [2, 3, 4])
def test_levi_graph_is_regular_with_girth_6(q):
    levi = projective_plane(q=q).to_networkx()
    assert nx.is_bipartite(levi)
    assert nx.is_connected(levi)
    assert {degree for _, degree in levi.degree} == {q + 1}
    assert nx.girth(levi) == 6
    assert nx.diameter(levi) == 3


def test_fano_plane_is_the_heawood_graph():
    assert nx.is_isomorphic(projective_plane(q=2).to_networkx(), nx.heawood_graph())


def test_biadjacency_is_canonical():
    graph = projective_plane(q=5)
    matrix = graph.biadjacency
    assert matrix.indices.dtype == np.int32
    assert matrix.indptr.dtype == np.int32
    assert matrix.data.dtype == np.float64
    assert matrix.has_canonical_format
    assert LayerGraph(matrix.toarray()) == graph


@pytest.mark.parametrize(
    ("kwargs", "q"),
    [
        pytest.param({"n_in": 57}, 7, id="n_in"),
        pytest.param({"n_out": 73}, 8, id="n_out"),
        pytest.param({"n_in": 91, "n_out": 91}, 9, id="both-sizes"),
        pytest.param({"degree": 4}, 3, id="degree"),
        pytest.param({"q": 4, "n_in": 21, "degree": 5}, 4, id="all-agree"),
        pytest.param({"q": 3, "density": 4 / 13}, 3, id="density-agrees"),
    ],
)
def test_q_inferred_or_accepted(kwargs, q):
    assert projective_plane(**kwargs).params == {"q": q}


def test_through_the_registry():
    graph = layer_graph("projective_plane", q=3)
    assert graph.family == "projective_plane"
    assert graph.params == {"q": 3}
    assert graph.shape == (13, 13)
    assert layer_graph("projective_plane", 31, 31).params == {"q": 5}
    record = get_family("projective_plane")
    assert (record.edge_count, record.random, record.fixes_sizes) == ("fixed", False, True)


def test_pg_2_64_is_65_regular():
    graph = projective_plane(q=64)
    assert graph.n_edges == 65 * 4161
    assert np.all(graph.fan_in == 65)
    assert np.all(graph.fan_out == 65)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"q": 6}, r"q must be a prime power .*got 6; nearest: 5 or 7", id="q=6"),
        pytest.param({"q": 10}, r"nearest: 9 or 11", id="q=10"),
        pytest.param({"q": 1}, r"q must be >= 2, got 1", id="q=1"),
        pytest.param({"q": 2.5}, r"q must be an integer", id="q-float"),
        pytest.param(
            {"n_in": 60},
            r"n_in must be q²\+q\+1 .*nearest: 57 \(q=7\) or 73 \(q=8\), got 60",
            id="n_in=60",
        ),
        pytest.param({"n_in": 43}, r"got 43 \(q=6 is not a prime power\)", id="n_in=43"),
        pytest.param({"n_out": 5}, r"nearest: 7 \(q=2\), got 5", id="n_out=5"),
        pytest.param({"q": 7, "n_in": 58}, r"n_in must be 57 \(q²\+q\+1 for q=7\)", id="n_in-vs-q"),
        pytest.param({"n_in": 13, "n_out": 21}, r"n_out must be 13", id="n_out-vs-n_in"),
        pytest.param({"q": 3, "degree": 5}, r"degree must be 4 \(or omitted\), got 5", id="degree"),
        pytest.param({"degree": 7}, r"degree must be q\+1 .*nearest: 6 or 8, got 7", id="deg=7"),
        pytest.param(
            {"q": 3, "density": 0.5}, r"exactly 52 edges .*density=0.5 asks for 85", id="density"
        ),
        pytest.param({"q": 3, "density": 4 / 13, "degree": 4}, r"not both", id="both"),
        pytest.param({}, r"needs q \(a prime power\) or n_in", id="nothing"),
    ],
)
def test_errors(kwargs, match):
    with pytest.raises(TopokitError, match=match):
        projective_plane(**kwargs)


def test_topology_of_planes():
    topology = Topology.build([57, 57, 57], "projective_plane")
    assert [layer.params for layer in topology] == [{"q": 7}, {"q": 7}]
    assert topology.n_edges == 2 * 8 * 57
