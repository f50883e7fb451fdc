"""Iterative baseline removal through pybaselines (:class:`AsLSBaseline`)."""

from __future__ import annotations

import logging

import numpy as np
from sklearn.base import OneToOneFeatureMixin

from ._base import SpectralTransformer, check_choice, check_positive, resolve_axis

__all__ = ["AsLSBaseline"]

logger = logging.getLogger(__name__)

_METHODS = ("asls", "arpls")
# A second-difference penalty needs at least 3 points to act on.
_DIFF_ORDER = 2
_MIN_POINTS = _DIFF_ORDER + 1


class AsLSBaseline(OneToOneFeatureMixin, SpectralTransformer):
    """Remove the baseline by asymmetric least squares smoothing (pybaselines), per spectrum.

    The baseline follows the lower envelope of each spectrum (points above it get weight `p`,
    points below ``1 - p``) and is subtracted. With the defaults this is what the reference
    notebook applied to its XRD patterns: lam = 1e5, p = 0.002, 10 passes. The work is done by
    :meth:`pybaselines.Baseline.asls` (or ``arpls``); one :class:`pybaselines.Baseline` object
    on the spectra's axis is reused for all spectra of a call.

    This method is iterative and solves a banded system per pass and per spectrum, in a Python
    loop over spectra: expect a few hundred spectra of 4,000 points per second, far from the
    27,000 per second of a live XFEL stream (``benchmarks/bench_baseline.py`` measures it). Use
    it for offline data and references; :class:`HighPassBaseline` is the live alternative.

    Parameters
    ----------
    lam : float, default=1e5
        Smoothing parameter: larger values give a stiffer baseline.
    p : float, default=0.002
        Asymmetry: weight of the points above the baseline, in (0, 1). Used by ``'asls'`` only.
    max_iter : int, default=10
        Number of weighted smoothing passes, counted as the reference notebook counted them
        (its ``niter``). pybaselines counts one fewer: it is called with ``max_iter - 1``.
    tol : float, default=0.0
        Stop earlier when the weights change by less than this (relative). The default 0 runs
        exactly `max_iter` passes, as the reference did.
    method : {'asls', 'arpls'}, default='asls'
        ``'asls'``: asymmetric least squares (Eilers & Boelens 2005). ``'arpls'``: asymmetrically
        reweighted penalised least squares (Baek et al. 2015), which needs no `p`.
    axis : array-like of shape (n_points,), optional
        Axis values handed to pybaselines as ``x_data``; the point index if None.

    Attributes
    ----------
    n_features_in_ : int
        Number of points per spectrum seen in :meth:`fit`.

    See Also
    --------
    HighPassBaseline : linear, fast baseline removal for live data.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(0, 1, 501)
    >>> spectra = (10 + 5 * x + 50 * np.exp(-0.5 * ((x - 0.5) / 0.005) ** 2))[None, :]
    >>> out = AsLSBaseline().fit_transform(spectra)
    >>> bool(abs(out[0, 50]) < 0.5), bool(49 < out[0, 250] < 51)
    (True, True)
    """

    def __init__(
        self,
        lam: float = 1e5,
        p: float = 0.002,
        max_iter: int = 10,
        tol: float = 0.0,
        method: str = "asls",
        axis=None,
    ):
        self.lam = lam
        self.p = p
        self.max_iter = max_iter
        self.tol = tol
        self.method = method
        self.axis = axis

    def _fit(self, X):
        name = type(self).__name__
        check_choice(self, "method", _METHODS)
        check_positive(self, "lam")
        check_positive(self, "max_iter", integer=True, minimum=1)
        check_positive(self, "tol", minimum=0)
        if not (isinstance(self.p, (int, float)) and 0 < self.p < 1):
            raise ValueError(
                f"The 'p' parameter of {name} must be a float in (0, 1). Got {self.p!r} instead."
            )
        self._x_data = resolve_axis(self.axis, X.shape[1], name)

    def baseline(self, X) -> np.ndarray:
        """The baseline of every spectrum of `X` (what :meth:`transform` subtracts).

        Parameters
        ----------
        X : array-like of shape (n_spectra, n_points)
            Spectra, one per row.

        Returns
        -------
        numpy.ndarray of shape (n_spectra, n_points)
            Baselines, in the dtype of `X`.
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        X = self._check_X(X, reset=False)
        return self._baselines(X)

    def _baselines(self, X):
        from pybaselines import Baseline

        if X.shape[1] < _MIN_POINTS:
            # No second difference exists: the penalty vanishes and the least squares baseline
            # is the spectrum itself (pybaselines refuses such short data).
            return X.copy()
        fitter = Baseline(x_data=self._x_data)
        fit = getattr(fitter, self.method)
        kwargs = {"lam": self.lam, "max_iter": self.max_iter - 1, "tol": self.tol}
        if self.method == "asls":
            kwargs["p"] = self.p
        out = np.empty_like(X)
        for i, spectrum in enumerate(X):  # pybaselines fits one spectrum at a time
            out[i] = fit(spectrum, **kwargs)[0]
        logger.debug("%s: fitted %d baselines", type(self).__name__, X.shape[0])
        return out

    def _transform(self, X):
        out = self._baselines(X)
        np.subtract(X, out, out=out)
        return out
