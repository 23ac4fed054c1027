"""array_code: block structure, exact spectrum (Ramanujan), inference and errors."""

import networkx as nx
import numpy as np
import pytest

from topokit._errors import TopokitError
from topokit.generators import layer_graph
from topokit.generators._array_code import array_code
from topokit.generators._registry import get_family
from topokit.graph import LayerGraph
from topokit.spectrum import top_singular_values
from topokit.topology import Topology

CASES = [(2, 2), (3, 2), (3, 3), (5, 2), (5, 3), (5, 5), (7, 2), (7, 4), (7, 7)]
RTOL = 1e-9


def _case_id(case):
    return f"q={case[0]},l={case[1]}"


def _dense_array_code(q, l):  # noqa: E741
    """The block matrix [P^(i·j mod q)] with P the cyclic shift, P[u, u+1] = 1, built densely."""
    shift = np.roll(np.eye(q), 1, axis=1)
    return np.block(
        [[np.linalg.matrix_power(shift, (i * j) % q) for j in range(q)] for i in range(l)]
    )


def _expected_singular_values(q, l):  # noqa: E741
    """sqrt(l·q) once, sqrt(q) l·(q−1) times, 0 l−1 times (the l·q values of B, n_in <= n_out)."""
    return np.array([np.sqrt(l * q)] + [np.sqrt(q)] * (l * (q - 1)) + [0.0] * (l - 1))


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_matches_dense_block_definition(case):
    q, l = case  # noqa: E741
    assert np.array_equal(array_code(q=q, l=l).biadjacency.toarray(), _dense_array_code(q, l))


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_sizes_and_degrees(case):
    q, l = case  # noqa: E741
    graph = array_code(q=q, l=l)
    assert graph.shape == (l * q, q * q)
    assert graph.n_edges == l * q * q
    assert np.all(graph.fan_in == l)
    assert np.all(graph.fan_out == q)
    assert graph.params == {"q": q, "l": l}


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_gram_matrix_closed_form(case):
    # B Bᵀ = q I + (J_l − I_l) ⊗ J_q: two inputs of different block rows share one output
    q, l = case  # noqa: E741
    matrix = array_code(q=q, l=l).biadjacency
    expected = q * np.eye(l * q) + np.kron(np.ones((l, l)) - np.eye(l), np.ones((q, q)))
    assert np.array_equal((matrix @ matrix.T).toarray(), expected)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_spectrum_against_dense_numpy(case):
    q, l = case  # noqa: E741
    singular = np.linalg.svd(array_code(q=q, l=l).biadjacency.toarray(), compute_uv=False)
    expected = _expected_singular_values(q, l)
    np.testing.assert_allclose(singular, expected, rtol=RTOL, atol=RTOL * np.sqrt(l * q))


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_is_ramanujan(case):
    q, l = case  # noqa: E741
    lambda1, lambda2 = top_singular_values(array_code(q=q, l=l).biadjacency, k=2)
    np.testing.assert_allclose([lambda1, lambda2], [np.sqrt(l * q), np.sqrt(q)], rtol=RTOL)
    assert lambda2 <= np.sqrt(q - 1) + np.sqrt(l - 1)


def test_top_singular_values_iterative_path():
    # l·q = 620 > 600: top_singular_values uses certified Lanczos on the Gram matrix
    graph = array_code(q=31, l=20)
    values = top_singular_values(graph.biadjacency, k=2)
    np.testing.assert_allclose(values, [np.sqrt(620), np.sqrt(31)], rtol=RTOL)


@pytest.mark.parametrize("case", [(3, 2), (5, 3), (7, 4)], ids=_case_id)
def test_no_four_cycles(case):
    q, l = case  # noqa: E741
    graph = array_code(q=q, l=l).to_networkx()
    assert nx.is_bipartite(graph)
    assert nx.girth(graph) >= 6


def test_biadjacency_is_canonical():
    graph = array_code(q=5, l=3)
    matrix = graph.biadjacency
    assert matrix.indices.dtype == np.int32
    assert matrix.data.dtype == np.float64
    assert matrix.has_canonical_format
    assert LayerGraph(matrix.toarray()) == graph


@pytest.mark.parametrize(
    ("kwargs", "params"),
    [
        pytest.param({"n_in": 21, "n_out": 49}, {"q": 7, "l": 3}, id="both-sizes"),
        pytest.param({"n_out": 49, "l": 3}, {"q": 7, "l": 3}, id="n_out+l"),
        pytest.param({"n_in": 35}, {"q": 7, "l": 5}, id="n_in"),
        pytest.param({"n_in": 4}, {"q": 2, "l": 2}, id="n_in=4"),
        pytest.param({"n_out": 25, "degree": 3}, {"q": 5, "l": 3}, id="n_out+degree"),
        pytest.param({"q": 5, "n_in": 20}, {"q": 5, "l": 4}, id="q+n_in"),
        pytest.param({"q": 5, "l": 3, "density": 0.2}, {"q": 5, "l": 3}, id="density-agrees"),
        pytest.param({"q": 5, "l": 3, "degree": 3}, {"q": 5, "l": 3}, id="degree-agrees"),
    ],
)
def test_parameters_inferred_or_accepted(kwargs, params):
    assert array_code(**kwargs).params == params


def test_through_the_registry():
    graph = layer_graph("array_code", 15, 25)
    assert graph.family == "array_code"
    assert graph.params == {"q": 5, "l": 3}
    assert layer_graph("array_code", q=3, l=2).shape == (6, 9)
    record = get_family("array_code")
    assert (record.edge_count, record.random, record.fixes_sizes) == ("fixed", False, True)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"q": 6, "l": 2}, r"q must be a prime, got 6; nearest: 5 or 7", id="q=6"),
        pytest.param({"q": 4, "l": 2}, r"q must be a prime, got 4; nearest: 3 or 5", id="q=4"),
        pytest.param({"q": 5, "l": 6}, r"l must be <= q=5 .*got 6; nearest: l=5", id="l>q"),
        pytest.param({"q": 5, "l": 1}, r"l must be >= 2, got 1", id="l=1"),
        pytest.param(
            {"n_out": 50}, r"n_out must be q² .*nearest: 49 \(q=7\) or 121 \(q=11\)", id="n_out"
        ),
        pytest.param(
            {"n_in": 30}, r"nearest: 28 \(q=7, l=4\) or 33 \(q=11, l=3\), got 30", id="n_in=30"
        ),
        pytest.param({"q": 5, "n_in": 12}, r"for q=5 \(10, 15, 20, 25\), got 12", id="q+n_in"),
        pytest.param({"q": 5, "l": 3, "n_out": 36}, r"n_out must be 25 \(q²", id="q+n_out"),
        pytest.param({"q": 5, "l": 3, "n_in": 20}, r"n_in must be 15", id="l+n_in"),
        pytest.param({"q": 5}, r"needs l \(2 <= l <= q=5\) or n_in", id="no-l"),
        pytest.param({}, r"needs q \(a prime\) or n_out", id="nothing"),
        pytest.param(
            {"q": 5, "l": 3, "density": 0.3}, r"exactly 75 edges .*asks for 113", id="density"
        ),
        pytest.param({"q": 5, "l": 3, "degree": 4}, r"degree must be 3 \(or omitted\)", id="deg"),
    ],
)
def test_errors(kwargs, match):
    with pytest.raises(TopokitError, match=match):
        array_code(**kwargs)


def test_topology_of_square_array_codes():
    # chaining needs n_out = q² = n_in = l·q, so l = q
    topology = Topology.build([25, 25, 25], "array_code")
    assert [layer.params for layer in topology] == [{"q": 5, "l": 5}, {"q": 5, "l": 5}]
