"""radix: the mixed-radix structure, path-connectedness, exact spectrum, errors."""

import math

import networkx as nx
import numpy as np
import pytest

from topokit._errors import TopokitError
from topokit.generators import layer_graph
from topokit.generators._radix import radix
from topokit.generators._registry import get_family
from topokit.graph import LayerGraph
from topokit.topology import Topology

RTOL = 1e-9

# (radices, layer, a, b): n_in = n'·a, n_out = n'·b
CASES = [
    ([2, 4], 0, 1, 1),
    ([2, 4], 1, 1, 1),
    ([3, 2, 2], 2, 2, 1),
    ([4, 4, 4], 1, 1, 3),
    ([2, 3], 5, 2, 2),  # layer 5 uses radix 5 % 2 = 1
    ([5], 0, 1, 2),  # a single radix: n' = 5, every base node joins all
]


def _case_id(case):
    radices, layer, a, b = case
    return f"{','.join(map(str, radices))}-layer{layer}-a{a}-b{b}"


def _dense_radix(radices, layer, a, b):
    """Σ_k (cyclic shift)^(k·s), s the place value, Kronecker ones(a, b): built densely."""
    width = math.prod(radices)
    position = layer % len(radices)
    place = math.prod(radices[:position])
    base = sum(
        np.roll(np.eye(width), k * place, axis=1) for k in range(radices[position])
    )  # row j has ones at (j + k·s) mod n'
    return np.kron(base, np.ones((a, b)))


def _circulant_singular_values(radices, layer):
    """|Σ_k ω^(t·k·s)| for t = 0 .. n'−1, summed in closed form.

    N where t·s ≡ 0 mod n', else |sin(π t s N/n') / sin(π t s/n')| (a geometric series).
    """
    width = math.prod(radices)
    position = layer % len(radices)
    n_radix, place = radices[position], math.prod(radices[:position])
    t = np.arange(width)
    angle = np.pi * t * place / width
    divisible = (t * place) % width == 0
    ratio = np.abs(np.sin(n_radix * angle)) / np.where(divisible, 1.0, np.abs(np.sin(angle)))
    return np.sort(np.where(divisible, float(n_radix), ratio))[::-1]


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_matches_dense_definition(case):
    radices, layer, a, b = case
    width = math.prod(radices)
    graph = radix(width * a, width * b, radices=radices, layer=layer)
    assert np.array_equal(graph.biadjacency.toarray(), _dense_radix(radices, layer, a, b))


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_degrees_and_edge_count(case):
    radices, layer, a, b = case
    width = math.prod(radices)
    n_radix = radices[layer % len(radices)]
    graph = radix(width * a, width * b, radices=radices, layer=layer)
    assert np.all(graph.fan_in == n_radix * a)
    assert np.all(graph.fan_out == n_radix * b)
    assert graph.n_edges == width * n_radix * a * b
    assert graph.params == {"radices": radices, "layer": layer}


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_spectrum_against_dense_numpy(case):
    radices, layer, a, b = case
    width = math.prod(radices)
    matrix = radix(width * a, width * b, radices=radices, layer=layer).biadjacency.toarray()
    singular = np.linalg.svd(matrix, compute_uv=False)
    expected = np.zeros(singular.size)
    expected[:width] = np.sqrt(a * b) * _circulant_singular_values(radices, layer)
    np.testing.assert_allclose(singular, expected, rtol=RTOL, atol=RTOL * singular[0])


def test_circulant_closed_form_is_the_fourier_sum():
    # the sin-ratio form equals the plain sum |Σ_k ω^(t·k·s)| it abbreviates
    radices, layer = [3, 4, 2], 1
    width, place, n_radix = 24, 3, 4
    omega = np.exp(2j * np.pi / width)
    t = np.arange(width)[:, None]
    direct = np.abs((omega ** (t * np.arange(n_radix) * place)).sum(axis=1))
    np.testing.assert_allclose(
        _circulant_singular_values(radices, layer), np.sort(direct)[::-1], rtol=RTOL, atol=1e-12
    )


@pytest.mark.parametrize(
    ("radices", "widths"),
    [
        pytest.param([2, 2, 2], [1, 1, 1, 1], id="2,2,2"),
        pytest.param([3, 4], [1, 2, 1], id="3,4-widened"),
        pytest.param([4, 4, 4], [1, 1, 1, 1], id="4,4,4"),
        pytest.param([2, 3, 5], [2, 1, 3, 1], id="2,3,5-widened"),
    ],
)
def test_m_layers_join_every_input_to_every_output(radices, widths):
    # The RadiX-Net property: the boolean product of the M layers is all ones; with
    # dense widths D_k the number of paths is exactly D_1 ··· D_{M-1} for every pair.
    width = math.prod(radices)
    topology = Topology.build([width * d for d in widths], "radix", radices=radices)
    assert [layer.params["layer"] for layer in topology] == list(range(len(radices)))
    paths = topology[0].biadjacency
    for layer in topology.layers[1:]:
        paths = paths @ layer.biadjacency
    n_paths = math.prod(widths[1:-1])
    assert np.array_equal(paths.toarray(), np.full(paths.shape, float(n_paths)))


def test_reachability_agrees_with_networkx():
    radices = [2, 3, 2]
    width = math.prod(radices)
    topology = Topology.build([width, 2 * width, width, width], "radix", radices=radices)
    network = nx.DiGraph()
    offsets = np.cumsum([0, *topology.sizes])
    for k, layer in enumerate(topology):
        rows, cols = layer.edges()
        network.add_edges_from(zip(rows + offsets[k], cols + offsets[k + 1], strict=True))
    outputs = set(range(offsets[-2], offsets[-1]))
    for node in range(width):
        assert outputs <= nx.descendants(network, node)


def test_fewer_layers_than_radices_leave_pairs_unjoined():
    radices = [2, 3, 2]
    topology = Topology.build([12, 12, 12], "radix", radices=radices)  # layers 0 and 1 only
    paths = (topology[0].biadjacency @ topology[1].biadjacency).toarray()
    assert np.count_nonzero(paths) == 12 * 6  # each input reaches 2 · 3 of the 12 outputs


def test_layers_wrap_around_the_radices():
    topology = Topology.build([8] * 7, "radix", radices=[2, 4])
    assert [layer.fan_in[0] for layer in topology] == [2, 4, 2, 4, 2, 4]
    assert topology[2] == radix(8, 8, radices=[2, 4], layer=0)


def test_through_the_registry_and_cli_parsing():
    record = get_family("radix")
    assert (record.edge_count, record.random, record.fixes_sizes) == ("fixed", False, False)
    radices = record.param("radices").parse("4,4,4")
    assert radices == [4, 4, 4]
    graph = layer_graph("radix", 64, 128, radices=radices, layer=2)
    assert graph.family == "radix"
    assert graph.params == {"radices": [4, 4, 4], "layer": 2}
    assert graph.biadjacency.has_canonical_format
    assert graph.biadjacency.indices.dtype == np.int32
    assert LayerGraph(graph.biadjacency.toarray()) == graph


@pytest.mark.parametrize(
    ("kwargs", "n_edges"),
    [
        pytest.param({"degree": 6}, 48, id="degree-agrees"),
        pytest.param({"density": 0.5}, 48, id="density-agrees"),
        pytest.param({"radices": np.array([2, 2])}, 48, id="numpy-radices"),
    ],
)
def test_consistent_edge_counts_accepted(kwargs, n_edges):
    kwargs = {"radices": [2, 2], **kwargs}
    assert radix(12, 8, **kwargs).n_edges == n_edges


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({}, r"needs radices=.*e\.g\. radices=\[2, 2\] .*n_out\)=4", id="none"),
        pytest.param({"radices": [2, 1]}, r"radices must all be >= 2 .*radices\[1\]=1", id="one"),
        pytest.param({"radices": []}, r"at least one integer >= 2, got \[\]", id="empty"),
        pytest.param({"radices": "2,2"}, r"radices must be a list of integers", id="string"),
        pytest.param({"radices": [2, 2.5]}, r"radices\[1\] must be an integer", id="float"),
        pytest.param(
            {"radices": [3, 3]},
            r"n_in must be a multiple of n' = prod\(radices\) = 9 .*nearest: 9 or 18, got 12",
            id="n_in",
        ),
        pytest.param(
            {"radices": [2, 3]},
            r"n_out must be a multiple of .* = 6 .*nearest: 6 or 12, got 8",
            id="n_out",
        ),
        pytest.param({"radices": [2, 2], "layer": -1}, r"layer must be >= 0, got -1", id="layer"),
        pytest.param({"radices": [2, 2], "degree": 3}, r"degree must be 6 \(or", id="deg"),
        pytest.param(
            {"radices": [2, 2], "density": 0.25}, r"exactly 48 edges .*asks for 24", id="density"
        ),
    ],
)
def test_errors(kwargs, match):
    with pytest.raises(TopokitError, match=match):
        radix(12, 8, **kwargs)


def test_missing_sizes_refused_by_the_registry():
    with pytest.raises(TopokitError, match=r"family 'radix' needs n_in and n_out"):
        layer_graph("radix", radices=[2, 2])


def test_no_common_factor_hint():
    with pytest.raises(TopokitError, match=r"need a common factor"):
        radix(7, 8)


def test_topology_error_names_the_layer():
    with pytest.raises(TopokitError, match=r"layer 1 \(8 -> 10\): n_out must be a multiple"):
        Topology.build([8, 8, 10], "radix", radices=[2, 4])
