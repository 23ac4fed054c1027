"""One run of a study, as it executes inside a worker process (local pool or Dask).

:func:`execute_run` takes a run's configuration as a plain dict (what
:meth:`RunConfig.to_dict` gives) and returns a plain dict of :class:`RunResult` fields,
so that nothing but builtins crosses the process boundary. It never raises for a run
that fails: the error is the result. A run with a dynamic rule trains with a
:class:`~topokit.nn.dynamic.DynamicSparsity` hook and records its outcomes
(``dynamic_outcomes`` of :mod:`topokit.analysis._snapshots`); a run that learns its graph
(dynamic or pruned) records snapshots of its layer graphs with their metrics. The
data-aware metrics (``input_coverage``, ``input_variance_fan_out``) are recorded with the
network metrics, from the variances of the training features, computed once per worker
and dataset. :func:`limit_threads` keeps
the numba and BLAS thread pools of a worker to its share of the cores (on a Dask worker,
:func:`dask_worker_threads`); :func:`init_worker` also ends a local worker whose driver
was killed.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
import traceback
from datetime import UTC, datetime

import numba
import numpy as np
from threadpoolctl import threadpool_limits

from topokit._errors import TopokitError
from topokit.analysis._snapshots import (
    GraphSnapshots,
    decode_layer,
    dynamic_outcomes,
    encode_layer,
)
from topokit.analysis.store import library_versions
from topokit.analysis.study import RunConfig, build_topology, prune_run
from topokit.metrics import INPUT_METRICS, input_metrics, layer_metrics, network_metrics
from topokit.nn import PRUNING_METHODS, SparseMLP
from topokit.nn.datasets import load_dataset
from topokit.nn.dynamic import DynamicSparsity
from topokit.topology import Topology

__all__ = ["CORES_RESOURCE", "dask_worker_threads", "execute_run", "init_worker", "limit_threads"]

_THREAD_VARIABLES = (
    "NUMBA_NUM_THREADS",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)
_datasets: dict = {}  # dataset name -> Dataset, loaded once per worker process
_variances: dict = {}  # dataset name -> its training features' variances, once per worker
_threads: int | None = None  # the limit this process runs under (None: untouched)

#: The Dask worker resource that gives a worker process more cores than its ``nthreads``
#: (``dask worker ADDR --nthreads 2 --resources cores=8``: each of its 2 runs at a time
#: uses 4 threads).
CORES_RESOURCE = "cores"

# For the tests only (tests/analysis/test_faults.py): a run whose seed is the value of
# this environment variable kills its own worker process with SIGKILL, as the kernel's
# out-of-memory killer or a segfault in native code would. Read in the worker, never set
# by topokit.
_CRASH_VARIABLE = "_TOPOKIT_TEST_CRASH_SEED"


def limit_threads(threads: int | None) -> None:
    """Run this process's numba and BLAS code on at most ``threads`` threads.

    Called before every run (a pool's worker, or a Dask worker's task thread), before its
    first kernel call; None leaves the process as it is. numba's thread count belongs to
    the calling thread, so it is set each time; the environment variables and the
    BLAS/OpenMP pools (threadpoolctl) once per process and count.
    """
    global _threads
    if threads is None:
        return
    threads = max(1, int(threads))
    if threads != _threads:
        for name in _THREAD_VARIABLES:
            # numba re-reads NUMBA_NUM_THREADS whenever it compiles and refuses a value
            # other than the one its threads started with: set it only before numba is
            # imported
            if name != "NUMBA_NUM_THREADS" or "numba" not in sys.modules:
                os.environ[name] = str(threads)
    # numba first: setting its threads starts its threading layer (OpenMP, say), whose
    # pool the BLAS/OpenMP limit below then covers too
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    if threads != _threads:
        threadpool_limits(threads)
        _threads = threads


def dask_worker_threads() -> int | None:
    """The threads of one run on the Dask worker this is called in; None elsewhere.

    A worker process runs ``nthreads`` runs at a time on its share of the machine:
    ``nthreads`` cores, or the worker's ``cores`` resource (:data:`CORES_RESOURCE`) where
    it declares one. Each run gets ``share // nthreads`` threads (at least 1): one thread
    per run on workers started ``--nthreads 1``, whatever the machine's core count.

    Returns
    -------
    int or None
        The run's thread count, or None outside a Dask worker (or without Dask).

    Examples
    --------
    >>> from topokit.analysis._execute import dask_worker_threads
    >>> dask_worker_threads() is None  # not on a Dask worker
    True
    """
    if "distributed" not in sys.modules:  # a Dask worker has imported it
        return None
    from distributed import get_worker

    try:
        worker = get_worker()
    except ValueError:  # not in a worker's task
        return None
    nthreads = max(1, int(worker.state.nthreads))
    share = worker.state.total_resources.get(CORES_RESOURCE, nthreads)
    return max(1, int(share) // nthreads)


def _driver_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else (pid reused)
        return True
    return True


def _watch_driver(pid: int, interval: float) -> None:
    while True:
        time.sleep(interval)
        if not _driver_alive(pid):
            os._exit(1)  # the driver was killed (kill -9): nobody will collect our result


def init_worker(
    threads: int | None, driver_pid: int | None = None, interval=1.0, notices: bool = False
) -> None:
    """Initializer of a local pool's worker: limit its threads, end it when the driver
    ``driver_pid`` is gone (pool workers outlive a driver killed by SIGKILL), and with
    ``notices`` show the ``"topokit"`` logger's INFO records on stderr, as the driver's
    command line does (the kernels' one-time compilation notice comes from a worker)."""
    limit_threads(threads)
    if notices:
        logger = logging.getLogger("topokit")
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("topokit: %(message)s"))
        logger.addHandler(handler)
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)
    if driver_pid is not None:
        watcher = threading.Thread(
            target=_watch_driver, args=(driver_pid, interval), name="topokit-driver-watch"
        )
        watcher.daemon = True
        watcher.start()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _dataset(name: str):
    if name not in _datasets:
        _datasets[name] = load_dataset(name)
    return _datasets[name]


def _feature_variances(name: str):
    if name not in _variances:
        _variances[name] = _dataset(name).feature_variances
    return _variances[name]


def _network_values(topology, keys, dataset: str) -> dict:
    """The run's one-value metrics: data-blind (``network_metrics``) and data-aware
    (``input_metrics``, from the dataset's training variances); ``keys`` None: all."""
    if keys is None:
        blind, aware = None, INPUT_METRICS
    else:
        blind = tuple(key for key in keys if key not in INPUT_METRICS)
        aware = tuple(key for key in keys if key in INPUT_METRICS)
    values = network_metrics(topology, keys=blind) if blind != () else {}
    if aware:
        values.update(input_metrics(topology, _feature_variances(dataset), keys=aware))
    return values


def _curve(history) -> list[dict]:
    return [
        {
            "epoch": epoch,
            "loss": history.loss[epoch - 1],
            "train_accuracy": history.train_accuracy[epoch - 1],
            "val_accuracy": history.val_accuracy[epoch - 1],
            "seconds": history.seconds[epoch - 1],
        }
        for epoch in range(1, history.n_epochs + 1)
    ]


def _model(topology, training: dict, rng):
    return SparseMLP(
        topology,
        training["activation"],
        optimizer=training["optimizer"],
        learning_rate=training["learning_rate"],
        momentum=training["momentum"],
        nesterov=training["nesterov"],
        weight_decay=training["weight_decay"],
        schedule=training["schedule"],
        rng=rng,
    )


def _fit(model, data, training: dict, hooks=()) -> None:
    model.fit(
        data.X_train,
        data.y_train,
        epochs=training["epochs"],
        batch_size=training["batch_size"],
        validation_fraction=training["validation_fraction"],
        early_stopping=training["early_stopping"],
        patience=training["patience"],
        target_accuracy=training["target_accuracy"],
        hooks=list(hooks),
    )


def _dynamic_hook(run: RunConfig) -> DynamicSparsity:
    """The run's rewiring hook. Its positions and new weights come from a third stream of
    the run's seed (``SeedSequence(seed).spawn(3)[2]``; the first two are
    :meth:`RunConfig.rngs`), so runs of one seed under different rules start from the same
    weights and see the same minibatches until their first update."""
    training = run.training
    stream = np.random.SeedSequence(run.seed).spawn(3)[2]
    return DynamicSparsity(
        run.dynamic,
        drop_fraction=training["drop_fraction"],
        update_interval=training["update_interval"],
        update_until=training["update_until"],
        rng=np.random.default_rng(stream),
    )


def _snapshots(run: RunConfig, taken: dict, start: list, start_metrics: tuple) -> list[dict]:
    """Each snapshot's layers and metrics. ``taken`` and ``start`` hold per layer
    ``(n_in, n_out, n_edges, bytes)`` (:class:`GraphSnapshots`); a layer whose graph is the
    one it started from keeps its start metrics, and the network metrics are computed
    again only where a layer changed (a pruned topology trains unchanged)."""
    layer_keys = run.layer_metric_keys
    start_layers, start_network = start_metrics
    family = run.layer_families()
    snapshots = []
    for epoch in sorted(taken):
        layers = taken[epoch]
        unchanged = [layer[3] == start[k][3] for k, layer in enumerate(layers)]
        graphs = [
            decode_layer(blob, n_in, n_out, family=family[k])
            for k, (n_in, n_out, _, blob) in enumerate(layers if not all(unchanged) else ())
        ]
        layer_values = []
        for k, same in enumerate(unchanged):
            if same:
                layer_values.append(dict(start_layers[k]))
            else:
                values = layer_metrics(graphs[k], keys=layer_keys) if layer_keys != () else {}
                layer_values.append(values)
        if all(unchanged):
            network = dict(start_network)
        else:
            network = _network_values(Topology(graphs), run.network_metric_keys, run.dataset)
        snapshots.append(
            {
                "epoch": epoch,
                "layers": [
                    {"n_in": n_in, "n_out": n_out, "n_edges": n_edges, "edges": blob}
                    for n_in, n_out, n_edges, blob in layers
                ],
                "layer_metrics": layer_values,
                "network_metrics": network,
            }
        )
    return snapshots


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, TopokitError):
        return " ".join(str(exc).split())
    # not a topokit error: keep where it came from, for the bug report
    where = traceback.extract_tb(exc.__traceback__)[-1:]
    place = f" (at {where[0].filename}:{where[0].lineno})" if where else ""
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}{place}"


def execute_run(config: dict, threads: int | None = None) -> dict:
    """Build, measure and train one run; return its :class:`RunResult` fields as a dict.

    Parameters
    ----------
    config : dict
        :meth:`RunConfig.to_dict` of the run.
    threads : int, optional
        numba/BLAS threads for this process (see :func:`limit_threads`); by default, on a
        Dask worker, :func:`dask_worker_threads`.

    Returns
    -------
    dict
        Keyword arguments of :class:`~topokit.analysis.store.RunResult`; ``status`` is
        ``"failed"`` with the error message when any step raised.
    """
    limit_threads(dask_worker_threads() if threads is None else threads)

    started, start = _now(), time.perf_counter()
    result = {"status": "ok", "started": started, "versions": library_versions()}
    model = None
    try:
        run = RunConfig.from_dict(config)
        if os.environ.get(_CRASH_VARIABLE) == str(run.seed):
            os.kill(os.getpid(), signal.SIGKILL)
        topology_rng, training_rng = run.rngs()
        pruned = None  # a pruning family's PruningResult (lottery: the rewound weights)
        if run.family in PRUNING_METHODS:
            pruned = prune_run(run, _dataset(run.dataset), rng=topology_rng)
        topology = build_topology(run, rng=topology_rng) if pruned is None else pruned.topology
        layer_keys = run.layer_metric_keys
        result["layer_metrics"] = [
            layer_metrics(layer, keys=layer_keys) if layer_keys != () else {} for layer in topology
        ]
        result["network_metrics"] = _network_values(topology, run.network_metric_keys, run.dataset)
        data = _dataset(run.dataset)
        model = _model(topology, run.training, training_rng)
        if pruned is not None:
            pruned.load_weights(model)
        hooks = []
        if run.dynamic != "static":
            hooks.append(_dynamic_hook(run))
        if run.snapshots:  # after the rewiring: a snapshot shows the epoch's last graph
            hooks.append(GraphSnapshots(run.snapshot_epochs))
        _fit(model, data, run.training, hooks)
        history = model.history
        result.update(
            test_accuracy=model.score(data.X_test, data.y_test),
            train_accuracy=model.score(data.X_train, data.y_train),
            final_loss=history.loss[-1] if history.n_epochs else None,
            epochs_to_target=model.epochs_to_target,
            epochs=history.n_epochs,
        )
        if run.dynamic != "static":
            result["outcomes"], result["layer_outcomes"] = dynamic_outcomes(hooks[0], topology)
        if run.snapshots:
            first = [(g.n_in, g.n_out, g.n_edges, encode_layer(g)) for g in topology]
            metrics = (result["layer_metrics"], result["network_metrics"])
            result["snapshots"] = _snapshots(run, hooks[-1].taken, first, metrics)
    except Exception as exc:  # a failed run is a result, recorded with its error
        result.update(status="failed", error=_error_text(exc))
        for name in ("outcomes", "layer_outcomes", "snapshots"):  # a finished run's only
            result.pop(name, None)
    if model is not None:
        result["curve"] = _curve(model.history)
        result.setdefault("epochs", model.history.n_epochs)
    result["seconds"] = time.perf_counter() - start
    result["finished"] = _now()
    return result
