"""Your own data: a ``.npz`` with X/y arrays, or a ``.csv`` with a label column."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from topokit._errors import TopokitError
from topokit.nn.datasets._dataset import (
    Dataset,
    check_features,
    check_labels,
    encode_labels,
    standardize,
    to_float32,
)
from topokit.nn.datasets._split import DEFAULT_TEST_SIZE, n_test_samples, stratified_split

__all__ = ["load_file"]

DEFAULT_LABEL_COLUMN = "label"


def load_file(path, *, label_column=None, test_size=None, rng=None, scale=True) -> Dataset:
    """Load a ``.npz`` or ``.csv`` file as a :class:`Dataset` (see ``load_dataset``)."""
    path = Path(path).expanduser()
    suffix = path.suffix.lower()
    if suffix not in (".npz", ".csv"):
        raise TopokitError(
            f"a data file must end in .npz or .csv, got {str(path)!r} (suffix {suffix!r})"
        )
    if not path.is_file():
        raise TopokitError(f"no such data file: {path}")
    if suffix == ".npz":
        if label_column is not None:
            raise TopokitError(
                f"label_column applies only to .csv files, got label_column={label_column!r} "
                f"for {path.name}"
            )
        X, y, X_test, y_test = _read_npz(path)
        source = "X, y arrays"
    else:
        X, y = _read_csv(path, label_column)
        X_test = y_test = None
        source = "CSV rows"
    X = check_features(X, "X")
    y = check_labels(y, X.shape[0], "y")
    if X_test is not None:
        if test_size is not None:
            raise TopokitError(
                f"{path.name} has its own test set (X_test, y_test), so test_size must be left "
                f"unset, got test_size={test_size!r}"
            )
        X_test = check_features(X_test, "X_test")
        y_test = check_labels(y_test, X_test.shape[0], "y_test")
        if X_test.shape[1] != X.shape[1]:
            raise TopokitError(
                f"X_test must have the {X.shape[1]} features of X, got {X_test.shape[1]}"
            )
        split = "the file's own test set"
    else:
        n_test = n_test_samples(DEFAULT_TEST_SIZE if test_size is None else test_size, len(y))
        train, test = stratified_split(y, n_test, rng)
        X, X_test, y, y_test = X[train], X[test], y[train], y[test]
        split = "a stratified split"
    y, y_test, classes = encode_labels(y, y_test)
    if scale:
        X, X_test = standardize(X, X_test)
        scaling = "each feature standardized by the training mean and standard deviation"
    else:
        scaling = "features as stored"
    description = (
        f"your data from {path} ({source}): {X.shape[1]} features, {scaling}; "
        f"{split}, {len(y)} train / {len(y_test)} test; {len(classes)} classes."
    )
    return Dataset(
        to_float32(X),
        y,
        to_float32(X_test),
        y_test,
        name=path.name,
        description=description,
        classes=classes,
    )


def _read_npz(path: Path):
    with path.open("rb") as stream:
        magic = stream.read(4)
    if magic[:2] != b"PK":
        raise TopokitError(
            f"{path}: not a readable .npz file (it does not start like a zip archive; "
            "write it with numpy.savez)"
        )
    try:
        with path.open("rb") as stream, np.load(stream, allow_pickle=False) as archive:
            keys = set(archive.files)
            arrays = {key: archive[key] for key in keys}
    except ValueError as exc:
        if "allow_pickle" not in str(exc):
            raise TopokitError(f"{path}: not a readable .npz file ({exc})") from exc
        raise TopokitError(
            f"{path}: cannot read the arrays ({exc}); store numbers or text, not Python objects"
        ) from exc
    except Exception as exc:  # any failure to decode these bytes means a broken file
        raise TopokitError(f"{path}: not a readable .npz file ({exc})") from exc
    X_key = "X" if "X" in keys else "X_train"
    y_key = "y" if "y" in keys else "y_train"
    missing = [key for key in (X_key, y_key) if key not in keys]
    if missing:
        raise TopokitError(
            f"{path}: a data .npz needs the arrays X and y (optionally X_test and y_test), "
            f"found {sorted(keys)}"
        )
    if ("X_test" in keys) != ("y_test" in keys):
        raise TopokitError(f"{path}: give both X_test and y_test or neither, found {sorted(keys)}")
    return arrays[X_key], arrays[y_key], arrays.get("X_test"), arrays.get("y_test")


def _is_number(cells: np.ndarray) -> np.ndarray:
    out = np.empty(cells.shape, dtype=bool)
    for index, cell in np.ndenumerate(cells):
        try:
            float(cell)
        except ValueError:
            out[index] = False
        else:
            out[index] = True
    return out


def _read_csv(path: Path, label_column):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # numpy warns on an empty file
            cells = np.loadtxt(
                path,
                delimiter=",",
                dtype=str,
                comments=None,
                quotechar='"',
                ndmin=2,
                encoding="utf-8",
            )
    except (ValueError, UnicodeDecodeError) as exc:
        raise TopokitError(f"{path}: cannot read as CSV ({exc})") from exc
    if cells.size == 0:
        raise TopokitError(f"{path}: the file is empty")
    cells = np.char.strip(cells)
    # The first row is a header when it has text where the second row has numbers.
    has_header = len(cells) == 1 or bool((~_is_number(cells[0]) & _is_number(cells[1])).any())
    header = [str(name) for name in cells[0]] if has_header else None
    rows = cells[1:] if has_header else cells
    if len(rows) == 0:
        raise TopokitError(f"{path}: the file has a header but no data rows")
    column = _label_index(path, header, cells.shape[1], label_column)
    names = header or [f"column {i}" for i in range(cells.shape[1])]
    label_cells = rows[:, column]
    feature_columns = [i for i in range(cells.shape[1]) if i != column]
    feature_cells = rows[:, feature_columns]
    try:
        X = feature_cells.astype(np.float64)
    except ValueError:
        bad = np.argwhere(~_is_number(feature_cells))[0]
        value = str(feature_cells[bad[0], bad[1]])
        raise TopokitError(
            f"{path}: features must be numbers, got {value!r} in column "
            f"{names[feature_columns[bad[1]]]!r} at line {bad[0] + 1 + has_header}"
        ) from None
    empty = np.flatnonzero(label_cells == "")
    if empty.size:
        raise TopokitError(
            f"{path}: missing label in column {names[column]!r} at line {empty[0] + 1 + has_header}"
        )
    # Labels that all read as numbers are numbers (then they must be integers); else text.
    y = label_cells.astype(np.float64) if _is_number(label_cells).all() else label_cells
    return X, y


def _label_index(path: Path, header, n_columns: int, label_column) -> int:
    if n_columns < 2:
        raise TopokitError(
            f"{path}: a data CSV needs at least one feature column and a label column, "
            f"found {n_columns} column"
        )
    if label_column is None:
        if header is not None and DEFAULT_LABEL_COLUMN in header:
            return header.index(DEFAULT_LABEL_COLUMN)
        return n_columns - 1
    if isinstance(label_column, bool) or not isinstance(label_column, str | int):
        raise TopokitError(f"label_column must be a column name or index, got {label_column!r}")
    if isinstance(label_column, int):
        if not -n_columns <= label_column < n_columns:
            raise TopokitError(
                f"label_column must be an index in [{-n_columns}, {n_columns - 1}], "
                f"got {label_column}"
            )
        return label_column % n_columns
    if header is None:
        raise TopokitError(
            f"label_column={label_column!r} names a column, but {path.name} has no header row; "
            "give the column's index instead"
        )
    if label_column not in header:
        raise TopokitError(
            f"label_column {label_column!r} is not a column of {path.name}; "
            f"its columns are {', '.join(header)}"
        )
    return header.index(label_column)
