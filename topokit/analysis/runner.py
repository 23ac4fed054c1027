"""Running a study: its pending runs on local worker processes or a Dask cluster.

The driver (the process calling :func:`run_study`) opens the study's store, asks it
which runs are still to do, hands each to a worker and records every result as it
comes back, one transaction per run: it is the store's only writer. Killing the driver
at any moment loses at most the runs in flight; calling :func:`run_study` again does
the rest. A run that raises is recorded as failed with its error and the study goes on.

Progress goes to stderr: a bar on a terminal, else (batch jobs, logs) one line every
:data:`PROGRESS_INTERVAL` seconds with the runs done, failed and the time left.
An interrupt (Ctrl-C) stops the workers at once; the runs stored stay stored.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import as_completed as _pool_completed
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from topokit._errors import TopokitError
from topokit._validation import check_int
from topokit.analysis._dask import dask_client
from topokit.analysis._execute import execute_run, init_worker
from topokit.analysis.store import ResultStore, RunResult

__all__ = ["PROGRESS_INTERVAL", "StudySummary", "run_study"]

#: Seconds between two progress lines when stderr is not a terminal.
PROGRESS_INTERVAL = 30.0

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
        Counts in the store at the end: ``{"ok": ..., "failed": ...}``.
    seconds : float
        Wall time of the call.
    run_seconds : float
        Sum of the runs' own times (topology, metrics, training) in the workers.
    workers : int
        Number of worker processes used.
    backend : str
        ``"local"`` or the Dask address.

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


def _init_local_worker(threads, driver_pid):
    init_worker(threads, driver_pid)
    signal.signal(signal.SIGINT, _interrupt_a_run)


def _execute_interruptibly(config: dict) -> dict:
    """:func:`execute_run` in a local worker, where SIGINT ends it."""
    global _running
    _running = True
    try:
        return execute_run(config)
    finally:
        _running = False


class _LocalBackend:
    """A pool of worker processes, each limited to its share of the cores."""

    def __init__(self, workers: int, threads: int):
        context = multiprocessing.get_context(_START_METHOD)
        if _START_METHOD == "forkserver":
            context.set_forkserver_preload(_PRELOAD)
        self.threads = threads
        self.pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_init_local_worker,
            initargs=(threads, os.getpid()),
        )

    def submit(self, config):
        return self.pool.submit(_execute_interruptibly, config)

    def completed(self, futures):
        return _pool_completed(futures)

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


class _DaskBackend:
    def __init__(self, client, threads):
        self.client, self.threads = client, threads

    def submit(self, config):
        return self.client.submit(execute_run, config, self.threads, pure=False)

    def completed(self, futures):
        from distributed import as_completed

        return as_completed(list(futures))

    def close(self, *, cancel: bool):
        pass  # the client (and a local cluster) close with their context


@contextmanager
def _backend(workers, dask, n_pending):
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
    with dask_client(dask) as (client, threads):
        n_workers = len(client.scheduler_info().get("workers", {}))
        yield _DaskBackend(client, threads), n_workers


def _duration(seconds: float) -> str:
    """``"42 s"``, ``"3 min 20 s"``, ``"2 h 05 min"``."""
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
            left = f"about {_duration(elapsed / done * (self.total - done))} left"
        else:
            left = "time left not known yet"
        return (
            f"study {self.name}: {done} of {self.total} runs done, "
            f"{self.counts['failed']} failed, {_duration(elapsed)} elapsed, {left}"
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


def run_study(
    study,
    directory,
    *,
    workers=None,
    dask=None,
    progress=None,
    retry_failed=False,
) -> StudySummary:
    """Run the pending runs of ``study`` and record them in ``directory``'s store.

    Each run builds its topology with the run's topology generator, computes the study's
    metrics, loads the dataset (once per worker process) and trains a
    :class:`~topokit.nn.SparseMLP` with the study's recipe and the run's training
    generator; the outcomes, metrics and learning curve go to
    ``directory/results.sqlite`` as each run finishes. Runs already stored are skipped
    (failed ones too, unless ``retry_failed``), so calling it again after an
    interruption finishes the study.

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
        Remote workers are best started single-threaded (``dask worker --nthreads 1``).
    progress : bool, optional
        True: a progress bar on stderr; False: nothing. By default, a bar when stderr is
        a terminal, else a line every :data:`PROGRESS_INTERVAL` seconds (runs done,
        failed, estimated time left), so that batch logs show progress.
    retry_failed : bool, default False
        Run again the runs stored as failed.

    Returns
    -------
    StudySummary

    Raises
    ------
    TopokitError
        If the folder cannot be created or written (read-only, disk full), holds the
        store of another study, or the Dask scheduler cannot be reached. Runs stored
        before the error are intact.
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
    if dask is not None and workers is not None:
        raise TopokitError(
            f"give workers or dask, not both (got workers={workers!r}, dask={dask!r}); "
            "with Dask, the cluster's workers run the study (local:N sets N)"
        )
    workers = _cores() if workers is None else check_int("workers", workers, minimum=1)
    if dask is not None and not isinstance(dask, str):
        raise TopokitError(f"dask must be an address string, got {dask!r}")
    runs = study.runs()
    with ResultStore(directory, study) as store:
        todo = store.pending(runs, retry_failed=retry_failed)
        n_skipped = len(runs) - len(todo)
        counts = {"ok": 0, "failed": 0, "lost": 0}
        run_seconds, n_workers, lost_reason = 0.0, 0, None
        if todo:
            # longest first, so that no long run is left alone at the end
            todo = sorted(todo, key=_estimated_cost, reverse=True)
            with (
                _backend(workers, dask, len(todo)) as (backend, n_workers),
                _progress(len(todo), study.name, progress, counts) as bar,
            ):
                futures = {backend.submit(run.to_dict()): run for run in todo}
                for future in backend.completed(futures):
                    run = futures.pop(future)
                    try:
                        fields = future.result()
                    except Exception as exc:  # the worker died (killed, out of memory)
                        counts["lost"] += 1
                        lost_reason = lost_reason or " ".join(str(exc).split()) or repr(exc)
                    else:
                        result = RunResult(**fields)
                        store.record(run, result)
                        counts[result.status] += 1
                        run_seconds += result.seconds or 0.0
                    bar.set_postfix(ok=counts["ok"], failed=counts["failed"], refresh=False)
                    bar.update()
        stored = store.counts()
    if counts["lost"]:
        raise TopokitError(
            f"{counts['lost']} of {len(todo)} runs did not come back from their worker "
            f"({lost_reason}); the {counts['ok'] + counts['failed']} that did are stored in "
            f"{str(store.path)!r}: run the study again to do the rest (a worker process died: "
            "out of memory, killed, or a script that starts a study outside "
            "`if __name__ == '__main__':`, which the workers re-import)"
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
    )
