"""Numeric behaviour of the baseline transformers: AsLS (pybaselines) and the linear high-pass."""

import numpy as np
import pytest
from pybaselines import Baseline
from scipy import sparse
from scipy.ndimage import gaussian_filter1d
from scipy.sparse.linalg import spsolve

from specstate.exceptions import SpectraFormatError
from specstate.preprocessing import AsLSBaseline, HighPassBaseline

N_POINTS = 4000
PEAK_FWHM = 10.0  # points, like a Bragg peak of the reference data
PEAK_HEIGHT = 500.0
FWHM_PER_SIGMA = 2.3548


def _background(n_points=N_POINTS):
    i = np.arange(n_points)
    return 1000 + 0.1 * i + 300 * np.sin(2 * np.pi * i / 4000 + 0.3)


def _peak(centre=2000.3, n_points=N_POINTS):
    i = np.arange(n_points)
    return PEAK_HEIGHT * np.exp(-0.5 * ((i - centre) / (PEAK_FWHM / FWHM_PER_SIGMA)) ** 2)


@pytest.fixture(scope="module")
def spectra():
    """Three float64 spectra of 500 points: background, peaks and a little noise."""
    rng = np.random.default_rng(1)
    x = np.linspace(0, 1, 500)
    bg = 20 + 10 * x + 5 * np.sin(3 * x)
    peaks = sum(h * np.exp(-0.5 * ((x - c) / 0.004) ** 2) for c, h in [(0.3, 40), (0.6, 80)])
    return bg + peaks + rng.normal(0, 0.2, size=(3, x.size))


# ---------------------------------------------------------------------------------- AsLS
def test_asls_is_pybaselines_asls_with_the_reference_settings(spectra):
    x = np.linspace(9.5, 26, spectra.shape[1])
    out = AsLSBaseline(axis=x).fit_transform(spectra)
    fitter = Baseline(x_data=x)
    for row, spectrum in zip(out, spectra):
        # 10 passes = pybaselines' max_iter=9 (it counts the first solve separately), no early exit
        expected = spectrum - fitter.asls(spectrum, lam=1e5, p=0.002, max_iter=9, tol=0)[0]
        np.testing.assert_allclose(row, expected, rtol=0, atol=1e-10)


def test_asls_matches_the_reference_notebook_algorithm(spectra):
    """Eilers' AsLS as the reference notebook wrote it: 10 weighted Whittaker solves."""
    lam, p, n_iter = 1e5, 0.002, 10
    y = spectra[0]
    L = y.size
    D = sparse.diags([1.0, -2.0, 1.0], [0, -1, -2], shape=(L, L - 2))
    w = np.ones(L)
    for _ in range(n_iter):
        W = sparse.spdiags(w, 0, L, L)
        z = spsolve(sparse.csc_matrix(W + lam * D.dot(D.T)), w * y)
        w = p * (y > z) + (1 - p) * (y < z)
    baseline = AsLSBaseline().fit(spectra).baseline(spectra)[0]
    np.testing.assert_allclose(baseline, z, rtol=1e-8, atol=1e-8)


def test_arpls_is_pybaselines_arpls(spectra):
    out = AsLSBaseline(method="arpls", lam=1e4, max_iter=20, tol=1e-3).fit_transform(spectra)
    fitter = Baseline(x_data=np.arange(spectra.shape[1]))
    expected = spectra[1] - fitter.arpls(spectra[1], lam=1e4, max_iter=19, tol=1e-3)[0]
    np.testing.assert_allclose(out[1], expected, atol=1e-10)


def test_asls_keeps_float32_and_removes_the_background(spectra):
    X = spectra.astype(np.float32)
    out = AsLSBaseline().fit_transform(X)
    assert out.dtype == np.float32
    # Away from the peaks only noise (sigma 0.2) and a small offset below the envelope remain.
    assert np.abs(np.median(out[:, :100], axis=1)).max() < 1.0
    assert out[:, 150].min() > 35  # the 40-count peak at x = 0.3 stands on ~0


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"p": 1.5}, "'p' parameter of AsLSBaseline must be a float in \\(0, 1\\)"),
        ({"method": "fancy"}, "'method' parameter of AsLSBaseline must be one of"),
        ({"max_iter": 0}, "'max_iter' parameter of AsLSBaseline must be an int in \\[1, inf\\)"),
        ({"lam": -1.0}, "'lam' parameter of AsLSBaseline must be a float in \\(0, inf\\)"),
    ],
)
def test_asls_rejects_bad_parameters(spectra, params, match):
    with pytest.raises(ValueError, match=match):
        AsLSBaseline(**params).fit(spectra)


# ---------------------------------------------------------------------------------- high-pass
def test_highpass_removes_a_smooth_background_and_keeps_a_narrow_peak():
    width = 100.0
    bg = _background()
    X = np.stack([bg, bg + _peak()]).astype(np.float32)
    out = HighPassBaseline(width=width).fit_transform(X)
    assert out.dtype == np.float32
    inner = slice(int(3 * width), int(N_POINTS - 3 * width))  # reflected edges: see docstring
    # The background (a ~700 count slope + slow sine) leaves < 2 % of its range inside.
    assert np.abs(out[0, inner]).max() < 0.02 * np.ptp(bg)
    # A peak of FWHM f keeps ~(1 - 0.4 f / width) of its height (documented): 0.96 here.
    kept = (out[1] - out[0]).max() / PEAK_HEIGHT
    assert kept == pytest.approx(1 - 0.4 * PEAK_FWHM / width, abs=0.02)


def test_highpass_approximates_exact_gaussian_smoothing():
    width = 100.0
    X = np.stack([_background(), _background() + _peak(1234.0)])
    out = HighPassBaseline(width=width).fit_transform(X)
    exact = X - gaussian_filter1d(X, width, axis=1, mode="reflect", truncate=6)
    # within 2 counts on a 1,200-count signal everywhere, edges included
    np.testing.assert_allclose(out, exact, rtol=0, atol=2.0)


@pytest.mark.parametrize("n_points", [1, 7, 333, 1000])
def test_highpass_removes_constants_exactly(n_points):
    X = np.full((2, n_points), 1234.5)
    out = HighPassBaseline(width=20).fit_transform(X)
    np.testing.assert_allclose(out, 0, atol=1e-9)


def test_highpass_width_in_axis_units():
    axis = 9.5 + 0.004 * np.arange(N_POINTS)  # 2theta, 0.004 deg per point
    X = np.stack([_background() + _peak()])
    by_axis = HighPassBaseline(width=0.4, unit="axis", axis=axis).fit(X)
    by_points = HighPassBaseline(width=100).fit(X)
    assert by_axis.sigma_points_ == pytest.approx(100)
    np.testing.assert_allclose(by_axis.transform(X), by_points.transform(X), atol=1e-6)


def test_highpass_adjoint_and_operator_are_consistent():
    rng = np.random.default_rng(0)
    m = 517  # not a multiple of the block size: the partial last block is covered
    hp = HighPassBaseline(width=13).fit(np.zeros((1, m)))
    op = hp.linear_operator()
    x, y = rng.normal(size=m), rng.normal(size=m)
    # <A x, y> == <x, A^T y>
    assert (op @ x) @ y == pytest.approx(x @ (op.T @ y), rel=1e-12)
    assert (op @ x) @ y == pytest.approx(x @ hp.apply_transpose(y), rel=1e-12)
    # the operator is the transform
    X = rng.normal(size=(4, m))
    np.testing.assert_allclose(op.matmat(X.T).T, hp.transform(X), atol=1e-12)
    # folding into a first layer: transform(X) @ W == X @ apply_transpose(W)
    W = rng.normal(size=(m, 3))
    np.testing.assert_allclose(hp.transform(X) @ W, X @ hp.apply_transpose(W), atol=1e-10)
    W32 = W.astype(np.float32)
    assert hp.apply_transpose(W32).dtype == np.float32


def test_highpass_float32_matches_float64():
    rng = np.random.default_rng(2)
    X = (_background() + rng.normal(0, 5, size=(3, N_POINTS))).astype(np.float32)
    hp = HighPassBaseline(width=50).fit(X)
    np.testing.assert_allclose(hp.transform(X), hp.transform(X.astype(np.float64)), atol=0.01)


def test_highpass_errors():
    X = np.zeros((2, 50))
    with pytest.raises(SpectraFormatError, match="unit='axis'\\) needs the spectra's axis"):
        HighPassBaseline(width=1.0, unit="axis").fit(X)
    with pytest.raises(ValueError, match="'width' parameter of HighPassBaseline must be a float"):
        HighPassBaseline(width=-3).fit(X)
    with pytest.raises(ValueError, match="'unit' parameter of HighPassBaseline must be one of"):
        HighPassBaseline(unit="deg").fit(X)
    with pytest.raises(SpectraFormatError, match="axis given to HighPassBaseline has 3 values"):
        HighPassBaseline(unit="axis", axis=[1, 2, 3]).fit(X)
    hp = HighPassBaseline(width=5).fit(X)
    with pytest.raises(SpectraFormatError, match="expects 50 rows \\(one per point\\)"):
        hp.apply_transpose(np.zeros((49, 2)))
    with pytest.raises(ValueError, match="X has 49 features, but HighPassBaseline is expecting 50"):
        hp.transform(np.zeros((1, 49)))


def test_highpass_operator_without_fit_matches_the_fitted_one():
    rng = np.random.default_rng(4)
    m = 300
    X = rng.normal(size=(2, m))
    fitted = HighPassBaseline(width=20).fit(X)
    W = rng.normal(size=(m, 2))
    np.testing.assert_allclose(
        HighPassBaseline(width=20).apply_transpose(W), fitted.apply_transpose(W), atol=1e-12
    )
    op = HighPassBaseline(width=20).linear_operator(n_points=m)
    np.testing.assert_allclose(op.matmat(X.T).T, fitted.transform(X), atol=1e-12)
    # a fitted transformer asked for another length works it out without refitting itself
    assert fitted.linear_operator(n_points=100).shape == (100, 100)
    assert fitted.n_features_in_ == m


def test_exact_highpass_is_the_map_the_classifier_folds():
    # one implementation: the transformer's 'exact' method, the fit's functional form and
    # the per-region matrices folded into the first layers are the same map
    from specstate.models._linear import highpass as fit_highpass
    from specstate.models._linear import region_operator

    rng = np.random.default_rng(0)
    X = rng.poisson(200, (5, 300)).astype(np.float64)
    hp = HighPassBaseline(width=7.0, method="exact").fit(X)
    out = hp.transform(X)
    np.testing.assert_allclose(out, fit_highpass(X, 7.0))
    lo, hi, A = region_operator(300, 100, 160, 7.0, 1)
    np.testing.assert_allclose(X[:, lo:hi] @ A, out[:, 100:160], atol=1e-9)
    W = rng.standard_normal((300, 3))
    np.testing.assert_allclose(out @ W, X @ hp.apply_transpose(W), rtol=1e-9, atol=1e-7)
    op = hp.linear_operator()
    np.testing.assert_allclose((op @ np.eye(300)) @ X[0], out[0], atol=1e-9)
    # it removes a smooth background and keeps a narrow line
    x = np.arange(300.0)
    s = 100 + 0.2 * x + 50 * np.exp(-0.5 * ((x - 150) / 1.5) ** 2)
    flat = hp.transform(s[None])[0]
    assert abs(flat[60]) < 1.0 and flat[150] > 35  # a FWHM of 3.5 keeps ~80 %


def test_highpass_method_is_checked():
    with pytest.raises(ValueError, match="'method' parameter"):
        HighPassBaseline(method="fast").fit(np.zeros((1, 50)))
