"""Smooth, random, slowly varying curves: drifts of beam, background and energy scale."""

from __future__ import annotations

import numpy as np

from ..exceptions import SpectraFormatError

__all__ = ["smooth_drift", "check_range", "check_positive_int"]

# Slowest and fastest Fourier component of a drift, in cycles over the whole run: slow
# enough that neighbouring spectra hardly differ, fast enough to not be a straight line.
_MIN_CYCLES = 0.2
_MAX_CYCLES = 2.0


def smooth_drift(rng: np.random.Generator, n: int, n_modes: int = 3, trend: float = 0.5):
    """A smooth random curve over `n` samples, zero mean and peak-to-peak 1.

    A linear trend (weight `trend`) plus `n_modes` sines of random frequency
    (0.2–2 cycles over the run), phase and amplitude; then centred and scaled to a
    peak-to-peak of exactly 1, so a caller multiplies by the drift amplitude it wants.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    n : int
        Number of samples (spectra).
    n_modes : int, default=3
        Number of sine components.
    trend : float, default=0.5
        Standard deviation of the random linear trend relative to the sines.

    Returns
    -------
    numpy.ndarray of shape (n,)
        The drift (float64); all zeros if ``n == 1``.
    """
    t = np.linspace(0.0, 1.0, n)
    freq = rng.uniform(_MIN_CYCLES, _MAX_CYCLES, n_modes)
    phase = rng.uniform(0.0, 2 * np.pi, n_modes)
    amp = rng.normal(size=n_modes)
    slope = rng.normal() * trend
    curve = (amp[:, None] * np.sin(2 * np.pi * freq[:, None] * t + phase[:, None])).sum(0)
    curve += slope * (t - 0.5)
    curve -= curve.mean()
    ptp = np.ptp(curve)
    return curve / ptp if ptp > 0 else curve


def check_positive_int(value, name: str, where: str, minimum: int = 1) -> int:
    """Return `value` as an int, or raise if it is not an integer >= `minimum`."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or value < minimum:
        raise SpectraFormatError(
            f"The {name!r} parameter of {where} must be an int >= {minimum}; got {value!r}."
        )
    return int(value)


def check_range(value, name: str, where: str) -> tuple[float, float]:
    """Return `value` as ``(lo, hi)`` floats with lo < hi, or raise."""
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        lo, hi = np.nan, np.nan
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise SpectraFormatError(
            f"The {name!r} parameter of {where} must be a pair (low, high) with low < high; "
            f"got {value!r}."
        )
    return lo, hi
