"""Savitzky-Golay smoothing and derivatives (:class:`SavitzkyGolay`)."""

from __future__ import annotations

from sklearn.base import OneToOneFeatureMixin

from ._base import SpectralTransformer, check_positive

__all__ = ["SavitzkyGolay"]


class SavitzkyGolay(OneToOneFeatureMixin, SpectralTransformer):
    """Smooth or differentiate spectra with a Savitzky-Golay filter (scipy.signal.savgol_filter).

    All spectra are filtered in one call along the points (``axis=1``); the ends are handled by
    fitting a polynomial to the last window (``mode='interp'``). Float32 stays float32.

    Parameters
    ----------
    window_length : int, default=11
        Points in the filter window (odd); at most the number of points of a spectrum.
    polyorder : int, default=3
        Order of the local polynomial, smaller than `window_length`.
    deriv : int, default=0
        Order of the derivative (0: smoothing only).
    delta : float, default=1.0
        Axis step between points, for derivatives in axis units.

    Attributes
    ----------
    n_features_in_ : int
        Number of points per spectrum seen in :meth:`fit`.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(20.0)[None, :]
    >>> SavitzkyGolay(5, 2, deriv=1).fit_transform(3 * x).round(6)[0, :4]
    array([3., 3., 3., 3.])
    """

    def __init__(
        self, window_length: int = 11, polyorder: int = 3, deriv: int = 0, delta: float = 1.0
    ):
        self.window_length = window_length
        self.polyorder = polyorder
        self.deriv = deriv
        self.delta = delta

    def _fit(self, X):
        name = type(self).__name__
        check_positive(self, "window_length", integer=True, minimum=1)
        check_positive(self, "polyorder", integer=True, minimum=0)
        check_positive(self, "deriv", integer=True, minimum=0)
        check_positive(self, "delta")
        if self.window_length % 2 == 0 or self.polyorder >= self.window_length:
            raise ValueError(
                f"{name} needs an odd window_length larger than polyorder; got "
                f"window_length={self.window_length}, polyorder={self.polyorder}."
            )
        m = X.shape[1]
        if m < self.window_length:
            raise ValueError(
                f"{name}(window_length={self.window_length}) needs spectra of at least that "
                f"many points; got n_features = {m}."
            )

    def _transform(self, X):
        from scipy.signal import savgol_filter

        out = savgol_filter(
            X, self.window_length, self.polyorder, deriv=self.deriv, delta=self.delta, axis=1
        )
        return out.astype(X.dtype, copy=False)
