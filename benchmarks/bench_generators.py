"""Speed and memory of the random layer-graph families.

Measures, in one run:

1. seconds to build each random family with 10^6 edges (100,000 × 100,000 at degree 10;
   target < 1 s each), and ``ramanujan`` separately (it includes certification);
2. ``biregular`` against ``networkx.bipartite.configuration_model`` on the same degree
   sequences (networkx at 10^5 edges; the ratio of per-edge rates is printed);
3. peak resident memory of building a 10^6 × 10^6 layer with 10^7 edges (degree 10)
   with ``biregular`` and ``erdos_renyi``, each in a fresh subprocess (target < 3 GB).

``--quick`` runs the same code paths on tiny sizes in a few seconds.

Usage: ``python benchmarks/bench_generators.py [--quick]``
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time

import networkx as nx

from topokit.generators import layer_graph
from topokit.spectrum import top_singular_values

FAMILIES = ["erdos_renyi", "biregular", "left_regular", "small_world", "scale_free"]
TARGET_SECONDS = 1.0
TARGET_PEAK_GB = 3.0


def best_time(function, repeats: int) -> tuple[float, object]:
    """Fastest of ``repeats`` runs, in seconds, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def bench_families(n: int, degree: int, repeats: int) -> None:
    print(f"\n== build time, {n:,} x {n:,} at degree {degree} ({n * degree:,} edges) ==")
    for family in FAMILIES:
        seconds, graph = best_time(
            lambda family=family: layer_graph(family, n, n, degree=degree, rng=0), repeats
        )
        assert graph.n_edges == n * degree
        verdict = "ok" if seconds < TARGET_SECONDS else "OVER TARGET"
        print(
            f"{family:>13}: {seconds:7.3f} s  ({graph.n_edges / seconds / 1e6:6.2f} M edges/s; "
            f"target < {TARGET_SECONDS:g} s: {verdict})"
        )
    start = time.perf_counter()
    graph = layer_graph("ramanujan", n, n, degree=degree, rng=0)
    total = time.perf_counter() - start
    start = time.perf_counter()
    lambda1, lambda2 = top_singular_values(graph.biadjacency, 2)
    certify = time.perf_counter() - start
    bound = 2 * (degree - 1) ** 0.5
    print(
        f"{'ramanujan':>13}: {total:7.3f} s  (not held to the 1 s target; one certification "
        f"alone takes {certify:.3f} s; lambda1={lambda1:.4f}, lambda2={lambda2:.4f} <= "
        f"bound {bound:.4f})"
    )


def bench_networkx(n_ours: int, n_networkx: int, degree: int, repeats: int) -> None:
    print(
        f"\n== biregular vs networkx.bipartite.configuration_model "
        f"(degree {degree} on both sides) =="
    )
    sequence = [degree] * n_networkx
    start = time.perf_counter()
    multigraph = nx.bipartite.configuration_model(sequence, sequence, seed=0)
    networkx_seconds = time.perf_counter() - start
    edges_networkx = multigraph.number_of_edges()
    networkx_rate = edges_networkx / networkx_seconds
    same_size, _ = best_time(
        lambda: layer_graph("biregular", n_networkx, n_networkx, degree=degree, rng=0), repeats
    )
    ours_rate_same = edges_networkx / same_size
    print(
        f"networkx  {n_networkx:,} x {n_networkx:,} ({edges_networkx:,} edges, a multigraph, "
        f"no repair): {networkx_seconds:.3f} s = {networkx_rate / 1e6:.3f} M edges/s"
    )
    print(
        f"topokit   same size, simple graph: {same_size:.4f} s = {ours_rate_same / 1e6:.3f} "
        f"M edges/s -> ratio {networkx_seconds / same_size:.1f}x faster (target >= 20x)"
    )
    if n_ours != n_networkx:
        big, _ = best_time(
            lambda: layer_graph("biregular", n_ours, n_ours, degree=degree, rng=0), repeats
        )
        ours_rate = n_ours * degree / big
        print(
            f"topokit   {n_ours:,} x {n_ours:,} ({n_ours * degree:,} edges): {big:.3f} s = "
            f"{ours_rate / 1e6:.3f} M edges/s -> per-edge rate ratio "
            f"{ours_rate / networkx_rate:.1f}x (networkx measured at the smaller size)"
        )


def peak_memory_child(family: str, n: int, degree: int) -> None:
    """Run in a fresh process: build one layer, print edges and peak RSS in bytes."""
    graph = layer_graph(family, n, n, degree=degree, rng=0)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(graph.n_edges, peak_kib * 1024)


def bench_memory(n: int, degree: int) -> None:
    print(f"\n== peak memory, {n:,} x {n:,} with {n * degree:,} edges (fresh process each) ==")
    for family in ("biregular", "erdos_renyi"):
        start = time.perf_counter()
        output = subprocess.run(
            [sys.executable, __file__, "--memory-child", family, str(n), str(degree)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        seconds = time.perf_counter() - start
        n_edges, peak = int(output[0]), int(output[1])
        assert n_edges == n * degree
        verdict = "ok" if peak < TARGET_PEAK_GB * 1e9 else "OVER TARGET"
        print(
            f"{family:>13}: peak RSS {peak / 1e9:.3f} GB (whole process, imports included; "
            f"target < {TARGET_PEAK_GB:g} GB: {verdict}); {seconds:.2f} s with start-up"
        )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a few seconds")
    parser.add_argument("--memory-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        family, n, degree = args.memory_child
        peak_memory_child(family, int(n), int(degree))
        return
    if args.quick:
        bench_families(n=2_000, degree=5, repeats=1)
        bench_networkx(n_ours=2_000, n_networkx=1_000, degree=5, repeats=1)
        bench_memory(n=10_000, degree=10)
    else:
        bench_families(n=100_000, degree=10, repeats=3)
        bench_networkx(n_ours=100_000, n_networkx=10_000, degree=10, repeats=3)
        bench_memory(n=1_000_000, degree=10)


if __name__ == "__main__":
    main()
