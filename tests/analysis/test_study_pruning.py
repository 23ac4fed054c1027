"""Pruning methods as study families: checked up front, pruned in the run, trained."""

import numpy as np
import pytest

from topokit import Topology
from topokit._errors import TopokitError
from topokit.analysis.results import load_results
from topokit.analysis.runner import run_study
from topokit.analysis.study import build_topology, load_study, prune_run
from topokit.nn import SparseMLP

STUDY = """
name = "pruned"
dataset = "digits"
sizes = [64, 16, 10]
densities = [0.2]
seeds = [0]
[training]
epochs = 2
learning_rate = 0.01
[[families]]
name = "snip"
[[families]]
name = "lottery"
rounds = 2
epochs = 1
[[families]]
name = "synflow"
iterations = [2, 5]
[[families]]
name = "erdos_renyi"
"""


def test_a_study_prunes_and_trains_each_run(tmp_path):
    study = load_study(STUDY)
    runs = study.runs()
    assert [run.label for run in runs] == [
        "snip",
        "lottery(epochs=1, rounds=2)",
        "synflow(iterations=2)",
        "synflow(iterations=5)",
        "erdos_renyi",
    ]
    summary = run_study(study, tmp_path, workers=1, progress=False)
    assert (summary.n_ok, summary.n_failed) == (5, 0)
    frame = load_results(tmp_path)
    assert len(frame) == 5
    assert (frame["test_accuracy"] > 0.2).all()  # chance is 0.1
    for run in runs:
        topology = build_topology(run)
        assert topology[0].n_edges == round(0.2 * 64 * 16)
        assert topology[1].family == "dense"


def test_the_run_takes_the_recipe_and_lottery_rewinds():
    run = next(r for r in load_study(STUDY).runs() if r.family == "lottery")
    result = prune_run(run)
    assert result.params["learning_rate"] == 0.01  # the recipe's
    assert result.params["epochs"] == 1  # the family's own, before the recipe's
    again = build_topology(run)
    for a, b in zip(result.topology, again, strict=True):
        assert (a.biadjacency != b.biadjacency).nnz == 0
    model = SparseMLP(result.topology, rng=5)
    result.load_weights(model)
    for layer, weights in zip(model.layers, result.weights, strict=True):
        np.testing.assert_array_equal(layer.weight_data, weights.data)


def test_load_weights_rejects_another_topology():
    run = next(r for r in load_study(STUDY).runs() if r.family == "lottery")
    result = prune_run(run)
    same_count = SparseMLP(build_topology(load_study(STUDY).runs()[-1]), rng=0)
    other_sizes = SparseMLP(Topology.build([64, 8, 10], "erdos_renyi", density=0.2), rng=0)
    for model in (same_count, other_sizes):
        with pytest.raises(TopokitError, match="model must be a SparseMLP on the pruned"):
            result.load_weights(model)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        pytest.param(
            ('dataset = "digits"\n', ""),
            r"families snip, lottery prune on data: give dataset",
            id="no-dataset",
        ),
        pytest.param(
            ("rounds = 2", "rounds = 2\nwidth = 3"),
            r"families\[1\] \(lottery\): unknown parameter 'width'; valid parameters: scope, "
            "rounds, rewind_step",
            id="param",
        ),
        pytest.param(
            ("rounds = 2", 'rounds = "two"'),
            r"parameter 'rounds' of pruning method 'lottery' must be of type int, got 'two'",
            id="type",
        ),
        pytest.param(
            ("densities = [0.2]", "degrees = [2]"),
            r"families snip, lottery, synflow keep a share of the weights: give densities",
            id="degrees",
        ),
        pytest.param(
            ("seeds = [0]", "seeds = [0]\ndense_layers = [0]"),
            r"keep the output layer dense or none: dense_layers must be \[-1\] or \[\], got \[0\]",
            id="dense-layers",
        ),
    ],
)
def test_bad_pruning_families(change, match):
    old, new = change
    with pytest.raises(TopokitError, match=match):
        load_study(STUDY.replace(old, new))


def test_what_a_method_cannot_do_is_reported_when_the_file_is_read():
    text = STUDY.replace("densities = [0.2]", "densities = [0.0001, 0.2]").replace(
        "rounds = 2", "rounds = 0"
    )
    with pytest.raises(TopokitError) as error:
        load_study(text)
    message = str(error.value)
    assert (
        "snip at sizes [64, 16, 10], density 0.0001: density=0.0001 keeps 0 of the 1024 "
        "weights with scope 'global'; the smallest density that keeps one is 0.000977"
    ) in message
    assert (
        "lottery(epochs=1, rounds=0) at sizes [64, 16, 10], densities 0.0001, 0.2: rounds "
        "must be >= 1, got 0"
    ) in message
    assert "erdos_renyi at sizes [64, 16, 10], density 0.0001: layer 0 (64 -> 16)" in message


def test_a_pruning_family_is_not_swept_over_allocations():
    """The method places its edges itself: an ``allocation`` sweep leaves it at uniform."""
    study = load_study(
        'sizes = [64, 16, 10]\ndataset = "digits"\ndensities = [0.1]\n'
        'allocation = ["uniform", "erk"]\nseeds = [0]\n'
        '[[families]]\nname = "snip"\n[[families]]\nname = "erdos_renyi"\n'
    )
    assert sorted((run.family, run.allocation) for run in study.runs()) == [
        ("erdos_renyi", "erk"),
        ("erdos_renyi", "uniform"),
        ("snip", "uniform"),
    ]
