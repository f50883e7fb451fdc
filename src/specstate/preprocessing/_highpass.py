"""Fast linear baseline removal: subtract a wide Gaussian low-pass (:class:`HighPassBaseline`)."""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy.ndimage import convolve1d
from sklearn.base import OneToOneFeatureMixin
from sklearn.utils.validation import check_is_fitted

from .._cores import available_cores
from ..exceptions import SpectraFormatError
from ._base import SpectralTransformer, check_choice, check_positive, resolve_axis

__all__ = ["HighPassBaseline", "highpass", "highpass_transpose", "region_operator",
           "smooth_rows"]

# The low-pass is evaluated on a coarse grid of block means, one block per half standard
# deviation: a Gaussian that wide is smooth on that scale, and the coarse grid makes the cost
# independent of the width (a few passes over the data instead of a wide convolution).
_BLOCKS_PER_SIGMA = 2
# Kernel support in standard deviations; beyond 5 sigma the Gaussian is < 4e-6 of its peak.
_TRUNCATE = 5.0
# Spectra processed per chunk, so that the temporaries stay in the CPU cache.
_CHUNK_ROWS = 64
_UNITS = ("points", "axis")
_METHODS = ("coarse", "exact")

#: The exact low-pass Gaussian is truncated at this many sigmas (both sides): beyond 3 sigma
#: it holds 0.3 % of its weight, well below the counting noise of a baseline estimate.
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
    return _fft_rows(X, g, "same")


def _fft_rows(X, g, mode):
    """``fftconvolve(X, g[None, :], mode, axes=1)`` with its FFTs on every core.

    The same numbers: the workers share the rows.
    """
    import scipy.fft
    from scipy.signal import fftconvolve

    with scipy.fft.set_workers(available_cores()):
        return fftconvolve(X, g[None, :], mode=mode, axes=1)


def smooth_rows(X: np.ndarray, sigma: float) -> np.ndarray:
    """``gaussian_filter1d(X, sigma, axis=1, mode='nearest')`` (float64), wide ones by FFT.

    The same Gaussian (scipy's: truncated at 4 sigma, normalised) and the same edge rule
    (the end values repeated), to float64 rounding; a direct convolution costs in
    proportion to the kernel (2,000 x 4,000 spectra, sigma = 27 points: 0.9 s), the FFT
    does not.
    """
    X = np.asarray(X, dtype=np.float64)
    radius = int(4.0 * float(sigma) + 0.5)
    if sigma <= 0 or X.ndim != 2 or 2 * radius + 1 <= FFT_KERNEL_POINTS:
        from scipy.ndimage import gaussian_filter1d

        return gaussian_filter1d(X, sigma, axis=-1, mode="nearest") if sigma > 0 else X.copy()
    t = np.arange(-radius, radius + 1, dtype=np.float64)
    g = np.exp(-0.5 * (t / sigma) ** 2)
    g /= g.sum()
    padded = np.pad(X, ((0, 0), (radius, radius)), mode="edge")
    return _fft_rows(padded, g, "valid")


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


class HighPassBaseline(OneToOneFeatureMixin, SpectralTransformer):
    """Remove a smooth background by subtracting a wide Gaussian low-pass (linear, fast).

    The background of each spectrum is its Gaussian smoothing with standard deviation
    `width` (reflecting the spectrum at both ends, like ``scipy.ndimage`` mode
    ``'reflect'``); the output is the spectrum minus that background. Features much narrower
    than `width` (Bragg peaks, emission lines) keep their height, broad ones (air scatter,
    the diamonds' Compton background, a sloping detector response) are removed.

    To be fast on live data the low-pass is computed on a coarse grid: the spectrum is averaged
    in blocks of ``block_size_ = max(1, width_in_points // 2)`` points, the block means are
    smoothed with the reflected Gaussian kernel, and the result is interpolated linearly back
    onto every point. This is a fixed linear map ``A = I - U G D`` (``D``: block means,
    ``G``: Gaussian weights from the blocks to the coarse nodes, ``U``: linear interpolation)
    that approximates exact Gaussian smoothing closely (the kernel width is corrected for the
    blocks; constants are removed exactly; on 4,000 points with width 100 it stays within 0.2 %
    of the signal range of ``scipy.ndimage.gaussian_filter1d``). The work is a few passes over
    the data plus a small matrix product whose cost grows as ``(n_points / width) ** 2``: on
    4,000-point float32 spectra and the default width it ran at about 90,000 spectra per second
    on one core of a quiet development machine, above the 27,000 per second of a European XFEL
    stream (``benchmarks/bench_baseline.py`` measures it on yours). It runs on one thread
    (BLAS is limited to one thread inside :meth:`transform`), leaving other cores free. Widths
    of a few points make the coarse grid as fine as the spectrum and the method slow (and
    pointless: use a derivative instead).

    Edges: the spectrum is reflected at its ends, so a background that still slopes at an end
    leaves, within about two widths of it, a residual of up to ~0.8 x slope x width.

    Because the map is linear it can be folded into a linear model or a network's first layer:
    see :meth:`apply_transpose` and :meth:`linear_operator`.

    Parameters
    ----------
    width : float, default=50.0
        Standard deviation of the Gaussian low-pass, in points or in axis units (see `unit`).
        Choose it several times the widest peak to keep: a peak of FWHM ``f`` points keeps about
        ``1 - 0.4 f / width`` of its height.
    unit : {'points', 'axis'}, default='points'
        Unit of `width`. ``'axis'`` needs `axis` and converts with its median step.
    axis : array-like of shape (n_points,), optional
        Axis values of the spectra (e.g. 2θ in degrees); only used with ``unit='axis'``.
    method : {'coarse', 'exact'}, default='coarse'
        ``'coarse'``: the fast coarse-grid map above, reflected at the ends (for streams).
        ``'exact'``: the Gaussian low-pass itself, truncated at 3 sigma and renormalised
        at the ends over the points inside the spectrum (no reflection); its cost grows
        with the width. This is the map :class:`~specstate.SpectraClassifier` chooses as
        its baseline and folds into its first layers (:func:`region_operator` gives the
        matrix of one region): both use this one implementation.

    Attributes
    ----------
    n_features_in_ : int
        Number of points per spectrum seen in :meth:`fit`.
    sigma_points_ : float
        Standard deviation of the low-pass in points.
    block_size_ : int
        Points per block of the coarse grid.

    See Also
    --------
    AsLSBaseline : iterative asymmetric least squares baseline (slow, follows the lower envelope).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(4000, dtype=np.float32)
    >>> spectra = (1000 + 0.1 * x + 500 * np.exp(-0.5 * ((x - 2000) / 3) ** 2))[None, :]
    >>> out = HighPassBaseline(width=100).fit_transform(spectra)
    >>> out.dtype, bool(abs(out[0, 1000]) < 1), bool(480 < out[0, 2000] < 500)
    (dtype('float32'), True, True)
    """

    def __init__(self, width: float = 50.0, unit: str = "points", axis=None,
                 method: str = "coarse"):
        self.width = width
        self.unit = unit
        self.axis = axis
        self.method = method

    # ------------------------------------------------------------------ fit
    def _fit(self, X):
        m = X.shape[1]
        name = type(self).__name__
        check_choice(self, "unit", _UNITS)
        check_choice(self, "method", _METHODS)
        check_positive(self, "width")
        axis = resolve_axis(self.axis, m, name)
        if self.unit == "axis":
            if self.axis is None:
                raise SpectraFormatError(
                    f"{name}(unit='axis') needs the spectra's axis; pass axis=... or use "
                    "unit='points'."
                )
            step = float(np.median(np.diff(axis))) if m > 1 else 1.0
            sigma = float(self.width) / step
        else:
            sigma = float(self.width)
        k = int(min(m, max(1, sigma // _BLOCKS_PER_SIGMA)))
        # Block means broaden the kernel by k^2/12 (variance), linear interpolation between
        # nodes k apart by about k^2/6: take them off so the total width is `sigma`.
        sigma_kernel = math.sqrt(sigma**2 - k**2 / 4) if k > 1 else sigma

        starts = np.arange(0, m, k)
        counts = np.diff(np.append(starts, m))
        centres = starts + (counts - 1) / 2.0
        nodes = np.concatenate([[-0.5], centres, [m - 0.5]])
        weights = _reflected_gaussian_rows(nodes, m, sigma_kernel)  # (n_nodes, m), rows sum to 1
        coarse = np.add.reduceat(weights, starts, axis=1)  # (n_nodes, n_blocks)

        pos = np.arange(m, dtype=np.float64)
        j0 = np.clip(np.searchsorted(nodes, pos, side="right") - 1, 0, nodes.size - 2)
        frac = (pos - nodes[j0]) / (nodes[j0 + 1] - nodes[j0])

        self.sigma_points_ = sigma
        self.block_size_ = k
        self._n_full_blocks = m // k
        self._coarse_T = np.ascontiguousarray(coarse.T)  # (n_blocks, n_nodes)
        self._j0 = j0.astype(np.intp)
        self._reps = np.bincount(j0, minlength=nodes.size - 1)
        self._frac = frac
        self._counts = counts
        self._kernels = {
            np.dtype(dtype).str: (
                self._coarse_T.astype(dtype),
                self._frac.astype(dtype),
                np.full(k, 1.0 / k, dtype=dtype),
            )
            for dtype in (np.float32, np.float64)
        }

    # ------------------------------------------------------------------ transform
    def _arrays(self, dtype):
        """Kernel arrays in `dtype`, made in fit, so float32 data never meets float64 arrays."""
        return self._kernels[np.dtype(dtype).str]

    def _transform(self, X):
        if self.method == "exact":
            return highpass(X, self.sigma_points_).astype(X.dtype, copy=False)
        # The small matrix products below are slowed down many times by multi-threaded BLAS
        # (thread start-up per call): run them on one thread; the method is memory bound.
        with _blas_controller().limit(limits=1, user_api="blas"):
            return self._transform_chunks(np.ascontiguousarray(X))

    def _transform_chunks(self, X):
        n, m = X.shape
        coarse_T, frac, block_mean = self._arrays(X.dtype)
        k, n_full = self.block_size_, self._n_full_blocks
        reps = self._reps
        n_blocks = coarse_T.shape[0]
        out = np.empty_like(X)
        for s in range(0, n, _CHUNK_ROWS):
            x = X[s : s + _CHUNK_ROWS]
            rows = x.shape[0]
            means = np.empty((rows, n_blocks), dtype=X.dtype)
            full = np.lib.stride_tricks.as_strided(
                x, shape=(rows, n_full, k), strides=(x.strides[0], k * x.strides[1], x.strides[1])
            )
            np.matmul(full, block_mean, out=means[:, :n_full])
            if n_full < n_blocks:
                means[:, n_full] = x[:, n_full * k :].mean(axis=1)
            nodes = means @ coarse_T  # (rows, n_nodes): low-pass at the coarse nodes
            slope = np.diff(nodes, axis=1)
            o = out[s : s + rows]
            # j0 is non-decreasing, so gathering by np.repeat is a run of copies (fast).
            np.subtract(x, np.repeat(nodes[:, :-1], reps, axis=1), out=o)
            step = np.repeat(slope, reps, axis=1)
            step *= frac
            o -= step
        return out

    # ------------------------------------------------------------------ the linear map
    def _factors(self):
        """The factors: ``U`` (m, nodes) and ``D`` (blocks, m) sparse, ``G`` dense."""
        from scipy import sparse

        check_is_fitted(self)
        m = self.n_features_in_
        rows = np.arange(m)
        j0, frac = self._j0, self._frac
        n_nodes = self._coarse_T.shape[1]
        U = sparse.csr_matrix(
            (np.concatenate([1 - frac, frac]), (np.tile(rows, 2), np.concatenate([j0, j0 + 1]))),
            shape=(m, n_nodes),
        )
        block = rows // self.block_size_
        D = sparse.csr_matrix((1.0 / self._counts[block], (block, rows)), shape=(block[-1] + 1, m))
        return U, self._coarse_T.T, D

    def _fitted_for(self, n_points):
        """Return self if fitted for `n_points` points, else a clone fitted for them."""
        if n_points is None:
            check_is_fitted(self)
            return self
        if getattr(self, "n_features_in_", None) == n_points:
            return self
        from sklearn.base import clone

        return clone(self).fit(np.zeros((1, int(n_points))))

    def apply_transpose(self, W) -> np.ndarray:
        """Apply the adjoint ``A.T`` of the high-pass to the columns of `W`.

        The contract: for spectra ``X`` (rows) and weights ``W`` of shape (n_points, k),
        ``transform(X) @ W == X @ apply_transpose(W)`` (up to rounding). So a linear layer or
        the first layer of a network with weights ``W`` trained on high-passed spectra can be
        replaced by weights ``apply_transpose(W)`` acting on raw spectra: the baseline removal
        then costs nothing at prediction time. Biases are unchanged (the map has no offset).

        Parameters
        ----------
        W : array-like of shape (n_points,) or (n_points, k)
            Weight vector(s), one column per output unit. An unfitted transformer (with
            ``unit='points'``) works out the map for ``n_points = W.shape[0]`` itself.

        Returns
        -------
        numpy.ndarray
            ``A.T @ W``, same shape as `W`, float64 (or float32 if `W` is float32).
        """
        W = np.asarray(W)
        dtype = W.dtype if W.dtype in (np.float32, np.float64) else np.float64
        fitted = getattr(self, "n_features_in_", None)
        if fitted is not None and W.shape[0] != fitted:
            raise SpectraFormatError(
                f"apply_transpose expects {fitted} rows (one per point); "
                f"got an array of shape {W.shape}."
            )
        est = self._fitted_for(W.shape[0])
        if est.method == "exact":
            return np.asarray(highpass_transpose(W.reshape(W.shape[0], -1), est.sigma_points_)
                              .reshape(W.shape), dtype=dtype)
        U, G, D = est._factors()
        W64 = W.astype(np.float64)
        out = W64 - D.T @ (G.T @ (U.T @ W64))
        return np.asarray(out, dtype=dtype)

    def linear_operator(self, n_points: int | None = None):
        """The high-pass as a :class:`scipy.sparse.linalg.LinearOperator` on single spectra.

        ``op @ x`` equals ``transform(x[None, :])[0]`` for a spectrum ``x`` of n_points values,
        and ``op.T @ w`` (or ``op.rmatvec(w)``) equals :meth:`apply_transpose`. ``op @
        np.eye(n_points)`` gives the dense (n_points, n_points) matrix ``A``.

        Parameters
        ----------
        n_points : int, optional
            Spectrum length. Default: the one seen in :meth:`fit`. Given, and different from
            it (or before fit), the map is worked out for that length (``unit='points'``).

        Returns
        -------
        scipy.sparse.linalg.LinearOperator
            Shape (n_points, n_points), float64.
        """
        from scipy.sparse.linalg import LinearOperator

        est = self._fitted_for(n_points)
        m = est.n_features_in_
        if est.method == "exact":
            sigma = est.sigma_points_

            def matmat(V):
                V = np.asarray(V, dtype=np.float64).reshape(m, -1)
                return highpass(V.T, sigma).T

            def rmatmat(V):
                return highpass_transpose(np.asarray(V, dtype=np.float64).reshape(m, -1), sigma)
        else:
            U, G, D = est._factors()

            def matmat(V):
                V = np.asarray(V, dtype=np.float64)
                return V - U @ (G @ (D @ V))

            def rmatmat(V):
                V = np.asarray(V, dtype=np.float64)
                return V - D.T @ (G.T @ (U.T @ V))

        return LinearOperator(
            (m, m),
            matvec=matmat,
            rmatvec=rmatmat,
            matmat=matmat,
            rmatmat=rmatmat,
            dtype=np.float64,
        )


@functools.lru_cache(maxsize=1)
def _blas_controller():
    """One :class:`threadpoolctl.ThreadpoolController` per process (creating one is slow)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _reflected_gaussian_rows(nodes: np.ndarray, m: int, sigma: float) -> np.ndarray:
    """Weights (n_nodes, m) of a Gaussian centred on each node over points 0..m-1, reflected.

    The spectrum is extended by half-sample reflection (``d c b a | a b c d``) as often as the
    kernel needs; each row is normalised to sum to 1 so that constants pass unchanged.
    """
    half = int(math.ceil(_TRUNCATE * sigma)) + 1
    offsets = np.arange(-half, half + 2)
    base = np.floor(nodes).astype(np.int64)
    idx = base[:, None] + offsets[None, :]  # points of the extended spectrum near each node
    w = np.exp(-0.5 * ((idx - nodes[:, None]) / sigma) ** 2)
    period = 2 * m
    r = np.mod(idx, period)
    r = np.where(r >= m, period - 1 - r, r)  # fold the reflections back onto 0..m-1
    out = np.zeros((nodes.size, m))
    np.add.at(out, (np.broadcast_to(np.arange(nodes.size)[:, None], r.shape), r), w)
    out /= out.sum(axis=1, keepdims=True)
    return out
