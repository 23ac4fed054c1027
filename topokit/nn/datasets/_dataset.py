"""The Dataset record and the checks every source's arrays go through."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from topokit._errors import TopokitError

__all__ = ["Dataset"]


@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """A classification data set split into training and test parts.

    Parameters
    ----------
    X_train : ndarray of shape (n_train, n_features), float32
        Training features, scaled as ``description`` says.
    y_train : ndarray of shape (n_train,), int64
        Training labels, integers in ``0 .. n_classes - 1``.
    X_test : ndarray of shape (n_test, n_features), float32
        Test features, scaled with the same rule (and training statistics) as ``X_train``.
    y_test : ndarray of shape (n_test,), int64
        Test labels.
    name : str
        The data set's name (``"digits"``, ``"mnist"``, or the file name).
    description : str, optional
        One paragraph: source, split and scaling.
    classes : ndarray of shape (n_classes,), optional
        The original label of each class: ``y == k`` means class ``classes[k]``
        (``0 .. n_classes - 1`` when not given).

    Examples
    --------
    >>> import numpy as np
    >>> from topokit.nn.datasets import Dataset
    >>> X = np.zeros((4, 3), dtype=np.float32)
    >>> y = np.array([0, 1, 0, 1])
    >>> Dataset(X, y, X[:2], y[:2], name="toy", classes=np.array(["a", "b"]))
    Dataset('toy', X_train=(4, 3), X_test=(2, 3), n_classes=2)
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    name: str
    description: str = ""
    classes: np.ndarray | None = None

    def __post_init__(self):
        if self.classes is None:
            n_classes = int(max(self.y_train.max(initial=-1), self.y_test.max(initial=-1))) + 1
            object.__setattr__(self, "classes", np.arange(n_classes))

    @property
    def n_features(self) -> int:
        """Number of input features (columns of ``X_train``)."""
        return int(self.X_train.shape[1])

    @property
    def feature_variances(self) -> np.ndarray:
        """Variance of each feature over the training split, of shape (n_features,), float64.

        The population variance (``ddof=0``) of each column of ``X_train``, accumulated in
        float64: the per-input variances of the data-aware metrics
        (:func:`topokit.metrics.input_metrics`).
        """
        return self.X_train.var(axis=0, dtype=np.float64)

    @property
    def n_classes(self) -> int:
        """Number of classes (``len(classes)``)."""
        return len(self.classes)

    @property
    def n_train(self) -> int:
        """Number of training samples."""
        return int(self.X_train.shape[0])

    @property
    def n_test(self) -> int:
        """Number of test samples."""
        return int(self.X_test.shape[0])

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, X_train={self.X_train.shape}, X_test={self.X_test.shape}, "
            f"n_classes={self.n_classes})"
        )


def check_features(X, what: str = "X") -> np.ndarray:
    """Return ``X`` as a finite numeric array of shape (n_samples, n_features).

    Arrays of more than two dimensions (images) are flattened to one row per sample.
    Integer and boolean arrays keep their dtype; the caller converts after scaling.
    """
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise TopokitError(
            f"{what} must hold numbers, got an array of dtype {X.dtype} "
            "(encode text or categorical features as numbers first)"
        )
    if X.ndim < 2:
        raise TopokitError(
            f"{what} must be 2-D of shape (n_samples, n_features), got shape {X.shape}"
        )
    if X.shape[0] == 0:
        raise TopokitError(f"{what} is empty: it has 0 samples (shape {X.shape})")
    X = X.reshape(X.shape[0], -1)
    if X.shape[1] == 0:
        raise TopokitError(f"{what} has 0 features (shape {X.shape})")
    if X.dtype.kind == "f":
        bad = ~np.isfinite(X)
        if bad.any():
            row, column = np.argwhere(bad)[0]
            raise TopokitError(
                f"{what} must be finite, got {X[row, column]} at sample {row}, feature {column} "
                f"({int(bad.sum())} non-finite values in all)"
            )
        largest = float(np.abs(X).max())
        if largest > float(np.finfo(np.float32).max):
            raise TopokitError(
                f"{what} has values too large for float32 (|x| up to {largest:.3g} > 3.4e38); "
                "rescale the features"
            )
    return X


def check_labels(y, n_samples: int, what: str = "y") -> np.ndarray:
    """Return ``y`` as a 1-D label array of length ``n_samples`` (integers or text)."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise TopokitError(f"{what} must be 1-D of shape (n_samples,), got shape {y.shape}")
    if y.shape[0] != n_samples:
        raise TopokitError(
            f"{what} must have one label per sample of X: X has {n_samples} samples, "
            f"{what} has {y.shape[0]} labels"
        )
    if y.dtype.kind == "f":
        if not np.isfinite(y).all():
            raise TopokitError(f"{what} must not contain NaN or infinity")
        fractional = y[y != np.round(y)]
        if fractional.size:
            raise TopokitError(
                f"{what} must hold class labels (integers or text), got non-integer values "
                f"such as {fractional[0]}"
            )
        y = y.astype(np.int64)
    elif y.dtype.kind not in "biuUS":
        raise TopokitError(f"{what} must hold class labels (integers or text), got dtype {y.dtype}")
    return y


def encode_labels(y_train: np.ndarray, y_test: np.ndarray):
    """Map labels to 0..k-1 over both parts; return ``(y_train, y_test, classes)``."""
    if y_train.dtype.kind in "US" or y_test.dtype.kind in "US":
        y_train, y_test = y_train.astype(str), y_test.astype(str)
    classes, codes = np.unique(np.concatenate([y_train, y_test]), return_inverse=True)
    codes = codes.astype(np.int64).reshape(-1)
    return codes[: len(y_train)], codes[len(y_train) :], classes


def standardize(X_train: np.ndarray, X_test: np.ndarray):
    """Centre and scale each feature by the training mean and standard deviation.

    A feature that is constant in the training part is only centred.
    """
    mean = X_train.mean(axis=0, dtype=np.float64)
    std = X_train.std(axis=0, dtype=np.float64)
    std[std == 0] = 1.0
    return (X_train - mean) / std, (X_test - mean) / std


def to_float32(X: np.ndarray) -> np.ndarray:
    """Convert checked features to C-contiguous float32."""
    return np.ascontiguousarray(X, dtype=np.float32)
