"""Simulated single-shot Fe K-beta pump-probe spectra, their expectation and noise limit."""

import numpy as np
import pytest

from specstate import Spectra
from specstate.datasets import (
    simulate_xes,
    xes_expected_counts,
    xes_expected_counts_for,
    xes_line_shape,
    xes_noise_limit,
)
from specstate.exceptions import SpectraFormatError


@pytest.fixture(scope="module")
def shots():
    return simulate_xes(n_shots=3000, random_state=7)


def test_shape_labels_ids_and_monitor(shots):
    assert shots.shape == (3000, 300) and shots.dtype == np.float32
    assert shots.axis_name == "energy" and shots.axis_unit == "eV"
    assert shots.axis[0] == 7030 and shots.axis[-1] == 7075
    assert set(shots.labels) == {"pumped", "unpumped"}
    # alternating pump: even pulse ids pumped
    np.testing.assert_array_equal(shots.labels == "pumped", shots.pulse_ids % 2 == 0)
    np.testing.assert_array_equal(shots.params["pumped"], shots.labels == "pumped")
    assert np.all(np.diff(shots.train_ids) >= 0)
    assert shots.pulse_ids.max() < 2700
    np.testing.assert_array_equal(shots.monitor, shots.params["pulse_energy"])
    pe = shots.params["pulse_energy"] / 1000.0
    assert pe.mean() == pytest.approx(1.0, abs=0.03)
    assert pe.std() == pytest.approx(0.25, abs=0.02)  # SASE fluctuations


def test_counts_per_shot_scale_with_pulse_energy(shots):
    total = shots.intensity.sum(axis=1)
    photons = shots.params["photons"]
    assert 300 < total.min() and total.max() < 5000  # a few hundred to a few thousand
    slope = np.polyfit(shots.params["pulse_energy"], total, 1)[0]
    assert slope == pytest.approx(total.mean() / 1000.0, rel=0.1)
    assert np.corrcoef(shots.params["pulse_energy"], total)[0, 1] > 0.9
    assert np.corrcoef(photons, total)[0, 1] > np.corrcoef(shots.monitor, total)[0, 1]


def test_pumped_mean_differs_from_unpumped_as_designed(shots):
    x = shots.intensity / shots.params["photons"][:, None]
    pumped = x[shots.labels == "pumped"].mean(axis=0)
    unpumped = x[shots.labels == "unpumped"].mean(axis=0)
    diff = pumped - unpumped
    e = shots.axis
    satellite = (e > 7042) & (e < 7049)
    assert diff[satellite].sum() > 0.02  # K-beta' appears (0.3 x 12 % of the photons)
    # the main line moves up: loss below its centre, gain above
    assert diff[(e > 7054) & (e < 7058)].sum() < 0 < diff[(e > 7059) & (e < 7064)].sum()
    # the first moment of the main line moves up by ~0.3 x 1 eV
    main = (e > 7052) & (e < 7066)
    centroid = [np.sum(e[main] * v[main]) / np.sum(v[main]) for v in (pumped, unpumped)]
    assert 0.15 < centroid[0] - centroid[1] < 0.5


def test_energy_drift_is_slow_and_has_the_asked_size(shots):
    shift = shots.params["energy_shift"]
    assert np.ptp(shift) == pytest.approx(0.3)
    assert np.abs(np.diff(shift)).max() < 1e-3


def test_expected_counts_match_the_noise_free_mean():
    s = simulate_xes(n_shots=4000, read_noise=0.0, sase_rms=0.0, sample_jitter=0.0,
                     drift_ev=0.0, random_state=2)
    for state in (True, False):
        sel = s.params["pumped"] == state
        mu = xes_expected_counts_for(s[sel], state)
        np.testing.assert_allclose(mu[0], mu[-1])
        observed = s.intensity[sel].mean(axis=0)
        z = (observed - mu[0]) / np.sqrt(mu[0] / sel.sum())
        assert np.abs(z).max() < 5
    # the line shape is normalised and the states emit the same number of photons
    e = np.linspace(6800, 7300, 100001)
    for state in ("low-spin", "high-spin"):
        assert np.trapezoid(xes_line_shape(e, state), e) == pytest.approx(1.0, abs=0.01)
    axis = np.linspace(6950, 7150, 4001)
    mu = xes_expected_counts(axis, [True, False], 0.0, 1000.0, background=0.0)
    assert mu[0].sum() == pytest.approx(mu[1].sum(), rel=1e-3)


def test_energy_shift_moves_the_expectation():
    axis = np.linspace(7030, 7075, 451)  # 0.1 eV pixels
    mu = xes_expected_counts(axis, False, [0.0, 0.5], 1000.0, background=0.0)
    assert axis[np.argmax(mu[1])] - axis[np.argmax(mu[0])] == pytest.approx(0.5, abs=0.051)


def test_noise_limit_is_between_chance_and_certainty_and_deterministic():
    s = simulate_xes(n_shots=2000, photons=400, random_state=11)
    accuracy, llr = xes_noise_limit(s)
    assert 0.6 < accuracy < 0.99
    assert llr.shape == (2000,)
    # llr favours the true state on average
    assert llr[s.labels == "pumped"].mean() > 0 > llr[s.labels == "unpumped"].mean()
    again = xes_noise_limit(simulate_xes(n_shots=2000, photons=400, random_state=11))
    assert again[0] == accuracy
    np.testing.assert_array_equal(again[1], llr)
    # more photons, a higher ceiling
    assert xes_noise_limit(simulate_xes(n_shots=2000, photons=1500, random_state=11))[0] > accuracy


def test_ignoring_the_drift_costs_accuracy():
    s = simulate_xes(n_shots=3000, drift_ev=1.0, random_state=4)
    ceiling, _ = xes_noise_limit(s)
    blind, _ = xes_noise_limit(s, known_drift=False)
    assert blind < ceiling - 0.05
    same, _ = xes_noise_limit(simulate_xes(n_shots=3000, drift_ev=0.0, random_state=4),
                              known_drift=False)
    assert same == pytest.approx(ceiling, abs=0.01)


def test_random_pump_pattern_and_seed():
    s = simulate_xes(n_shots=2000, pumped_fraction=0.3, random_state=1)
    assert s.metadata["simulator"]["pump_pattern"] == "random"
    assert (s.labels == "pumped").mean() == pytest.approx(0.3, abs=0.04)
    a, b = simulate_xes(n_shots=50, random_state=3), simulate_xes(n_shots=50, random_state=3)
    np.testing.assert_array_equal(a.intensity, b.intensity)
    assert not np.array_equal(a.intensity, simulate_xes(n_shots=50, random_state=4).intensity)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(n_shots=0), "n_shots"),
        (dict(excited_fraction=1.5), "excited_fraction"),
        (dict(energy=(7075, 7030)), "energy"),
        (dict(pump_pattern="alternating", pumped_fraction=0.3), "alternating"),
        (dict(pump_pattern="every third"), "pump_pattern"),
        (dict(read_noise=-1), "read_noise"),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(SpectraFormatError, match=match):
        simulate_xes(**kwargs)


def test_noise_limit_needs_simulated_labelled_shots(shots):
    with pytest.raises(SpectraFormatError, match="simulate_xes"):
        xes_expected_counts_for(Spectra(np.ones((2, 5))), True)
    with pytest.raises(SpectraFormatError, match="one value per shot"):
        xes_expected_counts(shots.axis, [True, False, True], [0.0, 0.1], 1000.0)
    unlabelled = shots[:10]
    unlabelled.labels = None
    with pytest.raises(SpectraFormatError, match="labels"):
        xes_noise_limit(unlabelled)
