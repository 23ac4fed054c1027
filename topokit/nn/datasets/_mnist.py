"""MNIST and Fashion-MNIST from their four IDX files, downloaded where the network allows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from topokit._errors import TopokitError
from topokit.nn.datasets._cache import data_folders
from topokit.nn.datasets._dataset import Dataset
from topokit.nn.datasets._download import DownloadError, fetch
from topokit.nn.datasets._idx import read_idx

__all__ = ["FASHION_MNIST", "MNIST", "load_idx_dataset"]

#: The four files, in the order train images, train labels, test images, test labels.
IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


@dataclass(frozen=True)
class IdxSource:
    """One IDX data set: its name, mirrors, the MD5 of each published ``.gz``, and classes."""

    name: str
    title: str
    mirrors: tuple[str, ...]
    md5: dict
    classes: tuple[str, ...]


MNIST = IdxSource(
    name="mnist",
    title="MNIST handwritten digits (LeCun, Cortes, Burges)",
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    md5={
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    classes=tuple(str(digit) for digit in range(10)),
)

FASHION_MNIST = IdxSource(
    name="fashion_mnist",
    title="Fashion-MNIST clothing images (Zalando Research)",
    mirrors=(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
    md5={
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
    classes=(
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
)


def _find(folder: Path, stem: str) -> Path | None:
    for candidate in (stem, stem + ".gz", stem.replace("-idx", ".idx")):
        path = folder / candidate
        if path.is_file():
            return path
    return None


def _expected_files() -> str:
    return ", ".join(f"{stem}.gz" for stem in IDX_FILES)


def find_idx_files(source: IdxSource, data_dir=None, *, download=True, mirrors=None):
    """Paths of the four IDX files, downloading the missing ones when allowed."""
    folders = data_folders(source.name, data_dir)
    for folder in folders.search:
        paths = [_find(folder, stem) for stem in IDX_FILES]
        if all(paths):
            return paths
    how_to = (
        f"Put the four files {_expected_files()} (gzip-compressed or not) in "
        f"{folders.download}, or pass data_dir=FOLDER, or set TOPOKIT_DATA=FOLDER "
        f"(files in FOLDER/{source.name}/ or FOLDER itself)"
    )
    if not download:
        raise TopokitError(
            f"{source.name}: the IDX files are not in {folders.describe()}, and download=False. "
            f"{how_to}."
        )
    mirrors = source.mirrors if mirrors is None else tuple(mirrors)
    paths = []
    for stem in IDX_FILES:
        existing = _find(folders.download, stem)
        if existing is not None:
            paths.append(existing)
            continue
        filename = stem + ".gz"
        try:
            paths.append(fetch(filename, mirrors, folders.download, md5=source.md5.get(filename)))
        except DownloadError as exc:
            raise TopokitError(
                f"{source.name}: the IDX files are not in {folders.describe()}, and downloading "
                f"{filename} into {folders.download} failed ({exc}). {how_to}; they are "
                f"published at {mirrors[0] if mirrors else 'the usual MNIST mirrors'}."
            ) from exc
    return paths


def load_idx_dataset(source: IdxSource, *, data_dir=None, download=True, mirrors=None, scale=True):
    """Load an IDX image data set with its official train/test split."""
    paths = find_idx_files(source, data_dir, download=download, mirrors=mirrors)
    train_images, train_labels, test_images, test_labels = (read_idx(path) for path in paths)
    parts = []
    for images, labels, image_path, label_path in (
        (train_images, train_labels, paths[0], paths[1]),
        (test_images, test_labels, paths[2], paths[3]),
    ):
        if images.ndim != 3 or images.dtype != np.uint8:
            raise TopokitError(
                f"{image_path}: expected uint8 images of shape (n, rows, columns), got "
                f"{images.dtype} of shape {images.shape}"
            )
        if labels.ndim != 1 or labels.dtype != np.uint8:
            raise TopokitError(
                f"{label_path}: expected uint8 labels of shape (n,), got "
                f"{labels.dtype} of shape {labels.shape}"
            )
        if len(images) != len(labels):
            raise TopokitError(
                f"{source.name}: {image_path.name} has {len(images)} images but "
                f"{label_path.name} has {len(labels)} labels"
            )
        if len(labels) == 0:
            raise TopokitError(f"{source.name}: {label_path} holds 0 samples")
        if labels.max() >= len(source.classes):
            raise TopokitError(
                f"{label_path}: labels must be in 0..{len(source.classes) - 1}, "
                f"got {int(labels.max())}"
            )
        features = images.reshape(len(images), -1)
        features = features / np.float32(255.0) if scale else features.astype(np.float32)
        parts.append((np.ascontiguousarray(features, dtype=np.float32), labels.astype(np.int64)))
    (X_train, y_train), (X_test, y_test) = parts
    if X_train.shape[1] != X_test.shape[1]:
        raise TopokitError(
            f"{source.name}: training images have {X_train.shape[1]} pixels, "
            f"test images {X_test.shape[1]}"
        )
    rows, columns = train_images.shape[1:]
    pixels = "pixels scaled to [0, 1] (divided by 255)" if scale else "raw pixels 0..255"
    description = (
        f"{source.title}: {rows}x{columns} grey images as {rows * columns} features, "
        f"{pixels}; the official split, {len(y_train)} train / {len(y_test)} test; "
        f"read from {paths[0].parent}."
    )
    return Dataset(
        X_train,
        y_train,
        X_test,
        y_test,
        name=source.name,
        description=description,
        classes=np.array(source.classes),
    )
