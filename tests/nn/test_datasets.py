"""load_dataset: the built-in digits and mnist1d, your own .npz/.csv, and bad input."""

from __future__ import annotations

import random
import sys

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

from topokit._errors import TopokitError
from topokit.nn.datasets import Dataset, _mnist1d, datasets, load_dataset
from topokit.nn.datasets._split import n_test_samples, stratified_split

# --- the listing and the record ----------------------------------------------------------


def test_datasets_lists_every_builtin_with_a_description():
    names = datasets()
    assert list(names) == ["digits", "mnist1d", "mnist", "fashion_mnist", "cifar10"]
    assert all(isinstance(text, str) and text for text in names.values())


def test_dataset_repr_and_sizes():
    X = np.zeros((5, 3), dtype=np.float32)
    data = Dataset(X, np.array([0, 1, 2, 0, 1]), X[:2], np.array([2, 0]), name="toy")
    assert repr(data) == "Dataset('toy', X_train=(5, 3), X_test=(2, 3), n_classes=3)"
    assert (data.n_features, data.n_classes, data.n_train, data.n_test) == (3, 3, 5, 2)
    np.testing.assert_array_equal(data.classes, [0, 1, 2])


def test_feature_variances_of_the_training_split():
    X_train = np.array([[0, 1, 2], [0, 3, 4], [0, 5, 9]], dtype=np.float32)
    X_test = np.array([[7, 7, 7]], dtype=np.float32)  # not counted
    data = Dataset(X_train, np.array([0, 1, 0]), X_test, np.array([1]), name="toy")
    variances = data.feature_variances
    assert variances.dtype == np.float64
    # population variances (ddof 0), worked by hand: mean 3 -> (4 + 0 + 4) / 3, mean 5 -> 26 / 3
    np.testing.assert_allclose(variances, [0.0, 8 / 3, 26 / 3], rtol=1e-12)


# --- the stratified split ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("test_size", "expected"),
    [(0.25, 25), (0.251, 26), (1, 1), (99, 99), (np.int64(10), 10), (np.float64(0.5), 50)],
)
def test_n_test_samples(test_size, expected):
    assert n_test_samples(test_size, 100) == expected


@pytest.mark.parametrize(
    ("test_size", "match"),
    [
        (0.0, r"test_size must be a fraction in \(0, 1\) or a count in \[1, 99\], got 0.0"),
        (1.0, r"got 1.0"),
        (1.5, r"got 1.5"),
        (0, r"got 0 \(0 test samples\); the nearest feasible choice is 1"),
        (100, r"got 100 \(100 test samples\); the nearest feasible choice is 99"),
        (True, r"got True"),
        ("0.2", r"got '0.2'"),
    ],
)
def test_n_test_samples_rejects(test_size, match):
    with pytest.raises(TopokitError, match=match):
        n_test_samples(test_size, 100)


def test_stratified_split_keeps_class_shares_and_covers_everything():
    y = np.repeat([0, 1, 2, 3], [50, 30, 15, 5])
    train, test = stratified_split(y, 25, np.random.default_rng(3))
    assert len(test) == 25
    np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(100))
    # Exact shares 12.5, 7.5, 3.75, 1.25: floors 12, 7, 3, 1 and the two extra samples go
    # to the largest fractional parts (0.75 of class 2, then the first 0.5: class 0).
    np.testing.assert_array_equal(np.bincount(y[test], minlength=4), [13, 7, 4, 1])


def test_stratified_split_same_seed_same_split():
    y = np.arange(60) % 3
    first = stratified_split(y, 12, np.random.default_rng(7))
    again = stratified_split(y, 12, np.random.default_rng(7))
    other = stratified_split(y, 12, np.random.default_rng(8))
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[1], other[1])


# --- digits ------------------------------------------------------------------------------


def _rows_as_set(X):
    return sorted(map(bytes, np.ascontiguousarray(X, dtype=np.float64)))


def test_digits_default_split_sizes_types_and_scaling():
    data = load_dataset()
    assert data.name == "digits"
    assert (data.n_train, data.n_test, data.n_features, data.n_classes) == (1347, 450, 64, 10)
    assert data.X_train.dtype == np.float32
    assert data.y_train.dtype == np.int64
    assert data.X_train.flags.c_contiguous
    assert float(data.X_train.min()) == 0.0
    assert float(data.X_train.max()) == 1.0
    # The two parts are the whole of scikit-learn's digits, divided by 16.
    X, y = load_digits(return_X_y=True)
    both = np.vstack([data.X_train, data.X_test]).astype(np.float64)
    assert _rows_as_set(both) == _rows_as_set(X / 16)
    np.testing.assert_array_equal(
        np.bincount(np.concatenate([data.y_train, data.y_test])), np.bincount(y)
    )
    # Stratified: each class's test count is within one sample of 25 % of the class.
    np.testing.assert_array_less(np.abs(np.bincount(data.y_test) - 0.25 * np.bincount(y)), 1.0)


def test_digits_default_split_is_fixed_and_rng_changes_it():
    first, again = load_dataset("digits"), load_dataset("digits", rng=None)
    np.testing.assert_array_equal(first.X_test, again.X_test)
    np.testing.assert_array_equal(first.X_test, load_dataset("digits", rng=0).X_test)
    other = load_dataset("digits", rng=1)
    assert not np.array_equal(first.X_test, other.X_test)
    gen = load_dataset("digits", rng=np.random.default_rng(1))
    np.testing.assert_array_equal(gen.X_test, other.X_test)


def test_digits_test_size_and_raw_scale():
    data = load_dataset("digits", test_size=100, scale=False)
    assert (data.n_train, data.n_test) == (1697, 100)
    assert float(data.X_train.max()) == 16.0
    assert "raw pixels" in data.description
    assert load_dataset("Digits", test_size=0.5).n_test == 899


# --- mnist1d -----------------------------------------------------------------------------


@pytest.fixture
def mnist1d_installed():
    pytest.importorskip("mnist1d", reason="the optional mnist1d package is not installed")


@pytest.mark.usefixtures("mnist1d_installed")
def test_mnist1d_shapes_labels_and_standardization():
    data = load_dataset("mnist1d")
    assert (data.n_train, data.n_test, data.n_features, data.n_classes) == (4000, 1000, 40, 10)
    assert data.X_train.dtype == np.float32
    assert data.y_test.dtype == np.int64
    # The generator makes 500 signals per class, then shuffles and splits 80/20.
    np.testing.assert_array_equal(
        np.bincount(np.concatenate([data.y_train, data.y_test])), np.full(10, 500)
    )
    both = np.vstack([data.X_train, data.X_test]).astype(np.float64)
    assert abs(both.mean()) < 1e-6
    assert abs(both.std() - 1.0) < 1e-6
    # The package's default arguments (seed 42) give this data set.
    np.testing.assert_array_equal(data.y_train[:10], [2, 6, 4, 5, 6, 6, 6, 0, 3, 1])
    np.testing.assert_array_equal(
        np.bincount(data.y_train), [398, 396, 411, 394, 394, 402, 401, 404, 402, 398]
    )


@pytest.mark.usefixtures("mnist1d_installed")
def test_mnist1d_leaves_global_random_state_alone_and_is_deterministic():
    _mnist1d._generate.cache_clear()
    np.random.seed(123)  # noqa: NPY002
    random.seed(123)
    expected_numpy = np.random.random(3)  # noqa: NPY002
    expected_python = [random.random() for _ in range(3)]
    np.random.seed(123)  # noqa: NPY002
    random.seed(123)
    first = load_dataset("mnist1d")
    np.testing.assert_array_equal(np.random.random(3), expected_numpy)  # noqa: NPY002
    assert [random.random() for _ in range(3)] == expected_python
    _mnist1d._generate.cache_clear()
    again = load_dataset("mnist1d")
    np.testing.assert_array_equal(first.X_train, again.X_train)
    again.X_train[0, 0] = 99.0  # the returned arrays are copies
    assert load_dataset("mnist1d").X_train[0, 0] != 99.0


def test_mnist1d_without_the_package_says_how_to_install(monkeypatch):
    _mnist1d._generate.cache_clear()
    monkeypatch.setitem(sys.modules, "mnist1d", None)
    monkeypatch.setitem(sys.modules, "mnist1d.data", None)
    with pytest.raises(TopokitError, match=r"mnist1d package, which is not installed: pip"):
        load_dataset("mnist1d")
    _mnist1d._generate.cache_clear()


def test_fixed_split_datasets_refuse_test_size():
    with pytest.raises(TopokitError, match=r"mnist1d has a fixed train/test split"):
        load_dataset("mnist1d", test_size=0.3)


# --- your own .npz -----------------------------------------------------------------------


def test_npz_split_encodes_text_labels_and_standardizes(tmp_path, rng):
    X = rng.normal(3.0, 2.0, size=(40, 4))
    X[:, 2] = 5.0  # a constant feature is only centred
    y = np.array(["cat", "dog"])[np.arange(40) % 2]
    path = tmp_path / "mine.npz"
    np.savez(path, X=X, y=y)
    data = load_dataset(path, test_size=10, rng=4)
    assert data.name == "mine.npz"
    np.testing.assert_array_equal(data.classes, ["cat", "dog"])
    assert (data.n_train, data.n_test) == (30, 10)
    np.testing.assert_array_equal(np.bincount(data.y_test), [5, 5])
    # Reference: scikit-learn's StandardScaler fitted on the raw training rows (same split).
    raw = load_dataset(path, test_size=10, rng=4, scale=False)
    scaler = StandardScaler().fit(raw.X_train.astype(np.float64))
    np.testing.assert_allclose(data.X_train, scaler.transform(raw.X_train), atol=1e-5)
    np.testing.assert_allclose(data.X_test, scaler.transform(raw.X_test), atol=1e-5)
    np.testing.assert_array_equal(data.y_test, raw.y_test)
    # The labels follow their rows: a row of X with label "dog" has y == 1.
    rows = [np.flatnonzero(np.all(np.isclose(X, row, atol=1e-5), axis=1))[0] for row in raw.X_test]
    np.testing.assert_array_equal(data.y_test, (y[rows] == "dog").astype(int))


def test_npz_with_own_test_set_and_integer_labels(tmp_path):
    X = np.arange(24, dtype=np.int32).reshape(6, 2, 2)  # images are flattened
    path = tmp_path / "mine.npz"
    np.savez(path, X=X, y=[3, 7, 3, 7, 3, 7], X_test=X[:2], y_test=[7, 9])
    data = load_dataset(str(path), scale=False)
    assert data.X_train.shape == (6, 4)
    assert data.X_test.shape == (2, 4)
    np.testing.assert_array_equal(data.X_train, X.reshape(6, 4).astype(np.float32))
    np.testing.assert_array_equal(data.classes, [3, 7, 9])
    np.testing.assert_array_equal(data.y_train, [0, 1, 0, 1, 0, 1])
    np.testing.assert_array_equal(data.y_test, [1, 2])


def test_npz_scaled_test_set_uses_training_statistics(tmp_path):
    X = np.array([[0.0, 10.0], [2.0, 10.0], [4.0, 10.0]])
    path = tmp_path / "m.npz"
    np.savez(path, X=X, y=[0, 1, 0], X_test=np.array([[6.0, 11.0]]), y_test=[1])
    data = load_dataset(path)
    std = np.std([0.0, 2.0, 4.0])
    np.testing.assert_allclose(data.X_test, [[(6.0 - 2.0) / std, 1.0]], rtol=1e-6)


def _write_npz(path, **arrays):
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize(
    ("arrays", "match"),
    [
        ({"X": np.ones((3, 2))}, r"needs the arrays X and y .* found \['X'\]"),
        (
            {"X": np.ones((3, 2)), "y": [0, 1, 0], "X_test": np.ones((1, 2))},
            r"give both X_test and y_test or neither",
        ),
        ({"X": np.ones(3), "y": [0, 1, 0]}, r"X must be 2-D .* got shape \(3,\)"),
        ({"X": np.ones((0, 2)), "y": np.zeros(0)}, r"X is empty: it has 0 samples"),
        ({"X": np.ones((3, 2)), "y": [0, 1]}, r"X has 3 samples, y has 2 labels"),
        ({"X": [[1.0, np.nan], [0, 0]], "y": [0, 1]}, r"X must be finite, got nan at sample 0"),
        ({"X": [[1.0, 0], [np.inf, 0]], "y": [0, 1]}, r"got inf at sample 1, feature 0"),
        ({"X": [["a", "b"], ["c", "d"]], "y": [0, 1]}, r"X must hold numbers, got .*<U1"),
        ({"X": np.ones((2, 2)), "y": [0.5, 1.0]}, r"non-integer values such as 0.5"),
        ({"X": np.ones((2, 2)), "y": [0.0, np.nan]}, r"y must not contain NaN"),
        (
            {"X": np.ones((4, 2)), "y": [0, 1, 0, 1], "X_test": np.ones((1, 3)), "y_test": [0]},
            r"X_test must have the 2 features of X, got 3",
        ),
        ({"X": np.full((2, 2), 1e300), "y": [0, 1]}, r"too large for float32"),
    ],
)
def test_npz_bad_input(tmp_path, arrays, match):
    path = _write_npz(tmp_path / "bad.npz", **arrays)
    with pytest.raises(TopokitError, match=match):
        load_dataset(path, scale=False, test_size=None if "X_test" in arrays else 1)


def test_npz_object_array_is_refused_without_unpickling(tmp_path):
    path = _write_npz(tmp_path / "obj.npz", X=np.array([[1, "a"]], dtype=object), y=[0])
    with pytest.raises(TopokitError, match=r"store numbers or text, not Python objects"):
        load_dataset(path)


def test_npz_own_test_set_refuses_test_size(tmp_path):
    path = _write_npz(tmp_path / "m.npz", X=np.ones((2, 1)), y=[0, 1], X_test=[[1]], y_test=[0])
    with pytest.raises(TopokitError, match=r"has its own test set .* got test_size=0.5"):
        load_dataset(path, test_size=0.5)


def test_npz_refuses_label_column(tmp_path):
    path = _write_npz(tmp_path / "m.npz", X=np.ones((2, 1)), y=[0, 1])
    with pytest.raises(TopokitError, match=r"label_column applies only to .csv files"):
        load_dataset(path, label_column="label")


@pytest.mark.parametrize("cut", [0.3, 0.6, 0.9])
def test_broken_npz(tmp_path, cut):
    path = tmp_path / "broken.npz"
    np.savez_compressed(path, X=np.arange(600.0).reshape(200, 3), y=np.arange(200) % 2)
    data = path.read_bytes()
    path.write_bytes(data[: int(cut * len(data))])
    with pytest.raises(TopokitError, match=r"broken.npz: not a readable .npz file"):
        load_dataset(path)


def test_not_a_zip_npz(tmp_path):
    path = tmp_path / "broken.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(TopokitError, match=r"broken.npz: not a readable .npz file"):
        load_dataset(path)


# --- your own .csv -----------------------------------------------------------------------


def test_csv_with_header_and_named_label_column(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,label,b\n1,cat,2\n3,dog,4\n5,cat,6\n7,dog,8\n")
    data = load_dataset(path, scale=False, test_size=2)
    np.testing.assert_array_equal(data.classes, ["cat", "dog"])
    both = np.vstack([data.X_train, data.X_test])
    labels = np.concatenate([data.y_train, data.y_test])
    order = np.argsort(both[:, 0])
    np.testing.assert_array_equal(both[order], [[1, 2], [3, 4], [5, 6], [7, 8]])
    np.testing.assert_array_equal(labels[order], [0, 1, 0, 1])
    np.testing.assert_array_equal(np.bincount(data.y_test), [1, 1])


def test_csv_without_header_takes_the_last_column(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("0.5, 1, 2\n1.5, 2, 0\n2.5, 3, 2\n3.5, 4, 0\n")
    data = load_dataset(path, scale=False, test_size=2)
    np.testing.assert_array_equal(data.classes, [0, 2])
    assert data.n_features == 2
    both = np.vstack([data.X_train, data.X_test])
    assert sorted(both[:, 0].tolist()) == [0.5, 1.5, 2.5, 3.5]


def test_csv_label_column_by_index_and_quoted_text(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('kind,x\n"big, red",1\n"small",2\n"big, red",3\n"small",4\n')
    data = load_dataset(path, label_column=0, scale=False, test_size=2)
    np.testing.assert_array_equal(data.classes, ["big, red", "small"])
    assert data.n_features == 1


def test_csv_header_with_text_labels_in_every_row(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("x,y,label\n1,2,a\n3,4,b\n")
    assert load_dataset(path, test_size=1).n_features == 2


@pytest.mark.parametrize(
    ("text", "kwargs", "match"),
    [
        ("a,b\n1,2\n", {"label_column": "kind"}, r"label_column 'kind' is not a column .* a, b"),
        ("1,2\n3,4\n", {"label_column": "kind"}, r"has no header row; give the column's index"),
        ("1,2\n3,4\n", {"label_column": 2}, r"label_column must be an index in \[-2, 1\], got 2"),
        ("1,2\n3,4\n", {"label_column": 1.0}, r"label_column must be a column name or index"),
        ("a,label\nx,1\n2,0\n", {}, r"features must be numbers, got 'x' in column 'a' at line 2"),
        ("a,label\n1,1\n,0\n", {}, r"got '' in column 'a' at line 3"),
        ("a,label\n1,1\n2\n", {}, r"cannot read as CSV"),
        ("", {}, r"the file is empty"),
        ("a,b,label\n", {}, r"has a header but no data rows"),
        ("a,label\nnan,1\n2,0\n", {}, r"X must be finite, got nan at sample 0"),
        ("a,label\n1,1\n2,\n", {}, r"missing label in column 'label' at line 3"),
        ("a,label\n1,0.5\n2,1\n", {}, r"non-integer values such as 0.5"),
        ("1\n2\n", {}, r"at least one feature column and a label column"),
    ],
)
def test_csv_bad_input(tmp_path, text, kwargs, match):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(TopokitError, match=match):
        load_dataset(path, test_size=1, **kwargs)


# --- names and options -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("mnst", r"unknown dataset 'mnst'; valid names are digits, mnist1d, mnist, .*did you "),
        ("imagenet", r"or a path to a .npz or .csv file"),
        (3, r"name must be a dataset name or a path to a .npz/.csv file, got 3"),
    ],
)
def test_unknown_dataset(name, match):
    with pytest.raises(TopokitError, match=match):
        load_dataset(name)


def test_existing_file_of_another_type(tmp_path):
    path = tmp_path / "data.txt"
    path.write_text("1,2\n")
    with pytest.raises(TopokitError, match=r"only .npz and .csv files can be read"):
        load_dataset(str(path))
    with pytest.raises(TopokitError, match=r"must end in .npz or .csv, got .*data.txt"):
        load_dataset(path)


def test_missing_file():
    with pytest.raises(TopokitError, match=r"no such data file: .*nowhere.csv"):
        load_dataset("/nowhere/nowhere.csv")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"label_column": "y"}, r"label_column applies only to .csv files, .* 'digits'"),
        ({"download": "yes"}, r"download must be True or False, got 'yes'"),
        ({"scale": 1}, r"scale must be True or False, got 1"),
        ({"mirrors": "http://x/"}, r"mirrors must be a sequence of base URLs"),
        ({"rng": "seed"}, r"rng must be None, a non-negative int seed"),
    ],
)
def test_bad_options(kwargs, match):
    with pytest.raises(TopokitError, match=match):
        load_dataset("digits", **kwargs)
