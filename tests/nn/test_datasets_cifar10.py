"""CIFAR-10 from python-pickle batches made here in the CIFAR format."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from topokit._errors import TopokitError
from topokit.nn.datasets import load_dataset

BATCHES = (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch")


def make_batches(folder: Path, *, n_per_batch=3, protocol=2, bytes_keys=True):
    """Write the six batches; return the (data, labels) written to each, in order."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(5)
    written = []
    for index, name in enumerate(BATCHES):
        data = rng.integers(0, 256, size=(n_per_batch, 3072), dtype=np.uint8)
        labels = [(index + j) % 10 for j in range(n_per_batch)]
        keys = (b"data", b"labels", b"batch_label") if bytes_keys else ("data", "labels", "b")
        batch = {keys[0]: data, keys[1]: labels, keys[2]: name.encode()}
        with (folder / name).open("wb") as stream:
            pickle.dump(batch, stream, protocol=protocol)
        written.append((data, labels))
    return written


@pytest.fixture(autouse=True)
def _no_user_data_folders(monkeypatch, tmp_path):
    monkeypatch.delenv("TOPOKIT_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_cifar10_batches_in_order_and_scaled(tmp_path, protocol):
    written = make_batches(tmp_path / "cifar-10-batches-py", protocol=protocol)
    data = load_dataset("cifar10", data_dir=tmp_path, download=False)
    assert repr(data) == "Dataset('cifar10', X_train=(15, 3072), X_test=(3, 3072), n_classes=10)"
    expected_train = np.concatenate([batch for batch, _ in written[:5]])
    np.testing.assert_array_equal(data.X_train, expected_train / np.float32(255))
    np.testing.assert_array_equal(data.X_test, written[5][0] / np.float32(255))
    np.testing.assert_array_equal(data.y_train, [y for _, labels in written[:5] for y in labels])
    np.testing.assert_array_equal(data.y_test, written[5][1])
    assert data.X_train.dtype == np.float32
    assert data.y_train.dtype == np.int64
    assert data.classes[0] == "airplane"
    assert data.classes[9] == "truck"


def test_cifar10_batches_in_the_folder_itself_with_str_keys_and_raw_pixels(tmp_path):
    written = make_batches(tmp_path, bytes_keys=False)
    data = load_dataset("cifar10", data_dir=tmp_path, download=False, scale=False)
    np.testing.assert_array_equal(data.X_test, written[5][0])
    assert "raw 0..255" in data.description


def test_cifar10_under_topokit_data(tmp_path, monkeypatch):
    make_batches(tmp_path / "cifar10" / "cifar-10-batches-py")
    monkeypatch.setenv("TOPOKIT_DATA", str(tmp_path))
    assert load_dataset("cifar10", download=False).n_test == 3


def test_cifar10_missing_batch_names_what_is_expected(tmp_path):
    make_batches(tmp_path)
    (tmp_path / "data_batch_4").unlink()
    with pytest.raises(
        TopokitError,
        match=r"cifar10: the python batches are not in .* download=False\. Put the batches "
        r"data_batch_1, data_batch_2, data_batch_3, data_batch_4, data_batch_5, test_batch",
    ):
        load_dataset("cifar10", data_dir=tmp_path, download=False)


class _Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


@pytest.mark.parametrize(
    ("batch", "match"),
    [
        (_Exploit(), r"refusing to load (posix|nt|os)\.system"),
        ([1, 2], r"not a CIFAR-10 python batch \(a list\)"),
        ({b"data": np.zeros((2, 3072), np.uint8)}, r"needs the keys b'data' and b'labels'"),
        (
            {b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]},
            r"b'data' must be uint8 of shape \(n, 3072\), got uint8 of shape \(2, 100\)",
        ),
        (
            {b"data": np.zeros((2, 3072), np.float64), b"labels": [0, 1]},
            r"got float64 of shape",
        ),
        (
            {b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]},
            r"b'labels' must be 2 integers \(one per image\)",
        ),
        (
            {b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]},
            r"labels must be in 0..9, got values in 0..10",
        ),
    ],
    ids=["code-execution", "not-a-dict", "no-labels", "shape", "dtype", "count", "range"],
)
def test_cifar10_bad_batches(tmp_path, batch, match):
    make_batches(tmp_path)
    with (tmp_path / "data_batch_2").open("wb") as stream:
        pickle.dump(batch, stream, protocol=2)
    with pytest.raises(TopokitError, match=match):
        load_dataset("cifar10", data_dir=tmp_path, download=False)


def test_cifar10_truncated_batch(tmp_path):
    make_batches(tmp_path)
    path = tmp_path / "test_batch"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(TopokitError, match=r"test_batch: not a CIFAR-10 python batch"):
        load_dataset("cifar10", data_dir=tmp_path, download=False)
