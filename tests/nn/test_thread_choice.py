"""The serial/parallel choice of the kernels (topokit/nn/_compile.py) and the L2 penalty kernel.

Whichever copy of a kernel runs, and on however many threads, the results are the same
bits: the choice is measured, the values are not.
"""

import numpy as np
import pytest

from topokit._errors import TopokitError
from topokit.nn import SparseMLP, _compile, _panel_sums


def _entry_calls(entry, times, n_calls):
    """Drive an _Entry for ``n_calls`` calls; ``times[parallel]`` is each copy's time."""
    chosen = []
    for _ in range(n_calls):
        parallel = entry.next_is_parallel()
        chosen.append(parallel)
        entry.record(parallel, times[parallel])
    return chosen


def test_the_faster_copy_wins_and_the_other_is_probed_ever_more_rarely():
    entry = _compile._Entry()
    chosen = _entry_calls(entry, {True: 1.0, False: 3.0}, 5000)
    # first call of each copy uncounted, one counted each, then the parallel copy only
    assert chosen[:4] == [True, True, False, False]
    serial_calls = [i for i, parallel in enumerate(chosen) if not parallel]
    gaps = np.diff(serial_calls[1:])
    assert np.all(gaps[1:] >= gaps[:-1])  # probes ever more spaced
    assert gaps[0] == 2 * _compile._MIN_INTERVAL
    assert gaps[-1] == _compile._MAX_INTERVAL
    assert entry.parallel


def test_the_choice_follows_a_change_of_load():
    entry = _compile._Entry()
    _entry_calls(entry, {True: 1.0, False: 3.0}, 3000)
    assert entry.parallel
    # the parallel copy becomes slow (another process holds the second core)
    chosen = _entry_calls(entry, {True: 9.0, False: 3.0}, 30)
    assert not entry.parallel
    assert sum(chosen[-16:]) <= 2  # the parallel copy only as a probe now and then
    # quiet again: the next probe of the parallel copy brings it back
    chosen = _entry_calls(entry, {True: 1.0, False: 3.0}, 2 * _compile._MAX_INTERVAL + 2)
    assert entry.parallel
    assert sum(chosen[-16:]) >= 14


def test_a_copy_in_use_that_speeds_up_brings_the_other_back_within_a_few_calls():
    entry = _compile._Entry()
    _entry_calls(entry, {True: 1.0, False: 3.0}, 3000)
    # a second process: the parallel copy waits for the other core, and the serial copy
    # shares the caches with the other process
    _entry_calls(entry, {True: 9.0, False: 4.0}, 3000)
    assert not entry.parallel
    assert entry.interval == _compile._MAX_INTERVAL
    # it leaves: the serial copy speeds up by a quarter, so the next probe comes early
    chosen = _entry_calls(entry, {True: 1.0, False: 3.0}, 16)
    assert entry.parallel
    assert chosen.index(True) < 8
    # a serial copy that does not speed up waits for the periodic probe
    entry = _compile._Entry()
    _entry_calls(entry, {True: 1.0, False: 3.0}, 3000)
    _entry_calls(entry, {True: 9.0, False: 3.0}, 3000)
    chosen = _entry_calls(entry, {True: 1.0, False: 3.0}, 16)
    assert not any(chosen)
    assert not entry.parallel


def test_a_kernel_that_notices_the_load_change_tells_the_others():
    # two kernels on a busy machine, both on their serial copies; when the load goes,
    # only the first one's serial copy speeds up
    first, second = _compile._Entry(), _compile._Entry()
    for entry in (first, second):
        _entry_calls(entry, {True: 1.0, False: 3.0}, 3000)
        _entry_calls(entry, {True: 9.0, False: 4.0}, 3000)
        assert not entry.parallel
    _entry_calls(second, {True: 9.0, False: 3.0}, 10)
    assert not second.parallel  # nothing told it yet
    _entry_calls(first, {True: 1.0, False: 3.0}, 16)
    assert first.parallel
    chosen = _entry_calls(second, {True: 1.0, False: 3.0}, 2)
    assert chosen == [True, True]
    assert second.parallel
    # a switch by a narrow margin tells nobody
    third, fourth = _compile._Entry(), _compile._Entry()
    for entry in (third, fourth):
        _entry_calls(entry, {True: 1.0, False: 3.0}, 100)
    _entry_calls(third, {True: 1.0, False: 0.9}, 100)
    assert not third.parallel
    assert _entry_calls(fourth, {True: 1.0, False: 3.0}, 2) == [True, True]


def test_measured_calls_count_each_copy():
    before = _compile.measured_calls()
    chosen = _entry_calls(_compile._Entry(), {True: 1.0, False: 3.0}, 100)
    serial, parallel = (b - a for a, b in zip(before, _compile.measured_calls(), strict=True))
    assert (serial, parallel) == (chosen.count(False), chosen.count(True))
    assert serial > 0


def test_thread_choice_variable_is_checked():
    assert _compile._thread_choice({}) == "measured"
    assert _compile._thread_choice({"TOPOKIT_THREAD_CHOICE": "parallel"}) == "parallel"
    with pytest.raises(TopokitError, match=r"TOPOKIT_THREAD_CHOICE must be one of .*got 'fast'"):
        _compile._thread_choice({"TOPOKIT_THREAD_CHOICE": "fast"})


@pytest.mark.parametrize("choice", ["measured", "parallel"])
def test_training_is_the_same_whichever_copies_run(
    make_topology, on_one_and_all_threads, monkeypatch, choice
):
    monkeypatch.setattr(_compile, "THREAD_CHOICE", choice)
    topology = make_topology([50, 400, 3], 0.5, seed=1)  # big enough for the parallel kernels
    rng = np.random.default_rng(0)
    X = rng.standard_normal((256, 50))
    y = rng.integers(0, 3, 256)

    def run():
        model = SparseMLP(topology, dense_threshold=None, weight_decay=1e-3, rng=3)
        model.fit(X, y, epochs=2)
        return [layer.weight_data.copy() for layer in model.layers] + [model.history.loss]

    for a, b in zip(*on_one_and_all_threads(run), strict=True):
        np.testing.assert_array_equal(a, b)


SIZES = [0, 1, 7, 8, 9, 4096, 4097, 3 * 4096 + 13]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", SIZES, ids=[f"size-{n}" for n in SIZES])
def test_sum_of_squares_against_numpy(dtype, size):
    weights = np.random.default_rng(size).standard_normal(size).astype(dtype)
    partial = np.empty(_panel_sums.squares_blocks(size), dtype=dtype)
    expected = np.sum(weights.astype(np.float64) ** 2)
    rtol = {np.float32: 1e-5, np.float64: 1e-12}[dtype]
    for kernel in (_panel_sums.sum_of_squares.serial, _panel_sums.sum_of_squares.parallel):
        total = kernel(weights, partial)
        np.testing.assert_allclose(total, expected, rtol=rtol, atol=0)


def test_sum_of_squares_does_not_depend_on_thread_count(on_one_and_all_threads):
    weights = np.random.default_rng(0).standard_normal(5 * 4096 + 3).astype(np.float32)
    partial = np.empty(_panel_sums.squares_blocks(weights.size), dtype=np.float32)

    def run():
        parallel = _panel_sums.sum_of_squares.parallel(weights, partial)
        return parallel, _panel_sums.sum_of_squares.serial(weights, partial)

    one, many = on_one_and_all_threads(run)
    assert one[0] == one[1] == many[0] == many[1]
