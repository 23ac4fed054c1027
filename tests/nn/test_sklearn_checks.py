"""SparseMLPClassifier passes scikit-learn's own estimator checks."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from topokit.nn.classifier import SparseMLPClassifier

# The defaults, then small networks (each of the ~60 checks fits a few times); their
# learning rate is raised so that 50 epochs fit the checks' blobs (accuracy > 0.83).
_ESTIMATORS = [
    SparseMLPClassifier(),  # the defaults: 100 hidden neurons at density 0.1, dense output
    SparseMLPClassifier(
        hidden_layer_sizes=(16,), density=0.5, learning_rate_init=0.02, max_iter=50
    ),
    SparseMLPClassifier(
        hidden_layer_sizes=(16, 8),
        family="left_regular",
        degree=[1, 2, 2],
        dense_output=False,
        solver="sgd",
        learning_rate_init=0.1,
        max_iter=50,
        dtype="float64",
    ),
    # rewired during training (SET every 3 steps; RigL once per epoch, ERK allocation)
    SparseMLPClassifier(
        hidden_layer_sizes=(16,),
        density=0.5,
        learning_rate_init=0.02,
        max_iter=50,
        dynamic="set",
        update_interval=3,
    ),
    SparseMLPClassifier(
        hidden_layer_sizes=(16, 12),
        density=0.3,
        allocation="erk",
        learning_rate_init=0.02,
        max_iter=50,
        dynamic="rigl",
    ),
]


# The checks fit on small random data for few epochs; running out of epochs is expected
# there, and scikit-learn's own suite silences the same warning for MLPClassifier.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(_ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
