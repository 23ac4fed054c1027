"""The random layer-graph families: edge counts, degrees, determinism, shape, errors.

Covers ``erdos_renyi``, ``biregular``, ``left_regular``, ``small_world``, ``scale_free``
and ``ramanujan``: structural invariants on sizes and seeds drawn by hypothesis, their
distributions against exact probabilities (chi-square, fixed seeds, so deterministic),
and every error path.
"""

import importlib
import itertools
import math
from collections import Counter

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from topokit._errors import TopokitError
from topokit.generators import (
    biregular,
    erdos_renyi,
    families,
    get_family,
    layer_graph,
    left_regular,
    ramanujan,
    scale_free,
    small_world,
)
from topokit.graph import LayerGraph
from topokit.topology import Topology

RANDOM_FAMILIES = {
    "erdos_renyi": erdos_renyi,
    "biregular": biregular,
    "left_regular": left_regular,
    "small_world": small_world,
    "scale_free": scale_free,
    "ramanujan": ramanujan,
}
# families that accept any (n_in, n_out, density): all but left_regular and ramanujan
ANY_DENSITY = ["erdos_renyi", "biregular", "small_world", "scale_free"]
SEED = 20240611  # the fixed seed of the statistical tests
MIN_P_VALUE = 1e-3


def _module(name):
    """The private module that implements family ``name``."""
    return importlib.import_module(f"topokit.generators._{name}")


def edge_ids(graph):
    rows, cols = graph.edges()
    return rows * graph.n_out + cols


def assert_canonical(graph, family, n_in, n_out, n_edges):
    """The CSR is canonical, binary, without repeats, and of the asked size."""
    csr = graph.biadjacency
    assert graph.family == family
    assert graph.shape == (n_in, n_out)
    assert graph.n_edges == n_edges
    assert csr.indices.dtype == np.int32
    assert csr.indptr.dtype == np.int32
    assert csr.data.dtype == np.float64
    assert np.all(csr.data == 1.0)
    ids = edge_ids(graph)
    np.testing.assert_array_equal(ids, np.unique(ids))  # sorted and no repeated edge
    assert graph == LayerGraph(csr.toarray())


def near_regular(n_nodes, n_edges):
    """The floor/ceil degree multiset, sorted."""
    base, extra = divmod(n_edges, n_nodes)
    return [base] * (n_nodes - extra) + [base + 1] * extra


sizes = st.integers(min_value=1, max_value=30)
seeds = st.integers(min_value=0, max_value=2**32 - 1)
densities = st.floats(min_value=0.0, max_value=1.0, exclude_min=True)


@st.composite
def layer_cases(draw):
    n_in, n_out = draw(sizes), draw(sizes)
    density = draw(densities.filter(lambda d: math.floor(d * n_in * n_out + 0.5) >= 1))
    return n_in, n_out, density, draw(seeds)


def n_edges_of(n_in, n_out, density):
    return math.floor(density * n_in * n_out + 0.5)


# ------------------------------------------------------------------ invariants
@pytest.mark.parametrize("family", ANY_DENSITY)
@settings(max_examples=40, deadline=None)
@given(case=layer_cases())
def test_exact_edge_count_and_canonical_form(family, case):
    n_in, n_out, density, seed = case
    graph = RANDOM_FAMILIES[family](n_in, n_out, density=density, rng=seed)
    assert_canonical(graph, family, n_in, n_out, n_edges_of(n_in, n_out, density))


@settings(max_examples=60, deadline=None)
@given(case=layer_cases())
def test_biregular_degrees_are_floor_and_ceil(case):
    n_in, n_out, density, seed = case
    n_edges = n_edges_of(n_in, n_out, density)
    graph = biregular(n_in, n_out, density=density, rng=seed)
    assert_canonical(graph, "biregular", n_in, n_out, n_edges)
    assert sorted(graph.fan_out.tolist()) == near_regular(n_in, n_edges)
    assert sorted(graph.fan_in.tolist()) == near_regular(n_out, n_edges)


@settings(max_examples=60, deadline=None)
@given(n_in=sizes, n_out=sizes, data=st.data(), seed=seeds)
def test_left_regular_every_fan_in_is_degree(n_in, n_out, data, seed):
    degree = data.draw(st.integers(min_value=1, max_value=n_in))
    graph = left_regular(n_in, n_out, degree=degree, rng=seed)
    assert_canonical(graph, "left_regular", n_in, n_out, degree * n_out)
    assert graph.fan_in.tolist() == [degree] * n_out


@settings(max_examples=60, deadline=None)
@given(case=layer_cases())
def test_small_world_lattice_degrees_and_rewiring_keep_fan_out(case):
    n_in, n_out, density, seed = case
    n_edges = n_edges_of(n_in, n_out, density)
    lattice = small_world(n_in, n_out, density=density, p=0)
    assert sorted(lattice.fan_out.tolist()) == near_regular(n_in, n_edges)
    assert sorted(lattice.fan_in.tolist()) == near_regular(n_out, n_edges)
    rewired = small_world(n_in, n_out, density=density, p=0.5, rng=seed)
    assert_canonical(rewired, "small_world", n_in, n_out, n_edges)
    np.testing.assert_array_equal(rewired.fan_out, lattice.fan_out)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(min_value=3, max_value=25), data=st.data(), seed=seeds)
def test_ramanujan_degrees_and_certificate(n, data, seed):
    n_out = data.draw(st.integers(min_value=2, max_value=25))
    # fan-in >= 3 and mean fan-out >= 2: over all such cases up to 25 x 25 (two seeds
    # each) a certified graph came within 2 attempts, so 200 attempts never run out
    degree = data.draw(st.integers(min_value=max(3, -(-2 * n // n_out)), max_value=n))
    graph = ramanujan(n, n_out, degree=degree, rng=seed, max_attempts=200)
    n_edges = degree * n_out
    assert_canonical(graph, "ramanujan", n, n_out, n_edges)
    assert sorted(graph.fan_out.tolist()) == near_regular(n, n_edges)
    assert graph.fan_in.tolist() == [degree] * n_out
    lambda2 = np.linalg.svd(graph.biadjacency.toarray(), compute_uv=False)[1]
    bound = math.sqrt(n_edges / n - 1) + math.sqrt(degree - 1)
    assert lambda2 <= bound + 1e-9


# ---------------------------------------------------------------- determinism
@pytest.mark.parametrize("family", list(RANDOM_FAMILIES))
def test_same_seed_same_graph_different_seed_different_graph(family):
    build = RANDOM_FAMILIES[family]
    first = build(60, 40, density=0.2, rng=7)
    assert first == build(60, 40, density=0.2, rng=7)
    assert first == build(60, 40, density=0.2, rng=np.random.default_rng(7))
    assert first != build(60, 40, density=0.2, rng=8)


@pytest.mark.parametrize("family", list(RANDOM_FAMILIES))
def test_rng_none_draws_fresh_graphs(family):
    build = RANDOM_FAMILIES[family]
    assert build(60, 40, density=0.2) != build(60, 40, density=0.2)


@pytest.mark.parametrize(
    ("n_in", "n_out", "kwargs"),
    [
        pytest.param(60, 40, {"density": 0.2}, id="sparse"),
        pytest.param(60, 40, {"density": 0.8}, id="dense-complement"),
        pytest.param(40, 60, {"degree": 31}, id="left-regular-complement"),
    ],
)
@pytest.mark.parametrize("family", ["erdos_renyi", "biregular", "left_regular", "scale_free"])
def test_all_branches_are_deterministic(family, n_in, n_out, kwargs):
    build = RANDOM_FAMILIES[family]
    first = build(n_in, n_out, rng=3, **kwargs)
    assert first == build(n_in, n_out, rng=3, **kwargs)
    assert first != build(n_in, n_out, rng=4, **kwargs)


@pytest.mark.parametrize("family", ["erdos_renyi", "biregular", "left_regular", "small_world"])
def test_cost_grows_with_edges_not_with_the_grid(family):
    # 10^6 x 10^6 pairs: a dense array (or a pass over all pairs) would never finish
    graph = RANDOM_FAMILIES[family](10**6, 10**6, degree=1, rng=0)
    assert graph.n_edges == 10**6
    if family in ("biregular", "left_regular"):
        assert np.all(graph.fan_in == 1)


def test_scale_free_on_a_huge_grid():
    graph = scale_free(10**6, 10**6, density=1e-9, rng=0)
    assert graph.n_edges == 1000
    assert graph.shape == (10**6, 10**6)


# -------------------------------------------------------- distributions
def _chi_square_p_value(observed: Counter, expected: dict) -> float:
    """Chi-square test of sampled outcomes against exact probabilities (all outcomes listed)."""
    assert set(observed) <= set(expected), set(observed) - set(expected)
    n_samples = sum(observed.values())
    f_obs = np.array([observed[key] for key in expected], dtype=float)
    f_exp = np.array(list(expected.values())) * n_samples
    return scipy.stats.chisquare(f_obs, f_exp).pvalue


@pytest.mark.parametrize(
    ("n_in", "n_out", "n_edges"),
    [
        pytest.param(2, 3, 2, id="draws"),
        pytest.param(2, 3, 4, id="complement"),
        pytest.param(3, 3, 1, id="one-edge"),
    ],
)
def test_erdos_renyi_every_edge_set_equally_likely(n_in, n_out, n_edges):
    rng = np.random.default_rng(SEED)
    density = n_edges / (n_in * n_out)
    observed = Counter(
        tuple(edge_ids(erdos_renyi(n_in, n_out, density=density, rng=rng)).tolist())
        for _ in range(3000)
    )
    subsets = list(itertools.combinations(range(n_in * n_out), n_edges))
    expected = {subset: 1 / len(subsets) for subset in subsets}
    assert _chi_square_p_value(observed, expected) > MIN_P_VALUE


def test_erdos_renyi_row_counts_are_hypergeometric():
    """Over many samples, each input's fan-out follows the hypergeometric law."""
    rng = np.random.default_rng(SEED)
    n_in, n_out, n_edges = 20, 15, 90
    counts = np.concatenate(
        [erdos_renyi(n_in, n_out, density=n_edges / 300, rng=rng).fan_out for _ in range(300)]
    )
    law = scipy.stats.hypergeom(n_in * n_out, n_out, n_edges)
    values = np.arange(n_out + 1)
    probabilities = law.pmf(values)
    # merge the sparse tails so that every expected count is at least 5
    keep = probabilities * counts.size >= 5
    observed = np.bincount(counts, minlength=n_out + 1)
    f_obs = np.r_[observed[keep], observed[~keep].sum()]
    f_exp = np.r_[probabilities[keep], probabilities[~keep].sum()] * counts.size
    assert scipy.stats.chisquare(f_obs, f_exp).pvalue > MIN_P_VALUE


def test_erdos_renyi_mid_density_cells_uniform():
    """The draw-and-trim path (density between 1/50 and 1/2): every cell equally often."""
    rng = np.random.default_rng(SEED)
    n_in, n_out, n_edges = 10, 20, 50
    hits = sum(
        np.bincount(edge_ids(erdos_renyi(n_in, n_out, density=0.25, rng=rng)), minlength=200)
        for _ in range(400)
    )
    expected = np.full(200, 400 * n_edges / 200)
    assert scipy.stats.chisquare(hits, expected).pvalue > MIN_P_VALUE


@pytest.mark.parametrize(
    ("n_in", "degree"),
    [pytest.param(5, 2, id="draws"), pytest.param(5, 4, id="complement")],
)
def test_left_regular_inputs_of_each_output_uniform(n_in, degree):
    rng = np.random.default_rng(SEED)
    n_out = 3
    observed = [Counter() for _ in range(n_out)]
    for _ in range(2000):
        csc = left_regular(n_in, n_out, degree=degree, rng=rng).biadjacency.tocsc()
        csc.sort_indices()
        for j in range(n_out):
            observed[j][tuple(csc.indices[csc.indptr[j] : csc.indptr[j + 1]].tolist())] += 1
    subsets = list(itertools.combinations(range(n_in), degree))
    expected = {subset: 1 / len(subsets) for subset in subsets}
    for counts in observed:
        assert _chi_square_p_value(counts, expected) > MIN_P_VALUE


def _successive_pair_law(w_in, w_out):
    """Exact law of the 2-edge set drawn ∝ w_in[i]·w_out[j] without replacement."""
    weights = np.outer(w_in, w_out).ravel()
    law = {}
    for a, b in itertools.combinations(range(weights.size), 2):
        pa, pb = weights[a], weights[b]
        law[(a, b)] = pa * pb / (1 - pa) + pb * pa / (1 - pb)
    return law


@pytest.mark.parametrize(
    ("n_in", "n_out"),
    [pytest.param(3, 3, id="draws-path"), pytest.param(2, 2, id="all-pairs-path")],
)
def test_scale_free_two_edges_follow_successive_sampling(n_in, n_out):
    weights = _module("scale_free")._power_law_weights
    w_in = weights(n_in, n_out, 2, 2.5)
    w_out = weights(n_out, n_in, 2, 2.5)
    expected = _successive_pair_law(w_in, w_out)
    assert sum(expected.values()) == pytest.approx(1.0, abs=1e-12)
    rng = np.random.default_rng(SEED)
    observed = Counter(
        tuple(edge_ids(scale_free(n_in, n_out, density=2 / (n_in * n_out), rng=rng)).tolist())
        for _ in range(4000)
    )
    assert _chi_square_p_value(observed, expected) > MIN_P_VALUE


def test_scale_free_power_law_weights():
    weights = _module("scale_free")._power_law_weights(1000, 1000, 5000, 2.5)
    assert weights.sum() == pytest.approx(1.0)
    # w_i ∝ (i + i0)^(-2/3), i0 = 1 here (the top hub, 5000 w_0 ≈ 160, is below 500)
    np.testing.assert_allclose(weights[1:] / weights[0], (np.arange(2, 1001) / 1.0) ** (-2 / 3))


def test_scale_free_heavy_tail():
    graph = scale_free(2000, 2000, degree=5, rng=SEED)
    for degrees in (graph.fan_in, graph.fan_out):
        assert degrees.max() > 20 * degrees.mean()
    # a smaller exponent gives a heavier tail; a large one is close to uniform
    heavy = scale_free(2000, 2000, degree=5, rng=SEED, exponent=2.1)
    light = scale_free(2000, 2000, degree=5, rng=SEED, exponent=6.0)
    assert heavy.fan_out.max() > graph.fan_out.max() > light.fan_out.max()
    assert light.fan_out.max() < 10 * light.fan_out.mean()
    # neuron 0 is the largest hub (in expectation; here by far)
    assert graph.fan_out[0] == graph.fan_out.max()


def test_biregular_targets_are_random_neurons():
    """Which neurons get the larger degree varies with the seed."""
    plus_one = {
        tuple(np.flatnonzero(biregular(20, 30, density=50 / 600, rng=seed).fan_out == 3))
        for seed in range(5)
    }
    assert len(plus_one) == 5


# ------------------------------------------------------------- small world
def _ring_band(n, degree):
    """Dense oracle: input i joined to outputs i - (degree-1)//2 ... (mod n)."""
    matrix = np.zeros((n, n), dtype=int)
    for i in range(n):
        for k in range(degree):
            matrix[i, (i - (degree - 1) // 2 + k) % n] = 1
    return matrix


@pytest.mark.parametrize(
    ("n", "degree"),
    [
        pytest.param(9, 3, id="n9-d3"),
        pytest.param(10, 5, id="n10-d5"),
        pytest.param(7, 7, id="full"),
    ],
)
def test_small_world_p0_is_the_ring_band(n, degree):
    graph = small_world(n, n, degree=degree, p=0)
    np.testing.assert_array_equal(graph.biadjacency.toarray(), _ring_band(n, degree))


@settings(max_examples=40, deadline=None)
@given(case=layer_cases())
def test_small_world_p0_bands_are_arcs_around_the_scaled_position(case):
    n_in, n_out, density, seed = case
    graph = small_world(n_in, n_out, density=density, p=0, rng=seed)
    assert graph == small_world(n_in, n_out, density=density, p=0, rng=seed + 1)
    matrix = graph.biadjacency.toarray().astype(bool)
    for i in range(n_in):
        row = matrix[i]
        if 0 < row.sum() < n_out:
            # one cyclic arc: exactly one place where the row switches from 0 to 1
            assert np.sum(row & ~np.roll(row, 1)) == 1
            position = (i + 0.5) * n_out / n_in - 0.5
            nearest = math.floor(position + 0.5) % n_out
            if row.sum() >= 2:
                assert row[nearest] or row[(nearest - 1) % n_out] or row[(nearest + 1) % n_out]


def test_small_world_rewiring_changes_the_graph():
    lattice = small_world(100, 80, density=0.1, p=0)
    rewired = small_world(100, 80, density=0.1, p=1, rng=SEED)
    common = np.intersect1d(edge_ids(lattice), edge_ids(rewired)).size
    # p=1 is essentially random: about density·E of the lattice edges survive by chance
    assert common < 0.3 * lattice.n_edges
    slightly = small_world(100, 80, density=0.1, p=0.1, rng=SEED)
    kept = np.intersect1d(edge_ids(lattice), edge_ids(slightly)).size
    assert 0.8 * lattice.n_edges < kept < lattice.n_edges


def test_small_world_dense_rewiring_uses_exact_fallback():
    """Nearly full inputs: rejection stalls, the exact per-input placement finishes."""
    graph = small_world(40, 30, density=0.97, p=1, rng=SEED)
    assert_canonical(graph, "small_world", 40, 30, round(0.97 * 1200))


# --------------------------------------------------------------- ramanujan
@pytest.mark.parametrize(
    ("n_in", "n_out", "degree"),
    [
        pytest.param(40, 40, 4, id="square-4"),
        pytest.param(60, 30, 4, id="rect-4"),
        pytest.param(30, 45, 5, id="near-biregular"),
    ],
)
def test_ramanujan_certificate_against_dense_svd(n_in, n_out, degree):
    graph = ramanujan(n_in, n_out, degree=degree, rng=SEED)
    n_edges = degree * n_out
    singular = np.linalg.svd(graph.biadjacency.toarray(), compute_uv=False)
    bound = math.sqrt(n_edges / n_in - 1) + math.sqrt(n_edges / n_out - 1)
    assert singular[1] <= bound + 1e-9
    assert sorted(graph.fan_out.tolist()) == near_regular(n_in, n_edges)


def test_ramanujan_gives_up_with_the_best_found(monkeypatch):
    module = _module("ramanujan")
    calls = []

    def never_ramanujan(biadjacency, k):
        calls.append(biadjacency.nnz)
        return np.array([10.0, 9.0 - 0.5 * len(calls)])

    monkeypatch.setattr(module, "top_singular_values", never_ramanujan)
    bound = math.sqrt(4 - 1) + math.sqrt(4 - 1)
    with pytest.raises(
        TopokitError, match=r"none of max_attempts=3 .*best lambda2 found: 7\.5"
    ) as info:
        ramanujan(40, 40, degree=4, rng=0, max_attempts=3)
    assert f"{bound:.6g}" in str(info.value)
    assert "larger degree" in str(info.value)
    assert len(calls) == 3


def test_ramanujan_resamples_until_certified(monkeypatch):
    module = _module("ramanujan")
    real = module.top_singular_values
    calls = []

    def reject_twice(biadjacency, k):
        calls.append(1)
        return np.array([10.0, 100.0]) if len(calls) <= 2 else real(biadjacency, k)

    monkeypatch.setattr(module, "top_singular_values", reject_twice)
    graph = ramanujan(40, 40, degree=4, rng=0)
    assert len(calls) == 3
    assert graph.n_edges == 160


def test_ramanujan_complete_graph_is_trivially_certified():
    graph = ramanujan(4, 3, density=1.0, rng=0)
    assert graph.n_edges == 12


# ----------------------------------------------------------------- errors
@pytest.mark.parametrize("family", list(RANDOM_FAMILIES))
@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        pytest.param((0, 5), {"degree": 1}, r"n_in must be >= 1, got 0", id="n_in-zero"),
        pytest.param((5, -1), {"degree": 1}, r"n_out must be >= 1, got -1", id="n_out-negative"),
        pytest.param(
            (5.5, 5), {"degree": 1}, r"n_in must be an integer, got 5\.5", id="n_in-float"
        ),
        pytest.param((5, 5), {}, r"give density=\.\.\. or degree=\.\.\.", id="no-edge-count"),
        pytest.param((5, 5), {"density": 0.5, "degree": 2}, "not both", id="density-and-degree"),
        pytest.param(
            (5, 5),
            {"density": 1.5},
            r"density must be in \(0\.0, 1\.0\], got 1\.5",
            id="density-high",
        ),
        pytest.param(
            (5, 5), {"density": 0.0}, r"density must be in \(0\.0, 1\.0\]", id="density-zero"
        ),
        pytest.param(
            (5, 5), {"density": 0.01}, r"smallest feasible density is 0\.04", id="no-edge"
        ),
        pytest.param(
            (5, 5), {"degree": 6}, r"nearest feasible choice is degree=5", id="degree-high"
        ),
        pytest.param((5, 5), {"degree": 2, "rng": "seed"}, r"rng must be", id="bad-rng"),
    ],
)
def test_shared_input_errors(family, args, kwargs, match):
    with pytest.raises(TopokitError, match=match):
        RANDOM_FAMILIES[family](*args, **kwargs)


@pytest.mark.parametrize(
    ("p", "match"),
    [
        pytest.param(-0.1, r"p must be in \[0\.0, 1\.0\], got -0\.1", id="negative"),
        pytest.param(1.5, r"p must be in \[0\.0, 1\.0\], got 1\.5", id="above-one"),
        pytest.param(float("nan"), r"p must be finite", id="nan"),
        pytest.param("0.3", r"p must be a real number, got '0\.3'", id="string"),
    ],
)
def test_small_world_bad_p(p, match):
    with pytest.raises(TopokitError, match=match):
        small_world(10, 10, degree=2, p=p)


@pytest.mark.parametrize(
    ("exponent", "match"),
    [
        pytest.param(2.0, r"exponent must be in \(2\.0, inf\), got 2\.0", id="two"),
        pytest.param(1.5, r"exponent must be in \(2\.0, inf\), got 1\.5", id="below"),
        pytest.param(float("inf"), r"exponent must be finite", id="inf"),
    ],
)
def test_scale_free_bad_exponent(exponent, match):
    with pytest.raises(TopokitError, match=match):
        scale_free(10, 10, degree=2, exponent=exponent)


@pytest.mark.parametrize(
    ("n_in", "n_out", "density", "match"),
    [
        pytest.param(
            100,
            7,
            0.123,
            r"multiple of n_out=7; density=0\.123 gives 86 edges; the nearest "
            r"feasible choices are density=0\.12 \(degree=12\) or density=0\.13 \(degree=13\)",
            id="between",
        ),
        pytest.param(
            3,
            7,
            0.1,
            r"gives 2 edges; the nearest feasible choices are density=0\.333 "
            r"\(degree=1\)$",
            id="below-one",
        ),
    ],
)
def test_left_regular_density_must_give_equal_fan_ins(n_in, n_out, density, match):
    with pytest.raises(TopokitError, match=match):
        left_regular(n_in, n_out, density=density)


def test_left_regular_suggested_density_works():
    graph = left_regular(100, 7, density=0.12, rng=0)
    assert graph.fan_in.tolist() == [12] * 7


@pytest.mark.parametrize(
    ("n_in", "n_out", "kwargs", "match"),
    [
        pytest.param(
            100,
            50,
            {"density": 0.01},
            r"mean degree of the 100 input neurons is below 1",
            id="too-few-edges",
        ),
        pytest.param(
            50,
            100,
            {"degree": 1},
            r"mean degree of the 50 output neurons is below 1|every "
            r"output neuron has exactly one edge",
            id="degree-one",
        ),
        pytest.param(
            100,
            50,
            {"degree": 2},
            r"every input neuron has exactly one edge, so the graph is "
            r"a union of stars",
            id="stars",
        ),
        pytest.param(
            10,
            10,
            {"degree": 2, "max_attempts": 0},
            r"max_attempts must be >= 1, got 0",
            id="attempts",
        ),
        pytest.param(
            10,
            10,
            {"degree": 2, "max_attempts": 1.5},
            r"max_attempts must be an integer",
            id="attempts-float",
        ),
    ],
)
def test_ramanujan_infeasible(n_in, n_out, kwargs, match):
    with pytest.raises(TopokitError, match=match):
        ramanujan(n_in, n_out, **kwargs)


# --------------------------------------------------------------- registry
@pytest.mark.parametrize("family", list(RANDOM_FAMILIES))
def test_registered(family):
    assert family in families()
    record = get_family(family)
    assert record.function is RANDOM_FAMILIES[family]
    assert record.edge_count == "given"
    assert record.random
    assert record.summary
    assert record.sizes


@pytest.mark.parametrize(
    ("family", "params"),
    [
        pytest.param("small_world", {"p": 0.1}, id="small_world"),
        pytest.param("scale_free", {"exponent": 2.5}, id="scale_free"),
        pytest.param("ramanujan", {"max_attempts": 100}, id="ramanujan"),
    ],
)
def test_param_defaults_match_the_functions(family, params):
    record = get_family(family)
    assert {p.name: p.default for p in record.params} == params
    for param in record.params:
        assert param.parse(str(param.default)) == param.default
        assert param.constraint


def test_layer_graph_small_world_with_param():
    graph = layer_graph("small_world", 50, 40, density=0.1, rng=0, p=0.3)
    assert graph == small_world(50, 40, density=0.1, rng=0, p=0.3)
    assert graph.family == "small_world"
    assert graph.params == {"p": 0.3}
    assert graph.seed == 0


@pytest.mark.parametrize(
    ("family", "params"),
    [
        pytest.param("erdos_renyi", {}, id="erdos_renyi"),
        pytest.param("biregular", {}, id="biregular"),
        pytest.param("left_regular", {}, id="left_regular"),
        pytest.param("scale_free", {"exponent": 3.0}, id="scale_free"),
        pytest.param("ramanujan", {"max_attempts": 5}, id="ramanujan"),
    ],
)
def test_layer_graph_matches_direct_call(family, params):
    graph = layer_graph(family, 50, 40, degree=4, rng=1, **params)
    assert graph == RANDOM_FAMILIES[family](50, 40, degree=4, rng=1, **params)
    assert graph.family == family


def test_layer_graph_unknown_param():
    with pytest.raises(TopokitError, match=r"unknown parameter 'q' for family 'small_world'"):
        layer_graph("small_world", 50, 40, density=0.1, q=1)


@pytest.mark.parametrize("family", list(RANDOM_FAMILIES))
def test_topology_build(family):
    top = Topology.build([30, 20, 10], family, degree=4, rng=5)
    assert top.sizes == [30, 20, 10]
    assert [layer.n_edges for layer in top] == [80, 40]
    assert all(layer.family == family for layer in top)
    assert top == Topology.build([30, 20, 10], family, degree=4, rng=5)


def test_topology_build_mixed_families():
    top = Topology.build(
        [64, 32, 16, 10],
        ["small_world", "ramanujan", "left_regular"],
        density=[0.1, 0.25, None],
        degree=[None, None, 4],
        rng=0,
    )
    assert [layer.family for layer in top] == ["small_world", "ramanujan", "left_regular"]
    assert [layer.n_edges for layer in top] == [205, 128, 40]


def test_topology_build_names_the_failing_layer():
    with pytest.raises(TopokitError, match=r"layer 1 \(20 -> 7\).*multiple of n_out=7"):
        Topology.build([30, 20, 7], "left_regular", density=[0.1, 0.123], rng=0)
