"""The optimizers against the textbook update formulas, written out in NumPy.

SGD with momentum, Nesterov's variant and Adam (with bias correction) over several
steps, on float64 and float32 arrays of several sizes in one call (1-D, as a model's
weights and biases are), and the errors of :func:`make_optimizer`.
"""

import numpy as np
import pytest

from topokit._errors import TopokitError
from topokit.nn import _reference as reference
from topokit.nn.optimizers import SGD, Adam, make_optimizer

RTOL = {np.float64: 1e-13, np.float32: 1e-5}


def _arrays(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(size).astype(dtype) for size in [7, 12, 1]]


def _gradients(step, dtype):
    return _arrays(dtype, seed=100 + step)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    ("momentum", "nesterov"),
    [
        pytest.param(0.0, False, id="plain"),
        pytest.param(0.9, False, id="momentum"),
        pytest.param(0.9, True, id="nesterov"),
    ],
)
def test_sgd_follows_the_textbook_formula(momentum, nesterov, dtype):
    params = _arrays(dtype)
    expected = [p.astype(np.float64) for p in params]
    velocities = [np.zeros_like(p) for p in expected]
    optimizer = SGD(momentum=momentum, nesterov=nesterov)
    assert optimizer.state == ()
    for step, rate in enumerate([0.1, 0.05, 0.02, 0.01]):
        grads = _gradients(step, dtype)
        optimizer.step(params, grads, rate)
        for a, g in enumerate(grads):
            expected[a], velocities[a] = reference.sgd_update(
                expected[a], g.astype(np.float64), velocities[a], rate, momentum, nesterov
            )
    for p, e in zip(params, expected, strict=True):
        assert p.dtype == dtype
        np.testing.assert_allclose(p, e, rtol=RTOL[dtype], atol=RTOL[dtype])
    (kept,) = optimizer.state  # the velocities, in the order of params
    for v, e in zip(kept, velocities, strict=True):
        np.testing.assert_allclose(v, e, rtol=RTOL[dtype], atol=RTOL[dtype])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_adam_follows_the_textbook_formula_with_bias_correction(dtype):
    beta_1, beta_2, epsilon = 0.8, 0.95, 1e-6
    params = _arrays(dtype)
    expected = [p.astype(np.float64) for p in params]
    moments = [(np.zeros_like(p), np.zeros_like(p)) for p in expected]
    optimizer = Adam(beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)
    assert optimizer.state == ()
    for step, rate in enumerate([0.1, 0.05, 0.02, 0.01], start=1):
        grads = _gradients(step, dtype)
        optimizer.step(params, grads, rate)
        for a, g in enumerate(grads):
            m, v = moments[a]
            expected[a], m, v = reference.adam_update(
                expected[a], g.astype(np.float64), m, v, step, rate, beta_1, beta_2, epsilon
            )
            moments[a] = (m, v)
    assert optimizer.t == 4
    for p, e in zip(params, expected, strict=True):
        assert p.dtype == dtype
        np.testing.assert_allclose(p, e, rtol=RTOL[dtype], atol=RTOL[dtype])
    first, second = optimizer.state  # the moments, in the order of params
    for m, v, (m_e, v_e) in zip(first, second, moments, strict=True):
        np.testing.assert_allclose(m, m_e, rtol=RTOL[dtype], atol=RTOL[dtype])
        np.testing.assert_allclose(v, v_e, rtol=RTOL[dtype], atol=RTOL[dtype])


def test_adam_first_step_moves_each_weight_by_the_learning_rate():
    # at t = 1 the corrected step is lr · g / (|g| + ε): lr in the direction of -g
    params = [np.array([1.0, -2.0, 0.5])]
    Adam(epsilon=1e-12).step(params, [np.array([3.0, -0.25, 1e-3])], 0.1)
    np.testing.assert_allclose(params[0], [0.9, -1.9, 0.4], rtol=1e-8)


def test_make_optimizer_errors_name_the_problem():
    with pytest.raises(
        TopokitError, match=r"optimizer must be one of \['adam', 'sgd'\], got 'rms'"
    ):
        make_optimizer("rms")
    with pytest.raises(TopokitError, match=r"optimizer 'sgd': .*unexpected keyword.*beta_1"):
        make_optimizer("sgd", beta_1=0.9)
    with pytest.raises(TopokitError, match="momentum"):
        SGD(momentum=1.5)
    with pytest.raises(TopokitError, match="beta_2"):
        Adam(beta_2=1.0)


@pytest.mark.parametrize("make", [lambda: SGD(momentum=0.5), Adam], ids=["sgd", "adam"])
@pytest.mark.parametrize(
    ("params", "grads", "match"),
    [
        pytest.param([np.ones((2, 2))], [np.ones((2, 2))], r"params\[0\] must be a 1-D", id="2-D"),
        pytest.param(
            [np.ones(3, int)], [np.ones(3, int)], r"params\[0\] must be a 1-D float", id="int"
        ),
        pytest.param([np.ones(3)], [np.ones(2)], r"grads\[0\] must have the shape", id="shape"),
        pytest.param([np.ones(3)], [np.ones(3, np.float32)], r"grads\[0\] .* dtype", id="dtype"),
        pytest.param([np.ones(3)], [], "one array per parameter array", id="count"),
    ],
)
def test_step_refuses_arrays_the_kernels_would_index_out_of_bounds(make, params, grads, match):
    # a 2-D array used to be indexed by row up to its size: writes past its end
    with pytest.raises(TopokitError, match=match):
        make().step(params, grads, learning_rate=0.1)


@pytest.mark.parametrize("make", [lambda: SGD(momentum=0.5), Adam], ids=["sgd", "adam"])
def test_step_refuses_arrays_unlike_the_first_steps(make):
    optimizer = make()
    optimizer.step([np.ones(3)], [np.ones(3)], learning_rate=0.1)
    with pytest.raises(TopokitError, match=r"params\[0\] changed since the first step"):
        optimizer.step([np.ones(4)], [np.ones(4)], learning_rate=0.1)
    p = np.ones(3)
    optimizer.step([p], [np.ones(3)], learning_rate=0.1)  # the same shapes still work
    assert np.all(p < 1)
