"""Saving over a file never leaves it half-written (topokit/_atomic.py).

Each save is interrupted half-way through writing its archive (as Ctrl-C or a full disk
would): the file saved before must load as it was, and no temporary file may be left.
"""

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

import topokit
from topokit import _atomic, _graph_file
from topokit.interop import weights as weights_module
from topokit.interop.weights import read_weights, save_weights
from topokit.nn import SparseMLP
from topokit.nn import mlp as mlp_module


def _topology(sizes, density, seed):
    rng = np.random.default_rng(seed)
    layers = []
    for n_in, n_out in itertools.pairwise(sizes):
        pattern = sp.random_array((n_in, n_out), density=density, rng=rng, format="csr")
        pattern.data[:] = 1.0
        layers.append(topokit.LayerGraph(pattern))
    return topokit.Topology(layers)


def _interrupted(name):
    """A stand-in for ``np.<name>`` that writes half an archive, then is interrupted."""
    real = getattr(np, name)

    def half(file, **arrays):
        real(file, **arrays)
        file.truncate(file.tell() // 2)
        raise KeyboardInterrupt

    return half


def _assert_interrupted_save_keeps(path, save, module, name):
    before = path.read_bytes()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module.np, name, _interrupted(name))
        with pytest.raises(KeyboardInterrupt):
            save()
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_an_interrupted_model_save_keeps_the_previous_model(tmp_path):
    topology = _topology([20, 30, 3], 0.5, seed=0)
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((64, 20)), rng.integers(0, 3, 64)
    model = SparseMLP(topology, rng=0)
    model.fit(X, y, epochs=1)
    path = tmp_path / "model.npz"
    model.save(path)
    expected = model.predict_proba(X)
    model.fit(X, y, epochs=1)  # the model moves on; its next save is interrupted
    _assert_interrupted_save_keeps(path, lambda: model.save(path), mlp_module, "savez")
    np.testing.assert_array_equal(SparseMLP.load(path).predict_proba(X), expected)


def test_an_interrupted_layer_or_topology_save_keeps_the_previous_file(tmp_path):
    first, second = _topology([20, 30, 3], 0.5, seed=0), _topology([20, 30, 3], 0.2, seed=1)
    layer_path, topology_path = tmp_path / "layer" / "l.npz", tmp_path / "top" / "t.npz"
    layer_path.parent.mkdir()
    topology_path.parent.mkdir()
    topokit.save_layer(first[0], layer_path)
    topokit.save_topology(first, topology_path)
    _assert_interrupted_save_keeps(
        layer_path,
        lambda: topokit.save_layer(second[0], layer_path),
        _graph_file,
        "savez_compressed",
    )
    _assert_interrupted_save_keeps(
        topology_path,
        lambda: topokit.save_topology(second, topology_path),
        _graph_file,
        "savez_compressed",
    )
    assert topokit.load_layer(layer_path).n_edges == first[0].n_edges
    assert [g.n_edges for g in topokit.load_topology(topology_path)] == [g.n_edges for g in first]


def test_an_interrupted_weights_save_keeps_the_previous_file(tmp_path):
    path = tmp_path / "w.npz"
    save_weights(path, [np.ones((4, 3)), np.ones((3, 2))])
    _assert_interrupted_save_keeps(
        path,
        lambda: save_weights(path, [np.zeros((4, 3))]),
        weights_module,
        "savez_compressed",
    )
    assert read_weights(path, layout="in_out").sizes == [4, 3, 2]


def test_a_save_that_cannot_open_its_file_names_the_file_asked_for(tmp_path):
    missing = tmp_path / "no such folder" / "model.npz"
    with pytest.raises(FileNotFoundError) as info, _atomic.replacing(missing):
        pass
    assert info.value.filename == str(missing)


def _interrupt_after_writing(real):
    """A stand-in for a writer ``real(file, ...)`` that writes, then is interrupted."""

    def half(file, *args, **kwargs):
        real(file, *args, **kwargs)
        raise KeyboardInterrupt

    return half


def test_an_interrupted_graph_export_keeps_the_previous_file(tmp_path):
    from topokit.interop import _edgelist, _graphml, graphs

    first, second = _topology([20, 30], 0.5, seed=0)[0], _topology([20, 30], 0.2, seed=1)[0]
    for name, write, module, writer in (
        ("l.edgelist", graphs.write_edgelist, _edgelist, "write_edgelist_text"),
        ("l.graphml", graphs.write_graphml, _graphml, "write_graphml_text"),
    ):
        path = tmp_path / name.split(".")[1] / name
        path.parent.mkdir()
        write(first, path)
        before = path.read_bytes()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(module, writer, _interrupt_after_writing(getattr(module, writer)))
            with pytest.raises(KeyboardInterrupt):
                write(second, path)
        assert path.read_bytes() == before
        assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_an_interrupted_figure_save_keeps_the_previous_file(tmp_path):
    from matplotlib.figure import Figure

    from topokit.analysis import plots

    figure = Figure()
    figure.add_subplot().plot([0, 1], [0, 1])
    png, svg = plots.save_figure(figure, tmp_path, "line")
    before = png.read_bytes(), svg.read_bytes()
    figure.axes[0].plot([0, 1], [1, 0])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Figure, "savefig", _interrupt_after_writing(Figure.savefig))
        with pytest.raises(KeyboardInterrupt):
            plots.save_figure(figure, tmp_path, "line")
    assert (png.read_bytes(), svg.read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["line.png", "line.svg"]


def test_a_replaced_file_keeps_its_permissions(tmp_path):
    path = tmp_path / "w.npz"
    save_weights(path, [np.ones((4, 3))])
    path.chmod(0o600)
    save_weights(path, [np.zeros((4, 3))])
    assert path.stat().st_mode & 0o777 == 0o600
    path.chmod(0o640)
    with _atomic.replacing(path, binary=False) as file:
        file.write("text")
    assert path.stat().st_mode & 0o777 == 0o640
    assert path.read_text() == "text"


def test_a_symbolic_link_is_written_through(tmp_path):
    target = tmp_path / "checkpoints" / "model-7.npz"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "latest.npz"
    link.symlink_to(target)
    with _atomic.replacing(link, binary=False) as file:
        file.write("new")
    assert link.is_symlink()
    assert link.resolve() == target.resolve()
    assert target.read_text() == "new"
    assert sorted(p.name for p in target.parent.iterdir()) == ["model-7.npz"]


def test_an_interrupted_table_export_or_layer_drawing_keeps_the_previous_file(tmp_path):
    import pandas as pd
    from matplotlib.figure import Figure

    from topokit.analysis import results
    from topokit.draw import draw_layer

    path, drawing = tmp_path / "results.csv", tmp_path / "layer.png"
    graph = _topology([20, 30], 0.5, seed=0)[0]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(results, "load_results", lambda _: pd.DataFrame({"accuracy": [0.5]}))
        results.export_results(tmp_path, path)
        draw_layer(graph, drawing)
        before = path.read_bytes(), drawing.read_bytes()
        patch.setattr(results, "load_results", lambda _: pd.DataFrame({"accuracy": [0.9]}))
        patch.setattr(pd.DataFrame, "to_csv", _interrupt_after_writing(pd.DataFrame.to_csv))
        patch.setattr(Figure, "savefig", _interrupt_after_writing(Figure.savefig))
        with pytest.raises(KeyboardInterrupt):
            results.export_results(tmp_path, path)
        with pytest.raises(KeyboardInterrupt):
            draw_layer(_topology([20, 30], 0.2, seed=1)[0], drawing)
    assert (path.read_bytes(), drawing.read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["layer.png", "results.csv"]
