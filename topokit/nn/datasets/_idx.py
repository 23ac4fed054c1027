"""A reader for IDX files (the format of MNIST and Fashion-MNIST), gzip-compressed or not.

An IDX file is a 4-byte magic number — two zero bytes, a data-type code, the number of
dimensions — then one big-endian uint32 per dimension, then the values in C order,
big-endian.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from topokit._errors import TopokitError

__all__ = ["read_bytes", "read_idx"]

_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


def read_bytes(path: Path) -> bytes:
    """The contents of ``path``, decompressed when it is gzip (told by its first bytes)."""
    data = Path(path).read_bytes()
    if data[:2] != _GZIP_MAGIC:
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise TopokitError(f"{path}: corrupt or truncated gzip data ({exc})") from exc


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file into an array of its shape, in native byte order.

    Raises
    ------
    TopokitError
        If the magic number or type code is wrong, or the data are shorter or longer
        than the header says.
    """
    data = read_bytes(path)
    if len(data) < 4:
        raise TopokitError(f"{path}: truncated IDX file: {len(data)} bytes, no complete header")
    if data[0] != 0 or data[1] != 0:
        raise TopokitError(
            f"{path}: not an IDX file: magic number 0x{data[:4].hex()} does not start with 0000"
        )
    code, ndim = data[2], data[3]
    if code not in _DTYPES:
        raise TopokitError(
            f"{path}: unknown IDX data type code 0x{code:02x} "
            f"(known: {', '.join(f'0x{c:02x}' for c in _DTYPES)})"
        )
    if ndim == 0:
        raise TopokitError(f"{path}: IDX header gives 0 dimensions")
    header_bytes = 4 + 4 * ndim
    if len(data) < header_bytes:
        raise TopokitError(
            f"{path}: truncated IDX file: header needs {header_bytes} bytes, file has {len(data)}"
        )
    shape = struct.unpack(f">{ndim}I", data[4:header_bytes])
    dtype = _DTYPES[code]
    count = math.prod(shape)
    expected = count * dtype.itemsize
    found = len(data) - header_bytes
    if found < expected:
        raise TopokitError(
            f"{path}: truncated IDX file: shape {shape} needs {expected} bytes of data, "
            f"found {found}"
        )
    if found > expected:
        raise TopokitError(
            f"{path}: IDX file has {found - expected} bytes after the data of shape {shape}"
        )
    values = np.frombuffer(data, dtype=dtype, count=count, offset=header_bytes)
    return values.reshape(shape).astype(dtype.newbyteorder("="), copy=False)
