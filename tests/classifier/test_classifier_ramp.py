"""Few-shot training on simulated pressure ramps: references from the far ends of the ramp."""

import numpy as np
import pytest

from specstate import SpectraClassifier
from specstate.datasets import simulate_xrd_ramp

#: Patterns outside the transition window that must be classified right (target 99.5 %).
MIN_ACCURACY = 0.995
#: A peak is "strong" when it reaches this fraction of the strongest peak's height.
STRONG_PEAK = 0.05


def _far_end_fit(variant, seed=0):
    spectra = simulate_xrd_ramp(random_state=seed, variant=variant)
    n = len(spectra)
    refs = [0, 1, n - 2, n - 1]  # two references per state, at the ends of the ramp
    clf = SpectraClassifier(random_state=seed).fit(spectra[refs])
    return spectra, refs, clf


@pytest.fixture(scope="module", params=["phase", "lattice-jump"])
def far_end(request):
    return _far_end_fit(request.param)


def test_far_end_references_classify_the_ramp(far_end):
    spectra, _, clf = far_end
    outside = spectra.labels != "mixed"
    pred = clf.predict(spectra)
    accuracy = np.mean(pred[outside] == spectra.labels[outside])
    assert accuracy >= MIN_ACCURACY
    # the states change once, inside the true window
    window = np.flatnonzero(~outside)
    first_new = np.flatnonzero(pred == spectra.labels[-1])[0]
    assert window[0] - 1 <= first_new <= window[-1] + 1


def test_boundaries_do_not_cut_peak_tracks(far_end):
    spectra, refs, clf = far_end
    boundaries = np.array([spectra.axis[r.start_index] for r in clf.regions_[1:]])
    assert boundaries.size >= 3
    heights = spectra.metadata["peak_heights"]
    top = max(np.nanmax(h) for h in heights.values())
    refs = np.asarray(refs)
    for name, track in spectra.metadata["peak_tracks"].items():
        strong = refs[heights[name][refs] >= STRONG_PEAK * top]
        if strong.size == 0:
            continue
        hwhm = spectra.metadata["peak_widths"][name][strong] / 2
        lo, hi = np.min(track[strong] - hwhm), np.max(track[strong] + hwhm)
        inside = boundaries[(boundaries > lo) & (boundaries < hi)]
        assert inside.size == 0, f"a region boundary at {inside} deg cuts the track of {name}"


def test_regions_report_axis_units_and_weights(far_end):
    spectra, _, clf = far_end
    starts = [r.start for r in clf.regions_]
    assert starts[0] == spectra.axis[0] and clf.regions_[-1].stop == spectra.axis[-1]
    assert all(a < b for a, b in zip(starts, starts[1:]))
    assert np.allclose(clf.weights_, [r.weight for r in clf.regions_])
    # stacking weights: non-negative, some region counts (none has to be dropped: with the
    # references aligned, every region of the lattice jump carries a little of the oxide)
    assert np.all(clf.weights_ >= 0) and np.any(clf.weights_ > 0)
