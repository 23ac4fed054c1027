"""Cost of dynamic sparse training (SET, RigL) against static training, time and memory.

Three figures, each printed with its configuration:

* epoch cost: at sizes [784, 4000, 4000, 10] (output layer dense), 1% hidden density,
  batch 128, an epoch of 400 steps with one ``set`` or ``rigl`` update at its end, against
  a static epoch of the same steps (target: at most 1.10x). The rules take turns, epoch
  after epoch (first place rotating), so that they see the same load from other
  processes; the minimum over the rounds is compared. The update alone is timed too,
  and ``1 + update / static epoch`` printed beside the measured ratio (it is steadier
  on a busy machine).
* epoch cost through the user path: ``SparseMLP(dynamic=rule).fit`` for two epochs of
  the same steps (one update, after the first epoch; RigL's fraction annealed as
  ``fit`` plans it), against ``SparseMLP().fit`` (static); the rules take turns as
  above and the minimum over the rounds is compared. Printed: the ratio of the two
  fits, and the epoch-with-an-update ratio it implies, ``1 + 2 (ratio - 1)``.
* RigL memory: in a fresh process, the peak RSS (VmHWM) of a RigL update of the same
  network (a 4000 x 4000 layer at 1%) above the peak of its static training steps
  (target: at most 64 MB), and the peak of the update's own allocations (tracemalloc).
* SET memory: in a fresh process, the peak RSS of [1000, 100000, 100000, 10] at density
  1e-4 training with a SET update, beside the same process's peak before the update
  (target: inside the 1.5 GB of the static memory benchmark, bench_training.py).

Usage: ``python benchmarks/bench_dynamic.py [--quick] [--rounds N]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import tracemalloc
from types import SimpleNamespace

import numpy as np

from topokit import Topology
from topokit.nn import SparseMLP
from topokit.nn.dynamic import DynamicSparsity

FULL = {
    "sizes": [784, 4000, 4000, 10],
    "density": 0.01,
    "steps_per_epoch": 400,
    "rounds": 3,
    "memory_sizes": [1000, 100000, 100000, 10],
    "memory_density": 1e-4,
}
QUICK = {
    "sizes": [64, 300, 300, 10],
    "density": 0.05,
    "steps_per_epoch": 40,
    "rounds": 2,
    "memory_sizes": [100, 5000, 5000, 10],
    "memory_density": 1e-3,
}
BATCH = 128
POOL = 4096  # samples the minibatches are drawn from
EPOCH_LIMIT = 1.10
RIGL_LIMIT_MB = 64
MEMORY_LIMIT_GB = 1.5
RULES = ("static", "set", "rigl")


def build(sizes, density):
    """Hidden layers Erdős–Rényi at ``density``, the output layer dense (seeded)."""
    return Topology.build(sizes, "erdos_renyi", density=density, dense_output=True, rng=0)


def data(sizes, n=POOL):
    rng = np.random.default_rng(0)
    X = rng.random((n, sizes[0])).astype(np.float32)
    return X, rng.integers(0, sizes[-1], n)


class Run:
    """One model and its hook, trained epoch by epoch on minibatches of the pool."""

    def __init__(self, rule, topology, X, y, steps_per_epoch):
        self.model = SparseMLP(topology, rng=0)
        self.hook = DynamicSparsity(rule, rng=0)
        self.X, self.y = X, y
        self.state = SimpleNamespace(
            model=self.model,
            optimizer=self.model.optimizer,
            epoch=0,
            step=0,
            total_steps=None,  # open-ended: an update at every epoch's end, no annealing
            steps_per_epoch=steps_per_epoch,
            X_batch=None,
            y_batch=None,
            loss=None,
            history=self.model.history,
            stop=False,
        )
        self.hook.on_fit_start(self.state)

    def epoch(self, steps):
        """Train ``steps`` steps, then the end-of-epoch event; returns the seconds."""
        state, n = self.state, self.X.shape[0]
        start = time.perf_counter()
        for _ in range(steps):
            first = state.step * BATCH % (n - BATCH)
            state.X_batch = self.X[first : first + BATCH]
            state.y_batch = self.y[first : first + BATCH]
            state.loss = self.model.train_step(state.X_batch, state.y_batch)
            state.step += 1
            self.hook.on_step_end(state)
        self.hook.on_epoch_end(state)
        state.epoch += 1
        return time.perf_counter() - start

    def update_seconds(self):
        """One update alone, on the last minibatch."""
        start = time.perf_counter()
        self.hook.update(self.model, self.state.X_batch, self.state.y_batch)
        return time.perf_counter() - start


def epoch_cost(config, rounds):
    sizes, density, steps = config["sizes"], config["density"], config["steps_per_epoch"]
    topology = build(sizes, density)
    X, y = data(sizes)
    runs = {rule: Run(rule, topology, X, y, steps) for rule in RULES}
    for run in runs.values():  # compile, fill the caches, one update each
        run.epoch(3)
    times = {rule: [] for rule in RULES}
    updates = {rule: [] for rule in RULES[1:]}
    for r in range(rounds):
        for rule in RULES[r % 3 :] + RULES[: r % 3]:  # each rule in each place in turn
            times[rule].append(runs[rule].epoch(steps))
        for rule in RULES[1:]:
            updates[rule].append(runs[rule].update_seconds())
    static = min(times["static"])
    print(
        f"epoch cost: sizes {sizes}, hidden density {density:g} (output layer dense), batch "
        f"{BATCH}, {steps} steps per epoch with one update at its end, drop_fraction 0.3, "
        f"{rounds} rounds (min): static epoch {static:.2f} s"
    )
    for rule in RULES[1:]:
        epoch, update = min(times[rule]), min(updates[rule])
        ratio = epoch / static
        verdict = "within" if ratio <= EPOCH_LIMIT else "OVER"
        print(
            f"  {rule}: epoch {epoch:.2f} s, ratio to static {ratio:.3f} ({verdict} "
            f"{EPOCH_LIMIT}x); update alone {update * 1e3:.0f} ms, 1 + update / static "
            f"epoch = {1 + update / static:.3f}"
        )


def fit_cost(config, rounds):
    """Two-epoch ``fit`` of SparseMLP(dynamic=rule): the user path of the rules."""
    sizes, density, steps = config["sizes"], config["density"], config["steps_per_epoch"]
    topology = build(sizes, density)
    X, y = data(sizes, n=steps * BATCH)

    def fit(rule, epochs):
        model = SparseMLP(topology, dynamic=rule, rng=0)
        start = time.perf_counter()
        model.fit(X, y, epochs=epochs, batch_size=BATCH)
        seconds = time.perf_counter() - start
        hook = model.dynamic_sparsity
        return seconds, [] if hook is None else hook.changes

    for rule in RULES:  # compile, and each rule's first update
        fit(rule, 1)
    times = {rule: [] for rule in RULES}
    changes = {}
    for r in range(rounds):
        for rule in RULES[r % 3 :] + RULES[: r % 3]:
            seconds, changes[rule] = fit(rule, 2)
            times[rule].append(seconds)
    static = min(times["static"])
    print(
        f"fit cost (user path, SparseMLP(dynamic=...).fit): sizes {sizes}, hidden density "
        f"{density:g} (output layer dense), batch {BATCH}, 2 epochs of {steps} steps, one "
        f"update between them, {rounds} rounds (min): static fit {static:.2f} s"
    )
    for rule in RULES[1:]:
        ratio = min(times[rule]) / static
        epoch_ratio = 1 + 2 * (ratio - 1)
        verdict = "within" if epoch_ratio <= EPOCH_LIMIT else "OVER"
        fractions = sorted({round(c["drop_fraction"], 3) for c in changes[rule]})
        print(
            f"  {rule}: fit {min(times[rule]):.2f} s, ratio to static {ratio:.3f}; epoch with "
            f"an update, 1 + 2 (ratio - 1) = {epoch_ratio:.3f} ({verdict} {EPOCH_LIMIT}x); "
            f"drop fraction {fractions}"
        )


def _peak_rss_mb():
    """Peak RSS of this process (VmHWM), in MB; nan off Linux."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def rigl_memory_child(sizes, density):
    topology = build(sizes, density)
    X, y = data(sizes, n=BATCH)
    model = SparseMLP(topology, rng=0)
    for _ in range(5):
        model.train_step(X, y)
    static = _peak_rss_mb()
    hook = DynamicSparsity("rigl", rng=0)
    hook.update(model, X, y)
    after = _peak_rss_mb()
    tracemalloc.start()
    hook.update(model, X, y)
    traced = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    print(f"{static} {after} {traced}")


def set_memory_child(sizes, density):
    topology = build(sizes, density)
    X, y = data(sizes, n=BATCH)
    model = SparseMLP(topology, optimizer="sgd", learning_rate=1e-3, rng=0)
    for _ in range(3):
        model.train_step(X, y)
    static = _peak_rss_mb()
    hook = DynamicSparsity("set", rng=0)
    changed = hook.update(model, X, y)
    for _ in range(3):
        model.train_step(X, y)
    print(f"{topology.n_edges} {sum(changed)} {static} {_peak_rss_mb()}")


def _child(kind, sizes, density):
    args = [sys.executable, __file__, f"--{kind}-child", ",".join(map(str, sizes)), str(density)]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout.split()


def rigl_memory(config):
    sizes, density = config["sizes"], config["density"]
    static, after, traced = map(float, _child("rigl-memory", sizes, density))
    above = max(0.0, after - static)
    verdict = "within" if above <= RIGL_LIMIT_MB else "OVER"
    print(
        f"RigL memory: sizes {sizes}, hidden density {density:g}, batch {BATCH}: a RigL update "
        f"peaks {above:.1f} MB above the static steps (peak RSS {static:.0f} -> {after:.0f} MB; "
        f"{verdict} {RIGL_LIMIT_MB} MB, ratio to limit {above / RIGL_LIMIT_MB:.2f}); the "
        f"update's own allocations peak at {traced:.1f} MB (tracemalloc)"
    )


def set_memory(config):
    sizes, density = config["memory_sizes"], config["memory_density"]
    out = _child("set-memory", sizes, density)
    n_edges, changed = int(out[0]), int(out[1])
    static, peak = float(out[2]) / 1024, float(out[3]) / 1024
    verdict = "inside" if peak < MEMORY_LIMIT_GB else "OVER"
    print(
        f"SET memory: sizes {sizes} at density {density:g} (output layer dense), {n_edges} "
        f"edges, {changed} changed by one update: peak RSS {peak:.3f} GB ({static:.3f} GB "
        f"before the update); {verdict} the {MEMORY_LIMIT_GB} GB limit, ratio to limit "
        f"{peak / MEMORY_LIMIT_GB:.2f}"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a few seconds")
    parser.add_argument("--rounds", type=int, help="epochs per rule timed (default 3, quick 2)")
    for kind in ("rigl-memory", "set-memory"):
        parser.add_argument(
            f"--{kind}-child", nargs=2, metavar=("SIZES", "DENSITY"), help=argparse.SUPPRESS
        )
    args = parser.parse_args(argv)
    for kind, child in (("rigl_memory", rigl_memory_child), ("set_memory", set_memory_child)):
        given = getattr(args, f"{kind}_child")
        if given:
            child([int(s) for s in given[0].split(",")], float(given[1]))
            return
    config = QUICK if args.quick else FULL
    rigl_memory(config)  # the fresh processes first, while this one is small
    set_memory(config)
    epoch_cost(config, args.rounds or config["rounds"])
    fit_cost(config, args.rounds or config["rounds"])


if __name__ == "__main__":
    main()
