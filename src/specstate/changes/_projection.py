"""The low-dimensional view of a spectrum that change detection works on.

Every spectrum ``x`` (``m`` points) becomes ``2K`` numbers (see :class:`Projection`): its
overlaps with ``K`` smooth, evenly spaced Gaussian bumps divided by its total intensity (the
shares), and ``K`` local peak shifts against a recent reference. All come from two matrix
products per chunk of spectra, ``x @ [bumps | ones]`` and ``(x * r') @ bumps`` (``r'`` that
of each spectrum's reference).

Why the shares:

* dividing by the total intensity cancels the pulse-energy (SASE) fluctuation and a slow beam
  drift, which scale the whole spectrum;
* the bumps are much wider than a peak, so a peak that moves by a fraction of its width (a
  compressing sample, a drifting energy scale) moves weight smoothly from one bump to the
  next, a slow, nearly linear motion that the baseline tracker of
  :class:`~specstate.changes.ChangeDetector` absorbs; a new peak, a vanished one or a jump of
  several widths changes the weights at once;
* summing over many points per bump averages the counting noise, so the ``K`` numbers are
  close to Gaussian even at a few photons per pixel (single-shot XES).

The shifts see what the shares cannot: peaks that jump by less than a bump's width (a
lattice collapse, a spin-state shift of an emission line), while grain statistics that
change a peak's height leave them alone.
"""

from __future__ import annotations

import numpy as np

from ..exceptions import NonFiniteError, SpectraFormatError

__all__ = ["smooth_basis", "as_chunk", "Projection"]

#: Width (rms) of a bump in units of the spacing of the bump centres: neighbours overlap so
#: that a peak between two centres is seen by both (the sum of the bumps is then flat to
#: ~1e-3 away from the ends), and no finer.
_BUMP_WIDTH_SPACINGS = 0.85
#: Relative size below which a direction of the shares' counting covariance counts as null
#: in the decorrelation of the shifts (see Projection._project): the bump shares sum to
#: nearly a constant, so one direction is ~1e-3 of the others; float64 rounding is ~1e-16.
_PINV_RCOND = 1e-10
#: References (blocks) projected together at most: their gradients take this many spectra's
#: worth of memory, whatever the chunk's length when the reference is renewed every spectrum.
_REFS_PER_PIECE = 128


def smooth_basis(n_points: int, n_components: int, dtype=np.float32,
                 moments: bool = False) -> np.ndarray:
    """Gaussian bumps evenly spaced over the point index, plus a column of ones.

    Parameters
    ----------
    n_points : int
        Points per spectrum.
    n_components : int
        Number of bumps ``K``.
    dtype : numpy dtype, default float32
        Dtype of the matrix (that of the spectra, so the product stays in one precision).

    Returns
    -------
    numpy.ndarray of shape (n_points, n_components + 1)
        Bumps normalised to unit sum, then the column of ones (the total intensity).
    """
    k = int(n_components)
    spacing = n_points / k
    centres = (np.arange(k) + 0.5) * spacing
    index = np.arange(n_points, dtype=np.float64)[:, None]
    bumps = np.exp(-0.5 * ((index - centres[None, :]) / (_BUMP_WIDTH_SPACINGS * spacing)) ** 2)
    bumps /= bumps.sum(axis=0, keepdims=True)
    # tails below the dtype's rounding of a bump's peak change no sum of the product, and
    # far out they are subnormal numbers, which make the matrix product ~3x slower
    bumps[bumps < np.finfo(dtype).eps * bumps.max(axis=0)] = 0.0
    if not moments:
        return np.hstack([bumps, np.ones((n_points, 1))]).astype(dtype)
    offset = (index - centres[None, :]) / spacing
    return np.hstack([bumps, bumps * offset, np.ones((n_points, 1))]).astype(dtype)


def as_chunk(X, axis, where: str, n_points: int | None = None,
             ref_axis: np.ndarray | None = None):
    """Check one chunk of spectra: 2-D, finite, non-empty, the expected length and axis.

    Parameters
    ----------
    X : array-like of shape (n, m), or Spectra
        The spectra (a single spectrum may be 1-D).
    axis : array-like of shape (m,), optional
        Their axis values.
    where : str
        Who asks, for the error messages (e.g. ``"ChangeDetector.update"``).
    n_points : int, optional
        Expected number of points.
    ref_axis : numpy.ndarray, optional
        Expected axis values.

    Returns
    -------
    x : numpy.ndarray of shape (n, m), float32 or float64
    axis : numpy.ndarray or None
    train_ids : numpy.ndarray or None
        From a :class:`~specstate.Spectra`, else None.
    total : numpy.ndarray of shape (n,)
        Each spectrum's sum (read with the finiteness check, in the spectra's dtype).

    Raises
    ------
    SpectraFormatError
        Empty chunk, wrong number of points, not 2-D, or another axis.
    NonFiniteError
        NaN or infinite values.
    """
    from ..spectra import Spectra

    train_ids = None
    if isinstance(X, Spectra):
        axis = X.axis if axis is None and X.axis_name != "index" else axis
        train_ids = X.train_ids
        X = X.intensity
    x = np.asarray(X)
    if x.ndim == 1 and x.size:
        x = x[None, :]
    if x.ndim != 2:
        raise SpectraFormatError(
            f"{where} expects spectra as a 2-D array (n_spectra, n_points); got shape "
            f"{x.shape}."
        )
    if x.shape[0] == 0:
        raise SpectraFormatError(f"{where} got an empty chunk (0 spectra); expected at least 1.")
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    if n_points is not None and x.shape[1] != n_points:
        raise SpectraFormatError(
            f"{where} expects spectra of {n_points} points (as the first ones); got "
            f"{x.shape[1]}."
        )
    if axis is not None:
        axis = np.asarray(axis, dtype=np.float64).reshape(-1)
        if axis.shape != (x.shape[1],):
            raise SpectraFormatError(
                f"{where}: the axis has {axis.size} values but the spectra have "
                f"{x.shape[1]} points."
            )
        if ref_axis is not None:
            step = np.abs(np.diff(ref_axis)).min() if ref_axis.size > 1 else 1.0
            if not np.allclose(axis, ref_axis, rtol=0, atol=0.01 * step):
                raise SpectraFormatError(
                    f"{where}: these spectra are on the axis [{axis[0]:g}, {axis[-1]:g}], "
                    f"not the one of the first spectra [{ref_axis[0]:g}, {ref_axis[-1]:g}]."
                )
    with np.errstate(over="ignore", invalid="ignore"):
        # a row sum is finite iff its values are (or it overflows, checked exactly below);
        # as a matrix-vector product it reads the chunk at memory speed
        total = x @ np.ones(x.shape[1], dtype=x.dtype)
        finite = np.isfinite(total)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        exact = ~np.isfinite(x[bad]).all(axis=1)
        if exact.any():
            first = int(bad[np.argmax(exact)])
            raise NonFiniteError(
                f"{where} expects finite spectra; spectrum {first} of this chunk (and "
                f"{int(exact.sum()) - 1} more) holds NaN or infinite values."
            )
    return x, axis, train_ids, total


def _gradient(ref: np.ndarray, out: np.ndarray) -> None:
    """Central differences of `ref` into `out`, one-sided at the ends (as numpy.gradient)."""
    if ref.size < 2:
        out[:] = 0.0
        return
    np.subtract(ref[2:], ref[:-2], out=out[1:-1])
    out[1:-1] *= 0.5
    out[0], out[-1] = ref[1] - ref[0], ref[-1] - ref[-2]


class Projection:
    """Bump shares and local peak shifts of each spectrum, relative to a recent reference.

    Two sets of ``K`` numbers per spectrum ``y = x / sum(x)``:

    * the shares ``y @ bumps`` (see :func:`smooth_basis`): where the intensity is;
    * the local shifts ``((y - r) * r') @ bumps``, with ``r`` an exponentially weighted
      mean of the previous normalised spectra (time constant `tau` spectra) and ``r'`` its
      derivative along the points, divided by their counting noise: a peak that moved by
      ``s`` points since the reference contributes ``-s sum(bump r'^2)``, while a change of
      its height (grain statistics, absorption) contributes nothing to first order (``r'``
      is odd about a symmetric peak). Peak positions are what a lattice jump or an energy
      shift changes; the reference follows the spectra, so a slow compression shows as a
      steady, slowly varying shift (its speed times `tau`), a jump as a burst. The shift
      weights ``bump * r'`` lose their least-squares part on the bumps in the Poisson
      metric of the reference (``diag(r) - r r^T``), so that under counting noise the
      shifts are uncorrelated with the shares whatever the reference: where a bump sees no
      peak, ``r'`` is the reference's own noise, and that correlation would otherwise
      change with every reference.

    Parameters
    ----------
    n_points, n_components : int
        Points per spectrum and number of bumps ``K``.
    tau : float
        Time constant (spectra) of the reference.
    block : int, optional
        Spectra (with beam) per update of the reference (default: `tau`); the products
        cover a whole chunk whatever the block.
    dtype : numpy dtype
        Precision of the products (that of the spectra).
    """

    def __init__(self, n_points: int, n_components: int, tau: float, dtype=np.float32,
                 block: int | None = None):
        self.basis = smooth_basis(n_points, n_components, dtype)
        self.bumps = np.ascontiguousarray(self.basis[:, :-1])
        self._bumps64 = self.bumps.astype(np.float64)
        self._bumps_sq = self._bumps64 ** 2
        # products of bump pairs per point, for the shares' counting covariance (see
        # _project): B_l B_m for l <= m (both matrices there are symmetric)
        k = int(n_components)
        self._upper = np.triu_indices(k)
        self._pairs = self._bumps64[:, self._upper[0]] * self._bumps64[:, self._upper[1]]
        self.n_features = 2 * int(n_components)
        self._dtype = dtype
        tau = max(float(tau), 1.0)
        # the reference is updated once per block of spectra with beam; a block never
        # exceeds the time constant
        self.block = max(1, int(block if block is not None else tau))
        self._a = 1.0 - (1.0 - 1.0 / tau) ** self.block
        self._ref = None  # reference of the current block
        self._k = int(n_components)
        self._sum_total = 0.0
        self._sum = np.zeros(n_points)  # sum of the current block's normalised spectra
        self._n = 0

    def __call__(self, x: np.ndarray, total: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
        """Features ``(n, 2K)`` and total intensity (a last column), and which had any.

        Rows of spectra without positive total intensity (no beam) are zero and left out
        of the reference; ``ok`` is False for them. `total`: the rows' sums when the caller
        has them (:func:`as_chunk` does), which saves a pass over the spectra.
        """
        if x.dtype != self.basis.dtype:
            x = x.astype(self.basis.dtype)
        x = np.ascontiguousarray(x)
        n = x.shape[0]
        if total is None:
            total = x @ np.ones(x.shape[1], dtype=x.dtype)
        total = np.asarray(total, dtype=np.float64).reshape(n)
        out = np.zeros((n, 2 * self._k + 1))
        if self._ref is None:  # the first spectra are their own reference
            seg = x[: self.block].astype(np.float64)
            good = total[: self.block] > 0
            if not good.any():
                out[:, -1] = total
                return out, total > 0
            self._ref = seg[good].sum(axis=0) / total[: self.block][good].sum()
        ok = np.zeros(n, dtype=bool)
        # pieces of at most _REFS_PER_PIECE references: bounds the memory they take when
        # the reference is renewed every few spectra (slow streams, block = 1)
        step = self.block * _REFS_PER_PIECE
        for start in range(0, n, step):
            stop = min(start + step, n)
            ok[start:stop] = self._project(x[start:stop], total[start:stop], out[start:stop])
        return out, ok

    def _project(self, x: np.ndarray, total: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Features of `x` into `out`; advances the reference. One pass over the spectra."""
        k, block = self._k, self.block
        good = total > 0
        all_good = bool(good.all())
        n_good = int(good.sum())
        # the reference of each spectrum: blocks completed (by spectra with beam) before it
        before = np.cumsum(good) - good
        which = (self._n + before) // block
        n_done = (self._n + n_good) // block  # blocks completed by these spectra
        m = x.shape[1]
        refs = np.empty((n_done + 1, m))
        grads = np.empty((n_done + 1, m))
        refs[0] = self._ref
        # the shares x @ bumps and the shifts' numerators (x * r') @ bumps in one product
        # per block, [bumps | bumps * r'] (r' that of the block's reference), while the
        # block is in cache: one pass over the spectra, whose sum (those with beam) then
        # renews the reference (exponentially weighted mean of the block means)
        pq = np.empty((x.shape[0], 2 * k), dtype=x.dtype)
        W = np.empty((2 * k, m), dtype=x.dtype)  # rows: contiguous to fill, and to multiply
        W[:k] = self.bumps.T
        ones = np.ones(min(block, x.shape[0]), dtype=x.dtype)
        bounds = np.flatnonzero(np.diff(which)) + 1
        for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, x.shape[0]]):
            j = int(which[lo])
            _gradient(refs[j], grads[j])
            np.multiply(W[:k], grads[j].astype(x.dtype), out=W[k:])
            seg = x[lo:hi]
            np.matmul(seg, W.T, out=pq[lo:hi])
            if not all_good:
                seg = seg[good[lo:hi]]
            # the block's sum as a vector-matrix product (from cache; faster than sum())
            self._sum += (ones[: seg.shape[0]] @ seg if seg.shape[0] <= ones.size
                          else seg.sum(axis=0))
            self._sum_total += float(total[lo:hi][good[lo:hi]].sum())
            if j < n_done:  # block complete
                mean = self._sum / self._sum_total
                refs[j + 1] = (1.0 - self._a) * refs[j] + self._a * mean
                self._sum[:] = 0.0
                self._sum_total = 0.0
        if n_done and which[-1] < n_done:  # a reference no spectrum of `x` used yet
            _gradient(refs[n_done], grads[n_done])
        self._n = (self._n + n_good) % block
        self._ref = refs[-1]
        const = (grads * refs) @ self._bumps64
        var = (grads * grads * np.abs(refs)) @ self._bumps_sq
        # the shifts are made uncorrelated with the shares under counting noise: with
        # Poisson counts a normalised spectrum scatters as (diag(r) - r r^T) / total, so
        # the weights a_k = bump_k * r' of shift k lose their least-squares part on the
        # bumps in that metric, c = (B^T S B)^+ B^T S a. Where a bump sees no peak, r' is
        # the reference's own noise, and the correlation of its shift with the shares
        # would change with every reference (and with where the peaks sit), which no
        # learned covariance follows.
        absr = np.abs(refs)
        shares_r = refs @ self._bumps64
        # sum_j w_j B_jl B_jm for the weights w = |r| and |r| r': one product for both
        both = np.vstack([absr, absr * grads]) @ self._pairs
        sym = np.empty((both.shape[0], k, k))
        sym[:, self._upper[0], self._upper[1]] = both
        sym[:, self._upper[1], self._upper[0]] = both
        nr = refs.shape[0]
        gram = sym[:nr] - shares_r[:, :, None] * shares_r[:, None, :]
        cross = sym[nr:] - shares_r[:, :, None] * const[:, None, :]
        coef = np.linalg.pinv(gram, rcond=_PINV_RCOND, hermitian=True) @ cross
        var = np.maximum(var - const**2 - np.einsum("rlk,rlk->rk", cross, coef),
                         np.finfo(np.float64).tiny)
        q = pq[:, k:].astype(np.float64)
        inv = np.where(good, 1.0 / np.where(good, total, 1.0), 0.0)
        out[:, -1] = total
        np.multiply(pq[:, :k], inv[:, None], out=out[:, :k])
        num = q * inv[:, None] - const[which]
        # minus the part on the shares: (y - r) @ B @ c (see above)
        num -= np.einsum("nl,nlk->nk", out[:, :k] - shares_r[which], coef[which])
        # standardised by its counting noise given the reference: with Poisson counts
        # var(y_j) = r_j / total, so num has variance sum(bump^2 r'^2 r) / total and
        # num / sqrt(that) is normal whatever r' is (a plain ratio to a noisy
        # sum(bump r'^2) would have heavy tails where the spectrum is flat)
        sd = np.sqrt(np.maximum(var[which] * inv[:, None], np.finfo(np.float64).tiny))
        out[:, k:-1] = np.where(good[:, None], num / sd, 0.0)
        return good
