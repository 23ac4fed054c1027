"""weighted_lambda1/2 and weighted_spectral_gap: the top singular values of |W|."""

import numpy as np
import pytest
import scipy.sparse as sp

from topokit import TopokitError, Topology
from topokit.graph import LayerGraph
from topokit.metrics import WEIGHTED_METRICS, layer_metrics, weighted_metrics

RTOL = 1e-8


def _sparse_weights(n_in, n_out, density, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    mask = rng.random((n_in, n_out)) < density
    return (rng.standard_normal((n_in, n_out)) * mask).astype(dtype)


def _oracle(weights):
    singular = np.linalg.svd(np.abs(np.asarray(weights, dtype=np.float64)), compute_uv=False)
    singular = np.concatenate([singular, [0.0, 0.0]])
    return singular[0], singular[1]


@pytest.mark.parametrize(
    ("n_in", "n_out", "density"),
    [
        pytest.param(7, 5, 0.5, id="small"),
        pytest.param(5, 7, 0.5, id="wide"),
        pytest.param(30, 30, 0.2, id="square"),
        pytest.param(1, 6, 1.0, id="one-input"),
        pytest.param(6, 1, 0.7, id="one-output"),
        pytest.param(500, 450, 0.02, id="iterative-solver"),
    ],
)
@pytest.mark.parametrize("kind", ["dense", "csr", "coo"])
def test_against_numpy_svd_of_magnitudes(n_in, n_out, density, kind):
    weights = _sparse_weights(n_in, n_out, density, seed=n_in * 31 + n_out)
    given = {"dense": weights, "csr": sp.csr_array(weights), "coo": sp.coo_matrix(weights)}[kind]
    lambda1, lambda2 = _oracle(weights)
    result = weighted_metrics(given)
    assert tuple(result) == WEIGHTED_METRICS
    assert result["weighted_lambda1"] == pytest.approx(lambda1, rel=RTOL, abs=1e-12)
    assert result["weighted_lambda2"] == pytest.approx(lambda2, rel=RTOL, abs=1e-10)
    assert result["weighted_spectral_gap"] == pytest.approx(lambda1 - lambda2, rel=1e-7, abs=1e-10)


def test_signs_do_not_matter():
    weights = _sparse_weights(12, 9, 0.4, seed=1)
    assert weighted_metrics(-weights) == weighted_metrics(np.abs(weights))
    assert weighted_metrics(weights) == weighted_metrics(np.abs(weights))


def test_unit_weights_give_the_binary_spectrum():
    graph = Topology.build([40, 30], "erdos_renyi", density=0.2, rng=3)[0]
    binary = layer_metrics(graph, keys=["lambda1", "lambda2", "spectral_gap"])
    weighted = weighted_metrics(-graph.biadjacency)
    for key in ("lambda1", "lambda2", "spectral_gap"):
        assert weighted[f"weighted_{key}"] == pytest.approx(binary[key], rel=1e-10, abs=1e-12)


def test_scaling_scales_the_spectrum():
    weights = _sparse_weights(10, 8, 0.5, seed=2)
    base, scaled = weighted_metrics(weights), weighted_metrics(3.0 * weights)
    for key in WEIGHTED_METRICS:
        assert scaled[key] == pytest.approx(3.0 * base[key], rel=1e-10)


def test_float32_and_keys():
    weights = _sparse_weights(9, 6, 0.6, seed=4, dtype=np.float32)
    lambda1, _ = _oracle(weights)
    result = weighted_metrics(weights, keys="weighted_lambda1")
    assert list(result) == ["weighted_lambda1"]
    assert result["weighted_lambda1"] == pytest.approx(lambda1, rel=1e-6)
    assert isinstance(result["weighted_lambda1"], float)
    assert weighted_metrics(weights, keys=[]) == {}


def test_by_hand():
    weights = np.array([[3.0, 0.0], [0.0, -4.0]])
    assert weighted_metrics(weights) == {
        "weighted_lambda1": 4.0,
        "weighted_lambda2": 3.0,
        "weighted_spectral_gap": 1.0,
    }


def test_all_zero_weights():
    assert weighted_metrics(sp.csr_array((3, 4))) == {
        "weighted_lambda1": 0.0,
        "weighted_lambda2": 0.0,
        "weighted_spectral_gap": 0.0,
    }


def test_a_layer_graph_is_not_weights():
    with pytest.raises(TopokitError, match="weights must be a numeric 2-D array, got dtype object"):
        weighted_metrics(LayerGraph(np.eye(2)))


@pytest.mark.parametrize(
    ("weights", "match"),
    [
        pytest.param(np.ones(3), r"2-D array of shape \(n_in, n_out\), got shape \(3,\)", id="1d"),
        pytest.param(np.ones((0, 3)), r"one row and one column, got shape \(0, 3\)", id="empty"),
        pytest.param(np.array([[1.0, np.nan]]), r"must be finite, got 1 NaN or infinite", id="nan"),
        pytest.param(sp.csr_array(np.array([[np.inf, 1.0]])), r"must be finite", id="sparse-inf"),
        pytest.param(np.array([["a", "b"]]), r"numeric 2-D array, got dtype <U1", id="strings"),
    ],
)  # fmt: skip
def test_bad_weights(weights, match):
    with pytest.raises(TopokitError, match=match):
        weighted_metrics(weights)


def test_unknown_key():
    with pytest.raises(TopokitError, match=r"unknown weighted metric key\(s\) \['lambda1'\]"):
        weighted_metrics(np.eye(2), keys=["lambda1"])
