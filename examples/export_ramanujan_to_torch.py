# requires: torch
"""Export a Ramanujan topology to PyTorch, train it there, and measure what comes back.

The script builds a topology whose sparse layers are certified Ramanujan graphs, applies
it to a plain PyTorch MLP as fixed pruning masks (``topokit.interop.torch.apply_topology``,
through ``torch.nn.utils.prune``), trains the model with Adam on scikit-learn's
``digits``, and prints its test accuracy. It then reads the masks back from the trained
model (``topology_from_model``) and checks that the masked weights stayed zero and that
every topokit metric of what came back equals the original's.

Run::

    python examples/export_ramanujan_to_torch.py                 # about 40 s on 2 cores
    python examples/export_ramanujan_to_torch.py --quick         # seconds, mostly imports
    python examples/export_ramanujan_to_torch.py --output out/   # also save the state dict

With ``--output DIR`` it writes the trained model's state dict to
``DIR/ramanujan_mlp.pt``; ``topokit metrics DIR/ramanujan_mlp.pt`` measures it.
"""

import argparse
import math
import sys
from pathlib import Path

import torch
from torch import nn

import topokit
from topokit.interop.torch import apply_topology, topology_from_model
from topokit.nn.datasets import load_dataset


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hidden", type=int, nargs="+", default=[256, 256], metavar="N")
    parser.add_argument("--degree", type=int, default=16, help="fan-in of each sparse neuron")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="one small hidden layer, 3 epochs")
    parser.add_argument("--output", type=Path, help="folder for the trained state dict")
    args = parser.parse_args(argv)
    if args.quick:
        args.hidden, args.degree, args.epochs = [64], 8, 3
    return args


def build_topology(sizes, degree, seed):
    """Ramanujan layers between the hidden layers, a dense output layer (Bourely et al.)."""
    n_sparse = len(sizes) - 2
    return topokit.Topology.build(
        sizes,
        ["ramanujan"] * n_sparse + ["dense"],
        degree=[degree] * n_sparse + [None],
        rng=seed,
    )


def build_model(sizes):
    """A plain PyTorch MLP: Linear, ReLU, ..., Linear."""
    layers = []
    for k in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[k], sizes[k + 1]))
        if k < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def train(model, data, epochs, seed):
    """Adam, minibatches of 32, cross-entropy; print the test accuracy after each epoch."""
    generator = torch.Generator().manual_seed(seed)
    X, y = torch.from_numpy(data.X_train), torch.from_numpy(data.y_train)
    X_test, y_test = torch.from_numpy(data.X_test), torch.from_numpy(data.y_test)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    accuracy = 0.0
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(X), generator=generator)
        total = 0.0
        for start in range(0, len(X), 32):
            batch = order[start : start + 32]
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(X[batch]), y[batch])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        model.eval()
        with torch.no_grad():
            accuracy = (model(X_test).argmax(dim=1) == y_test).float().mean().item()
        print(
            f"  epoch {epoch:2d}/{epochs}: loss {total / len(X):.4f}, test accuracy {accuracy:.3f}"
        )
    return accuracy


def metrics_of(topology):
    """Every network metric and every per-layer metric of a topology, in one dict."""
    values = dict(topokit.network_metrics(topology))
    for k, layer in enumerate(topology):
        values.update({f"layer{k}.{key}": v for key, v in topokit.layer_metrics(layer).items()})
    return values


def same_value(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    data = load_dataset("digits")
    sizes = [data.n_features, *args.hidden, data.n_classes]

    topology = build_topology(sizes, args.degree, args.seed)
    print(f"built {topology!r}: ramanujan layers of fan-in {args.degree}, a dense output layer")
    for k, layer in enumerate(topology.layers[:-1]):
        values = topokit.layer_metrics(layer, keys=["lambda2", "ramanujan_bound"])
        print(
            f"  layer {k}: lambda2 {values['lambda2']:.3f} <= ramanujan_bound "
            f"{values['ramanujan_bound']:.3f}"
        )

    model = build_model(sizes)
    layers = apply_topology(model, topology)
    kept = sum(int(layer.weight_mask.sum()) for layer in layers)
    total = sum(layer.weight_mask.numel() for layer in layers)
    print(
        f"masked {len(layers)} nn.Linear layers with torch.nn.utils.prune: {kept} of {total} "
        f"weights kept ({kept / total:.1%})"
    )

    print(f"training on digits ({len(data.X_train)} train / {len(data.X_test)} test samples):")
    accuracy = train(model, data, args.epochs, args.seed)
    print(f"test accuracy: {accuracy:.3f}")

    hidden_nonzero = sum(
        int(torch.count_nonzero(layer.weight[~layer.weight_mask.bool()])) for layer in layers
    )
    print(f"nonzero weights outside the masks after training: {hidden_nonzero}")

    read_back = topology_from_model(model)
    original, measured = metrics_of(topology), metrics_of(read_back)
    equal = original.keys() == measured.keys() and all(
        same_value(original[key], measured[key]) for key in original
    )
    print(f"topology_from_model(model) == topology: {read_back == topology}")
    print(f"all {len(original)} metrics of the masks read back equal the original's: {equal}")

    if args.output is not None:
        args.output.mkdir(parents=True, exist_ok=True)
        path = args.output / "ramanujan_mlp.pt"
        torch.save(model.state_dict(), path)
        print(f"wrote {path} (measure it with: topokit metrics {path})")
    return 0 if equal and read_back == topology and hidden_nonzero == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
