"""Downloads against a real HTTP server on 127.0.0.1, and a closed port for "no network"."""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import http.server
import io
import pickle
import socket
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest

from topokit._errors import TopokitError
from topokit.nn.datasets import _cifar10, load_dataset
from topokit.nn.datasets._download import DownloadError, fetch
from topokit.nn.datasets._mnist import MNIST

IDX_GZ = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@contextlib.contextmanager
def serve_folder(folder: Path):
    """Serve ``folder`` over HTTP on 127.0.0.1; yield the base URL (ending in ``/``)."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def closed_port_url() -> str:
    """A URL on 127.0.0.1 whose port nothing listens on (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()


def idx_gz(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(size).to_bytes(4, "big") for size in array.shape
    )
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def write_served_mnist(folder: Path):
    """Small MNIST-format .gz files to serve; return the train images written."""
    folder.mkdir(parents=True, exist_ok=True)
    images = np.arange(5 * 2 * 2, dtype=np.uint8).reshape(5, 2, 2)
    (folder / IDX_GZ[0]).write_bytes(idx_gz(images))
    (folder / IDX_GZ[1]).write_bytes(idx_gz(np.array([0, 1, 2, 3, 4])))
    (folder / IDX_GZ[2]).write_bytes(idx_gz(images[:2]))
    (folder / IDX_GZ[3]).write_bytes(idx_gz(np.array([9, 8])))
    return images


@pytest.fixture(autouse=True)
def _no_user_data_folders(monkeypatch, tmp_path):
    monkeypatch.delenv("TOPOKIT_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


@pytest.fixture
def served_mnist(tmp_path, monkeypatch):
    """Serve small MNIST files whose MD5s stand in for the published ones."""
    folder = tmp_path / "served"
    images = write_served_mnist(folder)
    for name in IDX_GZ:
        monkeypatch.setitem(MNIST.md5, name, md5(folder / name))
    with serve_folder(folder) as url:
        yield url, images


# --- fetch -------------------------------------------------------------------------------


def test_fetch_writes_the_served_bytes_and_leaves_no_partial_file(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    payload = bytes(range(256)) * 5000
    (served / "blob.bin").write_bytes(payload)
    target = tmp_path / "out" / "sub"
    with serve_folder(served) as url:
        path = fetch("blob.bin", [url], target, md5=hashlib.md5(payload).hexdigest())
    assert path == target / "blob.bin"
    assert path.read_bytes() == payload
    assert sorted(p.name for p in target.iterdir()) == ["blob.bin"]


def test_fetch_tries_the_next_mirror(tmp_path):
    served = tmp_path / "served"
    (served / "good").mkdir(parents=True)
    (served / "good" / "f.txt").write_bytes(b"hello")
    with serve_folder(served) as url:
        path = fetch("f.txt", [closed_port_url(), url + "missing/", url + "good"], tmp_path)
    assert path.read_bytes() == b"hello"


def test_fetch_checksum_mismatch_keeps_nothing(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    (served / "f.txt").write_bytes(b"not what was published")
    target = tmp_path / "out"
    with (
        serve_folder(served) as url,
        pytest.raises(
            DownloadError, match=r"f.txt: checksum mismatch: MD5 [0-9a-f]{32}, expected 0"
        ),
    ):
        fetch("f.txt", [url], target, md5="0" * 32)
    assert list(target.iterdir()) == []


def test_fetch_reports_every_mirror(tmp_path):
    closed = closed_port_url()
    served = tmp_path / "served"
    served.mkdir()
    with (
        serve_folder(served) as url,
        pytest.raises(DownloadError, match=r"f.txt: .*[Rr]efused.*; http.*f.txt: File not found"),
    ):
        fetch("f.txt", [closed, url], tmp_path / "out")


# --- mnist through load_dataset ----------------------------------------------------------


def test_mnist_downloads_into_the_cache_once(tmp_path, served_mnist):
    url, images = served_mnist
    data = load_dataset("mnist", mirrors=[url])
    cache = tmp_path / "xdg-cache" / "topokit" / "mnist"
    assert sorted(p.name for p in cache.iterdir()) == sorted(IDX_GZ)
    np.testing.assert_array_equal(data.X_train, images.reshape(5, 4) / np.float32(255))
    np.testing.assert_array_equal(data.y_test, [9, 8])
    # A second load reads the cache: the (now closed) mirror is not needed.
    again = load_dataset("mnist", mirrors=[closed_port_url()])
    np.testing.assert_array_equal(again.X_train, data.X_train)


def test_mnist_downloads_only_missing_files_into_data_dir(tmp_path, served_mnist):
    url, _ = served_mnist
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "train-images-idx3-ubyte").write_bytes(
        gzip.decompress((tmp_path / "served" / IDX_GZ[0]).read_bytes())
    )
    data = load_dataset("mnist", data_dir=folder, mirrors=[url])
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["train-images-idx3-ubyte", *IDX_GZ[1:]]
    )
    assert data.n_train == 5


def test_mnist_under_topokit_data_downloads_into_its_subfolder(tmp_path, monkeypatch, served_mnist):
    url, _ = served_mnist
    monkeypatch.setenv("TOPOKIT_DATA", str(tmp_path / "data"))
    load_dataset("mnist", mirrors=[url])
    assert (tmp_path / "data" / "mnist" / IDX_GZ[3]).is_file()


def test_mnist_without_network_says_where_and_what(tmp_path):
    folder = tmp_path / "nowhere"
    message = (
        r"mnist: the IDX files are not in .*nowhere, .*nowhere/mnist \(from data_dir\), and "
        r"downloading train-images-idx3-ubyte.gz into .*nowhere failed \(http://127.0.0.1:\d+/"
        r"train-images-idx3-ubyte.gz: .*\)\. Put the four files train-images-idx3-ubyte.gz, "
        r"train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz "
        r"\(gzip-compressed or not\) in .*nowhere"
    )
    with pytest.raises(TopokitError, match=message):
        load_dataset("mnist", data_dir=folder, mirrors=[closed_port_url()])
    assert list(folder.iterdir()) == []


def test_mnist_served_file_with_wrong_checksum_is_refused(tmp_path):
    served = tmp_path / "served"
    write_served_mnist(served)  # the published MD5s are kept: these files do not match
    with serve_folder(served) as url, pytest.raises(TopokitError, match=r"checksum mismatch"):
        load_dataset("fashion_mnist", data_dir=tmp_path / "out", mirrors=[url])
    assert list((tmp_path / "out").iterdir()) == []


# --- cifar10 through load_dataset --------------------------------------------------------


def _add(tar: tarfile.TarFile, name: str, payload: bytes, **fields):
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    for key, value in fields.items():
        setattr(info, key, value)
    tar.addfile(info, io.BytesIO(payload))


def write_cifar_archive(path: Path):
    """A CIFAR-style tar.gz with two hostile extra members; return the test batch data."""
    rng = np.random.default_rng(2)
    test_data = None
    with tarfile.open(path, "w:gz") as tar:
        for index, name in enumerate([*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"]):
            data = rng.integers(0, 256, size=(2, 3072), dtype=np.uint8)
            batch = {b"data": data, b"labels": [index, (index + 1) % 10]}
            _add(tar, f"cifar-10-batches-py/{name}", pickle.dumps(batch, protocol=2))
            test_data = data
        _add(tar, "../escaped", b"outside")
        _add(tar, "cifar-10-batches-py/readme.html", b"", type=tarfile.SYMTYPE, linkname="/etc")
    return test_data


def test_cifar10_download_extracts_only_the_batches(tmp_path, monkeypatch):
    served = tmp_path / "served"
    served.mkdir()
    test_data = write_cifar_archive(served / "cifar-10-python.tar.gz")
    monkeypatch.setattr(_cifar10, "ARCHIVE_MD5", md5(served / "cifar-10-python.tar.gz"))
    target = tmp_path / "cifar"
    with serve_folder(served) as url:
        data = load_dataset("cifar10", data_dir=target, mirrors=[url])
    assert (data.n_train, data.n_test) == (10, 2)
    np.testing.assert_array_equal(data.X_test, test_data / np.float32(255))
    assert sorted(p.name for p in target.iterdir()) == ["cifar-10-batches-py"]
    extracted = sorted(p.name for p in (target / "cifar-10-batches-py").iterdir())
    assert extracted == [*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"]
    assert not (tmp_path / "escaped").exists()


def test_cifar10_without_network(tmp_path):
    with pytest.raises(
        TopokitError,
        match=r"cifar10: the python batches are not in .* downloading cifar-10-python.tar.gz "
        r"into .* failed \(.*\)\. Put the batches data_batch_1",
    ):
        load_dataset("cifar10", data_dir=tmp_path, mirrors=[closed_port_url()])


def test_download_folder_that_cannot_be_created(tmp_path):
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(TopokitError, match=r"failed \(cannot create the folder .*a-file/mnist"):
        load_dataset("mnist", data_dir=tmp_path / "a-file" / "mnist", mirrors=[closed_port_url()])
