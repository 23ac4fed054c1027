"""The validation split: one function that SparseMLP.fit and SparseMLPClassifier share.

scikit-learn is imported only for the stratified split (the estimator's), so that
:class:`~topokit.nn.SparseMLP` and ``topokit train`` do not import it.
"""

from __future__ import annotations

import math

import numpy as np

from topokit._errors import TopokitError
from topokit._validation import check_real

__all__ = ["split_validation"]


def split_validation(X, y, fraction, rng, *, stratify=False):
    """Hold out ``fraction`` of ``(X, y)`` for validation, drawn with ``rng``.

    Plain: ``round(fraction * n_samples)`` samples (halves rounded up) taken by one
    ``rng.permutation``. Stratified (the estimator's early stopping, as scikit-learn's
    ``MLPClassifier`` does it): one seed drawn from ``rng`` for
    :func:`sklearn.model_selection.train_test_split` with ``stratify=y``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    fraction : float
        In [0, 1); 0 holds out nothing.
    rng : numpy.random.Generator
    stratify : bool, default False
        Keep the class proportions in both parts.

    Returns
    -------
    X_train, y_train, X_val, y_val : ndarray
        ``X_val`` and ``y_val`` are None when ``fraction`` is 0.

    Raises
    ------
    TopokitError
        If ``fraction`` is outside [0, 1) or leaves either part empty (stratified: fewer
        than two validation samples, or a class too small to stratify).

    Examples
    --------
    >>> import numpy as np
    >>> from topokit.nn._holdout import split_validation
    >>> X, y = np.arange(20.0).reshape(10, 2), np.arange(10) % 2
    >>> X_train, y_train, X_val, y_val = split_validation(X, y, 0.2, np.random.default_rng(0))
    >>> X_train.shape, X_val.shape
    ((8, 2), (2, 2))
    """
    fraction = check_real("validation_fraction", fraction, low=0.0, high=1.0, high_open=True)
    if fraction == 0:
        return X, y, None, None
    if stratify:
        from sklearn.model_selection import train_test_split  # scikit-learn: estimator only

        seed = int(rng.integers(np.iinfo(np.int32).max))
        try:
            X_train, X_val, y_train, y_val = train_test_split(
                X, y, test_size=fraction, random_state=seed, stratify=y
            )
        except ValueError as exc:
            raise TopokitError(
                f"early_stopping needs a stratified validation split of "
                f"validation_fraction={fraction}: {exc}"
            ) from exc
        if X_val.shape[0] < 2:
            raise TopokitError(
                f"the validation set is too small ({X_val.shape[0]} samples); increase "
                f"validation_fraction (got {fraction}) or the data"
            )
        return X_train, y_train, X_val, y_val
    n_samples = X.shape[0]
    n_val = math.floor(fraction * n_samples + 0.5)
    if n_val < 1 or n_val >= n_samples:
        raise TopokitError(
            f"validation_fraction={fraction} of {n_samples} samples leaves {n_val} for "
            f"validation and {n_samples - n_val} for training; both must be >= 1"
        )
    order = rng.permutation(n_samples)
    val, train = order[:n_val], order[n_val:]
    return X[train], y[train], X[val], y[val]
