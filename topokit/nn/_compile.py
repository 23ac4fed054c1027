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
  the serial copy below :data:`PARALLEL_WORK` multiply-adds. Both run the same
  operations in the same order, so the choice never changes a result.

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
import types

from numba import njit
from numba.core import event

# importing numba does not load libgomp (its first parallel kernel call does)
from topokit.nn import _openmp  # noqa: F401  (sets the OpenMP spin: see the module)

__all__ = [
    "BLOCK",
    "COMPILING_MESSAGE",
    "CONTRACT",
    "PARALLEL_WORK",
    "PREFETCH",
    "jit",
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


def parallel_and_serial(kernel, fastmath=False):
    """A kernel compiled twice, multithreaded and serial, called by amount of work.

    Returns ``run(work, *args)``, which calls the parallel version when ``work`` (the
    number of multiply-adds, or a comparable count) is at least :data:`PARALLEL_WORK`
    and the serial one otherwise; ``run.parallel`` and ``run.serial`` are the two
    versions, to call directly.
    """
    options = {"fastmath": fastmath, "error_model": "numpy"}
    parallel = jit(kernel, parallel=True, **options)
    # A distinct function object and name, so the two versions have separate cache files.
    serial_kernel = types.FunctionType(
        kernel.__code__, kernel.__globals__, kernel.__name__ + "_serial", kernel.__defaults__
    )
    serial_kernel.__qualname__ = kernel.__qualname__ + "_serial"
    serial = jit(serial_kernel, parallel=False, **options)

    def run(work, *args):
        return (parallel if work >= PARALLEL_WORK else serial)(*args)

    run.__name__ = kernel.__name__
    run.__doc__ = kernel.__doc__
    run.parallel, run.serial = parallel, serial
    return run


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
