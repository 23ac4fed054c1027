"""Speed and memory of topokit.metrics, measured side by side with networkx and ARPACK.

0. ``topokit metrics FILE`` on a saved n x n biregular layer of degree 10 (default
   n = 100,000, 1,000,000 edges; issue #14 figure 5: under 4 s on 2 cores), as a user
   runs it (a fresh Python process: imports, loading the .npz, all metrics, JSON out),
   next to the same command with lambda2 found by the previous method (ARPACK ``eigsh``
   with its default BLAS threads, ``topokit.spectrum._arpack_singular_pairs``) and by
   ARPACK with one BLAS thread, in the same run: best of three each, the ratios, and
   both lambda2.
1. All layer metrics of an n x n biregular layer of degree 10 (default n = 100,000,
   1,000,000 edges): seconds each metric group adds (in order, on shared cached facts),
   then the whole ``layer_metrics`` call.
2. Fiedler value of an n x n layer (default 10,000 x 10,000, irregular degrees about
   10) against ``networkx.algebraic_connectivity`` (its default method), same run:
   times, ratio, relative difference. ``--nx-biregular`` adds a degree-10 biregular
   layer, on which networkx's default method takes minutes already at 600 x 600.
3. Peak memory (ru_maxrss of a subprocess) of the degree and spectral metrics of a
   10^6 x 10^6 layer with 10^7 edges.

Usage: python benchmarks/bench_metrics.py [--quick] [--nx-biregular]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy.sparse as sp

from topokit.generators import biregular
from topokit.graph import LayerGraph
from topokit.metrics import layer_metrics
from topokit.metrics._facts import GraphFacts
from topokit.metrics.layer import _layer_values

GROUPS = {
    "sizes+degrees": ["n_in", "n_out", "n_edges", "density", "fan_in_min", "fan_in_mean",
                      "fan_in_max", "fan_out_min", "fan_out_mean", "fan_out_max",
                      "isolated_inputs", "isolated_outputs", "is_biregular", "ramanujan_bound"],
    "components": ["n_components"],
    "singular values": ["lambda1", "lambda2", "spectral_gap", "ramanujan_gap"],
    "normalized gap": ["normalized_spectral_gap"],
    "fiedler": ["fiedler_value", "edge_expansion_lower"],
    "sweep cut": ["edge_expansion_upper"],
}  # fmt: skip


def regular_layer(n: int, degree: int, seed: int) -> LayerGraph:
    """n x n, every neuron of degree ``degree``: topokit's ``biregular`` family."""
    return biregular(n, n, degree=degree, rng=seed)


def irregular_layer(n: int, degree: int, seed: int) -> LayerGraph:
    """n x n with about degree * n uniform random edges (degrees vary), kept connected."""
    rng = np.random.default_rng(seed)
    rows = np.concatenate([np.arange(n), rng.integers(0, n, size=(degree - 1) * n)])
    cols = np.concatenate([rng.permutation(n), rng.integers(0, n, size=(degree - 1) * n)])
    rows = np.concatenate([rows, np.arange(n)])
    cols = np.concatenate([cols, np.roll(np.arange(n), 1)])  # a Hamiltonian cycle: connected
    matrix = sp.csr_array((np.ones(rows.size), (rows, cols)), shape=(n, n))
    matrix.data[:] = 1.0
    return LayerGraph(matrix)


# `topokit metrics FILE --json` in a fresh process, lambda2 by the method named.
_CLI_CHILD = """
import contextlib, sys
from threadpoolctl import threadpool_limits
if {method!r} != "lanczos":
    from topokit import spectrum
    from topokit.metrics import _facts
    _facts.top_singular_pairs = spectrum._arpack_singular_pairs
limits = threadpool_limits(1, "blas") if {method!r} == "arpack, 1 BLAS thread" else None
with limits or contextlib.nullcontext():
    from topokit.cli import main
    code = main(["metrics", {path!r}, "--json"])
sys.exit(code)
"""
_METHODS = ("lanczos", "arpack", "arpack, 1 BLAS thread")


def _time_cli(path: str, method: str) -> tuple[float, float, dict]:
    """Wall seconds, CPU seconds (user + system, all threads) and the metrics printed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    output = subprocess.run(
        [sys.executable, "-c", _CLI_CHILD.format(path=path, method=method)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, json.loads(output)


def bench_cli_metrics(n: int, repeats: int = 3) -> None:
    graph = regular_layer(n, 10, seed=0)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "layer.npz")
        graph.save(path)
        times = {method: [] for method in _METHODS}
        cpu_times = {method: [] for method in _METHODS}
        results = {}
        imports, loads = [], []
        for _ in range(repeats):  # interleaved, so all see the same machine
            for method in _METHODS:
                elapsed, cpu, results[method] = _time_cli(path, method)
                times[method].append(elapsed)
                cpu_times[method].append(cpu)
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", "import topokit.cli"], check=True)
            imports.append(time.perf_counter() - start)
            start = time.perf_counter()
            LayerGraph.load(path)
            loads.append(time.perf_counter() - start)
    new, old, one = (min(times[method]) for method in _METHODS)
    print(
        f"[0] topokit metrics FILE, {n} x {n} biregular degree 10, {graph.n_edges} edges, "
        f"{os.cpu_count()} cores, best of {repeats}: {new:.2f} s (certified Lanczos), "
        f"{old:.2f} s (ARPACK, as before), ratio {old / new:.2f}x; target < 4 s: "
        f"{'met' if new < 4.0 else 'NOT met'}"
    )
    ours, theirs = results["lanczos"]["lambda2"], results["arpack"]["lambda2"]
    print(
        f"    ARPACK with one BLAS thread {one:.2f} s, ratio {one / new:.2f}x; lambda2 "
        f"{ours!r} (Lanczos) / {theirs!r} (ARPACK), rel diff {abs(ours / theirs - 1):.1e}"
    )
    cpu = {method: min(cpu_times[method]) for method in _METHODS}
    print(
        f"    CPU seconds (user + system, all threads): {cpu['lanczos']:.2f} (Lanczos), "
        f"{cpu['arpack']:.2f} (ARPACK), {cpu['arpack, 1 BLAS thread']:.2f} (ARPACK, 1 BLAS thread)"
    )
    print(
        f"    of which: starting Python + importing topokit.cli {min(imports):.2f} s, "
        f"loading the .npz {min(loads):.2f} s; the metrics themselves: see [1]"
    )


def bench_all_metrics(n: int) -> None:
    graph = regular_layer(n, 10, seed=0)
    print(f"[1] all metrics, {n} x {n} biregular degree 10, {graph.n_edges} edges")
    # Groups in order on one set of cached facts: each line is what that group adds.
    facts = GraphFacts(graph.biadjacency)
    total = 0.0
    for name, keys in GROUPS.items():
        start = time.perf_counter()
        _layer_values(facts, tuple(keys))
        elapsed = time.perf_counter() - start
        total += elapsed
        print(f"    {name:16s} {elapsed:8.3f} s")
    start = time.perf_counter()
    result = layer_metrics(graph)
    together = time.perf_counter() - start
    print(f"    total {total:.3f} s; again as one layer_metrics(graph) call: {together:.3f} s")
    lower, upper = result["edge_expansion_lower"], result["edge_expansion_upper"]
    print(f"    lambda2={result['lambda2']:.6f} fiedler={result['fiedler_value']:.6f} "
          f"h in [{lower:.4f}, {upper:.4f}]")  # fmt: skip


def bench_fiedler_vs_networkx(n: int, with_biregular: bool) -> None:
    import networkx as nx

    cases = [("irregular ~10", irregular_layer(n, 10, seed=2))]
    if with_biregular:  # networkx's default (tracemin_pcg) crawls on these: minutes at n=600
        cases.append(("biregular d=10", regular_layer(n, 10, seed=1)))
    for label, graph in cases:
        nx_graph = graph.to_networkx()
        start = time.perf_counter()
        ours = layer_metrics(graph, ["fiedler_value"])["fiedler_value"]
        ours_s = time.perf_counter() - start
        start = time.perf_counter()
        theirs = nx.algebraic_connectivity(nx_graph)
        theirs_s = time.perf_counter() - start
        print(
            f"[2] fiedler {label}, {graph.n_in} x {graph.n_out} ({graph.n_edges} edges): "
            f"topokit {ours_s:.3f} s, networkx {theirs_s:.3f} s, ratio {theirs_s / ours_s:.1f}x, "
            f"values {ours:.10f} / {theirs:.10f}, rel diff {abs(ours - theirs) / theirs:.2e}"
        )


_MEMORY_CHILD = """
import resource, sys, time
sys.path.insert(0, {path!r})
from bench_metrics import regular_layer
from topokit.metrics import LAYER_METRICS, layer_metrics
graph = regular_layer({n}, {degree}, seed=3)
build = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
keys = [k for k in LAYER_METRICS
        if k not in ("fiedler_value", "edge_expansion_lower", "edge_expansion_upper")]
start = time.perf_counter()
result = layer_metrics(graph, keys)
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(build, peak, elapsed, result["lambda2"], result["normalized_spectral_gap"])
"""


def bench_memory(n: int, degree: int) -> None:
    import os

    code = _MEMORY_CHILD.format(path=os.path.dirname(os.path.abspath(__file__)), n=n, degree=degree)
    output = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout.split()
    build_kib, peak_kib, elapsed, lambda2, gap = output
    print(
        f"[3] degree + spectral metrics of {n} x {n}, {n * degree} edges: "
        f"peak RSS {int(peak_kib) / 2**20:.2f} GiB (after building the graph "
        f"{int(build_kib) / 2**20:.2f} GiB), {float(elapsed):.1f} s, lambda2={float(lambda2):.5f}, "
        f"normalized_spectral_gap={float(gap):.5f}"
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a few seconds")
    parser.add_argument(
        "--nx-biregular",
        action="store_true",
        help="also time networkx on the biregular layer (its default method is very slow there)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        bench_cli_metrics(5_000, repeats=1)
        bench_all_metrics(2_000)
        bench_fiedler_vs_networkx(600, args.nx_biregular)
        bench_memory(5_000, 10)
    else:
        bench_cli_metrics(100_000)
        bench_all_metrics(100_000)
        bench_fiedler_vs_networkx(10_000, args.nx_biregular)
        bench_memory(1_000_000, 10)
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"(this process peak RSS {peak_gib:.2f} GiB)")


if __name__ == "__main__":
    main()
