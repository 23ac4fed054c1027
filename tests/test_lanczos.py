"""topokit._lanczos: the certified top eigenpair against dense numpy.linalg.eigh."""

import numpy as np
import pytest

from topokit import _lanczos
from topokit._errors import TopokitError
from topokit._lanczos import dot, top_eigenpair


def symmetric(eigenvalues, seed):
    """``Q diag(eigenvalues) Qᵀ`` with a random orthogonal ``Q``."""
    size = len(eigenvalues)
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((size, size)))
    return (q * np.asarray(eigenvalues, dtype=float)) @ q.T


def solve(matrix, seed=0, tol=1e-10):
    start = np.random.default_rng(seed).standard_normal(matrix.shape[0])
    bound = np.abs(matrix).sum(axis=1).max()
    return top_eigenpair(lambda x: matrix @ x, start, bound=bound, tol=tol, what="a test matrix")


@pytest.mark.parametrize(
    "spectrum",
    [
        np.linspace(0.0, 1.0, 300),  # evenly spread
        np.concatenate([np.linspace(0.0, 35.0, 297), [35.97, 35.98, 35.99]]),  # bulk edge
        np.concatenate([np.linspace(-3.0, 2.0, 298), [5.0, 5.0]]),  # repeated top, negatives
        np.concatenate([np.zeros(250), [1e-6]]),  # tiny top: the absolute floor
    ],
    ids=["spread", "clustered-edge", "repeated-top", "tiny-top"],
)
def test_top_eigenpair_against_dense_eigh(spectrum):
    matrix = symmetric(spectrum, seed=len(spectrum))
    value, vector, residual = solve(matrix)
    top = np.linalg.eigvalsh(matrix)[-1]
    assert np.linalg.norm(vector) == pytest.approx(1.0, rel=1e-14)
    # the certificate: an eigenvalue within `residual`, and the one found is the top
    assert residual == pytest.approx(np.linalg.norm(matrix @ vector - value * vector), abs=1e-14)
    assert abs(value - top) <= residual + 1e-14
    assert value <= top + 1e-12  # a Rayleigh quotient never exceeds the top
    bound = np.abs(matrix).sum(axis=1).max()
    assert residual <= 1e-10 * max(value, 1e-3 * bound)
    assert value == pytest.approx(top, rel=1e-8, abs=1e-13 * bound)


def test_top_eigenpair_of_zero_operator():
    value, vector, residual = top_eigenpair(
        lambda x: 0.0 * x, np.ones(50), bound=1.0, tol=1e-10, what="zero"
    )
    assert (value, residual) == (0.0, 0.0)
    assert np.linalg.norm(vector) == pytest.approx(1.0)


def test_top_eigenpair_of_one_by_one():
    value, vector, residual = top_eigenpair(
        lambda x: 3.0 * x, np.array([-2.0]), bound=3.0, tol=1e-10, what="a scalar"
    )
    assert (value, residual, abs(vector[0])) == (3.0, 0.0, 1.0)


def test_top_eigenpair_is_deterministic():
    matrix = symmetric(np.linspace(0.0, 1.0, 200), seed=4)
    first, second = solve(matrix, seed=5), solve(matrix, seed=5)
    assert first[0] == second[0]
    np.testing.assert_array_equal(first[1], second[1])


@pytest.mark.parametrize("kept", [1, 2, 7])
def test_second_pass_regenerates_the_vectors_not_kept(kept, monkeypatch):
    """Keeping fewer Lanczos vectors costs one product per step beyond them, not one bit."""
    matrix = symmetric(np.concatenate([np.linspace(0.0, 35.0, 297), [35.97, 35.98, 36.0]]), 9)
    bound = np.abs(matrix).sum(axis=1).max()

    def run():
        calls = []

        def matvec(x):
            calls.append(1)
            return matrix @ x

        start = np.random.default_rng(0).standard_normal(300)
        found = top_eigenpair(matvec, start, bound=bound, tol=1e-10, what="a test matrix")
        return found, len(calls)

    (value, vector, _), calls = run()
    steps = calls - 1  # one cycle: the steps, then the residual's product
    monkeypatch.setattr(_lanczos, "_STORED_BYTES", 0)
    monkeypatch.setattr(_lanczos, "_STORED_VECTORS", kept)
    (value_kept, vector_kept, _), calls_kept = run()
    assert value_kept == value
    np.testing.assert_array_equal(vector_kept, vector)
    # the resumed recurrence redoes the product of the last kept step, and skips none
    assert calls_kept == steps + (steps - kept + 1) + 1


def test_top_eigenpair_restarts_from_its_ritz_vector(monkeypatch):
    """Cycles of 12 steps each: restarting from the last Ritz vector still converges."""
    monkeypatch.setattr(_lanczos, "_MAX_STEPS", 12)
    matrix = symmetric(np.concatenate([np.linspace(0.0, 0.8, 199), [1.0]]), seed=6)
    calls = []

    def matvec(x):
        calls.append(1)
        return matrix @ x

    start = np.random.default_rng(0).standard_normal(200)
    value, _, residual = top_eigenpair(matvec, start, bound=2.0, tol=1e-10, what="a test matrix")
    assert len(calls) > 2 * 12 + 1  # more than one cycle
    assert residual <= 1e-10 * value
    assert value == pytest.approx(1.0, rel=1e-9)


def test_top_eigenpair_raises_when_not_converged(monkeypatch):
    monkeypatch.setattr(_lanczos, "_MAX_STEPS", 3)
    monkeypatch.setattr(_lanczos, "_MAX_CYCLES", 1)
    matrix = symmetric(np.linspace(0.0, 1.0, 200), seed=7)
    with pytest.raises(
        TopokitError, match=r"Lanczos did not converge on a test matrix: residual .* after 1 cycles"
    ):
        solve(matrix)


def test_dot_matches_numpy():
    rng = np.random.default_rng(8)
    a, b = rng.standard_normal(100_001), rng.standard_normal(100_001)
    assert dot(a, b) == pytest.approx(float(np.dot(a, b)), rel=1e-12)
