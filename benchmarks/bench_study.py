"""The study runner: --workers 2 against --workers 1 on the default study, and the runner's
overhead against the summed run times.

Runs the ``default`` preset (176 runs) twice, into temporary folders: on one worker
process, then on two. Prints both wall times, the speed-up (target >= 1.7x) and the
runner's overhead, ``(wall time x workers - sum of run seconds) / sum of run seconds``
(target < 5%): everything that is not a run (starting the pool, handing runs out,
recording results, idle workers at the end) as a share of the work. It is split into
the pool's start-up (call to first run started: imports in the workers) and the
overhead between the first run's start and the last run's end (hand-out, recording,
idle workers at the end). ``--quick`` runs
the same code paths on a 6-run study in a few seconds.

    python benchmarks/bench_study.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime

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


def _measure_here(study, workers: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        begun, start = datetime.now(UTC), time.perf_counter()
        summary = run_study(study, folder, workers=workers, progress=False)
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


def _measure(quick: bool, workers: int) -> dict:
    """Measure in a fresh Python process, as a ``topokit study`` command would run."""
    command = [sys.executable, __file__, "--child", str(workers)] + ["--quick"] * quick
    out = subprocess.run(command, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 6-run study, a few seconds")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    study = load_study(_QUICK) if args.quick else load_preset("default")
    if args.child is not None:
        print(json.dumps(_measure_here(study, args.child)))
        return
    print(f"study {study.name!r}: {len(study.runs())} runs, each measurement in a new process")
    results = [_measure(args.quick, workers) for workers in (1, 2)]
    for r in results:
        print(
            f"--workers {r['workers']}: wall {r['wall']:7.2f} s, runs {r['run_seconds']:7.2f} s "
            f"summed, overhead {100 * r['overhead']:5.1f}% ({r['per_run_ms']:.0f} ms per run), "
            f"{r['failed']} failed; of it: pool start-up {r['startup']:.2f} s, "
            f"overhead between the first start and the last finish "
            f"{100 * r['steady_overhead']:.1f}%"
        )
    one, two = results
    ratio = one["wall"] / two["wall"]
    print(f"speed-up ratio (workers 2 / workers 1): {ratio:.2f}x (target >= 1.7x)")
    print(
        f"runner overhead ratio: {100 * one['overhead']:.1f}% on 1 worker, "
        f"{100 * two['overhead']:.1f}% on 2 (target < 5%)"
    )


if __name__ == "__main__":
    main()
