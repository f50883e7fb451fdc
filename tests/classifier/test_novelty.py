"""Novelty: spectra unlike every fitted state are flagged; known ones and mixtures are not."""

import warnings

import numpy as np
import pytest

from specstate import SpectraClassifier

M = 300


def _state(rng, n, centres, photons=5000.0, extra=None):
    x = np.arange(M, dtype=float)
    prof = 0.05 + sum(np.exp(-0.5 * ((x - c) / 4.0) ** 2) for c in centres)
    if extra is not None:
        prof = prof + extra
    prof = prof / prof.sum()
    return rng.poisson(photons * prof, (n, M)).astype(np.float32)


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    a = _state(rng, 150, [80, 200])
    b = _state(rng, 150, [80, 230])
    X = np.vstack([a, b])
    y = np.repeat(["a", "b"], 150)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = SpectraClassifier(max_iter=60, random_state=0, n_threads=1).fit(X, y)
    return clf, rng


def test_known_states_and_mixtures_are_rarely_flagged(fitted):
    clf, rng = fitted
    known = np.vstack([_state(rng, 500, [80, 200]), _state(rng, 500, [80, 230])])
    res = clf.classify(known)
    assert res.novelty.shape == (1000,) and res.novel.dtype == bool
    assert res.novel.mean() <= 0.03
    mix = 0.5 * (_state(rng, 300, [80, 200]) + _state(rng, 300, [80, 230]))
    assert clf.classify(mix).novel.mean() <= 0.05
    assert clf.novelty_.method == "conformal"  # 300 held-out references


def test_unseen_states_and_empty_shots_are_flagged(fitted):
    clf, rng = fitted
    third = _state(rng, 300, [80, 140])  # a peak where neither state has one
    assert clf.classify(third).novel.mean() >= 0.9
    empty = rng.poisson(5000 * np.full(M, 1.0 / M), (300, M)).astype(np.float32)
    assert clf.classify(empty).novel.mean() >= 0.9


def test_rate_changes_at_predict_time_without_refitting(fitted, tmp_path):
    clf, rng = fitted
    known = _state(rng, 2000, [80, 200])
    loose = clf.classify(known, novelty_rate=0.2).novel.mean()
    strict = clf.classify(known, novelty_rate=0.001).novel.mean()
    assert strict < loose
    assert 0.05 < loose < 0.4
    clf.save(tmp_path / "m.h5")
    back = SpectraClassifier.load(tmp_path / "m.h5")
    np.testing.assert_allclose(back.classify(known).novelty, clf.classify(known).novelty,
                               rtol=1e-4)


def test_nexus_results_record_the_novelty_rate_and_method(fitted, tmp_path):
    import h5py

    from specstate import Spectra
    from specstate.io.results import write_results

    clf, rng = fitted
    X = _state(rng, 20, [80, 200])
    spectra = Spectra(X)
    result = clf.classify(spectra).with_ids(spectra)
    path = write_results(tmp_path / "r.nxs", result, spectra, clf)
    with h5py.File(path, "r") as f:
        found = {}

        def keep(name, obj):
            if isinstance(obj, h5py.Dataset):
                found[name.rsplit("/", 1)[-1]] = obj[()]

        f.visititems(keep)
    assert float(found["novelty_rate"]) == pytest.approx(0.01)
    method = found["novelty_method"]
    assert (method.decode() if isinstance(method, bytes) else str(method)) == "conformal"
    assert "novelty" in found and "novel" in found
