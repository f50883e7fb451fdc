"""Normalize, MonitorNormalizer (also inside a Pipeline) and SavitzkyGolay."""

import numpy as np
import pytest
import sklearn
from scipy.signal import savgol_filter
from sklearn.pipeline import make_pipeline

from specstate.exceptions import SpectraFormatError
from specstate.preprocessing import (
    HighPassBaseline,
    MonitorNormalizer,
    Normalize,
    SavitzkyGolay,
    normalize_by_monitor,
)


@pytest.fixture
def X():
    rng = np.random.default_rng(3)
    return rng.uniform(-1, 5, size=(4, 30)).astype(np.float32)


# ---------------------------------------------------------------------------------- Normalize
def test_normalize_methods(X):
    X64 = X.astype(np.float64)
    out = {m: Normalize(m).fit_transform(X) for m in ("max", "area", "snv", "l2")}
    assert all(o.dtype == np.float32 for o in out.values())
    np.testing.assert_allclose(np.abs(out["max"]).max(axis=1), 1, rtol=1e-6)
    np.testing.assert_allclose(np.abs(out["area"]).sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(out["l2"], axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(out["snv"].mean(axis=1), 0, atol=1e-5)
    np.testing.assert_allclose(out["snv"].std(axis=1), 1, rtol=1e-5)
    # each spectrum on its own: scaling one spectrum does not change its normalised shape
    np.testing.assert_allclose(Normalize("snv").fit_transform(3 * X64 + 7), out["snv"], atol=1e-5)


def test_normalize_leaves_zero_spectra_finite():
    X = np.zeros((2, 5))
    X[1] = 2.0
    for method in ("max", "area", "snv", "l2"):
        out = Normalize(method).fit_transform(X)
        assert np.all(np.isfinite(out)), method
    np.testing.assert_array_equal(Normalize("snv").fit_transform(X), 0)


def test_normalize_rejects_an_unknown_method(X):
    with pytest.raises(ValueError, match="'method' parameter of Normalize must be one of 'max'"):
        Normalize("median").fit(X)


# ---------------------------------------------------------------------------------- monitor
def test_monitor_normalizer_divides_by_the_monitor(X):
    monitor = np.array([1.0, 2.0, 0.5, 4.0])
    out = MonitorNormalizer().fit(X).transform(X, monitor=monitor)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, X / monitor[:, None], rtol=1e-6)
    norm = MonitorNormalizer(reference="mean").fit(X, monitor=monitor)
    assert norm.reference_ == pytest.approx(1.875)
    np.testing.assert_allclose(
        norm.transform(X, monitor=monitor), X * 1.875 / monitor[:, None], rtol=1e-6
    )
    np.testing.assert_allclose(normalize_by_monitor(X, monitor, 2.0), 2 * X / monitor[:, None])


@pytest.mark.parametrize(
    ("monitor", "match"),
    [
        (None, "needs monitor=\\.\\.\\. \\(one value per spectrum"),
        ([1.0, 2.0], "needs one monitor value per spectrum \\(4\\); got 2"),
        ([1.0, 0.0, 1.0, -2.0], "2 of 4 are not \\(the first is spectrum 1: 0\\)"),
        ([1.0, np.nan, 1.0, 1.0], "1 of 4 are not \\(the first is spectrum 1: nan\\)"),
    ],
)
def test_monitor_normalizer_guards_the_monitor(X, monitor, match):
    norm = MonitorNormalizer().fit(X)
    with pytest.raises(SpectraFormatError, match=match):
        norm.transform(X, monitor=monitor)


def test_monitor_normalizer_rejects_bad_reference(X):
    with pytest.raises(ValueError, match="'reference' parameter of MonitorNormalizer"):
        MonitorNormalizer(reference=0).fit(X)
    with pytest.raises(SpectraFormatError, match="MonitorNormalizer.fit needs monitor="):
        MonitorNormalizer(reference="mean").fit(X)


def test_monitor_normalizer_in_a_pipeline_through_metadata_routing(X):
    monitor = np.array([1.0, 2.0, 0.5, 4.0])
    with sklearn.config_context(enable_metadata_routing=True):
        norm = MonitorNormalizer(reference="mean")
        norm.set_fit_request(monitor=True).set_transform_request(monitor=True)
        pipe = make_pipeline(norm, HighPassBaseline(width=5))
        fitted = pipe.fit_transform(X, monitor=monitor)
        again = pipe.transform(X, monitor=monitor)
    expected = HighPassBaseline(width=5).fit_transform(X * 1.875 / monitor[:, None])
    np.testing.assert_allclose(fitted, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(again, expected, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------------- SavGol
def test_savitzky_golay_matches_scipy_and_differentiates_exactly(X):
    out = SavitzkyGolay(7, 2).fit_transform(X)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, savgol_filter(X, 7, 2, axis=1), rtol=1e-6)
    axis = np.linspace(0, 2.9, 30)
    quadratic = (1 + 2 * axis + 3 * axis**2)[None, :]
    deriv = SavitzkyGolay(5, 2, deriv=1, delta=0.1).fit_transform(quadratic)
    np.testing.assert_allclose(deriv[0], 2 + 6 * axis, rtol=1e-9)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"window_length": 4}, "needs an odd window_length larger than polyorder"),
        ({"window_length": 5, "polyorder": 5}, "needs an odd window_length larger than"),
        ({"window_length": 41}, "at least that many points; got n_features = 30"),
        ({"deriv": -1}, "'deriv' parameter of SavitzkyGolay must be an int in \\[0, inf\\)"),
    ],
)
def test_savitzky_golay_errors(X, params, match):
    with pytest.raises(ValueError, match=match):
        SavitzkyGolay(**params).fit(X)


def test_monitor_normalizer_reads_the_monitor_of_spectra(X):
    from specstate import Spectra

    s = Spectra(X, monitor=[1.0, 2.0, 0.5, 4.0])
    out = MonitorNormalizer().fit_transform(s)
    np.testing.assert_allclose(out, X / s.monitor[:, None], rtol=1e-6)
    with pytest.raises(SpectraFormatError, match="needs monitor="):
        MonitorNormalizer().fit_transform(Spectra(X))
