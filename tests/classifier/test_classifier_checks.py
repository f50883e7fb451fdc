"""scikit-learn's estimator checks on SpectraClassifier (tiny, fast parameters)."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from specstate import SpectraClassifier

#: Tiny settings: the checks use a few hundred samples with 2-10 features.
TINY = dict(hidden=8, max_iter=60, learning_rate=0.05, random_state=0, n_threads=1)


def _expected_failed(estimator):
    # Every check is expected to pass; nothing is skipped.
    return {}


@parametrize_with_checks(
    [SpectraClassifier(**TINY), SpectraClassifier(network="point", **TINY)],
    expected_failed_checks=_expected_failed,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
