"""SparseMLP behaviour: determinism, save/load, history, early stopping, bad input."""

import inspect
import json

import numpy as np
import pytest
import scipy.sparse as sp

from topokit._errors import TopokitError
from topokit.io import load
from topokit.nn import DEFAULT_RECIPE, History, SparseMLP
from topokit.topology import Topology


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 10))
    y = (X[:, 0] - X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    return X, y


@pytest.fixture
def topology(make_topology):
    return make_topology([10, 32, 16, 3], 0.4, seed=2)


def _fit(topology, data, seed, **kwargs):
    model = SparseMLP(topology, learning_rate=0.01, rng=seed)
    return model.fit(*data, epochs=3, batch_size=32, validation_fraction=0.2, **kwargs)


def test_same_seed_identical_weights_after_training(topology, data):
    a = _fit(topology, data, 5)
    b = _fit(topology, data, 5)
    for la, lb in zip(a.layers, b.layers, strict=True):
        np.testing.assert_array_equal(la.weight_data, lb.weight_data)
        np.testing.assert_array_equal(la.bias, lb.bias)
    assert a.history.loss == b.history.loss


def test_different_seed_different_weights(topology, data):
    a = _fit(topology, data, 5)
    b = _fit(topology, data, 6)
    assert not np.array_equal(a.layers[0].weight_data, b.layers[0].weight_data)


def test_learns_and_records_history(topology, data):
    model = SparseMLP(topology, learning_rate=0.01, rng=0)
    model.fit(*data, epochs=15, batch_size=32, validation_fraction=0.2, target_accuracy=0.75)
    history = model.history
    assert history.n_epochs == 15
    for values in (history.loss, history.train_accuracy, history.seconds, history.learning_rate):
        assert len(values) == 15
    assert all(v is not None for v in history.val_accuracy)
    assert history.loss[-1] < 0.5 * history.loss[0]
    assert history.val_accuracy[-1] >= 0.75
    assert model.epochs_to_target == history.epochs_to_reach(0.75)
    assert 1 <= model.epochs_to_target <= 15
    assert model.score(*data) > 0.8


def test_epochs_to_target_none_when_never_reached(topology, data):
    model = _fit(topology, data, 0, target_accuracy=1.0)
    assert model.epochs_to_target is None
    assert _fit(topology, data, 0).epochs_to_target is None


def test_predict_proba_rows_sum_to_one(topology, data):
    model = _fit(topology, data, 0)
    proba = model.predict_proba(data[0])
    assert proba.shape == (300, 3)
    assert proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(model.predict(data[0]), proba.argmax(axis=1))


def test_save_load_round_trip(topology, data, tmp_path):
    model = _fit(topology, data, 0)
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = SparseMLP.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(data[0]), model.predict_proba(data[0]))
    assert loaded.topology == model.topology
    assert loaded.history == model.history
    assert repr(loaded) == repr(model)


def test_load_reads_a_file_that_names_weight_decay_alpha(topology, data, tmp_path):
    model = SparseMLP(topology, weight_decay=0.25, rng=0)
    path = tmp_path / "model.npz"
    model.save(path)
    with np.load(path) as stored:
        arrays = dict(stored)
    config = json.loads(str(arrays["config"]))
    config["alpha"] = config.pop("weight_decay")  # as files were written before the rename
    arrays["config"] = np.array(json.dumps(config))
    np.savez(path, **arrays)
    assert SparseMLP.load(path).weight_decay == 0.25


def test_load_reads_a_file_of_format_1(topology, data, tmp_path):
    model = _fit(topology, data, 0)
    path = tmp_path / "model.npz"
    model.save(path)
    with np.load(path) as stored:  # format 1: "sizes", the patterns, no provenance
        arrays = {key: stored[key] for key in stored.files if "_seed" not in key}
    arrays = {key: value for key, value in arrays.items() if not key.endswith(("family", "params"))}
    arrays["sizes"] = arrays.pop("topokit_sizes")
    arrays["topokit_mlp_version"] = np.array(1)
    np.savez(path, **arrays)
    loaded = SparseMLP.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(data[0]), model.predict_proba(data[0]))
    assert loaded.topology == model.topology


def test_saved_model_reads_as_its_topology_with_provenance(tmp_path):
    topology = Topology.build([4, 6, 3], "erdos_renyi", density=0.5, dense_output=True, rng=9)
    path = tmp_path / "model.npz"
    SparseMLP(topology, rng=0).save(path)
    read = load(path)
    assert read == topology
    assert [(layer.family, layer.seed) for layer in read] == [("erdos_renyi", 9), ("dense", 9)]
    assert [layer.seed for layer in SparseMLP.load(path).topology] == [9, 9]


def test_old_keyword_alpha_raises_naming_weight_decay(topology):
    with pytest.raises(
        TopokitError, match=r"alpha is called weight_decay now: give weight_decay=0\.1"
    ):
        SparseMLP(topology, alpha=0.1)


def test_load_rejects_other_files(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, a=np.ones(3))
    with pytest.raises(TopokitError, match="not a saved SparseMLP"):
        SparseMLP.load(path)
    with pytest.raises(TopokitError, match=r"must end in \.npz"):
        SparseMLP.load(tmp_path / "model.txt")


@pytest.mark.parametrize(
    ("schedule", "params", "expected"),
    [
        pytest.param("constant", {}, [0.01, 0.01, 0.01, 0.01], id="constant"),
        pytest.param("step", {"step_size": 2, "gamma": 0.5}, [0.01, 0.01, 0.005, 0.005], id="step"),
        pytest.param(
            "cosine",
            {},
            [
                0.01,
                0.01 * (1 + np.cos(np.pi / 4)) / 2,
                0.005,
                0.01 * (1 + np.cos(3 * np.pi / 4)) / 2,
            ],
            id="cosine",
        ),
    ],
)
def test_schedules_recorded_in_history(topology, data, schedule, params, expected):
    model = SparseMLP(
        topology, learning_rate=0.01, schedule=schedule, schedule_params=params, rng=0
    )
    model.fit(*data, epochs=4)
    np.testing.assert_allclose(model.history.learning_rate, expected, rtol=1e-12)


def test_early_stopping_restores_best_weights(topology, data):
    X, y = data
    model = SparseMLP(topology, learning_rate=0.05, rng=0)
    model.fit(
        X[:200],
        y[:200],
        epochs=200,
        batch_size=16,
        validation_data=(X[200:], y[200:]),
        early_stopping=True,
        patience=3,
        tol=0.0,
    )
    history = model.history
    assert history.n_epochs < 200
    best = max(history.val_accuracy)
    assert history.val_accuracy.index(best) == history.n_epochs - 1 - 3
    assert history.val_accuracy[-1] < best or history.val_accuracy.count(best) > 1
    assert model.score(X[200:], y[200:]) == best


def test_early_stopping_without_validation_watches_loss(topology, data):
    model = SparseMLP(topology, learning_rate=0.05, rng=0)
    model.fit(*data, epochs=500, early_stopping=True, patience=2, tol=10.0)
    assert model.history.n_epochs == 3


def test_divergence_raises_and_keeps_history(topology, data):
    X, y = data
    model = SparseMLP(topology, optimizer="sgd", learning_rate=1e4, momentum=0.9, rng=0)
    with pytest.raises(TopokitError, match=r"diverged in epoch \d+.*learning_rate=10000"):
        model.fit(X * 100, y, epochs=20)
    assert model.history.n_epochs >= 1
    assert model.history.n_epochs < 20


def test_sgd_and_float64(topology, data):
    model = SparseMLP(topology, optimizer="sgd", learning_rate=0.05, dtype=np.float64, rng=0)
    model.fit(*data, epochs=10, batch_size=16)
    assert model.layers[0].weight_data.dtype == np.float64
    assert model.score(*data) > 0.7


def test_fit_continues_from_current_weights(topology, data):
    once = SparseMLP(topology, learning_rate=0.01, rng=1).fit(*data, epochs=4, shuffle=False)
    twice = SparseMLP(topology, learning_rate=0.01, rng=1)
    twice.fit(*data, epochs=2, shuffle=False).fit(*data, epochs=2, shuffle=False)
    np.testing.assert_array_equal(once.layers[1].weight_data, twice.layers[1].weight_data)
    assert twice.history.n_epochs == 4


def test_history_repr_and_dict():
    h = History()
    assert repr(h) == "History(n_epochs=0)"
    h._append(1.0, 0.5, None, 0.1, 0.01)
    assert h.as_dict()["val_accuracy"] == [None]
    assert h.epochs_to_reach(0.5) == 1


def test_repr(topology):
    assert repr(SparseMLP(topology, rng=0)) == (
        f"SparseMLP(sizes=[10, 32, 16, 3], n_edges={topology.n_edges}, activation='relu', "
        "optimizer='adam', dtype=float32)"
    )


# ------------------------------------------------------------------ bad input
BAD_DATA = [
    pytest.param(lambda X, y: (np.where(X > 1.5, np.nan, X), y), "must be finite", id="nan"),
    pytest.param(lambda X, y: (np.where(X > 1.5, np.inf, X), y), "must be finite", id="inf"),
    pytest.param(
        lambda X, y: (X.astype(str).astype(object) + "a", y), "must hold numbers", id="non-numeric"
    ),
    pytest.param(lambda X, y: (X, y[:-1]), "299 labels but X has 300 samples", id="n-labels"),
    pytest.param(lambda X, y: (X, y + 5), r"class indices in \[0, 3\)", id="label-range"),
    pytest.param(lambda X, y: (X, y + 0.5), "non-integer", id="label-float"),
    pytest.param(lambda X, y: (X, y.astype(str)), "encode labels first", id="label-str"),
    pytest.param(
        lambda X, y: (X[:, :9], y),
        "9 features but the topology's input size is 10",
        id="n-features",
    ),
    pytest.param(lambda X, y: (X[:0], y[:0]), "empty: got 0 samples", id="empty"),
    pytest.param(lambda X, y: (X[0], y), r"must be 2-D", id="1-d"),
    pytest.param(lambda X, y: (X, y[:, None]), r"y must be 1-D", id="y-2-d"),
]


@pytest.mark.parametrize(("corrupt", "match"), BAD_DATA)
def test_bad_data(topology, data, corrupt, match):
    model = SparseMLP(topology, rng=0)
    with pytest.raises(TopokitError, match=match):
        model.fit(*corrupt(*data), epochs=1)


def test_bad_data_in_predict(topology):
    model = SparseMLP(topology, rng=0)
    with pytest.raises(TopokitError, match="must be finite"):
        model.predict(np.full((2, 10), np.nan))
    with pytest.raises(TopokitError, match="dense array"):
        model.predict(sp.csr_array(np.ones((2, 10))))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"activation": "softplus"}, "activation must be one of", id="activation"),
        pytest.param({"optimizer": "rmsprop"}, "optimizer must be one of", id="optimizer"),
        pytest.param({"schedule": "linear"}, "schedule must be one of", id="schedule"),
        pytest.param(
            {"schedule": "step", "schedule_params": {"warmup": 3}},
            "schedule 'step'.*warmup",
            id="schedule-param",
        ),
        pytest.param({"learning_rate": 0}, r"learning_rate must be in \(0", id="lr"),
        pytest.param({"weight_decay": -1}, r"weight_decay must be in \[0", id="weight_decay"),
        pytest.param({"momentum": 1.5, "optimizer": "sgd"}, "momentum must be in", id="momentum"),
        pytest.param({"beta_1": 1.0}, r"beta_1 must be in \[0.0, 1.0\)", id="beta_1"),
    ],
)
def test_bad_parameters(topology, kwargs, match):
    with pytest.raises(TopokitError, match=match):
        SparseMLP(topology, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"epochs": -1}, "epochs must be >= 0", id="epochs"),
        pytest.param({"batch_size": 0}, "batch_size must be >= 1", id="batch"),
        pytest.param({"validation_fraction": 1.0}, "validation_fraction must be in", id="frac"),
        pytest.param({"validation_fraction": 0.001}, "leaves 0 for validation", id="frac-small"),
        pytest.param(
            {"validation_fraction": 0.1, "validation_data": ([], [])}, "not both", id="both"
        ),
        pytest.param({"validation_data": np.ones(3)}, "must be a pair", id="pair"),
        pytest.param({"target_accuracy": 1.5}, "target_accuracy must be in", id="target"),
    ],
)
def test_bad_fit_arguments(topology, data, kwargs, match):
    with pytest.raises(TopokitError, match=match):
        SparseMLP(topology, rng=0).fit(*data, **kwargs)


def test_topology_checks():
    with pytest.raises(TopokitError, match="topology must be a Topology"):
        SparseMLP([10, 3])
    with pytest.raises(TopokitError, match="number of classes and must be >= 2"):
        SparseMLP(Topology.build([4, 1], "dense"))


def test_training_does_not_depend_on_thread_count(make_topology, on_one_and_all_threads):
    topology = make_topology([50, 400, 3], 0.5, seed=1)  # big enough for the parallel kernels
    rng = np.random.default_rng(0)
    X = rng.standard_normal((256, 50))
    y = rng.integers(0, 3, 256)

    def run():
        model = SparseMLP(topology, dense_threshold=None, rng=3).fit(X, y, epochs=2)
        return [layer.weight_data.copy() for layer in model.layers]

    for a, b in zip(*on_one_and_all_threads(run), strict=True):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------- hooks, split
def test_on_epoch_sees_each_epoch_in_the_history(topology, data):
    seen = []
    model = SparseMLP(topology, learning_rate=0.01, rng=0)
    model.fit(*data, epochs=4, batch_size=32, on_epoch=lambda m: seen.append(m.history.n_epochs))
    assert seen == [1, 2, 3, 4]
    plain = SparseMLP(topology, learning_rate=0.01, rng=0).fit(*data, epochs=4, batch_size=32)
    assert plain.history.loss == model.history.loss  # the hook changes nothing


def test_on_epoch_runs_before_early_stopping_ends_training(topology, data):
    seen = []
    model = SparseMLP(topology, learning_rate=0.01, rng=0)
    model.fit(
        *data,
        epochs=50,
        validation_fraction=0.2,
        early_stopping=True,
        patience=1,
        on_epoch=lambda m: seen.append(m.history.n_epochs),
    )
    assert seen == list(range(1, model.history.n_epochs + 1))


def test_validation_fraction_holds_out_a_permutation_of_the_models_generator(topology, data):
    X, y = data
    model = SparseMLP(topology, learning_rate=0.01, rng=0)
    reference = SparseMLP(topology, learning_rate=0.01, rng=0)
    order = reference._rng.permutation(len(X))  # the draw after the initial weights
    n_val = round(0.2 * len(X))
    validation, train = order[:n_val], order[n_val:]
    reference.fit(X[train], y[train], epochs=2, validation_data=(X[validation], y[validation]))
    model.fit(X, y, epochs=2, validation_fraction=0.2)
    assert model.history.loss == reference.history.loss
    assert model.history.val_accuracy == reference.history.val_accuracy


# The recipe's values when it became one: SparseMLP, topokit train and studies had each
# of them (studies hold out 0.1 for validation; fit holds out nothing unless asked).
RECIPE = {
    "epochs": 30,
    "batch_size": 128,
    "optimizer": "adam",
    "learning_rate": 1e-3,
    "schedule": "constant",
    "momentum": 0.9,
    "nesterov": True,
    "activation": "relu",
    "weight_decay": 1e-4,
    "early_stopping": False,
    "patience": 10,
    "validation_fraction": 0.1,
}


def test_fit_defaults_are_the_shared_recipe(topology, data):
    assert DEFAULT_RECIPE.as_dict() == RECIPE
    defaults = {
        name: param.default
        for method in (SparseMLP.__init__, SparseMLP.fit)
        for name, param in inspect.signature(method).parameters.items()
        if name in RECIPE
    }
    assert defaults == {**RECIPE, "validation_fraction": 0.0}
    assert SparseMLP(topology, rng=0).fit(*data).history.n_epochs == 30
