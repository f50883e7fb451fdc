import numpy as np
import pytest

from specstate import Spectra
from specstate.exceptions import AxisMismatchError, SpectraFormatError


def make(n=4, m=50, dtype=np.float32):
    rng = np.random.default_rng(0)
    return Spectra(
        rng.random((n, m)).astype(dtype),
        np.linspace(10.0, 20.0, m),
        axis_name="2theta",
        labels=np.array(["a", "a", "b", "b"][:n]),
        train_ids=np.arange(100, 100 + n),
        monitor=np.linspace(1, 2, n),
        metadata={"wavelength": 0.4},
    )


def test_dtype_kept_and_shape():
    s = make()
    assert s.intensity.dtype == np.float32
    assert s.shape == (4, 50) and len(s) == 4
    assert s.axis_unit == "deg"


def test_spectrum_slicing_keeps_per_spectrum_fields():
    s = make()
    t = s[np.array([True, False, True, False])]
    assert t.n_spectra == 2
    np.testing.assert_array_equal(t.labels, ["a", "b"])
    np.testing.assert_array_equal(t.train_ids, [100, 102])
    assert s[1].n_spectra == 1 and s[-1].train_ids[0] == 103


def test_sel_by_axis_units():
    s = make()
    c = s.sel(12.0, 14.0)
    assert c.axis.min() >= 12.0 and c.axis.max() <= 14.0
    assert c.n_points == np.count_nonzero((s.axis >= 12.0) & (s.axis <= 14.0))
    with pytest.raises(SpectraFormatError, match="No point of the axis"):
        s.sel(30, 40)


def test_decreasing_axis_is_flipped_once():
    s = Spectra(np.array([[1.0, 2.0, 3.0]]), np.array([3.0, 2.0, 1.0]))
    np.testing.assert_array_equal(s.axis, [1, 2, 3])
    np.testing.assert_array_equal(s.intensity[0], [3, 2, 1])


@pytest.mark.parametrize("axis", [[1.0, 1.0, 2.0], [1.0, 3.0, 2.0]])
def test_non_monotonic_axis_rejected(axis):
    with pytest.raises(SpectraFormatError, match="strictly monotonic"):
        Spectra(np.ones((1, 3)), np.array(axis))


def test_axis_conversion_round_trip_and_bragg():
    s = make()
    q = s.convert_axis("q")
    d = s.convert_axis("d")
    assert q.axis_unit == "1/angstrom" and d.axis_name == "d"
    # d axis is reversed to stay increasing; d = λ / (2 sin θ)
    two_theta = s.axis[0]
    assert d.axis[-1] == pytest.approx(0.4 / (2 * np.sin(np.deg2rad(two_theta / 2))))
    back = q.convert_axis("2theta")
    np.testing.assert_allclose(back.axis, s.axis, rtol=1e-12)


def test_conversion_needs_wavelength():
    s = Spectra(np.ones((1, 3)), [10.0, 11, 12], axis_name="2theta")
    with pytest.raises(SpectraFormatError, match="needs the wavelength"):
        s.convert_axis("q")


def test_xarray_round_trip():
    s = make()
    da = s.to_xarray()
    assert da.dims == ("spectrum", "2theta")
    assert da["2theta"].attrs["units"] == "deg"
    t = Spectra.from_xarray(da)
    np.testing.assert_array_equal(t.intensity, s.intensity)
    np.testing.assert_array_equal(t.labels, s.labels)
    np.testing.assert_array_equal(t.monitor, s.monitor)
    assert t.wavelength == pytest.approx(0.4)


def test_check_axis():
    s = make()
    s.check_axis(s.axis.copy())
    with pytest.raises(AxisMismatchError, match="expects 10"):
        s.check_axis(np.arange(10.0))
    with pytest.raises(AxisMismatchError, match="differs"):
        s.check_axis(s.axis + 1)


def test_bad_shapes():
    with pytest.raises(SpectraFormatError, match="one value per spectrum"):
        Spectra(np.ones((2, 3)), labels=[1, 2, 3])
    with pytest.raises(SpectraFormatError, match="2-D array"):
        Spectra(np.ones((2, 3, 4)))
