"""``topokit metrics --dataset``: the data-aware metrics of the first layer from a data
set's training variances, against numpy and topokit.metrics.input_metrics."""

import json

import numpy as np
import pytest
from scipy.stats import spearmanr

from topokit.cli import main
from topokit.graph import LayerGraph
from topokit.io import save_layer
from topokit.metrics import INPUT_METRICS, NETWORK_METRICS, input_metrics, network_metrics
from topokit.nn import datasets
from topokit.nn.datasets import load_dataset
from topokit.topology import Topology


def run_cli(capsys, *argv):
    status = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def reference(layer, X_train):
    """The DESIGN.md definitions with numpy and scipy.stats from the training features."""
    variances = np.asarray(X_train, dtype=np.float64).var(axis=0)
    fan_out = layer.biadjacency.toarray().sum(axis=1)
    return {
        "input_coverage": variances[fan_out > 0].sum() / variances.sum(),
        "input_variance_fan_out": spearmanr(fan_out, variances).statistic,
    }


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture
def topology_path(tmp_path):
    topology = Topology.build([64, 16, 10], "erdos_renyi", density=0.05, rng=4)
    path = tmp_path / "net.npz"
    topology.save(path)
    return topology, path


def test_topology_file(capsys, topology_path, digits):
    topology, path = topology_path
    status, out, err = run_cli(capsys, "metrics", path, "--dataset", "digits", "--json")
    assert (status, err) == (0, "")
    printed = json.loads(out)
    expected = reference(topology.layers[0], digits.X_train)
    for key in INPUT_METRICS:
        assert printed[key] == pytest.approx(expected[key], rel=1e-10), key
    assert printed["input_coverage"] < 1  # density 0.05 leaves informative pixels out
    network = network_metrics(topology)
    assert {key: printed[key] for key in NETWORK_METRICS} == pytest.approx(network, rel=1e-12)
    assert list(printed)[-3:] == [*INPUT_METRICS, "layers"]


def test_built_network_equals_its_file(capsys, tmp_path):
    options = ["--sizes", "64,16,10", "--density", 0.05, "--seed", 4, "--dataset", "digits"]
    built = json.loads(run_cli(capsys, "metrics", "erdos_renyi", *options, "--json")[1])
    path = tmp_path / "net.npz"
    assert run_cli(capsys, "graph", "erdos_renyi", *options[:-2], "-o", path)[0] == 0
    from_file = json.loads(run_cli(capsys, "metrics", path, "--dataset", "digits", "--json")[1])
    for built_layer, file_layer in zip(built.pop("layers"), from_file.pop("layers"), strict=True):
        assert built_layer == pytest.approx(file_layer, rel=1e-12)
    assert built.pop("sizes") == from_file.pop("sizes") == [64, 16, 10]
    assert built.pop("seed") == 4  # a build records its seed; the file's layers carry it
    assert built == pytest.approx(from_file, rel=1e-12)
    assert set(INPUT_METRICS) <= set(built)


def test_layer_file(capsys, tmp_path, digits):
    layer = LayerGraph(np.random.default_rng(0).random((64, 8)) < 0.1)
    path = tmp_path / "layer.npz"
    save_layer(layer, path)
    status, out, _ = run_cli(capsys, "metrics", path, "--dataset", "digits", "--json")
    assert status == 0
    printed = json.loads(out)
    expected = input_metrics(layer, digits.feature_variances)
    assert {key: printed[key] for key in INPUT_METRICS} == pytest.approx(expected, rel=1e-12)
    assert list(printed)[-2:] == list(INPUT_METRICS)
    assert printed["n_edges"] == layer.n_edges


def test_keys_select_data_aware_metrics(capsys, topology_path):
    _, path = topology_path
    argv = [path, "--dataset", "digits", "--keys", "input_coverage,net_density", "--json"]
    status, out, _ = run_cli(capsys, "metrics", *argv)
    assert status == 0
    printed = json.loads(out)
    assert set(printed) == {"sizes", "net_density", "input_coverage", "layers"}


def test_table_lists_them(capsys, topology_path):
    _, path = topology_path
    status, out, _ = run_cli(capsys, "metrics", path, "--dataset", "digits")
    assert status == 0
    names = [line.split()[0] for line in out.splitlines() if line.strip()]
    assert names.index("input_coverage") + 1 == names.index("input_variance_fan_out")


def test_user_file_dataset(capsys, tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 5)) * [1.0, 2.0, 3.0, 4.0, 5.0]
    X[:, 2] = 7.0  # a constant feature
    data_path = tmp_path / "data.npz"
    np.savez(data_path, X=X, y=np.arange(40) % 2)
    layer = LayerGraph(np.array([[1, 1], [0, 0], [0, 0], [1, 0], [0, 1]]))
    path = tmp_path / "layer.npz"
    save_layer(layer, path)
    status, out, _ = run_cli(capsys, "metrics", path, "--dataset", data_path, "--json")
    assert status == 0
    printed = json.loads(out)
    # features are standardized on loading: every non-constant one has variance 1
    expected = reference(layer, load_dataset(data_path).X_train)
    assert printed["input_coverage"] == pytest.approx(3 / 4, rel=1e-6)
    assert printed["input_coverage"] == pytest.approx(expected["input_coverage"], rel=1e-12)


def test_data_dir_reaches_the_loader(capsys, topology_path, monkeypatch, tmp_path, digits):
    _, path = topology_path
    calls = []

    def fake_load(name, *, data_dir=None):
        calls.append((name, data_dir))
        return digits

    monkeypatch.setattr(datasets, "load_dataset", fake_load)
    argv = [path, "--dataset", "mnist", "--data-dir", tmp_path, "--json"]
    assert run_cli(capsys, "metrics", *argv)[0] == 0
    assert calls == [("mnist", str(tmp_path))]


def test_feature_count_must_equal_n_in(capsys, tmp_path):
    path = tmp_path / "net.npz"
    Topology.build([40, 16, 10], "erdos_renyi", density=0.2, rng=0).save(path)
    status, out, err = run_cli(capsys, "metrics", path, "--dataset", "digits")
    assert (status, out) == (1, "")
    assert err.count("\n") == 1
    assert err == (
        "topokit: error: --dataset digits has 64 features, but the first layer has "
        "n_in = 40 inputs: they must be equal\n"
    )


def test_input_keys_need_a_dataset(capsys, topology_path):
    _, path = topology_path
    status, _, err = run_cli(capsys, "metrics", path, "--keys", "input_coverage")
    assert status == 1
    assert "--keys input_coverage needs the data: give --dataset NAME" in err


def test_data_dir_needs_a_dataset(capsys, topology_path, tmp_path):
    _, path = topology_path
    status, _, err = run_cli(capsys, "metrics", path, "--data-dir", tmp_path)
    assert status == 1
    assert "--data-dir only applies with --dataset NAME" in err


def test_unknown_key_lists_the_data_aware_keys(capsys, topology_path):
    _, path = topology_path
    status, _, err = run_cli(capsys, "metrics", path, "--keys", "input_coverag")
    assert status == 1
    assert "with --dataset, input_coverage, input_variance_fan_out" in err
