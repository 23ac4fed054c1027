"""Where a data set's files are looked for, and where downloads go.

The first of these that is given decides (the others are not searched):

1. ``data_dir``: the data set's own folder. Files are read from it, or from its
   ``<name>/`` subfolder; downloads go into it.
2. The environment variable ``TOPOKIT_DATA``: a root with one subfolder per data set.
   Files are read from ``$TOPOKIT_DATA/<name>/``, or from ``$TOPOKIT_DATA`` itself;
   downloads go into ``$TOPOKIT_DATA/<name>/``.
3. The per-user cache ``$XDG_CACHE_HOME/topokit/<name>/`` (``~/.cache/topokit/<name>/``
   when ``XDG_CACHE_HOME`` is unset): read from and downloaded into.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from topokit._errors import TopokitError

__all__ = ["ENV_VAR", "DataFolders", "cache_root", "data_folders"]

ENV_VAR = "TOPOKIT_DATA"


@dataclass(frozen=True)
class DataFolders:
    """The folders to search, in order, the folder to download into, and where they came from."""

    search: tuple[Path, ...]
    download: Path
    origin: str

    def describe(self) -> str:
        """The searched folders in words, for error messages."""
        return f"{', '.join(str(folder) for folder in self.search)} (from {self.origin})"


def cache_root() -> Path:
    """The per-user cache folder of topokit (``$XDG_CACHE_HOME/topokit``)."""
    base = os.environ.get("XDG_CACHE_HOME") or ""
    root = Path(base).expanduser() if base.strip() else Path.home() / ".cache"
    return root / "topokit"


def data_folders(name: str, data_dir=None) -> DataFolders:
    """The folders in which data set ``name`` is looked for, by the rules of this module."""
    if data_dir is not None:
        if not isinstance(data_dir, str | os.PathLike):
            raise TopokitError(f"data_dir must be a path (str or os.PathLike), got {data_dir!r}")
        folder = Path(data_dir).expanduser()
        if folder.exists() and not folder.is_dir():
            raise TopokitError(f"data_dir must be a folder, got the file {folder}")
        return DataFolders((folder, folder / name), folder, "data_dir")
    root = os.environ.get(ENV_VAR, "").strip()
    if root:
        root_path = Path(root).expanduser()
        return DataFolders((root_path / name, root_path), root_path / name, ENV_VAR)
    folder = cache_root() / name
    return DataFolders((folder,), folder, "the per-user cache")
