"""The shared input checks and the edge-count rule."""

import numpy as np
import pytest

from topokit import TopokitError
from topokit._validation import check_int, check_real, edge_count, make_rng


@pytest.mark.parametrize(
    ("n_in", "n_out", "density", "degree", "expected"),
    [
        pytest.param(10, 10, 0.5, None, 50, id="density"),
        pytest.param(3, 5, 0.1, None, 2, id="half-rounds-up"),  # 1.5 -> 2
        pytest.param(10, 7, None, 3, 21, id="degree"),
        pytest.param(4, 4, 1.0, None, 16, id="density-one"),
    ],
)
def test_edge_count(n_in, n_out, density, degree, expected):
    assert edge_count(n_in, n_out, density, degree) == expected


@pytest.mark.parametrize(
    ("density", "degree", "match"),
    [
        pytest.param(1.5, None, r"density must be in \(0.0, 1.0\], got 1.5", id="density-high"),
        pytest.param(0.0, None, r"density must be in \(0.0, 1.0\], got 0.0", id="density-zero"),
        pytest.param(np.nan, None, "density must be finite", id="density-nan"),
        pytest.param(1e-6, None, "smallest feasible density is 0.01", id="zero-edges"),
        pytest.param(None, 11, "degree=10", id="degree-high"),
        pytest.param(None, 0, "degree must be >= 1", id="degree-zero"),
        pytest.param(0.5, 2, "not both", id="both"),
        pytest.param(None, None, "give density=... or degree=...", id="neither"),
        pytest.param("0.5", None, "must be a real number", id="string"),
    ],
)
def test_edge_count_errors(density, degree, match):
    with pytest.raises(TopokitError, match=match):
        edge_count(10, 10, density, degree)


def test_check_int_accepts_integral_floats_and_rejects_others():
    assert check_int("n", 3.0) == 3
    with pytest.raises(TopokitError, match=r"n must be an integer, got 2\.5"):
        check_int("n", 2.5)
    with pytest.raises(TopokitError, match="n must be an integer, got True"):
        check_int("n", True)


def test_check_real_open_interval_message():
    with pytest.raises(TopokitError, match=r"p must be in \(2.0, inf\), got 2.0"):
        check_real("p", 2, low=2.0, low_open=True)


def test_make_rng_is_reproducible_and_passes_generators_through():
    assert make_rng(3).random() == make_rng(3).random()
    generator = np.random.default_rng(1)
    assert make_rng(generator) is generator
    with pytest.raises(TopokitError, match="rng must be"):
        make_rng("seed")
