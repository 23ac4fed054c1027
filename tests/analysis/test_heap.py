"""The C heap during a run on a Dask worker (topokit.analysis._heap)."""

import platform

import numpy as np
import pytest

from topokit.analysis import _heap
from topokit.analysis._heap import RUN_TRIM_THRESHOLD, run_heap

glibc = pytest.mark.skipif(
    platform.libc_ver()[0] != "glibc", reason="the heap settings are glibc's mallopt"
)


@glibc
def test_a_dask_nanny_trim_threshold_is_lifted_for_the_run_and_put_back(monkeypatch):
    calls = []
    libc = _heap._glibc()
    monkeypatch.setattr(
        _heap,
        "_glibc",
        lambda: type(
            "Recorder",
            (),
            {
                "mallopt": staticmethod(lambda p, v: calls.append(("mallopt", p, v)) or 1),
                "malloc_trim": staticmethod(lambda pad: calls.append(("trim", pad)) or 1),
            },
        ),
    )
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    with run_heap() as changed:
        assert changed
        assert calls == [("mallopt", -1, RUN_TRIM_THRESHOLD), ("mallopt", -3, 32 << 20)]
    assert calls[2:] == [("mallopt", -1, 65536), ("trim", 0)]
    assert libc is not None  # the real glibc was found too


@glibc
def test_the_real_glibc_accepts_the_settings_and_numpy_still_works(monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    with run_heap() as changed:
        total = sum(float(np.ones(1 << 20).sum()) for _ in range(5))
    assert changed
    assert total == 5 * (1 << 20)


@pytest.mark.parametrize("value", [None, "not a number", str(RUN_TRIM_THRESHOLD), "-5"])
def test_nothing_changes_without_a_low_trim_threshold(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    else:
        monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", value)
    with run_heap() as changed:
        pass
    assert changed is False
