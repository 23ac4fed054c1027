"""Compare layer-graph families at one density: accuracy and spectral metrics side by side.

For each family, the script draws the sparse layers of a ``64-256-256-10`` network at the
same density (1/16 of the possible edges, so every family has exactly the same number of
weights), measures each sparse layer, trains a :class:`topokit.nn.SparseMLP` on
scikit-learn's ``digits`` for a few seeds, and prints one row per family: test accuracy
mean ± sd over the seeds and the mean over the sparse layers of the spectral metrics.
The output layer stays dense, as in Bourely et al. (2017).

Run::

    python examples/compare_families.py                      # about a minute on 2 cores
    python examples/compare_families.py --quick              # a few seconds
    python examples/compare_families.py --output results/    # also a CSV and a figure

With ``--output DIR`` it writes ``DIR/compare_families.csv`` (one row per run) and
``DIR/compare_families.png`` (accuracy and spectral gap per family).
"""

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

import topokit
from topokit.nn import SparseMLP
from topokit.nn.datasets import load_dataset

FAMILIES = ["erdos_renyi", "ramanujan", "left_regular", "small_world", "scale_free"]
METRICS = ["spectral_gap", "lambda2", "ramanujan_gap", "fiedler_value"]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--families", nargs="+", default=FAMILIES, choices=topokit.families(), metavar="FAMILY"
    )
    parser.add_argument("--density", type=float, default=1 / 16, help="of each sparse layer")
    parser.add_argument("--hidden", type=int, nargs="+", default=[256, 256], metavar="N")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0 .. N-1 per family")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--dataset", default="digits", help="a name or a .npz/.csv file")
    parser.add_argument("--quick", action="store_true", help="tiny network, 2 seeds, 3 epochs")
    parser.add_argument("--output", type=Path, help="folder for the CSV and the figure")
    args = parser.parse_args(argv)
    if args.quick:
        args.hidden, args.seeds, args.epochs = [64], 2, 3
    return args


def run_one(data, sizes, family, density, seed, epochs):
    """Build, measure and train one network; return its row of the results table."""
    # one seed, two independent streams: the topology's and the training's
    topology_seed, training_seed = np.random.SeedSequence(seed).spawn(2)
    n_sparse = len(sizes) - 2
    fixed = topokit.get_family(family).edge_count == "fixed"  # dense fixes its own
    topology = topokit.Topology.build(
        sizes,
        [family] * n_sparse + ["dense"],
        density=[None if fixed else density] * n_sparse + [None],
        rng=np.random.default_rng(topology_seed),
    )
    row = {"family": family, "seed": seed, "n_edges": topology.n_edges}
    per_layer = [topokit.layer_metrics(layer, keys=METRICS) for layer in topology.layers[:-1]]
    for key in METRICS:
        row[key] = float(np.mean([values[key] for values in per_layer]))
    model = SparseMLP(topology, learning_rate=3e-3, rng=np.random.default_rng(training_seed))
    start = time.perf_counter()
    model.fit(data.X_train, data.y_train, epochs=epochs, batch_size=32)
    row["train_seconds"] = time.perf_counter() - start
    row["test_accuracy"] = model.score(data.X_test, data.y_test)
    return row


def summary_table(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per family: accuracy mean ± sd over seeds and the mean of each metric."""
    groups = runs.groupby("family", sort=False)
    accuracy = groups["test_accuracy"].agg(["mean", "std"]) * 100
    table = pd.DataFrame(
        {"test accuracy (%)": [f"{m:.2f} ± {s:.2f}" for m, s in accuracy.to_numpy()]},
        index=accuracy.index,
    )
    for key in METRICS:
        table[key] = groups[key].mean().round(3)
    table["weights"] = groups["n_edges"].first()
    return table


def save_figure(runs: pd.DataFrame, path: Path) -> None:
    """Test accuracy and spectral gap per family: each seed a dot, mean ± sd a bar."""
    from matplotlib.figure import Figure  # no pyplot: no GUI backend is ever involved

    figure = Figure(figsize=(10, 4), layout="constrained")
    families = list(dict.fromkeys(runs["family"]))
    panels = [("test_accuracy", "test accuracy (%)", 100.0), ("spectral_gap", "spectral gap", 1.0)]
    for axes, (column, label, scale) in zip(figure.subplots(1, 2), panels, strict=True):
        for i, family in enumerate(families):
            values = runs.loc[runs["family"] == family, column].to_numpy() * scale
            offsets = np.linspace(-0.15, 0.15, len(values)) if len(values) > 1 else [0.0]
            axes.scatter(i + np.asarray(offsets), values, s=14, color="0.6", zorder=2)
            sd = values.std(ddof=1) if len(values) > 1 else 0.0
            axes.errorbar(i, values.mean(), yerr=sd, fmt="o", color="C0", capsize=4, zorder=3)
        axes.set_xticks(range(len(families)), families, rotation=20)
        axes.set_ylabel(label)
        axes.grid(alpha=0.3)
    figure.suptitle("mean ± sd over seeds (grey: each seed); spectral gap: mean over sparse layers")
    figure.savefig(path, dpi=120)


def main(argv=None):
    args = parse_args(argv)
    data = load_dataset(args.dataset, download=False)  # no network: digits ships with sklearn
    sizes = [data.n_features, *args.hidden, data.n_classes]
    print(
        f"{data.name}: {data.n_train} training / {data.n_test} test samples; network "
        f"{'-'.join(map(str, sizes))} with {len(args.hidden)} sparse layer(s) at density "
        f"{args.density:g} and a dense output layer; {args.seeds} seeds x {args.epochs} epochs"
    )
    rows = []
    start = time.perf_counter()
    for family in args.families:
        for seed in range(args.seeds):
            rows.append(run_one(data, sizes, family, args.density, seed, args.epochs))
        print(f"  {family:<14} trained ({args.seeds} seeds)", flush=True)
    runs = pd.DataFrame(rows)
    print(f"\n{len(runs)} runs in {time.perf_counter() - start:.1f} s\n")
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        print(summary_table(runs).to_string())
    if args.output is not None:
        args.output.mkdir(parents=True, exist_ok=True)
        runs.to_csv(args.output / "compare_families.csv", index=False)
        save_figure(runs, args.output / "compare_families.png")
        print(f"\nwrote {args.output / 'compare_families.csv'} and compare_families.png")


if __name__ == "__main__":
    main()
