"""Pruned topologies (topokit.nn.prune) against dense NumPy oracles on small networks.

The oracles are independent of the implementation: the loss of a dense MLP written
afresh, its gradient and Hessian by central finite differences, SynFlow's scores by
enumerating every input-to-output path.
"""

import itertools
import logging
import subprocess
import sys

import numpy as np
import pytest

from topokit import Topology
from topokit._errors import TopokitError
from topokit.nn import PRUNING_METHODS, SparseMLP, prune
from topokit.nn._dense_scores import (
    gradient,
    hessian_gradient_product,
    initial_weights,
    synflow_scores,
)
from topokit.nn.datasets import Dataset
from topokit.nn.pruning import _kth_largest

SIZES = [5, 4, 3]


def _toy(n_features=5, n_classes=3, n_samples=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features)).astype(np.float32)
    y = rng.integers(0, n_classes, n_samples)
    y[:n_classes] = np.arange(n_classes)
    return Dataset(X, y, X[:10], y[:10], name="toy")


# ------------------------------------------------------------------ oracles
_PHI = {
    "relu": lambda z: np.maximum(z, 0.0),
    "tanh": np.tanh,
    "logistic": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "identity": lambda z: z,
}


def _loss(weights, activation, X, y):
    a = np.asarray(X, dtype=np.float64)
    for k, W in enumerate(weights):
        a = a @ W
        if k < len(weights) - 1:
            a = _PHI[activation](a)
    top = a.max(axis=1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.exp(a - top).sum(axis=1))
    return float(np.mean(log_norm - a[np.arange(y.size), y]))


def _unflatten(theta, shapes):
    out, start = [], 0
    for shape in shapes:
        size = shape[0] * shape[1]
        out.append(theta[start : start + size].reshape(shape))
        start += size
    return out


def _fd_gradient(weights, activation, X, y, h=1e-6):
    shapes = [w.shape for w in weights]
    theta = np.concatenate([w.ravel() for w in weights])
    grad = np.empty_like(theta)
    for i in range(theta.size):
        up, down = theta.copy(), theta.copy()
        up[i] += h
        down[i] -= h
        grad[i] = (
            _loss(_unflatten(up, shapes), activation, X, y)
            - _loss(_unflatten(down, shapes), activation, X, y)
        ) / (2 * h)
    return _unflatten(grad, shapes)


def _fd_hessian(weights, activation, X, y, h=1e-4):
    shapes = [w.shape for w in weights]
    theta = np.concatenate([w.ravel() for w in weights])
    n = theta.size

    def loss_at(shift):
        return _loss(_unflatten(theta + shift, shapes), activation, X, y)

    hessian = np.empty((n, n))
    eye = np.eye(n) * h
    for i in range(n):
        for j in range(i, n):
            value = (
                loss_at(eye[i] + eye[j])
                - loss_at(eye[i] - eye[j])
                - loss_at(-eye[i] + eye[j])
                + loss_at(-eye[i] - eye[j])
            ) / (4 * h * h)
            hessian[i, j] = hessian[j, i] = value
    return hessian


def _path_scores(abs_weights):
    """Score of each edge: the sum over every input-to-output path through it of Π|w|."""
    sizes = [abs_weights[0].shape[0]] + [w.shape[1] for w in abs_weights]
    scores = [np.zeros_like(w) for w in abs_weights]
    for path in itertools.product(*(range(n) for n in sizes)):
        product = np.prod([abs_weights[k][path[k], path[k + 1]] for k in range(len(abs_weights))])
        for k in range(len(abs_weights)):
            scores[k][path[k], path[k + 1]] += product
    return scores


def _top_mask(scores, count):
    """Oracle selection: the ``count`` largest scores of all layers together."""
    flat = np.concatenate([s.ravel() for s in scores])
    order = np.argsort(-flat, kind="stable")[:count]
    chosen = np.zeros(flat.size, dtype=bool)
    chosen[order] = True
    return _unflatten(chosen, [s.shape for s in scores])


def _draws(sizes, seed, data, batch_size, init="he"):
    """The initial weights and minibatch that prune draws from ``rng=seed``."""
    rng = np.random.default_rng(seed)
    weights = initial_weights(sizes, init, rng)
    rows = np.sort(rng.choice(data.n_train, size=min(batch_size, data.n_train), replace=False))
    return weights, data.X_train[rows].astype(np.float64), data.y_train[rows]


def _masks(topology):
    return [layer.biadjacency.toarray().astype(bool) for layer in topology]


# ------------------------------------------------------------ the scores
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_initial_weights_are_sparse_mlps_on_the_dense_topology(activation):
    model = SparseMLP(Topology.build(SIZES, "dense"), activation, rng=3, dtype=np.float64)
    init = "he" if activation == "relu" else "glorot"
    weights = initial_weights(SIZES, init, np.random.default_rng(3))
    for layer, matrix in zip(model.layers, weights, strict=True):
        np.testing.assert_allclose(layer.weight.toarray(), matrix, rtol=1e-12)


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
def test_gradient_matches_finite_differences(activation):
    data = _toy()
    weights, X, y = _draws(SIZES, 1, data, 16)
    loss, grads = gradient(weights, activation, X, y)
    assert loss == pytest.approx(_loss(weights, activation, X, y), rel=1e-12)
    for got, expected in zip(grads, _fd_gradient(weights, activation, X, y), strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
def test_hessian_gradient_product_matches_the_dense_hessian(activation):
    data = _toy()
    weights, X, y = _draws([5, 4, 3, 3], 2, data, 16)
    grads, hessian_grads = hessian_gradient_product(weights, activation, X, y)
    g = np.concatenate([gr.ravel() for gr in grads])
    expected = _fd_hessian(weights, activation, X, y) @ g
    got = np.concatenate([hg.ravel() for hg in hessian_grads])
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-7)


def test_synflow_scores_are_sums_of_path_products():
    rng = np.random.default_rng(4)
    abs_weights = [np.abs(rng.standard_normal(shape)) for shape in [(3, 4), (4, 3), (3, 2)]]
    abs_weights[1][0, 2] = 0.0  # a pruned edge scores zero and cuts its paths
    for got, expected in zip(synflow_scores(abs_weights), _path_scores(abs_weights), strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-12)


# -------------------------------------------------- what prune keeps
def test_snip_keeps_the_largest_abs_gradient_times_weight():
    data = _toy()
    sizes, density = [5, 4, 3], 0.4
    result = prune(
        "snip", sizes, dataset=data, density=density, rng=5, dense_output=False, batch_size=16
    )
    weights, X, y = _draws(sizes, 5, data, 16)
    scores = [
        np.abs(g * w) for g, w in zip(_fd_gradient(weights, "relu", X, y), weights, strict=True)
    ]
    expected = _top_mask(scores, round(density * (20 + 12)))
    for got, want in zip(_masks(result.topology), expected, strict=True):
        np.testing.assert_array_equal(got, want)


def test_grasp_removes_the_largest_minus_weight_times_hessian_gradient():
    data = _toy()
    sizes, density = [5, 4, 3], 0.5
    result = prune(
        "grasp",
        sizes,
        dataset=data,
        density=density,
        rng=6,
        dense_output=False,
        batch_size=16,
        activation="tanh",
    )
    weights, X, y = _draws(sizes, 6, data, 16, init="glorot")
    g = np.concatenate([gr.ravel() for gr in _fd_gradient(weights, "tanh", X, y)])
    hg = _unflatten(_fd_hessian(weights, "tanh", X, y) @ g, [w.shape for w in weights])
    grasp = [-w * h for w, h in zip(weights, hg, strict=True)]  # the published score
    expected = _top_mask([-s for s in grasp], 16)  # removes the 16 largest
    for got, want in zip(_masks(result.topology), expected, strict=True):
        np.testing.assert_array_equal(got, want)


def test_synflow_prunes_iteratively_on_an_exponential_schedule():
    sizes, density, iterations = [4, 3, 3, 2], 0.3, 4
    result = prune(
        "synflow", sizes, density=density, rng=7, dense_output=False, iterations=iterations
    )
    weights = initial_weights(sizes, "he", np.random.default_rng(7))
    masks = [np.ones(w.shape, dtype=bool) for w in weights]
    total = sum(w.size for w in weights)
    for i in range(1, iterations + 1):
        scores = _path_scores([np.abs(w) * m for w, m in zip(weights, masks, strict=True)])
        scores = [np.where(m, s, -np.inf) for s, m in zip(scores, masks, strict=True)]
        count = int(np.floor(density ** (i / iterations) * total + 0.5))
        masks = _top_mask(scores, count)
    for got, want in zip(_masks(result.topology), masks, strict=True):
        np.testing.assert_array_equal(got, want)


def test_magnitude_nests_across_densities_and_equals_one_round_of_lottery():
    data = _toy()
    common = {"dataset": data, "rng": 8, "epochs": 2, "batch_size": 8}
    low = prune("magnitude", [5, 6, 4, 3], density=0.3, **common)
    high = prune("magnitude", [5, 6, 4, 3], density=0.6, **common)
    for small, large in zip(_masks(low.topology), _masks(high.topology), strict=True):
        assert not (small & ~large).any()
    lottery = prune("lottery", [5, 6, 4, 3], density=0.3, rounds=1, **common)
    for a, b in zip(_masks(low.topology), _masks(lottery.topology), strict=True):
        np.testing.assert_array_equal(a, b)


def test_lottery_rewinds_to_the_initial_weights_at_step_zero():
    data = _toy()
    result = prune(
        "lottery", [5, 6, 3], dataset=data, density=0.4, rng=9, rounds=2, epochs=2, batch_size=8
    )
    init = SparseMLP(Topology.build([5, 6, 3], "dense"), rng=9)
    model = result.model(rng=0)
    for layer, dense_layer, weights in zip(model.layers, init.layers, result.weights, strict=True):
        mask = layer.graph.biadjacency.toarray().astype(bool)
        np.testing.assert_array_equal(
            layer.weight.toarray()[mask], dense_layer.weight.toarray()[mask]
        )
        np.testing.assert_array_equal(weights.toarray(), layer.weight.toarray())
        assert not layer.bias.any()


def test_lottery_rewinds_to_a_later_step():
    data = _toy()
    early = prune(
        "lottery",
        [5, 6, 3],
        dataset=data,
        density=0.4,
        rng=9,
        rounds=1,
        epochs=2,
        batch_size=8,
        rewind_step=3,
    )
    init = SparseMLP(Topology.build([5, 6, 3], "dense"), rng=9)
    moved = [
        not np.allclose(w.data, d.weight.toarray()[w.toarray() != 0])
        for w, d in zip(early.weights, init.layers, strict=True)
    ]
    assert any(moved)
    assert any(bias.any() for bias in early.biases)


# --------------------------------------------------------- edge counts
@pytest.mark.parametrize("method", list(PRUNING_METHODS))
@pytest.mark.parametrize("scope", ["layer", "global"])
def test_exact_edge_counts(method, scope):
    sizes, density = [5, 7, 6, 3], 0.35
    result = prune(
        method, sizes, dataset=_toy(), density=density, rng=10, scope=scope, **_quick(method)
    )
    counts = [layer.n_edges for layer in result.topology]
    per_layer = [int(np.floor(density * a * b + 0.5)) for a, b in [(5, 7), (7, 6)]]
    if scope == "layer":
        assert counts[:2] == per_layer
    else:
        assert sum(counts[:2]) == int(np.floor(density * (35 + 42) + 0.5))
    assert counts[2] == 6 * 3  # the dense output layer
    assert result.topology[2].family == "dense"
    assert {result.topology[k].family for k in (0, 1)} == {method}


@pytest.mark.parametrize("method", list(PRUNING_METHODS))
def test_same_seed_same_topology(method):
    data = _toy()
    first = prune(method, [5, 7, 3], dataset=data, density=0.3, rng=11, **_quick(method))
    second = prune(method, [5, 7, 3], dataset=data, density=0.3, rng=11, **_quick(method))
    other = prune(method, [5, 7, 3], dataset=data, density=0.3, rng=12, **_quick(method))
    for a, b in zip(_masks(first.topology), _masks(second.topology), strict=True):
        np.testing.assert_array_equal(a, b)
    assert first.topology[0].seed == 11
    assert any(
        (a != b).any() for a, b in zip(_masks(first.topology), _masks(other.topology), strict=True)
    )


def test_density_one_keeps_every_weight():
    result = prune("snip", [5, 4, 3], dataset=_toy(), density=1.0, rng=0)
    assert result.topology[0].n_edges == 20


def _quick(method):
    if method in ("magnitude", "lottery"):
        return {"epochs": 1, "batch_size": 8}
    if method == "synflow":
        return {"iterations": 5}
    return {}


# ------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"method": "obd"}, r"method must be one of .*snip.* got 'obd'", id="method"),
        pytest.param({"density": 0.0}, r"density must be in \(0.0, 1.0\], got 0.0", id="zero"),
        pytest.param({"density": 1.5}, r"density must be in \(0.0, 1.0\], got 1.5", id="above"),
        pytest.param(
            {"density": 0.01, "scope": "layer"},
            r"density=0.01 keeps 0 of the 20 weights of layer 0 \(5 -> 4\) with scope 'layer'; "
            r"the smallest density that keeps one is 0.05",
            id="unreachable-layer",
        ),
        pytest.param(
            {"density": 0.01},
            r"density=0.01 keeps 0 of the 20 weights with scope 'global'; .* is 0.05",
            id="unreachable-global",
        ),
        pytest.param(
            {"dataset": None},
            r"dataset is required by pruning method 'snip'.*None",
            id="no-dataset",
        ),
        pytest.param(
            {"sizes": [6, 4, 3]},
            r"sizes must run from the 5 features to the 3 "
            r"classes of dataset 'toy', got \[6, 4, 3\]",
            id="sizes-data",
        ),
        pytest.param(
            {"sizes": [5, 3]},
            r"dense_output=True .* sizes \[5, 3\] has no other "
            "layer",
            id="only-output",
        ),
        pytest.param(
            {"rounds": 2},
            r"unknown parameter 'rounds' for pruning method 'snip'; "
            "its parameters: scope, batch_size, activation",
            id="param",
        ),
        pytest.param({"scope": "net"}, r"scope must be 'layer' or 'global', got 'net'", id="scope"),
        pytest.param({"batch_size": 0}, r"batch_size must be >= 1, got 0", id="batch"),
        pytest.param({"activation": "gelu"}, r"gelu", id="activation"),
        pytest.param(
            {"method": "lottery", "rewind_step": 99, "epochs": 1, "batch_size": 8},
            r"rewind_step must be <= the 5 steps of training \(1 epochs of 5 minibatches\), "
            "got 99",
            id="rewind",
        ),
    ],
)
def test_bad_input(kwargs, match):
    arguments = {
        "method": "snip",
        "sizes": [5, 4, 3],
        "dataset": _toy(),
        "density": 0.5,
        "rng": 0,
        **kwargs,
    }
    with pytest.raises(TopokitError, match=match):
        prune(arguments.pop("method"), arguments.pop("sizes"), **arguments)


def test_synflow_needs_no_data():
    result = prune("synflow", [9, 4, 2], density=0.5, rng=0, iterations=3)
    assert result.topology[0].n_edges == 18
    assert "dataset" not in result.topology[0].params


def test_the_pruning_module_is_light():
    """``topokit prune --help`` reads PRUNING_METHODS: importing it brings no numba."""
    code = (
        "import sys\nfrom topokit.nn import PRUNING_METHODS, prune\n"
        "print(','.join(m for m in ('numba', 'sklearn') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


@pytest.mark.parametrize("layout", ["random", "ties", "half-pruned", "scaled"])
@pytest.mark.parametrize("share", [1e-6, 0.01, 0.5, 1 - 1e-6])
def test_kth_largest_of_a_large_array_is_exact(layout, share):
    """The bracketed selection (arrays over 2 million entries) against a full sort."""
    rng = np.random.default_rng(0)
    n = 2_500_000
    scores = rng.standard_normal(n)
    if layout == "ties":
        scores = np.round(scores, 1)
    elif layout == "half-pruned":
        scores[rng.random(n) < 0.5] = -np.inf
    elif layout == "scaled":  # row and column scales, as SynFlow's scores
        scores = np.outer(rng.random(1000), rng.random(2500)).ravel() * np.abs(scores)
    k = max(1, round(share * n))
    assert _kth_largest(scores, k) == np.sort(scores)[n - k]


def test_long_pruning_says_where_it_is(monkeypatch, caplog):
    # the globals of the prune that runs: collecting the doctests may import the module
    # file once more, as another module object
    monkeypatch.setitem(prune.__globals__, "_NOTICE_SECONDS", 0.0)
    with caplog.at_level(logging.INFO, logger="topokit.nn"):
        prune(
            "lottery",
            [5, 6, 3],
            dataset=_toy(),
            density=0.4,
            rng=0,
            rounds=2,
            epochs=1,
            batch_size=20,
        )
        prune("synflow", [5, 6, 3], density=0.4, rng=0, iterations=2)
    assert [record.getMessage() for record in caplog.records] == [
        "pruning with lottery: training the dense network, epoch 1 of 1",
        "pruning with lottery: training the dense network, epoch 1 of 1",
        "pruning with lottery: training round 2 of 2, epoch 1 of 1",
        "pruning with lottery: training round 2 of 2, epoch 1 of 1",
        "pruning with synflow: iteration 1 of 2 done",
        "pruning with synflow: iteration 2 of 2 done",
    ]
