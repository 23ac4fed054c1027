"""``topokit train``: JSON outcome, saved model, progress bar, and one-line errors."""

import io
import json
import re

import numpy as np
import pytest

from topokit import Topology
from topokit.cli import main
from topokit.metrics import LAYER_METRICS, NETWORK_METRICS
from topokit.nn._compile import COMPILING_MESSAGE
from topokit.nn.datasets import load_dataset
from topokit.nn.mlp import SparseMLP

# tiny and quick: digits, one hidden layer of 32, a few epochs
TINY = [
    "train",
    "--dataset",
    "digits",
    "--hidden",
    "32",
    "--density",
    "0.5",
    "--learning-rate",
    "0.01",
]
TINY += ["--seed", "0"]


def run_cli(capsys, *argv):
    """Run ``main`` in-process; return (status, stdout, stderr).

    stderr leaves out the kernels' compilation notice, which the first training of a
    fresh checkout prints (tests/nn/test_compile_notice.py tests it).
    """
    status = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    notice = f"topokit: {COMPILING_MESSAGE}\n"
    return status, captured.out, captured.err.replace(notice, "")


def run_json(capsys, *argv):
    status, out, err = run_cli(capsys, *argv, "--json")
    assert (status, err) == (0, "")
    return json.loads(out)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


# -------------------------------------------------------------------- JSON
def test_json_outcome(capsys, tmp_path):
    result = run_json(capsys, *TINY, "--epochs", 4, "--target-accuracy", 0.5)
    assert result["dataset"] == "digits"
    assert (result["n_train"], result["n_test"]) == (1347, 450)
    assert 0.5 < result["test_accuracy"] <= 1  # chance is 0.1
    assert 0.5 < result["train_accuracy"] <= 1
    assert result["epochs"] == 4
    assert result["stopped_early"] is False
    history = result["history"]
    assert set(history) == {"loss", "train_accuracy", "val_accuracy", "seconds", "learning_rate"}
    assert all(len(values) == 4 for values in history.values())
    assert history["val_accuracy"] == [None] * 4
    assert history["learning_rate"] == [0.01] * 4
    assert result["final_loss"] == history["loss"][-1]
    assert history["loss"][-1] < history["loss"][0]
    assert result["seconds_per_epoch"] == pytest.approx(np.median(history["seconds"]))
    assert result["seconds_total"] == pytest.approx(sum(history["seconds"]))
    reached = [acc >= 0.5 for acc in history["train_accuracy"]]
    assert result["epochs_to_target"] == (reached.index(True) + 1 if any(reached) else None)
    assert result["config"]["seed"] == 0
    assert result["saved"] is None


def test_json_topology_and_metrics(capsys):
    result = run_json(capsys, *TINY, "--epochs", 1)
    topology = result["topology"]
    assert topology["sizes"] == [64, 32, 10]
    assert topology["families"] == ["erdos_renyi", "dense"]  # the output layer is dense
    assert topology["n_edges_per_layer"] == [round(0.5 * 64 * 32), 32 * 10]
    assert topology["n_edges"] == sum(topology["n_edges_per_layer"])
    assert topology["density"] == pytest.approx(topology["n_edges"] / (64 * 32 + 32 * 10))
    metrics = result["metrics"]
    assert set(NETWORK_METRICS) <= set(metrics)
    assert metrics["net_n_edges"] == topology["n_edges"]
    assert [layer["n_edges"] for layer in metrics["layers"]] == topology["n_edges_per_layer"]
    assert all(set(layer) == set(LAYER_METRICS) for layer in metrics["layers"])


def test_no_metrics(capsys):
    result = run_json(capsys, *TINY, "--epochs", 1, "--no-metrics")
    assert result["metrics"] is None


def test_sizes_dense_output_and_per_layer_edge_counts(capsys):
    result = run_json(
        capsys,
        *["train", "--sizes", "64,24,16,10", "--family", "left_regular,erdos_renyi"],
        *["--degree", "4,8", "--epochs", 1, "--seed", 1, "--no-metrics"],
    )
    topology = result["topology"]
    assert topology["sizes"] == [64, 24, 16, 10]
    assert topology["families"] == ["left_regular", "erdos_renyi", "dense"]
    assert topology["n_edges_per_layer"] == [4 * 24, 8 * 16, 16 * 10]


def test_family_param(capsys):
    result = run_json(
        capsys, *TINY, "--family", "small_world", "--param", "p=0.2", "--epochs", 1, "--no-metrics"
    )
    assert result["topology"]["families"] == ["small_world", "dense"]


def test_sparse_output(capsys):
    result = run_json(capsys, *TINY, "--sparse-output", "--epochs", 1, "--no-metrics")
    assert result["topology"]["families"] == ["erdos_renyi", "erdos_renyi"]
    assert result["topology"]["n_edges_per_layer"] == [round(0.5 * 64 * 32), round(0.5 * 32 * 10)]


def test_same_seed_same_outcome(capsys):
    first = run_json(capsys, *TINY, "--epochs", 2, "--no-metrics")
    second = run_json(capsys, *TINY, "--epochs", 2, "--no-metrics")
    assert first["history"]["loss"] == second["history"]["loss"]
    assert first["test_accuracy"] == second["test_accuracy"]


def test_schedule_sgd_and_validation(capsys):
    result = run_json(
        capsys,
        *TINY,
        *["--optimizer", "sgd", "--schedule", "step", "--schedule-param", "step_size=2"],
        *["--schedule-param", "gamma=0.5", "--validation-fraction", 0.2, "--epochs", 4],
        "--no-metrics",
    )
    history = result["history"]
    np.testing.assert_allclose(history["learning_rate"], [0.01, 0.01, 0.005, 0.005])
    assert all(0 <= acc <= 1 for acc in history["val_accuracy"])
    assert result["config"]["validation_fraction"] == 0.2


def test_early_stopping_follows_the_patience_rule(capsys):
    result = run_json(
        capsys,
        *[
            "train",
            "--hidden",
            "16",
            "--learning-rate",
            "0.01",
            "--early-stopping",
            "--patience",
            2,
        ],
        *["--epochs", 60, "--seed", 0, "--no-metrics"],
    )
    scores = result["history"]["val_accuracy"]
    best, stale, stop = -1.0, 0, None
    for epoch, score in enumerate(scores, start=1):
        if score > best + 1e-4:
            best, stale = score, 0
        else:
            stale += 1
            if stale >= 2:
                stop = epoch
                break
    assert stop == result["epochs"] < 60
    assert result["stopped_early"] is True
    assert result["config"]["validation_fraction"] == 0.1


def test_early_stopping_restores_the_best_weights(digits):
    X, y = digits.X_train, digits.y_train
    n_val = round(0.2 * len(X))
    order = np.random.default_rng(5).permutation(len(X))
    validation, train = order[:n_val], order[n_val:]

    def trained(epochs):
        model = SparseMLP(Topology.build([64, 16, 10], "erdos_renyi", density=0.5, rng=0), rng=0)
        model.learning_rate = 0.01
        return model.fit(
            X[train],
            y[train],
            epochs=epochs,
            validation_data=(X[validation], y[validation]),
            early_stopping=True,
            patience=3,
        )

    model = trained(60)
    scores = model.history.val_accuracy
    assert len(scores) < 60  # stopped early
    assert model.score(X[validation], y[validation]) == max(scores)
    best_epoch = 1 + max(
        k for k, score in enumerate(scores) if all(score > s + 1e-4 for s in scores[:k])
    )
    assert best_epoch < len(scores)
    at_best = trained(best_epoch)  # the same run, ended at the best epoch
    for kept, reference in zip(model.layers, at_best.layers, strict=True):
        np.testing.assert_array_equal(kept.weight_data, reference.weight_data)
        np.testing.assert_array_equal(kept.bias, reference.bias)


# -------------------------------------------------------------- human output
def test_human_summary(capsys):
    status, out, err = run_cli(capsys, *TINY, "--epochs", 2, "--target-accuracy", 0.999)
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("digits: 64 → 32 → 10 (erdos_renyi, dense), ")
    assert lines[1].startswith("trained 2 epochs, ")
    assert "s/epoch, final loss " in lines[1]
    assert lines[2].startswith("train accuracy 0.")
    assert ", test accuracy 0." in lines[2]
    assert lines[3] == "epochs to 0.999: not reached"


# -------------------------------------------------------------------- saving
def test_saved_model_loads_and_predicts_the_same(capsys, tmp_path, digits):
    path = tmp_path / "model.npz"
    result = run_json(capsys, *TINY, "--epochs", 3, "--save", path, "--no-metrics")
    assert result["saved"] == str(path)
    model = SparseMLP.load(path)
    assert model.topology.sizes == [64, 32, 10]
    assert model.n_edges == result["topology"]["n_edges"]
    assert model.score(digits.X_test, digits.y_test) == result["test_accuracy"]
    assert model.score(digits.X_train, digits.y_train) == result["train_accuracy"]
    assert model.history.loss == result["history"]["loss"]


# ---------------------------------------------------------------- progress
class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_only_on_a_terminal(capsys, monkeypatch):
    terminal = FakeTerminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert main([*TINY, "--epochs", "2", "--no-metrics", "--json"]) == 0
    assert "training" in terminal.getvalue()
    quiet = FakeTerminal()
    monkeypatch.setattr("sys.stderr", quiet)
    assert main([*TINY, "--epochs", "2", "--no-metrics", "--json", "--quiet"]) == 0
    assert quiet.getvalue() == ""


def test_progress_gets_loss_and_accuracy_each_epoch(capsys, monkeypatch):
    class Recorder:
        def __init__(self):
            self.postfixes, self.updates, self.closed = [], 0, False

        def set_postfix(self, postfix, refresh=True):
            self.postfixes.append(dict(postfix))

        def update(self):
            self.updates += 1

        def close(self):
            self.closed = True

    recorder = Recorder()
    monkeypatch.setattr("topokit.cli._train.progress", lambda **kwargs: recorder)
    result = run_json(
        capsys,
        "train", "--hidden", "16", "--density", "0.5", "--epochs", "3",
        "--validation-fraction", "0.1", "--seed", "0", "--no-metrics",
    )  # fmt: skip
    assert recorder.updates == 3
    assert recorder.closed
    assert [set(p) for p in recorder.postfixes] == [{"loss", "acc", "val_acc"}] * 3
    assert [p["acc"] for p in recorder.postfixes] == result["history"]["train_accuracy"]


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--dataset", "nosuch"], "unknown dataset 'nosuch'"),
        (["--optimizer", "rmsprop"], "argument --optimizer: invalid choice: 'rmsprop'"),
        (["--activation", "gelu"], "argument --activation: invalid choice: 'gelu'"),
        (["--sizes", "60,32,10"], "--sizes starts with 60 inputs but dataset 'digits' has 64"),
        (["--sizes", "64,32,9"], "--sizes ends with 9 outputs but dataset 'digits' has 10"),
        (["--sizes", "32"], "for hidden sizes only use --hidden 32"),
        (["--sizes", "64,32,10", "--hidden", "32"], "not allowed with argument"),
        (["--hidden", "32,x"], "--hidden must be comma-separated integers such as 300,100"),
        (["--hidden", "32,0"], "--hidden sizes must be >= 1, got '32,0'"),
        (["--density", "0.1", "--degree", "3"], "not allowed with argument"),
        (["--hidden", "32", "--density", "1.5"], r"density must be in (0.0, 1.0], got 1.5"),
        (["--hidden", "32", "--density", "a"], "--density must be one or more comma-separated"),
        (["--hidden", "32", "--degree", "99"], "layer 0 (64 -> 32): degree"),
        (["--hidden", "32", "--family", "nosuch"], "unknown family 'nosuch'"),
        (["--hidden", "32", "--param", "p=0.1"], "unknown parameter 'p' for family"),
        (["--hidden", "32", "--density", "0.1,0.1,0.1"], "one per sparse layer (1"),
        (["--hidden", "32", "--sparse-output", "--density", "0.1,0.1,0.1"], "one per layer (2)"),
        (["--epochs", "0"], "epochs must be >= 1, got 0"),
        (["--schedule-param", "gamma"], "--schedule-param must be KEY=VALUE"),
        (["--schedule-param", "gamma=0.5"], "schedule 'constant'"),
        (["--validation-fraction", "1.5"], "validation_fraction must be in [0.0, 1.0)"),
        (["--target-accuracy", "2"], "target_accuracy must be in [0.0, 1.0], got 2.0"),
        (["--save", "model.txt"], "--save must end in .npz, got 'model.txt'"),
        (["--optimizer", "sgd", "--learning-rate", "1e6"], "training diverged in epoch 1"),
        (["--lr", "0.1"], "--lr is called --learning-rate now: give --learning-rate 0.1"),
        (["--alpha", "0.1"], "--alpha is called --weight-decay now: give --weight-decay 0.1"),
        (["--dense-output"], "--dense-output is gone: the output layer is dense by default"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else "",
)
def test_errors_are_one_line_with_status_1(capsys, argv, message):
    status, out, err = run_cli(capsys, "train", "--seed", "0", *argv)
    assert status == 1
    assert out == ""
    assert err.startswith("topokit: error: ")
    assert err.count("\n") == 1
    assert message in err


def test_help(capsys):
    status, out, _ = run_cli(capsys, "train", "-h")
    assert status == 0
    assert out.startswith("usage: topokit train")
    assert "--sparse-output" in out
    assert "--dense-output" not in out  # gone: giving it is an error naming --sparse-output


@pytest.mark.parametrize("output", [[], ["--sparse-output"]], ids=["default", "sparse"])
def test_one_layer_is_the_familys(capsys, output):
    argv = ["train", "--sizes", "64,10", *output, "--density", "0.5", "--seed", 0]
    result = run_json(capsys, *argv, "--epochs", 1, "--no-metrics")
    assert result["topology"]["families"] == ["erdos_renyi"]
    assert result["topology"]["n_edges_per_layer"] == [round(0.5 * 64 * 10)]


def test_defaults_equal_the_studys(capsys):
    from topokit.analysis.study import TRAINING_DEFAULTS
    from topokit.cli import build_parser

    args = build_parser().parse_args(["train"])
    shared = [key for key in TRAINING_DEFAULTS if hasattr(args, key)]
    # validation_fraction: a study always holds out the recipe's share, train only with
    # --early-stopping (test_defaults_are_the_shared_recipe checks that share)
    shared.remove("validation_fraction")
    assert {key: getattr(args, key) for key in shared} == {
        key: TRAINING_DEFAULTS[key] for key in shared
    }
    assert set(shared) >= {"epochs", "batch_size", "optimizer", "learning_rate", "weight_decay"}


def test_defaults_are_the_shared_recipe(capsys):
    from topokit.cli import build_parser
    from topokit.cli._train import _validation_fraction
    from topokit.nn import DEFAULT_RECIPE

    parser = build_parser()
    args = parser.parse_args(["train"])
    recipe = DEFAULT_RECIPE.as_dict()
    # momentum and nesterov have no option (SparseMLP's defaults, the recipe's, apply);
    # the validation share is the recipe's with --early-stopping, else none
    options = {
        key: value
        for key, value in recipe.items()
        if key not in ("momentum", "nesterov", "validation_fraction")
    }
    assert {key: getattr(args, key) for key in options} == options
    assert _validation_fraction(args) == 0.0
    early = parser.parse_args(["train", "--early-stopping"])
    assert _validation_fraction(early) == recipe["validation_fraction"] == 0.1
    status, out, _ = run_cli(capsys, "train", "-h")
    assert status == 0
    for option, value in [
        ("--epochs N", 30),
        ("--batch-size B", 128),
        ("--patience N", 10),
        ("--optimizer {sgd,adam}", "adam"),
        ("--learning-rate RATE", "0.001"),
        ("--schedule {constant,step,cosine}", "constant"),
        ("--activation {relu,tanh,logistic,identity}", "relu"),
    ]:
        assert re.search(rf"{re.escape(option)}\s+default {value}\n", out)
    help_text = " ".join(out.split())  # as one line, whatever the terminal's width
    assert "--weight-decay A L2 penalty (default 0.0001)" in help_text
    assert "(default 0.1 with --early-stopping, else 0)" in help_text
