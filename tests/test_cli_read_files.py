"""``topokit metrics``/``draw`` read any scipy.sparse .npz and ``train --save``'s model file."""

import contextlib
import io
import json

import numpy as np
import pytest
import scipy.sparse as sp

from topokit import LayerGraph, load
from topokit.cli import main
from topokit.metrics import layer_metrics, network_metrics, weighted_metrics
from topokit.nn.datasets import load_dataset
from topokit.nn.mlp import SparseMLP

FORMATS = ["csr", "csc", "coo", "dia", "bsr"]


def run_cli(capsys, *argv):
    """Run ``main`` in-process; return (status, stdout, stderr)."""
    status = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def run_json(capsys, *argv):
    status, out, err = run_cli(capsys, *argv, "--json")
    assert (status, err) == (0, "")
    return json.loads(out)


def _weights(rng):
    """A (12, 9) weight matrix: ~40% nonzero, one explicitly stored zero, one NaN."""
    values = rng.normal(size=(12, 9)) * (rng.random((12, 9)) < 0.4)
    values[0, 0], values[5, 3] = 0.0, np.nan
    rows, cols = np.nonzero(values)
    rows, cols = np.append(rows, 0), np.append(cols, 0)  # (0, 0): stored, but not an edge
    matrix = sp.csr_array(sp.coo_array((values[rows, cols], (rows, cols)), shape=values.shape))
    assert matrix.nnz == np.count_nonzero(values) + 1
    return values, matrix


# ------------------------------------------------------ scipy.sparse files
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("form", FORMATS)
def test_metrics_reads_any_scipy_file_by_its_nonzero_pattern(capsys, tmp_path, rng, form, dtype):
    values, matrix = _weights(rng)
    path = tmp_path / f"{form}.npz"
    sp.save_npz(path, matrix.astype(dtype).asformat(form))
    oracle = LayerGraph(values != 0)  # the dense oracle: NaN is nonzero, 0.0 is not
    assert run_json(capsys, "metrics", path) == json.loads(json.dumps(layer_metrics(oracle)))


@pytest.mark.parametrize("form", FORMATS)
def test_draw_reads_any_scipy_file(capsys, tmp_path, rng, form):
    _, matrix = _weights(rng)
    path = tmp_path / f"{form}.npz"
    sp.save_npz(path, matrix.asformat(form))
    figure = tmp_path / f"{form}.png"
    assert run_cli(capsys, "draw", path, "-o", figure) == (0, f"wrote {figure}\n", "")
    assert figure.stat().st_size > 0


def test_integer_coo_with_duplicates_reads_their_sum(capsys, tmp_path):
    path = tmp_path / "coo.npz"
    row, col, data = [0, 0, 1, 2], [1, 1, 0, 2], np.array([3, -3, 2, 0], dtype=np.int16)
    sp.save_npz(path, sp.coo_array((data, (row, col)), shape=(3, 3)))  # (0, 1) sums to 0
    assert run_json(capsys, "metrics", path, "--keys", "n_edges") == {"n_edges": 1}


# -------------------------------------------------------------- model file
@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """``topokit train --save``: the model file and the --json outcome."""
    path = tmp_path_factory.mktemp("model") / "model.npz"
    argv = ["train", "--hidden", "32,16", "--density", "0.3", "--epochs", 2, "--seed", 3]
    argv += ["--save", path, "--json", "-q", "--no-metrics"]
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert main([str(arg) for arg in argv]) == 0
    return path, json.loads(stdout.getvalue())


@pytest.fixture
def trained(saved):
    return saved[0]


def test_model_file_loads_as_its_topology(trained):
    model = SparseMLP.load(trained)  # still a model file
    topology = load(trained)
    assert topology == model.topology
    assert [layer.family for layer in topology] == ["erdos_renyi", "erdos_renyi", "dense"]
    assert [layer.seed for layer in topology] == [3, 3, 3]


def test_model_file_still_predicts_as_trained(saved):
    path, result = saved
    data = load_dataset("digits")
    model = SparseMLP.load(path)
    assert model.topology.sizes == result["topology"]["sizes"] == [64, 32, 16, 10]
    assert model.score(data.X_test, data.y_test) == result["test_accuracy"]


def test_metrics_reads_the_model_file(capsys, trained):
    result = run_json(capsys, "metrics", trained, "-q")
    model = SparseMLP.load(trained)
    topology = model.topology
    expected = {"sizes": topology.sizes, **network_metrics(topology)}
    expected["layers"] = [
        {**layer_metrics(graph), **weighted_metrics(layer.weight)}
        for graph, layer in zip(topology, model.layers, strict=True)
    ]
    assert result == json.loads(json.dumps(expected))


def test_draw_reads_the_model_file(capsys, tmp_path, trained):
    figure = tmp_path / "layer1.png"
    assert run_cli(capsys, "draw", trained, "--layer", 1, "-o", figure) == (
        0,
        f"wrote {figure}\n",
        "",
    )


def test_a_stored_weight_of_zero_stays_an_edge_of_the_model(tmp_path, trained):
    """A model's layer graphs are its fixed patterns, whatever values training left."""
    model = SparseMLP.load(trained)
    model.layers[0].weight_data[:5] = 0.0
    path = tmp_path / "zeros.npz"
    model.save(path)
    assert load(path)[0] == model.topology[0]
