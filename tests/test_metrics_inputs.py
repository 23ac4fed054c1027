"""Data-aware metrics of the first layer against a dense numpy oracle and scipy.stats."""

import numpy as np
import pytest
from scipy.stats import spearmanr

from topokit._errors import TopokitError
from topokit.graph import LayerGraph
from topokit.metrics import INPUT_METRICS, input_metrics
from topokit.topology import Topology

RTOL = 1e-12


def reference(matrix, variances):
    """The DESIGN.md definitions on a dense 0/1 matrix, written out with numpy and scipy."""
    matrix, variances = np.asarray(matrix, dtype=float), np.asarray(variances, dtype=float)
    fan_out = matrix.sum(axis=1)
    coverage = sum(v for v, d in zip(variances, fan_out, strict=True) if d > 0) / variances.sum()
    correlation = spearmanr(fan_out, variances).statistic
    return {"input_coverage": coverage, "input_variance_fan_out": correlation}


def random_case(n_in, n_out, density, seed):
    rng = np.random.default_rng(seed)
    matrix = (rng.random((n_in, n_out)) < density).astype(float)
    variances = rng.random(n_in) ** 2
    variances[rng.random(n_in) < 0.2] = 0.0  # constant features, as blank pixels
    return matrix, variances


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(
    ("n_in", "n_out", "density"),
    [(64, 32, 0.05), (30, 7, 0.2), (10, 40, 0.02)],
    ids=["64x32", "30x7", "10x40"],
)
def test_matches_reference(n_in, n_out, density, seed):
    matrix, variances = random_case(n_in, n_out, density, seed)
    if (matrix.sum(axis=1) == matrix.sum(axis=1)[0]).all():
        pytest.skip("constant fan-out: covered by test_constant_fan_out_is_nan")
    result = input_metrics(LayerGraph(matrix), variances)
    expected = reference(matrix, variances)
    assert list(result) == list(INPUT_METRICS)
    for key in INPUT_METRICS:
        assert result[key] == pytest.approx(expected[key], rel=RTOL, abs=1e-14), key
        assert type(result[key]) is float


def test_ties_rank_by_their_mean():
    # fan-outs (2, 1, 1, 0) and variances with a tie: scipy's average ranks
    matrix = np.array([[1, 1], [1, 0], [0, 1], [0, 0]])
    variances = [0.3, 0.1, 0.1, 0.0]
    result = input_metrics(LayerGraph(matrix), variances)
    assert result["input_variance_fan_out"] == pytest.approx(
        spearmanr([2, 1, 1, 0], variances).statistic, rel=RTOL
    )
    assert result["input_variance_fan_out"] == pytest.approx(1.0, rel=RTOL)


def test_topology_measures_its_first_layer():
    matrix, variances = random_case(20, 12, 0.15, seed=7)
    topology = Topology([LayerGraph(matrix), LayerGraph(np.ones((12, 3)))])
    assert input_metrics(topology, variances) == input_metrics(LayerGraph(matrix), variances)


def test_unconnected_constant_input_costs_nothing():
    matrix = np.array([[1, 1], [0, 1], [0, 0]])
    assert input_metrics(LayerGraph(matrix), [2.0, 1.0, 0.0])["input_coverage"] == 1.0


def test_unconnected_informative_input_loses_its_share():
    matrix = np.array([[1, 1], [0, 1], [0, 0]])
    coverage = input_metrics(LayerGraph(matrix), [2.0, 1.0, 1.0])["input_coverage"]
    assert coverage == pytest.approx(3.0 / 4.0, rel=RTOL)


@pytest.mark.parametrize(
    "matrix",
    [np.ones((4, 3)), np.eye(4), np.array([[1, 0], [0, 1], [1, 0], [0, 1]])],
    ids=["dense", "identity", "biregular"],
)
def test_constant_fan_out_is_nan(matrix):
    result = input_metrics(LayerGraph(matrix), [0.1, 0.2, 0.3, 0.4])
    assert np.isnan(result["input_variance_fan_out"])
    assert result["input_coverage"] == 1.0


def test_constant_variance_is_nan():
    matrix = np.array([[1, 1], [1, 0], [0, 0]])
    result = input_metrics(LayerGraph(matrix), [0.5, 0.5, 0.5])
    assert np.isnan(result["input_variance_fan_out"])
    assert result["input_coverage"] == pytest.approx(2.0 / 3.0, rel=RTOL)


def test_all_zero_variance_is_nan():
    matrix = np.array([[1, 1], [1, 0], [0, 0]])
    result = input_metrics(LayerGraph(matrix), np.zeros(3))
    assert np.isnan(result["input_coverage"])
    assert np.isnan(result["input_variance_fan_out"])


def test_keys_select_in_order():
    matrix, variances = random_case(16, 8, 0.2, seed=1)
    layer = LayerGraph(matrix)
    assert list(input_metrics(layer, variances, keys=list(reversed(INPUT_METRICS)))) == list(
        INPUT_METRICS
    )
    assert list(input_metrics(layer, variances, keys="input_variance_fan_out")) == [
        "input_variance_fan_out"
    ]


def test_unknown_key():
    with pytest.raises(TopokitError, match=r"unknown input metric key\(s\) \['coverage'\]"):
        input_metrics(LayerGraph(np.eye(2)), [1.0, 1.0], keys=["coverage"])


def test_length_must_equal_n_in():
    with pytest.raises(TopokitError, match=r"n_in = 3 inputs, got 4 variances"):
        input_metrics(LayerGraph(np.ones((3, 2))), [1.0, 1.0, 1.0, 1.0])


def test_variances_must_be_1d():
    with pytest.raises(TopokitError, match=r"1-D of shape \(n_in,\), got shape \(3, 1\)"):
        input_metrics(LayerGraph(np.ones((3, 2))), np.ones((3, 1)))


@pytest.mark.parametrize(
    ("bad", "shown"),
    [(-0.5, r"-0\.5"), (np.nan, "nan"), (np.inf, "inf")],
    ids=["negative", "nan", "inf"],
)
def test_variances_must_be_finite_and_non_negative(bad, shown):
    with pytest.raises(TopokitError, match=rf"finite and >= 0, got {shown} at input 1"):
        input_metrics(LayerGraph(np.ones((3, 2))), [1.0, bad, 1.0])


def test_variances_must_be_numbers():
    with pytest.raises(TopokitError, match="variances must be numbers"):
        input_metrics(LayerGraph(np.ones((2, 2))), ["a", "b"])


def test_graph_must_be_a_layer_or_topology():
    with pytest.raises(TopokitError, match="graph must be a LayerGraph or a Topology, got ndarray"):
        input_metrics(np.ones((2, 2)), [1.0, 1.0])
