"""How the numba kernels of :mod:`topokit.nn` are compiled, threaded and split into work.

Every kernel module imports this one, so it runs before any kernel can start numba's
thread pool. It does four things:

* **The OpenMP spin (a process-wide side effect).** It imports
  :mod:`topokit.nn._openmp`, which sets ``GOMP_SPINCOUNT=10000`` in the environment
  unless ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` is set (see that module).
* **Compilation.** :func:`jit` is ``numba.njit(cache=True)``, falling back to no on-disk
  cache where numba has nowhere to write one. numba keys a kernel's cache on its own
  source file: after editing a module that a kernel calls into (such as
  :mod:`topokit.nn._simd`), delete ``topokit/nn/__pycache__/*.nbi`` and ``*.nbc``.
* **Serial or parallel.** :func:`parallel_and_serial` compiles a kernel twice and calls
  the serial copy below :data:`PARALLEL_WORK` multiply-adds (float32 ones: the layers
  count a float64 one twice). Above it, by default (:data:`THREAD_CHOICE`
  ``"measured"``), a kernel runs serially on one numba thread, and otherwise times its
  two copies for each amount of work and calls the faster (:class:`_Entry`): on a
  quiet machine the parallel copy where its threads gain, on a busy one the serial
  copy, whose one thread never waits at a barrier for a thread whose core another
  process holds. ``TOPOKIT_THREAD_CHOICE=parallel`` in the environment restores the
  rule by work size alone. Both copies run the same operations in the same order, so
  the choice never changes a result.
* **The compilation notice.** The first time in a process that numba compiles one of
  the package's kernels (not when it loads one from its on-disk cache), the logger
  ``"topokit.nn"`` says so once, at level INFO: :data:`COMPILING_MESSAGE`. The
  ``topokit`` command line shows it on stderr (silent with ``--quiet``); in Python it
  shows where logging is set up to show INFO records (``logging.basicConfig(level=
  logging.INFO)``), and ``logging.getLogger("topokit").setLevel(logging.WARNING)``
  silences it. numba tells compiling from loading through its event API: the event
  ``"numba:compile"`` starts only when the cache had no code for the signature.

The constants :data:`BLOCK` and :data:`PREFETCH` set how the layer kernels split their
work and how far ahead they prefetch; neither changes a result either.
"""

from __future__ import annotations

import logging
import os
import time
import types

import numba
from numba import njit
from numba.core import event
from numba.np.ufunc import parallel as numba_parallel

from topokit._errors import TopokitError

# importing numba does not load libgomp (its first parallel kernel call does)
from topokit.nn import _openmp  # noqa: F401  (sets the OpenMP spin: see the module)

__all__ = [
    "BLOCK",
    "COMPILING_MESSAGE",
    "CONTRACT",
    "PARALLEL_WORK",
    "PREFETCH",
    "THREAD_CHOICE",
    "THREAD_CHOICE_VARIABLE",
    "jit",
    "measured_calls",
    "parallel_and_serial",
]

_LOGGER = logging.getLogger("topokit.nn")

COMPILING_MESSAGE = (
    "compiling the training kernels (once per installation, about a minute; "
    "later runs load them from numba's cache)..."
)

# Below this many multiply-adds a kernel runs on the calling thread, where waking the
# thread pool would cost more than the work.
PARALLEL_WORK = 1 << 20

# Above PARALLEL_WORK, how the copy that runs is chosen: "measured" (the faster of the two
# by their recent times, :class:`_Entry`) or "parallel" (always the parallel copy).
THREAD_CHOICE_VARIABLE = "TOPOKIT_THREAD_CHOICE"
_THREAD_CHOICES = ("measured", "parallel")


def _thread_choice(environ) -> str:
    value = environ.get(THREAD_CHOICE_VARIABLE, "measured")
    if value not in _THREAD_CHOICES:
        raise TopokitError(
            f"{THREAD_CHOICE_VARIABLE} must be one of {list(_THREAD_CHOICES)}, got {value!r}"
        )
    return value


THREAD_CHOICE = _thread_choice(os.environ)

# The moving average and the probe intervals of the measured choice (_Entry).
_SMOOTHING = 0.25
_MIN_INTERVAL = 8
_MAX_INTERVAL = 1024
# A clear change: the copy in use becoming this much faster than after the last probe
# (the load that made the other copy slow has gone), or a probe finding the other copy
# this much faster than the one in use.
_FASTER = 0.8
# How many probes of any kernel found the serial (index 0) or the parallel (1) copy
# clearly faster and switched to it: the load changed for every kernel of the process.
_SWITCHES = [0, 0]
# Calls of the measured choice, all kernels together: serial (index 0) and parallel (1)
# copies. Read by :func:`measured_calls` (the busy-machine benchmark prints the shares).
_CALLS = [0, 0]

# Output (or input) neurons per parallel work item of the gather kernels.
BLOCK = 16

# How many edges ahead the gather kernels prefetch the activation row they will need.
PREFETCH = 16

# numba fastmath flag "contract": one fused multiply-add per scalar ``s + a * b``, in
# the order written (the vector code issues its fused multiply-adds explicitly).
CONTRACT = {"contract"}


def jit(kernel, **options):
    """``njit(cache=True)``, or without the on-disk cache where numba has nowhere to write.

    numba raises ``RuntimeError: cannot cache function ...: no locator available``
    at decoration when neither ``NUMBA_CACHE_DIR``, the package's ``__pycache__`` nor
    the user's cache directory is writable (a read-only install with no home). The
    kernels then compile on first use in each process instead.
    """
    try:
        return njit(cache=True, **options)(kernel)
    except RuntimeError as exc:
        if "no locator available" not in str(exc):
            raise
        return njit(cache=False, **options)(kernel)


def parallel_and_serial(kernel, fastmath=False, nrt=True):
    """A kernel compiled twice, multithreaded and serial, called by amount of work.

    Returns ``run(work, *args)``. It calls the serial version when ``work`` (the number
    of float32 multiply-adds, or a comparable count) is under :data:`PARALLEL_WORK`.
    Otherwise, when :data:`THREAD_CHOICE` is ``"parallel"``, the parallel one; when it
    is ``"measured"`` (the default), the serial one on one numba thread, else the faster
    of the two as measured (:class:`_Entry`, one per amount of work and thread count).
    ``run.parallel`` and ``run.serial`` are the two versions, to call directly;
    ``run.choice`` holds the measurements.

    With ``nrt=False`` both copies compile without numba's reference counting (its
    ``_nrt`` option): such a kernel must allocate nothing (a typed zero is
    ``array.dtype.type(0)``, not an element of a new array). Each call of an inlined
    helper otherwise increments and decrements the count of every array it takes, one
    atomic operation each: 14 per pair of columns in the forward's serial copy, which
    made it 1.5x slower than the parallel copy on one thread for a layer of short
    columns (the parallel copy's loop body, outlined by numba, had none).
    """
    options = {"fastmath": fastmath, "error_model": "numpy"}
    if not nrt:
        options["_nrt"] = False
    parallel = jit(kernel, parallel=True, **options)
    # A distinct function object and name, so the two versions have separate cache files.
    serial_kernel = types.FunctionType(
        kernel.__code__, kernel.__globals__, kernel.__name__ + "_serial", kernel.__defaults__
    )
    serial_kernel.__qualname__ = kernel.__qualname__ + "_serial"
    serial = jit(serial_kernel, parallel=False, **options)

    choice = _ThreadChoice()
    perf_counter = time.perf_counter

    def run(work, *args):
        if work < PARALLEL_WORK:
            return serial(*args)
        if THREAD_CHOICE != "measured":
            return parallel(*args)
        threads = _num_threads()
        if threads == 1:
            return serial(*args)
        entry = choice.entry(work, threads)
        use_parallel = entry.next_is_parallel()
        start = perf_counter()
        result = (parallel if use_parallel else serial)(*args)
        entry.record(use_parallel, perf_counter() - start)
        return result

    run.__name__ = kernel.__name__
    run.__doc__ = kernel.__doc__
    run.parallel, run.serial, run.choice = parallel, serial, choice
    return run


class _Entry:
    """The measured choice between the two copies of a kernel for one amount of work.

    Each copy's first call is not counted (it may compile or load the kernel, and
    finds cold caches); after that, the copy in use updates a moving average of its
    time with every call (weight :data:`_SMOOTHING`), and every ``interval`` calls the
    other copy runs once, its time replacing its estimate; so does the next call when
    the copy in use becomes slower than the other's estimate. The faster estimate wins.
    A probe that changes nothing doubles ``interval`` (up to :data:`_MAX_INTERVAL`), one
    that switches resets it to :data:`_MIN_INTERVAL`: on a steady machine probes become
    rare. When the load changes, the choice follows within a few calls. Three things
    bring the next probe forward:

    * the copy in use becomes slower than the other's estimate (a competing process
      takes a core: the parallel copy waits at its barriers);
    * it becomes faster than :data:`_FASTER` times its own estimate after the last
      probe (``reference``): how a serial copy notices that the competing process has
      gone, and no longer shares the caches and the memory with it;
    * another kernel's probe switched, with a clear margin (:data:`_FASTER`), to the
      copy this entry is not using (:data:`_SWITCHES`): the load is the machine's, so
      one kernel that notices it tells the others. ``seen`` is the count already
      answered.
    """

    __slots__ = (
        "countdown",
        "estimate",
        "interval",
        "parallel",
        "probing",
        "reference",
        "seen",
        "warm",
    )

    def __init__(self):
        self.parallel = True
        self.estimate = [None, None]  # seconds per call, indexed by parallel (0/1)
        self.warm = [False, False]
        self.interval = _MIN_INTERVAL
        self.countdown = _MIN_INTERVAL
        self.probing = False
        self.reference = None  # the estimate of the copy in use after the last probe
        self.seen = _SWITCHES[False]  # switches to the copy not in use, answered

    def next_is_parallel(self) -> bool:
        """Whether the next call runs the parallel copy."""
        current = self.parallel
        if self.estimate[current] is None:
            return current
        if self.estimate[not current] is None:
            self.probing = True
            return not current
        self.countdown -= 1
        if self.countdown <= 0 or self.seen != _SWITCHES[not current]:
            self.probing = True
            self.seen = _SWITCHES[not current]
            return not current
        return current

    def record(self, parallel, seconds) -> None:
        """Count a call of the parallel (True) or serial (False) copy that took ``seconds``."""
        _CALLS[parallel] += 1
        probe, self.probing = self.probing, False
        if not self.warm[parallel]:
            self.warm[parallel] = True
            return
        estimate = self.estimate[parallel]
        if probe or estimate is None:
            self.estimate[parallel] = seconds
        else:
            self.estimate[parallel] = estimate + _SMOOTHING * (seconds - estimate)
        if self.estimate[not parallel] is None:
            return
        if not probe:
            if self.estimate[parallel] > self.estimate[not parallel]:
                self.countdown = 1  # slower than the other copy was: probe it next
            elif self.reference is not None and self.estimate[parallel] < _FASTER * self.reference:
                self.countdown = 1  # much faster than after the last probe: the load changed
            return
        if self.estimate[parallel] < self.estimate[not parallel]:
            if self.estimate[parallel] < _FASTER * self.estimate[not parallel]:
                _SWITCHES[parallel] += 1  # the others probe this copy at their next call
            self.parallel = parallel
            self.interval = _MIN_INTERVAL
            self.seen = _SWITCHES[not parallel]
        else:
            self.interval = min(2 * self.interval, _MAX_INTERVAL)
        self.countdown = self.interval
        self.reference = self.estimate[self.parallel]


def measured_calls() -> tuple[int, int]:
    """``(serial, parallel)``: how many kernel calls the measured choice sent to each copy.

    All kernels of the process together, since it started; calls under
    :data:`PARALLEL_WORK`, on one thread or with ``TOPOKIT_THREAD_CHOICE=parallel`` are
    not counted. The difference of two readings says which copies a stretch of training
    ran: on a busy machine the serial ones.

    Examples
    --------
    >>> serial, parallel = measured_calls()
    >>> serial >= 0 and parallel >= 0
    True
    """
    return _CALLS[0], _CALLS[1]


class _ThreadChoice:
    """One kernel's :class:`_Entry` for each amount of work it was called with."""

    def __init__(self):
        self.entries = {}

    def entry(self, work, threads) -> _Entry:
        """The entry of ``work`` on ``threads`` threads, made on first use.

        All are forgotten past 4096 of them.
        """
        key = (work, threads)
        entry = self.entries.get(key)
        if entry is None:
            if len(self.entries) >= 4096:
                self.entries.clear()
            entry = self.entries[key] = _Entry()
        return entry


def _launch_and_count_threads() -> int:
    """numba's thread count (:func:`numba.get_num_threads`), and a faster way to read it.

    ``numba.get_num_threads`` makes sure the thread pool runs before it reads the count
    (about a microsecond a call); once the pool runs, :func:`_num_threads` becomes the
    reader alone (numba's ``_get_num_threads``), where this numba has it.
    """
    global _num_threads
    count = numba.get_num_threads()
    reader = getattr(numba_parallel, "_get_num_threads", None)
    if callable(reader) and reader() == count:
        _num_threads = reader
    return count


_num_threads = _launch_and_count_threads


class _CompileNotice(event.Listener):
    """Logs :data:`COMPILING_MESSAGE` at the first compilation of a topokit kernel.

    numba starts a ``"numba:compile"`` event only after its on-disk cache had nothing
    for the signature, so loading cached kernels says nothing. Compilations of other
    packages' functions are not ours to announce. Once per process: numba compiles one
    function at a time (under its compiler lock), so the flag needs no lock of its own.
    """

    def __init__(self):
        self.announced = False

    def on_start(self, ev):
        if self.announced:
            return
        function = getattr(ev.data.get("dispatcher"), "py_func", None)
        if getattr(function, "__module__", "").startswith("topokit."):
            self.announced = True
            _LOGGER.info(COMPILING_MESSAGE)

    def on_end(self, ev):
        pass


_NOTICE = _CompileNotice()
event.register("numba:compile", _NOTICE)
