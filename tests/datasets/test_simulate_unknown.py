"""Simulated unknown states: a third XES species, empty shots, the melt of an XRD ramp."""

import numpy as np
import pytest

from specstate.datasets import (
    XES_LINES,
    simulate_empty_shots,
    simulate_xes,
    simulate_xes_pump_onset,
    simulate_xes_third_species,
    simulate_xrd_melt,
    simulate_xrd_ramp,
    xes_expected_counts_for,
    xes_line_shape,
)
from specstate.exceptions import SpectraFormatError


def test_third_species_appears_at_the_onset_with_the_same_nuisances():
    s = simulate_xes_third_species(n_shots=1200, onset=800, random_state=3)
    assert set(s.labels[:800]) == {"pumped", "unpumped"}
    assert set(s.labels[800:]) == {"unknown"}
    np.testing.assert_array_equal(s.params["unknown"], np.arange(1200) >= 800)
    # the same pulses and pump pattern as the run without the species
    plain = simulate_xes(n_shots=1200, random_state=s.metadata["simulator"]["random_state"])
    np.testing.assert_array_equal(s.intensity[:800], plain.intensity[:800])
    np.testing.assert_array_equal(s.monitor, plain.monitor)
    np.testing.assert_array_equal(s.params["pumped"], plain.params["pumped"])
    # after the onset the counts follow the third species' expectation, not the known one's
    tail = s[800:]
    x = tail.intensity.astype(float).mean(axis=0)
    mu_unknown = xes_expected_counts_for(tail, tail.params["pumped"], unknown_fraction=1.0)
    mu_known = xes_expected_counts_for(tail, tail.params["pumped"])
    err_unknown = np.abs(x - mu_unknown.mean(axis=0)).sum()
    err_known = np.abs(x - mu_known.mean(axis=0)).sum()
    assert err_unknown < 0.3 * err_known


def test_third_species_is_no_mixture_of_the_spin_states():
    e = np.linspace(7030, 7075, 300)
    A = np.stack([xes_line_shape(e, "low-spin"), xes_line_shape(e, "high-spin")], axis=1)
    target = xes_line_shape(e, "iron(III)")
    coef, *_ = np.linalg.lstsq(A, target, rcond=None)
    resid = np.linalg.norm(A @ coef - target) / np.linalg.norm(target)
    assert resid > 0.1
    assert set(XES_LINES) >= {"low-spin", "high-spin", "iron(III)"}


@pytest.mark.parametrize("simulator, kwargs", [
    ("xes", {"n_shots": 500}),
    ("xrd", {"n_patterns": 60, "n_points": 800, "transition": (30, 32)}),
])
def test_empty_shots_keep_the_background_and_lose_the_sample(simulator, kwargs):
    s = simulate_empty_shots(simulator, 0.2, random_state=1, **kwargs)
    empty = s.params["empty"]
    assert empty.sum() == round(0.2 * len(s))
    np.testing.assert_array_equal(s.labels == "empty", empty)
    # the sample's lines are gone: the highest point is far below the sample's peaks
    assert s.intensity[empty].max(axis=1).mean() < 0.5 * s.intensity[~empty].max(axis=1).mean()
    if simulator == "xrd":
        # the background (pressure medium, Compton) stays: the empty shots are its level
        sim = {k: v for k, v in s.metadata["simulator"].items() if k != "name"}
        bg = simulate_xrd_ramp(**{**sim, "peak_counts": 0.0, "noise": False}).intensity
        np.testing.assert_allclose(s.intensity[empty].mean(), bg[empty].mean(), rtol=0.01)


def test_empty_shots_of_a_whole_run_and_bad_parameters():
    s = simulate_empty_shots("xes", 1.0, n_shots=100, random_state=0)
    assert np.all(s.params["empty"]) and set(s.labels) == {"empty"}
    with pytest.raises(SpectraFormatError, match="'simulator' parameter .* must be one of"):
        simulate_empty_shots("xrf")
    with pytest.raises(SpectraFormatError, match="'empty_fraction' parameter .* in \\[0, 1\\]"):
        simulate_empty_shots("xes", 1.5)
    with pytest.raises(SpectraFormatError, match="'unknown_fraction' parameter"):
        simulate_xes_third_species(n_shots=10, onset=5, unknown_fraction=0.0)
    with pytest.raises(SpectraFormatError, match="'onset' parameter"):
        simulate_xes_third_species(n_shots=10, onset=10)


def test_melt_after_a_crossover_inside_the_ramp():
    s = simulate_xrd_melt(n_patterns=120, melt=(100, 104), transition=(40, 44),
                          n_points=1000, random_state=0)
    labels = np.asarray(s.labels)
    assert list(labels[[0, 42, 60, 102, 110]]) == ["high-spin", "mixed", "low-spin",
                                                   "melting", "liquid"]
    default = simulate_xrd_melt(n_patterns=50, melt=(40, 45), n_points=500, random_state=0)
    assert set(default.labels) == {"solid", "melting", "liquid"}
    mean = simulate_xrd_melt(n_patterns=50, melt=(40, 45), n_points=500, random_state=0,
                             noise=False)
    # noise-free: the expectation of the noisy run (Poisson around it)
    z = (default.intensity - mean.intensity) / np.sqrt(np.maximum(mean.intensity, 1))
    assert abs(z.mean()) < 0.05 and 0.9 < z.std() < 1.1


def test_pump_onset_keeps_the_pumped_shots_params():
    s = simulate_xes_pump_onset(n_shots=400, onset=100, random_state=0)
    assert set(s.labels[:100]) == {"unpumped"} and set(s.labels[100:]) == {"pumped"}
    np.testing.assert_array_equal(s.params["excited_fraction"] > 0, np.arange(400) >= 100)
    assert s.metadata["transition"] == (100, 101)
