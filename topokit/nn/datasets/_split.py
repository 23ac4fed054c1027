"""A stratified train/test split drawn with a numpy Generator."""

from __future__ import annotations

import math
import numbers

import numpy as np

from topokit._errors import TopokitError

__all__ = ["DEFAULT_SPLIT_SEED", "DEFAULT_TEST_SIZE", "n_test_samples", "stratified_split"]

DEFAULT_TEST_SIZE = 0.25
DEFAULT_SPLIT_SEED = 0


def n_test_samples(test_size, n_samples: int) -> int:
    """Number of test samples asked for: a fraction in (0, 1) (rounded up) or a count."""
    if n_samples < 2:
        raise TopokitError(
            f"a train/test split needs at least 2 samples, got {n_samples}; "
            "give a separate test set instead"
        )
    rule = f"a fraction in (0, 1) or a count in [1, {n_samples - 1}]"
    if isinstance(test_size, bool) or not isinstance(test_size, numbers.Real):
        raise TopokitError(f"test_size must be {rule}, got {test_size!r}")
    if isinstance(test_size, numbers.Integral):
        n_test = int(test_size)
    else:
        fraction = float(test_size)
        if not 0.0 < fraction < 1.0:
            raise TopokitError(f"test_size must be {rule}, got {test_size!r}")
        n_test = math.ceil(fraction * n_samples)
    if not 1 <= n_test <= n_samples - 1:
        nearest = min(max(n_test, 1), n_samples - 1)
        raise TopokitError(
            f"test_size must be {rule}, got {test_size!r} ({n_test} test samples); "
            f"the nearest feasible choice is {nearest}"
        )
    return n_test


def stratified_split(y: np.ndarray, n_test: int, rng: np.random.Generator):
    """Indices ``(train, test)`` with each class's share kept as closely as possible.

    Class ``c`` with ``n_c`` samples gets ``floor(n_c · n_test / n)`` test samples, and
    the remaining ones go to the classes with the largest fractional parts (ties to
    the smaller class index). Within a class, the test samples are drawn uniformly.
    Both index arrays are sorted.
    """
    _, codes, counts = np.unique(y, return_inverse=True, return_counts=True)
    codes = codes.reshape(-1)
    exact = counts * n_test / len(y)
    per_class = np.floor(exact).astype(np.int64)
    remainder = n_test - int(per_class.sum())
    order = np.argsort(-(exact - per_class), kind="stable")
    per_class[order[:remainder]] += 1
    test = np.concatenate(
        [
            rng.permutation(np.flatnonzero(codes == k))[:n_k]
            for k, n_k in enumerate(per_class.tolist())
        ]
    )
    test.sort()
    is_test = np.zeros(len(y), dtype=bool)
    is_test[test] = True
    return np.flatnonzero(~is_test), test
