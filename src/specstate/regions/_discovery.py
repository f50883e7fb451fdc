"""Automatic region discovery: where do the states differ, and where may a boundary go.

The axis is cut into contiguous regions, each later seen by one small network. Boundaries
go into the valleys of the intensity *envelope* (the largest intensity any training spectrum,
augmented copies included, reaches at a point): a peak that shifts along a ramp sweeps a
track of high envelope, so a boundary placed in a valley never cuts a track and the whole
motion of a peak stays inside one region.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import find_peaks, peak_widths

__all__ = [
    "estimate_peak_width",
    "separability_profile",
    "equal_boundaries",
    "valley_boundaries",
    "free_points",
    "make_regions",
]

#: Fallback peak width (points, FWHM) when no peak can be measured (flat or tiny spectra).
DEFAULT_PEAK_WIDTH = 4.0
#: Peaks used to measure the typical width: the most prominent ones.
N_WIDTH_PEAKS = 7
#: Peaks whose prominence is below this fraction of the spectrum's range are not measured.
MIN_PROMINENCE = 0.02
#: A point belongs to a peak track where the envelope exceeds the median by this fraction
#: of the highest peak (peaks weaker than that may be cut by a boundary).
TRACK_LEVEL = 0.02
#: Variance floor of the separability ratio, relative to the mean within-class variance, so
#: that points without any variance (padding, masked points) do not divide by zero.
VARIANCE_FLOOR = 1e-6


def estimate_peak_width(spectrum: np.ndarray) -> float:
    """Typical peak width (FWHM, in points) of a 1-D spectrum.

    Parameters
    ----------
    spectrum : numpy.ndarray of shape (m,)
        Usually the mean training spectrum.

    Returns
    -------
    float
        The median FWHM of the most prominent peaks, or :data:`DEFAULT_PEAK_WIDTH` when no
        peak stands out.
    """
    x = np.asarray(spectrum, dtype=np.float64)
    m = x.size
    if m < 8 or not np.all(np.isfinite(x)):
        return DEFAULT_PEAK_WIDTH
    spread = float(x.max() - x.min())
    if spread <= 0:
        return DEFAULT_PEAK_WIDTH
    # widths at half the prominence: measured from each peak's own base, so a smooth
    # background (or a broad line's neighbours) does not widen them
    peaks, props = find_peaks(x, prominence=MIN_PROMINENCE * spread)
    if peaks.size == 0:
        return DEFAULT_PEAK_WIDTH
    order = np.argsort(props["prominences"])[::-1][:N_WIDTH_PEAKS]
    widths = peak_widths(x, peaks[order], rel_height=0.5)[0]
    width = float(np.median(widths)) if widths.size else DEFAULT_PEAK_WIDTH
    return float(np.clip(width, 1.0, m / 4))


def separability_profile(X: np.ndarray, y: np.ndarray, n_classes: int, smooth: float = 0.0):
    """Per-point separability: between-class over pooled within-class variance (Fisher ratio).

    Parameters
    ----------
    X : numpy.ndarray of shape (n, m)
        Preprocessed spectra (normalised, baseline removed), augmented copies included.
    y : numpy.ndarray of int of shape (n,)
        Class index of each row.
    n_classes : int
        Number of classes.
    smooth : float, default=0
        Width (points, Gaussian sigma) over which the profile is smoothed, e.g. half a peak.

    Returns
    -------
    numpy.ndarray of shape (m,)
        The ratio at every point (0 where the classes share their mean).
    """
    X = np.asarray(X, dtype=np.float64)
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    onehot = np.zeros((X.shape[0], n_classes))
    onehot[np.arange(X.shape[0]), y] = 1.0
    means = (onehot.T @ X) / np.maximum(counts, 1.0)[:, None]
    grand = counts @ means / counts.sum()
    between = counts @ (means - grand) ** 2 / counts.sum()
    within = ((X - means[y]) ** 2).sum(axis=0) / max(X.shape[0] - n_classes, 1)
    floor = VARIANCE_FLOOR * max(float(within.mean()), np.finfo(float).tiny)
    ratio = between / (within + floor)
    if smooth > 0:
        ratio = gaussian_filter1d(ratio, smooth, mode="nearest")
    return ratio


def equal_boundaries(n_points: int, n_regions: int) -> np.ndarray:
    """Boundaries (point indices, first 0, last `n_points`) of `n_regions` equal bins."""
    n_regions = max(1, min(int(n_regions), n_points))
    return np.unique(np.round(np.linspace(0, n_points, n_regions + 1)).astype(np.int64))


def valley_boundaries(
    envelope: np.ndarray, n_regions: int, min_width: int, free: np.ndarray | None = None
) -> np.ndarray:
    """Boundaries near equal spacing, each moved into a gap between peak tracks.

    Parameters
    ----------
    envelope : numpy.ndarray of shape (m,)
        Smoothed intensity envelope (maximum over augmented training spectra).
    n_regions : int
        Wanted number of regions (fewer come out where no gap is found).
    min_width : int
        Smallest allowed region, in points.
    free : numpy.ndarray of bool of shape (m,), optional
        Points outside every peak track (default: :func:`free_points` of `envelope`). A
        boundary goes to the free point nearest its ideal place within reach; if there is
        none, to the lowest envelope point there.

    Returns
    -------
    numpy.ndarray of int
        Increasing boundaries, first 0 and last m.
    """
    m = envelope.size
    min_width = max(1, int(min_width))
    n_regions = max(1, min(int(n_regions), m // min_width))
    if n_regions == 1:
        return np.array([0, m], dtype=np.int64)
    if free is None:
        free = free_points(envelope)
    step = m / n_regions
    bounds = [0]
    for k in range(1, n_regions):
        ideal = k * step
        lo = max(bounds[-1] + min_width, int(ideal - step / 2))
        hi = min(m - min_width, int(ideal + step))
        if hi <= lo:
            continue
        cand = lo + np.flatnonzero(free[lo:hi + 1])
        if cand.size:
            pick = int(cand[np.argmin(np.abs(cand - ideal))])
        else:
            window = envelope[lo:hi + 1]
            low = window.min()
            best = np.flatnonzero(window <= low + 1e-9 * abs(low) + 1e-300)
            pick = lo + int(best[np.argmin(np.abs(lo + best - ideal))])
        if pick - bounds[-1] >= min_width and m - pick >= min_width:
            bounds.append(pick)
    bounds.append(m)
    return np.asarray(bounds, dtype=np.int64)


def free_points(envelope: np.ndarray, level: float = TRACK_LEVEL) -> np.ndarray:
    """Points of the envelope outside every peak track.

    A point is inside a track when the envelope rises above the typical (median) level by
    more than `level` of the way to the highest peak; boundaries are placed elsewhere.
    """
    base = float(np.median(envelope))
    top = float(envelope.max())
    return envelope <= base + level * (top - base)


def make_regions(boundaries, axis, separability=None, weights=None):
    """Turn boundaries (point indices) into a list of :class:`Region`."""
    from ._region import Region

    b = np.asarray(boundaries, dtype=np.int64)
    n = b.size - 1
    sep = np.full(n, np.nan) if separability is None else np.asarray(separability, float)
    w = np.full(n, np.nan) if weights is None else np.asarray(weights, float)
    return [
        Region(
            start=float(axis[b[i]]),
            stop=float(axis[b[i + 1] - 1]),
            start_index=int(b[i]),
            stop_index=int(b[i + 1]),
            separability=float(sep[i]),
            weight=float(w[i]),
        )
        for i in range(n)
    ]
