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

from ..preprocessing._highpass import smooth_rows

__all__ = [
    "auto_boundaries",
    "estimate_peak_width",
    "noise_sigma",
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
#: A peak counts only when its prominence exceeds this many standard deviations of the
#: noise of the spectrum it is measured on (a 5-sigma bump is not noise; a mean spectrum of
#: photon-starved shots has many 2-3 sigma bumps that are).
PEAK_SIGMAS = 5.0
#: Second pass: the spectrum is smoothed by a Gaussian of this fraction of the first width
#: (broadens a line by sqrt(1 + (1/8)^2) ≈ 1 %, deconvolved; removes most of the noise at the
#: half-height crossings). Below MIN_SMOOTH points of sigma smoothing changes nothing.
SMOOTH_FRACTION = 1.0 / 8.0
MIN_SMOOTH = 0.5
#: FWHM of a Gaussian in standard deviations.
FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))
#: Median of a chi-square variable with one degree of freedom (robust variance from the
#: median of squares).
CHI2_1_MEDIAN = 0.4549
#: Intensity bins of the noise model var = a·level + b (at most; sqrt(m) for short spectra).
NOISE_BINS = 32
#: A point belongs to a peak track where the envelope exceeds the median by this fraction
#: of the highest peak (peaks weaker than that may be cut by a boundary).
TRACK_LEVEL = 0.02
#: Variance floor of the separability ratio, relative to the mean within-class variance, so
#: that points without any variance (padding, masked points) do not divide by zero.
VARIANCE_FLOOR = 1e-6


def noise_sigma(spectrum: np.ndarray) -> np.ndarray:
    """Standard deviation of the point-to-point noise at every point of a 1-D spectrum.

    Measured, not assumed: the squared second differences (over 6, the variance factor of
    a second difference of white noise) are binned by the local intensity and their robust
    mean per bin is fitted by ``var = a·level + b`` (counting noise grows with the counts,
    read noise does not; a and b >= 0). Smooth peaks and baselines add little to second
    differences, and the per-bin median ignores the points where they do.
    """
    x = np.asarray(spectrum, dtype=np.float64)
    if x.size < 3:
        return np.zeros(x.size)
    d2 = (x[2:] - 2 * x[1:-1] + x[:-2]) ** 2 / 6.0
    level = np.abs(x[:-2] + x[1:-1] + x[2:]) / 3.0
    n_bins = int(np.clip(np.sqrt(d2.size), 1, NOISE_BINS))
    order = np.argsort(level)
    bins = np.array_split(order, n_bins)
    lv = np.array([level[b].mean() for b in bins])
    var = np.array([np.median(d2[b]) for b in bins]) / CHI2_1_MEDIAN
    if n_bins >= 2 and np.ptp(lv) > 0:
        A = np.stack([lv, np.ones_like(lv)], axis=1)
        coef, *_ = np.linalg.lstsq(A, var, rcond=None)
        if coef[0] < 0:
            coef = np.array([0.0, float(np.median(var))])
        elif coef[1] < 0:
            coef = np.array([float(np.sum(var * lv) / np.sum(lv * lv)), 0.0])
    else:
        coef = np.array([0.0, float(np.median(var))])
    full = np.abs(x)
    return np.sqrt(np.maximum(coef[0] * full + coef[1], 0.0))


def _significant_widths(x, sigma, floor):
    """FWHM and significance (prominence over the noise at the top) of significant peaks."""
    peaks, props = find_peaks(x, prominence=floor)
    if peaks.size == 0:
        return np.zeros(0), np.zeros(0)
    z = props["prominences"] / np.maximum(sigma[peaks], floor)
    keep = z >= PEAK_SIGMAS
    if not np.any(keep):
        return np.zeros(0), np.zeros(0)
    order = np.argsort(z[keep])[::-1][:N_WIDTH_PEAKS]
    widths = peak_widths(x, peaks[keep][order], rel_height=0.5)[0]
    return widths, z[keep][order]


def _weighted_median(values, weights) -> float:
    """Median of `values` weighted by their significance.

    A barely significant bump counts less than a line that stands out by a hundred sigmas.
    """
    order = np.argsort(values)
    cw = np.cumsum(np.asarray(weights, float)[order])
    return float(np.asarray(values)[order][np.searchsorted(cw, 0.5 * cw[-1])])


def estimate_peak_width(spectrum: np.ndarray, noise: float | None = None) -> float:
    """Typical peak width (FWHM, in points) of a 1-D spectrum, measured against its noise.

    Only peaks whose prominence exceeds :data:`PEAK_SIGMAS` times the noise at their top
    count (the noise measured by :func:`noise_sigma`, which grows with the counts), so the
    noise bumps of a mean spectrum of photon-starved shots are not taken for narrow peaks.
    The width is measured twice: on the spectrum, then on the spectrum smoothed by a small
    fraction of that first estimate (less noise at the half-height crossings), with the
    smoothing deconvolved.

    Parameters
    ----------
    spectrum : numpy.ndarray of shape (m,)
        Usually the mean training spectrum.
    noise : float or numpy.ndarray of shape (m,), optional
        Standard deviation of the noise of `spectrum` (at each point); default: measured
        by :func:`noise_sigma`.

    Returns
    -------
    float
        The significance-weighted median FWHM of the most significant peaks, or
        :data:`DEFAULT_PEAK_WIDTH` when no peak stands out of the noise.
    """
    x = np.asarray(spectrum, dtype=np.float64)
    m = x.size
    if m < 8 or not np.all(np.isfinite(x)):
        return DEFAULT_PEAK_WIDTH
    if float(x.max() - x.min()) <= 0:
        return DEFAULT_PEAK_WIDTH
    sigma = noise_sigma(x) if noise is None else np.broadcast_to(np.asarray(noise, float), m)
    # a noise-free spectrum still has rounding: the floor keeps the threshold above it
    floor = np.finfo(np.float32).eps * float(np.abs(x).max())
    widths, z = _significant_widths(x, sigma, floor)
    if widths.size == 0:
        return DEFAULT_PEAK_WIDTH
    width = _weighted_median(widths, z)
    smooth = SMOOTH_FRACTION * width / FWHM_PER_SIGMA
    if smooth > MIN_SMOOTH:
        xs = gaussian_filter1d(x, smooth, mode="nearest")
        # Gaussian smoothing lowers white noise by sqrt(2 sqrt(pi) sigma)
        again, z2 = _significant_widths(
            xs, sigma / np.sqrt(max(2 * np.sqrt(np.pi) * smooth, 1.0)), floor
        )
        if again.size:
            w2 = _weighted_median(again, z2)
            width = float(np.sqrt(max(w2**2 - (FWHM_PER_SIGMA * smooth) ** 2, 1.0)))
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


#: 'auto' regions are about this many peak widths wide ...
REGION_PEAK_WIDTHS = 24.0
#: ... and at least this many (a region must hold a whole peak track).
MIN_REGION_PEAK_WIDTHS = 6.0
#: Shifted copies of each class mean that bridge a shift-only pair in the region envelope.
BRIDGE_STEPS = 16
#: Spectra shorter than this are one region (a row of a few features is no spectrum).
MIN_REGION_POINTS = 8


def auto_boundaries(Xhp_a, Xhp_ref, yi, n_classes, width, u, shift_model, max_regions):
    """Boundaries in the gaps between the peak tracks of the (augmented) references.

    The tracks are the envelope of the (smoothed) training spectra; with few-shot
    augmentation, of the class means moved along the shift that separates the references
    of each pair of classes (the way the peaks travel between them).
    """
    m = Xhp_a.shape[1]
    if m < MIN_REGION_POINTS:
        return np.array([0, m], dtype=np.int64)
    smooth = max(width / 2, 0.5)
    if shift_model is None:
        envelope = smooth_rows(Xhp_a, smooth).max(axis=0)
    else:
        from ..models._augment import shift_spectra

        refs = smooth_rows(Xhp_ref, smooth)
        envelope = refs.max(axis=0)
        means = np.stack([refs[yi == c].mean(axis=0) for c in range(n_classes)])
        for a in range(n_classes):
            for b in range(n_classes):
                if a != b:
                    steps = np.linspace(0.0, shift_model.pair_shift[a, b], BRIDGE_STEPS)
                    bridged = shift_spectra(np.repeat(means[a:a + 1], steps.size, 0), u, steps)
                    envelope = np.maximum(envelope, bridged.max(axis=0))
    count = int(np.clip(round(m / (REGION_PEAK_WIDTHS * width)), 1, max_regions))
    min_width = max(int(MIN_REGION_PEAK_WIDTHS * width), MIN_REGION_POINTS // 4)
    return valley_boundaries(envelope, count, min_width)

