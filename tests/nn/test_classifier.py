"""SparseMLPClassifier: scikit-learn behaviour, topology parameters, training rules, errors."""

import math
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier

from topokit._errors import TopokitError
from topokit.nn.classifier import SparseMLPClassifier
from topokit.nn.datasets import load_dataset


@pytest.fixture(scope="module")
def blobs():
    """Three well-separated classes in 5 dimensions, 240 samples."""
    X, y = make_blobs(n_samples=240, n_features=5, centers=3, cluster_std=1.0, random_state=0)
    return X, y


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def small(**params):
    """A small, quick classifier; ``max_iter`` never triggers the stopping rule."""
    defaults = {
        "hidden_layer_sizes": (16,),
        "density": 0.5,
        "learning_rate_init": 0.01,
        "max_iter": 5,
        "n_iter_no_change": 100,
        "random_state": 0,
    }
    return SparseMLPClassifier(**{**defaults, **params})


def fit_expecting_max_iter(clf, X, y):
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(\d+\) reached"):
        return clf.fit(X, y)


# ------------------------------------------------------------- versus scikit-learn
def test_digits_accuracy_matches_sklearn_mlp_at_density_1(digits):
    params = {"learning_rate_init": 0.01, "max_iter": 30, "n_iter_no_change": 30, "random_state": 0}
    ours = SparseMLPClassifier((64,), family="dense", **params)
    theirs = MLPClassifier((64,), **params)
    fit_expecting_max_iter(ours, digits.X_train, digits.y_train)
    fit_expecting_max_iter(theirs, digits.X_train, digits.y_train)
    ours_accuracy = ours.score(digits.X_test, digits.y_test)
    theirs_accuracy = theirs.score(digits.X_test, digits.y_test)
    assert ours.topology_.density == 1.0
    assert ours_accuracy >= 0.95
    assert theirs_accuracy >= 0.95
    assert abs(ours_accuracy - theirs_accuracy) <= 0.03
    # the same loss (cross-entropy + alpha / (2 batch) ||W||^2), so comparable curves
    assert len(ours.loss_curve_) == len(theirs.loss_curve_) == 30
    assert ours.loss_curve_[-1] == pytest.approx(theirs.loss_curve_[-1], abs=0.05)


def test_same_attributes_as_sklearn_mlp(blobs):
    X, y = blobs
    ours = fit_expecting_max_iter(small(), X, y)
    theirs = fit_expecting_max_iter(
        MLPClassifier((16,), max_iter=5, n_iter_no_change=100, random_state=0), X, y
    )
    for name in ("classes_", "n_features_in_", "n_iter_", "t_", "n_layers_", "best_loss_"):
        assert np.shape(getattr(ours, name)) == np.shape(getattr(theirs, name)), name
    assert ours.n_iter_ == theirs.n_iter_ == 5
    assert ours.t_ == theirs.t_ == 5 * 240
    assert ours.n_layers_ == theirs.n_layers_ == 3
    assert ours.validation_scores_ is None
    assert theirs.validation_scores_ is None
    assert ours.out_activation_ == theirs.out_activation_ == "softmax"
    assert ours.best_loss_ == min(ours.loss_curve_)
    assert ours.loss_ == ours.loss_curve_[-1]
    assert ours.loss_curve_ == ours.model_.history.loss


# -------------------------------------------------------------------- topology
def test_default_topology_is_sparse_hidden_and_dense_output(blobs):
    X, y = blobs
    clf = fit_expecting_max_iter(SparseMLPClassifier((40, 20), max_iter=1, random_state=0), X, y)
    first, second, output = clf.topology_.layers
    assert clf.topology_.sizes == [5, 40, 20, 3]
    assert (first.family, second.family, output.family) == ("erdos_renyi",) * 2 + ("dense",)
    assert first.n_edges == round(0.1 * 5 * 40)
    assert second.n_edges == round(0.1 * 40 * 20)
    assert output.n_edges == 20 * 3


def test_dense_output_false_makes_every_layer_sparse(blobs):
    X, y = blobs
    clf = fit_expecting_max_iter(small(hidden_layer_sizes=(40,), dense_output=False), X, y)
    assert [layer.n_edges for layer in clf.topology_] == [100, 60]
    assert {layer.family for layer in clf.topology_} == {"erdos_renyi"}


def test_per_layer_families_and_degrees(blobs):
    X, y = blobs
    clf = small(
        hidden_layer_sizes=(12, 8),
        family=["left_regular", "erdos_renyi"],
        density=[None, 0.25],
        degree=[3, None],
    )
    fit_expecting_max_iter(clf, X, y)
    first, second, output = clf.topology_.layers
    assert (first.family, second.family, output.family) == ("left_regular", "erdos_renyi", "dense")
    np.testing.assert_array_equal(first.fan_in, np.full(12, 3))
    assert second.n_edges == round(0.25 * 12 * 8)


def test_family_params_reach_the_family(blobs):
    X, y = blobs
    clf = small(family="small_world", family_params={"p": 0.0}, density=0.4)
    fit_expecting_max_iter(clf, X, y)
    assert clf.topology_[0].family == "small_world"
    assert clf.topology_[0].params["p"] == 0.0


def test_coefs_are_csr_on_the_topology_pattern(blobs):
    X, y = blobs
    clf = fit_expecting_max_iter(small(), X, y)
    assert len(clf.coefs_) == len(clf.intercepts_) == 2
    for coef, intercept, graph in zip(clf.coefs_, clf.intercepts_, clf.topology_, strict=True):
        assert sp.issparse(coef)
        assert coef.format == "csr"
        assert coef.shape == (graph.n_in, graph.n_out)
        assert coef.nnz == graph.n_edges
        np.testing.assert_array_equal(coef.indices, graph.biadjacency.indices)
        np.testing.assert_array_equal(coef.indptr, graph.biadjacency.indptr)
        assert intercept.shape == (graph.n_out,)


def test_coefs_give_the_predictions(blobs):
    """A hand-written forward pass from coefs_/intercepts_ reproduces predict_proba."""
    X, y = blobs
    clf = fit_expecting_max_iter(small(dtype=np.float64), X, y)
    hidden = np.maximum(clf.coefs_[0].T @ X.T + clf.intercepts_[0][:, None], 0)
    logits = (clf.coefs_[1].T @ hidden).T + clf.intercepts_[1]
    proba = np.exp(logits - logits.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(clf.predict_proba(X), proba, rtol=1e-10, atol=1e-12)


# -------------------------------------------------------------------- labels
@pytest.mark.parametrize(
    "labels",
    [np.array(["cat", "dog", "emu"]), np.array([3, 7, 42]), np.array([-1.0, 0.5e1, 9.0])],
    ids=["strings", "non-contiguous-ints", "float-labels"],
)
def test_any_label_type(blobs, labels):
    X, y = blobs
    clf = fit_expecting_max_iter(small(max_iter=20), X, labels[y])
    np.testing.assert_array_equal(clf.classes_, np.sort(labels))
    predicted = clf.predict(X)
    assert predicted.dtype == labels.dtype
    assert set(predicted) <= set(labels)
    assert clf.score(X, labels[y]) > 0.9


def test_binary_problem_uses_two_softmax_outputs(blobs):
    X, y = blobs
    mask = y < 2
    clf = fit_expecting_max_iter(small(), X[mask], np.where(y[mask] == 1, "yes", "no"))
    assert clf.n_outputs_ == 2
    assert clf.topology_.sizes[-1] == 2
    proba = clf.predict_proba(X[mask])
    assert proba.shape == (mask.sum(), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)


def test_predict_log_proba_and_predict_agree_with_predict_proba(blobs):
    X, y = blobs
    clf = fit_expecting_max_iter(small(), X, y)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba), rtol=1e-6)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[np.argmax(proba, axis=1)])


def test_feature_names_from_a_dataframe(blobs):
    pandas = pytest.importorskip("pandas")
    X, y = blobs
    frame = pandas.DataFrame(X, columns=[f"f{k}" for k in range(5)])
    clf = fit_expecting_max_iter(small(), frame, y)
    np.testing.assert_array_equal(clf.feature_names_in_, frame.columns)
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        from_array = clf.predict(X)
    np.testing.assert_array_equal(clf.predict(frame), from_array)


# ----------------------------------------------------------- reproducibility
def test_same_random_state_same_model(blobs):
    X, y = blobs
    a = fit_expecting_max_iter(small(), X, y)
    b = fit_expecting_max_iter(small(), X, y)
    assert a.loss_curve_ == b.loss_curve_
    for coef_a, coef_b in zip(a.coefs_, b.coefs_, strict=True):
        np.testing.assert_array_equal(coef_a.indices, coef_b.indices)
        np.testing.assert_array_equal(coef_a.data, coef_b.data)


def test_other_random_state_other_topology(blobs):
    X, y = blobs
    a = fit_expecting_max_iter(small(random_state=0), X, y)
    b = fit_expecting_max_iter(small(random_state=1), X, y)
    assert a.topology_ != b.topology_


def test_partial_fit_equals_fit_epoch_by_epoch(blobs):
    X, y = blobs
    fitted = fit_expecting_max_iter(small(max_iter=4), X, y)
    incremental = small(max_iter=4)
    for _ in range(4):
        incremental.partial_fit(X, y, classes=np.unique(y))
    assert incremental.loss_curve_ == fitted.loss_curve_
    assert incremental.n_iter_ == 4
    assert incremental.t_ == 4 * 240
    for a, b in zip(incremental.coefs_, fitted.coefs_, strict=True):
        np.testing.assert_array_equal(a.data, b.data)


def test_partial_fit_continues_after_fit(blobs):
    X, y = blobs
    clf = fit_expecting_max_iter(small(max_iter=3), X, y)
    topology = clf.topology_
    clf.partial_fit(X[:100], y[:100])
    assert clf.topology_ is topology
    assert clf.n_iter_ == 4
    assert clf.t_ == 3 * 240 + 100


def test_partial_fit_accepts_a_subset_of_classes_per_call(blobs):
    X, y = blobs
    clf = small()
    clf.partial_fit(X[y == 0], y[y == 0], classes=[0, 1, 2])
    clf.partial_fit(X[y > 0], y[y > 0])
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.predict_proba(X).shape == (240, 3)


def test_pickle_round_trip_predicts_and_trains_on_identically(blobs):
    X, y = blobs
    clf = fit_expecting_max_iter(small(), X, y)
    copy = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(copy.predict_proba(X), clf.predict_proba(X))
    clf.partial_fit(X, y)
    copy.partial_fit(X, y)
    np.testing.assert_array_equal(copy.predict_proba(X), clf.predict_proba(X))


def test_clone_is_unfitted_with_the_same_parameters(blobs):
    X, y = blobs
    clf = fit_expecting_max_iter(small(family="biregular", density=0.3), X, y)
    twin = clone(clf)
    assert twin.get_params() == clf.get_params()
    assert not hasattr(twin, "model_")
    with pytest.raises(NotFittedError):
        twin.predict(X)
    with pytest.raises(NotFittedError):
        twin.coefs_  # noqa: B018


def test_grid_search_over_density(blobs):
    X, y = blobs
    search = GridSearchCV(small(max_iter=3), {"density": [0.2, 1.0]}, cv=2)
    with pytest.warns(ConvergenceWarning):
        search.fit(X, y)
    assert search.best_params_["density"] in (0.2, 1.0)
    edges = [round(0.2 * 5 * 16), 5 * 16]
    assert search.best_estimator_.topology_[0].n_edges in edges
    assert len(search.cv_results_["mean_test_score"]) == 2


# ------------------------------------------------------------ stopping rules
def test_convergence_warning_only_when_max_iter_is_reached(blobs):
    X, y = blobs
    fit_expecting_max_iter(small(max_iter=3), X, y)
    # a tolerance nothing can meet stops after n_iter_no_change + 1 epochs: no warning
    clf = small(max_iter=50, tol=1e6, n_iter_no_change=2).fit(X, y)
    assert clf.n_iter_ == 1 + 3


def test_training_loss_rule_matches_sklearn_counting(blobs):
    """Stop at the first epoch whose count of non-improving epochs exceeds n_iter_no_change."""
    X, y = blobs
    clf = small(max_iter=200, tol=0.05, n_iter_no_change=3).fit(X, y)
    best, count = math.inf, 0
    stop = None
    for epoch, loss in enumerate(clf.loss_curve_, start=1):
        count = count + 1 if loss > best - 0.05 else 0
        best = min(best, loss)
        if count > 3:
            stop = epoch
            break
    assert stop == clf.n_iter_ < 200
    assert clf.best_loss_ == best


def test_early_stopping_records_scores_and_restores_the_best_weights(blobs):
    X, y = blobs
    params = {"early_stopping": True, "validation_fraction": 0.2, "n_iter_no_change": 3}
    clf = small(max_iter=200, **params).fit(X, y)
    scores = clf.validation_scores_
    assert clf.best_loss_ is None
    assert len(scores) == clf.n_iter_ < 200
    assert clf.best_validation_score_ == max(scores)
    assert clf.model_.history.val_accuracy == scores
    assert all(0 <= s <= 1 for s in scores)
    # refit stopping at the best epoch: those weights are the ones kept above
    best_epoch = int(np.argmax(scores)) + 1
    again = fit_expecting_max_iter(small(max_iter=best_epoch, **params), X, y)
    for a, b in zip(clf.coefs_, again.coefs_, strict=True):
        np.testing.assert_array_equal(a.data, b.data)


def test_adaptive_divides_the_rate_by_five_on_plateaus(blobs):
    X, y = blobs
    clf = small(
        solver="sgd", learning_rate="adaptive", learning_rate_init=0.1, tol=1e6, n_iter_no_change=2
    )
    clf.set_params(max_iter=12)
    fit_expecting_max_iter(clf, X, y)
    rates = clf.model_.history.learning_rate
    expected = [0.1] * 4 + [0.02] * 3 + [0.004] * 3 + [0.0008] * 2
    np.testing.assert_allclose(rates, expected, rtol=1e-12)


def test_adaptive_stops_once_the_rate_is_tiny(blobs):
    X, y = blobs
    clf = small(learning_rate="adaptive", learning_rate_init=1e-6, tol=1e6, n_iter_no_change=1)
    clf.set_params(max_iter=100)
    clf.fit(X, y)
    assert clf.n_iter_ == 3  # epochs 2 and 3 do not improve: 2 > n_iter_no_change


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_cosine_schedule_over_max_iter(blobs, solver):
    X, y = blobs
    clf = small(solver=solver, learning_rate="cosine", learning_rate_init=0.05, max_iter=8)
    fit_expecting_max_iter(clf, X, y)
    expected = [0.05 * 0.5 * (1 + math.cos(math.pi * e / 8)) for e in range(8)]
    np.testing.assert_allclose(clf.model_.history.learning_rate, expected, rtol=1e-12)


def test_step_schedule_with_its_parameters(blobs):
    X, y = blobs
    clf = small(learning_rate="step", schedule_params={"step_size": 2, "gamma": 0.5}, max_iter=5)
    fit_expecting_max_iter(clf, X, y)
    np.testing.assert_allclose(
        clf.model_.history.learning_rate, [0.01, 0.01, 0.005, 0.005, 0.0025], rtol=1e-12
    )


def test_batch_size_auto_and_clipping(blobs):
    X, y = blobs
    clf = small(batch_size=1000)
    with pytest.warns(UserWarning, match="batch_size=1000 is larger than the 240"):
        fit_expecting_max_iter(clf, X, y)


def test_verbose_prints_the_loss(blobs, capsys):
    X, y = blobs
    fit_expecting_max_iter(small(max_iter=2, verbose=True), X, y)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in lines] == ["Iteration 1", "Iteration 2"]


def test_sgd_solver_learns(blobs):
    X, y = blobs
    clf = fit_expecting_max_iter(small(solver="sgd", learning_rate_init=0.1, max_iter=20), X, y)
    assert clf.model_.optimizer.name == "sgd"
    assert clf.score(X, y) > 0.9


def test_divergence_is_a_topokit_error(blobs):
    X, y = blobs
    clf = small(solver="sgd", learning_rate_init=1e4, dtype=np.float64)
    with pytest.raises(TopokitError, match="diverged"):
        clf.fit(X * 100, y)


# -------------------------------------------------------------------- errors
def test_init_only_stores_and_fit_validates(blobs):
    X, y = blobs
    clf = SparseMLPClassifier(density=1.5, solver="nonsense")
    assert clf.density == 1.5
    with pytest.raises(TopokitError, match="solver must be one of"):
        clf.fit(X, y)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"solver": "lbfgs"}, "solver='lbfgs' is not supported"),
        ({"learning_rate": "invscaling"}, "learning_rate='invscaling' is not supported"),
        ({"learning_rate": "sometimes"}, r"learning_rate must be one of \['constant'"),
        ({"activation": "softplus"}, "activation must be one of"),
        ({"density": 1.5}, r"density must be in \(0.0, 1.0\], got 1.5"),
        ({"density": [0.5, 0.5]}, r"one per sparse layer \(1: dense_output=True"),
        ({"degree": 0}, "degree must be >= 1, got 0"),
        ({"density": None, "degree": 9}, r"layer 0 \(5 -> 16\): degree .* must be <= n_in=5"),
        ({"degree": 2}, "give density or degree, not both"),
        ({"family": "projective_plane", "density": None}, r"layer 0 \(5 -> 16\)"),
        ({"family": "hypercube"}, "unknown family 'hypercube'"),
        ({"family_params": {"p": 0.1}}, "unknown parameter 'p' for family 'erdos_renyi'"),
        ({"hidden_layer_sizes": (16, 0)}, r"hidden_layer_sizes\[1\] must be >= 1, got 0"),
        ({"batch_size": "all"}, "batch_size must be 'auto' or an integer"),
        ({"learning_rate_init": 0.0}, r"learning_rate_init must be in \(0.0, inf\)"),
        ({"validation_fraction": 1.0}, r"validation_fraction must be in \(0.0, 1.0\)"),
        ({"max_iter": 0}, "max_iter must be >= 1, got 0"),
        ({"shuffle": "yes"}, "shuffle must be True or False"),
        ({"dtype": np.int32}, "dtype must be numpy.float32 or numpy.float64"),
        ({"random_state": "seed"}, "random_state must be an integer"),
        ({"schedule_params": {"gamma": 0.5}}, "schedule 'constant'"),
    ],
    ids=lambda value: str(value) if isinstance(value, dict) else "",
)
def test_bad_parameters_raise_at_fit(blobs, params, match):
    X, y = blobs
    with pytest.raises(TopokitError, match=match):
        small(**params).fit(X, y)


def test_one_class_is_an_error(blobs):
    X, _ = blobs
    with pytest.raises(TopokitError, match="only one class"):
        small().fit(X, np.zeros(len(X)))


def test_continuous_targets_are_an_error(blobs):
    X, y = blobs
    with pytest.raises(TopokitError, match="Unknown label type"):
        small().fit(X, y + 0.5)


@pytest.mark.parametrize(
    ("values", "match"),
    [(np.nan, "NaN"), (np.inf, "infinity")],
    ids=["nan", "inf"],
)
def test_non_finite_features_are_an_error(blobs, values, match):
    X, y = blobs
    X = X.copy()
    X[3, 2] = values
    with pytest.raises(TopokitError, match=match):
        small().fit(X, y)


def test_predict_with_the_wrong_feature_count(blobs):
    X, y = blobs
    clf = fit_expecting_max_iter(small(), X, y)
    with pytest.raises(TopokitError, match="X has 4 features, but SparseMLPClassifier is"):
        clf.predict(X[:, :4])


def test_partial_fit_errors(blobs):
    X, y = blobs
    with pytest.raises(TopokitError, match="classes must be given on the first call"):
        small().partial_fit(X, y)
    with pytest.raises(TopokitError, match="partial_fit does not support early_stopping"):
        small(early_stopping=True).partial_fit(X, y, classes=[0, 1, 2])
    clf = small().partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(TopokitError, match=r"y has labels \[7\] not in classes_"):
        clf.partial_fit(X[:2], [0, 7])
    with pytest.raises(TopokitError, match="differs from classes_"):
        clf.partial_fit(X, y, classes=[0, 1, 2, 3])


def test_early_stopping_needs_a_stratifiable_split(blobs):
    X, y = blobs
    y = y.copy()
    y[0] = 3  # a class with a single member cannot be stratified
    with pytest.raises(TopokitError, match="early_stopping needs a stratified validation split"):
        small(early_stopping=True).fit(X, y)


def test_a_failed_fit_leaves_the_estimator_unfitted(blobs):
    X, y = blobs
    clf = fit_expecting_max_iter(small(), X, y)
    clf.set_params(density=2.0)
    with pytest.raises(TopokitError, match="density must be in"):
        clf.fit(X, y)
    with pytest.raises(NotFittedError):
        clf.predict(X)


def test_joblib_memmapped_model_predicts_and_trains_on(blobs, tmp_path):
    joblib = pytest.importorskip("joblib")
    X, y = blobs
    clf = fit_expecting_max_iter(small(), X, y)
    joblib.dump(clf, tmp_path / "clf.joblib")
    loaded = joblib.load(tmp_path / "clf.joblib", mmap_mode="r")
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    loaded.partial_fit(X, y)
    clf.partial_fit(X, y)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
