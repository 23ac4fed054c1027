"""Start-up time of the ``topokit`` command line against importing numpy and scipy.sparse.

Every command starts a fresh Python. Measures, in one run, the best of ``--repeat`` runs
of each command in a subprocess (wall time, start to exit), the commands taking turns
so that a busy machine slows them alike:

* the baseline ``python -c "import numpy, scipy.sparse"``, the least any topokit command
  must import;
* ``topokit families``, ``topokit --help`` and ``topokit graph --help`` (``main(argv)``
  of :mod:`topokit.cli`, what the console script runs);

and prints each one's ratio to the baseline, with the target: within 2x. The commands
that do not train or analyse import neither numba, scikit-learn, pandas, statsmodels
nor matplotlib; the last table says which of these each command loaded (none, for all
four).

``--quick`` runs each command twice: a smoke run in a few seconds.

Usage: ``python benchmarks/bench_startup.py [--quick] [--repeat N]``
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

TARGET = 2.0
HEAVY = ("numba", "sklearn", "pandas", "statsmodels", "matplotlib")

BASELINE = ("import numpy, scipy.sparse", "python -c 'import numpy, scipy.sparse'")
COMMANDS = (
    (["families"], "topokit families"),
    (["--help"], "topokit --help"),
    (["graph", "--help"], "topokit graph --help"),
)

# Runs the command line as the console script does and reports the heavy modules it
# loaded on stderr, after the command's own output (which goes to /dev/null).
_RUN_CLI = """\
import sys
from topokit.cli import main
try:
    status = main({argv!r})
except SystemExit as exc:
    status = exc.code
print(",".join(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)
sys.exit(status)
"""


def seconds(code: str) -> float:
    """The wall time of one run of ``python -c code``."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], stdout=subprocess.DEVNULL, check=True, timeout=120)
    return time.perf_counter() - start


def best_seconds(codes: list[str], repeat: int) -> list[float]:
    """The least wall time of each code over ``repeat`` rounds, the codes taking turns."""
    best = [float("inf")] * len(codes)
    for _ in range(repeat):
        for k, code in enumerate(codes):
            best[k] = min(best[k], seconds(code))
    return best


def heavy_modules(argv: list[str]) -> str:
    """The heavy libraries that running ``topokit ARGV`` imports."""
    done = subprocess.run(
        [sys.executable, "-c", _RUN_CLI.format(argv=argv, heavy=HEAVY)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two runs each (a smoke test)")
    parser.add_argument("--repeat", type=int, default=15, metavar="N", help="runs per command")
    args = parser.parse_args(argv)
    repeat = 2 if args.quick else args.repeat

    print(f"best of {repeat} runs each, in subprocesses ({sys.executable})")
    codes = [BASELINE[0]] + [_RUN_CLI.format(argv=argv, heavy=()) for argv, _ in COMMANDS]
    baseline, *times = best_seconds(codes, repeat)
    print(f"  {BASELINE[1]:<42} {baseline:6.3f} s  (baseline)")
    worst = 0.0
    loaded = {}
    for (command_argv, name), took in zip(COMMANDS, times, strict=True):
        ratio = took / baseline
        worst = max(worst, ratio)
        mark = "ok" if ratio <= TARGET else "over the target"
        print(f"  {name:<42} {took:6.3f} s  ratio {ratio:4.2f}x  ({mark})")
        loaded[name] = heavy_modules(command_argv)
    print(f"target: every ratio <= {TARGET:g}x; worst ratio {worst:.2f}x")
    print("heavy libraries imported (numba, sklearn, pandas, statsmodels, matplotlib):")
    for name, modules in loaded.items():
        print(f"  {name:<42} {modules or 'none'}")


if __name__ == "__main__":
    main()
