"""The ``.npz`` layout of graph files, below the classes that save and load them.

A layer file is exactly what ``scipy.sparse.save_npz`` writes for the CSR
biadjacency (so ``scipy.sparse.load_npz`` reads it), plus optional keys
``topokit_family``, ``topokit_params`` (JSON) and ``topokit_seed`` (JSON).

A topology file holds ``topokit_sizes`` and, for each layer ``k``, the CSR arrays
``layer{k}_indices`` and ``layer{k}_indptr``, plus the same provenance keys per layer
(``layer{k}_family``, ...).

The writers take any object with a layer's attributes (``biadjacency``, ``family``,
``params``, ``seed``; a topology's ``sizes`` and ``layers``) and the readers return CSR
arrays with their provenance, so that :mod:`topokit.graph` and :mod:`topokit.topology`
build on this module without importing back; :mod:`topokit.io` sits above them all.
"""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np
import scipy.sparse as sp

from topokit._atomic import replacing
from topokit._errors import TopokitError
from topokit._plain import provenance_json

__all__ = [
    "SPARSE_INDEX_PARTS",
    "is_topology_file",
    "open_npz",
    "read_layer",
    "read_sparse_matrix",
    "read_sparse_pattern",
    "read_topology",
    "topology_arrays",
    "write_layer",
    "write_topology",
]


def _provenance(graph, prefix: str) -> dict:
    out = {}
    if graph.family is not None:
        out[f"{prefix}family"] = np.array(graph.family)
    if graph.params:
        out[f"{prefix}params"] = np.array(provenance_json(graph.params))
    if graph.seed is not None:
        out[f"{prefix}seed"] = np.array(provenance_json(graph.seed))
    return out


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


def open_npz(
    path, *, what="graph file", single_array="is not an .npz archive (it holds a single array)"
):
    """Open an ``.npz`` archive, or raise a TopokitError that says what is wrong with the file.

    ``what`` names the file in the message for a missing file ("graph file", "weights
    file"); ``single_array`` ends the message for a ``.npy``-style file of one array.
    Returns the open :class:`numpy.lib.npyio.NpzFile` (a context manager).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise TopokitError(f"{what} {path!r} does not exist")
    try:
        arrays = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise TopokitError(f"cannot read {path!r} as an .npz file: {exc}") from exc
    if not isinstance(arrays, np.lib.npyio.NpzFile):
        raise TopokitError(f"{path!r} {single_array}")
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


def write_layer(graph, path) -> None:
    """Write one layer (a LayerGraph) to ``path``, which must end in ``.npz``."""
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
    with replacing(path) as file:  # whole or not at all
        np.savez_compressed(file, **arrays)


def topology_arrays(topology) -> dict:
    """The arrays of a topology file for ``topology``: name -> array, for ``np.savez``.

    A file that holds them (and more, such as a saved SparseMLP's weights) reads as a
    topology file.
    """
    arrays = {"topokit_sizes": np.array(topology.sizes, dtype=np.int64)}
    for k, layer in enumerate(topology.layers):
        arrays[f"layer{k}_indices"] = layer.biadjacency.indices
        arrays[f"layer{k}_indptr"] = layer.biadjacency.indptr
        arrays.update(_provenance(layer, f"layer{k}_"))
    return arrays


def write_topology(topology, path) -> None:
    """Write a topology (a Topology) to ``path``, which must end in ``.npz``."""
    path = _check_suffix(path)
    with replacing(path) as file:  # whole or not at all
        np.savez_compressed(file, **topology_arrays(topology))


# The index arrays that scipy.sparse.save_npz writes beside format, shape and data.
SPARSE_INDEX_PARTS = {
    "csr": ("indices", "indptr"),
    "csc": ("indices", "indptr"),
    "bsr": ("indices", "indptr"),
    "coo": ("row", "col"),
    "dia": ("offsets",),
}
_SPARSE_CLASSES = {
    "csr": sp.csr_array,
    "csc": sp.csc_array,
    "bsr": sp.bsr_array,
    "dia": sp.dia_array,
}


def _sparse_matrix(form: str, data, index: list, shape: tuple):
    """The scipy.sparse array of format ``form`` from its data and index arrays."""
    if form == "coo":
        return sp.coo_array((data, tuple(index)), shape=shape)
    return _SPARSE_CLASSES[form]((data, *index), shape=shape)


def read_sparse_matrix(arrays, prefix: str, where: str) -> sp.csr_array:
    """A sparse matrix stored as ``scipy.sparse.save_npz`` stores one, as CSR with its values.

    ``arrays`` is an open archive; the matrix is under ``{prefix}format``,
    ``{prefix}shape``, ``{prefix}data`` and its format's index arrays
    (:data:`SPARSE_INDEX_PARTS`; CSR without ``format`` for older weight files). Any
    format and dtype; duplicates are summed, explicitly stored zeros kept. Without
    ``data`` every stored entry is 1. ``where`` names the matrix in errors.
    """
    files = set(arrays.files)
    form = arrays[f"{prefix}format"].item() if f"{prefix}format" in files else "csr"
    form = form.decode() if isinstance(form, bytes) else str(form)
    if form not in SPARSE_INDEX_PARTS:
        raise TopokitError(
            f"{where} has the sparse format {form!r}; the formats read are "
            f"{', '.join(SPARSE_INDEX_PARTS)}"
        )
    names = SPARSE_INDEX_PARTS[form]
    missing = [f"{prefix}{name}" for name in ("shape", *names) if f"{prefix}{name}" not in files]
    if missing:
        raise TopokitError(f"{where} ({form.upper()}) lacks the arrays {missing}")
    index = [arrays[f"{prefix}{name}"] for name in names]
    data = arrays[f"{prefix}data"] if f"{prefix}data" in files else np.ones(index[0].shape[0])
    try:
        shape = tuple(int(n) for n in arrays[f"{prefix}shape"])
        csr = sp.csr_array(_sparse_matrix(form, data, index, shape))
        csr.check_format(full_check=True)
        csr.sum_duplicates()
    except (ValueError, TypeError, IndexError) as exc:
        raise TopokitError(f"{where} is not a valid {form.upper()} matrix: {exc}") from exc
    return csr


def read_sparse_pattern(arrays, prefix: str, where: str) -> sp.csr_array:
    """The nonzero pattern of a sparse matrix stored as ``scipy.sparse.save_npz`` does.

    Read by :func:`read_sparse_matrix` (any format and dtype, duplicates summed first);
    an entry is an edge when its value is nonzero (NaN is nonzero), so an explicitly
    stored zero is not an edge. Returns a binary CSR array (float64 ones); ``where``
    names the matrix in errors.
    """
    csr = read_sparse_matrix(arrays, prefix, where)
    pattern = sp.csr_array(
        ((csr.data != 0).astype(np.float64), csr.indices, csr.indptr), shape=csr.shape
    )
    pattern.eliminate_zeros()
    return pattern


def read_layer(path) -> tuple[sp.csr_array, dict]:
    """The biadjacency of a layer file and its provenance (``family``, ``params``, ``seed``).

    A layer file is any ``scipy.sparse.save_npz`` file: the biadjacency is the nonzero
    pattern of its matrix (:func:`read_sparse_pattern`), whatever its format and dtype.
    TopokitError if the file is missing, not an ``.npz``, a topology file, or not a
    valid sparse matrix.
    """
    with open_npz(path) as arrays:
        if "topokit_sizes" in arrays:
            raise TopokitError(
                f"{os.fspath(path)!r} holds a whole topology; use load_topology (or load)"
            )
        if "format" not in arrays or "shape" not in arrays:
            raise TopokitError(
                f"{os.fspath(path)!r} is not a scipy.sparse .npz (keys 'format' and 'shape' "
                f"missing; found {sorted(arrays.files)})"
            )
        matrix = read_sparse_pattern(arrays, "", f"the sparse matrix in {os.fspath(path)!r}")
        provenance = _read_provenance(arrays, "topokit_")
    return matrix, provenance


def read_topology(path) -> list[tuple[sp.csr_array, dict]]:
    """The biadjacency and provenance of each layer of a topology file, in order.

    A layer file gives one layer (see :func:`read_layer`).
    """
    with open_npz(path) as arrays:
        if "topokit_sizes" not in arrays:
            return [read_layer(path)]
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
            layers.append((matrix, _read_provenance(arrays, f"layer{k}_")))
    return layers


def is_topology_file(path) -> bool:
    """Whether the graph file ``path`` holds a whole topology (else one layer)."""
    with open_npz(path) as arrays:
        return "topokit_sizes" in arrays
