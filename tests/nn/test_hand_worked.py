"""A network of three neurons worked by hand: forward, loss, gradients and one SGD step.

Inputs x = (1, 2); one relu hidden neuron with weights (0.5, -0.25) and bias 0.1; two
softmax outputs with weights (1, -1) and zero biases; label 0.

    z1 = 0.5·1 − 0.25·2 + 0.1 = 0.1,   a1 = relu(0.1) = 0.1
    logits = (0.1, −0.1),  p0 = 1 / (1 + e^−0.2) = 0.549833997312478
    loss = ln(1 + e^−0.2) = 0.598138869381592
    δ2 = p − e0 = (−0.450166002687522, 0.450166002687522)
    ∂W2 = a1·δ2 = (−0.0450166002687522, 0.0450166002687522),  ∂b2 = δ2
    δ1 = W2·δ2 · relu'(0.1) = −0.900332005375044
    ∂W1 = x·δ1 = (−0.900332005375044, −1.800664010750088),  ∂b1 = δ1

One SGD step, learning rate 0.1, momentum 0.9 without Nesterov (first step: v = −0.1·g):
    W1 ← (0.5900332005375044, −0.0699335989249912),  b1 ← 0.1900332005375044
    W2 ← (1.0045016600268752, −1.0045016600268752)
    b2 ← (0.0450166002687522, −0.0450166002687522)
"""

import numpy as np
import pytest

from topokit.graph import LayerGraph
from topokit.nn import SparseMLP
from topokit.topology import Topology

TOL = 1e-14


@pytest.fixture
def model():
    topology = Topology([LayerGraph(np.ones((2, 1))), LayerGraph(np.ones((1, 2)))])
    net = SparseMLP(
        topology,
        "relu",
        optimizer="sgd",
        learning_rate=0.1,
        momentum=0.9,
        nesterov=False,
        weight_decay=0.0,
        dtype=np.float64,
        rng=0,
    )
    net.layers[0].weight_data[:] = [0.5, -0.25]
    net.layers[0].bias[:] = [0.1]
    net.layers[1].weight_data[:] = [1.0, -1.0]
    net.layers[1].bias[:] = [0.0, 0.0]
    return net


X = np.array([[1.0, 2.0]])
Y = np.array([0])


def test_forward(model):
    np.testing.assert_allclose(
        model.predict_proba(X), [[0.549833997312478, 0.450166002687522]], rtol=TOL
    )


def test_loss_and_gradients(model):
    loss, n_correct = model._loss_and_gradients(np.ascontiguousarray(X.T), Y)
    assert loss == pytest.approx(0.598138869381592, rel=TOL)
    assert n_correct == 1
    hidden, out = model.layers
    close = np.testing.assert_allclose
    close(hidden.weight_grad, [-0.900332005375044, -1.800664010750088], rtol=TOL)
    close(hidden.bias_grad, [-0.900332005375044], rtol=TOL)
    close(out.weight_grad, [-0.0450166002687522, 0.0450166002687522], rtol=TOL)
    close(out.bias_grad, [-0.450166002687522, 0.450166002687522], rtol=TOL)


def test_one_sgd_step(model):
    loss = model.train_step(X, Y)
    assert loss == pytest.approx(0.598138869381592, rel=TOL)
    hidden, out = model.layers
    close = np.testing.assert_allclose
    close(hidden.weight_data, [0.5900332005375044, -0.0699335989249912], rtol=TOL)
    close(hidden.bias, [0.1900332005375044], rtol=TOL)
    close(out.weight_data, [1.0045016600268752, -1.0045016600268752], rtol=TOL)
    close(out.bias, [0.0450166002687522, -0.0450166002687522], rtol=TOL)
