"""Reading and writing layer graphs and topologies as ``.npz`` files.

A layer file is exactly what ``scipy.sparse.save_npz`` writes for the CSR
biadjacency (so ``scipy.sparse.load_npz`` reads it), plus optional keys
``topokit_family``, ``topokit_params`` (JSON) and ``topokit_seed``.

A topology file holds ``topokit_sizes`` and, for each layer ``k``, the CSR arrays
``layer{k}_indices`` and ``layer{k}_indptr``, plus the same provenance keys per layer.
"""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np
import scipy.sparse as sp

from topokit._errors import TopokitError
from topokit.graph import LayerGraph

__all__ = ["load", "load_layer", "load_topology", "save_layer", "save_topology"]


def _provenance(graph: LayerGraph, prefix: str) -> dict:
    out = {}
    if graph.family is not None:
        out[f"{prefix}family"] = np.array(graph.family)
    if graph.params:
        out[f"{prefix}params"] = np.array(json.dumps(graph.params, default=_jsonable))
    if graph.seed is not None:
        out[f"{prefix}seed"] = np.array(json.dumps(graph.seed, default=_jsonable))
    return out


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return repr(value)


def _read_provenance(arrays, prefix: str) -> dict:
    family = str(arrays[f"{prefix}family"]) if f"{prefix}family" in arrays else None
    params = json.loads(str(arrays[f"{prefix}params"])) if f"{prefix}params" in arrays else {}
    seed = json.loads(str(arrays[f"{prefix}seed"])) if f"{prefix}seed" in arrays else None
    return {"family": family, "params": params, "seed": seed}


def _check_suffix(path) -> str:
    path = os.fspath(path)
    if not path.endswith(".npz"):
        raise TopokitError(f"graph files must end in .npz, got {path!r}")
    return path


def save_layer(graph: LayerGraph, path) -> None:
    """Write one layer graph to ``path`` (``.npz``).

    Parameters
    ----------
    graph : LayerGraph
    path : str or os.PathLike
        Destination; must end in ``.npz``.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, scipy.sparse as sp
    >>> from topokit import LayerGraph, save_layer
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "layer.npz"
    >>> save_layer(LayerGraph(np.eye(3)), path)
    >>> sp.load_npz(path).shape
    (3, 3)
    """
    path = _check_suffix(path)
    csr = graph.biadjacency
    arrays = {
        "format": np.array(b"csr"),
        "shape": np.array(csr.shape),
        "data": csr.data,
        "indices": csr.indices,
        "indptr": csr.indptr,
        "_is_array": np.array(True),
        **_provenance(graph, "topokit_"),
    }
    np.savez_compressed(path, **arrays)


def save_topology(topology, path) -> None:
    """Write a :class:`~topokit.Topology` to ``path`` (``.npz``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from topokit import Topology, load_topology, save_topology
    >>> top = Topology.build([4, 3, 2], "dense")
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "net.npz"
    >>> save_topology(top, path)
    >>> load_topology(path).sizes
    [4, 3, 2]
    """
    path = _check_suffix(path)
    arrays = {"topokit_sizes": np.array(topology.sizes, dtype=np.int64)}
    for k, layer in enumerate(topology.layers):
        arrays[f"layer{k}_indices"] = layer.biadjacency.indices
        arrays[f"layer{k}_indptr"] = layer.biadjacency.indptr
        arrays.update(_provenance(layer, f"layer{k}_"))
    np.savez_compressed(path, **arrays)


def _open(path):
    path = os.fspath(path)
    if not os.path.exists(path):
        raise TopokitError(f"graph file {path!r} does not exist")
    try:
        arrays = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise TopokitError(f"cannot read {path!r} as an .npz file: {exc}") from exc
    if not isinstance(arrays, np.lib.npyio.NpzFile):
        raise TopokitError(f"{path!r} is not an .npz archive (it holds a single array)")
    return arrays


def _csr(n_in, n_out, indices, indptr, where) -> sp.csr_array:
    try:
        matrix = sp.csr_array(
            (np.ones(len(indices)), np.asarray(indices), np.asarray(indptr)), shape=(n_in, n_out)
        )
        matrix.check_format(full_check=True)
    except (ValueError, TypeError, IndexError) as exc:
        raise TopokitError(f"{where} is not a valid CSR biadjacency: {exc}") from exc
    return matrix


def load_layer(path) -> LayerGraph:
    """Read one layer graph from a ``.npz`` written by :func:`save_layer` or ``save_npz``.

    Raises
    ------
    TopokitError
        If the file is missing, not an ``.npz``, or not a valid binary biadjacency.
    """
    with _open(path) as arrays:
        if "topokit_sizes" in arrays:
            raise TopokitError(
                f"{os.fspath(path)!r} holds a whole topology; use load_topology (or load)"
            )
        if "format" not in arrays or "shape" not in arrays:
            raise TopokitError(
                f"{os.fspath(path)!r} is not a scipy.sparse .npz (keys 'format' and 'shape' "
                f"missing; found {sorted(arrays.files)})"
            )
        try:
            matrix = sp.load_npz(path)
        except (ValueError, KeyError, TypeError) as exc:
            raise TopokitError(
                f"cannot read {os.fspath(path)!r} as a sparse matrix: {exc}"
            ) from exc
        provenance = _read_provenance(arrays, "topokit_")
    try:
        matrix = sp.csr_array(matrix)
        matrix.check_format(full_check=True)
    except (ValueError, TypeError, IndexError) as exc:
        raise TopokitError(f"{os.fspath(path)!r} is not a valid sparse matrix: {exc}") from exc
    return LayerGraph(matrix, **provenance)


def load_topology(path):
    """Read a :class:`~topokit.Topology` written by :func:`save_topology`.

    A single-layer file is read as a one-layer topology.
    """
    from topokit.topology import Topology

    with _open(path) as arrays:
        if "topokit_sizes" not in arrays:
            return Topology([load_layer(path)])
        sizes = [int(n) for n in arrays["topokit_sizes"]]
        layers = []
        for k in range(len(sizes) - 1):
            where = f"layer {k} of {os.fspath(path)!r}"
            if f"layer{k}_indices" not in arrays or f"layer{k}_indptr" not in arrays:
                raise TopokitError(f"{where} is missing (file has sizes {sizes})")
            matrix = _csr(
                sizes[k],
                sizes[k + 1],
                arrays[f"layer{k}_indices"],
                arrays[f"layer{k}_indptr"],
                where,
            )
            layers.append(LayerGraph(matrix, **_read_provenance(arrays, f"layer{k}_")))
    return Topology(layers)


def load(path):
    """Read a ``.npz`` file as a LayerGraph (one layer) or a Topology (several)."""
    with _open(path) as arrays:
        is_topology = "topokit_sizes" in arrays
    return load_topology(path) if is_topology else load_layer(path)
