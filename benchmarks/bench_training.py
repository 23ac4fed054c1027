"""Training-step speed and memory of SparseMLP against dense BLAS and scipy.sparse.

For sizes [784, 4000, 4000, 10] (output layer dense), batch 128 and hidden-layer
densities 0.5% .. 100%, one full training step (forward, backward, SGD-momentum update)
of topokit's SparseMLP is timed next to, in the same process:

* dense BLAS: the three float32 GEMMs per layer of the same shapes (forward, weight
  gradient, input gradient): its FLOP rate is the yardstick for our effective rate
  ``6 · nnz · batch / step time`` (target: at least 30%);
* a scipy.sparse implementation of the same step (CSR products, the weight gradient
  gathered at the stored entries with NumPy): target at least 2x slower than ours;
* a masked dense ``torch.nn.Linear`` network on the CPU, where torch is importable.

Through the scikit-learn estimator, at the same sizes with hidden layers at 1%, it times
``SparseMLPClassifier.partial_fit`` on one minibatch of 128 against ``train_step`` of its
model on the same minibatch (target: at most 1.15x), and prints both effective rates
against the dense-BLAS yardstick (target through ``partial_fit``: at least 40%).

The contenders of each comparison take turns, round after round (``timed_together``);
where BLAS is one of them, each turn is followed by a 0.2 s pause, so that OpenBLAS's
idle threads, which poll for about 0.1 s after a multithreaded call, are asleep before
the next contender's timed calls.

It fits step time against nnz over the sparse-kernel densities, and measures the peak
memory (``resource.getrusage``) of a [1000, 100000, 100000, 10] network at density 1e-4
training a few steps, in a fresh subprocess (target: under 1.5 GB).

Thread choice, dtype and a busy machine (issue 14, figures 1-3), on [784, 1000, 1000,
1000, 10] at hidden densities 2.9 / 2.6 / 2.6 % and [784, 4000, 4000, 10] at 1% (output
layers dense), batches 16, 40, 128 and 512, float32 and float64:

1. a step on numba's default thread count against one thread (``numba.set_num_threads``),
   timed in the same rounds: target at most 1.05x;
2. a float64 step against a float32 step of the same shape and batch: target at most 2.5x;
3. [784, 4000, 4000, 10] at 1%, batch 128: the step while a second process trains the same
   network on two threads (this script starts it, then stops and continues it, so that
   quiet and busy phases alternate) against the quiet steps either side: target at most
   2.5x (a fair share of the cores is 2x). After it, each layer kernel's
   serial copy (what the busy phase runs) against its parallel copy on one thread, on the
   same arrays: about 1x.

Usage: ``python benchmarks/bench_training.py [--quick] [--only {speed,threads,busy}]``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import signal
import subprocess
import sys
import time

import numba
import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from topokit.graph import LayerGraph
from topokit.nn import SparseMLP, SparseMLPClassifier
from topokit.nn._compile import measured_calls
from topokit.nn._layer_backward import backward
from topokit.nn._layer_forward import column_order, forward, forward_complete
from topokit.nn._panels import panel_shape
from topokit.nn._weight_gradient import sddmm
from topokit.topology import Topology

FULL = {
    "sizes": [784, 4000, 4000, 10],
    "densities": [0.005, 0.01, 0.02, 0.05, 0.10, 1.0],
    "memory_sizes": [1000, 100000, 100000, 10],
    "memory_density": 1e-4,
    "estimator_density": 0.01,
    "min_seconds": 1.0,
}
QUICK = {
    "sizes": [64, 300, 300, 10],
    "densities": [0.02, 0.1, 1.0],
    "memory_sizes": [100, 5000, 5000, 10],
    "memory_density": 1e-3,
    "estimator_density": 0.05,
    "min_seconds": 0.05,
}
# figures 1 and 2: (sizes, hidden densities) x batches x {float32, float64}
FULL["thread_networks"] = [
    ([784, 1000, 1000, 1000, 10], [0.029, 0.026, 0.026]),
    ([784, 4000, 4000, 10], [0.01, 0.01]),
]
FULL["thread_batches"] = [16, 40, 128, 512]
QUICK["thread_networks"] = [([64, 2000, 2000, 10], [0.02, 0.02])]  # above PARALLEL_WORK
QUICK["thread_batches"] = [16, 128]
# figure 3: (sizes, hidden densities, batch); cycles of a quiet and a busy phase, each
# phase first settling, then timed
FULL["busy_network"] = ([784, 4000, 4000, 10], [0.01, 0.01], 128)
FULL["busy_cycles"], FULL["busy_settle"], FULL["busy_seconds"] = 6, 0.5, 1.0
QUICK["busy_network"] = ([64, 2000, 2000, 10], [0.02, 0.02], 128)
QUICK["busy_cycles"], QUICK["busy_settle"], QUICK["busy_seconds"] = 2, 0.1, 0.2
THREADS_TARGET = 1.05
DTYPE_TARGET = 2.5
BUSY_TARGET = 2.5
BATCH = 128
MEMORY_LIMIT_GB = 1.5
PARTIAL_FIT_LIMIT = 1.15  # partial_fit on one minibatch / train_step on it
ESTIMATOR_RATE_TARGET = 0.40  # partial_fit's effective rate / the dense-BLAS rate
# seconds between the turns of rounds with a BLAS contender: OpenBLAS's idle threads
# poll for about 0.1 s after a multithreaded call (timed_together)
BLAS_SETTLE = 0.2


def random_layer(n_in, n_out, density, rng) -> LayerGraph:
    """Uniform random pattern with round(density·n_in·n_out) edges, never dense in memory."""
    if density >= 1.0:
        return LayerGraph(np.ones((n_in, n_out)))
    n_edges = max(1, round(density * n_in * n_out))
    if n_in * n_out < 2**26:
        flat = rng.choice(n_in * n_out, size=n_edges, replace=False)
    else:  # sample with replacement until enough distinct edges, then thin at random
        flat = np.unique(rng.integers(0, n_in * n_out, size=int(n_edges * 1.05) + 16))
        while flat.size < n_edges:
            extra = rng.integers(0, n_in * n_out, size=n_edges - flat.size + 16)
            flat = np.unique(np.concatenate([flat, extra]))
        flat = rng.choice(flat, size=n_edges, replace=False)
    flat = np.sort(flat)
    indptr = np.searchsorted(flat // n_out, np.arange(n_in + 1)).astype(np.int32)
    indices = (flat % n_out).astype(np.int32)
    csr = sp.csr_array((np.ones(n_edges), indices, indptr), shape=(n_in, n_out))
    return LayerGraph._trusted(csr, family="random")


def build_topology(sizes, density, rng) -> Topology:
    """Hidden layers at ``density``, the output layer dense."""
    layers = [random_layer(a, b, density, rng) for a, b in itertools.pairwise(sizes[:-1])]
    layers.append(LayerGraph(np.ones((sizes[-2], sizes[-1]))))
    return Topology(layers)


def network(sizes, densities, rng) -> Topology:
    """Hidden layers at their ``densities`` (one per hidden layer), the output layer dense."""
    pairs = itertools.pairwise(sizes[:-1])
    layers = [random_layer(a, b, d, rng) for (a, b), d in zip(pairs, densities, strict=True)]
    layers.append(LayerGraph(np.ones((sizes[-2], sizes[-1]))))
    return Topology(layers)


def timed_together(steps, min_seconds, min_repeats=5, max_repeats=40, burst=3, settle=0.0):
    """Per step, (min, median) seconds of ``step()``: the steps take turns, round after round.

    Each turn calls its step once untimed, then times ``burst`` calls in a row: a
    training loop runs step after step, so each timed step finds the data of the
    one before it in cache, as it would in training (the other contenders' turns in
    between evict it). Taking turns exposes every step to the same load from other
    processes (this machine is shared), and the minimum is the time least disturbed
    by it; ratios are taken between the same statistic of each.

    With ``settle``, each turn is followed by that many seconds of sleep, not counted in
    ``min_seconds``. OpenBLAS's idle threads poll (``sched_yield`` in a loop) for 2**28
    clock ticks, about 0.1 s, after every multithreaded call; without the pause they
    share the two cores with the next contender's timed calls (a sparse step right
    after a BLAS turn measured 1.3-2x its time alone).
    """
    times = {name: [] for name in steps}
    busy = 0.0
    rounds = 0
    while rounds < min_repeats or busy < min_seconds * len(steps):
        for name, step in steps.items():
            turn = time.perf_counter()
            step()
            for _ in range(burst):
                t0 = time.perf_counter()
                step()
                times[name].append(time.perf_counter() - t0)
            busy += time.perf_counter() - turn
            if settle:
                time.sleep(settle)
        rounds += 1
        if rounds >= max_repeats:
            break
    return {name: (min(v), float(np.median(v))) for name, v in times.items()}


def with_one_blas_thread(step):
    """``step`` run with BLAS limited to one thread."""

    def run():
        with threadpool_limits(1, user_api="blas"):
            step()

    return run


# ----------------------------------------------------------------- baselines
def dense_blas_step(sizes, rng):
    """The three GEMMs per layer of one dense training step; returns (step, flops)."""
    Ws = [rng.standard_normal((a, b)).astype(np.float32) for a, b in itertools.pairwise(sizes)]
    acts = [rng.standard_normal((BATCH, n)).astype(np.float32) for n in sizes]

    def step():
        for k, W in enumerate(Ws):
            np.matmul(acts[k], W, out=acts[k + 1])
        for k in range(len(Ws) - 1, -1, -1):
            grad_W = acts[k].T @ acts[k + 1]
            if k > 0:
                acts[k][...] = acts[k + 1] @ Ws[k].T
            Ws[k] -= 1e-12 * grad_W

    flops = 6 * BATCH * sum(a * b for a, b in itertools.pairwise(sizes))
    return step, flops


class ScipyMLP:
    """The same network and SGD-momentum step on scipy.sparse CSR products."""

    def __init__(self, topology, rng):
        self.W, self.rows, self.cols, self.b, self.vel = [], [], [], [], []
        for graph in topology:
            csr = graph.biadjacency.astype(np.float32)
            csr.data[:] = rng.standard_normal(csr.nnz).astype(np.float32) * 0.05
            rows, cols = graph.edges()
            self.W.append(sp.csr_matrix(csr))
            self.rows.append(rows)
            self.cols.append(cols)
            self.b.append(np.zeros(graph.n_out, dtype=np.float32))
            self.vel.append(np.zeros(graph.n_edges, dtype=np.float32))

    def step(self, X, y, lr=1e-3, momentum=0.9):
        acts = [X]
        for k, W in enumerate(self.W):
            z = np.asarray(acts[-1] @ W) + self.b[k]
            acts.append(np.maximum(z, 0) if k < len(self.W) - 1 else z)
        logits = acts[-1] - acts[-1].max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        delta = p
        delta[np.arange(y.size), y] -= 1
        delta /= y.size
        for k in range(len(self.W) - 1, -1, -1):
            W = self.W[k]
            grad = np.empty(W.nnz, dtype=np.float32)
            xt, gt = np.ascontiguousarray(acts[k].T), np.ascontiguousarray(delta.T)
            for start in range(0, W.nnz, 1 << 16):  # SDDMM: gather rows, multiply, sum
                part = slice(start, start + (1 << 16))
                grad[part] = np.einsum("ij,ij->i", xt[self.rows[k][part]], gt[self.cols[k][part]])
            grad_b = delta.sum(axis=0)
            if k > 0:
                delta = np.asarray((W @ delta.T).T) * (acts[k] > 0)
            self.vel[k] *= momentum
            self.vel[k] -= lr * grad
            W.data += self.vel[k]
            self.b[k] -= lr * grad_b


def torch_masked_step(sizes, density_layers, rng):
    """A masked dense torch.nn.Linear network step on the CPU, or None without torch."""
    try:
        import torch
    except (ImportError, OSError):
        return None
    layers = [torch.nn.Linear(a, b) for a, b in itertools.pairwise(sizes)]
    masks = [torch.from_numpy(g.biadjacency.toarray().T.astype(np.float32)) for g in density_layers]
    opt = torch.optim.SGD([p for lay in layers for p in lay.parameters()], lr=1e-3, momentum=0.9)
    X = torch.from_numpy(rng.standard_normal((BATCH, sizes[0])).astype(np.float32))
    y = torch.from_numpy(rng.integers(0, sizes[-1], BATCH))

    def step():
        h = X
        for k, (lay, mask) in enumerate(zip(layers, masks, strict=True)):
            h = torch.nn.functional.linear(h, lay.weight * mask, lay.bias)
            if k < len(layers) - 1:
                h = torch.relu(h)
        loss = torch.nn.functional.cross_entropy(h, y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


# ----------------------------------------------------------------- measures
def speed_table(config, rng):
    sizes = config["sizes"]
    X = rng.random((BATCH, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], BATCH)
    blas_step, blas_flops = dense_blas_step(sizes, rng)
    print(f"sizes {sizes}, batch {BATCH}, hidden layers at each density, output layer dense")
    print(
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; each row times its "
        "steps in turn, round after round, and reports the minimum (least disturbed by other "
        "processes) and, in brackets, ratios of the medians"
    )
    print(
        "dense BLAS yardstick: the 3 GEMMs per layer of the same shapes, the faster of BLAS's "
        "default threads and one thread, timed in the same rounds as each row"
    )
    header = (
        f"{'density':>8} {'nnz':>10} {'path':>6} {'ours ms':>9} {'GFLOP/s':>8} "
        f"{'BLAS GFLOP/s':>13} {'vs BLAS':>16} {'scipy ms':>9} {'scipy/ours':>15} "
        f"{'torch/ours':>11}"
    )
    print(header)
    points = []
    have_torch = True
    for density in config["densities"]:
        topology = build_topology(sizes, density, rng)
        model = SparseMLP(topology, optimizer="sgd", learning_rate=1e-3, rng=0)
        scipy_model = ScipyMLP(topology, rng)
        steps = {
            "ours": lambda m=model: m.train_step(X, y),
            "scipy": lambda s=scipy_model: s.step(X, y),
            "blas": blas_step,
            "blas_1": with_one_blas_thread(blas_step),
        }
        torch_step = torch_masked_step(sizes, topology.layers, rng)
        if torch_step is None:
            have_torch = False
        else:
            steps["torch"] = torch_step
        timing = timed_together(steps, config["min_seconds"], settle=BLAS_SETTLE)
        ours, ours_med = timing["ours"]
        scipy_time, scipy_med = timing["scipy"]
        blas_time = min(timing["blas"][0], timing["blas_1"][0])
        blas_med = min(timing["blas"][1], timing["blas_1"][1])
        nnz = topology.n_edges
        rate = 6 * nnz * BATCH / ours
        vs_blas = f"{blas_time / ours * 6 * nnz * BATCH / blas_flops:.1%}"
        vs_blas += f" ({blas_med / ours_med * 6 * nnz * BATCH / blas_flops:.1%})"
        torch_text = "-"
        if "torch" in timing:
            torch_text = f"{timing['torch'][0] / ours:.2f}x"
        path = "dense" if model.layers[0].uses_dense else "sparse"
        if path == "sparse":
            points.append((nnz, ours))
        print(
            f"{density:>8.3%} {nnz:>10d} {path:>6} {ours * 1e3:>9.2f} {rate / 1e9:>8.2f} "
            f"{blas_flops / blas_time / 1e9:>13.1f} {vs_blas:>16} {scipy_time * 1e3:>9.2f} "
            f"{f'{scipy_time / ours:.2f}x ({scipy_med / ours_med:.2f}x)':>15} {torch_text:>11}"
        )
    if not have_torch:
        print("torch: not importable here, masked torch.nn.Linear comparison skipped")
    if len(points) >= 2:
        nnz, seconds = (np.array(v, dtype=np.float64) for v in zip(*points, strict=True))
        slope, intercept = np.polyfit(nnz, seconds, 1)
        fitted = slope * nnz + intercept
        r2 = 1 - np.sum((seconds - fitted) ** 2) / np.sum((seconds - seconds.mean()) ** 2)
        print(
            f"linear fit of step time vs nnz (sparse-kernel densities): slope "
            f"{slope * 1e9:.3f} ns/edge, intercept {intercept * 1e3:.3f} ms, R^2 {r2:.4f}"
        )


# ------------------------------------------- threads, dtypes, a busy machine
def on_threads(step, threads):
    """``step`` run on ``threads`` numba threads (None: numba's default count)."""
    count = numba.config.NUMBA_NUM_THREADS if threads is None else threads

    def run():
        numba.set_num_threads(count)
        try:
            step()
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)

    return run


def thread_table(config):
    """Figures 1 and 2: default threads against one thread, float64 against float32."""
    threads = numba.config.NUMBA_NUM_THREADS
    print(
        f"\nthreads and dtypes: a training step (SGD momentum) on numba's default {threads} "
        f"threads against 1 thread, float64 against float32, all four timed in the same rounds "
        f"(minimum, median in brackets); load average {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} CPUs"
    )
    names = [
        f"{sizes} @ {'/'.join(f'{d:.1%}' for d in densities)}"
        for sizes, densities in config["thread_networks"]
    ]
    width = max(len(name) for name in names)
    print(
        f"{'network':>{width}} {'batch':>5} {'dtype':>7} {'1 thread ms':>12} "
        f"{f'{threads} threads ms':>13} {'default/1':>16} {'float64/float32':>16}"
    )
    worst_threads, worst_dtype = 0.0, 0.0
    for name, (sizes, densities) in zip(names, config["thread_networks"], strict=True):
        rng = np.random.default_rng(0)
        topology = network(sizes, densities, rng)
        for batch in config["thread_batches"]:
            X = rng.random((batch, sizes[0]))
            y = rng.integers(0, sizes[-1], batch)
            steps = {}
            for dtype in ("float32", "float64"):
                model = SparseMLP(topology, optimizer="sgd", learning_rate=1e-3, dtype=dtype, rng=0)
                Xd = X.astype(dtype)
                step = lambda m=model, Xd=Xd, y=y: m.train_step(Xd, y)  # noqa: E731
                steps[dtype, 1] = on_threads(step, 1)
                steps[dtype, None] = on_threads(step, None)
            timing = timed_together(steps, config["min_seconds"])
            for dtype in ("float32", "float64"):
                one, default = timing[dtype, 1], timing[dtype, None]
                ratio = default[0] / one[0]
                worst_threads = max(worst_threads, ratio)
                dtype_text = "-"
                if dtype == "float64":
                    f32 = timing["float32", None]
                    dtype_ratio = default[0] / f32[0]
                    worst_dtype = max(worst_dtype, dtype_ratio)
                    dtype_text = f"{dtype_ratio:.2f}x ({default[1] / f32[1]:.2f}x)"
                print(
                    f"{name:>{width}} {batch:>5} {dtype:>7} {one[0] * 1e3:>12.2f} "
                    f"{default[0] * 1e3:>13.2f} "
                    f"{f'{ratio:.2f}x ({default[1] / one[1]:.2f}x)':>16} {dtype_text:>16}"
                )
    print(
        f"figure 1: worst default/1-thread ratio {worst_threads:.2f}x (target <= "
        f"{THREADS_TARGET}x); figure 2: worst float64/float32 ratio {worst_dtype:.2f}x "
        f"(target <= {DTYPE_TARGET}x)"
    )


def stepping(model, X, y, seconds):
    """Per-step seconds of ``model.train_step(X, y)`` called for ``seconds``."""
    times = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        model.train_step(X, y)
        times.append(time.perf_counter() - t0)
    return np.array(times)


def busy_model(sizes, densities, batch):
    """The figure-3 network, its model and a minibatch (the same in both processes)."""
    rng = np.random.default_rng(0)
    model = SparseMLP(network(sizes, densities, rng), optimizer="sgd", learning_rate=1e-3, rng=0)
    X = rng.random((batch, sizes[0])).astype(np.float32)
    return model, X, rng.integers(0, sizes[-1], batch)


def busy_child(sizes, densities, batch):
    """The competing process: trains the figure-3 network until its parent ends or dies."""
    parent = os.getppid()
    model, X, y = busy_model(sizes, densities, batch)
    stepping(model, X, y, 0.5)
    print("ready", flush=True)
    while os.getppid() == parent:
        stepping(model, X, y, 0.5)


def busy_check(config):
    """Figure 3: the step while a second process trains the same network, against quiet.

    The competing process starts once and is then stopped and continued (``SIGSTOP``,
    ``SIGCONT``), so that quiet and busy phases alternate, each cycle a quiet phase and
    a busy one: the host's other load, which drifts over minutes, then weighs on both
    sides of each ratio alike. Each busy phase's median is compared with the faster of
    the quiet phases either side of it (their medians); figure 3 is the median of these
    ratios. The first ``busy_settle`` seconds of each phase are not timed: both
    processes' thread choices follow the change of load (in 0.1-0.2 s, measured). POSIX
    only (``SIGSTOP``).
    """
    sizes, densities, batch = config["busy_network"]
    seconds, settle, cycles = config["busy_seconds"], config["busy_settle"], config["busy_cycles"]
    model, X, y = busy_model(sizes, densities, batch)
    stepping(model, X, y, 2 * settle)  # compile, settle the thread choice
    spec = [",".join(map(str, sizes)), ",".join(map(str, densities)), str(batch)]
    child = subprocess.Popen(
        [sys.executable, __file__, "--busy-child", *spec], stdout=subprocess.PIPE, text=True
    )

    calls = {"quiet": np.zeros(2, np.int64), "busy": np.zeros(2, np.int64)}

    def phase(name):
        stepping(model, X, y, settle)  # the thread choice follows the load
        before = np.array(measured_calls())
        times = stepping(model, X, y, seconds)
        calls[name] += np.array(measured_calls()) - before
        return times

    quiet, busy = [], []
    try:
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError("the competing training process did not start")
        os.kill(child.pid, signal.SIGSTOP)
        for _ in range(cycles):
            quiet.append(phase("quiet"))
            os.kill(child.pid, signal.SIGCONT)
            busy.append(phase("busy"))
            os.kill(child.pid, signal.SIGSTOP)
        quiet.append(phase("quiet"))
    finally:
        child.kill()
        child.wait()
    threads = numba.config.NUMBA_NUM_THREADS
    print(
        f"\nbusy machine: {sizes} @ {'/'.join(f'{d:.1%}' for d in densities)}, batch {batch}, "
        f"float32, {threads} threads, against a second process training the same network on "
        f"{threads} threads, stopped and continued: {cycles} cycles of quiet and busy phases "
        f"of {seconds:g} s; {os.cpu_count()} CPUs"
    )
    ratios = []
    for i, times in enumerate(busy):
        before, after = np.median(quiet[i]), np.median(quiet[i + 1])
        ratios.append(np.median(times) / min(before, after))
        print(
            f"  cycle {i + 1}: quiet {before * 1e3:.2f} ms, busy {np.median(times) * 1e3:.2f} ms "
            f"(over {times.size} steps), quiet {after * 1e3:.2f} ms: {ratios[-1]:.2f}x"
        )
    shares = ", ".join(
        f"{name} phases {counts[1] / max(counts.sum(), 1):.0%}" for name, counts in calls.items()
    )
    print(f"  kernel calls on the parallel copies (the measured thread choice): {shares}")
    quiet_all, busy_all = np.concatenate(quiet), np.concatenate(busy)
    print(
        f"figure 3: busy/quiet {np.median(ratios):.2f}x, the median of the cycles' ratios "
        f"(target <= {BUSY_TARGET}x; a fair share of the cores is 2x); all phases pooled: "
        f"{np.median(busy_all) / np.median(quiet_all):.2f}x by medians, "
        f"{busy_all.mean() / quiet_all.mean():.2f}x by means"
    )


def serial_copies(config):
    """Each layer kernel's serial copy against its parallel copy run on one thread.

    The serial copies are what a busy machine runs (figure 3) and what one thread runs
    (figure 1): on the same arrays they should cost what the parallel copy costs on one
    thread. The layers of the figure-3 network, its batch in the panel layout.
    """
    sizes, densities, batch = config["busy_network"]
    rng = np.random.default_rng(0)
    n_panels, width = panel_shape(batch)
    layers = list(zip(sizes[:-1], sizes[1:], [*densities, 1.0], strict=True))
    print(
        f"\nserial copies: {sizes} @ {'/'.join(f'{d:.1%}' for d in densities)} (output layer "
        f"dense), batch {batch}, float32; the serial copy against the parallel copy on one "
        "thread, timed in turns (minimum, median in brackets)"
    )
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        for n_in, n_out, density in layers:
            pattern = random_layer(n_in, n_out, density, rng).biadjacency.tocsr()
            pattern.sort_indices()
            indptr, indices = pattern.indptr.astype(np.int32), pattern.indices.astype(np.int32)
            data = rng.standard_normal(indices.size).astype(np.float32)
            xt = np.maximum(rng.standard_normal((n_panels * n_in, width)), 0).astype(np.float32)
            gt = rng.standard_normal((n_panels * n_out, width)).astype(np.float32)
            yt = np.empty_like(gt)
            grad = np.empty((n_panels, indices.size), np.float32)
            gxt = np.empty_like(xt)
            bias = np.zeros(n_out, np.float32)
            columns = column_order(indptr, indices, n_out)
            blocks = np.stack([indptr[:-1], indptr[1:]], axis=1)
            if indices.size == n_in * n_out:  # complete: the forward by output groups runs
                forward_run = ("forward by groups", forward_complete, (data, bias, xt, yt, True))
            else:
                forward_run = ("forward", forward, (columns, data, bias, xt, yt, True))
            kernels = {
                forward_run[0]: forward_run[1:],
                "backward": (backward, (indptr, indices, data, xt, gt, grad, gxt, True)),
                "weight gradient": (sddmm, (blocks, indices, xt, gt, grad, np.float32(0))),
            }
            cells = []
            for name, (kernel, args) in kernels.items():
                timing = timed_together(
                    {
                        "serial": lambda k=kernel, a=args: k.serial(*a),
                        "parallel": lambda k=kernel, a=args: k.parallel(*a),
                    },
                    config["min_seconds"] / 4,
                )
                (s_min, s_med), (p_min, p_med) = timing["serial"], timing["parallel"]
                cells.append(
                    f"{name} {s_min * 1e6:.0f}/{p_min * 1e6:.0f} us "
                    f"{s_min / p_min:.2f}x ({s_med / p_med:.2f}x)"
                )
            print(f"  {n_in:>5} x {n_out:<5} {len(indices):>7} edges: " + "; ".join(cells))
    finally:
        numba.set_num_threads(previous)


def estimator_ratios(config, rng):
    """partial_fit on one minibatch against train_step, and both against dense BLAS."""
    sizes, density = config["sizes"], config["estimator_density"]
    X = rng.random((BATCH, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], BATCH)
    classifier = SparseMLPClassifier(
        tuple(sizes[1:-1]),
        solver="sgd",
        learning_rate_init=1e-3,
        batch_size=BATCH,
        density=density,
        random_state=0,
    )
    classifier.partial_fit(X, y, classes=np.arange(sizes[-1]))  # draws the network
    model = classifier.model_
    blas_step, blas_flops = dense_blas_step(sizes, rng)
    steps = {
        "partial_fit": lambda: classifier.partial_fit(X, y),
        "train_step": lambda: model.train_step(X, y),
        "blas": blas_step,
        "blas_1": with_one_blas_thread(blas_step),
    }
    timing = timed_together(steps, config["min_seconds"], burst=5, settle=BLAS_SETTLE)
    fit_time, fit_med = timing["partial_fit"]
    step_time, step_med = timing["train_step"]
    blas_time = min(timing["blas"][0], timing["blas_1"][0])
    flops = 6 * model.n_edges * BATCH
    print(
        f"estimator: SparseMLPClassifier(hidden {sizes[1:-1]}, erdos_renyi at density "
        f"{density:g}, output layer dense, sgd), {model.n_edges} edges, batch {BATCH}, "
        "one minibatch per call"
    )
    verdict = "within" if fit_time / step_time <= PARTIAL_FIT_LIMIT else "OVER"
    print(
        f"  partial_fit {fit_time * 1e3:.2f} ms, train_step {step_time * 1e3:.2f} ms: "
        f"partial_fit / train_step {fit_time / step_time:.3f}x "
        f"({fit_med / step_med:.3f}x of the medians); {verdict} the {PARTIAL_FIT_LIMIT}x limit"
    )
    for name, seconds in (("partial_fit", fit_time), ("train_step", step_time)):
        share = blas_time / seconds * flops / blas_flops
        target = ""
        if name == "partial_fit":
            reached = "reached" if share >= ESTIMATOR_RATE_TARGET else "NOT reached"
            target = f"; target {ESTIMATOR_RATE_TARGET:.0%} {reached}"
        print(
            f"  through {name}: {flops / seconds / 1e9:.2f} GFLOP/s effective "
            f"(6 * nnz * batch / step), dense BLAS {blas_flops / blas_time / 1e9:.1f} "
            f"GFLOP/s: {share:.1%} of the BLAS rate{target}"
        )


def memory_child(sizes, density, steps=3):
    rng = np.random.default_rng(0)
    topology = build_topology(sizes, density, rng)
    model = SparseMLP(topology, optimizer="sgd", learning_rate=1e-3, rng=0)
    X = rng.random((BATCH, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], BATCH)
    model.train_step(X, y)  # untimed: numba compiles here after a kernel change
    start = time.perf_counter()
    for _ in range(steps):
        model.train_step(X, y)
    seconds = (time.perf_counter() - start) / steps
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
    print(f"{topology.n_edges} {seconds} {peak_gb} {_own_peak_gb()}")


def _own_peak_gb():
    """Peak RSS of this process's own address space (VmHWM), or nan off Linux.

    ``ru_maxrss`` of a freshly exec'd child also counts the parent's pages at the
    fork (Linux carries the old address space's high-water mark across exec), so
    the memory check runs before the speed table and reports both figures.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return float("nan")


def memory_check(config):
    sizes, density = config["memory_sizes"], config["memory_density"]
    args = [sys.executable, __file__, "--memory-child", ",".join(map(str, sizes)), str(density)]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout.split()
    n_edges, seconds = int(out[0]), float(out[1])
    maxrss_gb, own_gb = float(out[2]), float(out[3])
    peak_gb = own_gb if own_gb == own_gb else maxrss_gb
    verdict = "under" if peak_gb < MEMORY_LIMIT_GB else "OVER"
    print(
        f"memory: sizes {sizes} at density {density:g} (output layer dense), {n_edges} edges, "
        f"{seconds * 1e3:.1f} ms/step: peak RSS {own_gb:.3f} GB (VmHWM), ru_maxrss "
        f"{maxrss_gb:.3f} GB; {verdict} the {MEMORY_LIMIT_GB} GB limit, ratio to limit "
        f"{peak_gb / MEMORY_LIMIT_GB:.2f}"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a few seconds")
    parser.add_argument(
        "--only",
        choices=["speed", "threads", "busy"],
        help="one part: speed table and estimator, figures 1-2 (threads) or 3 (busy)",
    )
    parser.add_argument(
        "--memory-child", nargs=2, metavar=("SIZES", "DENSITY"), help=argparse.SUPPRESS
    )
    parser.add_argument("--busy-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        memory_child([int(s) for s in args.memory_child[0].split(",")], float(args.memory_child[1]))
        return
    if args.busy_child:
        sizes, densities, batch = args.busy_child
        busy_child(
            [int(s) for s in sizes.split(",")], [float(d) for d in densities.split(",")], int(batch)
        )
        return
    config = QUICK if args.quick else FULL
    rng = np.random.default_rng(0)
    if args.only in (None, "speed"):
        memory_check(config)  # first, while this process is small (see _own_peak_gb)
        estimator_ratios(config, rng)
        speed_table(config, rng)
    if args.only in (None, "threads"):
        thread_table(config)
    if args.only in (None, "busy"):
        busy_check(config)
        serial_copies(config)


if __name__ == "__main__":
    main()
