"""apply(): transformers and pipelines on Spectra, including simulated XRD patterns."""

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline

from specstate import Spectra
from specstate.preprocessing import (
    HighPassBaseline,
    MaskRanges,
    MonitorNormalizer,
    Normalize,
    RangeCut,
    Resample,
    apply,
)


@pytest.fixture
def spectra():
    axis = np.linspace(10.0, 20.0, 201)
    X = np.vstack([1 + axis, 2 + axis, 3 + axis]).astype(np.float32)
    return Spectra(
        X,
        axis=axis,
        axis_name="2theta",
        labels=np.array(["a", "b", "a"]),
        monitor=np.array([1.0, 2.0, 4.0]),
        metadata={"wavelength": 0.5},
    )


def test_pipeline_on_spectra_follows_the_axis_and_the_mask(spectra):
    pipe = make_pipeline(
        RangeCut(12.0, 18.0),
        MaskRanges([(13.0, 13.5)]),
        Resample(np.linspace(12.0, 18.0, 61)),
        HighPassBaseline(width=0.5, unit="axis"),
    )
    out = apply(pipe, spectra)
    assert isinstance(out, Spectra)
    assert out.intensity.dtype == np.float32 and out.shape == (3, 61)
    np.testing.assert_allclose(out.axis, np.linspace(12.0, 18.0, 61))
    # every step got the axis of the spectra it saw, in axis units
    cut, mask, resample, hp = (step for _, step in pipe.steps)
    assert cut.axis[0] == 10.0 and mask.axis[0] == 12.0 and hp.axis[0] == 12.0
    assert hp.sigma_points_ == pytest.approx(5.0)
    np.testing.assert_array_equal(out.mask, (out.axis >= 13.0 - 1e-9) & (out.axis <= 13.5 + 1e-9))
    np.testing.assert_array_equal(out.labels, spectra.labels)
    assert out.metadata["wavelength"] == 0.5 and out.axis_name == "2theta"
    # fitted now: applying again transforms with the same fitted steps
    np.testing.assert_array_equal(apply(pipe, spectra).intensity, out.intensity)


def test_apply_passes_the_monitor(spectra):
    out = apply(MonitorNormalizer(), spectra)
    np.testing.assert_allclose(out.intensity, spectra.intensity / spectra.monitor[:, None])


def test_apply_accepts_plain_arrays():
    out = apply(Normalize("max"), np.array([[1.0, 2.0, 4.0]]))
    np.testing.assert_allclose(out.intensity, [[0.25, 0.5, 1.0]])
    assert out.axis_name == "index"


def test_highpass_on_simulated_xrd_keeps_peaks_and_removes_background():
    from specstate.datasets import simulate_xrd_ramp

    s = simulate_xrd_ramp(n_patterns=4, transition=(1, 3), random_state=0)
    out = apply(HighPassBaseline(width=0.4, unit="axis"), s)
    assert out.intensity.dtype == np.float32
    # the background is gone: the median point of each pattern sits near zero, far below
    # the raw median level
    raw_level = np.median(s.intensity, axis=1)
    assert np.all(np.abs(np.median(out.intensity, axis=1)) < 0.1 * raw_level)
    # the strongest bcc peak of the first (bcc) pattern stands clear above zero
    track = s.metadata["peak_tracks"]["bcc 110"][0]
    i = int(np.argmin(np.abs(s.axis - track)))
    window = out.intensity[0, i - 10 : i + 11]
    assert window.max() > 5 * np.std(out.intensity[0])


def test_apply_refuses_spectra_on_another_axis(spectra):
    from specstate.exceptions import AxisMismatchError

    cut = RangeCut(12.0, 18.0)
    apply(cut, spectra)
    shifted = Spectra(spectra.intensity, axis=spectra.axis + 0.5, axis_name="2theta")
    with pytest.raises(AxisMismatchError, match="differs from the one RangeCut expects"):
        apply(cut, shifted)


def test_transformers_accept_spectra_directly_and_return_arrays(spectra):
    out = HighPassBaseline(width=5).fit_transform(spectra)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    np.testing.assert_array_equal(out, HighPassBaseline(width=5).fit_transform(spectra.intensity))
