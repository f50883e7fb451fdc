"""Simulated runs in which something changes: a melt, a pump onset, a third species, empty shots.

These cases complete the ramps of :func:`simulate_xrd_ramp` and the shots of
:func:`simulate_xes` for :class:`specstate.ChangeDetector` and for the novelty score of
:class:`specstate.SpectraClassifier`: a stream in which nothing changes but every nuisance
moves (for the false-alarm rate), the end of a ramp where the sample melts, a pump-probe XES
run whose pump laser starts mid-run, one in which a third species appears mid-run, and runs
with empty shots (no sample in the beam).

Every run that changes at some shots is made the same way (:func:`_splice`): two runs of the
same simulator from the same seed (the same pulse energies, drifts, beam and background), one
as it was and one as it became, spliced shot by shot.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from ..exceptions import SpectraFormatError
from ..spectra import Spectra
from ._drift import check_positive_int, smooth_drift

__all__ = ["stationary_stream", "simulate_xrd_melt", "simulate_xes_pump_onset",
           "simulate_xes_third_species", "simulate_empty_shots", "EMPTY_SIMULATORS"]

# Stationary stream: two Gaussian peaks on a flat background (counts at the mean pulse
# energy); positions (fraction of the axis) and rms widths (points) of the peaks.
_PEAKS = ((0.3, 2.5, 400.0), (0.65, 3.5, 250.0))
_BACKGROUND = 50.0
# Liquid halo of a melt: rms width (deg of 2theta) of the diffuse first peak of a liquid
# metal (structure factor S(q) of liquid Fe: first maximum ~0.5 A^-1 wide at ~3 A^-1).
_HALO_WIDTH_DEG = 0.8
#: Simulators :func:`simulate_empty_shots` runs, and the parameter that takes the sample out
#: of the beam (its photons: the Kβ line, the Bragg lines) while the rest stays.
EMPTY_SIMULATORS = {"xes": "photons", "xrd": "peak_counts"}


def _splice(base: Spectra, changed: Spectra, where, label: str, name: str,
            **metadata) -> Spectra:
    """`base` with the shots `where` taken from `changed` (a run of the same seed).

    The spliced shots get the label `label` and their per-shot ``params`` from `changed`;
    ``params[name]`` marks them; `metadata` is added to base's (whose ``'simulator'`` entry
    is kept, so the expected counts of either run can be recomputed).
    """
    where = np.asarray(where, dtype=bool)
    x = base.intensity.copy()
    x[where] = changed.intensity[where]
    labels = np.where(where, label, np.asarray(base.labels, dtype=object)).astype(str)
    params = {k: np.where(where, changed.params[k], v) if k in changed.params else v
              for k, v in base.params.items()}
    params[name] = where
    return replace(base, intensity=x, labels=labels, params=params,
                   metadata={**base.metadata, **metadata})


def _seed(random_state) -> int:
    """One integer seed for the runs that are spliced (the same nuisances in both)."""
    return int(np.random.default_rng(random_state).integers(2**31))


def stationary_stream(n_spectra: int, n_points: int = 64, *, chunk: int = 27_000,
                      sase_rms: float = 0.25, background_drift: float = 0.2,
                      shift_drift: float = 1.0, photons_scale: float = 1.0,
                      random_state=None) -> Iterator[np.ndarray]:
    """Chunks of a stream of spectra in which the sample never changes.

    Every nuisance the detector must ignore moves: Poisson counts, a gamma-distributed
    pulse energy (relative rms `sase_rms`, SASE statistics), a smooth drift of the
    background (relative peak-to-peak `background_drift`) and of the energy scale
    (`shift_drift` points peak-to-peak, moving every peak together). The drifts span the
    whole stream, so each chunk sees only a slow part of them.

    Parameters
    ----------
    n_spectra : int
        Spectra in the whole stream.
    n_points : int, default 64
        Points per spectrum.
    chunk : int, default 27000
        Spectra per yielded chunk (one second at the European XFEL).
    sase_rms, background_drift, shift_drift, photons_scale : float
        Nuisance amplitudes; `photons_scale` multiplies all counts.
    random_state : int, numpy.random.Generator or None

    Yields
    ------
    numpy.ndarray of shape (chunk, n_points), float32
    """
    n = check_positive_int(n_spectra, "n_spectra", "stationary_stream")
    m = check_positive_int(n_points, "n_points", "stationary_stream", minimum=8)
    rng = np.random.default_rng(random_state)
    n_knots = 256  # drifts are smooth curves: evaluated on knots, interpolated per chunk
    knots = np.linspace(0, n - 1, n_knots)
    bg_knots = 1.0 + background_drift * smooth_drift(rng, n_knots)
    shift_knots = shift_drift * smooth_drift(rng, n_knots)
    j = np.arange(m, dtype=np.float64)
    modes = 1.0 / sase_rms**2 if sase_rms > 0 else None
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        t = np.arange(start, stop)
        bg = np.interp(t, knots, bg_knots)
        shift = np.interp(t, knots, shift_knots)
        mean = np.broadcast_to(_BACKGROUND * bg[:, None], (t.size, m)).copy()
        for centre, width, height in _PEAKS:
            mean += height * np.exp(-0.5 * ((j[None, :] - centre * m - shift[:, None])
                                            / width) ** 2)
        energy = rng.gamma(modes, 1.0 / modes, t.size) if modes else np.ones(t.size)
        mean *= (photons_scale * energy)[:, None]
        yield rng.poisson(mean).astype(np.float32)


def simulate_xrd_melt(n_patterns: int = 349, melt: tuple[int, int] = (300, 310),
                      random_state=None, *, noise: bool = True, **kwargs) -> Spectra:
    """A pressure ramp whose iron melts near its end: Bragg peaks give way to a liquid halo.

    The ramp of :func:`simulate_xrd_ramp` (``variant='lattice-jump'``: hcp Fe and the oxide,
    its crossover window put beyond the run unless `transition` is given) is drawn
    noise-free; from ``melt[0]`` to ``melt[1]`` the molten fraction ``f`` of the sample
    rises linearly to 1: the Bragg lines (the pattern above its smooth background) scale by
    ``1 - f`` and a diffuse halo of the same integrated intensity grows at the position of
    the strongest line (rms width 0.8°, the first peak of a liquid metal's structure
    factor). Poisson counts are drawn last.

    Parameters
    ----------
    n_patterns : int, default 349
    melt : (int, int), default (300, 310)
        Window of the melt (start included, stop excluded).
    random_state : int, numpy.random.Generator or None
    noise : bool, default True
        Draw Poisson counts; False returns the expected counts (for a likelihood-ratio
        test of the melt).
    **kwargs
        Further parameters of :func:`simulate_xrd_ramp`; a `transition` inside the run puts
        the ramp's own change of state (the oxide's spin crossover) before the melt.

    Returns
    -------
    Spectra
        Labels ``'solid'`` (or, with a `transition`, the ramp's states), ``'melting'`` inside
        the melt window, ``'liquid'`` after it; ``params['fraction']`` the molten fraction
        and ``params['state_fraction']`` the ramp's; ``metadata['transition']`` the melt
        window.

    Raises
    ------
    SpectraFormatError
        If the melt window is outside the run.
    """
    from ._xrd import simulate_xrd_ramp

    n = check_positive_int(n_patterns, "n_patterns", "simulate_xrd_melt")
    start, stop = (int(v) for v in melt)
    if not 0 <= start < stop <= n:
        raise SpectraFormatError(
            f"The 'melt' parameter of simulate_xrd_melt must be (start, stop) with "
            f"0 <= start < stop <= n_patterns ({n}); got {melt!r}."
        )
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    rng = np.random.default_rng(random_state)
    crossover = "transition" in kwargs
    ramp = {"variant": "lattice-jump", "transition": (n, n + 1), **kwargs}
    solid = simulate_xrd_ramp(n_patterns=n + 1, noise=False, random_state=rng, **ramp)[:n]
    axis = solid.axis
    mean = solid.intensity.astype(np.float64)
    # Bragg intensity: the pattern above its smooth background (a running minimum over
    # twice the halo width, smoothed), and the position of the strongest line
    reach = max(3, int(round(2 * _HALO_WIDTH_DEG / (axis[1] - axis[0]))))
    background = uniform_filter1d(minimum_filter1d(mean, reach, axis=1), reach, axis=1)
    bragg = np.clip(mean - background, 0, None)
    frac = np.clip((np.arange(n) - start + 1) / (stop - start), 0.0, 1.0)
    centre = axis[np.argmax(bragg, axis=1)]
    halo = np.exp(-0.5 * ((axis[None, :] - centre[:, None]) / _HALO_WIDTH_DEG) ** 2)
    halo *= (bragg.sum(axis=1) / halo.sum(axis=1))[:, None]
    mean = np.clip(mean + frac[:, None] * (halo - bragg), 0, None)
    x = (rng.poisson(mean) if noise else mean).astype(np.float32)
    before = np.asarray(solid.labels) if crossover else np.full(n, "solid")
    labels = np.where(frac <= 0, before, np.where(frac >= 1, "liquid", "melting"))
    return Spectra(x, axis=axis, axis_name=solid.axis_name, labels=labels,
                   params={"fraction": frac, "state_fraction": solid.params["fraction"],
                           "pressure": solid.params["pressure"]},
                   metadata={"transition": (start, stop), "simulator": "simulate_xrd_melt",
                             "wavelength": solid.metadata["wavelength"]})


def simulate_xes_pump_onset(n_shots: int = 20_000, onset: int = 10_000, *,
                            random_state=None, **kwargs) -> Spectra:
    """Single-shot Fe Kβ XES whose pump laser starts pumping every shot at shot `onset`.

    Two runs of :func:`simulate_xes` from the same seed, one never pumped and one always
    pumped (``pump_pattern='random'`` with fraction 0 and 1: the same pulse energies,
    sample factors and energy drift), are spliced at `onset`.

    Parameters
    ----------
    n_shots : int, default 20000
    onset : int, default 10000
        First pumped shot.
    random_state : int or None
        Seed of both runs.
    **kwargs
        Further parameters of :func:`simulate_xes` (``excited_fraction``, ``photons``...).

    Returns
    -------
    Spectra
        With ``metadata['transition'] = (onset, onset + 1)``.
    """
    from ._xes import simulate_xes

    n = check_positive_int(n_shots, "n_shots", "simulate_xes_pump_onset")
    if not 0 < int(onset) < n:
        raise SpectraFormatError(
            f"The 'onset' parameter of simulate_xes_pump_onset must be in (0, {n}); got "
            f"{onset!r}."
        )
    seed = _seed(random_state)
    off = simulate_xes(n_shots=n, pumped_fraction=0.0, pump_pattern="random",
                       random_state=seed, **kwargs)
    on = simulate_xes(n_shots=n, pumped_fraction=1.0, pump_pattern="random",
                      random_state=seed, **kwargs)
    return _splice(off, on, np.arange(n) >= onset, "pumped", "pumped",
                   transition=(int(onset), int(onset) + 1),
                   simulator_name="simulate_xes_pump_onset")


def simulate_xes_third_species(n_shots: int = 20_000, onset: int = 10_000, *,
                               unknown_fraction: float = 1.0, random_state=None,
                               **kwargs) -> Spectra:
    """Pump-probe Fe Kβ XES in which a third species, seen by no reference, appears mid-run.

    From shot `onset` on, a share `unknown_fraction` of the iron in every shot is Fe(III)
    high spin (``'iron(III)'`` of :data:`~specstate.datasets.XES_LINES`: the main line
    above both spin states', a stronger Kβ' further from it), e.g. a sample oxidising in
    its reservoir; the rest is pumped or not as before. Its spectrum is no linear mixture of
    the low- and high-spin lines. Two runs of :func:`simulate_xes` from the same seed (the
    same pulses, pump pattern and drift), without and with the species, are spliced at
    `onset`.

    Parameters
    ----------
    n_shots : int, default 20000
    onset : int, default 10000
        First shot with the third species.
    unknown_fraction : float, default 1.0
        Share of the iron in the third species from `onset` on, in (0, 1].
    random_state : int, numpy.random.Generator or None
        Seed of both runs.
    **kwargs
        Further parameters of :func:`simulate_xes` (``photons``, ``n_points``...).

    Returns
    -------
    Spectra
        Labels ``'pumped'`` / ``'unpumped'`` before `onset`, ``'unknown'`` from it;
        ``params['unknown']`` (bool) marks those shots and ``params['pumped']`` still says
        which were pumped; ``metadata['simulator']`` is the run without the species (so
        ``xes_expected_counts_for(s, pumped, unknown_fraction=f)`` gives either
        expectation) and ``metadata['transition'] = (onset, onset + 1)``.

    Raises
    ------
    SpectraFormatError
        If `onset` is outside the run or `unknown_fraction` outside (0, 1].

    Examples
    --------
    >>> s = simulate_xes_third_species(n_shots=1000, onset=600, random_state=0)
    >>> sorted(set(s.labels[:600].tolist())), set(s.labels[600:].tolist())
    (['pumped', 'unpumped'], {'unknown'})
    """
    from ._xes import simulate_xes

    n = check_positive_int(n_shots, "n_shots", "simulate_xes_third_species")
    if not 0 < int(onset) < n:
        raise SpectraFormatError(
            f"The 'onset' parameter of simulate_xes_third_species must be in (0, {n}); got "
            f"{onset!r}."
        )
    if not 0 < unknown_fraction <= 1:
        raise SpectraFormatError(
            "The 'unknown_fraction' parameter of simulate_xes_third_species must be in "
            f"(0, 1]; got {unknown_fraction!r}."
        )
    seed = _seed(random_state)
    known = simulate_xes(n_shots=n, random_state=seed, **kwargs)
    changed = simulate_xes(n_shots=n, random_state=seed, unknown_fraction=unknown_fraction,
                           **kwargs)
    return _splice(known, changed, np.arange(n) >= onset, "unknown", "unknown",
                   transition=(int(onset), int(onset) + 1),
                   unknown_fraction=float(unknown_fraction))


def simulate_empty_shots(simulator: str = "xes", empty_fraction: float = 0.1, *,
                         random_state=None, **kwargs) -> Spectra:
    """A run of which a share of the shots had no sample in the beam.

    When the liquid jet misses the beam, or the beam the sample in a diamond-anvil cell,
    the detector still sees the background (solvent and air scattering; the pressure
    medium's hump and the anvils' Compton scattering) and its counting noise, and nothing
    of the sample. Two runs of the simulator from the same seed are spliced: the run as
    simulated and the same run without the sample's photons (``photons=0`` of
    :func:`simulate_xes`, ``peak_counts=0`` of :func:`simulate_xrd_ramp`: the same pulse
    energies or beam, the same background), a random `empty_fraction` of the shots taken
    from the second. (The unmasked diamond spots of ``diamond_spots`` are scaled by
    ``peak_counts`` in :func:`simulate_xrd_ramp`, so they go with the sample.)

    Parameters
    ----------
    simulator : {'xes', 'xrd'}, default 'xes'
        :func:`simulate_xes` or :func:`simulate_xrd_ramp`.
    empty_fraction : float, default 0.1
        Share of empty shots, in [0, 1] (1: every shot empty).
    random_state : int, numpy.random.Generator or None
        Seed of both runs and of the choice of the empty shots.
    **kwargs
        Further parameters of the simulator (``n_shots``, ``n_patterns``, ``photons``...).

    Returns
    -------
    Spectra
        The simulator's labels, ``'empty'`` at the empty shots, which ``params['empty']``
        (bool) marks; the simulator's other params and metadata (``'simulator'``: the run
        with the sample).

    Raises
    ------
    SpectraFormatError
        If `simulator` is not one of :data:`EMPTY_SIMULATORS` or `empty_fraction` is outside
        [0, 1].

    Examples
    --------
    >>> s = simulate_empty_shots("xes", 0.2, n_shots=1000, random_state=0)
    >>> round(float(s.params["empty"].mean()), 1), bool(s.intensity[s.params["empty"]].sum()
    ...     < 0.1 * s.intensity[~s.params["empty"]].sum())
    (0.2, True)
    """
    from ._xes import simulate_xes
    from ._xrd import simulate_xrd_ramp

    if simulator not in EMPTY_SIMULATORS:
        raise SpectraFormatError(
            f"The 'simulator' parameter of simulate_empty_shots must be one of "
            f"{tuple(EMPTY_SIMULATORS)}; got {simulator!r}."
        )
    if not 0 <= empty_fraction <= 1:
        raise SpectraFormatError(
            "The 'empty_fraction' parameter of simulate_empty_shots must be in [0, 1]; got "
            f"{empty_fraction!r}."
        )
    run = {"xes": simulate_xes, "xrd": simulate_xrd_ramp}[simulator]
    rng = np.random.default_rng(random_state)
    seed = _seed(rng)
    full = run(random_state=seed, **kwargs)
    empty = run(random_state=seed, **{**kwargs, EMPTY_SIMULATORS[simulator]: 0.0})
    where = np.zeros(full.n_spectra, bool)
    where[rng.choice(full.n_spectra, int(round(empty_fraction * full.n_spectra)),
                     replace=False)] = True
    return _splice(full, empty, where, "empty", "empty",
                   empty_fraction=float(empty_fraction))
