"""Spectra without a named (or any) physical axis meet a model fitted on one, and back."""

import numpy as np
import pytest
import xarray as xr

from specstate import Spectra, SpectraClassifier
from specstate.datasets import simulate_xrd_ramp
from specstate.exceptions import AxisMismatchError


@pytest.fixture(scope="module")
def ramp():
    return simulate_xrd_ramp(n_points=600, random_state=0)


@pytest.fixture(scope="module")
def clf(ramp):
    return SpectraClassifier(random_state=0, max_iter=60).fit(ramp[[0, 1, 347, 348]])


def _accuracy(pred, ramp):
    ok = ramp.labels != "mixed"
    return np.mean(pred[ok] == ramp.labels[ok])


def test_dataarray_without_axis_values_is_taken_on_the_model_grid(ramp, clf):
    da = xr.DataArray(ramp.intensity, dims=("spectrum", "2theta"))  # no coordinate
    assert Spectra.from_xarray(da).axis_name == "index"
    np.testing.assert_array_equal(clf.predict(da), clf.predict(ramp.intensity))
    assert _accuracy(clf.predict(da), ramp) > 0.95


def test_unnamed_axis_with_the_model_values_is_accepted(ramp, clf):
    # e.g. a headerless .xy file: values 9.5..26 but no name
    s = Spectra(ramp.intensity, ramp.axis)
    assert s.axis_name == "index"
    np.testing.assert_array_equal(clf.predict(s), clf.predict(ramp))


def test_index_axis_of_another_length_is_refused(ramp, clf):
    with pytest.raises(AxisMismatchError, match=r"'index' \(0..499, 500 points\).*'2theta'"):
        clf.predict(Spectra(ramp.intensity[:, :500]))


def test_model_fitted_on_numpy_with_axis_accepts_spectra_on_that_axis(ramp):
    train = [0, 1, 347, 348]
    clf = SpectraClassifier(random_state=0, max_iter=60).fit(
        ramp.intensity[train], ramp.labels[train], axis=ramp.axis
    )
    np.testing.assert_array_equal(clf.predict(ramp), clf.predict(ramp.intensity))
    with pytest.raises(AxisMismatchError, match="fitted on a 'index' axis"):
        clf.predict(ramp.sel(10, 25))
