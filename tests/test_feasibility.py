"""check_feasible and Topology.check_feasible raise exactly where building raises.

The reference is the builder itself: for each case, building either succeeds (the check
must pass) or raises a TopokitError (the check must raise the same message).
"""

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from topokit import TopokitError, Topology, check_feasible, families, get_family, layer_graph


def _outcome(function, *args, **kwargs):
    """None if ``function`` returns, else the TopokitError's message."""
    try:
        function(*args, **kwargs)
    except TopokitError as exc:
        return str(exc)
    return None


def _params(family):
    """Small values of each family's parameters, feasible and not."""
    return {
        "small_world": [{}, {"p": 0.0}, {"p": 1.0}, {"p": 2.0}, {"p": -0.1}],
        "scale_free": [{}, {"exponent": 3.0}, {"exponent": 2.0}, {"exponent": 1.5}],
        "ramanujan": [{"max_attempts": 200}, {"max_attempts": 0}],
        "projective_plane": [{}, {"q": 2}, {"q": 3}, {"q": 6}],
        "array_code": [{}, {"q": 3}, {"q": 3, "l": 2}, {"q": 4}, {"q": 3, "l": 4}],
        "radix": [{}, {"radices": [2]}, {"radices": [2, 2]}, {"radices": [3]}, {"radices": [1]}],
    }.get(family, [{}])


_SIZES = [(None, None), (1, 1), (4, 4), (6, 9), (7, 7), (9, 6), (8, 16), (13, 13)]
_EDGES = [(None, None), (0.5, None), (1.0, None), (0.01, None), (1.5, None), (None, 2), (None, 3)]

GRID = [
    (family, n_in, n_out, density, degree, params)
    for family in families()
    for (n_in, n_out), (density, degree), params in itertools.product(
        _SIZES, _EDGES, _params(family)
    )
]


@pytest.mark.parametrize(
    ("family", "n_in", "n_out", "density", "degree", "params"),
    GRID,
    ids=[f"{f}-{a}x{b}-d{d}-k{k}-{p}" for f, a, b, d, k, p in GRID],
)
def test_check_raises_exactly_when_the_builder_raises(family, n_in, n_out, density, degree, params):
    built = _outcome(
        layer_graph, family, n_in, n_out, density=density, degree=degree, rng=0, **params
    )
    checked = _outcome(
        check_feasible, family, n_in, n_out, density=density, degree=degree, **params
    )
    assert checked == built


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    family=st.sampled_from([f for f in families() if f != "ramanujan"]),
    n_in=st.one_of(st.none(), st.integers(-1, 30)),
    n_out=st.one_of(st.none(), st.integers(-1, 30)),
    density=st.one_of(st.none(), st.floats(-0.5, 1.5, allow_nan=False)),
    degree=st.one_of(st.none(), st.integers(-1, 12)),
    q=st.one_of(st.none(), st.integers(0, 8)),
    p=st.one_of(st.none(), st.floats(-0.5, 1.5, allow_nan=False)),
)
def test_check_agrees_with_the_builder_on_random_arguments(
    family, n_in, n_out, density, degree, q, p
):
    own = {param.name for param in get_family(family).params}
    params = {}
    if "q" in own and q is not None:
        params["q"] = q
    if "p" in own and p is not None:
        params["p"] = p
    if family == "radix":
        params["radices"] = [2, 2] if q is None else [max(q, 0)]
    built = _outcome(
        layer_graph, family, n_in, n_out, density=density, degree=degree, rng=0, **params
    )
    checked = _outcome(
        check_feasible, family, n_in, n_out, density=density, degree=degree, **params
    )
    assert checked == built


def test_check_does_not_build_large_graphs():
    # a billion-edge layer would take minutes and gigabytes to build
    check_feasible("erdos_renyi", 100_000, 100_000, density=0.1)
    check_feasible("projective_plane", q=1289)


@pytest.mark.parametrize(
    ("family", "n_in", "n_out", "density", "params", "match"),
    [
        (
            "projective_plane",
            64,
            64,
            None,
            {"q": 2},
            r"n_in must be 7 \(q²\+q\+1 for q=2\), got 64",
        ),
        ("small_world", 64, 32, 0.1, {"p": 2.0}, r"p must be in \[0.0, 1.0\], got 2.0"),
        ("erdos_renyi", 10, 10, 0.001, {}, r"density=0.001 gives 0 edges"),
        ("array_code", 64, 64, None, {}, r"n_out must be q² for a prime q"),
        ("radix", 64, 48, None, {"radices": [4, 4, 4]}, r"n_out must be a multiple of n' "),
        ("left_regular", 8, 4, None, {"degree": 9}, r"degree"),
        ("erdos_renyi", 8, 4, 0.5, {"q": 3}, r"unknown parameter 'q' for family 'erdos_renyi'"),
    ],
    ids=["plane-q2", "small-world-p", "zero-edges", "array-code", "radix", "degree", "param"],
)
def test_check_names_the_problem(family, n_in, n_out, density, params, match):
    if "degree" in params:
        params = dict(params)
        degree = params.pop("degree")
    else:
        degree = None
    with pytest.raises(TopokitError, match=match):
        check_feasible(family, n_in, n_out, density=density, degree=degree, **params)


@pytest.mark.parametrize(
    ("sizes", "family", "kwargs"),
    [
        ([64, 64, 10], "projective_plane", {"dense_output": True, "q": 2}),
        ([57, 57, 10], "projective_plane", {"dense_output": True}),
        ([16, 16, 16], "radix", {"radices": [2, 2]}),
        ([16, 12, 16], "radix", {"radices": [2, 2]}),
        ([20, 10, 4], "small_world", {"density": 0.2, "p": 2.0}),
        ([20, 10, 4], ["small_world", "erdos_renyi"], {"density": [0.2, 0.5], "p": 0.3}),
        ([20, 10, 4], "erdos_renyi", {"density": [0.2]}),
        ([20, 10, 4], "erdos_renyi", {"dense_output": True, "default_density": 0.1}),
        ([20, 10, 4], "erdos_renyi", {}),
        ([20], "erdos_renyi", {"density": 0.2}),
        ([20, 10, 4], "erdos_renyi", {"density": 0.2, "p": 0.1}),
    ],
    ids=[
        "plane-q2",
        "plane",
        "radix",
        "radix-sizes",
        "small-world-p",
        "per-layer",
        "list-length",
        "default-density",
        "no-edge-count",
        "one-size",
        "unknown-param",
    ],
)
def test_topology_check_raises_exactly_when_build_raises(sizes, family, kwargs):
    built = _outcome(Topology.build, sizes, family, rng=0, **kwargs)
    checked = _outcome(Topology.check_feasible, sizes, family, **kwargs)
    assert checked == built
