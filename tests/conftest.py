"""Fixtures shared by all tests: the random generator, and the real MNIST files.

``rng`` is the one way a test gets random numbers of its own: a fresh
``numpy.random.Generator`` seeded with ``SEED``, so a test sees the same numbers on every
run and in any order. (Seeds passed to topokit's own functions, ``rng=0``, are
parameters of the call under test and stay in the tests.)

``mnist_dir`` finds the real MNIST IDX files through ``TOPOKIT_DATA``, the data root that
topokit itself reads (:mod:`topokit.nn.datasets`): ``$TOPOKIT_DATA/mnist/`` or
``$TOPOKIT_DATA`` itself. ``.ci/run`` sets ``TOPOKIT_DATA`` to the shared data folder;
run the tests with ``TOPOKIT_DATA=/path/to/data python -m pytest`` to include the
tests on real MNIST, which otherwise skip with the reason.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SEED = 0

MNIST_FILES = tuple(
    f"{name}.gz"
    for name in (
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    )
)


@pytest.fixture
def rng():
    """A fresh ``numpy.random.Generator`` seeded with ``SEED`` (0)."""
    return np.random.default_rng(SEED)


@pytest.fixture(scope="session")
def mnist_dir():
    """The folder holding the four gzipped MNIST IDX files; skips the test when there is none.

    Read once per session, before any test's monkeypatching of ``TOPOKIT_DATA``.
    """
    root = os.environ.get("TOPOKIT_DATA", "").strip()
    if not root:
        pytest.skip("real MNIST: TOPOKIT_DATA is not set (a folder holding mnist/)")
    root_path = Path(root).expanduser()
    for folder in (root_path / "mnist", root_path):
        if all((folder / name).is_file() for name in MNIST_FILES):
            return folder
    pytest.skip(f"real MNIST: no {', '.join(MNIST_FILES)} in {root_path}/mnist or {root_path}")


@pytest.fixture
def loaded_after():
    """``loaded_after(statement, modules)``: which of ``modules`` a fresh interpreter has
    imported after running ``statement`` (a set of names)."""

    def loaded(statement: str, modules) -> set[str]:
        names = tuple(modules)
        code = f"import sys\n{statement}\nprint(','.join(m for m in {names!r} if m in sys.modules))"
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return set(filter(None, done.stdout.strip().split(",")))

    return loaded
