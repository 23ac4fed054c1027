"""A study's output layer is dense by default, as ``topokit train``'s and ``graph --sizes``'."""

import pytest

from topokit.analysis.study import build_topology, load_study

FAMILY = 'seeds = [0]\ndensities = [0.25]\n[[families]]\nname = "erdos_renyi"\n'


@pytest.mark.parametrize(
    ("head", "dense_layers", "families"),
    [
        pytest.param("sizes = [64, 8, 10]\n", (1,), ["erdos_renyi", "dense"], id="default"),
        pytest.param(
            "sizes = [64, 8, 10]\ndense_layers = []\n",
            (),
            ["erdos_renyi", "erdos_renyi"],
            id="sparse-output",
        ),
        pytest.param("sizes = [64, 10]\n", (), ["erdos_renyi"], id="one-layer"),
        pytest.param(
            "sizes = [[64, 10], [64, 8, 10]]\n", (), ["erdos_renyi"], id="with-a-one-layer-net"
        ),
    ],
)
def test_the_output_layer_is_dense_by_default(head, dense_layers, families):
    study = load_study(head + FAMILY)
    run = study.runs()[0]
    assert run.dense_layers == dense_layers
    assert [layer.family for layer in build_topology(run)] == families
