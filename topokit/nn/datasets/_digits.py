"""scikit-learn's 8x8 digits, with a fixed stratified train/test split."""

from __future__ import annotations

import numpy as np

from topokit.nn.datasets._dataset import Dataset
from topokit.nn.datasets._split import n_test_samples, stratified_split

__all__ = ["load_digits"]


def load_digits(*, test_size, rng: np.random.Generator, scale=True) -> Dataset:
    """The 1797 digits of :func:`sklearn.datasets.load_digits`, split by class."""
    from sklearn.datasets import load_digits as sklearn_digits  # slow import: only when used

    X, y = sklearn_digits(return_X_y=True)
    n_test = n_test_samples(test_size, len(y))
    train, test = stratified_split(y, n_test, rng)
    if scale:
        X = X / 16.0
    X = X.astype(np.float32)
    pixels = "pixels scaled to [0, 1] (divided by 16)" if scale else "raw pixels 0..16"
    description = (
        "scikit-learn's handwritten digits (UCI optical digits): 8x8 grey images as 64 "
        f"features, {pixels}; a stratified split, {len(train)} train / {len(test)} test."
    )
    return Dataset(
        X[train],
        y[train].astype(np.int64),
        X[test],
        y[test].astype(np.int64),
        name="digits",
        description=description,
        classes=np.arange(10),
    )
