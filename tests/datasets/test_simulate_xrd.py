"""The simulated DAC pressure ramp: Bragg's law, labels, shifts with pressure, variants."""

import numpy as np
import pytest

from specstate.datasets import XRD_VARIANTS, eos_pressure, eos_volume, simulate_xrd_ramp
from specstate.datasets._crystal import B1_OXIDE, BCC_FE, HCP_FE, reflection_table
from specstate.exceptions import SpectraFormatError

SMALL = dict(n_patterns=40, transition=(20, 26), random_state=3)
CLEAN = dict(noise=False, background_counts=0.0, grain_jitter=0.0, beam_drift=0.0)


def bragg_two_theta(inverse_d_sq, wavelength):
    return np.rad2deg(2 * np.arcsin(wavelength * np.sqrt(inverse_d_sq) / 2))


@pytest.fixture(scope="module")
def ramp():
    return simulate_xrd_ramp(random_state=0)


@pytest.fixture(scope="module")
def clean():
    return simulate_xrd_ramp(**SMALL, **CLEAN)


def test_defaults_resemble_the_reference_data(ramp):
    assert ramp.shape == (349, 4023)
    assert ramp.dtype == np.float32
    assert ramp.axis_name == "2theta" and ramp.axis_unit == "deg"
    assert ramp.axis[0] == pytest.approx(9.5) and ramp.axis[-1] == pytest.approx(26.0)
    assert ramp.metadata["wavelength"] == pytest.approx(0.4133)
    assert ramp.metadata["transition"] == (185, 195)
    assert np.all(ramp.intensity >= 0) and np.all(np.isfinite(ramp.intensity))
    # transition at ~13 GPa, where bcc Fe turns hcp on compression
    assert 11 < ramp.params["pressure"][190] < 15
    for key in ("pressure", "fraction", "a_bcc", "a_hcp", "c_hcp", "a_oxide", "beam"):
        assert ramp.params[key].shape == (349,)


def test_labels_match_the_transition_window(ramp):
    labels, fraction = ramp.labels, ramp.params["fraction"]
    assert np.all(labels[:185] == "bcc")
    assert np.all(labels[185:195] == "mixed")
    assert np.all(labels[195:] == "hcp")
    assert np.all(fraction[:185] == 0) and np.all(fraction[195:] == 1)
    inside = fraction[185:195]
    assert np.all((inside > 0) & (inside < 1)) and np.all(np.diff(inside) > 0)
    heights = ramp.metadata["peak_heights"]
    assert np.all(heights["bcc 110"][195:] == 0) and np.all(heights["bcc 110"][:195] > 0)
    assert np.all(heights["hcp 101"][:185] == 0) and np.all(heights["hcp 101"][185:] > 0)
    assert np.all(heights["oxide 200"] > 0)


def test_tracks_follow_braggs_law_for_the_lattice_parameters(clean):
    wl, p, tracks = clean.metadata["wavelength"], clean.params, clean.metadata["peak_tracks"]
    a, ah, ch, ao = p["a_bcc"], p["a_hcp"], p["c_hcp"], p["a_oxide"]
    expected = {
        "bcc 110": 2 / a**2,
        "bcc 211": 6 / a**2,
        "hcp 100": 4 / 3 / ah**2,
        "hcp 101": 4 / 3 / ah**2 + 1 / ch**2,
        "hcp 002": 4 / ch**2,
        "oxide 111": 3 / ao**2,
        "oxide 200": 4 / ao**2,
        "oxide 220": 8 / ao**2,
    }
    for name, inv_d2 in expected.items():
        np.testing.assert_allclose(tracks[name], bragg_two_theta(inv_d2, wl), rtol=1e-10)
    # the lattice parameters come from the equation of state at the recorded pressure
    v_bcc = eos_volume(p["pressure"], BCC_FE.v0, BCC_FE.k0, BCC_FE.k0_prime)
    np.testing.assert_allclose(a**3, v_bcc, rtol=1e-9)
    np.testing.assert_allclose(ch / ah, HCP_FE.c_over_a)


def test_peak_maxima_sit_on_the_tracks(clean):
    """The maximum of a noise-free, background-free pattern near an isolated line is its track."""
    tracks, widths = clean.metadata["peak_tracks"], clean.metadata["peak_widths"]
    heights = clean.metadata["peak_heights"]
    step = clean.axis[1] - clean.axis[0]
    names = list(tracks)
    checked = 0
    for i in (0, 23, 39):
        for name in names:
            c, w, h = tracks[name][i], widths[name][i], heights[name][i]
            if h <= 0 or not clean.axis[0] + 5 * w < c < clean.axis[-1] - 5 * w:
                continue
            others = [
                o for o in names
                if o != name and heights[o][i] > 0.001 * h and abs(tracks[o][i] - c) < 8 * w
            ]
            if others:
                continue
            near = np.flatnonzero(np.abs(clean.axis - c) < 2 * w)
            peak_at = clean.axis[near[np.argmax(clean.intensity[i, near])]]
            assert abs(peak_at - c) <= 0.51 * step, (name, i)
            checked += 1
    assert checked >= 15


def test_coarse_grids_keep_peak_areas_and_centres():
    """Points are pixel means: on a 500-point grid peaks keep their area and position."""
    kw = dict(n_patterns=3, transition=(1, 2), random_state=0, **CLEAN)
    fine, coarse = simulate_xrd_ramp(**kw), simulate_xrd_ramp(n_points=500, **kw)
    area = [np.trapezoid(s.intensity[0].astype(float), s.axis) for s in (fine, coarse)]
    assert area[1] == pytest.approx(area[0], rel=2e-3)
    c = coarse.metadata["peak_tracks"]["bcc 211"][0]
    step = coarse.axis[1] - coarse.axis[0]
    near = np.flatnonzero(np.abs(coarse.axis - c) < 3 * step)
    centroid = np.average(coarse.axis[near], weights=coarse.intensity[0, near])
    assert abs(centroid - c) < 0.25 * step


def test_shifts_grow_with_pressure_and_with_angle(ramp):
    tracks, p = ramp.metadata["peak_tracks"], ramp.params["pressure"]
    assert np.all(np.diff(p) > 0)
    for name, track in tracks.items():
        assert np.all(np.diff(track) > 0), name
    # uniform compression of a cubic cell: peaks at higher angle move further
    shift = {k: tracks[k][-1] - tracks[k][0] for k in tracks}
    assert shift["bcc 110"] < shift["bcc 200"] < shift["bcc 211"] < shift["bcc 220"]
    assert shift["oxide 111"] < shift["oxide 200"] < shift["oxide 220"] < shift["oxide 311"]
    # ... with sin(theta) scaled by the same factor for every reflection of the phase
    sin = {k: np.sin(np.deg2rad(tracks[k] / 2)) for k in ("bcc 110", "bcc 211")}
    np.testing.assert_allclose(
        sin["bcc 110"] / sin["bcc 110"][0], sin["bcc 211"] / sin["bcc 211"][0]
    )


def test_strongest_peaks_move_tens_to_a_hundred_points_before_the_transition(ramp):
    step = ramp.axis[1] - ramp.axis[0]
    heights = ramp.metadata["peak_heights"]
    for name in ("bcc 110", "oxide 200", "bcc 211"):
        assert heights[name][0] > 0.1 * max(h[0] for h in heights.values())
        moved = (ramp.metadata["peak_tracks"][name][185] - ramp.metadata["peak_tracks"][name][0])
        assert 20 < moved / step < 150, name


def test_peaks_broaden_with_pressure(ramp):
    for name, fwhm in ramp.metadata["peak_widths"].items():
        assert np.all(np.diff(fwhm) > 0), name
        assert 0.03 < fwhm[0] < fwhm[-1] < 0.2


def test_counting_noise_is_poisson():
    """The same seed draws the same nuisances; noise=True adds Poisson noise around them."""
    kw = dict(n_patterns=30, transition=(10, 20), random_state=5)
    noisy = simulate_xrd_ramp(**kw).intensity.astype(np.float64)
    mean = simulate_xrd_ramp(**kw, noise=False).intensity.astype(np.float64)
    assert np.all(noisy == np.round(noisy))
    z = (noisy - mean) / np.sqrt(mean)
    assert abs(z.mean()) < 0.02
    assert z.var() == pytest.approx(1.0, abs=0.03)


def test_grain_jitter_is_log_normal_and_correlated_along_the_run():
    kw = dict(noise=False, random_state=9)
    jittered = simulate_xrd_ramp(**kw).metadata["peak_heights"]["oxide 200"]
    smooth = simulate_xrd_ramp(**kw, grain_jitter=0.0).metadata["peak_heights"]["oxide 200"]
    log_ratio = np.log(jittered / smooth)
    assert log_ratio.std() == pytest.approx(0.15, rel=0.35)
    lag1 = np.corrcoef(log_ratio[:-1], log_ratio[1:])[0, 1]
    assert 0.65 < lag1 < 0.92
    free = simulate_xrd_ramp(**kw, grain_correlation=0.0).metadata["peak_heights"]["oxide 200"]
    assert abs(np.corrcoef(np.log(free / smooth)[:-1], np.log(free / smooth)[1:])[0, 1]) < 0.2


def test_same_seed_same_patterns_other_seed_other_patterns():
    a = simulate_xrd_ramp(**SMALL)
    b = simulate_xrd_ramp(**SMALL)
    np.testing.assert_array_equal(a.intensity, b.intensity)
    np.testing.assert_array_equal(a.params["beam"], b.params["beam"])
    c = simulate_xrd_ramp(**{**SMALL, "random_state": 4})
    assert not np.array_equal(a.intensity, c.intensity)


def test_lattice_jump_changes_only_peak_positions():
    s = simulate_xrd_ramp(n_patterns=60, transition=(30, 36), variant="lattice-jump",
                          random_state=1)
    assert set(s.labels[:30]) == {"high-spin"} and set(s.labels[30:36]) == {"mixed"}
    assert set(s.labels[36:]) == {"low-spin"}
    assert tuple(XRD_VARIANTS["lattice-jump"]) == s.metadata["states"]
    tracks, heights = s.metadata["peak_tracks"], s.metadata["peak_heights"]
    assert not any(name.startswith("bcc") for name in tracks)
    assert np.all(np.isnan(s.params["a_bcc"]))
    # the same reflections, all present in both states
    for name in tracks:
        assert np.all(heights[name] > 0), name
    step = np.diff(tracks["oxide 200"])
    jump, steady = step[29:36].sum(), np.median(step[:29])
    assert jump > 20 * steady  # the oxide's volume collapse inside the window
    iron = np.diff(tracks["hcp 101"])
    assert iron[29:36].sum() < 2 * 7 * np.median(iron)  # iron only compresses
    # volume collapse ~ spin_collapse: a^3 drops by ~3 % relative to the steady trend
    a3 = s.params["a_oxide"] ** 3
    assert 0.02 < (a3[29] - a3[36]) / a3[29] < 0.05


def test_diamond_spots_are_sharp_fixed_and_change_nothing_else():
    kw = dict(n_patterns=10, transition=(4, 6), random_state=2, noise=False)
    plain = simulate_xrd_ramp(**kw)
    spiky = simulate_xrd_ramp(**kw, diamond_spots=3)
    spots = spiky.metadata["diamond_spots"]
    assert spots.shape == (3,) and plain.metadata["diamond_spots"].size == 0
    extra = spiky.intensity.astype(float) - plain.intensity
    assert np.all(extra > -1e-3)
    for spot in spots:
        j = np.argmin(np.abs(spiky.axis - spot))
        assert np.all(extra[:, j] > 1000)  # strong in every pattern, at the same place
        far = np.abs(spiky.axis - spot) > 0.1
        assert np.all(extra[:, far & (np.abs(spiky.axis[:, None] - spots).min(1) > 0.1)] < 100)


def test_float64_and_options():
    s = simulate_xrd_ramp(n_patterns=5, n_points=500, transition=(2, 3), dtype=np.float64,
                          two_theta=(10, 20), wavelength=0.3, pressure=(0, 5), eos="vinet",
                          random_state=0)
    assert s.dtype == np.float64 and s.shape == (5, 500)
    assert s.metadata["simulator"]["eos"] == "vinet"
    assert all(np.all((t > 9.4) & (t < 20.6)) for t in s.metadata["peak_tracks"].values())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(transition=(300, 400)), "transition"),
        (dict(transition=(10, 5)), "transition"),
        (dict(variant="spin"), "variant"),
        (dict(n_patterns=0), "n_patterns"),
        (dict(two_theta=(26, 9)), "two_theta"),
        (dict(pressure=(-1, 5)), "pressure"),
        (dict(wavelength=0), "wavelength"),
        (dict(grain_correlation=1.0), "grain_correlation"),
        (dict(two_theta=(10, 200)), "two_theta"),
        (dict(spin_collapse=0.5), "spin_collapse"),
        (dict(pressure="high"), "pressure"),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(SpectraFormatError, match=match):
        simulate_xrd_ramp(**kwargs)


@pytest.mark.parametrize("form", ["birch-murnaghan", "vinet"])
def test_eos_inverse(form):
    p = np.linspace(0, 80, 17)
    v = eos_volume(p, 23.55, 170.0, 4.5, form)
    assert np.all(np.diff(v) < 0)
    np.testing.assert_allclose(eos_pressure(v / 23.55, 170.0, 4.5, form), p, atol=1e-6)
    with pytest.raises(SpectraFormatError, match="equation of state"):
        eos_pressure(1.0, 170.0, 4.5, "murnaghan")


def test_reflection_lists_show_the_systematic_absences():
    names = {ph.name: reflection_table(ph, 0.9).names for ph in (BCC_FE, HCP_FE, B1_OXIDE)}
    assert names["bcc"][:3] == ["bcc 110", "bcc 200", "bcc 211"]  # h+k+l even only
    assert names["hcp"][:3] == ["hcp 100", "hcp 002", "hcp 101"]  # no 001
    assert names["oxide"][:3] == ["oxide 111", "oxide 200", "oxide 220"]  # unmixed parity
