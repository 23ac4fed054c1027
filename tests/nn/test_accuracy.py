"""Accuracy targets: digits (always) and MNIST (slow; skipped without ``TOPOKIT_DATA``).

The dense layers here run on BLAS. On the shared 2-core test machine, BLAS's own
thread pool next to numba's (and next to other jobs) makes every product wait on a
descheduled thread, so these tests hold BLAS to one thread (numba keeps its threads).
"""

import gzip

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from topokit.graph import LayerGraph
from topokit.nn import SparseMLP
from topokit.topology import Topology


def test_digits_dense_64_256_10():
    digits = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(
        digits.data / 16.0, digits.target, test_size=0.25, random_state=0, stratify=digits.target
    )
    model = SparseMLP(Topology.build([64, 256, 10], "dense"), learning_rate=2e-3, rng=0)
    with threadpool_limits(1, user_api="blas"):
        model.fit(X_train, y_train, epochs=30, batch_size=64)
    assert model.score(X_test, y_test) >= 0.96


def _read_idx(path):
    with gzip.open(path, "rb") as handle:
        raw = handle.read()
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * k : 8 + 4 * k], "big") for k in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    X_train = _read_idx(mnist_dir / "train-images-idx3-ubyte.gz").reshape(-1, 784) / 255.0
    y_train = _read_idx(mnist_dir / "train-labels-idx1-ubyte.gz").astype(np.int64)
    X_test = _read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz").reshape(-1, 784) / 255.0
    y_test = _read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz").astype(np.int64)
    return X_train.astype(np.float32), y_train, X_test.astype(np.float32), y_test


def _sparse_layer(n_in, n_out, density, rng):
    n_edges = round(density * n_in * n_out)
    flat = np.sort(rng.choice(n_in * n_out, size=n_edges, replace=False))
    return LayerGraph.from_edges(flat // n_out, flat % n_out, n_in, n_out)


@pytest.mark.slow
def test_mnist_dense_784_300_100_10(mnist):
    X_train, y_train, X_test, y_test = mnist
    model = SparseMLP(
        Topology.build([784, 300, 100, 10], "dense"), learning_rate=1e-3, schedule="cosine", rng=0
    )
    with threadpool_limits(1, user_api="blas"):
        model.fit(X_train, y_train, epochs=10, batch_size=128, target_accuracy=0.98)
    assert model.score(X_test, y_test) >= 0.98


@pytest.mark.slow
def test_mnist_hidden_layers_at_5_percent(mnist, rng):
    X_train, y_train, X_test, y_test = mnist
    topology = Topology(
        [
            _sparse_layer(784, 300, 0.05, rng),
            _sparse_layer(300, 100, 0.05, rng),
            LayerGraph(np.ones((100, 10))),
        ]
    )
    model = SparseMLP(topology, learning_rate=3e-3, schedule="cosine", rng=0)
    with threadpool_limits(1, user_api="blas"):
        model.fit(X_train, y_train, epochs=20, batch_size=128)
    assert model.layers[0].n_edges == round(0.05 * 784 * 300)
    assert not model.layers[0].uses_dense
    assert model.score(X_test, y_test) >= 0.97
