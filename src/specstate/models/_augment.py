"""Few-shot augmentation: many plausible copies of a handful of reference spectra.

Each copy of a reference gets counting noise at the reference's own noise level, a random
peak broadening, a smooth multiplicative jitter (grain statistics, texture: per-peak
intensities vary), an overall intensity scale, a smooth additive background, and a
PHYSICAL shift of the peaks: a
constant offset in the shift coordinate (log sin θ, log q, log d for diffraction, where a
uniform strain moves a peak at 20° twice as far as one at 10°; energy for spectrometers;
points otherwise).

How far to shift is learned from the references (:func:`learn_shifts`): the class means are
aligned by cross-correlation in the shift coordinate. If the classes still differ a lot
after the best alignment (peaks appear or vanish: a change of phase), the shift between the
states is a nuisance: every class is shifted over that shift plus a margin on both sides
(towards the other class over the whole shift), so that all classes cover the same
absolute peak positions and the networks can only look at which peaks exist. If the aligned
residual is small (the states differ *only* by a lattice
jump), the shift is the signal: each class is shifted within its own spread and towards
the other class up to just short of half-way, so the boundary falls half-way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import convolve1d, gaussian_filter1d

from ..preprocessing._highpass import _convolve_rows, gaussian_kernel

__all__ = [
    "ShiftModel", "Nuisances", "best_lags", "learn_shifts", "uniform_columns",
    "measure_nuisances", "shift_spectra", "noise_level", "augment",
]

#: Largest shift searched between class means, as a fraction of the spectrum length.
MAX_SHIFT_FRACTION = 0.1
#: Aligned residual / unaligned difference below which two states differ only by a shift.
SHIFT_ONLY_RESIDUAL = 0.4
#: Log compression of peak heights for the alignment, in standard deviations of the spectrum:
#: heights well above it count about equally, so peaks common to both states (a second
#: phase, the pressure marker) set the alignment rather than the single strongest peak.
COMPRESS_SCALE = 0.1
#: Margin added to a nuisance shift range (fraction of the between-class shift).
NUISANCE_MARGIN = 0.3
#: A between-class shift counts only when it exceeds the classes' own spread this many times.
SIGNIFICANT_SHIFT = 2.0
#: Gap kept before half-way when the shift is the signal (fraction of the between-class shift).
SIGNAL_GAP = 0.15
#: Smallest shift range, in points of the axis (sub-pixel jitter of the calibration).
MIN_SHIFT_POINTS = 1.0
#: Smallest nuisance shift range per kind of shift (shift-coordinate units), when the
#: references of two states differ by more than a shift (a change of phase). A physical
#: prior, not a measurement: a diffraction state is the same state over the strains a sample
#: goes through while it is compressed, heated or relaxes (a few per cent: bcc iron's
#: volume changes by ~6 %, i.e. ~2 % linear strain, between 0 and 13 GPa), and references
#: show only the strain at which they were taken. Energy and point axes get no floor.
NUISANCE_FLOOR = {"strain": 0.02}
#: Correlation length of the multiplicative jitter, in peak widths (about one peak at a
#: time: grain statistics and texture change each reflection's intensity on its own).
JITTER_PEAK_WIDTHS = 3.0
#: Peak broadening is drawn in BLUR_LEVELS discrete steps (level 0: no blur), each one
#: vectorised filter.
BLUR_LEVELS = 4
#: Knots of the smooth background over the whole spectrum (a background varies on the scale
#: of the spectrum, not of its peaks).
BACKGROUND_KNOTS = 5
#: A multiplicative jitter is measured only where the state mean stands this many noise
#: standard deviations above its baseline (the peaks; elsewhere the ratio is noise).
PEAK_SIGMAS = 5.0
#: Median of a chi-square variable with one degree of freedom (robust variance estimate).
CHI2_1_MEDIAN = 0.4549
#: Standard deviations per median absolute deviation of a normal variable.
MAD_SIGMA = 1.4826
#: n times the relative variance of a variance estimated from the MAD of n normal values
#: (2 / 0.37: the MAD's efficiency is 37 %).
MAD_VARIANCE_FACTOR = 5.4
#: A measured nuisance counts only when it exceeds what the noise explains by this many
#: standard errors.
SIGNIFICANT_EXCESS = 2.0
#: sqrt(N) times the standard error of the median of N chi-square(1) values:
#: 1 / (2 f(median)), f the density (0.471 at the median 0.4549).
CHI2_1_MEDIAN_SE = 1.06
#: Variance of x_i - mean(x_{i-1}, x_i, x_{i+1}) for white noise of unit variance.
RESIDUAL_VARIANCE_FACTOR = 2.0 / 3.0


@dataclass
class ShiftModel:
    """What the references say about peak shifts (units of the shift coordinate)."""

    kind: str
    ranges: np.ndarray  # (C, 2) low/high shift of each class's copies
    pair_shift: np.ndarray  # (C, C): class b ≈ class a shifted by pair_shift[a, b]
    pair_residual: np.ndarray  # (C, C): aligned residual / unaligned difference
    within: np.ndarray  # (C,) largest shift of a member against its class mean
    step: float  # shift-coordinate units per point (median)
    #: (C, C): the pair's shift is taken as the signal (None: by the residual alone)
    signal: np.ndarray | None = None

    #: Whether some state's copies are spread over another's peak positions (the nuisance
    #: shift between two phases) or over the strain floor: the states of a ramp, whose
    #: references sit at a few of the strains the run goes through. Held-out originals
    #: cannot show what such copies teach (their peaks sit where the references' do).
    spread: bool = False


def uniform_columns(u: np.ndarray):
    """``(i0, frac, step)``: a uniform grid over `u` as linear interpolation of columns.

    Row x on the grid is ``x[i0] * (1 - frac) + x[i0 + 1] * frac`` (what ``np.interp`` of
    each row gives, for every row at once); `step` is the grid's spacing.
    """
    u = np.asarray(u, dtype=np.float64)
    m = u.size
    grid = np.linspace(u[0], u[-1], m)
    pos = np.interp(grid, u, np.arange(m, dtype=np.float64))
    i0 = np.clip(np.floor(pos).astype(np.int64), 0, max(m - 2, 0))
    return i0, pos - i0, (grid[-1] - grid[0]) / max(m - 1, 1)


def _uniform(u, X):
    """`X` (rows) on a uniform grid over `u`: ``(step, rows)``."""
    X = np.atleast_2d(np.asarray(X, dtype=np.float64))
    if X.shape[1] < 2:
        return 1.0, X
    i0, frac, step = uniform_columns(u)
    return step, X[:, i0] * (1.0 - frac) + X[:, i0 + 1] * frac


def _compress(x):
    """Log-compressed positive part: every peak counts, not only the strongest."""
    pos = np.maximum(x, 0.0)
    scale = COMPRESS_SCALE * max(float(pos.std()), np.finfo(float).tiny)
    return np.log1p(pos / scale)


def _best_shift(a, b, max_lag):
    """Shift s (grid points, sub-pixel) with b[i] ≈ a[i - s] (log-compressed correlation)."""
    return float(best_lags(np.asarray(b, np.float64)[None, :], np.asarray(a, np.float64),
                           max_lag)[0])


def best_lags(G: np.ndarray, anchor: np.ndarray, max_lag: int) -> np.ndarray:
    """Sub-point lag s of every row with ``G[k, i] ≈ anchor[i - s]`` (one batched FFT).

    Both sides log-compressed (:func:`_compress`), so that every line counts and not only
    the strongest. The linear correlation through a circular FFT long enough that lags up
    to `max_lag` do not wrap; a sub-point peak by a parabola through its neighbours.
    """
    A = _compress(anchor)
    pos = np.maximum(G, 0.0)  # _compress of every row at once
    B = np.log1p(pos / (COMPRESS_SCALE * np.maximum(pos.std(axis=1, keepdims=True),
                                                    np.finfo(float).tiny)))
    A = A - A.mean()
    B = B - B.mean(axis=1, keepdims=True)
    from scipy import fft

    m = G.shape[1]
    # circular correlation, long enough that lags up to max_lag do not wrap
    L = fft.next_fast_len(m + max_lag + 1, real=True)
    c = fft.irfft(fft.rfft(B, L, axis=1) * np.conj(fft.rfft(A, L)), L, axis=1)
    lags = np.concatenate([np.arange(0, max_lag + 1), np.arange(-max_lag, 0)])
    c = c[:, lags % L]
    order = np.argsort(lags)
    c, lags = c[:, order], lags[order]
    i = np.argmax(c, axis=1)
    s = lags[i].astype(np.float64)
    inner = (i > 0) & (i < c.shape[1] - 1)
    r = np.arange(len(G))
    ii = np.clip(i, 1, c.shape[1] - 2)
    c0, c1, c2 = c[r, ii - 1], c[r, ii], c[r, ii + 1]
    den = c0 - 2 * c1 + c2
    ok = inner & (den < 0)
    s[ok] += 0.5 * (c0[ok] - c2[ok]) / den[ok]
    return s


def _shift_grid(x, s):
    idx = np.arange(x.size) - s
    return np.interp(idx, np.arange(x.size), x)


def learn_shifts(X, y, n_classes, u, kind, min_points=MIN_SHIFT_POINTS,
                 sittings=None) -> ShiftModel:
    """Learn the shift ranges for augmentation from (normalised, baseline-free) references.

    Parameters
    ----------
    X : numpy.ndarray of shape (n, m)
        Normalised spectra with the baseline removed.
    y : numpy.ndarray of int of shape (n,)
        Class of each spectrum.
    n_classes : int
        Number of classes.
    u : numpy.ndarray of shape (m,)
        Shift coordinate of each point (see :func:`~specstate.models._linear.shift_coordinate`).
    kind : str
        What a shift means ('strain', 'energy', 'points').
    min_points : float
        Smallest half range, in points.
    sittings : specstate.plan.Sittings, optional
        Where a state's references come from separate sittings: its spread is that within
        each sitting (the copies cross the gap by :meth:`~specstate.plan.Sittings.spans`),
        and a shift between two states whose positions overlap (or touch, within the
        copies' spacing) is no signal.

    Returns
    -------
    ShiftModel
    """
    m = X.shape[1]
    step_grid, G = _uniform(u, X)
    step = float(np.median(np.diff(u))) if m > 1 else 1.0
    max_lag = max(1, int(MAX_SHIFT_FRACTION * m))
    means = np.stack([G[y == c].mean(axis=0) for c in range(n_classes)])
    within = np.zeros(n_classes)
    for c in range(n_classes):
        members = G[y == c]
        if len(members) > 1:
            gap = None if sittings is None else sittings.gaps[c]
            if gap is None:
                within[c] = float(np.max(np.abs(best_lags(members, means[c], max_lag))))
            else:  # the scatter within each sitting (against a two-sitting mean, a
                # member's lag is ambiguous: either of its two images matches)
                lag, upper = sittings.lag[y == c], sittings.upper(y, c)
                within[c] = max(float(np.max(np.abs(lag[sel] - np.median(lag[sel]))))
                                for sel in (upper, ~upper)) / step_grid
    pair_shift = np.zeros((n_classes, n_classes))
    pair_residual = np.ones((n_classes, n_classes))
    for a in range(n_classes):
        for b in range(a + 1, n_classes):
            s = _best_shift(means[a], means[b], max_lag)
            diff = np.linalg.norm(means[a] - means[b])
            resid = np.linalg.norm(_shift_grid(means[a], s) - means[b])
            pair_shift[a, b], pair_shift[b, a] = s, -s
            ratio = resid / diff if diff > 0 else 1.0
            pair_residual[a, b] = pair_residual[b, a] = ratio
    # everything in shift-coordinate units from here
    pair_shift *= step_grid
    within *= step_grid
    base = np.maximum(within, min_points * step)
    ranges = np.stack([-base, base], axis=1)
    signal = np.zeros((n_classes, n_classes), dtype=bool)
    spread = False
    for a in range(n_classes):
        for b in range(n_classes):
            if a == b:
                continue
            s = pair_shift[a, b]
            if abs(s) < SIGNIFICANT_SHIFT * max(base[a], base[b]) or _overlap(
                    G, y, (a, b), max_lag, step_grid, sittings):
                # no shift beyond the classes' own spread: a class-dependent range would
                # only teach the networks a position cue that is not there. States that
                # differ by more than a shift still get the strain floor, on both alike
                # (no position cue): references spread along a ramp (random patterns of
                # each phase) blur the states' means, so their shift reads as none, yet
                # the patterns between the phases' references are at strains none shows
                if pair_residual[a, b] >= SHIFT_ONLY_RESIDUAL:
                    floor = NUISANCE_FLOOR.get(kind, 0.0)
                    spread |= floor > base[a]
                    ranges[a] = [min(ranges[a, 0], -floor), max(ranges[a, 1], floor)]
                continue
            if pair_residual[a, b] < SHIFT_ONLY_RESIDUAL:
                # the shift is the signal: copies move towards the other class up to just
                # short of half-way, so the boundary falls half-way between the references
                signal[a, b] = True
                reach = max(abs(s) * (0.5 - SIGNAL_GAP), 0.0)
                if s > 0:
                    ranges[a, 1] = max(ranges[a, 1], reach)
                else:
                    ranges[a, 0] = min(ranges[a, 0], -reach)
            elif kind == "energy":
                # an emission line that moves between the states and changes its shape as
                # well: on an energy axis that is their chemistry (a spin state's Kβ shift),
                # not a ramp between them; the calibration's drift is each state's own
                # scatter (the drift model). Spread over both positions, the copies had
                # hidden the shift that told pure spin states apart (500 photons: 0.83-0.98)
                continue
            else:
                # references of two phases, e.g. at the two ends of a ramp: the states in
                # between lie between them, so each class is shifted towards the other
                # over the whole between-class shift (plus a margin) and a little away
                # Both classes are spread over the SAME absolute positions (class a's
                # [-back, s + back] is class b's [-s - back, back]), so where a peak sits
                # (the pressure) tells nothing about the state: only which peaks exist.
                floor = NUISANCE_FLOOR.get(kind, 0.0)
                back = max(abs(s) * NUISANCE_MARGIN + max(base[a], base[b]), floor)
                reach = abs(s) + back
                spread = True
                lo, hi = (-back, reach) if s > 0 else (-reach, back)
                ranges[a] = [min(ranges[a, 0], lo), max(ranges[a, 1], hi)]
    return ShiftModel(kind, ranges, pair_shift, pair_residual, within, step, signal,
                      bool(spread))


def _overlap(G, y, pair, max_lag, step_grid, sittings) -> bool:
    """Whether states a and b, one of them from separate sittings, share positions.

    Each state's reference positions are its sittings' lags (against its first reference),
    and b's are put on a's scale by the lag between the two first references. A gap
    between the two ranges narrower than the copies' spacing between sittings (a quarter
    line width) counts as none: a state measured at the strain where the other was (the
    shared end of a ramp's two segments) is not told by where its peaks are.
    """
    if sittings is None or all(sittings.gaps[c] is None for c in pair):
        return False
    from ..plan import SITTING_SPACING_WIDTHS

    a, b = pair
    ia, ib = np.flatnonzero(y == a), np.flatnonzero(y == b)
    offset = float(best_lags(G[ib[:1]], G[ia[0]], max_lag)[0]) * step_grid
    pa, pb = sittings.lag[ia], offset + sittings.lag[ib]
    apart = max(pb.min() - pa.max(), pa.min() - pb.max())
    return apart < SITTING_SPACING_WIDTHS * sittings.width_u


def shift_spectra(X, u, shifts):
    """Move every spectrum's peaks by ``shifts`` (one per row) in the shift coordinate.

    Row k becomes ``x(u - shifts[k])``, linearly interpolated, edges held.
    """
    X = np.asarray(X)
    m = X.shape[1]
    shifts = np.asarray(shifts, dtype=np.float64)
    pos = np.interp((u[None, :] - shifts[:, None]).ravel(), u, np.arange(m, dtype=np.float64))
    pos = pos.reshape(X.shape[0], m)
    i0 = np.clip(np.floor(pos).astype(np.int64), 0, max(m - 2, 0))
    frac = (pos - i0).astype(X.dtype)
    i1 = np.minimum(i0 + 1, m - 1)
    x0 = np.take_along_axis(X, i0, axis=1)
    x1 = np.take_along_axis(X, i1, axis=1)
    return x0 + frac * (x1 - x0)


def noise_level(X: np.ndarray) -> np.ndarray:
    """Counting-noise factor κ of each spectrum: variance ≈ κ · intensity.

    Robust: the median of squared second-difference residuals over the local intensity.
    """
    X = np.asarray(X, dtype=np.float64)
    smooth = (X[:, :-2] + X[:, 1:-1] + X[:, 2:]) / 3.0
    resid = X[:, 1:-1] - smooth
    level = np.maximum(smooth, 0.0)
    floor = 1e-3 * np.maximum(level.mean(axis=1, keepdims=True), np.finfo(float).tiny)
    ratio = resid**2 / (level + floor)
    return np.median(ratio, axis=1) / (RESIDUAL_VARIANCE_FACTOR * CHI2_1_MEDIAN)


def _smooth_field(rng, n, m, spacing):
    """Random smooth curves (n, m) of unit variance: linear interpolation between knots."""
    n_knots = int(np.ceil(m / max(spacing, 1.0))) + 2
    knots = rng.standard_normal((n, n_knots))
    pos = np.arange(m) / max(spacing, 1.0) + rng.uniform(0, 1, (n, 1))
    i0 = np.minimum(pos.astype(np.int64), n_knots - 2)
    frac = pos - i0
    v0 = np.take_along_axis(knots, i0, axis=1)
    v1 = np.take_along_axis(knots, i0 + 1, axis=1)
    return v0 + frac * (v1 - v0)


@dataclass
class Nuisances:
    """Sizes of the nuisances the copies get, measured on the references.

    Attributes
    ----------
    jitter : float
        Relative standard deviation of the smooth multiplicative (per-peak) jitter.
    background : float
        Standard deviation of the smooth additive background, as a fraction of the mean.
    scale : float
        Standard deviation of the log of the overall intensity (0 for normalised spectra).
    blur : float
        Largest peak broadening (Gaussian sigma, points).
    """

    jitter: float = 0.0
    background: float = 0.0
    scale: float = 0.0
    blur: float = 0.0

    def describe(self) -> str:
        """One phrase for the fit plan."""
        return (f"measured per-peak intensity jitter {self.jitter:.3g}, background "
                f"{self.background:.3g}, "
                f"scale {self.scale:.3g}, blur {self.blur:.3g} points")


def measure_nuisances(X, y, n_classes, peak_width, normalized) -> Nuisances:
    """The within-state variation of the references, split into the augmentation's nuisances.

    Residuals of each reference against its state mean (normalised spectra when the model
    normalises) are split into a smooth background (a low-pass on the scale of
    :data:`BACKGROUND_KNOTS`), a multiplicative jitter at the peaks (the high-passed
    residual over the mean), the spread of the total intensity, and the spread of the
    references' own peak widths. Each part is measured less what the references' counting
    and read noise explain: the noise is measured on the residuals
    (:func:`_residual_noise_variance`) and what it puts into the background's low-pass and
    into the residuals at the peaks is taken out, and a draw of it put through the width
    estimate is subtracted in quadrature (at 500 photons per shot the noise alone had read
    as a background of 25 % of the mean; at 5,000, single shots' widths as a blur that
    widens the lines by 60 %; under a larger noise, a 10 % jitter had read as none). A
    state with a single reference adds nothing: no variation can be measured from it.
    """
    from ..regions._discovery import estimate_peak_width

    X = np.asarray(X, dtype=np.float64)
    n, m = X.shape
    totals = X.sum(axis=1)
    Xn = X / np.where(np.abs(totals) > 0, totals, 1.0)[:, None] if normalized else X
    counts = np.bincount(y, minlength=n_classes)
    use = counts[y] >= 2
    if not np.any(use):
        return Nuisances()
    means = np.stack([Xn[y == c].mean(axis=0) if counts[c] else np.zeros(m)
                      for c in range(n_classes)])
    dof = (counts[y] / np.maximum(counts[y] - 1, 1))[:, None]
    R = (Xn - means[y])[use] * np.sqrt(dof[use])
    M = means[y][use]
    noise_var = _residual_noise_variance(R, M, totals[use], normalized)
    # the low-pass normalised by the kernel's weight inside the spectrum: with the edge
    # values repeated, the two end points' noise alone had read as a background
    g = gaussian_kernel(m / BACKGROUND_KNOTS / 2)
    den = np.maximum(convolve1d(np.ones(m), g, mode="constant", cval=0.0), np.finfo(float).tiny)
    low = _convolve_rows(R, g) / den
    # what the noise alone puts into the low-pass: sum_k w_jk^2 v_k, w = g / den
    low_noise_var = _convolve_rows(noise_var, g * g) / den**2
    level = max(float(np.abs(means).mean()), np.finfo(float).tiny)
    background = float(np.sqrt(max(np.mean(low**2) - np.mean(low_noise_var), 0.0)) / level)
    # multiplicative jitter where the state mean stands out of its own smooth baseline
    Mlow = _convolve_rows(M, g) / den
    peak = M - Mlow
    resid = R - low
    sig = np.sqrt(noise_var)
    # a multiplicative jitter has a meaning where the intensity itself stands out of the
    # noise (positive), not where a signed spectrum crosses zero
    thr = PEAK_SIGMAS * np.maximum(sig, np.finfo(float).tiny)
    at = (peak > thr) & (M > thr)
    jitter = 0.0
    if np.any(at):
        # robust: the jitter j at which the residuals over their standard deviation,
        # sqrt(noise + j² M²), have the median square of a unit normal (0.4549); the median
        # of (resid² - noise) / M² had read a 10 % jitter under a larger noise as none
        r2, nv, m2 = resid[at] ** 2, noise_var[at], M[at] ** 2

        def excess(j):  # decreasing in j
            ratio = r2 / np.maximum(nv + j * j * m2, np.finfo(float).tiny)
            return float(np.median(ratio)) - CHI2_1_MEDIAN

        # counted only when significant: the median of N chi-square(1) values has a
        # standard error of 1.06 / sqrt(N) (10 references per state had read their counting
        # noise as a 7 % jitter)
        if excess(0.0) > SIGNIFICANT_EXCESS * CHI2_1_MEDIAN_SE / np.sqrt(r2.size):
            lo, hi = -4.0, 1.0  # log10 of the jitter: 0.01 % to 10 times the intensity
            for _ in range(40):
                mid = 0.5 * (lo + hi)
                lo, hi = (mid, hi) if excess(10.0**mid) > 0 else (lo, mid)
            jitter = float(10.0 ** (0.5 * (lo + hi)))
    scale = 0.0
    if not normalized and np.all(totals[use] > 0):
        lt = np.log(totals)
        lmean = np.array([lt[y == c].mean() if counts[c] else 0.0 for c in range(n_classes)])
        scale = float(np.sqrt(np.mean(((lt - lmean[y])[use]) ** 2 * dof[use, 0])))
    wy = y[use]

    # each shot smoothed by half its lines' sigma first (12 % wider, deconvolved): at 7
    # sigmas a single shot's half-height crossings fall into noise dips (42 and 8 points
    # for two 80-point lines at 5,000 photons)
    pre = peak_width / 2.3548 / 2 if peak_width / 2.3548 / 2 > 0.5 else 0.0
    sd_pre = sig / np.sqrt(max(2 * np.sqrt(np.pi) * pre, 1.0))

    def width_spread(rows):
        # robust (the MAD about each state's median); the noise is the one measured on all
        # of them (a shot's own estimate finds none where it counted no photon)
        if pre:
            rows = gaussian_filter1d(rows, pre, axis=1, mode="nearest")
        widths = np.array([estimate_peak_width(x, noise=e) for x, e in zip(rows, sd_pre)])
        widths = np.sqrt(np.maximum(widths**2 - (2.3548 * pre) ** 2, 1.0))
        mid = np.array([np.median(widths[wy == c]) if np.any(wy == c) else 0.0
                        for c in range(n_classes)])
        return float((MAD_SIGMA * np.median(np.abs(widths - mid[wy]))) ** 2)

    # the spread of the widths less the spread the noise alone gives: each state's mean
    # with a draw of one reference's noise (the mean's own noise made up to it; a fixed
    # draw, so that the same references give the same measurement)
    noise = sig * np.random.default_rng(0).standard_normal(sig.shape)
    s_ref, s_noise = width_spread(Xn[use]), width_spread(M + noise / np.sqrt(dof[use]))
    # counted only when the excess is significant: a variance from the MAD of n values has
    # a relative standard error of about sqrt(5.4 / n) (the MAD's efficiency is 37 %)
    se = np.sqrt((s_ref**2 + s_noise**2) * MAD_VARIANCE_FACTOR / max(int(use.sum()), 1))
    spread2 = s_ref - s_noise if s_ref - s_noise > SIGNIFICANT_EXCESS * se else 0.0
    spread = np.sqrt(spread2)
    # a width spread of s (FWHM) at width w is a Gaussian blur of sigma sqrt(2 w s) / 2.355
    blur = float(np.sqrt(2 * max(peak_width, 1.0) * spread) / 2.3548)
    return Nuisances(jitter=jitter, background=background, scale=scale, blur=blur)


def _residual_noise_variance(R, M, totals, normalized):
    """Per-point noise variance of each reference, measured on its residual `R` (n, m).

    A raw spectrum's noise variance is ``alpha·E + beta`` (counting noise grows with the
    expected intensity E, read noise does not); normalised by the total t it becomes
    ``alpha·|M|/|t| + beta/t²`` with the state mean M. The two are fitted (least squares,
    both >= 0) to the squared second differences of the residuals over 6 (the variance
    factor of a second difference of white noise): the state mean removes the peaks, and
    the smooth nuisances add little to second differences. Means, not medians, of the
    squares: integer counts at a fraction of a photon per point make medians biased.
    """
    absM = np.abs(M)
    if normalized:
        t = np.maximum(np.abs(totals), np.finfo(float).tiny)[:, None]
        f1, f2 = absM / t, np.broadcast_to(1.0 / t**2, M.shape)
    else:
        f1, f2 = absM, np.ones_like(M)
    e = (R[:, 2:] - 2 * R[:, 1:-1] + R[:, :-2]) ** 2 / 6.0
    # a second difference's variance is (v[j-1] + 4 v[j] + v[j+1]), over 6 as e
    mid = (f1[:, :-2] + 4 * f1[:, 1:-1] + f1[:, 2:]) / 6.0, f2[:, 1:-1]
    A = np.array([[np.sum(mid[0] * mid[0]), np.sum(mid[0] * mid[1])],
                  [np.sum(mid[0] * mid[1]), np.sum(mid[1] * mid[1])]])
    rhs = np.array([np.sum(mid[0] * e), np.sum(mid[1] * e)])
    try:
        alpha, beta = np.linalg.solve(A, rhs)
    except np.linalg.LinAlgError:
        alpha, beta = -1.0, -1.0
    if alpha < 0 or beta < 0:  # one of the two alone, the better of them
        fits = [(max(rhs[k] / A[k, k], 0.0) if A[k, k] > 0 else 0.0) for k in range(2)]
        err = [np.sum((e - fits[k] * mid[k]) ** 2) for k in range(2)]
        alpha, beta = (fits[0], 0.0) if err[0] <= err[1] else (0.0, fits[1])
    return alpha * f1 + beta * f2


def augment(X, y, u, shift_model, n_copies, peak_width, rng, keep_original=True,
            nuisances: Nuisances | None = None, moves=None):
    """Noisy, shifted, rescaled copies of every spectrum.

    Parameters
    ----------
    X : numpy.ndarray of shape (n, m)
        Raw reference spectra (before normalisation).
    y : numpy.ndarray of int of shape (n,)
        Class of each.
    u : numpy.ndarray of shape (m,)
        Shift coordinate.
    shift_model : ShiftModel
        Shift ranges per class.
    n_copies : int
        Copies per spectrum (the original included when `keep_original`).
    peak_width : float
        Typical FWHM in points (sets the jitter's correlation length).
    rng : numpy.random.Generator
        Source of randomness.
    keep_original : bool, default=True
        Whether copy 0 is the untouched spectrum.
    nuisances : Nuisances, optional
        Sizes of the nuisances, measured on the references (:func:`measure_nuisances`);
        default: none but the counting noise and the shifts.
    moves : numpy.ndarray of shape (n, 2), optional
        A further move of each spectrum's copies, drawn uniformly from ``(low, high)``
        (u units): across the gap between its state's sittings
        (:meth:`specstate.plan.Sittings.spans`).

    Returns
    -------
    X_aug : numpy.ndarray of shape (n * n_copies, m), float32
    source : numpy.ndarray of int of shape (n * n_copies,)
        Row of `X` each copy came from.
    """
    n, m = X.shape
    source = np.repeat(np.arange(n), n_copies)
    base = np.asarray(X, dtype=np.float32)[source]
    k = n * n_copies
    lo, hi = shift_model.ranges[y[source], 0], shift_model.ranges[y[source], 1]
    shifts = rng.uniform(lo, hi)
    if moves is not None:
        moves = np.asarray(moves, dtype=np.float64)
        shifts = shifts + rng.uniform(moves[source, 0], moves[source, 1])
    out = shift_spectra(base, u, shifts).astype(np.float32)
    # peak broadening (microstrain grows with pressure, grain size, focus): a Gaussian blur
    # of a random width, in a few discrete levels so each level is one vectorised filter
    nz = Nuisances() if nuisances is None else nuisances
    level = rng.integers(0, BLUR_LEVELS, k)
    for j in range(1, BLUR_LEVELS):
        rows = np.flatnonzero(level == j)
        if rows.size and nz.blur > 0:
            sigma = nz.blur * j / (BLUR_LEVELS - 1)
            out[rows] = gaussian_filter1d(out[rows], sigma, axis=1, mode="nearest")
    mean = np.abs(base).mean(axis=1, keepdims=True)
    jitter = 1.0 + nz.jitter * _smooth_field(rng, k, m, JITTER_PEAK_WIDTHS * peak_width)
    scale = np.exp(nz.scale * rng.standard_normal((k, 1)))
    background = nz.background * mean * _smooth_field(rng, k, m, m / BACKGROUND_KNOTS)
    out = (out * np.maximum(jitter, 0.0) + background) * scale
    kappa = noise_level(X)[source][:, None] * scale
    out += np.sqrt(np.maximum(out, 0.0) * kappa) * rng.standard_normal((k, m))
    out = out.astype(np.float32)
    if keep_original:
        first = np.arange(n) * n_copies
        out[first] = base[first]
    return out, source
