"""topokit._plain: the one converter to plain Python, against what each writer produced.

The references below are the three converters it replaced (the command line's
``--json``, graph-file provenance and the study store's SQLite values), kept here as
oracles: the output of every writer must stay what it was.
"""

import json
import math
import pathlib
import sqlite3

import numpy as np
import pytest

from topokit._errors import TopokitError
from topokit._plain import provenance_json, to_plain


def cli_reference(value):
    if isinstance(value, dict):
        return {str(key): cli_reference(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [cli_reference(item) for item in value]
    if isinstance(value, np.ndarray):
        return cli_reference(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def provenance_reference(value):
    def default(item):
        if isinstance(item, np.generic):
            return item.item()
        if isinstance(item, np.ndarray):
            return item.tolist()
        return repr(item)

    return json.dumps(value, default=default)


def store_reference(value):
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    value = float(value)
    return None if math.isnan(value) else value


NESTED = {
    "n_edges": np.int64(592),
    "density": np.float32(0.25),
    "is_biregular": np.bool_(True),
    "sizes": np.array([64, 32, 10]),
    "lambdas": (np.float64(4.5), 2.0),
    "gaps": np.array([1.5, np.nan, np.inf]),
    "fiedler_value": float("nan"),
    "net_lambda2": -np.inf,
    "layers": [{"lambda1": np.float64(3.0)}, {}],
    "name": "erdos_renyi",
    "seed": None,
    7: "int key",
}


def test_to_plain_matches_the_command_line_json():
    assert to_plain(NESTED) == cli_reference(NESTED)
    text = json.dumps(to_plain(NESTED), indent=2, allow_nan=False)
    assert text == json.dumps(cli_reference(NESTED), indent=2, allow_nan=False)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (np.int64(3), 3),
        (np.float32(0.5), 0.5),
        (np.bool_(False), False),
        (np.array([[1, 2], [3, 4]]), [[1, 2], [3, 4]]),
        ((1, (2, 3)), [1, [2, 3]]),
        ({1: np.int8(2)}, {"1": 2}),
        (float("nan"), None),
        (np.float64(-np.inf), None),
        ("text", "text"),
        (None, None),
    ],
    ids=["int64", "float32", "bool_", "array-2d", "nested-tuple", "int-key", "nan", "-inf",
         "str", "none"],
)  # fmt: skip
def test_to_plain_values(value, expected):
    result = to_plain(value)
    assert result == expected
    assert type(result) is type(expected)


def test_to_plain_leaves_other_objects_alone():
    path = pathlib.Path("a.npz")
    assert to_plain({"path": path})["path"] is path


def test_to_plain_keeps_non_finite_when_asked():
    result = to_plain([np.float32("nan"), np.inf, -np.inf], non_finite="keep")
    assert math.isnan(result[0])
    assert result[1:] == [math.inf, -math.inf]
    assert all(type(item) is float for item in result)


def test_to_plain_rejects_unknown_non_finite():
    with pytest.raises(TopokitError, match=r"non_finite must be 'null' or 'keep', got 'drop'"):
        to_plain(1.0, non_finite="drop")


@pytest.mark.parametrize(
    "value",
    [
        {"p": 0.1, "q": np.int64(5), "radices": (2, 3), "mask": np.array([1, 0])},
        {"x": np.float32(0.25), "nested": {"y": [np.bool_(True), None]}},
        {"weird": float("nan"), "big": float("inf")},
        {"path": pathlib.PurePosixPath("a.npz"), "things": {1, 2}},
        np.int64(7),
        2**70,
        [1, 2, 3],
    ],
    ids=["family-params", "nested-numpy", "non-finite", "repr-fallback", "np-seed", "big-seed",
         "list-seed"],
)  # fmt: skip
def test_provenance_json_matches_the_graph_files(value):
    assert provenance_json(value) == provenance_reference(value)


@pytest.mark.parametrize(
    "value",
    [None, 3, np.int64(3), 0.5, np.float32(0.5), True, np.bool_(False), float("nan"),
     np.float64("nan"), math.inf, -math.inf],
    ids=["none", "int", "int64", "float", "float32", "bool", "bool_", "nan", "nan64", "inf",
         "-inf"],
)  # fmt: skip
def test_store_values_are_what_sqlite_stored_before(value):
    """What SQLite holds after the insert, read back, equals the old converter's."""
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE t (value REAL, free)")
    for converted in (to_plain(value, non_finite="keep"), store_reference(value)):
        connection.execute("INSERT INTO t VALUES (?, ?)", (converted, converted))
    (new_real, new_free), (old_real, old_free) = connection.execute(
        "SELECT value, free FROM t"
    ).fetchall()
    assert (new_real, new_free) == (old_real, old_free)
    assert type(new_free) is type(old_free)
