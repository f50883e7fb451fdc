"""Axis drift: estimate it, decide from the references whether it is there, and track it.

A spectrometer's energy scale (or a detector distance) drifts slowly during a run; a model
trained at its start meets shifted spectra later. Three ways to correct for it, chosen by
``SpectraClassifier(drift=...)``:

* ``"spectrum"``: each spectrum is aligned on its own: the shift s that best explains it as
  ``a·T(u − s) + b·D(u − s)`` (T the training mean, D the differences between the states,
  so a spectrum of another state is not mistaken for a shift) by weighted least squares on
  a grid of shifts, refined by a parabola. Batch independent.
* ``"run"``: the spectra are one run in acquisition order. Consecutive blocks give shift
  measurements with their variances; a Kalman filter (random-walk drift, its rate measured
  on the training run) and a Rauch-Tung-Striebel smoother join them, so every spectrum gets
  the smoothed shift of its neighbourhood. :class:`DriftTracker` runs the same filter
  causally, train by train, for a live stream; it lives outside the fitted model, so
  prediction never mutates the model.
* ``None``: off.

The least-squares weights are the inverse of each pixel's variance, measured on the
references as ``var = a·mean + b`` (counting noise plus read noise, fitted to the
within-class scatter), not assumed to be pure Poisson.

Shifts are offsets in the shift coordinate u of the axis (see
:func:`~specstate.models._linear.shift_coordinate`): energy for spectrometers, log q for
diffraction (a strain), points otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import chi2

from .models._augment import shift_spectra

__all__ = ["DriftModel", "DriftTracker", "RowProjections", "fit_drift_model", "drift_evidence"]

#: Alignment rounds shifts to this fraction of a point (its interpolation error is far
#: below the counting noise) so spectra with the same shift move together.
SHIFT_QUANTUM = 1.0 / 16.0
#: Grid step of the shift search, in points (the parabola refines within a step).
GRID_STEP_POINTS = 0.25
#: The shift search multiplies the spectra by the singular vectors of the shifted bases
#: instead of the bases themselves when their rank is below this fraction of their number
#: (below it the saving in the product outweighs the small product that maps them back).
LOW_RANK_FRACTION = 0.8
#: Significance of the chi-square test "the references' shifts scatter more than their
#: noise allows" that turns ``drift='auto'`` on (a 1-in-1000 false alarm).
EVIDENCE_P = 1e-3
#: At most this many shift measurements per state for the evidence test (contiguous blocks).
EVIDENCE_BLOCKS = 20
#: Blocks of a run over which its drift rate is measured (enough differences for a variance,
#: few enough that each block's shift is well measured).
RATE_BLOCKS = 50
#: A block's shift estimate is linear (unbiased) only while its error stays well inside a
#: line: blocks are made large enough that the Cramér-Rao standard error of the block's
#: shift is at most this many line widths.
BLOCK_ERROR_WIDTHS = 0.02


def _grid(max_shift_u, step_u):
    half = max(int(np.ceil(max_shift_u / max(step_u * GRID_STEP_POINTS, 1e-300))), 1)
    return np.arange(-half, half + 1) * step_u * GRID_STEP_POINTS


@dataclass
class DriftModel:
    """What the references say about the axis and its drift (numpy only; in the model file).

    Attributes
    ----------
    u : numpy.ndarray of shape (m,)
        Shift coordinate of each point.
    step : float
        Median step of `u` per point.
    basis : numpy.ndarray of shape (K, m)
        The training mean spectrum (row 0) and the state contrasts (normalised spectra).
    weight : numpy.ndarray of shape (m,)
        Inverse variance of one normalised spectrum at each point (0 at masked points).
    max_shift : float
        Largest shift searched, in u units.
    rate : float
        Variance of the drift's growth per spectrum (u² per spectrum), for the Kalman filter.
    evidence : float
        p-value of the references' shift scatter (small: the axis shifts).
    prior_var : float
        Variance of the shifts among the references beyond their measurement noise (u²):
        the prior of a single spectrum's shift in ``'spectrum'`` mode, so that a
        photon-starved shot is not moved further than the references ever moved.
    """

    u: np.ndarray
    step: float
    basis: np.ndarray
    weight: np.ndarray
    max_shift: float
    rate: float
    evidence: float
    prior_var: float = 0.0

    # ------------------------------------------------------------------ estimation
    def _projections(self):
        cache = self.__dict__.setdefault("_proj", {})
        if "grid" not in cache:
            grid = _grid(self.max_shift, self.step)
            G, (K, m) = len(grid), self.basis.shape
            # every grid shift of every basis row in one interpolation, (G, K, m)
            B = shift_spectra(np.tile(self.basis, (G, 1)), self.u,
                              np.repeat(grid, K)).reshape(G, K, m)
            P = B * self.weight
            cache.update(grid=grid, P=P, Ginv=np.linalg.pinv(P @ B.transpose(0, 2, 1)))
        return cache["grid"], cache["P"], cache["Ginv"]

    def estimate(self, Xn: np.ndarray, n_per_row=None, prior=False):
        """Shift and its variance for every row of normalised spectra (or block means).

        Parameters
        ----------
        Xn : numpy.ndarray of shape (n, m)
            Normalised spectra, or means of `n_per_row` normalised spectra.
        n_per_row : numpy.ndarray of shape (n,), optional
            Spectra averaged in each row (scales the weights; default 1).
        prior : bool, default=False
            Add the Gaussian prior of variance `prior_var` (maximum a posteriori).

        Returns
        -------
        shift, variance : numpy.ndarray of shape (n,)
            In u units; a line at u in training appears at u + shift.
        """
        grid, P, Ginv = self._projections()
        X = np.asarray(Xn, dtype=np.float64)
        G, K, m = P.shape
        # one BLAS product for every grid shift and basis vector (einsum does not use BLAS)
        proj = (X @ P.reshape(G * K, m).T).reshape(len(X), G, K)
        return self._shifts(proj, n_per_row, prior)

    def estimate_raw(self, X: np.ndarray, keep: np.ndarray, prior=False):
        """:meth:`estimate` of the normalised spectra ``X / (X @ keep)``, from the raw X.

        One product of X in its own dtype (float32 stays float32) with the total's column
        and the projections of every grid shift: no normalised float64 copy of X (on a
        2,700 x 4,000 float32 train ~25 ms instead of ~500 ms). The float32 rounding of the
        projections moves a shift by about 1e-3 line widths whatever the photon count (the
        error of the explained chi-square and its curvature both grow with the counts), far
        below the :data:`SHIFT_QUANTUM` the alignment rounds to.
        """
        return self._shifts(self.raw_projections(X, keep).proj, None, prior, whitened=True)

    def raw_projections(self, X: np.ndarray, keep: np.ndarray) -> RowProjections:
        """Whitened projections (see :meth:`_whitened`) of every ``X / (X @ keep)``.

        One product of the raw X in its own dtype with the total's column and the G x K
        projection columns. The projections are linear in the spectrum, so the block means
        of :meth:`smooth_run` and :meth:`run_rate` are means of these rows.
        """
        _, P, _ = self._projections()
        G, K, m = P.shape
        X = np.asarray(X)
        if X.dtype not in (np.float32, np.float64):
            X = X.astype(np.float64)
        cache = self.__dict__.setdefault("_proj", {})
        key = ("raw", X.dtype.str, np.asarray(keep, bool).tobytes())
        if key not in cache:
            cache[key] = self._raw_matrix(np.asarray(keep, np.float64), X.dtype)
        A, coef = cache[key]
        Z = X @ A
        tot = Z[:, 0].astype(np.float64)
        tot = np.where(np.abs(tot) > 0, tot, 1.0)  # as the normalisation of the predict path
        proj = Z[:, 1:].astype(np.float64) / tot[:, None]
        if coef is not None:
            proj = proj @ coef
        return RowProjections(proj.reshape(len(X), G, K))

    def _raw_matrix(self, keep, dtype):
        """The product's matrix ``(m, 1 + r)`` and the map of its r columns to the G x K.

        The shifted bases span few dimensions when the grid is fine against the lines
        (linearly interpolated shifts of a fraction of a point are combinations of whole
        point shifts): an XES model's 337 x 2 projections have rank 170. The product then
        runs on the r right singular vectors above the dtype's rounding, and a small
        float64 product maps them back (None: full rank, the projections themselves).
        """
        P = self._whitened()
        G, K, m = P.shape
        flat = P.reshape(G * K, m)
        U, S, Vt = np.linalg.svd(flat, full_matrices=False)
        r = int(np.count_nonzero(S > S[0] * np.finfo(dtype).eps)) if S.size else 0
        if r < LOW_RANK_FRACTION * G * K:
            cols, coef = Vt[:r].T, (U[:, :r] * S[:r]).T
        else:
            cols, coef = flat.T, None
        A = np.concatenate([keep[:, None], cols], axis=1)
        return np.ascontiguousarray(A.astype(dtype)), coef

    def _whitened(self):
        """The shifted bases whitened: ``L_g^T P_g`` (G, K, m), ``L_g L_g^T = Ginv_g``.

        A row's explained chi-square at grid shift g is then the plain sum of squares of its
        K projections (no K x K product per row and shift).
        """
        cache = self.__dict__.setdefault("_proj", {})
        if "Pw" not in cache:
            _, P, Ginv = self._projections()
            evals, evecs = np.linalg.eigh(Ginv)
            Lt = (evecs * np.sqrt(np.maximum(evals, 0.0))[:, None, :]).transpose(0, 2, 1)
            cache["Pw"] = Lt @ P
        return cache["Pw"]

    def _shifts(self, proj, n_per_row, prior, whitened=False):
        """Shift and variance per row from its projections (n, G, K) on the shifted bases.

        `whitened`: projections on :meth:`_whitened` bases (the Gram inverse applied).
        """
        grid, _, Ginv = self._projections()
        n = proj.shape[0]
        nrow = np.ones(n) if n_per_row is None else np.asarray(n_per_row, dtype=np.float64)
        if whitened:
            # sums of squares over the K slices (a reduction over a trailing axis of 2-5
            # is ~10x slower than element-wise operations across the slices)
            explained = np.square(proj[:, :, 0])
            for k in range(1, proj.shape[2]):
                explained += np.square(proj[:, :, k])
        else:
            proj = proj.transpose(1, 0, 2)
            explained = np.einsum("gnk,gnk->ng", proj @ Ginv, proj)
        # chi-square up to a constant per row, (n, G): rows contiguous for the search
        cost = np.multiply(explained, -nrow[:, None], out=explained)
        if prior:
            cost += (grid**2 / max(self.prior_var, 1e-300))[None, :]
        i = np.argmin(cost, axis=1)
        s = grid[i].astype(np.float64)
        h = grid[1] - grid[0] if grid.size > 1 else 1.0
        inner = (i > 0) & (i < grid.size - 1)
        rows = np.arange(n)
        c0 = cost[rows, np.clip(i - 1, 0, grid.size - 1)]
        c1 = cost[rows, i]
        c2 = cost[rows, np.clip(i + 1, 0, grid.size - 1)]
        den = c0 - 2 * c1 + c2
        ok = inner & (den > 0)
        s[ok] += 0.5 * h * (c0[ok] - c2[ok]) / den[ok]
        # chi-square curvature -> Fisher information: var = 2 / (d2 chi2 / ds2)
        curv = np.where(ok, den / h**2, 0.0)
        var = np.where(curv > 0, 2.0 / np.maximum(curv, 1e-300), (grid.size * h) ** 2)
        return s, var

    def align(self, X: np.ndarray, shifts: np.ndarray) -> np.ndarray:
        """Spectra moved back by their shifts (linear interpolation; dtype kept).

        Shifts are rounded to :data:`SHIFT_QUANTUM` of a point and the spectra sharing one
        are moved together: two column slices per distinct shift and run of equal offsets
        instead of an interpolation per spectrum (a train with one shift costs two passes
        over it).
        """
        aligned, order = self.align_sorted(X, shifts)
        if order is None:
            return aligned
        out = np.empty_like(aligned)
        out[order] = aligned
        return out

    def align_sorted(self, X: np.ndarray, shifts: np.ndarray, out=None):
        """:meth:`align` with the rows in the order of their shifts: ``(aligned, order)``.

        Row i of `aligned` is spectrum ``order[i]`` aligned (`order` None: the order of X,
        and `aligned` may be X itself when nothing moves). Callers whose results are per
        row (prediction) put them back in order at the end, which saves a pass over the
        spectra. `out`: an array like X to write into.
        """
        shifts = np.asarray(shifts, dtype=np.float64)
        if not np.any(shifts):
            return X, None
        quantum = self.step * SHIFT_QUANTUM
        q = np.round(shifts / quantum).astype(np.int64)
        out = np.empty_like(X) if out is None else out
        m = X.shape[1]
        idx = np.arange(m, dtype=np.float64)
        order = np.argsort(q, kind="stable")
        values, first = np.unique(q[order], return_index=True)
        bounds = np.append(first, len(q))
        in_order = bool(np.all(order[1:] > order[:-1]))
        for value, a, b in zip(values, bounds[:-1], bounds[1:]):
            i0, frac = self._grid(value * quantum, idx)
            part = X[a:b] if in_order else X[order[a:b]]
            _interpolate_columns(part, i0, frac.astype(X.dtype), out[a:b])
        return out, None if in_order else order

    def move(self, shift: float):
        """How :meth:`align` moves every spectrum by one `shift`: ``(i0, frac)``.

        The aligned spectrum's point j is ``(1 - frac_j) x[i0_j] + frac_j x[i0_j + 1]``.
        """
        quantum = self.step * SHIFT_QUANTUM
        return self._grid(float(np.round(shift / quantum)) * quantum,
                          np.arange(len(self.u), dtype=np.float64))

    def aligned_variance(self, point_var: np.ndarray, shifts: np.ndarray) -> np.ndarray:
        """Per-point noise variance (m,) of the spectra :meth:`align` makes, over them.

        A point interpolated at fraction f between two carries ``(1 - f)² v0 + f² v1`` of
        their noise variances (half at half a point): the references' noise model, their
        spreads' floor, is carried through the alignment rather than measured again (their
        second differences, correlated by the interpolation, read a third of it there).
        """
        v = np.asarray(point_var, dtype=np.float64)
        shifts = np.asarray(shifts, dtype=np.float64)
        if not np.any(shifts):
            return v
        # the spectra sharing a shift (as align rounds them) share its interpolation
        quantum = self.step * SHIFT_QUANTUM
        values, counts = np.unique(np.round(shifts / quantum), return_counts=True)
        out = np.zeros_like(v)
        for value, c in zip(values, counts):
            i0, f = self.move(value * quantum)
            out += c * ((1 - f) ** 2 * v[i0] + f**2 * v[np.minimum(i0 + 1, v.size - 1)])
        return out / counts.sum()

    def _grid(self, shift, idx):
        # x_aligned(u) = x(u + s): the position of u + s on the point grid
        m = len(idx)
        pos = np.interp(self.u + shift, self.u, idx)
        i0 = np.clip(np.floor(pos).astype(np.int64), 0, max(m - 2, 0))
        return i0, pos - i0

    # ------------------------------------------------------------------ runs
    def single_variance(self) -> float:
        """Cramér-Rao variance of one spectrum's shift: 1 / sum(w T'^2) (u²)."""
        T = self.basis[0]
        dT = np.gradient(T, self.u)
        info = float(np.sum(self.weight * dT**2))
        return 1.0 / max(info, 1e-300)

    def block_size(self, peak_width_u: float) -> int:
        """Spectra per block so that a block's shift error is inside the linear regime."""
        target = (BLOCK_ERROR_WIDTHS * peak_width_u) ** 2
        return int(max(1, np.ceil(self.single_variance() / max(target, 1e-300))))

    def smooth_run(self, Xn, block: int, rate: float | None = None) -> np.ndarray:
        """Kalman-smoothed shift of every spectrum of a run in acquisition order.

        `Xn`: normalised spectra (n, m), or their :meth:`raw_projections`.
        """
        n = len(Xn)
        starts = np.arange(0, n, block)
        counts = np.diff(np.append(starts, n)).astype(np.float64)
        z, _ = self._estimate_blocks(Xn, starts, counts)
        # measurement variances from the Cramér-Rao bound, not from the curvature of a
        # noisy profile at its minimum (which can be sharp at a spurious minimum)
        r = self.single_variance() / counts
        centres = starts + (counts - 1) / 2
        if rate is None:
            rate = self.rate if self.rate > 0 else self.run_rate(Xn)
        s = kalman_smooth(z, r, centres, rate)
        return np.interp(np.arange(n), centres, s)

    def _estimate_blocks(self, Xn, starts, counts):
        """Shifts of the means of normalised spectra over the blocks beginning at `starts`."""
        if isinstance(Xn, RowProjections):
            proj = np.add.reduceat(Xn.proj, starts, axis=0) / counts[:, None, None]
            return self._shifts(proj, counts, False, whitened=True)
        means = np.add.reduceat(np.asarray(Xn, dtype=np.float64), starts, axis=0)
        return self.estimate(means / counts[:, None], counts)

    def run_rate(self, Xn) -> float:
        """The drift rate of a run measured on the run itself (method of moments).

        The run is cut into about :data:`RATE_BLOCKS` blocks; the squared differences of
        successive block shifts, less what their measurement variances explain, grow with
        the drift's random-walk variance times the distance between the blocks.
        """
        n = len(Xn)
        block = max(1, n // RATE_BLOCKS)
        starts = np.arange(0, n, block)
        counts = np.diff(np.append(starts, n)).astype(np.float64)
        z, _ = self._estimate_blocks(Xn, starts, counts)
        return _drift_rate(z, self.single_variance() / counts, starts + (counts - 1) / 2)


@dataclass
class RowProjections:
    """Projections (n, G, K) of each normalised spectrum on the whitened shifted bases.

    What :meth:`DriftModel.raw_projections` returns; :meth:`DriftModel.smooth_run` and
    :meth:`DriftModel.run_rate` take it in place of the normalised spectra.
    """

    proj: np.ndarray

    def __len__(self) -> int:
        return len(self.proj)


def _interpolate_columns(X, i0, frac, out=None):
    """``X[:, i0] (1 - frac) + X[:, i0 + 1] frac`` by contiguous slices, into `out`.

    A drift moves neighbouring points by nearly the same amount, so ``i0 - j`` is constant
    over long runs of columns j: each run is two slices of X (memory speed), not a gather.
    No temporary arrays: a fresh multi-MB temporary per run is fresh memory whose pages
    fault in every time.
    """
    n, m = X.shape
    if out is None:
        out = np.empty_like(X)
    d = i0 - np.arange(m)
    cuts = np.flatnonzero(np.diff(d)) + 1
    starts = np.concatenate([[0], cuts])
    stops = np.concatenate([cuts, [m]])
    f1 = np.asarray(frac, dtype=X.dtype)
    f0 = (1 - f1).astype(X.dtype)
    for a, b in zip(starts, stops):
        c = int(d[a])
        seg = out[:, a:b]
        np.multiply(X[:, a + c:b + c], f0[a:b], out=seg)
        # seg += X[:, a+c+1 : b+c+1] * f1, without a temporary: the products of the next
        # slice are added in place through a second multiply-add
        _fma(X[:, a + c + 1:b + c + 1], f1[a:b], seg)
    return out


def _fma(x, f, out):
    """``out += x * f`` in row blocks (a temporary of at most a few hundred kB)."""
    step = max(1, (1 << 16) // max(x.shape[1], 1))
    for i in range(0, x.shape[0], step):
        out[i:i + step] += x[i:i + step] * f


def kalman_smooth(z, r, t, rate, prior_var=None):
    """Random-walk Kalman filter + RTS smoother of measurements `z` (variances `r`) at `t`."""
    k = len(z)
    prior_var = float(np.max(r) * 1e3 + 1.0) if prior_var is None else prior_var
    # Python floats: indexing numpy arrays element by element costs ~10x more per step
    z, r = np.asarray(z, float).tolist(), np.asarray(r, float).tolist()
    q = (rate * np.diff(np.asarray(t, float), prepend=t[0] if k else 0.0)).tolist()
    xf, pf, xp, pp = [0.0] * k, [0.0] * k, [0.0] * k, [0.0] * k
    x, p = 0.0, prior_var
    for i in range(k):
        xp[i] = x
        pp[i] = ppi = p + q[i]
        g = ppi / (ppi + r[i])
        x = x + g * (z[i] - x)
        p = (1 - g) * ppi
        xf[i], pf[i] = x, p
    xs = list(xf)
    for i in range(k - 2, -1, -1):
        c = pf[i] / max(pp[i + 1], 1e-300)
        xs[i] = xf[i] + c * (xs[i + 1] - xp[i + 1])
    return np.asarray(xs)


@dataclass
class DriftTracker:
    """Causal drift tracking for a live stream: call :meth:`update` train by train.

    Parameters
    ----------
    model : DriftModel
        The fitted model's drift description (``clf.drift_model_``).

    Attributes
    ----------
    shift, variance : float
        The current estimate (u units) and its variance.
    """

    model: DriftModel
    shift: float = 0.0
    variance: float = float("inf")
    _since: float = 0.0

    def update(self, Xn: np.ndarray) -> float:
        """Fold one train of normalised spectra into the estimate; return the new shift."""
        if len(Xn) == 0:
            return self.shift
        return self.update_mean(np.asarray(Xn, dtype=np.float64).mean(axis=0), len(Xn))

    def update_mean(self, mean: np.ndarray, n: int) -> float:
        """Fold a train given by the mean of its `n` normalised spectra into the estimate."""
        if n == 0:
            return self.shift
        z, r = self.model.estimate(np.asarray(mean, np.float64)[None, :],
                                   np.array([n], dtype=np.float64))
        p = self.variance + self.model.rate * (self._since + n / 2)
        if not np.isfinite(p):
            self.shift, self.variance = float(z[0]), float(r[0])
        else:
            g = p / (p + r[0])
            self.shift = float(self.shift + g * (z[0] - self.shift))
            self.variance = float((1 - g) * p)
        self._since = n / 2
        return self.shift


def pixel_variance(Xn: np.ndarray, y: np.ndarray, n_classes: int, keep: np.ndarray):
    """Per-point variance of one normalised spectrum, ``a·mean + b`` fitted to the scatter.

    The within-class squared residuals are regressed on the class mean (counting noise
    grows with the intensity, read noise does not); the fit needs no assumption on which
    of the two dominates. The regression's sums are sums over the rows of each class, so
    they come from the classes' sums of x and x² (two products; no n x m residual array).
    """
    Xn = np.asarray(Xn, np.float64)
    onehot = np.eye(n_classes)[y]
    cnt = onehot.sum(axis=0)
    k = keep > 0
    grand = np.maximum(Xn.mean(axis=0), 0.0)
    if not np.any(cnt > 1):
        return _pixel_variance_single(Xn, k, grand)
    use = cnt > 1  # classes with a scatter
    n_c = cnt[use]
    means = (onehot.T[use] @ Xn) / n_c[:, None]
    # per class and point: the sum of squared residuals over its rows, unbiased per row
    S = onehot.T[use] @ (Xn * Xn) - n_c[:, None] * means**2
    B = np.maximum(S, 0.0)[:, k] * (n_c / (n_c - 1))[:, None]  # sum over rows of b
    mu = np.maximum(means, 0.0)[:, k]
    N = float(n_c.sum() * k.sum())
    sx = float(n_c @ mu.sum(axis=1))
    sxx = float(n_c @ (mu**2).sum(axis=1))
    sb = float(B.sum())
    sxb = float(np.sum(mu * B))
    var_x = sxx - sx * sx / N
    slope = (sxb - sx * sb / N) / var_x if var_x > 0 else 0.0
    a = max(slope, 0.0)
    c = max(sb / N - slope * sx / N, 0.0)
    # the median point's variance (of m values: a median of all n x m residuals took 0.4 s
    # of a 2,000 x 4,000 fit)
    floor = _variance_floor(B.sum(axis=0) / n_c.sum())
    return np.maximum(a * grand + c, floor)


def _variance_floor(per_point: np.ndarray) -> float:
    """A thousandth of the median point's variance (of the mean's where the median is 0).

    Photon-starved references leave most points without a count in any of them (555 of
    819 at 300 photons): their median variance is 0, and a floor of 1e-3 x tiny had made
    those points' weights overflow (a fit that ended in 'SVD did not converge'). Where no
    point varies at all, 1: every point weighs the same.
    """
    v = np.asarray(per_point, dtype=np.float64)
    for level in (float(np.median(v)), float(np.mean(v))):
        if level > 0 and np.isfinite(level):
            return 1e-3 * level
    return 1.0


#: Counts added to each point's total over the references before its mean is taken, the
#: Jeffreys prior of a Poisson mean (posterior mean ``(k + 1/2) / n`` of k counts in n
#: references): a point with no count in any reference has an expected count above 0,
#: and a floor of 0 there is no floor. (Measured: emission lines 12 points wide at 1,000
#: photons, 10 references per state, full size, 8 seeds: 0.924 with the mean smoothed
#: over a quarter line width instead, 0.971 with the prior; XRF 0.870 and 0.885.)
JEFFREYS_COUNTS = 0.5


def counting_variance(Xn: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Per-point counting-noise variance of one normalised spectrum of `Xn` (m,).

    Measured from the references' second differences (``a·level + b`` regressed on the
    level, as :func:`pixel_variance` with one reference per state), which a smooth
    nuisance (gain, offset, background) does not reach: on an XRF set with random gain and
    offset it is 1.0-1.2 times the Poisson variance, where the within-class scatter is 5.3
    times it. The slope ``a`` is the size of one count in the normalised units (Poisson:
    the variance of a count is its mean), so the level is the references' mean plus
    :data:`JEFFREYS_COUNTS` counts over their number. It is the floor of the linear
    member's spreads and of the region networks' input scales (the measured within-class
    spread of a few references can be chance-small; the noise cannot).
    """
    Xn = np.asarray(Xn, np.float64)
    slope, c, floor = _second_difference_fit(Xn, np.asarray(keep) > 0)
    level = np.maximum(Xn.mean(axis=0), 0.0) + JEFFREYS_COUNTS * slope / max(len(Xn), 1)
    return np.maximum(slope * level + c, floor)


def _pixel_variance_single(Xn, k, grand):
    """:func:`pixel_variance` with one reference per state: its second-difference noise."""
    slope, c, floor = _second_difference_fit(Xn, k)
    return np.maximum(slope * grand + c, floor)


def _second_difference_fit(Xn, k):
    """``(slope, intercept, floor)`` of the second-difference noise regressed on the level.

    Over the used points `k` of every row of `Xn`: ``d2² / 6`` (the variance of a point
    when its neighbours carry the same noise) against the row's own value.
    """
    d2 = Xn[:, 2:] - 2 * Xn[:, 1:-1] + Xn[:, :-2]
    b = np.pad(d2**2 / 6.0, ((0, 0), (1, 1)), mode="edge")[:, k]
    x = np.maximum(Xn[:, k], 0.0)  # each state's mean is its one reference
    floor = _variance_floor(b.mean(axis=0))
    x, b = x.ravel(), b.ravel()
    xc = x - x.mean()
    sxx = float(xc @ xc)
    slope = float(xc @ (b - b.mean())) / sxx if sxx > 0 else 0.0
    c = max(float(b.mean()) - slope * float(x.mean()), 0.0)
    return max(slope, 0.0), c, floor


def fit_drift_model(Xn, y, n_classes, u, keep, peak_width_points, max_shift=None):
    """The drift description of normalised references `Xn` in acquisition order.

    Parameters
    ----------
    Xn : numpy.ndarray of shape (n, m)
        Normalised reference spectra.
    y : numpy.ndarray of int
        Their states.
    n_classes : int
        Number of states.
    u : numpy.ndarray of shape (m,)
        Shift coordinate.
    keep : numpy.ndarray of shape (m,)
        1 at used points, 0 at masked points.
    peak_width_points : float
        Measured line width (points).
    max_shift : float, optional
        Largest shift searched, in points; default: measured (see :func:`drift_evidence`).

    Returns
    -------
    DriftModel
    """
    Xn = np.asarray(Xn, dtype=np.float64)
    m = Xn.shape[1]
    step = float(np.median(np.diff(u))) if m > 1 else 1.0
    onehot = np.eye(n_classes)[y]
    means = (onehot.T @ Xn) / np.maximum(onehot.sum(axis=0), 1.0)[:, None]
    grand = means.mean(axis=0)
    basis = np.vstack([grand[None, :], (means[1:] - means[0])])
    weight = keep / pixel_variance(Xn, y, n_classes, keep)
    width_u = max(peak_width_points, 1.0) * step
    # search up to half a line width (a calibration drift larger than that is not a small
    # correction of the same spectrum any more), at least two points
    search = max(0.5 * width_u, 2 * step) if max_shift is None else float(max_shift) * step
    model = DriftModel(u=np.asarray(u, float), step=step, basis=basis, weight=weight,
                       max_shift=search, rate=0.0, evidence=1.0)
    p, shifts, var, pos = drift_evidence(model, Xn, y, n_classes, means)
    model.evidence = p
    model.rate = _drift_rate(shifts, var, pos)
    if shifts.size:
        model.prior_var = float(max(np.mean(shifts**2 - var), 0.0))
    return model


def drift_evidence(model, Xn, y, n_classes, means):
    """Chi-square p-value of the references' shifts against their own state means.

    Each state's references (in acquisition order) are cut into at most
    :data:`EVIDENCE_BLOCKS` contiguous blocks; a block's shift against its state's mean is
    measured with its variance. Without drift the shifts scatter as their variances say.
    """
    zs, rs, pos = [], [], []
    for c in range(n_classes):
        idx = np.flatnonzero(y == c)
        if idx.size < 2:
            continue
        nb = min(EVIDENCE_BLOCKS, idx.size)
        single = DriftModel(u=model.u, step=model.step, basis=means[c:c + 1],
                            weight=model.weight, max_shift=model.max_shift, rate=0.0,
                            evidence=1.0)
        blocks = np.array_split(idx, nb)
        bm = np.stack([Xn[b].mean(axis=0) for b in blocks])
        z, r = single.estimate(bm, np.array([len(b) for b in blocks], float))
        zs.append(z - np.average(z, weights=1 / r))
        rs.append(r)
        pos.append(np.array([b.mean() for b in blocks]))
    if not zs:
        return 1.0, np.zeros(0), np.zeros(0), np.zeros(0)
    z, r, t = np.concatenate(zs), np.concatenate(rs), np.concatenate(pos)
    stat = float(np.sum(z**2 / r))
    dof = max(len(z) - len(zs), 1)
    return float(chi2.sf(stat, dof)), z, r, t


def _drift_rate(shifts, var, pos):
    """Random-walk variance per spectrum from successive block shifts (0 if none seen)."""
    if shifts.size < 3:
        return 0.0
    order = np.argsort(pos)
    s, v, t = shifts[order], var[order], pos[order]
    dt = np.diff(t)
    ok = dt > 0
    if not np.any(ok):
        return 0.0
    excess = np.diff(s)[ok] ** 2 - (v[1:] + v[:-1])[ok]
    return float(max(np.sum(excess) / np.sum(dt[ok]), 0.0))
