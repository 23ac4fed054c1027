"""Edge-list text: ``u v`` per line after an optional ``# key: value`` header.

This module knows the text, not layers: the writer takes global neuron ids, the reader
returns the header's key/value pairs and the ``(n_edges, 2)`` array of ids.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from topokit._errors import TopokitError

__all__ = ["HEADER_LINE", "parse_edgelist", "write_edgelist_text"]

HEADER_LINE = (
    "# topokit edge list: one edge 'u v' per line; neurons are numbered consecutively "
    "across layers (layer 0 first)\n"
)
_CHUNK = 1 << 16  # edges formatted per write


def write_edgelist_text(file, *, layer_edges, header) -> None:
    """Write ``# key: value`` lines for ``header`` (unless None), then ``u v`` per edge.

    ``layer_edges`` yields ``(k, sources, targets)``: each weight layer's edges as arrays
    of global neuron ids.
    """
    if header is not None:
        file.write(HEADER_LINE)
        file.writelines(f"# {name}: {value}\n" for name, value in header.items())
    for _, sources, targets in layer_edges:
        for start in range(0, sources.size, _CHUNK):
            chunk = slice(start, start + _CHUNK)
            lines = map("{} {}\n".format, sources[chunk].tolist(), targets[chunk].tolist())
            file.write("".join(lines))


def _read_header(path) -> dict:
    """The ``# key: value`` lines at the top of the file, as a dict of stripped strings."""
    header = {}
    with open(path, encoding="utf-8") as file:
        for line in file:
            stripped = line.strip()
            if not stripped:
                continue
            if not stripped.startswith("#"):
                break
            name, colon, value = stripped[1:].partition(":")
            if colon and name.strip() and " " not in name.strip():
                header[name.strip()] = value.strip()
    return header


def parse_edgelist(path) -> tuple[dict, np.ndarray]:
    """The header and the ``(n_edges, 2)`` int64 array of neuron ids of an edge-list file.

    Lines starting with ``#`` and blank lines are skipped; columns after the first two
    (networkx's ``{}`` data, weights) are ignored.
    """
    try:
        header = _read_header(path)
    except UnicodeDecodeError as exc:
        raise TopokitError(f"cannot read {os.fspath(path)!r} as an edge list: {exc}") from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "input contained no data": no edges
        try:
            edges = np.loadtxt(
                path, dtype=np.int64, comments="#", usecols=(0, 1), ndmin=2, encoding="utf-8"
            )
        except (ValueError, OverflowError) as exc:
            raise TopokitError(
                f"cannot read {os.fspath(path)!r} as an edge list of integer neuron ids "
                f"('u v' per line): {exc}"
            ) from None
    return header, edges.reshape(-1, 2)
