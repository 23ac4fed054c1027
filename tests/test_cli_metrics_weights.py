"""``topokit metrics`` (and ``draw``) on networks someone else made: weights and graph files.

The reference for every file kind is the same topology saved as a topokit graph file
and measured through ``topokit metrics net.npz --json``.
"""

import json
import re
import sys

import numpy as np
import pytest

from topokit import LayerGraph, Topology
from topokit.cli import main
from topokit.interop.graphs import write_edgelist, write_graphml
from topokit.metrics import WEIGHTED_METRICS

SIZES = [20, 12, 6]


def run_cli(capsys, *argv):
    status = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def topology():
    return Topology.build(SIZES, ["ramanujan", "erdos_renyi"], degree=[4, None],
                          density=[None, 0.5], rng=0)  # fmt: skip


def _weights(topology, layout, seed=0):
    """Random weights on the topology's edges (zero elsewhere), stored in ``layout``."""
    rng = np.random.default_rng(seed)
    matrices = []
    for layer in topology:
        dense = layer.biadjacency.toarray() * rng.uniform(0.5, 2.0, size=layer.shape)
        matrices.append(dense if layout == "in_out" else dense.T)
    return matrices


def _reference(capsys, topology, tmp_path, *extra):
    path = tmp_path / "reference.npz"
    topology.save(path)
    status, out, err = run_cli(capsys, "metrics", path, "--json", *extra)
    assert (status, err) == (0, "")
    return json.loads(out)


def _metrics(capsys, path, *extra):
    status, out, err = run_cli(capsys, "metrics", path, "--json", *extra)
    assert (status, err) == (0, ""), err
    return json.loads(out)


def _pattern_metrics(result):
    """``result`` without the weighted metrics, which only a file with weights has
    (tests/test_cli_metrics_weighted.py checks them against numpy)."""
    layers = [
        {key: value for key, value in layer.items() if key not in WEIGHTED_METRICS}
        for layer in result["layers"]
    ]
    assert all(set(WEIGHTED_METRICS) <= set(layer) for layer in result["layers"])
    return {**result, "layers": layers}


# ------------------------------------------------------------ weight files
@pytest.mark.parametrize("layout", ["in_out", "out_in"])
def test_npz_of_weights_is_measured_by_its_pattern(capsys, tmp_path, topology, layout):
    path = tmp_path / "weights.npz"
    np.savez(path, *_weights(topology, layout))
    result = _metrics(capsys, path)  # auto finds the layout: the sizes chain one way only
    assert result["sizes"] == SIZES
    assert _pattern_metrics(result) == _reference(capsys, topology, tmp_path)
    assert _metrics(capsys, path, "--layout", layout) == result


def test_npz_with_biases_and_names(capsys, tmp_path, topology):
    first, second = _weights(topology, "out_in")
    path = tmp_path / "named.npz"
    np.savez(path, **{"fc1.weight": first, "fc1.bias": np.ones(12),
                      "fc2.weight": second, "fc2.bias": np.ones(6)})  # fmt: skip
    assert _pattern_metrics(_metrics(capsys, path)) == _reference(capsys, topology, tmp_path)


def test_state_dict_is_measured_by_its_masks(capsys, tmp_path, topology):
    torch = pytest.importorskip("torch")
    from topokit.interop.torch import apply_topology

    model = torch.nn.Sequential(torch.nn.Linear(20, 12), torch.nn.ReLU(), torch.nn.Linear(12, 6))
    apply_topology(model, topology)
    path = tmp_path / "model.pt"
    torch.save(model.state_dict(), path)
    assert _metrics(capsys, path) == _reference(capsys, topology, tmp_path)
    keys = ("--keys", "spectral_gap,net_fiedler_value")
    assert _metrics(capsys, path, *keys) == _reference(capsys, topology, tmp_path, *keys)


def test_text_output_for_weights(capsys, tmp_path, topology):
    path = tmp_path / "weights.npz"
    np.savez(path, *_weights(topology, "in_out"))
    status, out, err = run_cli(capsys, "metrics", path)
    assert (status, err) == (0, "")
    assert out.startswith("network 20 → 12 → 6\n")
    assert re.search(r"(?m)^n_edges\s+48\s+36$", out)  # 12 outputs x 4, and 0.5 * 12 * 6


@pytest.mark.parametrize(
    ("layout", "sizes"),
    [pytest.param("in_out", [7, 5], id="in_out"), pytest.param("out_in", [5, 7], id="out_in")],
)
def test_layout_orients_a_single_matrix(capsys, tmp_path, layout, sizes):
    matrix = (np.random.default_rng(1).random((7, 5)) < 0.4).astype(float)
    path = tmp_path / "one.npz"
    np.savez(path, matrix)
    result = _metrics(capsys, path, "--layout", layout)
    assert result["sizes"] == sizes
    layer = LayerGraph(matrix if layout == "in_out" else matrix.T)
    layer_path = tmp_path / "layer.npz"
    layer.save(layer_path)
    assert _pattern_metrics(result)["layers"] == [_metrics(capsys, layer_path)]


def test_draw_reads_weights(capsys, tmp_path, topology):
    path = tmp_path / "weights.npz"
    np.savez(path, *_weights(topology, "out_in"))
    figure = tmp_path / "layer1.svg"
    status, out, err = run_cli(capsys, "draw", path, "--layer", 1, "-o", figure)
    assert (status, out, err) == (0, f"wrote {figure}\n", "")
    assert "12 inputs → 6 outputs" in figure.read_text(encoding="utf-8")


# ------------------------------------------------------- graph-exchange files
@pytest.mark.parametrize(
    ("name", "write"),
    [
        pytest.param("net.graphml", write_graphml, id="graphml"),
        pytest.param("net.edgelist", write_edgelist, id="edgelist"),
        pytest.param("net.edges", write_edgelist, id="edges"),
    ],
)
def test_graph_exchange_files(capsys, tmp_path, topology, name, write):
    path = tmp_path / name
    write(topology, path)
    assert _metrics(capsys, path) == _reference(capsys, topology, tmp_path)


# ------------------------------------------------------------------ errors
def _square(tmp_path):
    path = tmp_path / "square.npz"
    np.savez(path, np.eye(4), np.eye(4))
    return path


def _graph(tmp_path):
    path = tmp_path / "graph.npz"
    Topology.build([4, 3], "dense").save(path)
    return path


def _conv(tmp_path):
    path = tmp_path / "conv.npz"
    np.savez(path, **{"conv.weight": np.ones((8, 3, 3, 3)), "fc.weight": np.ones((2, 8))})
    return path


def _pt(tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(b"not read: the arguments are refused first")
    return path


ERRORS = [
    pytest.param(["{square}"], r"layout='auto' cannot tell which way round", id="ambiguous"),
    pytest.param(["{square}", "--layout", "rows"], r"argument --layout: invalid choice: 'rows'",
                 id="bad-layout"),
    pytest.param(["{graph}", "--layout", "in_out"],
                 r"--layout only applies to weight files .* not to '.*graph.npz'",
                 id="layout-with-graph"),
    pytest.param(["dense", "--n-in", 3, "--n-out", 2, "--layout", "out_in"],
                 r"--layout only applies to weight files .* not to 'the family dense'",
                 id="layout-with-family"),
    pytest.param(["{pt}", "--layout", "in_out"], r"layout must be 'out_in' or 'auto'",
                 id="state-dict-in_out"),
    pytest.param(["{pt}", "--sizes", "3,2"], r"--sizes only apply when building from a family",
                 id="sizes-with-state-dict"),
    pytest.param(["{conv}"], r"array 'conv.weight' in .* has shape \(8, 3, 3, 3\): only 2-D",
                 id="conv"),
    pytest.param(["{tmp}/missing.pt"], r"weights file '.*missing.pt' does not exist",
                 id="missing-pt"),
    pytest.param(["{npy}"], r"is not a graph file: graph files end in \.npz, \.pt, \.pth, "
                 r"\.graphml, \.edgelist, \.edges", id="unknown-suffix"),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "match"), ERRORS)
def test_errors_are_one_line_and_exit_1(capsys, tmp_path, argv, match):
    npy = tmp_path / "matrix.npy"
    np.save(npy, np.eye(2))
    names = {"tmp": tmp_path, "square": _square(tmp_path), "graph": _graph(tmp_path),
             "conv": _conv(tmp_path), "pt": _pt(tmp_path), "npy": npy}  # fmt: skip
    status, out, err = run_cli(capsys, "metrics", *[str(a).format(**names) for a in argv])
    assert (status, out) == (1, "")
    assert err.startswith("topokit: error: ")
    assert err.count("\n") == 1
    assert re.search(match, err), err


def test_scipy_file_of_weights_is_read_by_its_nonzero_pattern(capsys, tmp_path):
    import scipy.sparse as sp

    path = tmp_path / "trained.npz"
    sp.save_npz(path, sp.csr_array(np.array([[0.5, 0.0], [0.0, -2.0]])))
    status, out, err = run_cli(capsys, "metrics", path, "--keys", "n_edges", "--json")
    assert (status, err) == (0, "")
    assert json.loads(out) == {"n_edges": 2}


def test_state_dict_without_torch(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    status, out, err = run_cli(capsys, "metrics", _pt(tmp_path))
    assert (status, out) == (1, "")
    assert err.count("\n") == 1
    assert "needs torch: pip install torch" in err


def test_pickled_model_says_to_save_the_state_dict(capsys, tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "whole.pth"
    torch.save(torch.nn.Sequential(torch.nn.Linear(3, 2)), path)
    status, out, err = run_cli(capsys, "metrics", path)
    assert (status, out) == (1, "")
    assert err.count("\n") == 1
    assert "torch.save(model.state_dict(), path)" in err
