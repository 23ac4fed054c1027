"""IDX parsing, the MNIST/Fashion-MNIST loaders, the data-folder rules, and real MNIST."""

from __future__ import annotations

import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest

from topokit._errors import TopokitError
from topokit.nn.datasets import load_dataset
from topokit.nn.datasets._cache import cache_root, data_folders
from topokit.nn.datasets._idx import read_bytes, read_idx

_CODES = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of ``array``, written from the format's definition."""
    array = np.asarray(array)
    code = _CODES[array.dtype.str[1:]]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path: Path, array: np.ndarray, *, gz: bool) -> Path:
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def write_mnist_like(folder: Path, *, n_train=6, n_test=4, gz=True, rows=3, columns=2):
    """Small IDX files under the real names; return (images, labels) of train and test."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    parts = []
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, rows, columns), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        suffix = ".gz" if gz else ""
        write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images, gz=gz)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels, gz=gz)
        parts.append((images, labels))
    return parts


@pytest.fixture(autouse=True)
def _no_user_data_folders(monkeypatch, tmp_path):
    """Keep tests away from the real TOPOKIT_DATA and ~/.cache."""
    monkeypatch.delenv("TOPOKIT_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


# --- the IDX reader ----------------------------------------------------------------------


def test_read_idx_hand_written_file(tmp_path):
    path = tmp_path / "a"
    path.write_bytes(bytes.fromhex("000008020000000200000003") + bytes(range(6)))
    np.testing.assert_array_equal(read_idx(path), [[0, 1, 2], [3, 4, 5]])
    # Big-endian values: int16 0x0102 is 258 and -2 is 0xfffe.
    path.write_bytes(bytes.fromhex("00000b01000000020102fffe"))
    values = read_idx(path)
    assert values.dtype == np.int16
    np.testing.assert_array_equal(values, [258, -2])


@pytest.mark.parametrize("dtype", ["u1", "i1", "i2", "i4", "f4", "f8"])
@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_read_idx_round_trip(tmp_path, dtype, gz):
    rng = np.random.default_rng(1)
    array = (rng.normal(size=(3, 4, 5)) * 50).astype(dtype)
    values = read_idx(write_idx(tmp_path / "x", array, gz=gz))
    assert values.dtype == np.dtype(dtype).newbyteorder("=")
    np.testing.assert_array_equal(values, array)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"\x00\x00", r"truncated IDX file: 2 bytes, no complete header"),
        (bytes.fromhex("01000801") + bytes(8), r"not an IDX file: magic number 0x01000801"),
        (bytes.fromhex("00000a0100000001"), r"unknown IDX data type code 0x0a"),
        (bytes.fromhex("00000800"), r"IDX header gives 0 dimensions"),
        (bytes.fromhex("00000802000000"), r"header needs 12 bytes, file has 7"),
        (bytes.fromhex("0000080200000002000000030001"), r"shape \(2, 3\) needs 6 bytes.*found 2"),
        (bytes.fromhex("0000080100000001ffff"), r"has 1 bytes after the data of shape \(1,\)"),
        (gzip.compress(idx_bytes(np.zeros(50, np.uint8)))[:-12], r"corrupt or truncated gzip"),
    ],
    ids=[
        "no-header",
        "bad-magic",
        "bad-type-code",
        "zero-dims",
        "short-header",
        "truncated-data",
        "trailing-bytes",
        "truncated-gzip",
    ],
)
def test_read_idx_rejects(tmp_path, data, match):
    path = tmp_path / "bad"
    path.write_bytes(data)
    with pytest.raises(TopokitError, match=match):
        read_idx(path)


# --- mnist / fashion_mnist from a folder -------------------------------------------------


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
def test_mnist_from_data_dir(tmp_path, gz):
    (train_images, train_labels), (test_images, test_labels) = write_mnist_like(
        tmp_path / "m", gz=gz
    )
    data = load_dataset("mnist", data_dir=tmp_path / "m", download=False)
    assert repr(data) == "Dataset('mnist', X_train=(6, 6), X_test=(4, 6), n_classes=10)"
    assert data.X_train.dtype == np.float32
    np.testing.assert_array_equal(data.X_train, train_images.reshape(6, 6) / np.float32(255))
    np.testing.assert_array_equal(data.X_test, test_images.reshape(4, 6) / np.float32(255))
    np.testing.assert_array_equal(data.y_train, train_labels)
    assert data.y_test.dtype == np.int64
    np.testing.assert_array_equal(data.y_test, test_labels)
    raw = load_dataset("mnist", data_dir=tmp_path / "m", scale=False, download=False)
    np.testing.assert_array_equal(raw.X_train, train_images.reshape(6, 6))


def test_fashion_mnist_classes_and_alias(tmp_path):
    write_mnist_like(tmp_path)
    data = load_dataset("Fashion-MNIST", data_dir=tmp_path, download=False)
    assert data.name == "fashion_mnist"
    assert data.classes[0] == "T-shirt/top"
    assert data.classes[9] == "Ankle boot"
    assert "Fashion-MNIST" in data.description


def test_idx_file_names_with_a_dot(tmp_path):
    for prefix in ("train", "t10k"):
        write_idx(tmp_path / f"{prefix}-images.idx3-ubyte", np.zeros((2, 2, 2), np.uint8), gz=0)
        write_idx(tmp_path / f"{prefix}-labels.idx1-ubyte", np.array([1, 2], np.uint8), gz=0)
    assert load_dataset("mnist", data_dir=tmp_path, download=False).n_train == 2


@pytest.mark.parametrize(
    ("where", "env", "data_dir"),
    [
        ("data_dir", None, "DIR"),
        ("data_dir/mnist", None, "DIR"),
        ("env/mnist", "DIR", None),
        ("env", "DIR", None),
        ("cache/topokit/mnist", None, None),
    ],
)
def test_data_folder_rules(tmp_path, monkeypatch, where, env, data_dir):
    base = tmp_path / "root"
    folders = {
        "data_dir": base,
        "data_dir/mnist": base / "mnist",
        "env/mnist": base / "mnist",
        "env": base,
        "cache/topokit/mnist": tmp_path / "xdg-cache" / "topokit" / "mnist",
    }
    write_mnist_like(folders[where])
    if env:
        monkeypatch.setenv("TOPOKIT_DATA", str(base))
    data = load_dataset("mnist", data_dir=base if data_dir else None, download=False)
    assert data.n_train == 6
    assert str(folders[where]) in data.description


def test_data_folders_resolution(tmp_path, monkeypatch):
    chosen = data_folders("mnist", tmp_path)
    assert chosen.search == (tmp_path, tmp_path / "mnist")
    assert chosen.download == tmp_path
    monkeypatch.setenv("TOPOKIT_DATA", str(tmp_path / "all"))
    chosen = data_folders("cifar10")
    assert chosen.search == (tmp_path / "all" / "cifar10", tmp_path / "all")
    assert chosen.download == tmp_path / "all" / "cifar10"
    monkeypatch.setenv("TOPOKIT_DATA", "")
    assert data_folders("mnist").download == tmp_path / "xdg-cache" / "topokit" / "mnist"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_root() == Path.home() / ".cache" / "topokit"


def test_data_dir_must_be_a_folder(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(TopokitError, match=r"data_dir must be a folder, got the file"):
        load_dataset("mnist", data_dir=tmp_path / "f")
    with pytest.raises(TopokitError, match=r"data_dir must be a path"):
        load_dataset("mnist", data_dir=3)


def test_missing_files_without_download_name_folder_and_files(tmp_path):
    folder = tmp_path / "empty"
    message = (
        r"mnist: the IDX files are not in .*empty, .*empty/mnist \(from data_dir\), and "
        r"download=False\. Put the four files train-images-idx3-ubyte.gz, "
        r"train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz "
        r"\(gzip-compressed or not\) in .*empty, or pass data_dir=FOLDER, or set TOPOKIT_DATA"
    )
    with pytest.raises(TopokitError, match=message):
        load_dataset("mnist", data_dir=folder, download=False)


def test_three_of_four_files_is_missing(tmp_path):
    write_mnist_like(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(TopokitError, match=r"the IDX files are not in"):
        load_dataset("mnist", data_dir=tmp_path, download=False)


@pytest.mark.parametrize(
    ("replace", "array", "match"),
    [
        ("t10k-labels-idx1-ubyte.gz", np.zeros(3, np.uint8), r"has 4 images but .* has 3 labels"),
        ("train-labels-idx1-ubyte.gz", np.full(6, 10, np.uint8), r"labels must be in 0..9, got 10"),
        ("train-images-idx3-ubyte.gz", np.zeros((6, 6), np.uint8), r"expected uint8 images of"),
        ("train-labels-idx1-ubyte.gz", np.zeros(6, np.int32), r"expected uint8 labels of shape"),
        ("train-images-idx3-ubyte.gz", np.zeros((6, 3, 3), np.uint8), r"training images have 9"),
        ("t10k-images-idx3-ubyte.gz", np.zeros((0, 3, 2), np.uint8), r"has 0 images but"),
    ],
    ids=["count-mismatch", "label-range", "image-ndim", "label-dtype", "pixels", "empty"],
)
def test_mnist_inconsistent_files(tmp_path, replace, array, match):
    write_mnist_like(tmp_path)
    write_idx(tmp_path / replace, array, gz=True)
    with pytest.raises(TopokitError, match=match):
        load_dataset("mnist", data_dir=tmp_path, download=False)


def test_mnist_refuses_test_size(tmp_path):
    with pytest.raises(TopokitError, match=r"mnist has a fixed train/test split"):
        load_dataset("mnist", data_dir=tmp_path, test_size=0.2)


# --- the real MNIST (found through TOPOKIT_DATA by the mnist_dir fixture) ----------------


def test_real_mnist_matches_its_readme(mnist_dir):
    data = load_dataset("mnist", data_dir=mnist_dir, download=False)
    assert repr(data) == "Dataset('mnist', X_train=(60000, 784), X_test=(10000, 784), n_classes=10)"
    np.testing.assert_array_equal(
        np.bincount(data.y_train), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    )
    np.testing.assert_array_equal(
        np.bincount(data.y_test), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    )
    assert float(data.X_train.min()) == 0.0
    assert float(data.X_train.max()) == 1.0
    mean_pixel = data.X_train.mean(dtype=np.float64) * 255
    assert abs(mean_pixel - 33.318) < 5e-4


def test_real_mnist_through_topokit_data(monkeypatch, tmp_path, mnist_dir):
    # a data root whose mnist/ subfolder is the real data, wherever that lies
    (tmp_path / "mnist").symlink_to(mnist_dir, target_is_directory=True)
    monkeypatch.setenv("TOPOKIT_DATA", str(tmp_path))
    data = load_dataset("mnist", download=False)
    assert data.n_train == 60000
    assert str(tmp_path / "mnist") in data.description


@pytest.mark.parametrize(
    ("name", "n_bytes", "sha256"),
    [
        (
            "train-labels-idx1-ubyte",
            60008,
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        ),
        (
            "t10k-images-idx3-ubyte",
            7840016,
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        ),
    ],
)
def test_real_mnist_decompresses_to_the_published_bytes(mnist_dir, name, n_bytes, sha256):
    data = read_bytes(mnist_dir / f"{name}.gz")
    assert len(data) == n_bytes
    assert hashlib.sha256(data).hexdigest() == sha256
