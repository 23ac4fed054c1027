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
import stat
from pathlib import Path

__all__ = ["replacing"]


@contextlib.contextmanager
def replacing(path, binary=True):
    """Open a new file that replaces ``path`` when the ``with`` block ends without error.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write (it may exist; it is replaced only at the end). A symbolic
        link is followed: the file it points to is the one replaced.
    binary : bool, default True
        A binary file; else a UTF-8 text file with ``"\\n"`` line ends.

    Yields
    ------
    file object
        The temporary file, named ``.<name>.<pid>.<hex>.part`` beside the target,
        created here (mode ``"x"``) with the permission bits of the file it replaces,
        or those the umask gives a new file.

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
    if path.is_symlink():  # replace what the link points to, as writing in place would
        path = Path(os.path.realpath(path))
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:  # no file yet (or none that can be read): the umask's permissions
        mode = None
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.part")
    options = {"mode": "xb"} if binary else {"mode": "x", "encoding": "utf-8", "newline": "\n"}
    try:
        file = open(temporary, **options)  # noqa: SIM115 (closed by the block below)
    except OSError as exc:  # name the file asked for, not the temporary one
        raise type(exc)(exc.errno, exc.strerror, os.fspath(path)) from None
    try:
        with file:
            yield file
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
