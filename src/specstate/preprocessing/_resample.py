"""Linear interpolation of spectra onto a new grid (:class:`Resample`)."""

from __future__ import annotations

import numpy as np

from ..exceptions import SpectraFormatError
from ._base import SpectralTransformer, resolve_axis

__all__ = ["Resample"]


class Resample(SpectralTransformer):
    """Interpolate spectra linearly onto a new grid of axis values.

    Indices and weights are computed once in :meth:`fit`; :meth:`transform` is two gathers
    and a weighted sum over all spectra at once. The grid must lie inside the axis (no
    extrapolation).

    Parameters
    ----------
    grid : array-like of shape (n_points_out,)
        New axis values, strictly increasing, in the units of `axis`.
    axis : array-like of shape (n_points,), optional
        Axis values of the input spectra; the point index if None.

    Attributes
    ----------
    axis_ : numpy.ndarray of shape (n_points_out,)
        The grid (float64).
    n_features_in_ : int
        Number of points per spectrum seen in :meth:`fit`.

    Raises
    ------
    SpectraFormatError
        In :meth:`fit`, if the grid is not increasing or reaches outside the axis.

    Examples
    --------
    >>> import numpy as np
    >>> r = Resample([0.5, 1.25], axis=[0.0, 1.0, 2.0]).fit(np.zeros((1, 3)))
    >>> r.transform(np.array([[0.0, 10.0, 30.0]]))
    array([[ 5., 15.]])
    """

    def __init__(self, grid=None, axis=None):
        self.grid = grid
        self.axis = axis

    def _fit(self, X):
        name = type(self).__name__
        m = X.shape[1]
        axis = resolve_axis(self.axis, m, name)
        if self.grid is None:
            raise ValueError(f"The 'grid' parameter of {name} must be an array. Got None instead.")
        grid = np.asarray(self.grid, dtype=np.float64).reshape(-1)
        if grid.size == 0 or not np.all(np.isfinite(grid)) or np.any(np.diff(grid) <= 0):
            raise SpectraFormatError(
                f"The grid given to {name} must be a non-empty, finite, strictly increasing "
                f"array; got {grid.size} values."
            )
        if grid[0] < axis[0] or grid[-1] > axis[-1]:
            raise SpectraFormatError(
                f"The grid ({grid[0]:g}..{grid[-1]:g}) reaches outside the spectra's axis "
                f"({axis[0]:g}..{axis[-1]:g}, n_features = {m}); {name} only interpolates."
            )
        if m == 1:
            i0 = np.zeros(grid.size, dtype=np.intp)
            i1, w = i0, np.zeros(grid.size)
        else:
            i0 = np.clip(np.searchsorted(axis, grid, side="right") - 1, 0, m - 2)
            i1 = i0 + 1
            w = (grid - axis[i0]) / (axis[i1] - axis[i0])
        self.axis_ = grid
        self._i0, self._i1, self._w = i0, i1, w

    def _transform(self, X):
        w = self._w.astype(X.dtype)
        out = X[:, self._i0] * (1 - w)
        out += X[:, self._i1] * w
        return out

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Names of the output points: ``resample<i>``."""
        return np.asarray([f"resample{i}" for i in range(self.axis_.size)], dtype=object)

    def _map_mask(self, mask):
        """A new point is masked if a masked input point contributes to it."""
        if mask is None:
            return None
        mask = np.asarray(mask, bool)
        return (mask[self._i0] & (self._w < 1)) | (mask[self._i1] & (self._w > 0))
