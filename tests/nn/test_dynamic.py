"""Dynamic sparse training (topokit.nn.dynamic): SET and RigL against dense NumPy oracles.

The training is driven here by a small loop that calls the hook as the training loop does
(``on_fit_start``, ``on_step_end`` after each step, ``on_epoch_end``, ``on_fit_end``) with
a state object holding the attributes of the loop's ``TrainingState``.
"""

import math
import tracemalloc
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.sparse as sp

from topokit._errors import TopokitError
from topokit.graph import LayerGraph
from topokit.nn import SparseMLP
from topokit.nn.dynamic import (
    DynamicSparsity,
    _layer_signals,
    _sample_empty,
    _top_gradient_empty,
    rewire_layer,
)
from topokit.topology import Topology


def _data(n_features=12, n=240, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_features))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5)
    return X, y


def _train(model, hook, X, y, *, epochs, batch_size=32, after_step=None):
    """The training loop's calling side, reduced: shuffled minibatches, hooks in order."""
    steps_per_epoch = math.ceil(X.shape[0] / batch_size)
    state = SimpleNamespace(
        model=model,
        optimizer=model.optimizer,
        epoch=0,
        step=0,
        total_steps=epochs * steps_per_epoch,
        steps_per_epoch=steps_per_epoch,
        X_batch=None,
        y_batch=None,
        loss=None,
        history=model.history,
        stop=False,
    )
    rng = np.random.default_rng(0)
    hook.on_fit_start(state)
    for epoch in range(epochs):
        state.epoch = epoch
        order = rng.permutation(X.shape[0])
        for first in range(0, X.shape[0], batch_size):
            rows = order[first : first + batch_size]
            state.X_batch, state.y_batch = X[rows], y[rows]
            state.loss = model.train_step(state.X_batch, state.y_batch)
            state.step += 1
            hook.on_step_end(state)
            if after_step is not None:
                after_step(state)
        hook.on_epoch_end(state)
    hook.on_fit_end(state)
    return state


def _assert_canonical(model):
    for layer, graph in zip(model.layers, model.topology, strict=True):
        csr = layer.graph.biadjacency
        assert graph is layer.graph
        assert csr.has_canonical_format
        for i in range(layer.n_in):
            row = csr.indices[csr.indptr[i] : csr.indptr[i + 1]]
            assert np.all(np.diff(row) > 0)
        assert layer.weight.nnz == layer.n_edges == csr.nnz


def _keys(layer):
    rows, cols = layer.graph.edges()
    return rows.astype(np.int64) * layer.n_out + cols


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"rule": "magic"}, r"dynamic must be one of \['static', 'set', 'rigl'\], got 'magic'"),
        ({"drop_fraction": 0.0}, r"drop_fraction must be in \(0.0, 1.0\), got 0.0"),
        ({"drop_fraction": 1.0}, r"drop_fraction must be in \(0.0, 1.0\), got 1.0"),
        ({"update_interval": 0}, r"update_interval must be .*1.*got 0"),
        ({"update_until": 0.0}, r"update_until must be in \(0.0, 1.0\], got 0.0"),
        ({"update_until": 1.5}, r"update_until must be in \(0.0, 1.0\], got 1.5"),
    ],
)
def test_bad_parameters_name_the_parameter(kwargs, match):
    rule = kwargs.pop("rule", "set")
    with pytest.raises(TopokitError, match=match):
        DynamicSparsity(rule, **kwargs)


@pytest.mark.parametrize("rule", ["set", "rigl"])
def test_a_topology_without_a_sparse_layer_is_refused(rule):
    model = SparseMLP(Topology.build([6, 5, 3], "dense"), rng=0)
    with pytest.raises(TopokitError, match=rf"dynamic='{rule}' needs .* sparse layer"):
        DynamicSparsity(rule).on_fit_start(SimpleNamespace(model=model))
    DynamicSparsity("static").on_fit_start(SimpleNamespace(model=model))  # nothing to do


def test_rewire_layer_bad_input(make_topology):
    model = SparseMLP(make_topology([6, 5, 3], 0.5, seed=1), rng=0)
    keys = _keys(model.layers[0])
    empty = np.setdiff1d(np.arange(30), keys)
    with pytest.raises(TopokitError, match="index must be"):
        rewire_layer(model, 2, [], [])
    with pytest.raises(TopokitError, match="init must be one of"):
        rewire_layer(model, 0, [], [], init="ones")
    with pytest.raises(TopokitError, match="as many distinct positions as drop"):
        rewire_layer(model, 0, keys[:2], empty[:1])
    with pytest.raises(
        TopokitError, match=f"drop must name edges of layer 0, got position {empty[0]}"
    ):
        rewire_layer(model, 0, [empty[0]], [empty[1]])
    with pytest.raises(TopokitError, match=r"grow must name positions in \[0, 30\)"):
        rewire_layer(model, 0, keys[:1], [30])
    with pytest.raises(TopokitError, match="grow must not repeat a position"):
        rewire_layer(model, 0, keys[:2], [empty[0], empty[0]])
    with pytest.raises(
        TopokitError, match=f"grow must name empty positions of layer 0, got the edge {keys[1]}"
    ):
        rewire_layer(model, 0, keys[:1], keys[1:2])


# ------------------------------------------------------------------ surgery
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_rewire_carries_weights_and_optimizer_state(make_topology, optimizer):
    """Against a dense oracle: kept edges keep weight and state, new ones start at zero."""
    X, y = _data()
    model = SparseMLP(make_topology([12, 9, 3], 0.4, seed=3), optimizer=optimizer, rng=0)
    for _ in range(3):
        model.train_step(X[:32], y[:32])
    layer = model.layers[0]
    states = list(model.optimizer.state)
    assert len(states) == (1 if optimizer == "sgd" else 2)
    shape = (layer.n_in, layer.n_out)

    def dense(values):
        return sp.csr_array((values, layer._indices, layer._indptr), shape=shape).toarray()

    weights_before = dense(layer.weight_data.copy())
    states_before = [dense(s[0].copy()) for s in states]
    keys = _keys(layer)
    empty = np.setdiff1d(np.arange(layer.n_in * layer.n_out), keys)
    rng = np.random.default_rng(5)
    drop = rng.choice(keys, 7, replace=False)
    grow = rng.choice(empty, 7, replace=False)
    other = model.layers[1].weight_data.copy()

    rewire_layer(model, 0, drop, grow)

    _assert_canonical(model)
    assert layer.n_edges == keys.size
    expected = np.union1d(np.setdiff1d(keys, drop), grow)
    np.testing.assert_array_equal(_keys(layer), expected)
    mask = np.zeros(layer.n_in * layer.n_out, bool)
    mask[expected] = True
    kept = mask.copy()
    kept[grow] = False
    after = dense(layer.weight_data).ravel()
    np.testing.assert_array_equal(after[kept], weights_before.ravel()[kept])
    np.testing.assert_array_equal(after[grow], 0)
    for state, before in zip(states, states_before, strict=True):
        values = dense(state[0]).ravel()
        np.testing.assert_array_equal(values[kept], before.ravel()[kept])
        np.testing.assert_array_equal(values[grow], 0)
    np.testing.assert_array_equal(model.layers[1].weight_data, other)
    # the model computes with the new pattern: forward equals the dense product
    logits = model.layers[0].forward(X[:5].astype(np.float32))
    np.testing.assert_allclose(logits, X[:5] @ after.reshape(shape) + layer.bias, rtol=1e-5)
    model.train_step(X[:32], y[:32])  # and trains on


def test_rewire_draws_new_weights_as_at_the_start(make_topology):
    """``init="he"``: new weights scaled by the new fan-in, kept ones untouched."""
    model = SparseMLP(make_topology([200, 4, 3], 0.5, seed=0), rng=0)
    layer = model.layers[0]
    keys = _keys(layer)
    empty = np.setdiff1d(np.arange(800), keys)
    grow = np.random.default_rng(1).choice(empty, 90, replace=False)
    rewire_layer(model, 0, keys[:90], grow, init="he", rng=2)
    fan_in = layer.graph.fan_in
    new = np.isin(_keys(layer), grow)
    z = layer.weight_data[new] / np.sqrt(2.0 / fan_in[_keys(layer)[new] % 4])
    assert abs(np.std(z) - 1) < 0.2
    assert abs(np.mean(z)) < 0.25


# ------------------------------------------------------------------ RigL
def _oracle_gradient(model, X, y):
    """dL/dW of the mean cross-entropy per layer, dense, by NumPy in float64."""
    weights = [layer.weight.toarray().astype(np.float64) for layer in model.layers]
    biases = [layer.bias.astype(np.float64) for layer in model.layers]
    inputs, a = [], X.astype(np.float64)
    for k, (W, b) in enumerate(zip(weights, biases, strict=True)):
        inputs.append(a)
        a = a @ W + b
        if k < len(weights) - 1:
            a = np.maximum(a, 0)
    p = np.exp(a - a.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    delta = p - np.eye(weights[-1].shape[1])[y]
    delta /= y.size
    grads = [None] * len(weights)
    for k in range(len(weights) - 1, -1, -1):
        grads[k] = inputs[k].T @ delta
        delta = (delta @ weights[k].T) * (inputs[k] > 0)
    return grads


def _oracle_top(gradient, present, n):
    """The n empty positions of largest |g|, ties to the smaller flat key."""
    scores = np.abs(gradient).ravel()
    keys = np.arange(scores.size)
    empty = np.setdiff1d(keys, present)
    order = np.lexsort((empty, -scores[empty]))
    return np.sort(empty[order[:n]])


def test_layer_signals_give_the_dense_gradient(make_topology):
    X, y = _data()
    model = SparseMLP(make_topology([12, 10, 8, 3], 0.4, seed=4), dtype=np.float64, rng=0)
    inputs, deltas = _layer_signals(model, X[:40], y[:40])
    for k, gradient in enumerate(_oracle_gradient(model, X[:40], y[:40])):
        np.testing.assert_allclose(inputs[k].T @ deltas[k], gradient, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("block_elements", [1, 7, 40, 10_000])
def test_rigl_grows_at_the_top_gradient_empty_positions(make_topology, block_elements):
    """Block by block (one output column per block up to the whole layer): the same as
    the dense oracle's top-|g| empty positions, exact zero gradients included (ties)."""
    X, y = _data()
    X[:, 5] = 0  # an input that never fires: a row of exactly zero gradients
    model = SparseMLP(make_topology([12, 10, 8, 3], 0.3, seed=6), dtype=np.float64, rng=0)
    for _ in range(5):
        model.train_step(X[:32], y[:32])
    grads = _oracle_gradient(model, X[32:64], y[32:64])
    inputs, deltas = _layer_signals(model, X[32:64], y[32:64])
    for k, layer in enumerate(model.layers):
        present = _keys(layer)
        for n in (1, 5, layer.n_in * layer.n_out - present.size):
            got = _top_gradient_empty(layer, inputs[k], deltas[k], n, block_elements)
            np.testing.assert_array_equal(got, _oracle_top(grads[k], present, n))


def test_a_rigl_update_drops_the_smallest_and_grows_the_top_gradients(make_topology):
    X, y = _data()
    model = SparseMLP(make_topology([12, 10, 8, 3], 0.3, seed=7), dtype=np.float64, rng=0)
    for _ in range(4):
        model.train_step(X[:32], y[:32])
    before = [(_keys(layer), layer.weight_data.copy()) for layer in model.layers]
    grads = _oracle_gradient(model, X[:32], y[:32])
    hook = DynamicSparsity("rigl", drop_fraction=0.3)
    changed = hook.update(model, X[:32], y[:32])
    _assert_canonical(model)
    for k, layer in enumerate(model.layers):
        keys, weights = before[k]
        n = int(0.3 * keys.size)
        assert changed[k] == n
        assert layer.n_edges == keys.size
        dropped = keys[np.lexsort((keys, np.abs(weights)))[:n]]
        grown = _oracle_top(grads[k], keys, n)
        expected = np.union1d(np.setdiff1d(keys, dropped), grown)
        np.testing.assert_array_equal(_keys(layer), expected)
        np.testing.assert_array_equal(layer.weight_data[np.isin(expected, grown)], 0)
        for state in model.optimizer.state:
            np.testing.assert_array_equal(state[2 * k][np.isin(expected, grown)], 0)


def test_rigl_drop_fraction_anneals_by_cosine():
    hook = DynamicSparsity("rigl", drop_fraction=0.3, update_until=0.75)
    total = 1000
    for step in (0, 100, 374, 600, 749):
        expected = 0.15 * (1 + math.cos(math.pi * step / 750))
        assert hook.drop_fraction_at(step, total) == pytest.approx(expected, rel=1e-12)
    assert hook.drop_fraction_at(750, total) == 0.0
    assert hook.drop_fraction_at(900, total) == 0.0
    assert hook.drop_fraction_at(900, None) == 0.3  # total unknown: no annealing
    assert DynamicSparsity("set", drop_fraction=0.2).drop_fraction_at(900, total) == 0.2
    assert DynamicSparsity("static").drop_fraction_at(1, total) == 0.0


# ------------------------------------------------------------------ SET
def test_set_samples_distinct_empty_positions_uniformly():
    rng = np.random.default_rng(0)
    n_positions = 60
    keys = np.sort(rng.choice(n_positions, 20, replace=False))
    counts = np.zeros(n_positions)
    for _ in range(3000):
        got = _sample_empty(keys, n_positions, 8, rng)
        assert got.size == 8
        assert np.all(np.diff(got) > 0)
        assert not np.isin(got, keys).any()
        counts[got] += 1
    empty = np.setdiff1d(np.arange(n_positions), keys)
    assert counts[keys].sum() == 0
    expected = 3000 * 8 / empty.size  # 600 draws per empty position
    chi2 = ((counts[empty] - expected) ** 2 / expected).sum()
    assert chi2 < 80  # 39 degrees of freedom: p < 1e-4 above 75
    # every empty position can come, all of them at once included
    np.testing.assert_array_equal(_sample_empty(keys, n_positions, empty.size, rng), empty)


def test_set_update_is_deterministic_for_a_seed(make_topology):
    X, y = _data()
    results = []
    for _ in range(2):
        model = SparseMLP(make_topology([12, 16, 3], 0.3, seed=8), rng=0)
        _train(model, DynamicSparsity("set", rng=4), X, y, epochs=3)
        results.append([(_keys(layer), layer.weight_data.copy()) for layer in model.layers])
    for (keys_a, w_a), (keys_b, w_b) in zip(*results, strict=True):
        np.testing.assert_array_equal(keys_a, keys_b)
        np.testing.assert_array_equal(w_a, w_b)


# ------------------------------------------------------------------ training
@pytest.mark.parametrize("rule", ["set", "rigl"])
@pytest.mark.parametrize("update_interval", [None, 10])
def test_training_with_updates(make_topology, rule, update_interval):
    """End to end: exact edge counts, canonical patterns, zero state of new edges right
    after each update, a model that still learns, and the outcomes recorded."""
    X, y = _data(n=400)
    topology = make_topology([12, 24, 16, 3], 0.3, seed=9)
    model = SparseMLP(topology, learning_rate=0.03, rng=0)
    counts = [graph.n_edges for graph in topology]
    fraction = 0.3 if update_interval is None else 0.1
    hook = DynamicSparsity(rule, drop_fraction=fraction, update_interval=update_interval, rng=1)
    seen = {"updates": 0}

    def check(state):
        new = len(hook.changes)
        if new == seen["updates"]:
            return
        # right after an update (on_step_end ran before this): grown rigl weights are 0
        seen["updates"] = new
        assert [layer.n_edges for layer in model.layers] == counts

    epochs = 8
    state = _train(model, hook, X, y, epochs=epochs, after_step=check)
    _assert_canonical(model)
    assert [layer.n_edges for layer in model.layers] == counts
    assert [graph.n_edges for graph in model.topology] == counts
    assert model.score(X, y) > 0.65  # the majority class is 0.475
    steps = state.total_steps
    updates = {c["step"] for c in hook.changes}
    if update_interval is None:
        expected = {e * state.steps_per_epoch for e in range(1, epochs)}  # not the last
    else:
        expected = set(range(10, steps, 10))
    if rule == "rigl":  # annealed: until some layer has an edge to change
        smallest = min(counts)
        expected = {s for s in expected if max(counts) * hook.drop_fraction_at(s, steps) >= 1}
        assert any(smallest * hook.drop_fraction_at(s, steps) < 1 for s in expected)
    assert updates == expected
    for change in hook.changes:
        layer = model.layers[change["layer"]]
        assert change["n_changed"] == int(change["drop_fraction"] * layer.n_edges)
        assert change["n_changed"] > 0
    fractions = hook.ever_active_fraction()
    rewired = {change["layer"] for change in hook.changes}
    assert 0 in rewired
    for k, (fraction, graph) in enumerate(zip(fractions, topology, strict=True)):
        if k in rewired:
            assert graph.density < fraction <= 1
        else:
            assert fraction == graph.density
    # the record matches the patterns seen: every present edge was ever active
    for keys, layer in zip(hook._ever, model.layers, strict=True):
        assert np.isin(_keys(layer), keys).all()
    # the input topology is left as it was
    assert [graph.n_edges for graph in topology] == counts
    assert model.topology is not topology


def test_new_edges_have_zero_optimizer_state_after_a_hooked_step(make_topology):
    X, y = _data()
    model = SparseMLP(make_topology([12, 16, 3], 0.3, seed=10), optimizer="sgd", rng=0)
    hook = DynamicSparsity("set", update_interval=3, rng=0)

    def check(state):
        if hook.changes and hook.changes[-1]["step"] == state.step:
            for change in hook.changes[-2:]:
                k = change["layer"]
                (velocities,) = model.optimizer.state
                velocity = velocities[2 * k]
                assert np.count_nonzero(velocity == 0) >= change["n_changed"]

    _train(model, hook, X, y, epochs=2, after_step=check)


def test_static_changes_nothing(make_topology):
    X, y = _data()
    topology = make_topology([12, 16, 3], 0.3, seed=11)
    model = SparseMLP(topology, rng=0)
    hook = DynamicSparsity("static")
    _train(model, hook, X, y, epochs=2)
    assert model.topology is topology
    assert hook.changes == []


def test_the_final_topology_saves_and_loads(make_topology, tmp_path):
    from topokit.io import load, save_topology

    X, y = _data()
    model = SparseMLP(make_topology([12, 16, 3], 0.3, seed=12), rng=0)
    _train(model, DynamicSparsity("rigl", update_interval=4), X, y, epochs=3)
    save_topology(model.topology, tmp_path / "final.npz")
    loaded = load(tmp_path / "final.npz")
    for a, b in zip(loaded, model.topology, strict=True):
        assert (a.biadjacency != b.biadjacency).nnz == 0


# ------------------------------------------------------------------ memory
def _peak_bytes(run):
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_updates_allocate_no_dense_layer():
    """A 3000 x 3000 layer at 0.5%: a dense float32 copy would be 36 MB; an update stays
    far below (RigL's blocks are at most 8 MB)."""
    rng = np.random.default_rng(0)
    rows = rng.integers(0, 3000, 60_000)
    cols = rng.integers(0, 3000, 60_000)
    keys = np.unique(rows.astype(np.int64) * 3000 + cols)[:45_000]
    middle = LayerGraph.from_edges(keys // 3000, keys % 3000, 3000, 3000)
    topology = Topology(
        [
            LayerGraph.from_edges(np.arange(3000) % 20, np.arange(3000), 20, 3000),
            middle,
            LayerGraph(np.ones((3000, 3))),
        ]
    )
    X = rng.standard_normal((16, 20)).astype(np.float32)
    y = rng.integers(0, 3, 16)
    for rule in ("set", "rigl"):
        model = SparseMLP(topology, rng=0)
        model.train_step(X, y)
        hook = DynamicSparsity(rule, rng=0)
        peak = _peak_bytes(lambda model=model, hook=hook: hook.update(model, X, y))
        assert model.layers[1].n_edges == middle.n_edges
        assert peak < 24e6, (rule, peak)


def test_update_fraction_out_of_range(make_topology):
    model = SparseMLP(make_topology([12, 16, 3], 0.3, seed=13), rng=0)
    with pytest.raises(TopokitError, match=r"fraction must be in \[0.0, 1.0\), got 1.0"):
        DynamicSparsity("set").update(model, None, None, fraction=1.0)
    assert DynamicSparsity("set").update(model, None, None, fraction=0.0) == [0, 0]


def test_static_records_the_density_as_ever_active(make_topology):
    topology = make_topology([12, 16, 3], 0.3, seed=14)
    hook = DynamicSparsity("static")
    hook.on_fit_start(SimpleNamespace(model=SparseMLP(topology, rng=0)))
    assert hook.ever_active_fraction() == [graph.density for graph in topology]


def test_a_rewired_model_saves_and_loads(make_topology, tmp_path):
    X, y = _data()
    model = SparseMLP(make_topology([12, 16, 3], 0.3, seed=15), rng=0)
    _train(model, DynamicSparsity("set", update_interval=3, rng=0), X, y, epochs=2)
    model.save(tmp_path / "model.npz")
    loaded = SparseMLP.load(tmp_path / "model.npz")
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    for a, b in zip(loaded.layers, model.layers, strict=True):
        np.testing.assert_array_equal(_keys(a), _keys(b))


def test_sampling_with_no_present_edge():
    got = _sample_empty(np.empty(0, dtype=np.int64), 10, 10, np.random.default_rng(0))
    np.testing.assert_array_equal(got, np.arange(10))


@pytest.mark.parametrize("rule", ["set", "rigl"])
def test_the_training_loop_drives_the_hook(make_topology, rule):
    """Through ``SparseMLP.fit(hooks=...)``."""
    X, y = _data(n=400)
    topology = make_topology([12, 24, 16, 3], 0.3, seed=16)
    model = SparseMLP(topology, learning_rate=0.03, rng=0)
    hook = DynamicSparsity(rule, rng=0)
    model.fit(X, y, epochs=6, batch_size=32, hooks=[hook])
    _assert_canonical(model)
    assert [layer.n_edges for layer in model.layers] == [g.n_edges for g in topology]
    steps_per_epoch = math.ceil(400 / 32)
    expected = {e * steps_per_epoch for e in range(1, 6)}  # once per epoch, not the last
    if rule == "rigl":
        expected = {s for s in expected if s < 0.75 * 6 * steps_per_epoch}
    assert {change["step"] for change in hook.changes} == expected
    assert model.score(X, y) > 0.65


def test_an_unknown_optimizer_changes_nothing(make_topology):
    model = SparseMLP(make_topology([12, 16, 3], 0.3, seed=17), rng=0)
    layer = model.layers[0]
    keys = _keys(layer)
    empty = np.setdiff1d(np.arange(layer.n_in * layer.n_out), keys)
    match = r"optimizer must keep its per-parameter arrays in a \.state attribute.*got object"
    with pytest.raises(TopokitError, match=match):
        rewire_layer(model, 0, keys[:2], empty[:2], optimizer=object())
    np.testing.assert_array_equal(_keys(layer), keys)
    model.train_step(*_data(n=32))  # and the optimizer's state that goes wrong in length
    model.optimizer.state[0].pop()
    with pytest.raises(TopokitError, match="optimizer state must hold 2 arrays per layer"):
        rewire_layer(model, 0, keys[:2], empty[:2])
    np.testing.assert_array_equal(_keys(layer), keys)
