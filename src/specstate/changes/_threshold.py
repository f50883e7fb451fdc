"""The alarm threshold of the change statistic, from a target average run length."""

from __future__ import annotations

import numpy as np

__all__ = ["chernoff_threshold", "estimation_weights", "lag_grid",
           "DEFAULT_RATE_HZ", "DEFAULT_ARL_HOURS"]

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


def chernoff_threshold(arl: float, weights: np.ndarray, n_lags: int) -> float:
    """Threshold on a weighted sum of chi-square(1) for one false alarm per `arl` spectra.

    Under no change the statistic of the detector is ``sum_i w_i X_i`` with ``X_i``
    independent chi-square(1) variables and weights ``w_i`` the variances of the
    whitened innovations (see :func:`estimation_weights`). The Chernoff bound
    ``P(S > h) <= min_t exp(-t h) prod_i (1 - 2 t w_i)^(-1/2)`` holds for every ``h``, so
    the ``h`` at which it equals ``1 / (arl * n_lags)`` is a threshold that cannot be too
    low for Gaussian innovations, however the weights are spread: a false alarm at a
    spectrum needs one of its `n_lags` tests to pass, so by the union bound the alarm
    probability per spectrum is at most ``n_lags`` times the tail of one test. Both bounds
    are conservative (tests at neighbouring spectra and lags are strongly correlated); the
    Chernoff one is within ~10 % of the exact quantile in the far tail. Innovations are
    not exactly Gaussian (counts, a reference estimated from few spectra): the benchmark
    measures the false-alarm rate that results on >= 10^7 simulated spectra.

    Parameters
    ----------
    arl : float
        Target average run length, in spectra.
    weights : numpy.ndarray
        Positive weights (eigenvalues).
    n_lags : int
        Tests per spectrum.

    Returns
    -------
    float
    """
    from scipy.optimize import brentq

    w = np.asarray(weights, dtype=np.float64)
    w = w[w > 0]
    target = -np.log(float(arl) * int(n_lags))
    t_max = 0.5 / w.max()

    def log_bound(t):
        h = np.sum(w / (1.0 - 2.0 * t * w))
        return -t * h - 0.5 * np.sum(np.log1p(-2.0 * t * w)) - target, h

    # along the optimal t the bound falls from 0 (t = 0) to -inf (t -> t_max)
    hi = t_max * (1.0 - 1e-12)
    t = brentq(lambda t: log_bound(t)[0], 0.0, hi, xtol=1e-14 * t_max)
    return float(log_bound(t)[1])


def estimation_weights(n_dims: int, dof: float) -> np.ndarray:
    """Variances, in the estimated whitened coordinates, of truly white innovations.

    Whitened with a covariance estimated on `dof` degrees of freedom, innovations of
    covariance ``C`` have covariance ``C^(1/2) S^-1 C^(1/2)``, whose eigenvalues are the
    inverses of those of a Wishart matrix over `dof`. For ``K / dof`` not small they
    spread far from 1 (Marchenko-Pastur: over ``[(1 - sqrt(g))^2, (1 + sqrt(g))^2]``,
    ``g = K / dof``), and the largest ``1 / (1 - sqrt(g))^2`` rules the far tail of the
    statistic. These weights are the inverses of the ``K`` quantiles
    ``(i - 1/2) / K`` of the Marchenko-Pastur law, for :func:`chernoff_threshold`.

    Parameters
    ----------
    n_dims : int
        Dimension K.
    dof : float
        Degrees of freedom of the estimate (> K).

    Returns
    -------
    numpy.ndarray of shape (K,)
    """
    k = int(n_dims)
    g = min(k / float(dof), 0.999)
    a, b = (1 - np.sqrt(g)) ** 2, (1 + np.sqrt(g)) ** 2
    x = np.linspace(a, b, 4001)
    dens = np.sqrt(np.maximum((b - x) * (x - a), 0.0)) / (2 * np.pi * g * x)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (dens[1:] + dens[:-1]) * np.diff(x))])
    cdf /= cdf[-1]
    q = np.interp((np.arange(k) + 0.5) / k, cdf, x)
    return 1.0 / q
