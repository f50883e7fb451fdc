"""Crop spectra to an axis range (:class:`RangeCut`)."""

from __future__ import annotations

import numpy as np

from ..exceptions import SpectraFormatError
from ._base import SpectralTransformer, feature_names_in, resolve_axis

__all__ = ["RangeCut"]


class RangeCut(SpectralTransformer):
    """Keep the points with ``start <= axis <= stop`` (axis units, converted once in fit).

    Parameters
    ----------
    start, stop : float, optional
        Range to keep, inclusive, in the units of `axis` (points if `axis` is None). None means
        the first / last point.
    axis : array-like of shape (n_points,), optional
        Axis values of the spectra; the point index if None.

    Attributes
    ----------
    axis_ : numpy.ndarray of shape (n_points_out,)
        Axis of the cropped spectra.
    start_index_, stop_index_ : int
        The kept points are ``X[:, start_index_:stop_index_]``.
    n_features_in_ : int
        Number of points per spectrum seen in :meth:`fit`.

    Examples
    --------
    >>> import numpy as np
    >>> cut = RangeCut(10.5, 11.5, axis=np.linspace(10, 12, 5)).fit(np.zeros((2, 5)))
    >>> cut.axis_, cut.transform(np.arange(10.0).reshape(2, 5))
    (array([10.5, 11. , 11.5]), array([[1., 2., 3.],
           [6., 7., 8.]]))
    """

    def __init__(self, start=None, stop=None, axis=None):
        self.start = start
        self.stop = stop
        self.axis = axis

    def _fit(self, X):
        m = X.shape[1]
        axis = resolve_axis(self.axis, m, type(self).__name__)
        lo = 0 if self.start is None else int(np.searchsorted(axis, self.start, side="left"))
        hi = m if self.stop is None else int(np.searchsorted(axis, self.stop, side="right"))
        if hi <= lo:
            raise SpectraFormatError(
                f"No point of the axis ({axis[0]:g}..{axis[-1]:g}, n_features = {m}) lies in "
                f"the range [{self.start}, {self.stop}] given to RangeCut."
            )
        self.start_index_, self.stop_index_ = lo, hi
        self.axis_ = axis[lo:hi].copy()

    def _transform(self, X):
        return X[:, self.start_index_ : self.stop_index_].copy()

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Names of the kept points (input names sliced, ``x<i>`` by default)."""
        return feature_names_in(self, input_features)[self.start_index_ : self.stop_index_]

    def _map_mask(self, mask):
        if mask is None:
            return None
        return np.asarray(mask, bool)[self.start_index_ : self.stop_index_]
