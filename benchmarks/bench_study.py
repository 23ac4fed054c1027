"""The study runner: --workers 2 against --workers 1 on the default study, a loopback Dask
cluster against --workers 2, and the driver's overhead on 1,000 tiny runs.

1. Runs the ``default`` preset (176 runs) into temporary folders: on one worker process,
   then on two. Prints both wall times, the speed-up (target >= 1.7x) and the runner's
   overhead, ``(wall time x workers - sum of run seconds) / sum of run seconds``
   (target < 5%): everything that is not a run (starting the pool, handing runs out,
   recording results, idle workers at the end) as a share of the work. It is split into
   the pool's start-up (call to first run started: imports in the workers) and the
   overhead between the first run's start and the last run's end.
2. Starts a real scheduler and ``dask worker ADDR --nworkers 2 --nthreads 1`` as
   subprocesses on loopback (workers started without ``NUMBA_NUM_THREADS``, as a new user
   would), runs the same study on it (``--dask ADDR``), tears them down, and measures
   ``--workers 2`` again right after; ``--rounds`` such pairs (default 2), alternating, so
   that the machine's drift falls on both sides. Prints each pair's ratio and the ratio of
   the best wall times (as ``timeit`` takes the best; target <= 1.15x). Needs
   dask.distributed.
3. Driver overhead: 1,000 tiny runs (digits, sizes [64, 32, 10], 1 epoch) on 2 local
   workers against 1 (target >= 1.7x faster): the driver, the store and the metrics
   must not be the bottleneck.

Each measurement runs in a new Python process, as a ``topokit study`` command would.
``--quick`` runs the same code paths on a 6-run study and 100 tiny runs.

    python benchmarks/bench_study.py [--quick] [--no-dask] [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from topokit.analysis.runner import run_study
from topokit.analysis.store import ResultStore
from topokit.analysis.study import load_preset, load_study

_QUICK = """
name = "bench-quick"
sizes = [64, 32, 10]
dense_layers = [-1]
densities = [0.125]
seeds = [0, 1, 2]
metrics = "all"

[training]
epochs = 2

[[families]]
name = "erdos_renyi"

[[families]]
name = "small_world"
p = [0.1]
"""


def _tiny(n_runs: int) -> str:
    """A study of ``n_runs`` tiny runs: digits, [64, 32, 10], 1 epoch, one per seed."""
    return f"""
name = "bench-tiny"
sizes = [64, 32, 10]
densities = [0.25]
seeds = {list(range(n_runs))}

[training]
epochs = 1

[[families]]
name = "erdos_renyi"
"""


def _study(kind: str, quick: bool):
    if kind == "tiny":
        return load_study(_tiny(100 if quick else 1000))
    return load_study(_QUICK) if quick else load_preset("default")


def _measure_here(study, workers: int, dask: str | None = None) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        begun, start = datetime.now(UTC), time.perf_counter()
        if dask is None:
            summary = run_study(study, folder, workers=workers, progress=False)
        else:
            summary = run_study(study, folder, dask=dask, progress=False)
        wall = time.perf_counter() - start
        with ResultStore(folder, readonly=True) as store:
            rows = store.run_rows()
    first = min(datetime.fromisoformat(row["started"]) for row in rows)
    last = max(datetime.fromisoformat(row["finished"]) for row in rows)
    steady = (last - first).total_seconds()  # from the first run's start to the last's end
    if summary.n_ok + summary.n_failed != summary.n_runs:
        raise SystemExit(f"{summary.n_runs - summary.n_ok - summary.n_failed} runs missing")
    busy = summary.run_seconds
    return {
        "workers": workers,
        "wall": wall,
        "run_seconds": busy,
        "failed": summary.n_failed,
        "overhead": (wall * workers - busy) / busy,
        "per_run_ms": 1e3 * (wall * workers - busy) / summary.n_runs,
        "startup": (first - begun).total_seconds(),
        "steady_overhead": (steady * workers - busy) / busy,
    }


def _measure(quick: bool, workers: int, kind: str = "default", dask: str | None = None) -> dict:
    """Measure in a fresh Python process, as a ``topokit study`` command would run."""
    command = [sys.executable, __file__, "--child", str(workers), "--kind", kind]
    command += ["--quick"] * quick + (["--dask", dask] if dask else [])
    out = subprocess.run(command, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _dask_command(*args) -> list:
    script = Path(sys.executable).with_name("dask")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "distributed.cli"]
    return [*command, *args]


def _measure_on_dask(quick: bool, n_workers: int) -> dict:
    """The study on a loopback scheduler + ``dask worker --nworkers N --nthreads 1``."""
    import distributed

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    # as a new user starts them: no thread variables set
    environment = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    started = []
    with tempfile.TemporaryFile("w+") as log:
        try:
            scheduler = ["scheduler", "--host", "127.0.0.1", "--port", str(port)]
            worker = ["worker", address, "--nworkers", str(n_workers), "--nthreads", "1"]
            for args in ([*scheduler, "--no-dashboard"], [*worker, "--no-dashboard"]):
                started.append(
                    subprocess.Popen(
                        _dask_command(*args),
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                        env=environment,
                    )
                )
            with distributed.Client(address, timeout=60) as client:
                client.wait_for_workers(n_workers, timeout=120)
            return _measure(quick, n_workers, dask=address)
        finally:
            for process in reversed(started):
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
                    try:
                        process.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        os.killpg(process.pid, signal.SIGKILL)
                        process.wait()


def _line(label: str, r: dict) -> str:
    return (
        f"{label}: wall {r['wall']:7.2f} s, runs {r['run_seconds']:7.2f} s "
        f"summed, overhead {100 * r['overhead']:5.1f}% ({r['per_run_ms']:.0f} ms per run), "
        f"{r['failed']} failed; of it: start-up {r['startup']:.2f} s, "
        f"overhead between the first start and the last finish "
        f"{100 * r['steady_overhead']:.1f}%"
    )


def _dask_rounds(quick: bool, rounds: int) -> None:
    """Figure: loopback Dask (2 workers x 1 thread) against ``--workers 2``, in pairs."""
    on_dask, local = [], []
    for index in range(rounds):
        on_dask.append(_measure_on_dask(quick, 2))
        local.append(_measure(quick, 2))
        print(_line(f"round {index + 1}: loopback Dask, 2 x 1 thread", on_dask[-1]))
        print(_line(f"round {index + 1}: --workers 2", local[-1]))
        print(
            f"round {index + 1}: Dask / --workers 2 {on_dask[-1]['wall'] / local[-1]['wall']:.3f}x"
        )
    best_dask = min(r["wall"] for r in on_dask)
    best_local = min(r["wall"] for r in local)
    print(
        f"Dask ratio (loopback Dask 2 x 1 thread / --workers 2, best wall of {rounds}): "
        f"{best_dask:.2f} s / {best_local:.2f} s = {best_dask / best_local:.3f}x (target <= 1.15x)"
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="a 6-run study and 100 tiny runs, a minute or so"
    )
    parser.add_argument("--no-dask", action="store_true", help="leave out the Dask measurement")
    parser.add_argument(
        "--rounds",
        type=int,
        help="Dask / --workers 2 pairs, alternating (default 2; 1 with --quick)",
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--kind", default="default", help=argparse.SUPPRESS)
    parser.add_argument("--dask", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        study = _study(args.kind, args.quick)
        print(json.dumps(_measure_here(study, args.child, args.dask)))
        return
    study = _study("default", args.quick)
    print(f"study {study.name!r}: {len(study.runs())} runs, each measurement in a new process")
    results = [_measure(args.quick, workers) for workers in (1, 2)]
    for r in results:
        print(_line(f"--workers {r['workers']}", r))
    one, two = results
    ratio = one["wall"] / two["wall"]
    print(f"speed-up ratio (workers 2 / workers 1): {ratio:.2f}x (target >= 1.7x)")
    print(
        f"runner overhead ratio: {100 * one['overhead']:.1f}% on 1 worker, "
        f"{100 * two['overhead']:.1f}% on 2 (target < 5%)"
    )
    if not args.no_dask:
        rounds = args.rounds if args.rounds is not None else 1 if args.quick else 2
        _dask_rounds(args.quick, max(1, rounds))
    tiny = _study("tiny", args.quick)
    print(f"driver overhead: study {tiny.name!r}, {len(tiny.runs())} runs of [64, 32, 10], 1 epoch")
    small = [_measure(args.quick, workers, kind="tiny") for workers in (1, 2)]
    for r in small:
        print(_line(f"--workers {r['workers']}", r))
    print(
        f"tiny-run speed-up ratio (workers 2 / workers 1): "
        f"{small[0]['wall'] / small[1]['wall']:.2f}x (target >= 1.7x)"
    )


if __name__ == "__main__":
    main()
