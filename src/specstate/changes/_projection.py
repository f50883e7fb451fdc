"""The low-dimensional view of a spectrum that change detection works on.

Every spectrum ``x`` (``m`` points) becomes ``2K`` numbers (see :class:`Projection`): its
overlaps with ``K`` smooth, evenly spaced Gaussian bumps divided by its total intensity (the
shares), and ``K`` local peak shifts against a recent reference. All come from one matrix
product per block of spectra, ``x @ [bumps | ones | bumps * r']``.

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
        finite = np.isfinite(x.sum(axis=1))
    if not finite.all():
        bad = np.flatnonzero(~finite)
        exact = ~np.isfinite(x[bad]).all(axis=1)
        if exact.any():
            first = int(bad[np.argmax(exact)])
            raise NonFiniteError(
                f"{where} expects finite spectra; spectrum {first} of this chunk (and "
                f"{int(exact.sum()) - 1} more) holds NaN or infinite values."
            )
    return x, axis, train_ids


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
      steady, slowly varying shift (its speed times `tau`), a jump as a burst.

    Parameters
    ----------
    n_points, n_components : int
        Points per spectrum and number of bumps ``K``.
    tau : float
        Time constant (spectra) of the reference.
    block : int, optional
        Spectra per update of the reference (default: `tau`); each update costs one pass
        over the basis, each block one matrix product.
    dtype : numpy dtype
        Precision of the products (that of the spectra).
    """

    def __init__(self, n_points: int, n_components: int, tau: float, dtype=np.float32,
                 block: int | None = None):
        self.basis = smooth_basis(n_points, n_components, dtype)
        self.bumps = np.ascontiguousarray(self.basis[:, :-1])
        self._bumps64 = self.bumps.astype(np.float64)
        self._bumps_sq = self._bumps64 ** 2
        self.n_features = 2 * int(n_components)
        self._dtype = dtype
        tau = max(float(tau), 1.0)
        # the reference is updated once per block of spectra (so that a block costs one
        # matrix product whatever its length); a block never exceeds the time constant
        self.block = max(1, int(block if block is not None else tau))
        self._a = 1.0 - (1.0 - 1.0 / tau) ** self.block
        self._ref = None  # reference of the current block
        self._grad = np.zeros(n_points)
        self._k = int(n_components)
        self._full = np.zeros((n_points, 2 * self._k + 1), dtype=dtype)
        self._full[:, : self._k + 1] = self.basis
        self._sum_total = 0.0
        self._sum = np.zeros(n_points)  # sum of the current block's normalised spectra
        self._n = 0

    def _set_reference(self, ref: np.ndarray) -> None:
        self._ref = ref
        grad = self._grad
        if ref.size > 1:  # central differences, one-sided at the ends (as numpy.gradient)
            np.subtract(ref[2:], ref[:-2], out=grad[1:-1])
            grad[1:-1] *= 0.5
            grad[0], grad[-1] = ref[1] - ref[0], ref[-1] - ref[-2]
        k = self._k
        # one matrix per block: [bumps | ones | bumps * r'], so a block is one product
        self._full[:, k + 1:] = self._bumps64 * grad[:, None]
        self._const = (grad * ref) @ self._bumps64
        grad2 = grad * grad
        grad2 *= np.abs(ref)
        self._var = grad2 @ self._bumps_sq

    def __call__(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Features ``(n, 2K)`` and total intensity (a last column), and which had any.

        Rows of spectra without positive total intensity (no beam) are zero and left out
        of the reference; ``ok`` is False for them.
        """
        if x.dtype != self._full.dtype:
            x = x.astype(self._full.dtype)
        k = self._k
        n = x.shape[0]
        out = np.zeros((n, 2 * k + 1))
        if self._ref is None:  # the first spectra are their own reference
            seg = x[: self.block].astype(np.float64)
            tot = seg.sum(axis=1)
            good = tot > 0
            if not good.any():
                out[:, -1] = x.sum(axis=1)
                return out, out[:, -1] > 0
            self._set_reference(seg[good].sum(axis=0) / tot[good].sum())
        tiny = np.finfo(np.float64).tiny
        ok = np.zeros(n, dtype=bool)
        start = 0
        while start < n:
            stop = min(start + self.block - self._n, n)
            seg = x[start:stop]
            p = (seg @ self._full).astype(np.float64)
            total = p[:, k]
            good = total > 0
            ok[start:stop] = good
            out[start:stop, -1] = total
            inv = np.where(good, 1.0 / np.where(good, total, 1.0), 0.0)
            out[start:stop, :k] = p[:, :k] * inv[:, None]
            num = p[:, k + 1:] * inv[:, None] - self._const
            # standardised by its counting noise given the reference: with Poisson counts
            # var(y_j) = r_j / total, so num has variance sum(bump^2 r'^2 r) / total and
            # num / sqrt(that) is normal whatever r' is (a plain ratio to a noisy
            # sum(bump r'^2) would have heavy tails where the spectrum is flat)
            sd = np.sqrt(np.maximum(self._var[None, :] * inv[:, None], tiny))
            out[start:stop, k:-1] = np.where(good[:, None], num / sd, 0.0)
            # the reference: total-weighted mean of the block's spectra (those with beam)
            self._sum += seg[good].sum(axis=0, dtype=np.float64) if not good.all() else \
                seg.sum(axis=0, dtype=np.float64)
            self._sum_total += float(total[good].sum())
            self._n += int(good.sum()) if not good.all() else stop - start
            start = stop
            if self._n >= self.block and self._sum_total > 0:  # block complete
                mean = self._sum / self._sum_total
                self._set_reference((1.0 - self._a) * self._ref + self._a * mean)
                self._sum[:] = 0.0
                self._sum_total = 0.0
                self._n = 0
        return out, ok
