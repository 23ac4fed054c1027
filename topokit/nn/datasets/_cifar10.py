"""CIFAR-10 from its python-pickle batches, downloaded (and extracted safely) where allowed.

The batches are unpickled with an allow-list that admits only what numpy arrays and
plain containers need, so a crafted file cannot run code.
"""

from __future__ import annotations

import codecs
import pickle
import tarfile
from pathlib import Path

import numpy as np

from topokit._atomic import replacing
from topokit._errors import TopokitError
from topokit.nn.datasets._cache import data_folders
from topokit.nn.datasets._dataset import Dataset
from topokit.nn.datasets._download import DownloadError, fetch

__all__ = ["ARCHIVE", "ARCHIVE_MD5", "BATCH_FOLDER", "CLASSES", "MIRRORS", "load_cifar10"]

MIRRORS = ("https://www.cs.toronto.edu/~kriz/",)
ARCHIVE = "cifar-10-python.tar.gz"
ARCHIVE_MD5 = "c58f30108f718f92721af3b95e74349a"
BATCH_FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
N_FEATURES = 3 * 32 * 32
CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)

_zeros = np.zeros(1)
_ALLOWED = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): codecs.encode,
    ("builtins", "bytearray"): bytearray,
}
for _module in ("numpy.core.multiarray", "numpy._core.multiarray"):
    _ALLOWED[(_module, "_reconstruct")] = _zeros.__reduce__()[0]
    _ALLOWED[(_module, "scalar")] = np.float64(0).__reduce__()[0]
for _module in ("numpy.core.numeric", "numpy._core.numeric"):
    _ALLOWED[(_module, "_frombuffer")] = _zeros.__reduce_ex__(5)[0]


class _BatchUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: a CIFAR batch holds only arrays and lists"
            ) from None


def _read_batch(path: Path):
    try:
        with path.open("rb") as stream:
            batch = _BatchUnpickler(stream, encoding="bytes").load()
    except Exception as exc:  # any failure to unpickle these bytes means a corrupt batch
        raise TopokitError(f"{path}: not a CIFAR-10 python batch ({exc})") from exc
    if not isinstance(batch, dict):
        raise TopokitError(f"{path}: not a CIFAR-10 python batch (a {type(batch).__name__})")
    data = batch.get(b"data", batch.get("data"))
    labels = batch.get(b"labels", batch.get("labels"))
    if data is None or labels is None:
        raise TopokitError(f"{path}: a CIFAR-10 batch needs the keys b'data' and b'labels'")
    data, labels = np.asarray(data), np.asarray(labels)
    if data.ndim != 2 or data.shape[1] != N_FEATURES or data.dtype != np.uint8:
        raise TopokitError(
            f"{path}: b'data' must be uint8 of shape (n, {N_FEATURES}), "
            f"got {data.dtype} of shape {data.shape}"
        )
    if labels.shape != (data.shape[0],) or labels.dtype.kind not in "iu":
        raise TopokitError(
            f"{path}: b'labels' must be {data.shape[0]} integers (one per image), "
            f"got {labels.dtype} of shape {labels.shape}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= len(CLASSES)):
        raise TopokitError(
            f"{path}: labels must be in 0..{len(CLASSES) - 1}, "
            f"got values in {int(labels.min())}..{int(labels.max())}"
        )
    return data, labels.astype(np.int64)


def _batch_folder(folder: Path) -> Path | None:
    for candidate in (folder / BATCH_FOLDER, folder):
        if all((candidate / name).is_file() for name in (*TRAIN_BATCHES, TEST_BATCH)):
            return candidate
    return None


def _extract(archive: Path, folder: Path) -> Path:
    """Extract only the expected batch files, by exact name, as regular files."""
    wanted = {f"{BATCH_FOLDER}/{name}" for name in (*TRAIN_BATCHES, TEST_BATCH, "batches.meta")}
    target = folder / BATCH_FOLDER
    try:
        target.mkdir(parents=True, exist_ok=True)
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                if member.name not in wanted or not member.isfile():
                    continue
                source = tar.extractfile(member)
                with replacing(target / Path(member.name).name) as out:
                    while chunk := source.read(1 << 20):
                        out.write(chunk)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise TopokitError(f"{archive}: cannot extract the CIFAR-10 archive ({exc})") from exc
    return target


def _find_batches(data_dir, download: bool, mirrors) -> Path:
    folders = data_folders("cifar10", data_dir)
    for folder in folders.search:
        found = _batch_folder(folder)
        if found is not None:
            return found
    names = ", ".join((*TRAIN_BATCHES, TEST_BATCH))
    how_to = (
        f"Put the batches {names} (from {ARCHIVE}) in {folders.download / BATCH_FOLDER}, "
        "or pass data_dir=FOLDER, or set TOPOKIT_DATA=FOLDER (batches in "
        f"FOLDER/cifar10/{BATCH_FOLDER}/, FOLDER/cifar10/ or FOLDER itself)"
    )
    if not download:
        raise TopokitError(
            f"cifar10: the python batches are not in {folders.describe()}, and download=False. "
            f"{how_to}."
        )
    mirrors = MIRRORS if mirrors is None else tuple(mirrors)
    try:
        archive = fetch(ARCHIVE, mirrors, folders.download, md5=ARCHIVE_MD5)
    except DownloadError as exc:
        raise TopokitError(
            f"cifar10: the python batches are not in {folders.describe()}, and downloading "
            f"{ARCHIVE} into {folders.download} failed ({exc}). {how_to}."
        ) from exc
    try:
        found = _batch_folder(_extract(archive, folders.download).parent)
    finally:
        archive.unlink()
    if found is None:
        raise TopokitError(f"cifar10: {ARCHIVE} does not hold the batches {names}")
    return found


def load_cifar10(*, data_dir=None, download=True, mirrors=None, scale=True) -> Dataset:
    """Load CIFAR-10 with its official split: data_batch_1..5 train, test_batch test."""
    folder = _find_batches(data_dir, download, mirrors)
    train = [_read_batch(folder / name) for name in TRAIN_BATCHES]
    X_test, y_test = _read_batch(folder / TEST_BATCH)
    X_train = np.concatenate([data for data, _ in train])
    y_train = np.concatenate([labels for _, labels in train])
    if len(y_train) == 0 or len(y_test) == 0:
        raise TopokitError(f"cifar10: the batches in {folder} hold no images")
    if scale:
        X_train, X_test = X_train / np.float32(255.0), X_test / np.float32(255.0)
    pixels = "scaled to [0, 1] (divided by 255)" if scale else "raw 0..255"
    description = (
        "CIFAR-10 colour images (Krizhevsky 2009): 32x32x3 as 3072 features in the batches' "
        f"order (all red, then green, then blue values, each plane row by row), {pixels}; "
        f"the official split, {len(y_train)} train (data_batch_1..5) / {len(y_test)} test "
        f"(test_batch); read from {folder}."
    )
    return Dataset(
        np.ascontiguousarray(X_train, dtype=np.float32),
        y_train,
        np.ascontiguousarray(X_test, dtype=np.float32),
        y_test,
        name="cifar10",
        description=description,
        classes=np.array(CLASSES),
    )
