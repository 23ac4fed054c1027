"""Checks of training data shared by every entry point of the nn backend."""

from __future__ import annotations

import functools

import numpy as np
import scipy.sparse as sp

from topokit._errors import TopokitError

__all__ = ["check_features", "check_labels", "non_finite_error", "renamed"]


def check_features(X, n_features: int, dtype, name: str = "X", finite: bool = True) -> np.ndarray:
    """``X`` as a C-contiguous float array of shape (n_samples, n_features), all finite.

    With ``finite=False`` the values are not checked: the caller counts the non-finite
    ones itself (in the pass that copies them) and raises :func:`non_finite_error`.
    """
    if sp.issparse(X):
        raise TopokitError(f"{name} must be a dense array; convert sparse input with .toarray()")
    try:
        array = np.asarray(X)
    except (TypeError, ValueError) as exc:
        raise TopokitError(f"{name} must be a numeric 2-D array: {exc}") from exc
    if array.dtype.kind not in "biuf":
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TopokitError(
                f"{name} must hold numbers, got dtype {array.dtype} that does not convert to float"
            ) from exc
    if array.ndim != 2:
        raise TopokitError(
            f"{name} must be 2-D of shape (n_samples, n_features), got shape {array.shape}"
        )
    if array.shape[0] == 0:
        raise TopokitError(f"{name} is empty: got 0 samples (shape {array.shape})")
    if array.shape[1] != n_features:
        raise TopokitError(
            f"{name} has {array.shape[1]} features but the topology's input size is {n_features}"
        )
    array = np.ascontiguousarray(array, dtype=dtype)
    if finite and not np.all(np.isfinite(array)):
        raise non_finite_error(int(np.size(array) - np.count_nonzero(np.isfinite(array))), name)
    return array


def non_finite_error(n_bad: int, name: str = "X") -> TopokitError:
    """The error for features with ``n_bad`` NaN or infinite values."""
    return TopokitError(f"{name} must be finite, found {n_bad} NaN or infinite values")


def check_labels(y, n_samples: int, n_classes: int, name: str = "y") -> np.ndarray:
    """``y`` as int64 class indices in [0, n_classes), one per sample."""
    try:
        labels = np.asarray(y)
    except (TypeError, ValueError) as exc:
        raise TopokitError(f"{name} must be a 1-D array of class indices: {exc}") from exc
    if labels.ndim != 1:
        raise TopokitError(f"{name} must be 1-D of shape (n_samples,), got shape {labels.shape}")
    if labels.shape[0] != n_samples:
        raise TopokitError(
            f"{name} has {labels.shape[0]} labels but X has {n_samples} samples; they must match"
        )
    if labels.dtype.kind not in "biuf":
        raise TopokitError(
            f"{name} must hold integer class indices 0..{n_classes - 1}, got dtype "
            f"{labels.dtype}; encode labels first (e.g. numpy.unique(y, return_inverse=True))"
        )
    if labels.dtype.kind == "f" and not np.all(np.isfinite(labels) & (labels == np.round(labels))):
        raise TopokitError(f"{name} must hold integer class indices, got non-integer values")
    labels = labels.astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise TopokitError(
            f"{name} must hold class indices in [0, {n_classes}) (the topology has "
            f"{n_classes} outputs), got values from {labels.min()} to {labels.max()}"
        )
    return labels


def renamed(**new_names):
    """Decorator: a keyword given under an old name raises a TopokitError naming the new one.

    ``@renamed(alpha="weight_decay")`` turns ``f(alpha=0.1)`` into "alpha is called
    weight_decay now: give weight_decay=0.1". No silent alias: the old name never works.
    """

    def decorate(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            for old, new in new_names.items():
                if old in kwargs:
                    raise TopokitError(f"{old} is called {new} now: give {new}={kwargs[old]!r}")
            return function(*args, **kwargs)

        return wrapper

    return decorate
