"""Simulated powder X-ray diffraction of a diamond-anvil-cell pressure ramp."""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from ..exceptions import SpectraFormatError
from ..spectra import Spectra
from ._crystal import B1_OXIDE, BCC_FE, HCP_FE, Phase, reflection_table, structure_factor_sq
from ._drift import check_positive_int, check_range, smooth_drift

__all__ = ["simulate_xrd_ramp", "XRD_VARIANTS"]

logger = logging.getLogger(__name__)

_WHERE = "simulate_xrd_ramp"

#: Variants of the ramp and the labels of their states (before, inside, after the window).
XRD_VARIANTS = {
    "phase": ("bcc", "mixed", "hcp"),
    "lattice-jump": ("high-spin", "mixed", "low-spin"),
}

# Default pressure ramps (GPa, first and last pattern). 'phase': 1 -> 23 GPa puts the
# default window (185-195 of 349) at ~13 GPa, where bcc Fe turns hcp on compression.
# 'lattice-jump': 30 -> 70 GPa puts it at ~52 GPa, in the range of the spin crossover of
# Fe2+ in (Mg,Fe)O (Lin et al., Nature 436, 377 (2005); Fei et al. 2007); Fe is hcp throughout.
_DEFAULT_PRESSURE = {"phase": (1.0, 23.0), "lattice-jump": (30.0, 70.0)}

# Lines whose centre lies this far (deg) outside the 2theta range still get drawn: their
# tails reach into the pattern.
_LINE_MARGIN_DEG = 0.5
# Compression the reflection list must cover: d shrinks by at most this factor over a ramp
# (V/V0 >= 0.55 in the equation of state -> a/a0 >= 0.82).
_MAX_LINEAR_COMPRESSION = 0.8
# A volume collapse beyond this is no spin crossover (observed: 2-4 %, up to ~8 % in FeO).
_MAX_SPIN_COLLAPSE = 0.2
# Unmasked diamond reflections: FWHM (deg), height range (x peak_counts), log-normal
# flicker from pattern to pattern (the anvils' spots sit on the edge of the integration mask).
_DIAMOND_FWHM_DEG = 0.02
_DIAMOND_STRENGTH = (1.0, 5.0)
_DIAMOND_FLICKER = 0.3
# Per-pattern jitter of the beam intensity on top of its slow drift (relative rms).
_BEAM_JITTER = 0.005
# Amorphous hump of the pressure medium / diamond (Compton) scattering: centre and rms
# width in deg of 2theta, and how far the centre wanders over the run.
_HUMP_CENTRE_DEG = 12.0
_HUMP_WIDTH_DEG = 3.0
_HUMP_WANDER_DEG = 0.5
# The Gaussian part of a peak is drawn within this many FWHM of its centre
# (exp(-4 ln2 * 8^2) ~ 1e-77: nothing is lost).
_GAUSS_REACH = 8.0
# Share of the background in the hump vs. the smooth term, relative drifts over the run;
# the smooth term 1 + slope u + curve u^2 (u = -1..1 across the range) falls towards high
# angle (air and Compton scattering of the diamonds drop with 2theta at these energies).
_HUMP_SHARE = 0.6
_BACKGROUND_DRIFT = 0.15
_BACKGROUND_SLOPE = -0.5
_BACKGROUND_CURVE_DRIFT = 0.03


def _add_pseudo_voigt(out, axis, centre, area, fwhm, eta):
    """Add pseudo-Voigt peaks to `out` in place, one per row, averaged over each pixel.

    Each point is the mean of the profile over its pixel ``[x - step/2, x + step/2]`` (an
    azimuthal-integration bin), from the closed-form integrals (arctan for the Lorentzian,
    erf for the Gaussian), so peaks keep their area and stay centred on coarse grids too.
    The Lorentzian part covers the whole row (its tails are long); the Gaussian part only
    ``_GAUSS_REACH`` FWHM around the centre, beyond which it is zero in floating point.

    Parameters
    ----------
    out : numpy.ndarray of shape (r, m)
        Rows to add to (float32 or float64).
    axis : numpy.ndarray of shape (m,)
        Evenly spaced axis (deg).
    centre, area, fwhm : numpy.ndarray of shape (r,)
        Peak centre (deg), integrated intensity (counts * deg) and FWHM (deg) per row.
    eta : float
        Lorentzian share.
    """
    from scipy.special import erf

    dt = out.dtype
    step = axis[1] - axis[0]
    edges = np.append(axis - 0.5 * step, axis[-1] + 0.5 * step).astype(dt)
    half = (0.5 * fwhm).astype(dt)[:, None]
    u = (edges[None, :] - centre.astype(dt)[:, None]) / half
    np.arctan(u, out=u)
    out += (eta * area / (np.pi * step)).astype(dt)[:, None] * np.diff(u, axis=1)
    # Gaussian, windowed: pixels centre +- reach, clipped into two spare columns
    reach = int(np.ceil(_GAUSS_REACH * fwhm.max() / step)) + 1
    offsets = np.arange(-reach, reach + 2)  # pixel edges of 2 * reach + 1 pixels
    first = np.rint((centre - axis[0]) / step).astype(np.int64)[:, None] + offsets[:-1]
    x = axis[0] + (np.rint((centre - axis[0]) / step)[:, None] + offsets - 0.5) * step
    scaled = (x - centre[:, None]) / (fwhm / (2.0 * np.sqrt(np.log(2.0))))[:, None]
    gauss = ((1.0 - eta) * area / (2.0 * step))[:, None] * np.diff(erf(scaled), axis=1)
    m = out.shape[1]
    padded = np.zeros((out.shape[0], m + 2), dtype=dt)
    padded[np.arange(out.shape[0])[:, None], np.clip(first + 1, 0, m + 1)] = gauss
    out += padded[:, 1:-1]


def _pseudo_voigt_peak(fwhm, eta):
    """Height of the area-normalised pseudo-Voigt at its centre."""
    return eta * 2.0 / (np.pi * fwhm) + (1.0 - eta) * 2.0 * np.sqrt(np.log(2.0) / np.pi) / fwhm


def _two_theta(inverse_d_sq, wavelength):
    """Bragg's law, 2theta (deg) from 1/d^2; NaN where lambda / 2d > 1."""
    sin_theta = 0.5 * wavelength * np.sqrt(inverse_d_sq)
    with np.errstate(invalid="ignore"):
        return np.rad2deg(2.0 * np.arcsin(np.where(sin_theta <= 1.0, sin_theta, np.nan)))


def _add_diamond_spots(out, axis, spots, peak_counts, rng):
    """Add sharp diamond Bragg spikes at `spots` (deg) to every row of `out`, in place."""
    n = out.shape[0]
    strength = rng.uniform(*_DIAMOND_STRENGTH, spots.size)
    flicker = np.exp(_DIAMOND_FLICKER * rng.standard_normal((n, spots.size)))
    fwhm = np.full(n, _DIAMOND_FWHM_DEG)
    height_per_area = _pseudo_voigt_peak(_DIAMOND_FWHM_DEG, 0.0)
    for k, spot in enumerate(spots):  # a handful of spots, each a whole-array operation
        area = peak_counts * strength[k] * flicker[:, k] / height_per_area
        _add_pseudo_voigt(out, axis, np.full(n, spot), area, fwhm, 0.0)


def _ar1(white, rho):
    """Unit-variance AR(1) series along axis 0 (correlation `rho` between neighbours)."""
    from scipy.signal import lfilter

    if rho == 0:
        return white
    white = white.copy()
    white[0] /= np.sqrt(1.0 - rho**2)  # start in the stationary state: y[0] = e[0]
    return lfilter([np.sqrt(1.0 - rho**2)], [1.0, -rho], white, axis=0)


def _state_fraction(n, start, stop):
    """Fraction of the new state: 0 before `start`, rising linearly inside, 1 from `stop`."""
    i = np.arange(n, dtype=np.float64)
    return np.clip((i - start + 0.5) / (stop - start), 0.0, 1.0)


def simulate_xrd_ramp(
    n_patterns: int = 349,
    n_points: int = 4023,
    two_theta: tuple[float, float] = (9.5, 26.0),
    transition: tuple[int, int] = (185, 195),
    variant: str = "phase",
    wavelength: float = 0.4133,
    pressure: tuple[float, float] | None = None,
    random_state: int | np.random.Generator | None = None,
    dtype=np.float32,
    *,
    peak_counts: float = 4000.0,
    background_counts: float = 300.0,
    oxide_share: float = 0.35,
    spin_collapse: float = 0.03,
    instrument_fwhm: float = 0.035,
    microstrain: tuple[float, float] = (5e-4, 6e-5),
    eta: float = 0.5,
    grain_jitter: float = 0.15,
    grain_correlation: float = 0.8,
    beam_drift: float = 0.08,
    noise: bool = True,
    eos: str = "birch-murnaghan",
    diamond_spots: int = 0,
) -> Spectra:
    r"""Powder diffraction patterns of a pressure ramp of Fe + (Mg,Fe)O in a diamond anvil cell.

    The sample is iron metal with a B1 (rock-salt) (Mg0.2Fe0.8)O oxide, compressed while
    patterns are taken at a fixed wavelength, as in the reference experiment (349 patterns,
    2θ 9.5–26°, ~4,000 points, bcc → hcp around pattern 185–195). Everything is computed at
    once as ``(n_patterns, n_points)`` arrays.

    Physics:

    * **Pressure** ramps linearly over the run (`pressure`, GPa).
    * **Lattice parameters** from an equation of state (`eos`: third-order Birch–Murnaghan or
      Vinet) per phase: bcc Fe (a0 = 2.8665 Å, K0 = 170 GPa, K0' = 4.5), hcp Fe
      (V0 = 22.43 Å^3 per 2-atom cell, i.e. 11.21 Å^3/atom, c/a = 1.603 kept constant,
      K0 = 165 GPa, K0' = 5.0), oxide (a0 = 4.30 Å, K0 = 160 GPa, K0' = 4.0); values close to
      Dewaele et al. (PRL 2006) and Fei et al. (GRL 2007).
    * **Peak positions** from Bragg's law, :math:`\lambda = 2 d \sin\theta`, with
      :math:`d = a/\sqrt{h^2+k^2+l^2}` (cubic) and
      :math:`1/d^2 = \tfrac43 (h^2+hk+k^2)/a^2 + l^2/c^2` (hexagonal), so every peak moves
      continuously with pressure, those at higher angle further.
    * **Intensities**: integrated intensity of a line
      :math:`\propto \frac{v}{V_{cell}^2}\, \sum_{hkl}|F_{hkl}|^2\, e^{-2Bs^2}\, LP(\theta)`,
      with the structure factor from the atoms of the cell and Cromer–Mann form factors
      (so systematic absences and multiplicities come out by themselves), an isotropic
      Debye–Waller factor, the Lorentz–polarisation factor of azimuthally averaged
      Debye–Scherrer rings :math:`LP = (1+\cos^2 2\theta)/(\sin^2\theta\cos\theta)` (the
      ring average of the polarisation of a linearly polarised beam is
      :math:`(1+\cos^2 2\theta)/2`, as for an unpolarised one),
      and `v` the volume share of the phase (iron: ``1 - oxide_share``, split between bcc
      and hcp by the transformed fraction).
    * **Peak shapes**: area-normalised pseudo-Voigt, Lorentz share `eta`, FWHM
      :math:`\sqrt{H_i^2 + (4\varepsilon(P)\tan\theta)^2}` (deg): an instrumental width
      plus microstrain broadening :math:`\varepsilon(P) = \varepsilon_0 + \varepsilon_1 P`
      that grows with the deviatoric stress of the cell.
    * **Nuisances**: a slowly drifting background (an amorphous hump of the pressure medium
      and a sloping Compton/air term, shapes drifting smoothly along the run), a drifting
      beam intensity (slow drift of peak-to-peak `beam_drift` plus 0.5 % jitter), per-peak
      and per-pattern grain-statistics jitter (log-normal, rms `grain_jitter`: few grains in a
      DAC; correlated from one pattern to the next with coefficient `grain_correlation`, since
      consecutive exposures see mostly the same crystallites), and Poisson counting noise
      (photon-counting detector such as the LAMBDA GaAs: no read noise).

    Variants (the states are ``labels[i]``; patterns ``start <= i < stop`` of `transition`
    are the window; ``params['fraction']`` rises linearly across it):

    * ``'phase'``: bcc Fe → hcp Fe (labels ``'bcc'``, ``'mixed'``, ``'hcp'``); inside the
      window both phases coexist with the hcp fraction rising from 0 to 1; the oxide
      compresses throughout. Peaks appear and vanish *and* shift.
    * ``'lattice-jump'``: no change of phase; Fe is hcp throughout and the oxide goes
      through the high-spin → low-spin crossover of Fe²⁺, a volume collapse of
      `spin_collapse` (3 % by default) across the window (labels ``'high-spin'``,
      ``'mixed'``, ``'low-spin'``). As in the single-phase crossover of ferropericlase the
      oxide volume is ``(1 - n) V_HS(P) + n V_LS(P)`` with the low-spin fraction `n`: the
      same reflections in both states, the oxide's jump in position being the only
      difference beyond the steady compression.

    Parameters
    ----------
    n_patterns : int, default=349
        Number of patterns (the ramp's time steps).
    n_points : int, default=4023
        Points per pattern, evenly spaced in 2θ.
    two_theta : (float, float), default=(9.5, 26.0)
        2θ range (deg).
    transition : (int, int), default=(185, 195)
        ``(start, stop)`` pattern indices of the window where the state changes
        (``start`` included, ``stop`` excluded, as a Python slice).
    variant : {'phase', 'lattice-jump'}, default='phase'
        What changes, see above.
    wavelength : float, default=0.4133
        X-ray wavelength (Å); 0.4133 Å = 30 keV.
    pressure : (float, float), optional
        Pressure (GPa) at the first and last pattern. Default (1, 23) for ``'phase'``, which
        puts the default window at ~13 GPa, and (30, 70) for ``'lattice-jump'`` (~52 GPa).
    random_state : int, numpy.random.Generator or None
        Seed or generator; the same seed gives the same patterns.
    dtype : numpy dtype, default=numpy.float32
        Dtype of the intensities.
    peak_counts : float, default=4000
        Height (counts) of the strongest line of the first pattern, before beam and grain
        fluctuations.
    background_counts : float, default=300
        Mean level (counts) of the background.
    oxide_share : float, default=0.35
        Volume share of the oxide in the sample.
    spin_collapse : float, default=0.03
        Relative volume collapse of the oxide at the spin crossover (``'lattice-jump'``).
    instrument_fwhm : float, default=0.035
        Instrumental FWHM (deg of 2θ).
    microstrain : (float, float), default=(5e-4, 6e-5)
        ``(eps0, eps1)`` of the microstrain ``eps0 + eps1 * P`` (P in GPa).
    eta : float, default=0.5
        Lorentzian share of the pseudo-Voigt.
    grain_jitter : float, default=0.15
        rms of the log-normal intensity jitter per line and pattern (0 to switch it off).
    grain_correlation : float, default=0.8
        Correlation of a line's grain jitter between consecutive patterns (AR(1), in [0, 1)).
    beam_drift : float, default=0.08
        Peak-to-peak relative drift of the beam intensity over the run (0 to switch it off;
        the 0.5 % jitter goes with it).
    noise : bool, default=True
        Draw Poisson counts; False returns the expected counts (noise-free).
    eos : {'birch-murnaghan', 'vinet'}, default='birch-murnaghan'
        Equation-of-state form of every phase.
    diamond_spots : int, default=0
        Number of unmasked single-crystal diamond reflections to add: sharp (FWHM 0.02°),
        strong (1–5 × `peak_counts`) spikes at fixed random 2θ that flicker from pattern to
        pattern, as left in an integrated pattern when the anvils' Bragg spots are not
        masked. Their positions are ``metadata['diamond_spots']``; they are drawn after
        everything else, so adding them leaves the rest of the patterns unchanged.

    Returns
    -------
    Spectra
        Intensities (n_patterns, n_points) in counts on a ``'2theta'`` axis (deg), with
        ``labels``; ``params``: ``'pressure'`` (GPa), ``'fraction'`` (of the new phase or
        state), ``'a_bcc'``, ``'a_hcp'``, ``'c_hcp'``, ``'a_oxide'`` (Å, from the equation of
        state; ``'a_bcc'`` is NaN in ``'lattice-jump'`` where there is no bcc Fe) and
        ``'beam'`` (relative beam intensity); ``metadata``: ``'wavelength'`` (Å),
        ``'peak_tracks'`` (line name such as ``'bcc 110'`` -> (n,) 2θ of its centre, deg;
        lines up to 0.5° outside the range are included since their tails reach in),
        ``'peak_widths'`` (-> (n,) FWHM, deg), ``'peak_heights'`` (-> (n,) expected peak
        height above background in counts, 0 where the phase is absent, grain jitter and
        beam included), ``'transition'`` ``(start, stop)``, ``'states'`` (the three labels) and
        ``'simulator'`` (name and parameters).

    Raises
    ------
    SpectraFormatError
        If a parameter is out of range (e.g. a window outside the run).

    Examples
    --------
    >>> from specstate.datasets import simulate_xrd_ramp
    >>> s = simulate_xrd_ramp(random_state=0)
    >>> s.shape
    (349, 4023)
    >>> [str(s.labels[i]) for i in (0, 190, 348)]
    ['bcc', 'mixed', 'hcp']
    >>> bool(s.metadata["peak_tracks"]["bcc 110"][0] < s.metadata["peak_tracks"]["bcc 110"][180])
    True
    """
    n = check_positive_int(n_patterns, "n_patterns", _WHERE)
    m = check_positive_int(n_points, "n_points", _WHERE, minimum=2)
    lo, hi = check_range(two_theta, "two_theta", _WHERE)
    if variant not in XRD_VARIANTS:
        raise SpectraFormatError(
            f"The 'variant' parameter of {_WHERE} must be one of {tuple(XRD_VARIANTS)}; "
            f"got {variant!r}."
        )
    try:
        start, stop = (int(v) for v in transition)
    except (TypeError, ValueError):
        start, stop = -1, -1
    if not 0 <= start < stop <= n:
        raise SpectraFormatError(
            f"The 'transition' parameter of {_WHERE} must be (start, stop) with "
            f"0 <= start < stop <= n_patterns ({n}); got {transition!r}."
        )
    try:
        p_first, p_last = (float(v) for v in (_DEFAULT_PRESSURE[variant] if pressure is None
                                              else pressure))
    except (TypeError, ValueError):
        p_first, p_last = np.nan, np.nan
    if not (np.isfinite(p_first) and np.isfinite(p_last) and p_first >= 0 and p_last >= 0):
        raise SpectraFormatError(
            f"The 'pressure' parameter of {_WHERE} must be two finite pressures >= 0 GPa; "
            f"got {pressure!r}."
        )
    if not (np.isfinite(wavelength) and wavelength > 0):
        raise SpectraFormatError(f"The 'wavelength' of {_WHERE} must be > 0 Å; got {wavelength}.")
    if not 0 < lo < hi < 180:
        raise SpectraFormatError(
            f"The 'two_theta' range of {_WHERE} must lie inside (0, 180) deg; got {two_theta!r}."
        )
    if not 0 <= spin_collapse < _MAX_SPIN_COLLAPSE:
        raise SpectraFormatError(
            f"The 'spin_collapse' parameter of {_WHERE} must be in [0, {_MAX_SPIN_COLLAPSE}); "
            f"got {spin_collapse}."
        )
    if not 0 <= grain_correlation < 1:
        raise SpectraFormatError(
            f"The 'grain_correlation' parameter of {_WHERE} must be in [0, 1); "
            f"got {grain_correlation}."
        )
    if not 0 <= oxide_share < 1:
        raise SpectraFormatError(
            f"The 'oxide_share' parameter of {_WHERE} must be in [0, 1); got {oxide_share}."
        )
    rng = np.random.default_rng(random_state)

    axis = np.linspace(lo, hi, m)
    p = np.linspace(p_first, p_last, n)
    fraction = _state_fraction(n, start, stop)
    labels = np.array(XRD_VARIANTS[variant], dtype=object)[
        np.where(np.arange(n) < start, 0, np.where(np.arange(n) < stop, 1, 2))
    ].astype(str)

    # --- phases, their volume shares per pattern and lattice parameters
    bcc_fe, hcp_fe, oxide = (replace(ph, eos=eos) for ph in (BCC_FE, HCP_FE, B1_OXIDE))
    a_hcp = hcp_fe.lattice_a(p)
    c_hcp = a_hcp * hcp_fe.c_over_a
    if variant == "phase":
        a_bcc = bcc_fe.lattice_a(p)
        a_oxide = oxide.lattice_a(p)
        iron = 1.0 - oxide_share
        phases: list[tuple[Phase, np.ndarray, np.ndarray, np.ndarray | None]] = [
            (bcc_fe, iron * (1.0 - fraction), a_bcc, None),
            (hcp_fe, iron * fraction, a_hcp, c_hcp),
            (oxide, np.full(n, oxide_share), a_oxide, None),
        ]
    else:
        a_bcc = np.full(n, np.nan)
        low_spin = replace(oxide, v0=oxide.v0 * (1.0 - spin_collapse))
        volume = (1.0 - fraction) * oxide.volume(p) + fraction * low_spin.volume(p)
        a_oxide = np.cbrt(volume)
        phases = [
            (hcp_fe, np.full(n, 1.0 - oxide_share), a_hcp, c_hcp),
            (oxide, np.full(n, oxide_share), a_oxide, None),
        ]

    # --- every line: centre, integrated intensity (arbitrary units), FWHM
    sin_max = np.sin(np.deg2rad(min(hi + _LINE_MARGIN_DEG, 179.0) / 2))
    d_min = wavelength / (2 * sin_max) * _MAX_LINEAR_COMPRESSION
    names, centres, strengths = [], [], []
    for phase, share, a, c in phases:  # three phases at most: a loop over phases, not data
        table = reflection_table(phase, d_min)
        inv_d2 = table.inverse_d_sq(a, c)  # (n, lines)
        tth = _two_theta(inv_d2, wavelength)
        theta = np.deg2rad(tth / 2)
        f2 = structure_factor_sq(table, 0.5 * np.sqrt(inv_d2))
        lp = (1 + np.cos(2 * theta) ** 2) / (np.sin(theta) ** 2 * np.cos(theta))
        cell_volume = a**3 if c is None else np.sqrt(3) / 2 * a**2 * c
        strength = share[:, None] / cell_volume[:, None] ** 2 * f2 * lp
        seen = np.any((tth > lo - _LINE_MARGIN_DEG) & (tth < hi + _LINE_MARGIN_DEG), axis=0)
        names += [name for name, keep in zip(table.names, seen) if keep]
        centres.append(tth[:, seen])
        strengths.append(strength[:, seen])
    centre = np.concatenate(centres, axis=1)  # (n, L)
    strength = np.nan_to_num(np.concatenate(strengths, axis=1))
    eps = microstrain[0] + microstrain[1] * p
    strain_fwhm = np.rad2deg(4.0 * eps[:, None] * np.tan(np.deg2rad(centre / 2)))
    fwhm = np.sqrt(instrument_fwhm**2 + strain_fwhm**2)

    # scale: the strongest line of the first pattern peaks at `peak_counts`
    height_per_area = _pseudo_voigt_peak(fwhm, eta)
    scale = peak_counts / np.max(strength[0] * height_per_area[0])
    area = scale * strength

    # --- nuisances (drawn in a fixed order: deterministic for a seed)
    beam = 1.0 + beam_drift * smooth_drift(rng, n)
    beam *= 1.0 + (_BEAM_JITTER if beam_drift > 0 else 0.0) * rng.standard_normal(n)
    grains = np.exp(grain_jitter * _ar1(rng.standard_normal(area.shape), grain_correlation)
                    - 0.5 * grain_jitter**2)
    area = area * beam[:, None] * grains
    u = (axis - 0.5 * (lo + hi)) / (0.5 * (hi - lo))  # -1..1 across the range
    hump_centre = _HUMP_CENTRE_DEG + _HUMP_WANDER_DEG * smooth_drift(rng, n)
    hump_level = 1.0 + _BACKGROUND_DRIFT * smooth_drift(rng, n)
    slope = _BACKGROUND_SLOPE + _BACKGROUND_DRIFT * smooth_drift(rng, n)
    curve = _BACKGROUND_CURVE_DRIFT * smooth_drift(rng, n)
    work = np.float64 if np.dtype(dtype) == np.float64 else np.float32
    expected = ((axis[None, :] - hump_centre[:, None]) / _HUMP_WIDTH_DEG).astype(work)
    expected *= expected
    np.exp(-0.5 * expected, out=expected)
    expected *= (_HUMP_SHARE * hump_level)[:, None]
    expected += (1 - _HUMP_SHARE) * (1.0 + slope[:, None] * u + curve[:, None] * u**2)
    expected *= (background_counts / expected.mean(dtype=np.float64) * beam)[:, None]

    # --- render: one vectorised (rows, m) operation per line, only where the line is present
    for j in range(centre.shape[1]):  # a few dozen lines; each is a whole-array operation
        rows = np.flatnonzero(area[:, j] > 0)
        if rows.size == 0:
            continue
        block = expected[rows] if rows.size < n else expected
        _add_pseudo_voigt(block, axis, centre[rows, j], area[rows, j], fwhm[rows, j], eta)
        if rows.size < n:
            expected[rows] = block
    spots = np.sort(rng.uniform(lo, hi, check_positive_int(
        diamond_spots, "diamond_spots", _WHERE, minimum=0)))
    if spots.size:
        _add_diamond_spots(expected, axis, spots, peak_counts, rng)
    intensity = rng.poisson(expected).astype(dtype) if noise else expected.astype(dtype)

    heights = area * height_per_area
    tracks = {name: centre[:, j] for j, name in enumerate(names)}
    simulator = {
        "name": _WHERE,
        "n_patterns": n, "n_points": m, "two_theta": [lo, hi], "transition": [start, stop],
        "variant": variant, "wavelength": float(wavelength), "pressure": [p_first, p_last],
        "random_state": random_state if isinstance(random_state, (int, np.integer)) else None,
        "peak_counts": peak_counts, "background_counts": background_counts,
        "oxide_share": oxide_share, "spin_collapse": spin_collapse,
        "instrument_fwhm": instrument_fwhm, "microstrain": list(microstrain), "eta": eta,
        "grain_jitter": grain_jitter, "grain_correlation": grain_correlation,
        "beam_drift": beam_drift, "noise": noise, "eos": eos, "diamond_spots": spots.size,
    }
    logger.debug("simulated %d XRD patterns with %d lines", n, len(names))
    return Spectra(
        intensity,
        axis,
        axis_name="2theta",
        axis_unit="deg",
        labels=labels,
        params={
            "pressure": p,
            "fraction": fraction,
            "a_bcc": a_bcc,
            "a_hcp": a_hcp,
            "c_hcp": c_hcp,
            "a_oxide": a_oxide,
            "beam": beam,
        },
        metadata={
            "wavelength": float(wavelength),
            "peak_tracks": tracks,
            "peak_widths": {name: fwhm[:, j] for j, name in enumerate(names)},
            "peak_heights": {name: heights[:, j] for j, name in enumerate(names)},
            "transition": (start, stop),
            "states": tuple(XRD_VARIANTS[variant]),
            "diamond_spots": spots,
            "source": "simulated",
            "simulator": simulator,
        },
    )
