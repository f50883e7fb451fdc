"""Simulated single-shot Fe Kβ emission spectra of a pump-probe (spin-crossover) experiment.

The model, in one place, so that the simulation, the noise-free expectation and the
photon-statistics limit use exactly the same numbers:

* **Line shapes** (normalised to unit area): sums of Voigt profiles
  (:func:`scipy.special.voigt_profile`: Gaussian spectrometer/multiplet width × Lorentzian
  core-hole lifetime). Low spin (S = 0, e.g. [Fe(bpy)3]2+ ground state): the Kβ1,3 main line
  at 7058.0 eV with a weak low-energy shoulder, no Kβ'. High spin (S = 2, the photo-excited
  quintet): the main line ~1 eV higher (7059.0 eV) and broader, and a Kβ' satellite at
  7045.5 eV carrying 12 % of the intensity (3p–3d exchange). Both states emit the same
  number of photons (the Kβ yield does not depend on the spin); they differ only in shape.
  Figures follow Vankó et al. (J. Phys. Chem. B 110, 11647 (2006)) and Zhang et al.
  (Nature 509, 345 (2014)).
* **Pumped shots** carry ``(1 - f) LS + f HS`` with the excited fraction ``f``;
  unpumped shots ``LS``.
* **Photons**: ``photons * pulse_energy / pulse_energy_mean * sample_factor`` photons per
  shot over the whole line, plus a flat background of ``background`` photons per pixel per
  mean pulse (elastic/solvent scattering), scaled by the pulse energy too.
* **Energy scale**: the spectrometer's axis is off by ``energy_shift`` (eV): a line at true
  energy E appears at ``E + energy_shift``.
* **Detector**: counts are in photon units (a calibrated, pedestal-subtracted
  energy-dispersive detector such as a Gotthard-II strip or an ePix100 / JUNGFRAU area
  detector summed along the non-dispersive direction): Poisson photon counts plus Gaussian
  read noise of rms ``read_noise`` counts per pixel, so a pixel's variance is
  ``expected + read_noise**2`` and counts can be slightly negative.
"""

from __future__ import annotations

import logging

import numpy as np

from ..exceptions import SpectraFormatError
from ..spectra import Spectra
from ._drift import check_positive_int, check_range, smooth_drift

__all__ = [
    "simulate_xes",
    "xes_line_shape",
    "xes_expected_counts",
    "xes_expected_counts_for",
    "xes_noise_limit",
    "XES_LINES",
    "UNKNOWN_SPECIES",
]

logger = logging.getLogger(__name__)

_WHERE = "simulate_xes"

#: Components ``(centre eV, gaussian sigma eV, lorentzian HWHM eV, share of the area)`` of the
#: Fe Kβ emission of each spin state.
XES_LINES = {
    "low-spin": (
        (7058.0, 1.0, 1.2, 0.90),  # Kβ1,3
        (7054.5, 1.5, 1.5, 0.10),  # low-energy shoulder (asymmetry of the main line)
    ),
    "high-spin": (
        (7059.0, 1.1, 1.3, 0.78),  # Kβ1,3, ~ +1 eV
        (7055.0, 1.6, 1.5, 0.10),  # shoulder
        (7045.5, 2.0, 1.8, 0.12),  # Kβ' satellite of the S = 2 state
    ),
    # a third species no reference shows (an oxidised, Fe(III) high-spin S = 5/2 product of
    # a degrading sample): five unpaired 3d electrons widen the 3p-3d exchange splitting, so
    # the main line sits higher still and the Kβ' is stronger and further from it
    # (Glatzel & Bergmann, Coord. Chem. Rev. 249, 65 (2005))
    "iron(III)": (
        (7060.0, 1.2, 1.3, 0.72),  # Kβ1,3
        (7056.0, 1.6, 1.5, 0.10),  # shoulder
        (7046.5, 2.2, 1.8, 0.18),  # Kβ' of the S = 5/2 state
    ),
}

#: The species :func:`simulate_xes` draws as the unknown one (``unknown_fraction``).
UNKNOWN_SPECIES = "iron(III)"

#: Labels of the shots.
XES_STATES = ("pumped", "unpumped")

# Shifts are interpolated between exact evaluations this far apart (eV): for lines ~3 eV
# wide the error is ~1e-7 of the peak, and a run's drift needs only a few hundred of them.
_SHIFT_STEP_EV = 0.002
# Shots are processed in blocks of this many in the noise limit (bounds memory).
_BLOCK = 4096
# EuXFEL train ids are ~1e9 in recent runs; the simulated run starts here.
_FIRST_TRAIN_ID = 1_000_000_000


def xes_line_shape(energy, state: str) -> np.ndarray:
    """Normalised Fe Kβ emission line shape (1/eV) of a spin state.

    Parameters
    ----------
    energy : array-like
        Energies (eV).
    state : {'low-spin', 'high-spin', 'iron(III)'}
        Spin state (or the third species, see :data:`XES_LINES`).

    Returns
    -------
    numpy.ndarray
        Emission per eV; integrates to 1 over all energies.

    Examples
    --------
    >>> e = np.linspace(6900, 7200, 30001)
    >>> round(float(np.trapezoid(xes_line_shape(e, "high-spin"), e)), 2)
    0.99
    """
    from scipy.special import voigt_profile

    e = np.asarray(energy, dtype=np.float64)
    return sum(w * voigt_profile(e - c, s, g) for c, s, g, w in XES_LINES[state])


def _shapes_on(axis, shift, states=("low-spin", "high-spin")):
    """Line shapes of `states` at ``axis - shift`` per shot, each (n, m).

    The shapes are evaluated exactly on a fine grid of shifts (every ``_SHIFT_STEP_EV``
    covering the shots' range) and interpolated linearly between the two grid shifts that
    bracket each shot's shift: a gather and a weighted sum per shot instead of a Voigt per
    pixel and shot.
    """
    axis = np.asarray(axis, dtype=np.float64)
    shift = np.asarray(shift, dtype=np.float64).reshape(-1)
    if shift.size == 0:
        return [np.empty((0, axis.size)) for _ in states]
    first = np.floor(shift.min() / _SHIFT_STEP_EV) * _SHIFT_STEP_EV
    k_float = (shift - first) / _SHIFT_STEP_EV
    k = np.clip(np.floor(k_float).astype(np.int64), 0, None)
    w = (k_float - k)[:, None]
    grid = first + _SHIFT_STEP_EV * np.arange(k.max() + 2)
    x = axis[None, :] - grid[:, None]
    out = []
    for state in states:
        table = xes_line_shape(x, state)  # (n_grid, m)
        out.append(table[k] * (1.0 - w) + table[k + 1] * w)
    return out


def xes_expected_counts(
    axis,
    pumped,
    energy_shift,
    pulse_energy,
    *,
    excited_fraction: float = 0.3,
    photons: float = 1500.0,
    pulse_energy_mean: float = 1000.0,
    sample_factor=1.0,
    background: float = 0.02,
    unknown_fraction: float = 0.0,
    **_ignored,
) -> np.ndarray:
    """Expected (noise-free) counts of each shot given its state, energy shift and pulse energy.

    Same model and parameters as :func:`simulate_xes` (see the module notes); extra keyword
    arguments (the rest of a simulator's parameters) are ignored, so
    ``xes_expected_counts(..., **spectra.metadata['simulator'])`` works.

    Parameters
    ----------
    axis : array-like of shape (m,) or Spectra
        Energy axis (eV); a :class:`~specstate.Spectra` gives its axis.
    pumped : bool or array-like of bool of shape (n,)
        Whether each shot was pumped (carries the excited fraction).
    energy_shift : float or array-like of shape (n,)
        Energy-scale offset of each shot (eV).
    pulse_energy : float or array-like of shape (n,)
        Pulse energy of each shot (same unit as `pulse_energy_mean`, µJ by default).
    excited_fraction : float, default=0.3
        Fraction of molecules in the high-spin state in pumped shots.
    photons : float, default=1500
        Mean number of Kβ photons per shot at the mean pulse energy.
    pulse_energy_mean : float, default=1000
        Mean pulse energy (µJ).
    sample_factor : float or array-like of shape (n,), default=1
        Per-shot factor not seen by the pulse-energy monitor (jet thickness, pointing).
    background : float, default=0.02
        Flat background, photons per pixel per shot at the mean pulse energy.
    unknown_fraction : float, default=0.0
        Share of the iron in the third species ``'iron(III)'`` (the rest in the spin states
        above): ``(1 - u) [(1 - f) LS + f HS] + u Fe(III)``.

    Returns
    -------
    numpy.ndarray of shape (n, m)
        Expected counts (float64).

    Examples
    --------
    >>> axis = np.linspace(7030, 7075, 300)
    >>> mu = xes_expected_counts(axis, [True, False], 0.0, 1000.0)
    >>> mu.shape, bool(mu[0, :50].sum() > mu[1, :50].sum())  # the Kβ' of the excited shots
    ((2, 300), True)
    """
    if isinstance(axis, Spectra):
        axis = axis.axis
    axis = np.asarray(axis, dtype=np.float64)
    per_shot = {
        "pumped": np.asarray(pumped, dtype=bool).reshape(-1),
        "energy_shift": np.asarray(energy_shift, dtype=np.float64).reshape(-1),
        "pulse_energy": np.asarray(pulse_energy, dtype=np.float64).reshape(-1),
        "sample_factor": np.asarray(sample_factor, dtype=np.float64).reshape(-1),
    }
    n = max(v.size for v in per_shot.values())
    sizes = {k: v.size for k, v in per_shot.items()}
    if any(size not in (1, n) for size in sizes.values()):
        raise SpectraFormatError(
            f"xes_expected_counts needs one value per shot or one for all in each of "
            f"{', '.join(sizes)}; got sizes {sizes}."
        )
    pumped, shift, energy, factor = (np.broadcast_to(v, (n,)) for v in per_shot.values())
    scale = energy / pulse_energy_mean
    u = float(unknown_fraction)
    states = ("low-spin", "high-spin") + ((UNKNOWN_SPECIES,) if u > 0 else ())
    low, high, *unknown = _shapes_on(axis, shift, states)
    f = np.where(pumped, excited_fraction, 0.0)[:, None]
    bin_width = np.gradient(axis)[None, :]  # counts in a pixel = shape x pixel width
    line = (1.0 - f) * low + f * high
    if unknown:
        line = (1.0 - u) * line + u * unknown[0]
    line *= (photons * scale * factor)[:, None] * bin_width
    line += background * scale[:, None]
    return line


def xes_expected_counts_for(spectra: Spectra, pumped, *, energy_shift=None,
                            **model) -> np.ndarray:
    """Expected counts of simulated shots as if they were (or were not) pumped.

    Parameters
    ----------
    spectra : Spectra
        Output of :func:`simulate_xes` (its ``params`` and ``metadata['simulator']``).
    pumped : bool or array-like of bool of shape (n,)
        The state to assume for each shot.
    energy_shift : float or array-like of shape (n,), optional
        Energy shifts to assume instead of the true ones (e.g. 0.0: the nominal calibration,
        as a model that ignores the drift sees it).
    **model
        Parameters of the model to assume instead of the simulator's (``photons=0``: an
        empty shot, only background; ``unknown_fraction=1``: the third species), as
        :func:`xes_expected_counts` takes them.

    Returns
    -------
    numpy.ndarray of shape (n, m)
        Expected counts given each shot's true energy shift, pulse energy and sample factor.

    Raises
    ------
    SpectraFormatError
        If the spectra do not come from :func:`simulate_xes`.
    """
    sim = spectra.metadata.get("simulator")
    name = sim.get("name") if isinstance(sim, dict) else None
    if name != _WHERE:
        raise SpectraFormatError(
            "Expected spectra made by simulate_xes (metadata['simulator']['name'] == "
            f"'simulate_xes'); got simulator {name!r}."
        )
    p = spectra.params
    pumped = np.broadcast_to(np.asarray(pumped, dtype=bool), (spectra.n_spectra,))
    shift = p["energy_shift"] if energy_shift is None else energy_shift
    return xes_expected_counts(
        spectra.axis, pumped, shift, p["pulse_energy"],
        sample_factor=p["sample_factor"],
        **{**{k: v for k, v in sim.items() if k != "name"}, **model},
    )


def xes_noise_limit(spectra: Spectra, *, known_drift: bool = True) -> tuple[float, np.ndarray]:
    """Photon/detector-noise limit of shot-by-shot pumped/unpumped classification.

    For every shot, the log-likelihood ratio of "pumped" against "unpumped" given its true
    energy shift, pulse energy and sample factor, with independent Gaussian pixels of
    variance ``expected + read_noise**2`` (Poisson photons plus read noise):

    ``llr = sum_pixels [log N(x; mu_p, var_p) - log N(x; mu_u, var_u)]``.

    A shot is called pumped when ``llr + log(p / (1 - p)) > 0`` (``p`` the pumped fraction
    of the run); the accuracy of these calls against the labels is the ceiling of any
    classifier that sees one shot at a time and does not know the truth.

    Parameters
    ----------
    spectra : Spectra
        Output of :func:`simulate_xes`, labels included.
    known_drift : bool, default=True
        True: the ceiling, with each shot's true energy shift. False: the same ideal
        classifier but blind to the energy-scale drift (it assumes the nominal calibration,
        shift 0); the difference is what not tracking the drift costs.

    Returns
    -------
    accuracy : float
        Fraction of shots called right.
    llr : numpy.ndarray of shape (n,)
        Log-likelihood ratio per shot (float64; > 0 favours pumped).

    Raises
    ------
    SpectraFormatError
        If the spectra do not come from :func:`simulate_xes` or carry no labels.

    Examples
    --------
    >>> s = simulate_xes(n_shots=2000, random_state=0)
    >>> accuracy, llr = xes_noise_limit(s)
    >>> 0.5 < accuracy < 1.0
    True
    """
    if spectra.labels is None:
        raise SpectraFormatError("xes_noise_limit needs the labels of the shots; got none.")
    sim = spectra.metadata.get("simulator", {})
    read_var = float(sim.get("read_noise", 0.0)) ** 2
    n = spectra.n_spectra
    shift = None if known_drift else 0.0
    llr = np.empty(n)
    for lo in range(0, n, _BLOCK):  # blocks bound memory; each block is vectorised
        part = spectra[lo:lo + _BLOCK]
        x = part.intensity.astype(np.float64)
        var_p = np.maximum(xes_expected_counts_for(part, True, energy_shift=shift), 0.0)
        var_u = np.maximum(xes_expected_counts_for(part, False, energy_shift=shift), 0.0)
        var_p += read_var
        var_u += read_var
        mu_p, mu_u = var_p - read_var, var_u - read_var
        llr[lo:lo + _BLOCK] = -0.5 * (
            ((x - mu_p) ** 2 / var_p + np.log(var_p)) - ((x - mu_u) ** 2 / var_u + np.log(var_u))
        ).sum(axis=1)
    frac = float(sim.get("pumped_fraction", 0.5))
    prior = np.log(frac / (1.0 - frac)) if 0 < frac < 1 else 0.0
    truth = np.asarray(spectra.labels) == "pumped"
    accuracy = float(np.mean((llr + prior > 0) == truth))
    return accuracy, llr


def simulate_xes(
    n_shots: int = 20000,
    n_points: int = 300,
    energy: tuple[float, float] = (7030.0, 7075.0),
    excited_fraction: float = 0.3,
    pumped_fraction: float = 0.5,
    photons: float = 1500.0,
    sase_rms: float = 0.25,
    read_noise: float = 1.0,
    drift_ev: float = 0.3,
    random_state: int | np.random.Generator | None = None,
    dtype=np.float32,
    *,
    pump_pattern: str | None = None,
    pulses_per_train: int = 2700,
    pulse_energy_mean: float = 1000.0,
    sample_jitter: float = 0.05,
    background: float = 0.02,
    unknown_fraction: float = 0.0,
) -> Spectra:
    """Single-shot Fe Kβ emission spectra of a pump-probe spin-crossover experiment.

    An Fe(II) low-spin complex in solution is probed shot by shot with SASE pulses; pumped
    shots have a fraction `excited_fraction` of molecules in the high-spin state. The line
    shapes, the counting and the detector are described in the module notes of
    :mod:`specstate.datasets._xes`; what varies from shot to shot:

    * **pulse energy** (µJ): gamma-distributed with mean `pulse_energy_mean` and relative rms
      `sase_rms` (SASE statistics of M = 1/rms² modes), recorded as ``monitor`` and
      ``params['pulse_energy']``;
    * **sample factor**: log-normal, rms `sample_jitter` (jet thickness, pointing); not seen by
      the monitor, recorded as ``params['sample_factor']``;
    * **energy shift** (eV): a slow, smooth drift of the spectrometer's energy scale with a
      peak-to-peak of `drift_ev` over the run (random sines plus a linear trend),
      ``params['energy_shift']``;
    * **state**: ``pump_pattern='alternating'`` pumps every other pulse (even pulse ids: the
      pump laser at half the repetition rate, so both states are present in every train);
      ``'random'`` pumps each shot with probability `pumped_fraction`. Default:
      ``'alternating'`` when `pumped_fraction` is 0.5, else ``'random'``.

    Parameters
    ----------
    n_shots : int, default=20000
        Number of shots.
    n_points : int, default=300
        Pixels of the energy axis.
    energy : (float, float), default=(7030, 7075)
        Energy range (eV).
    excited_fraction : float, default=0.3
        High-spin fraction in pumped shots.
    pumped_fraction : float, default=0.5
        Share of pumped shots.
    photons : float, default=1500
        Mean Kβ photons per shot at the mean pulse energy.
    sase_rms : float, default=0.25
        Relative rms of the pulse energy.
    read_noise : float, default=1.0
        Gaussian read noise per pixel (rms, in counts = photons).
    drift_ev : float, default=0.3
        Peak-to-peak drift of the energy scale over the run (eV).
    random_state : int, numpy.random.Generator or None
        Seed or generator; the same seed gives the same shots.
    dtype : numpy dtype, default=numpy.float32
        Dtype of the counts.
    pump_pattern : {'alternating', 'random'}, optional
        How shots are chosen to be pumped (see above).
    pulses_per_train : int, default=2700
        Pulses per train for ``train_ids`` / ``pulse_ids`` (2,700 at most at the EuXFEL).
    pulse_energy_mean : float, default=1000
        Mean pulse energy (µJ).
    sample_jitter : float, default=0.05
        Relative rms of the per-shot sample factor.
    background : float, default=0.02
        Flat background, photons per pixel per shot at the mean pulse energy.
    unknown_fraction : float, default=0.0
        Share of the iron in every shot that is a third species no reference shows
        (``'iron(III)'`` of :data:`XES_LINES`, an oxidised product); the labels stay those
        of the pump (:func:`simulate_xes_third_species` splices such a run into a normal one
        and marks it).

    Returns
    -------
    Spectra
        Counts (n_shots, n_points) on an ``'energy'`` axis (eV); ``labels`` ``'pumped'`` /
        ``'unpumped'``; ``monitor`` the pulse energy; ``train_ids``, ``pulse_ids``;
        ``params``: ``'pulse_energy'``, ``'energy_shift'``, ``'sample_factor'``,
        ``'pumped'`` (bool), ``'excited_fraction'`` (per shot: f or 0) and ``'photons'``
        (expected Kβ photons of the shot); ``metadata['simulator']`` holds the parameters,
        for :func:`xes_expected_counts_for` and :func:`xes_noise_limit`.

    Raises
    ------
    SpectraFormatError
        If a parameter is out of range.

    Examples
    --------
    >>> s = simulate_xes(n_shots=1000, random_state=0)
    >>> s.shape, sorted(set(s.labels.tolist()))
    ((1000, 300), ['pumped', 'unpumped'])
    """
    n = check_positive_int(n_shots, "n_shots", _WHERE)
    m = check_positive_int(n_points, "n_points", _WHERE, minimum=2)
    lo, hi = check_range(energy, "energy", _WHERE)
    ppt = check_positive_int(pulses_per_train, "pulses_per_train", _WHERE)
    for name, value, low, high in (
        ("excited_fraction", excited_fraction, 0.0, 1.0),
        ("pumped_fraction", pumped_fraction, 0.0, 1.0),
        ("sase_rms", sase_rms, 0.0, 10.0),
        ("sample_jitter", sample_jitter, 0.0, 10.0),
        ("unknown_fraction", unknown_fraction, 0.0, 1.0),
    ):
        if not low <= value <= high:
            raise SpectraFormatError(
                f"The {name!r} parameter of {_WHERE} must be in [{low}, {high}]; got {value!r}."
            )
    for name, value in (("photons", photons), ("read_noise", read_noise),
                        ("drift_ev", drift_ev), ("background", background),
                        ("pulse_energy_mean", pulse_energy_mean)):
        if not (np.isfinite(value) and value >= 0):
            raise SpectraFormatError(
                f"The {name!r} parameter of {_WHERE} must be a finite number >= 0; "
                f"got {value!r}."
            )
    if pump_pattern is None:
        pump_pattern = "alternating" if pumped_fraction == 0.5 else "random"
    if pump_pattern not in ("alternating", "random"):
        raise SpectraFormatError(
            f"The 'pump_pattern' parameter of {_WHERE} must be 'alternating' or 'random'; "
            f"got {pump_pattern!r}."
        )
    if pump_pattern == "alternating" and pumped_fraction != 0.5:
        raise SpectraFormatError(
            f"pump_pattern='alternating' pumps half of the shots; got pumped_fraction="
            f"{pumped_fraction}. Use pump_pattern='random'."
        )
    rng = np.random.default_rng(random_state)

    axis = np.linspace(lo, hi, m)
    index = np.arange(n)
    train_ids = _FIRST_TRAIN_ID + index // ppt
    pulse_ids = index % ppt
    if pump_pattern == "alternating":
        pumped = pulse_ids % 2 == 0
    else:
        pumped = rng.random(n) < pumped_fraction
    if sase_rms > 0:
        modes = 1.0 / sase_rms**2  # gamma(M) with mean 1 and rms 1/sqrt(M)
        pulse_energy = pulse_energy_mean * rng.gamma(modes, 1.0 / modes, n)
    else:
        pulse_energy = np.full(n, float(pulse_energy_mean))
    sample_factor = np.exp(sample_jitter * rng.standard_normal(n) - 0.5 * sample_jitter**2)
    energy_shift = drift_ev * smooth_drift(rng, n)

    model = {
        "excited_fraction": float(excited_fraction),
        "photons": float(photons),
        "pulse_energy_mean": float(pulse_energy_mean),
        "background": float(background),
        "unknown_fraction": float(unknown_fraction),
    }
    expected = xes_expected_counts(axis, pumped, energy_shift, pulse_energy,
                                   sample_factor=sample_factor, **model)
    counts = rng.poisson(expected).astype(np.float64)
    if read_noise > 0:
        counts += read_noise * rng.standard_normal(counts.shape)
    simulator = {
        "name": _WHERE,
        **model,
        "n_shots": n, "n_points": m, "energy": [lo, hi],
        "pumped_fraction": float(pumped_fraction), "pump_pattern": pump_pattern,
        "sase_rms": float(sase_rms), "read_noise": float(read_noise),
        "drift_ev": float(drift_ev), "pulses_per_train": ppt,
        "sample_jitter": float(sample_jitter),
        "random_state": random_state if isinstance(random_state, (int, np.integer)) else None,
    }
    logger.debug("simulated %d XES shots of %d pixels", n, m)
    return Spectra(
        counts.astype(dtype),
        axis,
        axis_name="energy",
        axis_unit="eV",
        labels=np.where(pumped, XES_STATES[0], XES_STATES[1]),
        train_ids=train_ids,
        pulse_ids=pulse_ids,
        monitor=pulse_energy,
        params={
            "pulse_energy": pulse_energy,
            "energy_shift": energy_shift,
            "sample_factor": sample_factor,
            "pumped": pumped,
            "excited_fraction": np.where(pumped, excited_fraction, 0.0),
            "photons": photons * pulse_energy / pulse_energy_mean * sample_factor,
        },
        metadata={
            "states": XES_STATES,
            "source": "simulated",
            "simulator": simulator,
        },
    )
