"""Running a study: its pending runs on local worker processes or a Dask cluster.

The driver (the process calling :func:`run_study`) opens the study's store, asks it
which runs are still to do, claims a few of them at a time in the store, hands each to a
worker and records every result as it comes back, one transaction per run: the workers
never write the store. Killing the driver at any moment loses at most the runs in flight;
calling :func:`run_study` again does the rest. A run that raises is recorded as failed
with its error and the study goes on. Several drivers on one folder share its runs: the
claims carry a lease (``lease_seconds``) that a live driver renews, so each run is done
once and the runs of a driver that died are taken over when its lease expires.

A changed study file run into the same folder (more seeds, another family, another
density, a changed recipe) runs only the runs that are not stored yet; the stored runs it
no longer names stay stored, and the summary counts and describes them.
:func:`plan_study` says what a call would do, and does nothing.

Progress goes to stderr: a bar on a terminal, else (batch jobs, logs) one line every
:data:`PROGRESS_INTERVAL` seconds with the runs done, failed and the time left.
An interrupt (Ctrl-C) stops the workers at once; the runs stored stay stored.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from topokit._errors import TopokitError
from topokit._validation import check_int
from topokit.analysis._dask import dask_client, parse_local
from topokit.analysis._execute import _CRASH_VARIABLE, execute_run, init_worker
from topokit.analysis._heap import run_heap
from topokit.analysis._leases import LEASE_SECONDS, ClaimedRuns, check_lease_seconds
from topokit.analysis._profiler import paused_profiler
from topokit.analysis.store import STORE_FILENAME, ResultStore, RunResult
from topokit.analysis.study import RunConfig

__all__ = [
    "DEFAULT_RETRIES",
    "LEASE_SECONDS",
    "PROGRESS_INTERVAL",
    "StudyPlan",
    "StudyStoppedError",
    "StudySummary",
    "plan_study",
    "run_study",
]

#: Seconds between two progress lines when stderr is not a terminal.
PROGRESS_INTERVAL = 30.0

#: How many times a run whose worker process died under it (out of memory, a crash in
#: native code, a kill) is tried again before it is recorded as failed.
DEFAULT_RETRIES = 1


class StudyStoppedError(TopokitError):
    """The study stopped before its end: its Dask scheduler was lost, or runs did not come
    back from their workers. The runs stored before are intact; running the study again
    goes on from there.

    Parameters
    ----------
    message : str
        What happened, what is stored, and what to do.
    directory : pathlib.Path
        The study folder.
    n_stored : int
        Runs stored by the call before it stopped.

    Examples
    --------
    >>> from pathlib import Path
    >>> from topokit import TopokitError
    >>> from topokit.analysis import StudyStoppedError
    >>> error = StudyStoppedError("lost the scheduler", directory=Path("out"), n_stored=3)
    >>> isinstance(error, TopokitError), error.n_stored, str(error)
    (True, 3, 'lost the scheduler')
    """

    def __init__(self, message: str, *, directory: Path, n_stored: int):
        super().__init__(message)
        self.directory = Path(directory)
        self.n_stored = n_stored


# Workers are started from a clean server process (never by forking a driver that may
# hold numba or BLAS threads); the server imports topokit once, so each worker starts
# in a fraction of a second.
_START_METHOD = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
_PRELOAD = ["topokit.analysis._execute", "topokit.nn", "topokit.metrics"]


@dataclass(frozen=True)
class StudySummary:
    """What :func:`run_study` did.

    :func:`run_study` returns one; each parameter is an attribute of the same name (the
    instance is frozen).

    Parameters
    ----------
    directory : pathlib.Path
        The study folder (``results.sqlite`` inside).
    study : str
        The study's name.
    n_runs : int
        Runs in the study's grid.
    n_skipped : int
        Runs already stored when it started (not run again).
    n_ok, n_failed : int
        Runs run now that succeeded / failed.
    n_lost : int
        Runs whose worker died before returning (not stored: the next call runs them).
        :func:`run_study` raises instead of returning when a run is lost, so in the
        summaries it returns this is 0.
    stored : dict
        The study's runs in the store at the end: ``{"ok": ..., "failed": ...}`` (stored
        runs it does not name are counted by ``n_unnamed``).
    seconds : float
        Wall time of the call.
    run_seconds : float
        Sum of the runs' own times (topology, metrics, training) in the workers.
    workers : int
        Number of worker processes used.
    backend : str
        ``"local"`` or the Dask address.
    n_unnamed : int, default 0
        Runs in the store that the study no longer names (of earlier definitions of the
        study): kept, not run, left out of the analysis.
    unnamed : str, default ""
        What sets those runs apart, e.g. ``"seed 3, 4; learning_rate 0.1"``.
    n_elsewhere : int, default 0
        Runs pending when it started that another driver on the same store did
        meanwhile (see ``lease_seconds`` of :func:`run_study`).

    Examples
    --------
    >>> from pathlib import Path
    >>> from topokit.analysis import StudySummary
    >>> summary = StudySummary(directory=Path("out"), study="tiny", n_runs=4, n_skipped=1,
    ...                        n_ok=2, n_failed=1, n_lost=0, stored={"ok": 3, "failed": 1},
    ...                        seconds=12.5, run_seconds=40.0, workers=4, backend="local")
    >>> summary.n_ok + summary.n_failed + summary.n_skipped == summary.n_runs
    True
    """

    directory: Path
    study: str
    n_runs: int
    n_skipped: int
    n_ok: int
    n_failed: int
    n_lost: int
    stored: dict
    seconds: float
    run_seconds: float
    workers: int
    backend: str
    n_unnamed: int = 0
    unnamed: str = ""
    n_elsewhere: int = 0

    def to_dict(self) -> dict:
        """A JSON-ready dict of the fields.

        Returns
        -------
        dict
            Each field by name, ``directory`` as a string.

        Examples
        --------
        >>> from pathlib import Path
        >>> from topokit.analysis import StudySummary
        >>> summary = StudySummary(directory=Path("out"), study="tiny", n_runs=4, n_skipped=1,
        ...                        n_ok=2, n_failed=1, n_lost=0, stored={"ok": 3, "failed": 1},
        ...                        seconds=12.5, run_seconds=40.0, workers=4, backend="local")
        >>> record = summary.to_dict()
        >>> record["directory"], record["stored"], record["backend"]
        ('out', {'ok': 3, 'failed': 1}, 'local')
        """
        return {
            "directory": str(self.directory),
            "study": self.study,
            "n_runs": self.n_runs,
            "n_skipped": self.n_skipped,
            "n_ok": self.n_ok,
            "n_failed": self.n_failed,
            "n_lost": self.n_lost,
            "stored": dict(self.stored),
            "seconds": self.seconds,
            "run_seconds": self.run_seconds,
            "workers": self.workers,
            "backend": self.backend,
            "n_unnamed": self.n_unnamed,
            "unnamed": self.unnamed,
            "n_elsewhere": self.n_elsewhere,
        }


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _estimated_cost(run) -> float:
    """Weights of the run's network, from its configuration (a scheduling estimate)."""
    total = 0.0
    for k, family in enumerate(run.layer_families()):
        n_in, n_out = run.sizes[k], run.sizes[k + 1]
        if family == "dense" or (run.density is None and run.degree is None):
            total += n_in * n_out
        elif run.density is not None:
            total += run.density * n_in * n_out
        else:
            total += run.degree * n_out
    return total


_running = False  # in a local worker: whether a run is in progress


def _interrupt_a_run(signum, frame):
    """A local worker's SIGINT handler: end the run in progress; an idle worker (waiting
    for the next run) ignores it and is ended by the pool's shutdown."""
    if _running:
        raise KeyboardInterrupt


_started = None  # in a local worker: the queue where it says which run it starts


def _init_local_worker(threads, driver_pid, notices, started, crash_seed):
    global _started
    init_worker(threads, driver_pid, notices=notices)
    signal.signal(signal.SIGINT, _interrupt_a_run)
    _started = started
    # the tests' crashing run (see _execute._CRASH_VARIABLE), as the driver has it now (the
    # forkserver keeps the environment it started with)
    if crash_seed is None:
        os.environ.pop(_CRASH_VARIABLE, None)
    else:
        os.environ[_CRASH_VARIABLE] = crash_seed


def _execute_interruptibly(config: dict, key: str) -> dict:
    """:func:`execute_run` in a local worker, where SIGINT ends it; the worker first tells
    the driver which run it starts (to name the run that kills its worker)."""
    global _running
    _started.put((os.getpid(), key))
    _running = True
    try:
        return execute_run(config)
    finally:
        _running = False


def _exit_text(exitcode) -> str:
    """How a worker process ended, from its exit code."""
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by signal {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit status {exitcode}"


def _driver_shows_notices() -> bool:
    """Whether this process shows the ``"topokit"`` logger's INFO records (the command line
    does unless --quiet): the local workers then show theirs too."""
    logger = logging.getLogger("topokit")
    return logger.isEnabledFor(logging.INFO) and logger.hasHandlers()


class _LocalBackend:
    """A pool of worker processes, each limited to its share of the cores.

    A worker process that dies (out of memory, a segfault, a kill) breaks a
    ``ProcessPoolExecutor``: every run in it fails with ``BrokenProcessPool``. The backend
    then names the run(s) whose process died by itself (each worker says which run it
    starts; the pool ends the others with SIGTERM), starts a new pool, and the driver
    runs the others again.
    """

    def __init__(self, workers: int, threads: int):
        self.context = multiprocessing.get_context(_START_METHOD)
        if _START_METHOD == "forkserver":
            self.context.set_forkserver_preload(_PRELOAD)
        self.workers, self.threads = workers, threads
        self.started_queue = self.context.SimpleQueue()
        self.started: dict = {}  # pid -> key of the last run it started (this pool)
        self.deaths: dict = {}  # id(pool) -> {run key: how its process ended}
        self.pool = None
        self._start_pool()

    def _start_pool(self):
        self.pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=self.context,
            initializer=_init_local_worker,
            initargs=(
                self.threads,
                os.getpid(),
                _driver_shows_notices(),
                self.started_queue,
                os.environ.get(_CRASH_VARIABLE),
            ),
        )

    def drain(self):
        while not self.started_queue.empty():
            pid, key = self.started_queue.get()
            self.started[pid] = key

    def submit(self, config, key):
        future = self.pool.submit(_execute_interruptibly, config, key)
        future.topokit_pool = self.pool
        return future

    def _restart(self):
        """Name the runs whose worker died in the broken pool; start a new pool."""
        broken = self.pool
        processes = list((getattr(broken, "_processes", None) or {}).values())
        # The pool's own thread fails the futures, then ends the survivors with SIGTERM
        # and joins every process: wait for it, and read the exit codes after. Joining
        # them here as well raced with it for each forkserver process's status, and the
        # loser read exit status 255 (an innocent run was then blamed for the crash).
        broken.shutdown(wait=True)
        self.drain()
        ended = {p.pid: p.exitcode for p in processes if p.pid in self.started}
        died = {
            self.started[pid]: _exit_text(code)
            for pid, code in ended.items()
            if code != -signal.SIGTERM
        }
        if not ended:  # no worker ever started a run (a script that re-runs itself on import)
            died = None
        elif not died:  # none died by itself (ended with SIGTERM): suspect every run in flight
            died = {self.started[pid]: _exit_text(code) for pid, code in ended.items()}
        self.deaths[id(broken)] = died
        self.started = {}
        self._start_pool()

    def death(self, future, key, exc):
        """``("crash", how)`` for the run whose worker died under it, ``("again", None)``
        for a run lost with another's worker, None for anything else (a pool whose workers
        died before they started any run)."""
        if not isinstance(exc, BrokenProcessPool):
            return None
        if future.topokit_pool is self.pool:
            self._restart()
        died = self.deaths.get(id(future.topokit_pool))
        if died is None:  # the workers died before any run: running again would not help
            return None
        how = died.get(key)
        return ("again", None) if how is None else ("crash", how)

    def close(self, *, cancel: bool):
        if cancel:  # interrupted or failed: the runs in flight are not waited for
            # the pool offers no way to stop running work but to signal its processes;
            # they only compute (the driver alone writes the store), so this loses nothing.
            # SIGINT ends the run in flight (_interrupt_a_run) and leaves the worker to
            # exit cleanly.
            for process in list((getattr(self.pool, "_processes", None) or {}).values()):
                with suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGINT)
        self.pool.shutdown(wait=True, cancel_futures=cancel)
        self.started_queue.close()


def _execute_on_dask(config, threads):
    """:func:`execute_run` on a Dask worker, with the C heap kept for the run (see
    :mod:`topokit.analysis._heap`: the nanny's ``MALLOC_TRIM_THRESHOLD_``) and the
    worker's profiler paused (:mod:`topokit.analysis._profiler`)."""
    with run_heap(), paused_profiler():
        return execute_run(config, threads)


class _DaskBackend:
    def __init__(self, client, threads, address):
        self.client, self.threads, self.address = client, threads, address

    def submit(self, config, key):
        return self.client.submit(_execute_on_dask, config, self.threads, pure=False)

    def drain(self):
        pass  # nothing to read while runs are in flight

    def death(self, future, key, exc):
        """``("failed", how)`` for a run whose workers died under it as many times as the
        scheduler allows (``distributed.scheduler.allowed-failures``); raises
        :class:`StudyStoppedError`'s message as a TopokitError when the scheduler is lost;
        None for anything else."""
        from distributed import KilledWorker

        if isinstance(exc, KilledWorker):
            return ("failed", f"its Dask worker process died under it ({exc})")
        if self.client.status not in ("running", "newly-created") or (
            "scheduler-connection-lost" in str(exc)
        ):
            raise _SchedulerLostError(self.address)
        return None

    def close(self, *, cancel: bool):
        pass  # the client (and a local cluster) close with their context


class _SchedulerLostError(Exception):
    """The driver lost its connection to the Dask scheduler."""


@contextmanager
def _backend(workers, dask, n_pending, client=None, retries=DEFAULT_RETRIES):
    """The backend that runs the pending runs: a local pool, a LocalCluster, or the
    ``(client, threads)`` of a remote scheduler already connected."""
    if dask is None:
        n_workers = max(1, min(workers, n_pending))
        backend = _LocalBackend(n_workers, max(1, _cores() // n_workers))
        cancel = True
        try:
            yield backend, n_workers
            cancel = False
        finally:
            backend.close(cancel=cancel)
        return
    with ExitStack() as stack:
        if client is None:
            client = stack.enter_context(dask_client(dask, retries=retries))
        client, threads = client
        n_workers = len(client.scheduler_info().get("workers", {}))
        yield _DaskBackend(client, threads, dask), n_workers


def _check_arguments(workers, dask):
    """``workers`` as an int; the errors of arguments that cannot go together."""
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        # a worker process re-running the main script as it starts (the call is not under
        # ``if __name__ == "__main__":``): it must not become a second driver on the store
        raise TopokitError(
            "run_study was called while a worker process was importing the main script: "
            'put the call under `if __name__ == "__main__":`'
        )
    if dask is not None and workers is not None:
        raise TopokitError(
            f"give workers or dask, not both (got workers={workers!r}, dask={dask!r}); "
            "with Dask, the cluster's workers run the study (local:N sets N)"
        )
    workers = _cores() if workers is None else check_int("workers", workers, minimum=1)
    if dask is not None and not isinstance(dask, str):
        raise TopokitError(f"dask must be an address string, got {dask!r}")
    return workers


def _short(values, limit=4) -> str:
    values = list(values)
    text = ", ".join(str(v) for v in values[:limit])
    return text + (f" and {len(values) - limit} more" if len(values) > limit else "")


def _describe_unnamed(configs, runs) -> str:
    """What sets the stored runs ``configs`` apart from the study's ``runs``: the values
    of each field that no run of the study has (``"seed 3, 4; learning_rate 0.1"``)."""
    try:
        others = [RunConfig.from_dict(config) for config in configs]
    except (TopokitError, KeyError, TypeError):
        return "runs of another run-configuration format"
    fields = {
        "family": lambda r: r.label,
        "sizes": lambda r: "-".join(str(n) for n in r.sizes),
        "density": lambda r: r.density,
        "degree": lambda r: r.degree,
        "seed": lambda r: r.seed,
        "dataset": lambda r: r.dataset,
        "dense_layers": lambda r: list(r.dense_layers),
        "metrics": lambda r: "all" if r.metrics is None else ",".join(r.metrics),
    }
    keys = dict.fromkeys(k for run in [*runs, *others] for k in run.training)
    for key in keys:
        fields[key] = lambda r, key=key: r.training.get(key)
    parts = []
    for name, value in fields.items():
        named = {repr(value(run)) for run in runs}
        extra = {repr(value(run)): value(run) for run in others}
        extra = [v for text, v in extra.items() if text not in named]
        with suppress(TypeError):  # values of several types (None and numbers): as stored
            extra = sorted(extra)
        if extra:
            parts.append(f"{name} {_short(extra)}")
    return "; ".join(parts) or "other combinations of the study's values"


def _unnamed(store, runs):
    """(count, description) of the stored runs that ``runs`` do not name."""
    named = {run.key for run in runs}
    configs = [row["config"] for row in store.run_rows() if row["run_key"] not in named]
    return len(configs), (_describe_unnamed(configs, runs) if configs else "")


def _crash_text(how: str, attempts: int) -> str:
    """The error recorded for a run whose worker process died under it on each attempt."""
    times = "once" if attempts == 1 else f"on each of its {attempts} attempts"
    return (
        f"its worker process died while running it ({how}), {times}: out of memory, a "
        "crash in native code, or a kill; not tried again (retries="
        f"{attempts - 1})"
    )


def format_duration(seconds: float) -> str:
    """A duration as people read it: ``"42 s"``, ``"3 min 20 s"``, ``"2 h 05 min"``.

    Progress lines and ``topokit study --dry-run`` estimates use it.

    Examples
    --------
    >>> from topokit.analysis.runner import format_duration
    >>> format_duration(42.4), format_duration(200), format_duration(7500)
    ('42 s', '3 min 20 s', '2 h 05 min')
    """
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class _ProgressLines:
    """One line on stderr every :data:`PROGRESS_INTERVAL` seconds, from a thread.

    Reads ``counts`` (``ok``, ``failed``, ``lost``) as the driver updates them.
    """

    def __init__(self, name: str, total: int, counts: dict):
        self.name, self.total, self.counts = name, total, counts
        self.start = time.perf_counter()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="topokit-progress", daemon=True)

    def line(self) -> str:
        done = sum(self.counts.values())
        elapsed = time.perf_counter() - self.start
        if done:
            left = f"about {format_duration(elapsed / done * (self.total - done))} left"
        else:
            left = "time left not known yet"
        return (
            f"study {self.name}: {done} of {self.total} runs done, "
            f"{self.counts['failed']} failed, {format_duration(elapsed)} elapsed, {left}"
        )

    def _loop(self):
        while not self.stopped.wait(PROGRESS_INTERVAL):
            print(self.line(), file=sys.stderr, flush=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stopped.set()
        self.thread.join()


@contextmanager
def _progress(total, name, show, counts):
    """A tqdm bar (``show`` True, or None on a terminal), progress lines (None elsewhere)
    or nothing (False); yields the bar, disabled where there is none."""
    if show is None and not sys.stderr.isatty():
        with _ProgressLines(name, total, counts), _progress_bar(total, name, False) as bar:
            yield bar
        return
    with _progress_bar(total, name, show) as bar:
        yield bar


def _progress_bar(total, name, show):
    from tqdm import tqdm

    if show is None:
        show = sys.stderr.isatty()
    return tqdm(
        total=total,
        desc=f"study {name}",
        unit="run",
        disable=not show,
        leave=False,
        file=sys.stderr,
        dynamic_ncols=True,
    )


def _run_all(backend, claimed, store, counts, bar, retries):
    """Run the runs ``claimed`` hands out on ``backend``, recording each result in ``store``.

    A run stored by another driver meanwhile is counted as done elsewhere. A run whose
    worker died under it goes again, up to ``retries`` times, then is stored as failed; a
    run lost with another's worker goes again. Updates ``counts`` and ``bar``; returns
    ``(sum of run seconds, reason of the first lost run, whether the Dask scheduler was
    lost)``.
    """
    run_seconds, lost_reason = 0.0, None
    crashes: dict = {}  # run key -> times its worker died under it
    for run, future in claimed:
        backend.drain()
        if future is None:  # stored by another driver meanwhile
            counts["elsewhere"] += 1
            bar.update()
            continue
        try:
            fields = future.result()
        except Exception as exc:  # the worker died (killed, out of memory)
            try:
                death = backend.death(future, run.key, exc)
            except _SchedulerLostError:
                return run_seconds, lost_reason, True
            if death is None:
                counts["lost"] += 1
                lost_reason = lost_reason or " ".join(str(exc).split()) or repr(exc)
                bar.update()
                continue
            kind, how = death
            if kind == "crash":
                crashes[run.key] = crashes.get(run.key, 0) + 1
            if kind == "again" or (kind == "crash" and crashes[run.key] <= retries):
                claimed.resubmit(run)  # still claimed by this driver
                continue
            if kind == "crash":
                how = _crash_text(how, crashes[run.key])
            result = RunResult.failed(how)
        else:
            result = RunResult(**fields)
        store.record(run, result)
        counts[result.status] += 1
        run_seconds += result.seconds or 0.0
        bar.set_postfix(ok=counts["ok"], failed=counts["failed"], refresh=False)
        bar.update()
    return run_seconds, lost_reason, False


def run_study(
    study,
    directory,
    *,
    workers=None,
    dask=None,
    progress=None,
    retry_failed=False,
    retries=DEFAULT_RETRIES,
    lease_seconds=LEASE_SECONDS,
) -> StudySummary:
    """Run the pending runs of ``study`` and record them in ``directory``'s store.

    Each run builds its topology with the run's topology generator, computes the study's
    metrics, loads the dataset (once per worker process) and trains a
    :class:`~topokit.nn.SparseMLP` with the study's recipe and the run's training
    generator; the outcomes, metrics and learning curve go to
    ``directory/results.sqlite`` as each run finishes. Runs already stored are skipped
    (failed ones too, unless ``retry_failed``), so calling it again after an
    interruption finishes the study, and calling it with a grown study (more seeds,
    families, densities, sizes, swept training values) runs only the new runs. Stored
    runs the study no longer names are kept, and counted in the summary.

    Parameters
    ----------
    study : Study
        From :func:`~topokit.analysis.load_study` or :func:`~topokit.analysis.load_preset`.
    directory : str or os.PathLike
        The study folder; created if missing.
    workers : int, optional
        Local worker processes (default: one per core). Each runs its numba and BLAS
        code on ``cores // workers`` threads. Not with ``dask``.
    dask : str, optional
        Run on Dask instead: ``"tcp://host:port"`` of a running scheduler (reached within
        10 s, or an error), or ``"local:N"`` for a LocalCluster of N worker processes.
        Each run on a Dask worker uses that worker's share of its machine: one thread
        per run (``nthreads`` runs at a time), or ``cores // nthreads`` where the worker
        declares a ``cores`` resource; start workers ``dask worker ADDR --nworkers C
        --nthreads 1`` for C cores.
    progress : bool, optional
        True: a progress bar on stderr; False: nothing. By default, a bar when stderr is
        a terminal, else a line every :data:`PROGRESS_INTERVAL` seconds (runs done,
        failed, estimated time left), so that batch logs show progress.
    retry_failed : bool, default False
        Run again the runs stored as failed.
    retries : int, default :data:`DEFAULT_RETRIES`
        How many times a run whose worker process dies under it (out of memory, a crash
        in native code, a kill) is tried again; then it is stored as failed with the
        reason, and the study goes on. The local pool replaces a dead worker; on
        ``local:N`` it is the cluster's ``allowed-failures``; a remote scheduler uses its
        own ``distributed.scheduler.allowed-failures`` (Dask's default: 3).
    lease_seconds : float, default :data:`LEASE_SECONDS`
        Several drivers (``run_study`` calls, ``topokit study`` processes) may run the
        same study into the same folder: each claims in the store the runs it is about to
        do, a few at a time, and the others leave those runs to it. A claim holds this
        many seconds and its driver renews it every third of that while the run is in
        flight, so the claims of a driver that died expire after at most this long, and
        another driver then does those runs. When every run left is claimed by others,
        the driver waits for them (saying so) and ends when they are stored.

    Returns
    -------
    StudySummary

    Raises
    ------
    TopokitError
        If the folder cannot be created or written (read-only, disk full), holds the
        store of a study of another name (see :class:`~topokit.analysis.ResultStore`),
        or the Dask scheduler cannot be reached or has no workers (checked before
        anything is written). Runs stored before the error are intact.
    StudyStoppedError
        If the connection to the Dask scheduler is lost mid-study, or runs did not come
        back from their workers: the runs stored so far are intact; running the study
        again does the rest.
    KeyboardInterrupt
        On Ctrl-C: the local workers are stopped, the runs in flight are not stored, the
        runs stored before are intact; calling it again goes on from there.

    Examples
    --------
    >>> import tempfile
    >>> from topokit.analysis import load_study
    >>> from topokit.analysis.runner import run_study
    >>> study = load_study('''
    ... name = "tiny"
    ... sizes = [64, 16, 10]
    ... seeds = [0]
    ... training = {epochs = 1}
    ... [[families]]
    ... name = "dense"
    ... ''')
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     summary = run_study(study, folder, workers=1, progress=False)
    ...     again = run_study(study, folder, workers=1, progress=False)
    >>> summary.n_ok, again.n_skipped, again.n_ok
    (1, 1, 0)
    """
    start = time.perf_counter()
    workers = _check_arguments(workers, dask)
    retries = check_int("retries", retries, minimum=0)
    lease_seconds = check_lease_seconds(lease_seconds)
    runs = study.runs()
    with ExitStack() as stack:
        client = None
        if dask is not None and parse_local(dask) is None:
            # a remote scheduler is reached (and has workers) before anything is written
            client = stack.enter_context(dask_client(dask))
        store = stack.enter_context(ResultStore(directory, study))
        todo = store.pending(runs, retry_failed=retry_failed)
        n_skipped = len(runs) - len(todo)
        n_unnamed, unnamed = _unnamed(store, runs)
        counts = {"ok": 0, "failed": 0, "lost": 0, "elsewhere": 0}
        run_seconds, n_workers, lost_reason, scheduler_lost = 0.0, 0, None, False
        if todo:
            # longest first, so that no long run is left alone at the end
            todo = sorted(todo, key=_estimated_cost, reverse=True)
            with (
                _backend(workers, dask, len(todo), client, retries) as (backend, n_workers),
                _progress(len(todo), study.name, progress, counts) as bar,
                ClaimedRuns(
                    store,
                    lambda run: backend.submit(run.to_dict(), run.key),
                    todo,
                    window=2 * max(1, n_workers),
                    lease_seconds=lease_seconds,
                    retry_failed=retry_failed,
                    waiting=_waiting_notice(study.name, progress),
                ) as claimed,
            ):
                run_seconds, lost_reason, scheduler_lost = _run_all(
                    backend, claimed, store, counts, bar, retries
                )
        statuses = store.statuses()
    stored = {"ok": 0, "failed": 0}
    for run in runs:
        if run.key in statuses:
            stored[statuses[run.key]] += 1
    n_done = counts["ok"] + counts["failed"]
    if scheduler_lost:
        raise StudyStoppedError(
            f"lost the connection to the Dask scheduler at {dask!r}: the study stopped with "
            f"{n_done} of {len(todo)} runs done now and stored in {str(store.path)!r} "
            f"({stored['ok'] + stored['failed']} of the study's {len(runs)} in all); the "
            "runs in flight were not stored: start the scheduler and workers again and run "
            "the study again to do the rest",
            directory=Path(directory),
            n_stored=n_done,
        )
    if counts["lost"]:
        raise StudyStoppedError(
            f"{counts['lost']} of {len(todo)} runs did not come back from their worker "
            f"({lost_reason}); the {n_done} that did are stored in "
            f"{str(store.path)!r}: run the study again to do the rest (a worker process died: "
            "out of memory, killed, or a script that starts a study outside "
            "`if __name__ == '__main__':`, which the workers re-import)",
            directory=Path(directory),
            n_stored=n_done,
        )
    return StudySummary(
        directory=Path(directory),
        study=study.name,
        n_runs=len(runs),
        n_skipped=n_skipped,
        n_ok=counts["ok"],
        n_failed=counts["failed"],
        n_lost=counts["lost"],
        stored=stored,
        seconds=time.perf_counter() - start,
        run_seconds=run_seconds,
        workers=n_workers,
        backend="local" if dask is None else dask,
        n_unnamed=n_unnamed,
        unnamed=unnamed,
        n_elsewhere=counts["elsewhere"],
    )


def _waiting_notice(name, progress):
    """What a driver says when the runs left are all claimed by other drivers: one line
    on stderr (nothing with ``progress=False``)."""

    def waiting(n_runs, drivers):
        if progress is False:
            return
        print(
            f"study {name}: the {n_runs} run(s) left are being done by another driver "
            f"({_short(drivers, 2) or 'whose claim just ended'}); waiting for them, and "
            "doing any whose driver stops renewing its claim",
            file=sys.stderr,
            flush=True,
        )

    return waiting


#: Rough cost of a run when no stored run measures it: seconds per run, and per weight
#: of the network and epoch (a digits-sized data set on one core; a data set with n
#: times more training samples takes about n times longer).
_ROUGH_SECONDS_PER_RUN = 0.5
_ROUGH_SECONDS_PER_WEIGHT_EPOCH = 1e-6


@dataclass(frozen=True)
class StudyPlan:
    """What :func:`run_study` would do with a study and a folder: the grid, the runs to
    do and to skip, and an estimate of the time.

    :func:`plan_study` makes it; each parameter is an attribute of the same name (the
    instance is frozen).

    Parameters
    ----------
    directory : pathlib.Path
        The study folder.
    study : str
        The study's name.
    grid : dict
        The axes: ``sizes``, ``families`` (with their parameters), ``densities``,
        ``degrees``, ``seeds`` and ``training`` (each swept training key and its values).
    n_runs : int
        Runs in the grid.
    n_new : int
        Runs that would run now (not stored, or stored as failed with ``retry_failed``).
    n_stored : dict
        Runs of the grid already stored: ``{"ok": ..., "failed": ...}``.
    n_unnamed : int
        Stored runs the study does not name (kept, not run).
    unnamed : str
        What sets them apart ("" when there are none).
    workers : int or None
        Runs at the same time (None: a remote Dask cluster's, unknown until reached).
    run_seconds : float
        Estimated sum of the new runs' own times.
    seconds : float or None
        Estimated wall time: ``run_seconds`` shared among ``workers`` (None when the
        number of workers is unknown).
    estimate : str
        How the estimate was made.
    runs : list of RunConfig, default []
        The new runs, in the grid's order (left out of :meth:`to_dict`).
    n_claimed : int, default 0
        Of the new runs, those another driver is doing now (claimed in the store with a
        live lease): a driver started now leaves them to it.

    Examples
    --------
    >>> from pathlib import Path
    >>> from topokit.analysis import StudyPlan
    >>> plan = StudyPlan(directory=Path("out"), study="tiny", grid={}, n_runs=4, n_new=3,
    ...                  n_stored={"ok": 1, "failed": 0}, n_unnamed=0, unnamed="", workers=2,
    ...                  run_seconds=6.0, seconds=3.0, estimate="rough")
    >>> plan.to_dict()["n_new"]
    3
    """

    directory: Path
    study: str
    grid: dict
    n_runs: int
    n_new: int
    n_stored: dict
    n_unnamed: int
    unnamed: str
    workers: int | None
    run_seconds: float
    seconds: float | None
    estimate: str
    runs: list = field(default_factory=list, repr=False, compare=False)
    n_claimed: int = 0

    def to_dict(self) -> dict:
        """A JSON-ready dict of the fields (without the runs).

        Returns
        -------
        dict
            Each field by name but ``runs``, ``directory`` as a string.

        Examples
        --------
        >>> from pathlib import Path
        >>> from topokit.analysis import StudyPlan
        >>> plan = StudyPlan(directory=Path("out"), study="tiny", grid={}, n_runs=1,
        ...                  n_new=1, n_stored={"ok": 0, "failed": 0}, n_unnamed=0,
        ...                  unnamed="", workers=1, run_seconds=2.0, seconds=2.0,
        ...                  estimate="rough")
        >>> sorted(plan.to_dict())[:4]
        ['directory', 'estimate', 'grid', 'n_claimed']
        """
        return {
            "directory": str(self.directory),
            "study": self.study,
            "grid": self.grid,
            "n_runs": self.n_runs,
            "n_new": self.n_new,
            "n_stored": dict(self.n_stored),
            "n_unnamed": self.n_unnamed,
            "unnamed": self.unnamed,
            "workers": self.workers,
            "run_seconds": self.run_seconds,
            "seconds": self.seconds,
            "estimate": self.estimate,
            "n_claimed": self.n_claimed,
        }


def _grid(study) -> dict:
    return {
        "sizes": [list(sizes) for sizes in study.sizes],
        "families": [spec.to_dict() for spec in study.families],
        "densities": None if study.densities is None else list(study.densities),
        "degrees": None if study.degrees is None else list(study.degrees),
        "seeds": list(study.seeds),
        "training": {key: list(values) for key, values in study.swept_training.items()},
    }


def _weight_epochs(run) -> float:
    epochs = run.training.get("epochs")
    return _estimated_cost(run) * (epochs if isinstance(epochs, int) else 1)


def _estimate(todo, rows):
    """(sum of run seconds, how it was estimated) of the runs ``todo``."""
    measured = []
    for row in rows:
        if row["status"] == "ok" and row["seconds"]:
            try:
                measured.append(
                    (row["seconds"], _weight_epochs(RunConfig.from_dict(row["config"])))
                )
            except (TopokitError, KeyError, TypeError):
                continue
    cost = sum(_weight_epochs(run) for run in todo)
    if measured:
        rate = sum(seconds for seconds, _ in measured) / sum(c for _, c in measured)
        how = (
            f"from the {len(measured)} stored runs' seconds, scaled by each run's weights x epochs"
        )
        return cost * rate, how
    seconds = len(todo) * _ROUGH_SECONDS_PER_RUN + cost * _ROUGH_SECONDS_PER_WEIGHT_EPOCH
    how = (
        "rough, no stored run to measure: 0.5 s per run + 1 us per weight and epoch "
        "(a digits-sized data set; larger ones take longer in proportion)"
    )
    return seconds, how


def plan_study(study, directory, *, workers=None, dask=None, retry_failed=False) -> StudyPlan:
    """What :func:`run_study` would do, without running or writing anything.

    Reads the folder's store where there is one (read-only; a missing folder is not
    created) to count the runs already stored and to time the new ones from them.

    Parameters
    ----------
    study : Study
    directory : str or os.PathLike
        The study folder.
    workers : int, optional
        Local worker processes (default: one per core). Not with ``dask``.
    dask : str, optional
        A Dask address as :func:`run_study` takes it (not contacted): ``"local:N"``
        shares the time among N workers, a remote address leaves the wall time unknown.
    retry_failed : bool, default False
        Count the runs stored as failed as new.

    Returns
    -------
    StudyPlan

    Raises
    ------
    TopokitError
        For arguments :func:`run_study` refuses, a store it would refuse (another
        study's name), or a store that cannot be read.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from topokit.analysis import ResultStore, RunResult, load_study, plan_study
    >>> study = load_study('name = "p"\\nsizes = [64, 10]\\nseeds = [0, 1, 2]\\n'
    ...                    '[training]\\nlearning_rate = [0.01, 0.1]\\n'
    ...                    '[[families]]\\nname = "dense"')
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     with ResultStore(folder, study) as store:
    ...         _ = store.record(study.runs()[0], RunResult("ok", seconds=2.0))
    ...     plan = plan_study(study, folder, workers=1)
    ...     missing = plan_study(study, Path(folder) / "new", workers=1)
    ...     created = (Path(folder) / "new").exists()
    >>> plan.n_runs, plan.n_new, plan.n_stored, plan.seconds, plan.grid["training"]
    (6, 5, {'ok': 1, 'failed': 0}, 10.0, {'learning_rate': [0.01, 0.1]})
    >>> missing.n_new, missing.estimate.startswith("rough"), created
    (6, True, False)
    """
    workers = _check_arguments(workers, dask)
    runs = study.runs()
    n_local = None if dask is None else parse_local(dask)
    path = Path(directory) / STORE_FILENAME
    rows, n_unnamed, unnamed, claims = [], 0, "", {}
    if path.is_file():
        with ResultStore(directory, study, readonly=True) as store:
            rows = store.run_rows()
            todo = store.pending(runs, retry_failed=retry_failed)
            n_unnamed, unnamed = _unnamed(store, runs)
            claims = store.live_claims()
    else:
        todo = list(runs)
    statuses = {row["run_key"]: row["status"] for row in rows}
    n_stored = {"ok": 0, "failed": 0}
    for run in runs:
        if run.key in statuses:
            n_stored[statuses[run.key]] += 1
    run_seconds, how = _estimate(todo, rows)
    n_workers = max(1, min(workers, len(todo))) if dask is None else n_local
    return StudyPlan(
        directory=Path(directory),
        study=study.name,
        grid=_grid(study),
        n_runs=len(runs),
        n_new=len(todo),
        n_stored=n_stored,
        n_unnamed=n_unnamed,
        unnamed=unnamed,
        workers=n_workers,
        run_seconds=run_seconds,
        seconds=None if n_workers is None else run_seconds / n_workers,
        estimate=how,
        runs=list(todo),
        n_claimed=sum(run.key in claims for run in todo),
    )
