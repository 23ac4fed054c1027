"""Files written whole or not at all: a new file beside the target, then ``os.replace``.

A model, layer, topology or weights file saved over an older one, or a study's report,
must never be left half-written: an interrupted save (Ctrl-C, a full disk, a crash)
would otherwise destroy the file it was replacing, such as the only checkpoint of a
long training. :func:`replacing` writes to a temporary file in the same folder (so that
the rename stays on one file system) and renames it over the target only once the
writing has finished; on any error, or an interrupt, it removes the temporary file and
the target is as it was.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

__all__ = ["replacing"]


@contextlib.contextmanager
def replacing(path, binary=True):
    """Open a new file that replaces ``path`` when the ``with`` block ends without error.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write (it may exist; it is replaced only at the end).
    binary : bool, default True
        A binary file; else a UTF-8 text file with ``"\\n"`` line ends.

    Yields
    ------
    file object
        The temporary file, named ``.<name>.<pid>.<hex>.part`` beside ``path``, created
        here (mode ``"x"``, so with the permissions the umask gives any new file).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
    >>> with replacing(path, binary=False) as file:
    ...     _ = file.write("kept")
    >>> try:
    ...     with replacing(path, binary=False) as file:
    ...         _ = file.write("half")
    ...         raise KeyboardInterrupt
    ... except KeyboardInterrupt:
    ...     pass
    >>> path.read_text(), sorted(p.name for p in path.parent.iterdir())
    ('kept', ['notes.txt'])
    >>> with replacing(path.parent / "missing" / "notes.txt") as file:
    ...     pass
    Traceback (most recent call last):
    ...
    FileNotFoundError: [Errno 2] No such file or directory: '.../missing/notes.txt'
    """
    path = Path(os.fspath(path))
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.part")
    options = {"mode": "xb"} if binary else {"mode": "x", "encoding": "utf-8", "newline": "\n"}
    try:
        file = open(temporary, **options)  # noqa: SIM115 (closed by the block below)
    except OSError as exc:  # name the file asked for, not the temporary one
        raise type(exc)(exc.errno, exc.strerror, os.fspath(path)) from None
    try:
        with file:
            yield file
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
