"""The one training loop (topokit.nn.training): its results, its hooks and their state.

The reference for the loop's results is a hand-written loop of ``train_step`` calls over
the minibatches of the model's own permutation: fit must give the same weights and
losses, bit for bit, with and without hooks.
"""

import math
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from topokit._errors import TopokitError
from topokit.graph import LayerGraph
from topokit.nn import SparseLinear, SparseMLP, SparseMLPClassifier
from topokit.nn.training import EarlyStopping, TrainingHook, TrainingState


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((230, 10))
    y = (X[:, 0] - X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    return X, y


@pytest.fixture
def topology(make_topology):
    return make_topology([10, 32, 16, 3], 0.4, seed=2)


class Recorder(TrainingHook):
    """Records every call with the state's fields at that moment."""

    def __init__(self):
        self.calls = []

    def _record(self, name, state):
        batch = None if state.X_batch is None else state.X_batch.copy()
        labels = None if state.y_batch is None else state.y_batch.copy()
        self.calls.append((name, state.epoch, state.step, state.loss, batch, labels))

    def on_fit_start(self, state):
        self._record("fit_start", state)

    def on_step_end(self, state):
        self._record("step", state)

    def on_epoch_end(self, state):
        self._record("epoch", state)

    def on_fit_end(self, state):
        self._record("fit_end", state)
        self.final = (state.total_steps, state.steps_per_epoch, state.history)


class EpochsOnly(TrainingHook):
    def __init__(self):
        self.epochs = []

    def on_epoch_end(self, state):
        self.epochs.append((state.epoch, state.X_batch))


def _weights(model):
    return [(layer.weight_data.copy(), layer.bias.copy()) for layer in model.layers]


def _assert_same_weights(a, b):
    for (wa, ba), (wb, bb) in zip(_weights(a), _weights(b), strict=True):
        np.testing.assert_array_equal(wa, wb)
        np.testing.assert_array_equal(ba, bb)


def _train_step_loop(topology, X, y, *, epochs, batch_size, seed, **model_args):
    """The reference: train_step over each epoch's permutation, by hand."""
    model = SparseMLP(topology, rng=seed, **model_args)
    X = np.asarray(X, dtype=model.dtype)
    losses = []
    for _ in range(epochs):
        order = model._rng.permutation(len(X))
        total = 0.0
        for first in range(0, len(X), batch_size):
            rows = order[first : first + batch_size]
            total += model.train_step(X[rows], y[rows]) * rows.size
        losses.append(total / len(X))
    return model, losses


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
@pytest.mark.parametrize("hooks", [None, "step", "epoch"])
def test_fit_is_train_step_over_the_shuffled_minibatches_bit_for_bit(
    topology, data, optimizer, hooks
):
    X, y = data
    reference, losses = _train_step_loop(
        topology, X, y, epochs=3, batch_size=50, seed=4, optimizer=optimizer, learning_rate=0.01
    )
    model = SparseMLP(topology, optimizer=optimizer, learning_rate=0.01, rng=4)
    given = {"step": [Recorder()], "epoch": [EpochsOnly()], None: None}[hooks]
    model.fit(X, y, epochs=3, batch_size=50, hooks=given)
    _assert_same_weights(model, reference)
    assert model.history.loss == losses


def test_hook_calls_come_in_order_with_the_loop_state(topology, data):
    X, y = data
    recorder = Recorder()
    model = SparseMLP(topology, learning_rate=0.01, rng=1)
    order = SparseMLP(topology, rng=1)._rng.permutation(len(X))  # the first epoch's draw
    model.fit(X, y, epochs=2, batch_size=100, hooks=[recorder])
    names = [call[0] for call in recorder.calls]
    assert names == ["fit_start", *["step"] * 3, "epoch", *["step"] * 3, "epoch", "fit_end"]
    steps = [call for call in recorder.calls if call[0] == "step"]
    assert [call[2] for call in steps] == [1, 2, 3, 4, 5, 6]
    assert [call[1] for call in steps] == [0, 0, 0, 1, 1, 1]
    assert recorder.final[:2] == (6, 3)
    assert recorder.final[2] is model.history
    # the minibatches as train_step takes them: the model's dtype, the permutation's rows
    first_batch, first_labels = steps[0][4], steps[0][5]
    np.testing.assert_array_equal(first_batch, X[order[:100]].astype(np.float32))
    np.testing.assert_array_equal(first_labels, y[order[:100]])
    assert [call[4].shape[0] for call in steps[:3]] == [100, 100, 30]
    assert all(math.isfinite(call[3]) for call in steps)


def test_epoch_hooks_alone_get_no_batch_copy(topology, data):
    hook = EpochsOnly()
    SparseMLP(topology, rng=0).fit(*data, epochs=2, hooks=[hook])
    assert hook.epochs == [(0, None), (1, None)]


def test_stop_in_on_step_end_ends_the_epoch_after_that_step(topology, data):
    X, y = data

    class StopAtThird(TrainingHook):
        def on_step_end(self, state):
            self.losses = [*getattr(self, "losses", []), state.loss]
            state.stop = state.step == 3

    hook = StopAtThird()
    model = SparseMLP(topology, learning_rate=0.01, rng=2)
    model.fit(X, y, epochs=5, batch_size=40, validation_fraction=0.2, hooks=[hook])
    assert model.history.n_epochs == 1
    assert len(hook.losses) == 3
    # the epoch's mean loss is over the samples seen: three minibatches of 40
    np.testing.assert_allclose(model.history.loss[0], np.mean(hook.losses), rtol=1e-12)
    assert model.history.val_accuracy[0] is not None


def test_stop_in_on_epoch_end_ends_training(topology, data):
    class StopAfterTwo(TrainingHook):
        def on_epoch_end(self, state):
            state.stop = state.epoch == 1

    model = SparseMLP(topology, rng=0).fit(*data, epochs=9, hooks=[StopAfterTwo()])
    assert model.history.n_epochs == 2


def test_on_fit_end_is_not_called_when_training_diverges(topology, data):
    X, y = data
    recorder = Recorder()
    model = SparseMLP(topology, optimizer="sgd", learning_rate=1e4, rng=0)
    with pytest.raises(TopokitError, match="diverged"):
        model.fit(X * 100, y, epochs=20, hooks=[recorder])
    assert recorder.calls[-1][0] != "fit_end"


def test_early_stopping_hook_matches_the_early_stopping_flag(topology, data):
    flag = SparseMLP(topology, learning_rate=0.01, rng=3)
    flag.fit(*data, epochs=60, validation_fraction=0.2, early_stopping=True, patience=2)
    hook = SparseMLP(topology, learning_rate=0.01, rng=3)
    hook.fit(*data, epochs=60, validation_fraction=0.2, hooks=[EarlyStopping(patience=2)])
    assert flag.history.n_epochs < 60
    assert hook.history.loss == flag.history.loss
    _assert_same_weights(hook, flag)


def _rewired(graph, rng):
    """A new pattern of the same shape and edge count, drawn at random."""
    flat = rng.choice(graph.n_in * graph.n_out, size=graph.n_edges, replace=False)
    mask = np.zeros(graph.n_in * graph.n_out)
    mask[flat] = 1
    return LayerGraph(sp.csr_array(mask.reshape(graph.shape)))


class Rewire(TrainingHook):
    """Gives layer 0 a new pattern (same edge count) after the first step."""

    def on_step_end(self, state):
        if state.step != 1:
            return
        model = state.model
        old = model.layers[0]
        new = SparseLinear(_rewired(old.graph, np.random.default_rng(9)), dtype=model.dtype, rng=9)
        # the optimizer's state stays matched to the arrays' sizes (the edge count)
        new.weight_data[:] = np.sort(old.weight_data)
        new.bias[:] = old.bias
        model.layers[0] = new
        for arrays in model.optimizer.state:  # the old edges' moments mean nothing now
            for array in arrays:
                array[:] = 0
        self.graph = new.graph


def test_a_hook_may_rewire_a_layer_between_steps(topology, data):
    X, y = data
    hook = Rewire()
    model = SparseMLP(topology, learning_rate=0.01, rng=0)
    model.fit(X, y, epochs=2, batch_size=64, hooks=[hook])
    assert model.topology[0] is hook.graph
    assert model.topology.n_edges == topology.n_edges
    # the trained network computes with the new pattern: a dense NumPy forward agrees
    h = X.astype(np.float64)
    for k, layer in enumerate(model.layers):
        h = h @ layer.weight.toarray().astype(np.float64) + layer.bias
        if k < len(model.layers) - 1:
            h = np.maximum(h, 0)
    h = np.exp(h - h.max(axis=1, keepdims=True))
    np.testing.assert_allclose(model.predict_proba(X), h / h.sum(axis=1, keepdims=True), atol=1e-5)


def test_training_state_defaults():
    state = TrainingState(model=None, optimizer=None, history=None)
    assert (state.epoch, state.step, state.total_steps, state.stop) == (0, 0, None, False)
    assert state.X_batch is None
    assert math.isnan(state.loss)


@pytest.mark.parametrize(
    ("hooks", "match"),
    [
        pytest.param([print], r"hooks\[0\] must be a topokit.nn.training.TrainingHook", id="f"),
        pytest.param(3, "hooks must be a sequence of TrainingHook instances, got 3", id="int"),
    ],
)
def test_bad_hooks(topology, data, hooks, match):
    with pytest.raises(TopokitError, match=match):
        SparseMLP(topology, rng=0).fit(*data, epochs=1, hooks=hooks)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"patience": 0}, "patience must be >= 1, got 0", id="patience"),
        pytest.param({"tol": -1.0}, r"tol must be in \[0.0, inf\), got -1.0", id="tol"),
    ],
)
def test_early_stopping_bad_parameters(kwargs, match):
    with pytest.raises(TopokitError, match=match):
        EarlyStopping(**kwargs)


def test_early_stopping_keeps_the_final_weights_when_a_layer_was_rewired(topology, data):
    class RewireAtTheEnd(Rewire):
        def on_step_end(self, state):
            pass

        def on_epoch_end(self, state):
            if state.epoch == 3:  # after EarlyStopping kept the best epoch's weights
                super().on_step_end(TrainingState(**{**vars(state), "step": 1}))

    model = SparseMLP(topology, learning_rate=0.01, rng=0)
    with pytest.warns(UserWarning, match="rewired after the best validation epoch"):
        model.fit(
            *data,
            epochs=4,
            validation_fraction=0.2,
            hooks=[EarlyStopping(patience=100), RewireAtTheEnd()],
        )
    final = _weights(model)
    assert model.layers[0].graph is model.topology[0]
    assert final[0][0].size == topology[0].n_edges


# ------------------------------------------------------------ the estimator
def test_partial_fit_fast_path_equals_the_full_checks(data):
    X, y = data
    labels = np.array(["a", "b", "c"])[y]
    fast = SparseMLPClassifier((16,), density=0.5, random_state=0)
    full = SparseMLPClassifier((16,), density=0.5, random_state=0)
    fast.partial_fit(X[:50], labels[:50], classes=["a", "b", "c"])
    full.partial_fit(X[:50], labels[:50], classes=["a", "b", "c"])
    for first in range(50, 230, 60):
        rows = slice(first, first + 60)
        fast.partial_fit(X[rows], labels[rows])  # plain arrays: the fast path
        full.partial_fit(X[rows].tolist(), labels[rows].tolist())  # lists: the full checks
    _assert_same_weights(fast.model_, full.model_)
    assert fast.loss_curve_ == full.loss_curve_


@pytest.mark.parametrize(
    ("corrupt", "match"),
    [
        pytest.param(lambda X, y: (np.where(X > 1.5, np.nan, X), y), "NaN", id="nan"),
        pytest.param(lambda X, y: (np.where(X > 1.5, np.inf, X), y), "infinity", id="inf"),
        pytest.param(lambda X, y: (X[:, :9], y), "9 features", id="n-features"),
        pytest.param(lambda X, y: (X, y[:-1]), "inconsistent numbers of samples", id="n-y"),
        pytest.param(lambda X, y: (X, y + 7), r"labels \[7, 8, 9\] not in classes_", id="label"),
        pytest.param(lambda X, y: (X, y + 0.5), "Unknown label type", id="float-label"),
        pytest.param(lambda X, y: (X[:0], y[:0]), "0 sample", id="empty"),
    ],
)
def test_partial_fit_on_bad_data_reports_as_the_full_checks_and_changes_nothing(
    data, corrupt, match
):
    X, y = data
    clf = SparseMLPClassifier((16,), density=0.5, random_state=0)
    clf.partial_fit(X, y, classes=[0, 1, 2])
    before = _weights(clf.model_)
    with pytest.raises(TopokitError, match=match):
        clf.partial_fit(*corrupt(X, y))
    for (w, b), (w0, b0) in zip(_weights(clf.model_), before, strict=True):
        np.testing.assert_array_equal(w, w0)
        np.testing.assert_array_equal(b, b0)
    assert clf.n_iter_ == 1


def test_classifier_fit_and_partial_fit_warn_as_before(data):
    X, y = data
    with pytest.warns(Warning, match="Maximum iterations"):
        SparseMLPClassifier((8,), density=0.5, max_iter=2, random_state=0).fit(X, y)
    clf = SparseMLPClassifier((8,), density=0.5, max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.partial_fit(X, y, classes=[0, 1, 2])  # one epoch: no convergence warning


def test_the_estimator_counts_steps_across_partial_fit_calls(data):
    X, y = data
    clf = SparseMLPClassifier((8,), density=0.5, batch_size=40, max_iter=2, random_state=0)
    with pytest.warns(Warning, match="Maximum iterations"):
        clf.fit(X, y)
    assert clf._n_steps == 2 * 6  # 230 samples: 6 minibatches of at most 40
    clf.partial_fit(X[:100], y[:100])
    assert clf._n_steps == 12 + 3


def test_progress_bar_counts_the_epochs(topology, data, capsys):
    SparseMLP(topology, rng=0).fit(*data, epochs=3, progress=True)
    err = capsys.readouterr().err
    assert "epochs" in err
    assert "3/3" in err


def test_partial_fit_follows_parameters_changed_between_calls(data, capsys):
    X, y = data
    clf = SparseMLPClassifier((8,), density=0.5, random_state=0)
    clf.partial_fit(X, y, classes=[0, 1, 2])
    clf.partial_fit(X, y)  # validated once more, then reused while nothing changes
    clf.set_params(alpha=-1.0)
    with pytest.raises(TopokitError, match="alpha"):
        clf.partial_fit(X, y)
    clf.set_params(alpha=0.0, verbose=True)
    clf.partial_fit(X, y)
    assert capsys.readouterr().out.startswith("Iteration 3, loss = ")


def test_partial_fit_sees_a_parameter_changed_in_place(data):
    X, y = data
    clf = SparseMLPClassifier(
        (8,), density=0.5, random_state=0, learning_rate="step", schedule_params={"gamma": 0.5}
    )
    clf.partial_fit(X, y, classes=[0, 1, 2])
    assert clf._validated_parameters().schedule_params == {"gamma": 0.5}
    clf.schedule_params["gamma"] = 0.25  # the same dict, changed
    assert clf._validated_parameters().schedule_params == {"gamma": 0.25}
    clf.schedule_params["gamma"] = -1.0
    with pytest.raises(TopokitError, match="gamma"):
        clf.partial_fit(X, y)


def test_partial_fit_sees_a_long_array_parameter_changed_in_place(data):
    X, y = data
    clf = SparseMLPClassifier((8,), density=0.5, random_state=0)
    clf.partial_fit(X, y, classes=[0, 1, 2])
    clf.hidden_layer_sizes = np.full(2000, 8)  # numpy's repr elides the middle of this
    clf._validated_parameters()
    clf.hidden_layer_sizes[1000] = 0  # the same array, changed where repr does not show
    with pytest.raises(TopokitError, match=r"hidden_layer_sizes\[1000\]"):
        clf._validated_parameters()
