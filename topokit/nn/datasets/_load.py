"""``load_dataset``: one entry point for every data source, and the list of names."""

from __future__ import annotations

import difflib
import os

from topokit._errors import TopokitError
from topokit._validation import make_rng
from topokit.nn.datasets._cifar10 import load_cifar10
from topokit.nn.datasets._dataset import Dataset
from topokit.nn.datasets._digits import load_digits
from topokit.nn.datasets._files import load_file
from topokit.nn.datasets._mnist import FASHION_MNIST, MNIST, load_idx_dataset
from topokit.nn.datasets._mnist1d import load_mnist1d
from topokit.nn.datasets._split import DEFAULT_SPLIT_SEED, DEFAULT_TEST_SIZE

__all__ = ["datasets", "load_dataset"]

_DESCRIPTIONS = {
    "digits": "scikit-learn's 8x8 handwritten digits, 1797 images, 64 features (embedded)",
    "mnist1d": "MNIST-1D, 5000 1-D signals of 40 samples, generated offline (mnist1d package)",
    "mnist": "MNIST handwritten digits, 70000 28x28 images, 784 features (IDX files)",
    "fashion_mnist": "Fashion-MNIST clothing, 70000 28x28 images, 784 features (IDX files)",
    "cifar10": "CIFAR-10 colour images, 60000 32x32x3, 3072 features (python batches)",
}
_FILE_SUFFIXES = (".npz", ".csv")


def datasets() -> dict[str, str]:
    """The built-in data set names, each with a one-line description.

    Besides these, :func:`load_dataset` reads a path to a ``.npz`` or ``.csv`` file.

    Returns
    -------
    dict of str to str
        Name to description, in the order they are documented.

    Examples
    --------
    >>> from topokit.nn.datasets import datasets
    >>> list(datasets())
    ['digits', 'mnist1d', 'mnist', 'fashion_mnist', 'cifar10']
    """
    return dict(_DESCRIPTIONS)


def load_dataset(
    name="digits",
    *,
    data_dir=None,
    download=True,
    test_size=None,
    rng=None,
    scale=True,
    label_column=None,
    mirrors=None,
) -> Dataset:
    """Load a classification data set as float32 features and int64 labels, split in two.

    ========================  ==================================  ==========================
    name                      split                               features
    ========================  ==================================  ==========================
    ``digits`` (default)      stratified, 25 % test, seed 0       pixels / 16, in [0, 1]
    ``mnist1d``               the package's 4000 / 1000           standardized by generator
    ``mnist``                 official 60000 / 10000              pixels / 255, in [0, 1]
    ``fashion_mnist``         official 60000 / 10000              pixels / 255, in [0, 1]
    ``cifar10``               official 50000 / 10000              pixels / 255, in [0, 1]
    a ``.npz`` / ``.csv``     its X_test/y_test, else stratified  standardized per feature
    ========================  ==================================  ==========================

    ``digits`` ships with scikit-learn and ``mnist1d`` is generated offline by the
    optional ``mnist1d`` package (its default arguments). ``mnist``, ``fashion_mnist``
    and ``cifar10`` read their files from a data folder: ``data_dir`` if given (the files
    in it or in its ``<name>/`` subfolder), else ``$TOPOKIT_DATA/<name>/`` (or
    ``$TOPOKIT_DATA`` itself) when that variable is set, else the per-user cache
    ``~/.cache/topokit/<name>/`` (``$XDG_CACHE_HOME/topokit/<name>/``). Missing files are
    downloaded there (checked against their published MD5) when ``download`` is true and
    the network allows. ``mnist``/``fashion_mnist`` need the four IDX files
    ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
    ``t10k-labels-idx1-ubyte`` (each plain or ``.gz``); ``cifar10`` needs
    ``data_batch_1`` .. ``data_batch_5`` and ``test_batch`` (in ``cifar-10-batches-py/``
    or the folder itself).

    Your own data: a ``.npz`` holding arrays ``X`` of shape (n_samples, n_features) (more
    dimensions are flattened) and ``y`` of shape (n_samples,), and optionally ``X_test``
    and ``y_test``; or a ``.csv`` with one sample per row, the label in the column named
    by ``label_column`` (default: the column headed ``label``, else the last column).
    The first CSV row is a header when it has text where the second row has numbers.
    Labels may be integers or text; they are encoded as 0..k-1 in sorted order and
    ``classes`` keeps the originals.

    Parameters
    ----------
    name : str or os.PathLike, default "digits"
        A name from :func:`datasets` (case-insensitive, ``-`` for ``_`` allowed), or a
        path to a ``.npz`` or ``.csv`` file.
    data_dir : str or os.PathLike, optional
        The folder of a downloaded data set (``mnist``, ``fashion_mnist``, ``cifar10``);
        sources that need no files ignore it.
    download : bool, default True
        Whether missing files may be downloaded.
    test_size : float or int, optional
        The test share (a fraction in (0, 1), rounded up, or a count) of a split drawn
        here: ``digits`` and files without ``X_test``. Default 0.25. An error for data
        sets with a fixed split.
    rng : None, int, or numpy.random.Generator, optional
        Randomness of a split drawn here. None means the fixed seed 0, so the default
        split is the same in every run. Data sets with a fixed split ignore it.
    scale : bool, default True
        Scale the features as the table says; False gives the stored values as float32
        (``mnist1d`` is standardized by its generator either way).
    label_column : str or int, optional
        The label column of a ``.csv`` file, by header name or index.
    mirrors : sequence of str, optional
        Base URLs to download from, tried in order (default: the data set's public mirrors).

    Returns
    -------
    Dataset
        ``X_train``, ``y_train``, ``X_test``, ``y_test`` (float32 of shape
        (n, n_features); int64 of shape (n,) in 0..n_classes-1), ``name``,
        ``description``, ``classes``, ``n_features``, ``n_classes``.

    Raises
    ------
    TopokitError
        For an unknown name, missing files that cannot be downloaded (the message names
        the folder searched and the files expected), malformed files, non-numeric or
        non-finite features, labels that do not match X, an empty data set, a missing
        label column, or an option that does not apply.

    Examples
    --------
    >>> from topokit.nn.datasets import load_dataset
    >>> data = load_dataset("digits")
    >>> data
    Dataset('digits', X_train=(1347, 64), X_test=(450, 64), n_classes=10)
    >>> data.X_train.dtype, data.y_train.dtype, float(data.X_train.max())
    (dtype('float32'), dtype('int64'), 1.0)
    """
    if not isinstance(download, bool):
        raise TopokitError(f"download must be True or False, got {download!r}")
    if not isinstance(scale, bool):
        raise TopokitError(f"scale must be True or False, got {scale!r}")
    if mirrors is not None and (
        isinstance(mirrors, str) or not all(isinstance(url, str) for url in mirrors)
    ):
        raise TopokitError(f"mirrors must be a sequence of base URLs (str), got {mirrors!r}")
    split_rng = make_rng(DEFAULT_SPLIT_SEED if rng is None else rng)
    if _is_file_name(name):
        return load_file(
            name, label_column=label_column, test_size=test_size, rng=split_rng, scale=scale
        )
    key = _canonical(name)
    if label_column is not None:
        raise TopokitError(
            f"label_column applies only to .csv files, got label_column={label_column!r} "
            f"for the dataset {key!r}"
        )
    if key == "digits":
        size = DEFAULT_TEST_SIZE if test_size is None else test_size
        return load_digits(test_size=size, rng=split_rng, scale=scale)
    if test_size is not None:
        raise TopokitError(
            f"{key} has a fixed train/test split, so test_size must be left unset, got "
            f"test_size={test_size!r} (a split is drawn only for digits and your own files)"
        )
    if key == "mnist1d":
        return load_mnist1d()
    if key == "cifar10":
        return load_cifar10(data_dir=data_dir, download=download, mirrors=mirrors, scale=scale)
    source = MNIST if key == "mnist" else FASHION_MNIST
    return load_idx_dataset(
        source, data_dir=data_dir, download=download, mirrors=mirrors, scale=scale
    )


def _is_file_name(name) -> bool:
    if isinstance(name, os.PathLike):
        return True
    return isinstance(name, str) and name.lower().endswith(_FILE_SUFFIXES)


def _canonical(name) -> str:
    if not isinstance(name, str):
        raise TopokitError(
            f"name must be a dataset name or a path to a .npz/.csv file, got {name!r}"
        )
    key = name.strip().lower().replace("-", "_")
    if key in _DESCRIPTIONS:
        return key
    valid = ", ".join(_DESCRIPTIONS)
    hint = ""
    if os.path.isfile(name):
        hint = f"; the file {name!r} exists but only .npz and .csv files can be read"
    else:
        close = difflib.get_close_matches(key, list(_DESCRIPTIONS), n=1)
        if close:
            hint = f"; did you mean {close[0]!r}?"
    raise TopokitError(
        f"unknown dataset {name!r}; valid names are {valid}, or a path to a .npz or "
        f".csv file (X/y arrays, or rows with a label column){hint}"
    )
