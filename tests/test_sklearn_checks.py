"""scikit-learn's own estimator checks, on both estimators.

scikit-learn's MLP passes them with its defaults and so does fastsgd's. The on-line
configuration has expected failures, each inherent to scikit-learn's update rule.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from fastsgd import MLPClassifier, MLPRegressor

# scikit-learn divides a batch's summed gradient by the batch's sample-weight sum.
# At batch_size=1 a sample's weight therefore cancels out of its own step, so
# weights cannot act like repeated samples, and class weights cannot tilt the
# decision. scikit-learn's own MLPClassifier(solver="sgd", batch_size=1) fails the
# sparse variant too (and raises ZeroDivisionError on zero weights, which fastsgd
# skips instead); fastsgd warns when weights are passed with batch_size=1.
_ONLINE_WEIGHTS = (
    "scikit-learn's update rule: at batch_size=1 a sample's weight cancels out of "
    "its own step"
)
ONLINE_EXPECTED_FAILURES = {
    "check_sample_weight_equivalence_on_dense_data": _ONLINE_WEIGHTS,
    "check_sample_weight_equivalence_on_sparse_data": _ONLINE_WEIGHTS,
    "check_class_weight_classifiers": _ONLINE_WEIGHTS,
}


def _expected_failed_checks(estimator):
    if estimator.get_params()["batch_size"] == 1:
        return ONLINE_EXPECTED_FAILURES
    return {}


@parametrize_with_checks(
    [
        MLPClassifier(max_iter=50, random_state=0),
        MLPRegressor(max_iter=50, random_state=0),
        MLPClassifier(solver="sgd", batch_size=1, max_iter=20, random_state=0),
        MLPRegressor(solver="lbfgs", max_iter=50, random_state=0),
        MLPClassifier(
            solver="sgd", batch_size="full", learning_rate_init=0.5, random_state=0
        ),
    ],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
