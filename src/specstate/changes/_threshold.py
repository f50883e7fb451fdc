"""The alarm threshold of the change statistic, from a target average run length."""

from __future__ import annotations

import numpy as np

__all__ = ["glr_threshold", "lag_grid", "DEFAULT_RATE_HZ", "DEFAULT_ARL_HOURS"]

#: Spectra per second at the European XFEL: 10 trains/s of up to 2,700 pulses.
DEFAULT_RATE_HZ = 27_000.0
#: Default target: one false alarm per 8 hours (a shift) at the stream's rate.
DEFAULT_ARL_HOURS = 8.0
#: Ratio between successive lags of the window-limited GLR: with lags a factor sqrt(2) apart
#: a change of any duration between two grid lags keeps >= 97 % of its statistic
#: (the overlap of two boxcars of lengths l and sqrt(2) l is 2^(-1/4) = 0.84 in amplitude,
#: 0.97 at the midpoint in log lag), at a cost of only ~2 log2(L) tests per spectrum.
_LAG_RATIO = np.sqrt(2.0)


def lag_grid(max_lag: int) -> np.ndarray:
    """Lags ``1, 2, 3, 4, 6, 8, 11, ...`` up to `max_lag` (about sqrt(2) apart, distinct)."""
    n = int(np.ceil(np.log(max(max_lag, 1)) / np.log(_LAG_RATIO))) + 1
    lags = np.unique(np.rint(_LAG_RATIO ** np.arange(n)).astype(np.int64))
    lags = lags[lags <= max_lag]
    if lags[-1] != max_lag:
        lags = np.append(lags, max_lag)
    return lags


def glr_threshold(arl: float, n_dims: int, n_lags: int, dof: float) -> float:
    """Threshold on ``|sum of l whitened innovations|^2 / l`` for a false alarm per `arl`.

    Under no change each tested value is Hotelling's T^2 of a mean of ``l`` innovations with
    a covariance estimated on `dof` degrees of freedom: ``dof K / (dof - K + 1)`` times an
    F(K, dof - K + 1) variable (chi-square with K degrees of freedom for an exactly known
    covariance). A false alarm at a spectrum needs at least one of the `n_lags` tests at that
    spectrum to pass the threshold; by the union bound the alarm probability per spectrum is
    at most ``n_lags`` times the tail of one test, so the threshold is the quantile of tail
    ``1 / (arl * n_lags)``. The bound is conservative (the tests at neighbouring spectra and
    lags are strongly correlated, so alarms are rarer than exceedances), which the benchmark
    measures on >= 10^7 simulated spectra.

    Parameters
    ----------
    arl : float
        Target average run length between false alarms, in spectra.
    n_dims : int
        Dimension K of the innovations.
    n_lags : int
        Number of lags tested per spectrum.
    dof : float
        Degrees of freedom of the covariance estimate (``inf``: known covariance).

    Returns
    -------
    float
    """
    from scipy import stats

    tail = 1.0 / (float(arl) * int(n_lags))
    k = int(n_dims)
    if not np.isfinite(dof):
        return float(stats.chi2.isf(tail, k))
    d2 = float(dof) - k + 1
    return float(dof * k / d2 * stats.f.isf(tail, k, d2))
