"""Speed of pruning at initialisation (topokit.nn.prune), against its target and a yardstick.

SNIP of [784, 4000, 4000, 10] to density 0.01 on MNIST (the output layer dense, scope
global, one minibatch of 128): the seconds of the whole ``prune`` call (drawing the
19 million initial weights, one forward and backward pass, the ranking, the layer graphs)
against the issue's 30 s target, and against one dense training step of the same network
at batch 128 (:class:`~topokit.nn.SparseMLP` on the complete topology, which runs on dense
BLAS products), measured in the same run. GraSP (a forward and backward pass more, for
``H g``) is timed beside it, and SynFlow (data-free) over ``--synflow-iterations`` rounds
(its default is 100; the seconds per round are printed). Each figure is the minimum of
``--repeats`` runs (SynFlow: one run).

MNIST is read from ``$TOPOKIT_DATA``; without it the data are random stand-ins of MNIST's
shape (784 features, 10 classes), which cost the same, and the output says so.

Usage: python benchmarks/bench_pruning.py [--quick] [--repeats N] [--synflow-iterations N]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from topokit import Topology
from topokit._errors import TopokitError
from topokit.nn import SparseMLP, prune
from topokit.nn.datasets import Dataset, load_dataset

TARGET_SECONDS = 30.0


def _data(n_features: int, quick: bool) -> Dataset:
    """MNIST (digits with --quick), or random data of its shape where it is missing."""
    name = "digits" if quick else "mnist"
    try:
        data = load_dataset(name, download=False)
        if data.n_features == n_features:
            return data
    except TopokitError:
        pass
    rng = np.random.default_rng(0)
    X = rng.random((1000, n_features), dtype=np.float32)
    y = np.arange(1000) % 10
    return Dataset(X, y, X[:100], y[:100], name=f"random stand-in for {name}")


def _best(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument("--repeats", type=int, default=3, metavar="N")
    parser.add_argument("--synflow-iterations", type=int, default=10, metavar="N")
    args = parser.parse_args(argv)
    sizes = [64, 256, 256, 10] if args.quick else [784, 4000, 4000, 10]
    density, batch = 0.01, 128
    data = _data(sizes[0], args.quick)
    repeats = 1 if args.quick else args.repeats

    def run(method):
        return prune(method, sizes, dataset=data, density=density, rng=0, batch_size=batch)

    snip = _best(lambda: run("snip"), repeats)
    grasp = _best(lambda: run("grasp"), repeats)
    result = run("snip")
    iterations = args.synflow_iterations
    start = time.perf_counter()
    prune("synflow", sizes, density=density, rng=0, iterations=iterations)
    synflow = time.perf_counter() - start

    model = SparseMLP(Topology.build(sizes, "dense"), rng=0)
    X, y = data.X_train[:batch], data.y_train[:batch]
    model.train_step(X, y)  # compiles the kernels, allocates the buffers
    step = _best(lambda: model.train_step(X, y), max(repeats, 5))

    print(
        f"network {sizes}, density {density} (scope global, output layer dense), "
        f"data {data.name}, minibatch {batch}, minimum of {repeats} run(s)"
    )
    print(f"edges kept per layer: {[layer.n_edges for layer in result.topology]}")
    print(
        f"snip:  {snip:8.3f} s   ratio to the {TARGET_SECONDS:g} s target: "
        f"{snip / TARGET_SECONDS:.3f}   ratio to one dense training step: {snip / step:.1f}×"
    )
    print(
        f"grasp: {grasp:8.3f} s   ratio to the {TARGET_SECONDS:g} s target: "
        f"{grasp / TARGET_SECONDS:.3f}   ratio to one dense training step: {grasp / step:.1f}×"
    )
    print(
        f"synflow ({iterations} rounds): {synflow:8.3f} s, {synflow / iterations:.3f} s per round"
        f"   ratio per round to one dense training step: {synflow / iterations / step:.1f}×"
    )
    print(
        f"one dense training step (SparseMLP on the complete topology, batch {batch}): {step:.4f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
