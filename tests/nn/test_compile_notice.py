"""The first compilation of a kernel says so, once per process, and loading from cache does not."""

import logging
import os
import subprocess
import sys
import types

import pytest
from numba.core import event

from topokit.nn import _compile

# Compiles one small kernel for two signatures (two compilations), logging at INFO.
_SCRIPT = """\
import logging, sys
import numpy as np
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s: %(message)s")
from topokit.nn.optimizers import SGD
for dtype in (np.float64, np.float32):
    SGD().step([np.zeros(3, dtype)], [np.ones(3, dtype)], 0.1)
"""


def _run(cache_dir) -> str:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir)}
    env.pop("NUMBA_DISABLE_JIT", None)
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_compiling_is_announced_once_and_loading_from_cache_not(tmp_path):
    notice = f"topokit.nn: {_compile.COMPILING_MESSAGE}"
    first = _run(tmp_path)  # an empty cache: numba compiles
    assert first.count(notice) == 1, first
    assert any(tmp_path.rglob("*.nbi")), "numba wrote no cache"
    again = _run(tmp_path)  # the same cache: numba loads
    assert notice not in again, again


def _compile_event(module: str):
    function = types.SimpleNamespace(__module__=module)
    dispatcher = types.SimpleNamespace(py_func=function)
    return event.Event("numba:compile", event.EventStatus.START, data={"dispatcher": dispatcher})


@pytest.mark.parametrize(
    ("modules", "count"),
    [
        pytest.param(["topokit.nn._softmax"], 1, id="ours"),
        pytest.param(["topokit.nn._softmax", "topokit.nn._panels"], 1, id="once"),
        pytest.param(["somebody_else"], 0, id="theirs"),
        pytest.param(["somebody_else", "topokit.nn._panels"], 1, id="theirs-then-ours"),
    ],
)
def test_the_notice_is_for_topokit_kernels_once(caplog, modules, count):
    notice = _compile._CompileNotice()
    with caplog.at_level(logging.INFO, logger="topokit"):
        for module in modules:
            notice.on_start(_compile_event(module))
            notice.on_end(_compile_event(module))
    messages = [r.getMessage() for r in caplog.records if r.name == "topokit.nn"]
    assert messages == [_compile.COMPILING_MESSAGE] * count


def test_the_notice_is_silent_below_info(caplog):
    notice = _compile._CompileNotice()
    with caplog.at_level(logging.WARNING, logger="topokit"):
        notice.on_start(_compile_event("topokit.nn._softmax"))
    assert [r for r in caplog.records if r.name == "topokit.nn"] == []
