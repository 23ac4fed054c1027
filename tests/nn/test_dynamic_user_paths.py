"""Dynamic sparse training on the user paths: SparseMLP(dynamic=...) and SparseMLPClassifier.

The rules themselves are tested against dense oracles in test_dynamic.py; here: the
parameters and their checks, that ``fit`` drives the hook (exact edge counts, canonical
CSR, accuracy above chance on digits), determinism, save/load, the estimator's
``partial_fit`` and ``allocation``.
"""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from topokit import Topology
from topokit._errors import TopokitError
from topokit.allocation import layer_densities
from topokit.nn import SparseMLP, SparseMLPClassifier
from topokit.nn.datasets import load_dataset
from topokit.nn.dynamic import DynamicSparsity


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def _sparse(sizes=(64, 96, 10), density=0.1, seed=0):
    return Topology.build(list(sizes), "erdos_renyi", density=density, dense_output=True, rng=seed)


def _assert_canonical(model, start):
    assert [layer.n_edges for layer in model.layers] == [g.n_edges for g in start]
    for layer, graph in zip(model.layers, model.topology, strict=True):
        csr = graph.biadjacency
        assert graph is layer.graph
        assert csr.has_canonical_format
        for i in range(layer.n_in):
            assert np.all(np.diff(csr.indices[csr.indptr[i] : csr.indptr[i + 1]]) > 0)
        assert layer.weight.nnz == layer.n_edges == csr.nnz


def _keys(topology):
    return [tuple(map(tuple, graph.edges())) for graph in topology]


# ------------------------------------------------------------------ parameters
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"dynamic": "magic"}, r"dynamic must be one of \['static', 'set', 'rigl'\], got 'magic'"),
        ({"dynamic": "set", "drop_fraction": 0.0}, r"drop_fraction must be in \(0.0, 1.0\), got 0"),
        ({"drop_fraction": 1.5}, r"drop_fraction must be in \(0.0, 1.0\), got 1.5"),
        ({"update_interval": 0}, r"update_interval must be >= 1, got 0"),
        ({"update_interval": 2.5}, r"update_interval must be an integer, got 2.5"),
        ({"update_until": 0.0}, r"update_until must be in \(0.0, 1.0\], got 0.0"),
        ({"update_until": 1.5}, r"update_until must be in \(0.0, 1.0\], got 1.5"),
    ],
)
def test_sparse_mlp_checks_the_parameters_at_construction(kwargs, match):
    with pytest.raises(TopokitError, match=match):
        SparseMLP(_sparse(), **kwargs)


@pytest.mark.parametrize("rule", ["set", "rigl"])
def test_dynamic_needs_a_sparse_layer(rule):
    dense = Topology.build([6, 5, 3], "dense")
    with pytest.raises(TopokitError, match=rf"dynamic='{rule}' needs .* sparse layer"):
        SparseMLP(dense, dynamic=rule)
    assert SparseMLP(dense, dynamic="static").dynamic_sparsity is None


def test_static_is_the_default_and_changes_nothing(digits):
    start = _sparse()
    model = SparseMLP(start, rng=0).fit(digits.X_train, digits.y_train, epochs=2)
    assert model.dynamic == "static"
    assert model.dynamic_sparsity is None
    assert _keys(model.topology) == _keys(start)


# ------------------------------------------------------------------ SparseMLP.fit
@pytest.mark.parametrize("rule", ["set", "rigl"])
def test_fit_rewires_keeping_edge_counts_and_learns(digits, rule):
    start = _sparse()
    model = SparseMLP(start, dynamic=rule, learning_rate=0.01, rng=0)
    model.fit(digits.X_train, digits.y_train, epochs=4)
    _assert_canonical(model, start)
    assert _keys(model.topology) != _keys(start)
    assert model.score(digits.X_test, digits.y_test) > 0.5  # chance is 0.1
    hook = model.dynamic_sparsity
    assert isinstance(hook, DynamicSparsity)
    assert hook.rule == rule
    # once per epoch, not after the last; RigL not from 0.75 of the 4 epochs' steps on
    steps = -(-digits.X_train.shape[0] // 128)
    updates = [steps, 2 * steps, 3 * steps] if rule == "set" else [steps, 2 * steps]
    assert [change["step"] for change in hook.changes] == updates  # the output layer is dense
    assert [change["layer"] for change in hook.changes] == [0] * len(updates)
    assert [change["epoch"] for change in hook.changes] == list(range(len(updates)))
    expected = [hook.drop_fraction_at(step, 4 * steps) for step in updates]
    assert [change["drop_fraction"] for change in hook.changes] == expected
    if rule == "set":
        assert expected == [0.3] * 3
    assert [change["n_changed"] for change in hook.changes] == [
        int(f * start[0].n_edges) for f in expected
    ]
    ever = hook.ever_active_fraction()
    assert ever[1] == 1.0
    assert start[0].n_edges / (64 * 96) < ever[0] <= 1.0


def test_update_interval_counts_steps(digits):
    model = SparseMLP(_sparse(), dynamic="set", update_interval=4, rng=0)
    model.fit(digits.X_train, digits.y_train, epochs=1, batch_size=200)  # 7 steps
    assert [change["step"] for change in model.dynamic_sparsity.changes] == [4]


def test_the_hook_goes_on_across_fits(digits):
    model = SparseMLP(_sparse(), dynamic="set", rng=0)
    model.fit(digits.X_train, digits.y_train, epochs=2)
    hook = model.dynamic_sparsity
    ever = hook.ever_active_fraction()
    model.fit(digits.X_train, digits.y_train, epochs=2)
    assert model.dynamic_sparsity is hook
    assert len(hook.changes) == 2
    assert hook.ever_active_fraction()[0] > ever[0]


@pytest.mark.parametrize("rule", ["set", "rigl"])
def test_same_rng_same_final_topology(digits, rule):
    def train(seed):
        model = SparseMLP(_sparse(), dynamic=rule, update_interval=5, rng=seed)
        return model.fit(digits.X_train, digits.y_train, epochs=2)

    first, again, other = train(0), train(0), train(1)
    assert _keys(first.topology) == _keys(again.topology)
    for a, b in zip(first.layers, again.layers, strict=True):
        assert np.array_equal(a.weight_data, b.weight_data)
    assert _keys(first.topology) != _keys(other.topology)


def test_no_update_once_early_stopping_ends_training(digits):
    model = SparseMLP(_sparse(), dynamic="set", rng=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the best epoch's weights: rewired since
        model.fit(
            digits.X_train,
            digits.y_train,
            epochs=30,
            validation_fraction=0.2,
            early_stopping=True,
            patience=1,
        )
    n_epochs = model.history.n_epochs
    assert n_epochs < 30
    assert [change["epoch"] for change in model.dynamic_sparsity.changes] == list(
        range(n_epochs - 1)
    )


def test_save_and_load_keep_the_parameters_and_the_rewired_topology(digits, tmp_path):
    model = SparseMLP(
        _sparse(), dynamic="rigl", drop_fraction=0.2, update_interval=7, update_until=0.5, rng=0
    )
    model.fit(digits.X_train, digits.y_train, epochs=2)
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = SparseMLP.load(path)
    assert (loaded.dynamic, loaded.drop_fraction, loaded.update_interval, loaded.update_until) == (
        "rigl",
        0.2,
        7,
        0.5,
    )
    assert _keys(loaded.topology) == _keys(model.topology)
    assert np.array_equal(loaded.predict_proba(digits.X_test), model.predict_proba(digits.X_test))
    assert loaded.dynamic_sparsity is None  # the record of the updates is not saved


# ------------------------------------------------------------------ the estimator
@pytest.mark.parametrize("rule", ["set", "rigl"])
def test_classifier_fit_with_dynamic(digits, rule):
    clf = SparseMLPClassifier(
        (96,), density=0.1, learning_rate_init=0.01, max_iter=4, random_state=0, dynamic=rule
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(digits.X_train, digits.y_train)
    start = _sparse(seed=None)  # only the edge counts matter
    _assert_canonical(clf.model_, start)
    assert clf.topology_ is clf.model_.topology
    assert clf.score(digits.X_test, digits.y_test) > 0.5
    assert clf.dynamic_sparsity_ is clf.model_.dynamic_sparsity
    # once per epoch, not after the last; RigL not from 0.75 of the steps on
    epochs = {0, 1, 2} if rule == "set" else {0, 1}
    assert {change["epoch"] for change in clf.dynamic_sparsity_.changes} == epochs


def test_classifier_stores_parameters_and_checks_them_at_fit(digits):
    clf = SparseMLPClassifier(dynamic="magic", drop_fraction=7, allocation="nope")
    assert (clf.dynamic, clf.drop_fraction, clf.allocation) == ("magic", 7, "nope")
    assert {"dynamic", "drop_fraction", "update_interval", "update_until", "allocation"} <= set(
        clf.get_params()
    )
    with pytest.raises(TopokitError, match=r"allocation must be one of \['uniform', 'erk'\]"):
        clf.fit(digits.X_train, digits.y_train)
    clf.set_params(allocation="erk")
    with pytest.raises(TopokitError, match=r"dynamic must be one of .*got 'magic'"):
        clf.fit(digits.X_train, digits.y_train)
    clf.set_params(dynamic="set")
    with pytest.raises(TopokitError, match=r"drop_fraction must be in \(0.0, 1.0\), got 7"):
        clf.fit(digits.X_train, digits.y_train)
    clf.set_params(drop_fraction=0.3, update_interval=0)
    with pytest.raises(TopokitError, match=r"update_interval must be >= 1, got 0"):
        clf.fit(digits.X_train, digits.y_train)
    clf.set_params(update_interval=None, update_until=2)
    with pytest.raises(TopokitError, match=r"update_until must be in \(0.0, 1.0\], got 2"):
        clf.fit(digits.X_train, digits.y_train)
    clf.set_params(update_until=0.75, density=1.0)
    with pytest.raises(TopokitError, match=r"dynamic='set' needs .* sparse layer"):
        clf.fit(digits.X_train, digits.y_train)
    assert not hasattr(clf, "model_")


def test_classifier_allocation_erk(digits):
    clf = SparseMLPClassifier((200, 50), density=0.1, allocation="erk", max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(digits.X_train, digits.y_train)
    shapes = [(64, 200), (200, 50)]
    densities = layer_densities(shapes, 0.1, "erk")
    edges = [clf.topology_[k].n_edges for k in range(2)]
    assert sum(edges) == round(0.1 * sum(a * b for a, b in shapes))
    for n, (a, b), d in zip(edges, shapes, densities, strict=True):
        assert abs(n - d * a * b) <= 1
    assert edges[1] / (200 * 50) > edges[0] / (64 * 200)  # ERK: the smaller layer denser
    assert clf.topology_[2].n_edges == 50 * 10  # the output layer stays dense


def test_partial_fit_counts_update_steps_across_calls(digits):
    X, y = digits.X_train[:400], digits.y_train[:400]
    clf = SparseMLPClassifier((96,), density=0.1, batch_size=100, random_state=0)
    clf.set_params(dynamic="rigl", update_interval=3)
    for _ in range(3):  # 4 steps per call: steps 3, 6, 9, 12 update
        clf.partial_fit(X, y, classes=np.arange(10))
    changes = clf.dynamic_sparsity_.changes
    assert [change["step"] for change in changes] == [3, 6, 9, 12]
    # partial_fit does not know how many calls will come: no annealing
    assert {change["drop_fraction"] for change in changes} == {0.3}


def test_partial_fit_with_set_is_fit_then_one_update(digits):
    X, y = digits.X_train[:300], digits.y_train[:300]
    params = {"hidden_layer_sizes": (64,), "density": 0.2, "random_state": 0, "dynamic": "set"}
    incremental = SparseMLPClassifier(**params)
    for _ in range(3):
        incremental.partial_fit(X, y, classes=np.arange(10))
    whole = SparseMLPClassifier(**params, max_iter=3, n_iter_no_change=10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        whole.fit(X, y)
    assert len(incremental.dynamic_sparsity_.changes) == 3
    assert len(whole.dynamic_sparsity_.changes) == 2

    # the same two first updates (each partial_fit call is an epoch 0 of its own)
    def steps(clf):
        return [(c["step"], c["layer"], c["n_changed"]) for c in clf.dynamic_sparsity_.changes]

    assert steps(incremental)[:2] == steps(whole)
    assert incremental.loss_curve_ == whole.loss_curve_
