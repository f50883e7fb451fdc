"""Divide spectra by a per-spectrum monitor such as the pulse energy."""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.base import OneToOneFeatureMixin
from sklearn.utils.validation import check_is_fitted

from ..exceptions import SpectraFormatError
from ._base import SpectralTransformer

__all__ = ["MonitorNormalizer", "normalize_by_monitor"]

_MEAN = "mean"


def _check_monitor(monitor, n: int, where: str) -> np.ndarray:
    """The monitor as a float64 (n,) array of positive finite values, or a clear error."""
    if monitor is None:
        raise SpectraFormatError(
            f"{where} needs monitor=... (one value per spectrum, e.g. the pulse energy); got "
            "none. In a Pipeline, enable metadata routing (sklearn.set_config("
            "enable_metadata_routing=True)) and call set_transform_request(monitor=True)."
        )
    monitor = np.asarray(monitor, dtype=np.float64).reshape(-1)
    if monitor.shape != (n,):
        raise SpectraFormatError(
            f"{where} needs one monitor value per spectrum ({n}); got {monitor.size}."
        )
    bad = ~(np.isfinite(monitor) & (monitor > 0))
    if bad.any():
        first = int(np.argmax(bad))
        raise SpectraFormatError(
            f"{where} needs positive finite monitor values; {int(bad.sum())} of {n} are not "
            f"(the first is spectrum {first}: {monitor[first]:g}). Drop those spectra first."
        )
    return monitor


def _monitor_of(X, monitor):
    """`monitor`, or the monitor a :class:`~specstate.Spectra` carries when none is given."""
    if monitor is None:
        return getattr(X, "monitor", None)
    return monitor


def normalize_by_monitor(X, monitor, reference: float = 1.0) -> np.ndarray:
    """Divide every spectrum by its monitor value and multiply by `reference`.

    Parameters
    ----------
    X : array-like of shape (n_spectra, n_points)
        Spectra; float32 stays float32.
    monitor : array-like of shape (n_spectra,)
        Positive monitor values, e.g. the pulse energy of each shot.
    reference : float, default=1.0
        Monitor value that keeps a spectrum unchanged (e.g. the nominal pulse energy), so the
        result stays in counts.

    Returns
    -------
    numpy.ndarray of shape (n_spectra, n_points)
        ``X * reference / monitor[:, None]`` in the dtype of `X`.

    Raises
    ------
    SpectraFormatError
        If `monitor` is missing, has the wrong length, or holds a zero, negative or
        non-finite value.

    Examples
    --------
    >>> import numpy as np
    >>> normalize_by_monitor(np.ones((2, 3), np.float32), [2.0, 4.0])
    array([[0.5 , 0.5 , 0.5 ],
           [0.25, 0.25, 0.25]], dtype=float32)
    """
    X = np.asarray(X)
    if not np.issubdtype(X.dtype, np.floating):
        X = X.astype(np.float64)
    monitor = _check_monitor(monitor, X.shape[0], "normalize_by_monitor")
    factor = (float(reference) / monitor).astype(X.dtype)
    return X * factor[:, None]


class MonitorNormalizer(OneToOneFeatureMixin, SpectralTransformer):
    """Divide every spectrum by its monitor value (pulse energy, beam current, ...).

    scikit-learn passes only ``X`` along a pipeline, so the monitor comes as a keyword:
    ``transform(X, monitor=...)`` (and ``fit(X, monitor=...)`` for ``reference='mean'``).
    Inside a :class:`~sklearn.pipeline.Pipeline` use scikit-learn's metadata routing::

        sklearn.set_config(enable_metadata_routing=True)
        norm = MonitorNormalizer().set_fit_request(monitor=True).set_transform_request(
            monitor=True)
        pipe = make_pipeline(norm, HighPassBaseline())
        pipe.fit(X, monitor=pulse_energy).transform(X_new, monitor=new_pulse_energy)

    :func:`specstate.preprocessing.apply` passes a :class:`~specstate.Spectra`'s ``monitor``
    itself. Calling :meth:`transform` without a monitor is an error, never a silent no-op.

    Parameters
    ----------
    reference : float or 'mean', default=1.0
        Monitor value that leaves a spectrum unchanged. ``'mean'``: the mean monitor seen in
        :meth:`fit` (so normalised spectra stay in counts of an average shot).

    Attributes
    ----------
    reference_ : float
        The reference value used by :meth:`transform`.
    n_features_in_ : int
        Number of points per spectrum seen in :meth:`fit`.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[2.0, 4.0], [3.0, 6.0]])
    >>> MonitorNormalizer(reference="mean").fit_transform(X, monitor=[1.0, 1.5])
    array([[2.5, 5. ],
           [2.5, 5. ]])
    """

    def __init__(self, reference=1.0):
        self.reference = reference

    def fit(self, X, y=None, monitor=None):
        """Check `X` and the parameters; with ``reference='mean'`` store the mean monitor.

        Parameters
        ----------
        X : array-like of shape (n_spectra, n_points)
            Spectra.
        y : None
            Ignored.
        monitor : array-like of shape (n_spectra,), optional
            Monitor values; needed only for ``reference='mean'``.

        Returns
        -------
        self
            The fitted transformer.
        """
        monitor = _monitor_of(X, monitor)
        X = self._check_X(X, reset=True)
        name = type(self).__name__
        if self.reference == _MEAN:
            self.reference_ = float(_check_monitor(monitor, X.shape[0], f"{name}.fit").mean())
        elif (
            isinstance(self.reference, Real)
            and not isinstance(self.reference, bool)
            and np.isfinite(self.reference)
            and self.reference > 0
        ):
            self.reference_ = float(self.reference)
        else:
            raise ValueError(
                f"The 'reference' parameter of {name} must be a float in (0, inf) or 'mean'. "
                f"Got {self.reference!r} instead."
            )
        return self

    def transform(self, X, monitor=None) -> np.ndarray:
        """Divide each spectrum by its monitor value and multiply by :attr:`reference_`.

        Parameters
        ----------
        X : array-like of shape (n_spectra, n_points)
            Spectra.
        monitor : array-like of shape (n_spectra,)
            Positive monitor values, one per spectrum. Default: ``X.monitor`` if `X` is a
            :class:`~specstate.Spectra`.

        Returns
        -------
        numpy.ndarray of shape (n_spectra, n_points)
            Normalised spectra in the dtype of `X`.

        Raises
        ------
        SpectraFormatError
            If `monitor` is missing, of the wrong length, or not positive and finite.
        """
        check_is_fitted(self)
        monitor = _monitor_of(X, monitor)
        X = self._check_X(X, reset=False)
        return normalize_by_monitor(X, monitor, self.reference_)

    def fit_transform(self, X, y=None, monitor=None) -> np.ndarray:
        """Fit, then transform `X` with the same `monitor` (see :meth:`fit`, :meth:`transform`).

        Parameters
        ----------
        X : array-like of shape (n_spectra, n_points)
            Spectra.
        y : None
            Ignored.
        monitor : array-like of shape (n_spectra,)
            Positive monitor values, one per spectrum.

        Returns
        -------
        numpy.ndarray of shape (n_spectra, n_points)
            Normalised spectra in the dtype of `X`.
        """
        return self.fit(X, monitor=monitor).transform(X, monitor=monitor)
