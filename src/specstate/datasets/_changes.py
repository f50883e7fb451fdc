"""Simulated runs for label-free change detection: stationary streams, a melt, a pump onset.

These cases complete the ramps of :func:`simulate_xrd_ramp` for
:class:`specstate.ChangeDetector`: a stream in which nothing changes but every nuisance
moves (for the false-alarm rate), the end of a ramp where the sample melts, and a
pump-probe XES run whose pump laser starts mid-run.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..exceptions import SpectraFormatError
from ..spectra import Spectra
from ._drift import check_positive_int, smooth_drift

__all__ = ["stationary_stream", "simulate_xrd_melt", "simulate_xes_pump_onset"]

# Stationary stream: two Gaussian peaks on a flat background (counts at the mean pulse
# energy); positions (fraction of the axis) and rms widths (points) of the peaks.
_PEAKS = ((0.3, 2.5, 400.0), (0.65, 3.5, 250.0))
_BACKGROUND = 50.0
# Liquid halo of a melt: rms width (deg of 2theta) of the diffuse first peak of a liquid
# metal (structure factor S(q) of liquid Fe: first maximum ~0.5 A^-1 wide at ~3 A^-1).
_HALO_WIDTH_DEG = 0.8


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
                      random_state=None, noise: bool = True, **kwargs) -> Spectra:
    """A pressure ramp whose iron melts near its end: Bragg peaks give way to a liquid halo.

    The ramp of :func:`simulate_xrd_ramp` (``variant='lattice-jump'``: hcp Fe and the oxide,
    its crossover window put beyond the run) is drawn noise-free; from ``melt[0]`` to
    ``melt[1]`` the molten fraction ``f`` of the sample rises linearly to 1: the Bragg
    lines (the pattern above its smooth background) scale by ``1 - f`` and a diffuse halo
    of the same integrated intensity grows at the position of the strongest line (rms width
    0.8°, the first peak of a liquid metal's structure factor). Poisson counts are drawn
    last.

    Parameters
    ----------
    n_patterns : int, default 349
    melt : (int, int), default (300, 310)
        Window of the melt (start included, stop excluded).
    random_state : int, numpy.random.Generator or None
    noise : bool, default True
        Draw Poisson counts; False returns the expected counts (the same run, noise-free).
    **kwargs
        Further parameters of :func:`simulate_xrd_ramp`.

    Returns
    -------
    Spectra
        Labels ``'solid'``, ``'mixed'``, ``'liquid'``; ``metadata['transition']`` the window.
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
    solid = simulate_xrd_ramp(n_patterns=n + 1, variant="lattice-jump",
                              transition=(n, n + 1), noise=False, random_state=rng,
                              **kwargs)[:n]
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
    mean = mean + frac[:, None] * (halo - bragg)
    mean = np.clip(mean, 0, None)
    x = (rng.poisson(mean) if noise else mean).astype(np.float32)
    labels = np.where(frac <= 0, "solid", np.where(frac >= 1, "liquid", "mixed"))
    return Spectra(x, axis=axis, axis_name=solid.axis_name, labels=labels,
                   params={"fraction": frac},
                   metadata={"transition": (start, stop), "simulator": "simulate_xrd_melt"})


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
    seed = int(np.random.default_rng(random_state).integers(2**31))
    off = simulate_xes(n_shots=n, pumped_fraction=0.0, pump_pattern="random",
                       random_state=seed, **kwargs)
    on = simulate_xes(n_shots=n, pumped_fraction=1.0, pump_pattern="random",
                      random_state=seed, **kwargs)
    x = off.intensity.copy()
    x[onset:] = on.intensity[onset:]
    labels = np.where(np.arange(n) < onset, "unpumped", "pumped")
    return Spectra(x, axis=off.axis, axis_name=off.axis_name, labels=labels,
                   train_ids=off.train_ids, pulse_ids=off.pulse_ids, monitor=off.monitor,
                   metadata={"transition": (int(onset), int(onset) + 1),
                             "simulator": "simulate_xes_pump_onset"})
