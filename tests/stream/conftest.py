"""Fixtures of the streaming tests: a small real SpectraClassifier fitted on simulated XRD."""

import numpy as np
import pytest

from ._helpers import N_POINTS

# A tiny, fast fit: the tests are about the loop, not the classifier's accuracy.
TINY = {"max_iter": 30, "augment": False, "weighting": "reference", "n_threads": 1}


@pytest.fixture(scope="session")
def xrd():
    from specstate.datasets import simulate_xrd_ramp

    return simulate_xrd_ramp(n_patterns=40, n_points=N_POINTS, transition=(18, 22),
                             random_state=0)


@pytest.fixture(scope="session")
def states(xrd):
    """Spectra of the two end states, {'bcc': (k, m), 'hcp': (k, m)} float32."""
    return {s: np.asarray(xrd.intensity[xrd.labels == s], dtype=np.float32)
            for s in ("bcc", "hcp")}


@pytest.fixture(scope="session")
def model(xrd):
    from specstate import SpectraClassifier

    keep = np.isin(xrd.labels, ["bcc", "hcp"])
    clf = SpectraClassifier(random_state=0, **TINY)
    return clf.fit(xrd.intensity[keep], xrd.labels[keep], axis=xrd.axis)


@pytest.fixture(scope="session")
def model_path(model, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.h5"
    model.save(path)
    return path
