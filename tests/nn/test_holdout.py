"""The one validation split that SparseMLP.fit and SparseMLPClassifier share."""

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from topokit._errors import TopokitError
from topokit.nn._holdout import split_validation


@pytest.fixture
def data():
    X = np.arange(40.0).reshape(20, 2)
    y = np.arange(20) % 2
    return X, y


def test_plain_split_is_one_permutation_of_the_generator(data):
    X, y = data
    X_train, y_train, X_val, y_val = split_validation(X, y, 0.25, np.random.default_rng(3))
    order = np.random.default_rng(3).permutation(20)
    np.testing.assert_array_equal(X_val, X[order[:5]])
    np.testing.assert_array_equal(y_val, y[order[:5]])
    np.testing.assert_array_equal(X_train, X[order[5:]])
    np.testing.assert_array_equal(y_train, y[order[5:]])


@pytest.mark.parametrize(("fraction", "n_val"), [(0.1, 2), (0.125, 3), (0.5, 10)])
def test_plain_split_rounds_halves_up(data, fraction, n_val):
    X, y = data
    _, _, X_val, _ = split_validation(X, y, fraction, np.random.default_rng(0))
    assert X_val.shape == (n_val, 2)


def test_zero_holds_out_nothing(data):
    X, y = data
    rng = np.random.default_rng(0)
    X_train, y_train, X_val, y_val = split_validation(X, y, 0.0, rng)
    assert X_train is X
    assert y_train is y
    assert X_val is None
    assert y_val is None
    assert rng.integers(1000) == np.random.default_rng(0).integers(1000)  # nothing drawn


def test_stratified_split_is_scikit_learns_with_a_drawn_seed(data):
    X, y = data
    X_train, y_train, X_val, y_val = split_validation(
        X, y, 0.2, np.random.default_rng(4), stratify=True
    )
    seed = int(np.random.default_rng(4).integers(np.iinfo(np.int32).max))
    reference = train_test_split(X, y, test_size=0.2, random_state=seed, stratify=y)
    for got, expected in zip((X_train, X_val, y_train, y_val), reference, strict=True):
        np.testing.assert_array_equal(got, expected)
    assert np.bincount(y_val).tolist() == [2, 2]


@pytest.mark.parametrize(
    ("fraction", "stratify", "match"),
    [
        pytest.param(1.0, False, r"validation_fraction must be in \[0\.0, 1\.0\)", id="one"),
        pytest.param(0.01, False, "leaves 0 for validation and 20 for training", id="empty"),
        pytest.param(0.99, False, "leaves 20 for validation and 0 for training", id="all"),
        pytest.param(0.05, True, "early_stopping needs a stratified validation split", id="strat"),
    ],
)
def test_impossible_splits_raise(data, fraction, stratify, match):
    X, y = data
    with pytest.raises(TopokitError, match=match):
        split_validation(X, y, fraction, np.random.default_rng(0), stratify=stratify)


def test_stratified_split_needs_two_validation_samples():
    X, y = np.zeros((4, 1)), np.zeros(4, dtype=int)  # one class: a split of 1 stratifies
    with pytest.raises(TopokitError, match=r"validation set is too small \(1 samples\)"):
        split_validation(X, y, 0.25, np.random.default_rng(0), stratify=True)
