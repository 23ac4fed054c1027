"""Layer-wise density allocation (uniform, ERK): hand computations, caps, totals, errors."""

import math

import numpy as np
import pytest

from topokit import TopokitError, Topology
from topokit.allocation import ALLOCATIONS, check_allocation, layer_densities


def _erk_by_hand(shapes, density):
    """ERK worked out the slow way: fixed point over the set of complete layers."""
    total = density * sum(a * b for a, b in shapes)
    complete = set()
    while True:
        free = [k for k in range(len(shapes)) if k not in complete]
        budget = total - sum(shapes[k][0] * shapes[k][1] for k in complete)
        scale = budget / sum(shapes[k][0] + shapes[k][1] for k in free)
        over = {
            k for k in free if scale * (shapes[k][0] + shapes[k][1]) > shapes[k][0] * shapes[k][1]
        }
        if not over:
            return [
                1.0 if k in complete else scale * (a + b) / (a * b)
                for k, (a, b) in enumerate(shapes)
            ]
        complete |= over


def test_uniform_gives_every_layer_the_density():
    assert layer_densities([(10, 20), (20, 5)], 0.3) == [0.3, 0.3]
    assert layer_densities([(10, 20), (20, 5)], 0.3, "uniform") == [0.3, 0.3]


def test_erk_two_layers_worked_by_hand():
    # 100x100 and 100x10 at density 0.1: 1100 edges; ε = 1100 / (200 + 110)
    # edges 200 ε = 709.68 -> 710 and 110 ε = 390.32 -> 390
    assert layer_densities([(100, 100), (100, 10)], 0.1, "erk") == [710 / 10000, 390 / 1000]


def test_erk_density_is_proportional_to_the_erdos_renyi_ratio():
    shapes = [(784, 4000), (4000, 4000), (4000, 300)]
    densities = layer_densities(shapes, 0.01, "erk")
    ratios = [d * a * b / (a + b) for d, (a, b) in zip(densities, shapes, strict=True)]
    # one ε for all layers, up to the rounding of each layer to whole edges (one edge each)
    first = shapes[0][0] + shapes[0][1]
    for ratio, (a, b) in zip(ratios, shapes, strict=True):
        assert ratio == pytest.approx(ratios[0], abs=1.0 / (a + b) + 1.0 / first)


@pytest.mark.parametrize(
    ("shapes", "density"),
    [
        pytest.param([(100, 100), (100, 10)], 0.5, id="small-layer-capped"),
        pytest.param([(1000, 1000), (1000, 20), (20, 5)], 0.3, id="two-capped-in-turn"),
        pytest.param([(50, 40), (40, 30), (30, 20)], 0.05, id="none-capped"),
        pytest.param([(6, 6), (6, 2)], 1.0, id="density-one-all-complete"),
    ],
)
def test_erk_matches_the_hand_fixed_point(shapes, density):
    got = layer_densities(shapes, density, "erk")
    expected = _erk_by_hand(shapes, density)
    for value, want, (a, b) in zip(got, expected, shapes, strict=True):
        assert value <= 1.0
        assert value == pytest.approx(want, abs=1.0 / (a * b) + 1e-12)  # to one edge


def test_erk_cap_redistributes_the_excess():
    # 1000x20 and 20x5 would exceed 1 at 0.3 (the second only once the first is capped)
    shapes = [(1000, 1000), (1000, 20), (20, 5)]
    densities = layer_densities(shapes, 0.3, "erk")
    assert densities[1:] == [1.0, 1.0]
    edges = [d * a * b for d, (a, b) in zip(densities, shapes, strict=True)]
    assert sum(edges) == pytest.approx(round(0.3 * sum(a * b for a, b in shapes)))
    assert densities[0] == pytest.approx((0.3 * 1020100 - 20000 - 100) / 1e6, abs=1e-6)


@pytest.mark.parametrize("density", [0.001, 0.013, 0.1, 0.37, 0.9, 1.0])
def test_erk_whole_edges_add_up_to_the_global_count(density):
    shapes = [(784, 300), (300, 100), (100, 37), (37, 10)]
    densities = layer_densities(shapes, density, "erk")
    edges = [d * a * b for d, (a, b) in zip(densities, shapes, strict=True)]
    assert all(math.isclose(e, round(e), abs_tol=1e-6) for e in edges)
    assert sum(round(e) for e in edges) == round(density * sum(a * b for a, b in shapes))


def test_build_with_erk_has_the_global_edge_count():
    sizes = [64, 200, 50, 10]
    top = Topology.build(
        sizes, "erdos_renyi", density=0.1, dense_output=True, allocation="erk", rng=0
    )
    sparse = top.layers[:2]
    assert sum(layer.n_edges for layer in sparse) == round(0.1 * (64 * 200 + 200 * 50))
    assert top.layers[2].n_edges == 50 * 10  # the dense output layer is outside the budget
    expected = layer_densities([(64, 200), (200, 50)], 0.1, "erk")
    assert [layer.n_edges / (layer.n_in * layer.n_out) for layer in sparse] == pytest.approx(
        expected
    )


def test_build_with_erk_leaves_dense_and_fixed_layers_out():
    top = Topology.build(
        [20, 30, 30, 10],
        ["erdos_renyi", "dense", "biregular"],
        density=[0.2, None, 0.2],
        allocation="erk",
        rng=1,
    )
    assert top.layers[1].n_edges == 900
    assert top.layers[0].n_edges + top.layers[2].n_edges == round(0.2 * (600 + 300))


def test_a_family_error_says_the_density_came_from_erk():
    # left_regular needs a multiple of n_out edges; ERK gives layer 0 1053 of 64 x 128
    with pytest.raises(TopokitError) as error:
        Topology.build([64, 128, 128, 10], "left_regular", density=0.1, dense_output=True,
                       allocation="erk", rng=0)  # fmt: skip
    message = str(error.value)
    assert message.startswith("layer 0 (64 -> 128): family 'left_regular'")
    assert message.endswith(
        "(allocation='erk' gave this layer density 0.12854 from the global density=0.1)"
    )
    with pytest.raises(TopokitError, match=r"allocation='erk' gave this layer density"):
        Topology.check_feasible([64, 128, 128, 10], "left_regular", density=0.1,
                                dense_output=True, allocation="erk")  # fmt: skip


def test_build_uniform_is_todays_build():
    args = ([30, 20, 10], "erdos_renyi")
    assert Topology.build(*args, density=0.3, rng=4) == Topology.build(
        *args, density=0.3, allocation="uniform", rng=4
    )


def test_check_feasible_takes_the_allocation():
    Topology.check_feasible([64, 32, 10], "erdos_renyi", density=0.1, allocation="erk")
    with pytest.raises(TopokitError, match="allocation must be one of uniform, erk, got 'er'"):
        Topology.check_feasible([64, 32, 10], "erdos_renyi", density=0.1, allocation="er")


def test_allocation_names():
    assert ALLOCATIONS[0] == "uniform"
    assert check_allocation("erk") == "erk"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param(
            {"allocation": "ERK"},
            r"allocation must be one of uniform, erk, got 'ERK'",
            id="unknown",
        ),
        pytest.param({"allocation": None}, r"allocation must be one of .* got None", id="none"),
        pytest.param(
            {"allocation": "erk", "density": None, "degree": 4},
            r"give density, not degree \(got degree=4\)",
            id="degree",
        ),
        pytest.param(
            {"allocation": "erk", "density": [0.1, 0.2]},
            r"density must be one value, got \[0.1, 0.2\]",
            id="per-layer-densities",
        ),
        pytest.param(
            {"allocation": "erk", "density": None},
            r"allocation='erk' needs a density, got none",
            id="no-density",
        ),
        pytest.param(
            {"allocation": "erk", "density": 1.5},
            r"density must be in \(0, 1\], got 1.5",
            id="density-above-one",
        ),
        pytest.param(
            {"allocation": "erk", "family": "dense", "density": None},
            r"no layer's does \(families: dense, dense\)",
            id="no-sparse-layer",
        ),
    ],
)
def test_build_allocation_errors(kwargs, match):
    arguments = {"sizes": [20, 10, 5], "family": "erdos_renyi", "density": 0.2, **kwargs}
    with pytest.raises(TopokitError, match=match):
        Topology.build(**arguments)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        pytest.param(([(3, 4)], 0.0, "erk"), r"density must be in \(0, 1\], got 0.0", id="zero"),
        pytest.param(([], 0.1, "erk"), r"shapes must list .* got \[\]", id="no-layers"),
        pytest.param(([(3, 0)], 0.1, "erk"), r"shapes\[0\] must be >= 1, got 0", id="empty-side"),
        pytest.param(([(3,)], 0.1, "erk"), r"shapes\[0\] must be a pair", id="not-a-pair"),
        pytest.param(([(3, 4)], 0.1, "random"), r"allocation must be one of", id="unknown"),
    ],
)
def test_layer_densities_errors(args, match):
    with pytest.raises(TopokitError, match=match):
        layer_densities(*args)


def test_erk_never_allocates_per_position():
    # a 100k x 100k layer: the allocation costs O(layers), whatever the sizes
    densities = layer_densities([(1000, 100_000), (100_000, 100_000)], 1e-4, "erk")
    assert np.all(np.array(densities) > 0)
