"""``topokit metrics FILE`` with weights: the weighted metrics of |W| per layer, and the
network's net_effective_density, against numpy and by hand."""

import json

import numpy as np
import pytest
import scipy.sparse as sp

from topokit import Topology
from topokit.cli import main
from topokit.interop.weights import read_weight_matrices, save_weights
from topokit.metrics import WEIGHTED_METRICS
from topokit.nn.mlp import SparseMLP


def run_cli(capsys, *argv):
    status = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _json(capsys, *argv):
    status, out, err = run_cli(capsys, "metrics", *argv, "--json", "-q")
    assert (status, err) == (0, ""), err
    return json.loads(out)


def _svd_oracle(matrix):
    """The weighted keys of one (n_in, n_out) matrix from numpy's dense SVD of |W|."""
    singular = np.linalg.svd(np.abs(np.asarray(matrix, dtype=np.float64)), compute_uv=False)
    singular = np.concatenate([singular, [0.0]])
    values = (singular[0], singular[1], singular[0] - singular[1])
    return dict(zip(WEIGHTED_METRICS, values, strict=True))


def _assert_close(layer, expected):
    for key, value in expected.items():
        assert layer[key] == pytest.approx(value, rel=1e-8, abs=1e-10), key


@pytest.mark.parametrize("layout", ["in_out", "out_in"])
def test_weights_npz(capsys, tmp_path, layout):
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=(20, 12)) * (rng.random((20, 12)) < 0.4), rng.normal(size=(12, 5))]
    path = tmp_path / "weights.npz"
    np.savez(path, *(w if layout == "in_out" else w.T for w in weights))
    result = _json(capsys, path)
    for layer, matrix in zip(result["layers"], weights, strict=True):
        _assert_close(layer, _svd_oracle(matrix))


def test_sparse_weights_npz_keeps_its_values(capsys, tmp_path):
    first = sp.random_array(
        (40, 30), density=0.1, rng=1, data_sampler=np.random.default_rng(2).normal
    )
    second = np.random.default_rng(3).normal(size=(30, 10))
    path = tmp_path / "sparse.npz"
    save_weights(path, {"fc1": first, "fc2": second})
    result = _json(capsys, path, "--layout", "in_out")
    _assert_close(result["layers"][0], _svd_oracle(first.toarray()))
    _assert_close(result["layers"][1], _svd_oracle(second))


def test_pruned_module_weights_are_orig_times_mask(tmp_path):
    rng = np.random.default_rng(4)
    orig, mask = rng.normal(size=(6, 8)), (rng.random((6, 8)) < 0.5).astype(float)
    path = tmp_path / "pruned.npz"
    np.savez(
        path, **{"fc.weight_orig": orig, "fc.weight_mask": mask, "out.weight": np.ones((3, 6))}
    )
    first, second = read_weight_matrices(path)  # out_in: PyTorch's (out_features, in_features)
    np.testing.assert_array_equal(first.toarray(), (orig * mask).T)
    np.testing.assert_array_equal(second.toarray(), np.ones((6, 3)))


def test_model_file(capsys, tmp_path):
    topology = Topology.build([16, 24, 8, 4], "erdos_renyi", density=0.3, dense_output=True, rng=5)
    model = SparseMLP(topology, rng=6)
    path = tmp_path / "model.npz"
    model.save(path)
    result = _json(capsys, path)
    for layer, trained in zip(result["layers"], model.layers, strict=True):
        _assert_close(layer, _svd_oracle(trained.weight.toarray()))
    assert 0.0 < result["net_effective_density"] <= 1.0


def test_keys_select_the_weighted_metrics(capsys, tmp_path):
    path = tmp_path / "weights.npz"
    np.savez(path, np.ones((4, 3)), 2 * np.ones((3, 2)))
    result = _json(capsys, path, "--keys", "weighted_spectral_gap,net_effective_density")
    assert result == {
        "sizes": [4, 3, 2],
        "net_effective_density": 1.0,
        "layers": [
            {"weighted_spectral_gap": pytest.approx(np.sqrt(12))},
            {"weighted_spectral_gap": pytest.approx(2 * np.sqrt(6))},
        ],
    }


def test_a_graph_file_has_no_weighted_metrics(capsys, tmp_path):
    path = tmp_path / "net.npz"
    Topology.build([10, 6, 3], "erdos_renyi", density=0.5, rng=0).save(path)
    result = _json(capsys, path)
    assert not set(WEIGHTED_METRICS) & set(result["layers"][0])
    assert "net_effective_density" in result


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("graph", id="graph-file"),
        pytest.param("family", id="family"),
    ],
)
def test_weighted_keys_without_weights_are_one_line(capsys, tmp_path, source):
    path = tmp_path / "net.npz"
    Topology.build([10, 6, 3], "erdos_renyi", density=0.5, rng=0).save(path)
    argv = [path] if source == "graph" else ["erdos_renyi", "--sizes", "10,6,3", "--density", 0.5]
    status, out, err = run_cli(capsys, "metrics", *argv, "--keys", "weighted_lambda1")
    assert (status, out) == (1, "")
    assert err == (
        "topokit: error: --keys weighted_lambda1 needs weights: give an .npz of weight "
        "matrices or a model saved by 'topokit train --save', not a graph or a family\n"
    )


def test_unknown_key_lists_the_weighted_keys(capsys, tmp_path):
    path = tmp_path / "weights.npz"
    np.savez(path, np.ones((4, 3)), np.ones((3, 2)))
    status, _, err = run_cli(capsys, "metrics", path, "--keys", "weighted_lambda")
    assert status == 1
    assert (
        "for a file with weights weighted_lambda1, weighted_lambda2, weighted_spectral_gap "
        "and, with --dataset," in err
    )
