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
