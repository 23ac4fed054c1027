"""One converter from values that hold numpy types to plain Python values.

Used wherever topokit writes values out: the provenance JSON of graph files
(:mod:`topokit.io`, :mod:`topokit.interop.graphs`), the ``--json`` output of the command
line, and the study store's SQLite columns.
"""

from __future__ import annotations

import json
import math

import numpy as np

from topokit._errors import TopokitError

__all__ = ["provenance_json", "to_plain"]

_NON_FINITE = ("null", "keep")


def to_plain(value, *, non_finite: str = "null"):
    """``value`` with numpy scalars and arrays made plain Python, recursively.

    Dicts become dicts with ``str`` keys, lists, tuples and arrays become lists,
    numpy scalars become the Python scalar (``np.int64`` to ``int``, ``np.float32`` to
    ``float``, ``np.bool_`` to ``bool``). Other values (``str``, ``int``, ``None``, and
    objects ``json`` cannot write) are returned unchanged.

    Parameters
    ----------
    value : object
        What to convert.
    non_finite : {"null", "keep"}, default "null"
        What becomes of NaN and ±inf floats: ``"null"`` makes them None (strict JSON,
        as the command line's ``--json`` prints), ``"keep"`` keeps them (Python's
        ``json`` writes ``NaN``/``Infinity``; SQLite stores inf and turns NaN into NULL).

    Returns
    -------
    object
        Built of dict, list, str, int, float, bool and None (plus any objects that
        were neither containers nor numpy values).

    Raises
    ------
    TopokitError
        If ``non_finite`` is not one of the two choices.

    Examples
    --------
    >>> import numpy as np
    >>> from topokit._plain import to_plain
    >>> to_plain({"sizes": np.array([4, 2]), 3: (np.float32(0.5), np.bool_(True))})
    {'sizes': [4, 2], '3': [0.5, True]}
    >>> to_plain([np.nan, np.inf, 1.0])
    [None, None, 1.0]
    >>> to_plain([np.nan, np.inf, 1.0], non_finite="keep")
    [nan, inf, 1.0]
    """
    if non_finite not in _NON_FINITE:
        raise TopokitError(f"non_finite must be 'null' or 'keep', got {non_finite!r}")
    return _plain(value, non_finite == "null")


def _plain(value, finite_only: bool):
    if isinstance(value, dict):
        return {str(key): _plain(item, finite_only) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item, finite_only) for item in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist(), finite_only)
    if isinstance(value, np.generic):
        value = value.item()
    if finite_only and isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def provenance_json(value) -> str:
    """A graph's provenance (its parameters or seed) as the JSON text graph files store.

    Numpy values are made plain by :func:`to_plain` (NaN and inf kept, written as
    ``NaN`` and ``Infinity``); objects JSON cannot write are stored as their ``repr``.

    Parameters
    ----------
    value : object
        A family's parameters (a dict) or a seed.

    Returns
    -------
    str

    Examples
    --------
    >>> import numpy as np
    >>> from topokit._plain import provenance_json
    >>> provenance_json({"q": np.int64(5), "radices": (2, 3), "p": np.float32(0.25)})
    '{"q": 5, "radices": [2, 3], "p": 0.25}'
    >>> import pathlib
    >>> print(provenance_json({"source": pathlib.PurePosixPath("a.npz"), "x": float("nan")}))
    {"source": "PurePosixPath('a.npz')", "x": NaN}
    """
    return json.dumps(to_plain(value, non_finite="keep"), default=repr)
