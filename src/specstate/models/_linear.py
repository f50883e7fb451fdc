"""Linear preprocessing as explicit per-region matrices, so it folds into a first layer.

Every linear step between the (normalised) raw spectrum and a region network's input is a
matrix here: the high-pass baseline (spectrum minus a wide Gaussian low-pass that skips
masked points), the pooling (average of `pool` neighbouring points) and the masking. For a
region whose *core* is ``[a, b)`` the matrix acts on the widened slice ``[a - k, b + k)``
(k = the low-pass kernel's half width), so ``X[:, lo:hi] @ A`` gives the network inputs
exactly; at fit time ``A @ W1`` is the folded first layer and prediction costs one matmul.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import convolve1d

__all__ = [
    "gaussian_kernel", "highpass", "highpass_transpose", "pool_columns", "unpool_rows",
    "region_operator",
    "shift_coordinate",
]

#: The low-pass Gaussian is truncated at this many sigmas (both sides).
TRUNCATE_SIGMAS = 3.0
#: Kernels longer than this are applied through the FFT (measured break-even on 4,000-point
#: rows: a direct convolution costs as much as the FFT at about 60 points).
FFT_KERNEL_POINTS = 64


def _half_width(sigma: float) -> int:
    return int(np.ceil(TRUNCATE_SIGMAS * sigma)) if sigma > 0 else 0


def gaussian_kernel(sigma: float) -> np.ndarray:
    """The truncated (unnormalised) Gaussian low-pass kernel."""
    k = _half_width(sigma)
    t = np.arange(-k, k + 1, dtype=np.float64)
    return np.exp(-0.5 * (t / sigma) ** 2)


def highpass(X: np.ndarray, sigma: float, keep: np.ndarray | None = None) -> np.ndarray:
    """Remove a smooth baseline: ``keep * (x - lowpass(x))`` row by row (float64 result).

    The low-pass is a Gaussian of width `sigma` (points) averaged over kept points only and
    renormalised at the ends; it equals what :func:`region_operator` folds.
    """
    X = np.asarray(X, dtype=np.float64)
    m = X.shape[1]
    keep = np.ones(m) if keep is None else np.asarray(keep, dtype=np.float64)
    if sigma <= 0:
        return X * keep
    g = gaussian_kernel(sigma)
    num = _convolve_rows(X * keep, g)
    den = convolve1d(keep, g, mode="constant", cval=0.0)
    low = num / np.maximum(den, np.finfo(float).tiny)
    return (X - low) * keep


def _convolve_rows(X: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Every row of X convolved with the symmetric kernel g, zeros outside (float64).

    ``convolve1d(mode='constant')`` for short kernels; through the FFT for long ones, the
    same sums to float64 rounding (~1e-15 relative) at a cost that does not grow with the
    kernel (2,000 x 4,000 spectra, a 600-point kernel: 0.2 s instead of 1.8 s).
    """
    if len(g) <= FFT_KERNEL_POINTS:
        return convolve1d(X, g, axis=1, mode="constant", cval=0.0)
    from scipy.signal import fftconvolve

    return fftconvolve(X, g[None, :], mode="same", axes=1)


def highpass_transpose(V: np.ndarray, sigma: float, keep: np.ndarray | None = None) -> np.ndarray:
    """The adjoint of :func:`highpass` applied to the columns of `V` (m, k).

    ``highpass(X) @ V == X @ highpass_transpose(V)``: weights on baseline-free spectra
    become weights on the raw spectra (how a linear member's preprocessing is folded).
    With ``H = diag(k) (I - diag(1/den) G diag(k))`` and a symmetric Gaussian G,
    ``H^T v = k v - k G(k v / den)``.
    """
    V = np.asarray(V, dtype=np.float64)
    m = V.shape[0]
    keep = np.ones(m) if keep is None else np.asarray(keep, dtype=np.float64)
    if sigma <= 0:
        return V * keep[:, None]
    g = gaussian_kernel(sigma)
    den = convolve1d(keep, g, mode="constant", cval=0.0)
    kv = V * keep[:, None]
    low = convolve1d(kv / np.maximum(den, np.finfo(float).tiny)[:, None], g, axis=0,
                     mode="constant", cval=0.0)
    return kv - keep[:, None] * low


def pool_columns(X: np.ndarray, pool: int) -> np.ndarray:
    """Means of `pool` neighbouring points of every row (the last block may be shorter)."""
    X = np.asarray(X)
    if pool <= 1:
        return X
    starts = np.arange(0, X.shape[1], pool)
    sizes = np.diff(np.append(starts, X.shape[1]))
    return np.add.reduceat(X, starts, axis=1) / sizes


def unpool_rows(W: np.ndarray, pool: int, m: int) -> np.ndarray:
    """The adjoint of :func:`pool_columns`: weights on pooled inputs -> weights on points."""
    if pool <= 1:
        return np.asarray(W)
    starts = np.arange(0, m, pool)
    sizes = np.diff(np.append(starts, m))
    return np.repeat(np.asarray(W) / sizes[:, None], sizes, axis=0)


def region_operator(m, core_lo, core_hi, sigma, pool, keep=None, margin=0):
    """Matrix of the linear preprocessing of one region.

    Parameters
    ----------
    m : int
        Points of the whole spectrum.
    core_lo, core_hi : int
        The region, as a slice of the points.
    sigma : float
        Low-pass width in points (0: no baseline removal).
    pool : int
        Points averaged into one network input.
    keep : numpy.ndarray of shape (m,), optional
        1 for points used, 0 for masked points.
    margin : int, default=0
        Extra zero rows on each side (inside the spectrum), room for shifting the folded
        weights when the axis drifts.

    Returns
    -------
    lo, hi : int
        The widened slice the matrix acts on.
    A : numpy.ndarray of shape (hi - lo, n_inputs)
        ``X[:, lo:hi] @ A`` are the region network's inputs.
    """
    keep = np.ones(m) if keep is None else np.asarray(keep, dtype=np.float64)
    k = _half_width(sigma)
    lo = max(0, core_lo - k - margin)
    hi = min(m, core_hi + k + margin)
    rows = np.arange(core_lo, core_hi)
    cols = np.arange(lo, hi)
    H = np.zeros((rows.size, cols.size))
    H[np.arange(rows.size), rows - lo] = 1.0
    if sigma > 0:
        d = cols[None, :] - rows[:, None]
        G = np.where(np.abs(d) <= k, np.exp(-0.5 * (d / sigma) ** 2), 0.0) * keep[cols][None, :]
        # the same normalisation as `highpass`: over kept points inside the spectrum
        den = convolve1d(keep, gaussian_kernel(sigma), mode="constant", cval=0.0)[rows]
        H -= G / np.maximum(den, np.finfo(float).tiny)[:, None]
    H *= keep[rows][:, None]
    n_in = int(np.ceil(rows.size / pool))
    D = np.zeros((n_in, rows.size))
    block = np.arange(rows.size) // pool
    sizes = np.bincount(block, minlength=n_in).astype(np.float64)
    D[block, np.arange(rows.size)] = 1.0 / sizes[block]
    return lo, hi, (D @ H).T


def shift_coordinate(axis: np.ndarray, axis_name: str) -> tuple[np.ndarray, str]:
    """The coordinate in which a physical shift of the peaks is a constant offset.

    A uniform strain scales every d-spacing by (1 + ε): a constant offset in log q (and
    log sin θ, and log d). An energy scale drift is a constant offset in energy. Anything
    else is shifted in points.

    Returns
    -------
    u : numpy.ndarray of shape (m,)
        Increasing shift coordinate at each point.
    kind : {'strain', 'energy', 'points'}
        What a shift in `u` means.
    """
    axis = np.asarray(axis, dtype=np.float64)
    if axis_name == "2theta" and axis[0] > 0 and axis[-1] < 180:
        return np.log(np.sin(np.deg2rad(axis) / 2)), "strain"
    if axis_name == "q" and axis[0] > 0:
        return np.log(axis), "strain"
    if axis_name == "d" and axis[0] > 0:
        return np.log(axis), "strain"
    if axis_name == "energy":
        return axis.copy(), "energy"
    return np.arange(axis.size, dtype=np.float64), "points"
