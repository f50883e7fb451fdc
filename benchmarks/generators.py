"""Spectra "simulated by another physics code": generators independent of specstate.

Nothing here imports specstate: the line shapes (split Pearson VII, Gaussian detector response
with a low-energy tail, Pearson VII powder peaks), the nuisances (pulse energy, energy-scale
drift, gain and offset, per-file scale, texture, backgrounds) and the noise (Poisson photons,
Gaussian read noise) are written from textbook formulas, so no constant of the classifier can
have been tuned to them.

Each generator returns a :class:`Generated`: the spectra, their states, the axis and the
*noise limit*: the balanced accuracy of the ideal classifier that knows every nuisance of each
spectrum (its pulse energy, shift, gain, scale, ...) and the expected spectrum of every state,
and calls the state of highest likelihood (Poisson, or Gaussian with variance ``counts + read
noise**2`` when there is read noise; equal priors). No classifier that sees one spectrum at a
time can do better on average.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
from scipy.special import gammaln
from sklearn.metrics import balanced_accuracy_score

__all__ = ["Generated", "emission_lines", "xrf_spectra", "powder_xrd", "powder_ramp",
           "smooth_curve"]

# Spectra are simulated and scored in blocks of this many (bounds memory: states x block x
# points float64).
BLOCK = 1024


@dataclasses.dataclass
class Generated:
    """Spectra of a generator in acquisition order, with what the noise limit needs."""

    X: np.ndarray  # (n, m) float32 counts
    y: np.ndarray  # (n,) state names
    axis: np.ndarray  # (m,)
    axis_name: str
    axis_unit: str
    limit_loglik: np.ndarray  # (n, n_states) log-likelihood of each state given the nuisances
    states: tuple

    def noise_limit(self, index) -> float:
        """Balanced accuracy of the ideal per-spectrum classifier on the spectra `index`."""
        index = np.asarray(index)
        called = np.asarray(self.states)[np.argmax(self.limit_loglik[index], axis=1)]
        return float(balanced_accuracy_score(self.y[index], called))


def smooth_curve(rng: np.random.Generator, n: int, n_knots: int = 6) -> np.ndarray:
    """A slowly varying random curve over `n` samples: zero mean, peak-to-peak 1.

    A cubic interpolation through `n_knots` Gaussian random values (a different recipe from
    specstate's sum of sines, on purpose).
    """
    from scipy.interpolate import CubicSpline

    knots = rng.standard_normal(n_knots)
    curve = CubicSpline(np.linspace(0, 1, n_knots), knots)(np.linspace(0, 1, n))
    curve -= curve.mean()
    ptp = np.ptp(curve)
    return curve / ptp if ptp > 0 else curve


def _counts(rng, expected, read_noise):
    x = rng.poisson(np.maximum(expected, 0.0)).astype(np.float64)
    if read_noise > 0:
        x += read_noise * rng.standard_normal(x.shape)
    return x


def _loglik(x, expected, read_noise):
    """Log-likelihood of counts `x` given `expected` (rows), up to a term common to states."""
    mu = np.maximum(expected, 1e-12)
    if read_noise > 0:
        var = mu + read_noise**2
        return -0.5 * ((x - mu) ** 2 / var + np.log(var)).sum(axis=1)
    return (x * np.log(mu) - mu - gammaln(x + 1)).sum(axis=1)


def _simulate(rng, n, states, truth, expected: Callable, read_noise):
    """Counts of every spectrum and the log-likelihood of every state, block by block.

    ``expected(rows, state_index)`` gives the expected counts of spectra `rows` (an index
    array) as if they were all in state `state_index`, with their own nuisances.
    """
    m = expected(np.arange(1), 0).shape[1]
    X = np.empty((n, m), np.float32)
    loglik = np.empty((n, len(states)))
    for lo in range(0, n, BLOCK):
        rows = np.arange(lo, min(n, lo + BLOCK))
        means = [expected(rows, k) for k in range(len(states))]
        mu = np.choose(truth[rows][:, None], means) if len(states) > 1 else means[0]
        x = _counts(rng, mu, read_noise)
        X[rows] = x
        for k, mu_k in enumerate(means):
            loglik[rows, k] = _loglik(x, mu_k, read_noise)
    return X, loglik


def _pearson7(x, centre, fwhm, m):
    """Area-normalised Pearson VII peak of full width `fwhm` and exponent `m`."""
    from scipy.special import gamma

    k = 2.0 ** (1.0 / m) - 1.0
    a = 2.0 * np.sqrt(k) / fwhm
    norm = a * gamma(m) / (np.sqrt(np.pi) * gamma(m - 0.5))
    return norm * (1.0 + (a * (x - centre)) ** 2) ** (-m)


def _split_pearson7(x, centre, fwhm, m, asymmetry):
    """Pearson VII whose low side is `asymmetry` times wider than its high side (area 1)."""
    low, high = fwhm * asymmetry, fwhm
    w_low, w_high = low / (low + high), high / (low + high)
    left = _pearson7(x, centre, 2 * low, m) * 2 * w_low
    right = _pearson7(x, centre, 2 * high, m) * 2 * w_high
    return np.where(x < centre, left, right)


# ------------------------------------------------------------------------- emission lines
#: Satellite of the "excited" emission state: this many line widths below the main line.
SATELLITE_OFFSET_WIDTHS = 3.5


def emission_lines(
    seed: int,
    n_spectra: int,
    *,
    n_points: int = 900,
    n_states: int = 2,
    photons: float = 1000.0,
    width_px: float = 60.0,
    shift_widths: float = 0.3,
    satellite: float = 0.12,
    excited_fraction: float = 1.0,
    read_noise: float = 1.0,
    drift_px: float = 0.0,
    pulse_rms: float = 0.2,
    background: float = 0.02,
) -> Generated:
    """Single-shot emission spectra of K states (Kβ-like lines, an independent model).

    State 0 is a main line (split Pearson VII, exponent 1.6, low side 1.3x wider) at 55 % of
    the axis; state k moves it by ``k / (K - 1) * shift_widths`` line widths and gives
    ``k / (K - 1) * satellite`` of the photons to a satellite line 3.5 widths below. With
    ``excited_fraction < 1`` and two states, state 1 is the mixture ``(1 - f) S0 + f S1``
    (pump-probe). Every shot: photons scaled by a gamma-distributed pulse energy (rms
    `pulse_rms`), a flat background, an energy-scale shift of `drift_px` peak-to-peak over
    the run (a smooth random curve), Poisson photons plus Gaussian read noise.
    """
    rng = np.random.default_rng(seed)
    states = tuple(f"state-{k}" for k in range(n_states))
    truth = rng.integers(n_states, size=n_spectra)
    pixels = np.arange(n_points, dtype=np.float64)
    centre = 0.55 * n_points
    modes = 1.0 / pulse_rms**2 if pulse_rms > 0 else None
    pulse = rng.gamma(modes, 1.0 / modes, n_spectra) if modes else np.ones(n_spectra)
    shift = drift_px * smooth_curve(rng, n_spectra)

    def shape(x, k):
        frac = k / max(1, n_states - 1)
        main = _split_pearson7(x, centre + frac * shift_widths * width_px, width_px, 1.6, 1.3)
        sat = _pearson7(x, centre - SATELLITE_OFFSET_WIDTHS * width_px, 1.4 * width_px, 2.5)
        return (1 - frac * satellite) * main + frac * satellite * sat

    def expected(rows, k):
        x = pixels[None, :] - shift[rows, None]
        s = shape(x, k)
        if n_states == 2 and k == 1 and excited_fraction < 1:
            s = (1 - excited_fraction) * shape(x, 0) + excited_fraction * s
        return pulse[rows, None] * (photons * s + background)

    X, loglik = _simulate(rng, n_spectra, states, truth, expected, read_noise)
    return Generated(X, np.asarray(states)[truth], pixels, "index", "pixel", loglik, states)


# ------------------------------------------------------------------------- XRF
#: Fluorescence lines (keV, relative photons) of a stainless-steel-like matrix.
XRF_MATRIX = {
    "Cr Ka": (5.415, 0.20), "Cr Kb": (5.947, 0.027),
    "Fe Ka": (6.404, 1.00), "Fe Kb": (7.058, 0.135),
    "Ni Ka": (7.478, 0.10), "Ni Kb": (8.265, 0.014),
}
#: The trace element of the second state: Co, whose Kα sits on the high-energy shoulder of Fe
#: Kα's neighbour Fe Kβ and whose Kβ sits on Ni Kα's shoulder.
XRF_TRACE = {"Co Ka": (6.930, 1.0), "Co Kb": (7.649, 0.12)}
SI_PAIR_EV, SI_FANO = 3.85e-3, 0.115  # keV per electron-hole pair in Si, Fano factor
SI_ESCAPE_KEV, SI_ESCAPE_SHARE = 1.74, 0.01


def xrf_spectra(
    seed: int,
    n_spectra: int,
    *,
    n_points: int = 1024,
    kev_per_channel: float = 0.01,
    first_kev: float = 3.0,
    photons: tuple[float, float] = (4000.0, 8000.0),
    trace: float = 0.02,
    electronic_noise_kev: float = 0.04,
    gain_rms: float = 0.003,
    offset_rms_kev: float = 0.015,
    composition_rms: float = 0.05,
    background_share: float = 0.25,
) -> Generated:
    """Energy-dispersive XRF spectra of a steel without (state 'matrix') and with a Co trace.

    Silicon-drift-detector response per line: a Gaussian of variance ``noise**2 + pair * Fano
    * E`` (FWHM ~150 eV at 6 keV), 6 % in a low-energy exponential tail (incomplete charge
    collection) and a Si escape peak 1.74 keV below. A bremsstrahlung-like continuum carries
    `background_share` of the photons. Per spectrum: total photons uniform in `photons`, the
    Cr and Ni content jittered (log-normal, rms `composition_rms`), and a random gain
    (rms `gain_rms`) and offset (rms `offset_rms_kev`) of the energy calibration. The trace
    state adds Co lines carrying `trace` of the line photons. Poisson counts, no read noise
    (photon counting).
    """
    rng = np.random.default_rng(seed)
    states = ("matrix", "co-trace")
    truth = rng.integers(2, size=n_spectra)
    nominal = first_kev + kev_per_channel * np.arange(n_points)
    total = rng.uniform(*photons, n_spectra)
    gain = 1.0 + gain_rms * rng.standard_normal(n_spectra)
    offset = offset_rms_kev * rng.standard_normal(n_spectra)
    jitter = np.exp(composition_rms * rng.standard_normal((n_spectra, 2)))

    def response(e, line_kev):
        sigma = np.sqrt(electronic_noise_kev**2 + SI_PAIR_EV * SI_FANO * line_kev)
        gauss = np.exp(-0.5 * ((e - line_kev) / sigma) ** 2) / (np.sqrt(2 * np.pi) * sigma)
        tail_len = 2.0 * sigma
        below = np.clip(line_kev - e, 0, None)
        tail = np.where(e < line_kev, np.exp(-below / tail_len) / tail_len, 0.0)
        tail *= 0.5 * (1 + np.tanh((e - line_kev + 6 * sigma) / sigma))  # fades far below
        esc_e = line_kev - SI_ESCAPE_KEV
        escape = np.exp(-0.5 * ((e - esc_e) / sigma) ** 2) / (np.sqrt(2 * np.pi) * sigma)
        return (0.94 * gauss + 0.06 * tail + SI_ESCAPE_SHARE * escape) * kev_per_channel

    def expected(rows, k):
        e = gain[rows, None] * nominal[None, :] + offset[rows, None]  # true energy of channels
        lines = np.zeros_like(e)
        for name, (kev, weight) in XRF_MATRIX.items():
            w = weight * (jitter[rows, 0] if name.startswith("Cr") else
                          jitter[rows, 1] if name.startswith("Ni") else np.ones(rows.size))
            lines += w[:, None] * response(e, kev)
        if k == 1:
            for kev, weight in XRF_TRACE.values():
                lines += trace * weight / 1.12 * response(e, kev)
        lines /= lines.sum(axis=1, keepdims=True)
        e_max = 25.0  # tube voltage (kV) of the continuum
        cont = np.clip(e * (e_max - e), 0, None)
        cont /= cont.sum(axis=1, keepdims=True)
        mix = (1 - background_share) * lines + background_share * cont
        return total[rows, None] * mix

    X, loglik = _simulate(rng, n_spectra, states, truth, expected, 0.0)
    return Generated(X, np.asarray(states)[truth], nominal, "energy", "keV", loglik, states)


# ------------------------------------------------------------------------- powder XRD
FCC_REFLECTIONS = ((1, 1, 1), (2, 0, 0), (2, 2, 0), (3, 1, 1), (2, 2, 2), (4, 0, 0),
                   (3, 3, 1), (4, 2, 0), (4, 2, 2), (5, 1, 1))
MO_KA_ANGSTROM = 0.7107


def powder_xrd(
    seed: int,
    n_spectra: int,
    *,
    n_points: int = 3000,
    n_peaks: int = 8,
    n_states: int = 2,
    lattice_step: float = 0.003,
    extra_peak: float = 0.04,
    scale_jitter: float = 0.3,
    texture_rms: float = 0.1,
    peak_counts: float = 3000.0,
    background_counts: float = 150.0,
    two_theta: tuple[float, float] = (10.0, 40.0),
    structure_seed: int | None = None,
    truth: np.ndarray | None = None,
    strain: np.ndarray | None = None,
) -> Generated:
    """Made-up powder patterns (Mo Kα) of K states of one cubic phase.

    The first `n_peaks` fcc reflections of a made-up lattice (a = 3.6-4.4 Å, drawn from
    `structure_seed`) with made-up intensities; Pearson VII peaks (exponent 1.5) of Caglioti
    widths. State k: lattice larger by ``k * lattice_step`` (peaks shift by ~0.3 % of their
    tangent per step) and k weak extra reflections (``extra_peak`` of the strongest; a
    minority phase) at made-up angles. Per file: overall scale uniform in ``1 +- scale_jitter``,
    per-peak texture (log-normal, rms `texture_rms`), a background of a quadratic and an
    amorphous hump of random amplitude; Poisson counts. With ``n_states=1`` every spectrum
    comes from one state (for random labels). `truth` (state index per spectrum, default
    random) and `strain` (per spectrum: every lattice, the extra reflections' too, is
    compressed by it) make a pressure ramp.
    """
    rng = np.random.default_rng(seed)
    srng = np.random.default_rng(seed if structure_seed is None else structure_seed)
    a0 = srng.uniform(3.6, 4.4)
    hkl = np.asarray(FCC_REFLECTIONS[:n_peaks], dtype=np.float64)
    inv_d_sq = (hkl**2).sum(axis=1)
    heights = srng.uniform(0.15, 1.0, n_peaks)
    heights[srng.integers(n_peaks)] = 1.0
    lo, hi = two_theta
    extra_pos = srng.uniform(lo + 0.1 * (hi - lo), hi - 0.1 * (hi - lo), max(1, n_states - 1))
    states = tuple(f"phase-{chr(ord('A') + k)}" for k in range(max(1, n_states)))
    drawn = rng.integers(len(states), size=n_spectra)
    truth = drawn if truth is None else np.asarray(truth)
    squeeze = np.ones(n_spectra) if strain is None else 1.0 - np.asarray(strain, np.float64)
    tth = np.linspace(lo, hi, n_points)
    scale = rng.uniform(1 - scale_jitter, 1 + scale_jitter, n_spectra)
    texture = np.exp(texture_rms * rng.standard_normal((n_spectra, n_peaks)))
    bg = rng.uniform(0.5, 1.5, (n_spectra, 3))
    x01 = (tth - lo) / (hi - lo)
    hump = np.exp(-0.5 * ((tth - (lo + 0.3 * (hi - lo))) / (0.12 * (hi - lo))) ** 2)

    def fwhm(theta_deg):
        t = np.tan(np.radians(theta_deg / 2))
        return np.sqrt(0.004 * t**2 + 0.002 * t + 0.006)  # Caglioti U, V, W (deg^2)

    d_extra = MO_KA_ANGSTROM / (2 * np.sin(np.radians(extra_pos / 2)))

    def expected(rows, k):
        a = a0 * (1 + k * lattice_step)
        d = a / np.sqrt(inv_d_sq)
        sq = squeeze[rows, None]  # (rows, 1)
        pattern = np.zeros((rows.size, n_points))

        def add(d_spacing, height):  # one reflection in every row, (rows, 1) centres
            c = 2 * np.degrees(np.arcsin(MO_KA_ANGSTROM / (2 * d_spacing * sq)))
            w = fwhm(c)
            return height * _pearson7(tth[None, :], c, w, 1.5) * w  # height ~1

        for p in range(n_peaks):
            pattern += add(d[p], (heights[p] * texture[rows, p])[:, None])
        for j in range(k):
            pattern += add(d_extra[j], extra_peak)
        back = (bg[rows, 0, None] * (1 - 0.5 * x01) + bg[rows, 1, None] * 0.4 * x01**2
                + bg[rows, 2, None] * hump)
        return scale[rows, None] * (peak_counts * pattern + background_counts * back)

    X, loglik = _simulate(rng, n_spectra, states, truth, expected, 0.0)
    return Generated(X, np.asarray(states)[truth], tth, "2theta", "deg", loglik, states)


def powder_ramp(seed: int, n_spectra: int, *, gap_widths: float = 8.0, refs_per_sitting=5,
                **powder) -> Generated:
    """:func:`powder_xrd` along a pressure ramp: state A, then state B, compressed evenly.

    Each state's segment spans a strain that moves a reflection at the middle of the 2θ
    range by `gap_widths` line widths, B's starting where A's ended. ``refs`` (an attribute
    of the result) are `refs_per_sitting` patterns at both ends of each segment: references
    taken in two sittings per state, between which the peaks moved far.
    """
    lo, hi = powder.get("two_theta", (10.0, 40.0))
    mid = 0.5 * (lo + hi)
    t = np.tan(np.radians(mid / 2))
    width = np.sqrt(0.004 * t**2 + 0.002 * t + 0.006)  # the generator's FWHM there (deg)
    # d(2θ) = 2 ε tan θ (radians): the strain that moves the middle line by the gap
    g = gap_widths * np.radians(width) / (2 * t)
    half = n_spectra // 2
    truth = (np.arange(n_spectra) >= half).astype(np.int64)
    strain = np.concatenate([np.linspace(0.0, g, half), np.linspace(g, 2 * g,
                                                                     n_spectra - half)])
    out = powder_xrd(seed, n_spectra, truth=truth, strain=strain, **powder)
    k = refs_per_sitting
    out.refs = np.concatenate([np.arange(k), np.arange(half - k, half), half + np.arange(k),
                               np.arange(n_spectra - k, n_spectra)])
    return out
