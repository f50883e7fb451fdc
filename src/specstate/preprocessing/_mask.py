"""Ignore axis ranges such as detector gaps or diamond Bragg spots (:class:`MaskRanges`)."""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.base import OneToOneFeatureMixin

from ..exceptions import SpectraFormatError
from ._base import SpectralTransformer, resolve_axis

__all__ = ["MaskRanges"]

_INTERPOLATE = "interpolate"


class MaskRanges(OneToOneFeatureMixin, SpectralTransformer):
    """Mark axis ranges to be ignored and fill them so that later stages see no artefact.

    Each range ``(start, stop)`` (inclusive, in axis units) marks the points of a detector
    gap, a Bragg spot of the diamond anvils, a beamstop shadow... After :meth:`fit`,
    :attr:`mask_` tells which points are masked (True = ignore) so that later stages (region
    search, classifiers) can leave them out. :meth:`transform` replaces the masked points:

    * ``fill='interpolate'`` (default): a straight line between the nearest unmasked points on
      either side of each gap (the nearest value at the ends of the spectrum). The spectrum
      stays continuous, so baselines, derivatives and smoothing applied later do not ring at
      the gap.
    * a number (e.g. ``0.0``): that constant, for stages that only ever read unmasked points.

    Parameters
    ----------
    ranges : sequence of (start, stop) pairs, default=()
        Ranges to mask, in the units of `axis` (in points if `axis` is None).
    axis : array-like of shape (n_points,), optional
        Axis values of the spectra; the point index if None.
    fill : 'interpolate' or float, default='interpolate'
        How masked points are replaced.

    Attributes
    ----------
    mask_ : numpy.ndarray of bool, shape (n_points,)
        True where a point lies in one of the ranges.
    n_features_in_ : int
        Number of points per spectrum seen in :meth:`fit`.

    Examples
    --------
    >>> import numpy as np
    >>> m = MaskRanges([(2, 3)]).fit(np.zeros((1, 6)))
    >>> m.mask_
    array([False, False,  True,  True, False, False])
    >>> m.transform(np.array([[0.0, 1, 50, 60, 4, 5]]))
    array([[0., 1., 2., 3., 4., 5.]])
    """

    def __init__(self, ranges=(), axis=None, fill="interpolate"):
        self.ranges = ranges
        self.axis = axis
        self.fill = fill

    def _fit(self, X):
        name = type(self).__name__
        m = X.shape[1]
        axis = resolve_axis(self.axis, m, name)
        ranges = _as_pairs(self.ranges)
        if ranges is None:
            raise ValueError(
                f"The 'ranges' parameter of {name} must be a sequence of (start, stop) pairs "
                f"of finite numbers with start <= stop. Got {self.ranges!r} instead."
            )
        fill_ok = isinstance(self.fill, Real) and not isinstance(self.fill, bool)
        if not (fill_ok or self.fill == _INTERPOLATE):
            raise ValueError(
                f"The 'fill' parameter of {name} must be 'interpolate' or a number. "
                f"Got {self.fill!r} instead."
            )
        inside = (axis[None, :] >= ranges[:, :1]) & (axis[None, :] <= ranges[:, 1:])
        mask = inside.any(axis=0)
        if self.fill == _INTERPOLATE and mask.all():
            raise SpectraFormatError(
                f"{name} masks every point of the axis ({axis[0]:g}..{axis[-1]:g}); nothing is "
                "left to interpolate from."
            )
        self.mask_ = mask
        # For every masked point, its unmasked neighbours on the left and right and the
        # interpolation weight of the right one: one gather fills all gaps of all spectra.
        masked = np.flatnonzero(mask)
        kept = np.flatnonzero(~mask)
        if kept.size:
            pos = np.searchsorted(kept, masked)
            left = kept[np.clip(pos - 1, 0, kept.size - 1)]
            right = kept[np.clip(pos, 0, kept.size - 1)]
            span = axis[right] - axis[left]
            with np.errstate(invalid="ignore", divide="ignore"):
                t = np.where(span > 0, (axis[masked] - axis[left]) / np.where(span > 0, span, 1), 0)
        else:
            left = right = masked
            t = np.zeros(masked.size)
        self._masked, self._left, self._right, self._t = masked, left, right, t

    def _transform(self, X):
        out = X.copy()
        if self._masked.size == 0:
            return out
        if self.fill == _INTERPOLATE:
            t = self._t.astype(X.dtype)
            out[:, self._masked] = X[:, self._left] * (1 - t) + X[:, self._right] * t
        else:
            out[:, self._masked] = self.fill
        return out

    def _map_mask(self, mask):
        """The mask of the output points, given that of the input points."""
        return self.mask_ if mask is None else (np.asarray(mask, bool) | self.mask_)


def _as_pairs(ranges):
    """`ranges` as a float (k, 2) array of (start, stop) rows, or None if malformed."""
    try:
        pairs = np.asarray(ranges, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if pairs.size == 0:
        return np.empty((0, 2))
    if pairs.shape == (2,):  # a single (start, stop) pair
        pairs = pairs[np.newaxis, :]
    if pairs.ndim != 2 or pairs.shape[1] != 2 or not np.all(np.isfinite(pairs)):
        return None
    if np.any(pairs[:, 0] > pairs[:, 1]):
        return None
    return pairs
