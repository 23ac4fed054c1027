"""Reproduce the spectral-gap vs accuracy plot of Bourely, Boueri and Choromanski (2017).

A small topology study, defined in Python: a ``64-256-256-10`` MLP on scikit-learn's
``digits``, its two hidden layers drawn from seven sparse topologies (random, Ramanujan,
left-regular, small-world at three rewiring probabilities, scale-free) at three densities,
several seeds each; the output layer stays dense. :func:`topokit.analysis.run_study`
runs it on local worker processes into a resumable SQLite store,
:func:`topokit.analysis.load_results` reads it back as one row per run, and the script

- prints the mean test accuracy and spectral gap of each family variant,
- prints the correlation of accuracy with the spectral gap (the mean over the two sparse
  layers of lambda1 - lambda2) and the partial correlation controlling for density (does
  the gap predict accuracy *beyond* the number of weights?),
- saves the scatter of accuracy against spectral gap, coloured by family.

Run::

    python examples/spectral_gap_vs_accuracy.py               # ~105 runs, a minute or two
    python examples/spectral_gap_vs_accuracy.py --quick       # 24 tiny runs, seconds
    python examples/spectral_gap_vs_accuracy.py --output DIR  # default ./spectral_gap_vs_accuracy

It writes the study's store ``DIR/<study name>/results.sqlite`` (the name says the
seeds and epochs; run the script again and finished runs are kept, not redone) and the
figure ``DIR/spectral_gap_vs_accuracy.png`` and ``.svg``. For the full report of the
study (tables of every recorded metric, OLS, cross-validation, more figures) run
``topokit analyze DIR/<study name>``.
"""

import argparse
from pathlib import Path

from topokit.analysis import (
    Study,
    correlation_table,
    load_results,
    run_study,
    save_figure,
    scatter_figure,
    variant_colors,
)

FAMILIES = [
    {"name": "erdos_renyi"},
    {"name": "ramanujan"},
    {"name": "left_regular"},
    {"name": "small_world", "p": [0.0, 0.1, 1.0]},  # a list sweeps the parameter
    {"name": "scale_free"},
]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0 .. N-1 per variant")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--workers", type=int, help="local worker processes (default: cores)")
    parser.add_argument("--quick", action="store_true", help="tiny network, 2 seeds, 2 epochs")
    parser.add_argument(
        "--output",
        type=Path,
        default=Path("spectral_gap_vs_accuracy"),
        help="folder for the study store and the figure (default: %(default)s)",
    )
    return parser.parse_args(argv)


def make_study(args) -> Study:
    """The study grid, as the dict a study TOML file would parse to."""
    config = {
        # the store in DIR/<name>/ belongs to this exact grid: a name per setting lets
        # runs with other --seeds/--epochs live beside it (and each resume on its own)
        "name": f"spectral-gap-vs-accuracy-{args.seeds}seeds-{args.epochs}epochs",
        "dataset": "digits",
        "sizes": [64, 256, 256, 10],
        "dense_layers": [-1],  # the output layer is complete, as in Bourely et al.
        # 2, 4 and 8 inputs per hidden neuron of the 64-wide input
        "densities": [1 / 32, 1 / 16, 1 / 8],
        "seeds": list(range(args.seeds)),
        "metrics": ["spectral_gap", "lambda2", "fiedler_value", "net_density"],
        "training": {"epochs": args.epochs, "batch_size": 32, "learning_rate": 3e-3},
        "families": FAMILIES,
    }
    if args.quick:
        config.update(
            name="spectral-gap-vs-accuracy-quick",
            sizes=[64, 32, 32, 10],
            densities=[1 / 16, 1 / 8],
            seeds=[0, 1],
            training={"epochs": 2, "batch_size": 32, "learning_rate": 3e-3},
            families=[family for family in FAMILIES if family["name"] != "left_regular"],
        )
    return Study.from_dict(config)


def interval(row, prefix: str) -> str:
    r, low, high, p = (row[f"{prefix}_{k}"] for k in ("r", "ci_low", "ci_high", "p"))
    return f"{r:+.3f} [95% CI {low:+.3f}, {high:+.3f}], p = {p:.2g}"


def main(argv=None):
    args = parse_args(argv)
    study = make_study(args)
    folder = args.output / study.name
    print(f"study {study.name!r}: {len(study.runs())} runs, store {folder / 'results.sqlite'}")
    summary = run_study(study, folder, workers=args.workers)
    print(
        f"ran {summary.n_ok + summary.n_failed} runs ({summary.n_failed} failed) on "
        f"{summary.workers} worker(s) in {summary.seconds:.1f} s; {summary.n_skipped} were "
        "already stored and not run again"
    )

    frame = load_results(folder)
    runs = frame[frame["status"] == "ok"].copy()
    # the spectral gap of a run: the mean over its sparse layers (all but the dense output)
    n_sparse = len(study.sizes[0]) - 2
    runs["spectral_gap"] = runs[[f"layer{k}_spectral_gap" for k in range(n_sparse)]].mean(axis=1)

    by_variant = runs.groupby("variant", sort=False).agg(
        runs=("test_accuracy", "size"),
        test_accuracy=("test_accuracy", "mean"),
        spectral_gap=("spectral_gap", "mean"),
    )
    print("\nmean over densities and seeds:")
    print(by_variant.round(3).to_string())

    # controls=None: the default, the measured density net_density (entered by level)
    table = correlation_table(runs, ["spectral_gap"], ["test_accuracy"])
    row = table.iloc[0]
    print(f"\nspectral gap vs test accuracy over {row.n} runs:")
    print(f"  Pearson r                               {interval(row, 'pearson')}")
    print(f"  partial r given {row.controls:<24}{interval(row, 'partial')}")
    if row.note:
        print(f"  note: {row.note}")

    colors = variant_colors(list(by_variant.index))
    figure = scatter_figure(
        runs,
        "spectral_gap",
        colors=colors,
        x_label="spectral gap λ1 − λ2 (mean over the sparse layers)",
        statistics=f"r = {row.pearson_r:+.2f}\npartial r | density = {row.partial_r:+.2f}",
        title=f"{study.name}: test accuracy vs spectral gap ({row.n} runs)",
    )
    paths = save_figure(figure, args.output, "spectral_gap_vs_accuracy")
    print(f"\nwrote {', '.join(str(p) for p in paths)}")


if __name__ == "__main__":
    main()
