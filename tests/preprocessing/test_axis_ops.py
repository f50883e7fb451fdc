"""MaskRanges, RangeCut and Resample: masks, crops and interpolation on physical axes."""

import numpy as np
import pytest

from specstate.exceptions import SpectraFormatError
from specstate.preprocessing import MaskRanges, RangeCut, Resample

AXIS = np.linspace(10.0, 20.0, 101)  # 0.1 deg per point


def _ramp(n=3):
    """Spectra that are straight lines: a + b * axis."""
    a = np.arange(1.0, n + 1)[:, None]
    return a + 2.0 * a * AXIS[None, :]


# ---------------------------------------------------------------------------------- masks
def test_mask_marks_ranges_and_interpolates_across_the_gap():
    X = _ramp()
    X_spoiled = X.copy()
    mask = MaskRanges([(12.0, 12.5), (15.05, 15.25)], axis=AXIS).fit(X)
    expected_mask = ((AXIS >= 12.0) & (AXIS <= 12.5)) | ((AXIS >= 15.05) & (AXIS <= 15.25))
    np.testing.assert_array_equal(mask.mask_, expected_mask)
    assert mask.mask_.sum() == 6 + 2
    X_spoiled[:, mask.mask_] = 1e6  # a Bragg spot of the diamonds
    # linear data are restored exactly by interpolation across each gap
    np.testing.assert_allclose(mask.transform(X_spoiled), X, rtol=1e-12)
    np.testing.assert_array_equal(X_spoiled[:, mask.mask_], 1e6)  # input untouched


def test_mask_at_the_ends_holds_the_nearest_value_and_fill_constant():
    X = np.arange(12.0).reshape(2, 6)
    out = MaskRanges([(0, 1), (5, 5)]).fit_transform(X)
    np.testing.assert_array_equal(out, [[2, 2, 2, 3, 4, 4], [8, 8, 8, 9, 10, 10]])
    out = MaskRanges([(0, 1), (5, 5)], fill=0.0).fit_transform(X.astype(np.float32))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out[0], [0, 0, 2, 3, 4, 0])


def test_mask_without_ranges_is_identity():
    X = _ramp()
    m = MaskRanges().fit(X)
    assert not m.mask_.any()
    np.testing.assert_array_equal(m.transform(X), X)


@pytest.mark.parametrize(
    ("ranges", "fill", "err", "match"),
    [
        ([(3, 1)], "interpolate", ValueError, "sequence of \\(start, stop\\) pairs"),
        ([(1, 2, 3)], "interpolate", ValueError, "sequence of \\(start, stop\\) pairs"),
        ("gap", "interpolate", ValueError, "sequence of \\(start, stop\\) pairs"),
        ([(0, 1)], "nearest", ValueError, "'fill' parameter of MaskRanges"),
        ([(-1, 99)], "interpolate", SpectraFormatError, "masks every point of the axis"),
    ],
)
def test_mask_errors(ranges, fill, err, match):
    with pytest.raises(err, match=match):
        MaskRanges(ranges, fill=fill).fit(np.zeros((1, 5)))


# ---------------------------------------------------------------------------------- crop
def test_range_cut_converts_axis_values_to_indices_once():
    X = _ramp()
    cut = RangeCut(12.0, 13.0, axis=AXIS).fit(X)
    assert (cut.start_index_, cut.stop_index_) == (20, 31)
    np.testing.assert_allclose(cut.axis_, AXIS[20:31])
    np.testing.assert_array_equal(cut.transform(X), X[:, 20:31])
    assert list(cut.get_feature_names_out()[[0, -1]]) == ["x20", "x30"]
    # open ends
    assert RangeCut(stop=10.25, axis=AXIS).fit(X).transform(X).shape == (3, 3)
    assert RangeCut(start=19.95, axis=AXIS).fit(X).transform(X).shape == (3, 1)


def test_range_cut_errors():
    with pytest.raises(SpectraFormatError, match="No point of the axis \\(10..20"):
        RangeCut(30, 40, axis=AXIS).fit(_ramp())
    with pytest.raises(SpectraFormatError, match="must be strictly increasing"):
        RangeCut(0, 1, axis=AXIS[::-1]).fit(_ramp())


# ---------------------------------------------------------------------------------- resample
def test_resample_is_exact_on_linear_data_and_vectorised():
    X = _ramp(5).astype(np.float32)
    grid = np.linspace(10.0, 20.0, 357)  # not aligned with the axis, ends included
    r = Resample(grid, axis=AXIS).fit(X)
    out = r.transform(X)
    assert out.dtype == np.float32 and out.shape == (5, 357)
    expected = np.arange(1.0, 6)[:, None] * (1 + 2.0 * grid[None, :])
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    np.testing.assert_array_equal(r.axis_, grid)


def test_resample_matches_numpy_interp_on_curved_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4, AXIS.size))
    grid = np.sort(rng.uniform(10, 20, size=50))
    out = Resample(grid, axis=AXIS).fit_transform(X)
    for row, spectrum in zip(out, X):
        np.testing.assert_allclose(row, np.interp(grid, AXIS, spectrum), rtol=1e-12)


def test_resample_errors():
    with pytest.raises(SpectraFormatError, match="reaches outside the spectra's axis \\(10..20"):
        Resample(np.linspace(9, 15, 10), axis=AXIS).fit(_ramp())
    with pytest.raises(SpectraFormatError, match="strictly increasing"):
        Resample([12.0, 11.0], axis=AXIS).fit(_ramp())
    with pytest.raises(ValueError, match="'grid' parameter of Resample must be an array"):
        Resample().fit(_ramp())
