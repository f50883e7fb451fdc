"""The whole-spectrum linear member: shrinkage LDA in closed form (numpy only).

Beside the region networks sits one regularised linear classifier on the whole (normalised,
baseline-free, pooled, masked) spectrum, so the ensemble is never worse than a good linear
method on the same references. It is linear discriminant analysis with the Ledoit-Wolf
shrinkage of the pooled within-class covariance towards a multiple of the identity, in the
features standardised by their within-class spread, never below the spread the references'
measured noise model gives them (so the identity target is a diagonal noise model: each
input weighted by its measured noise). The shrinkage is the Ledoit-Wolf
estimate from the data, as in scikit-learn's ``LinearDiscriminantAnalysis(solver='lsqr',
shrinkage='auto')``; no number in the code sets it.

With fewer spectra than features the solve goes through the n x n Gram matrix (Woodbury),
so a fold costs O(n² p) instead of O(p³): the held-out scores of many folds and of the fit
plan's preprocessing candidates stay cheap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["LinearFit", "fit_lda", "lda_log_proba", "standardize"]

#: Floor of an input's within-class spread, as a fraction of the mean spread (inputs that
#: never vary, e.g. masked points, must not divide by zero).
SD_FLOOR = 1e-3


@dataclass
class LinearFit:
    """A fitted shrinkage LDA on standardised features.

    Attributes
    ----------
    coef : numpy.ndarray of shape (p, C)
        Discriminant weights (columns centred over the classes).
    intercept : numpy.ndarray of shape (C,)
    shrinkage : float
        The Ledoit-Wolf shrinkage used (0: the sample covariance, 1: the identity).
    """

    coef: np.ndarray
    intercept: np.ndarray
    shrinkage: float


def standardize(F: np.ndarray, y: np.ndarray, n_classes: int, noise_var=None):
    """Mean and within-class spread of every feature: ``(F - mu) / sd`` standardises it.

    `noise_var` (p,): the variance the references' measured noise model gives each feature
    (:meth:`~specstate.plan.HighPassed.feature_var`). A feature's spread is never taken
    below it: a spread measured from a few references at a point with a few counts is
    mostly chance (zero where no reference has a count there), and the discriminant would
    weigh such points by their chance mean differences over a chance tiny spread. Seen:
    emission lines 12 points wide in 1,200 at 1,000 photons, 10 references per state, the
    linear member 0.83-0.90 held out on the measured spread, 0.93-1.00 floored by the
    counting noise (:func:`~specstate.drift.counting_variance`).
    """
    onehot = np.eye(n_classes)[y]
    cnt = np.maximum(onehot.sum(axis=0), 1.0)
    means = (onehot.T @ F) / cnt[:, None]
    dof = max(len(F) - n_classes, 1)
    var = ((F - means[y]) ** 2).sum(axis=0) / dof
    if noise_var is not None:
        var = np.maximum(var, noise_var)
    sd = np.sqrt(var)
    floor = SD_FLOOR * max(float(sd.mean()), np.finfo(float).tiny)
    sd = np.maximum(sd, floor)
    return F.mean(axis=0), sd


def _ledoit_wolf(R: np.ndarray, gram: np.ndarray) -> tuple[float, float]:
    """Ledoit-Wolf shrinkage and target scale of the covariance of centred rows `R`.

    The same estimate as :func:`sklearn.covariance.ledoit_wolf_shrinkage`, from the Gram
    matrix ``R R^T`` so that it costs O(n² p), not O(n p²).
    """
    n, p = R.shape
    sq = np.einsum("ij,ij->i", R, R)  # squared row norms
    mu = sq.sum() / (n * p)
    delta_ = float((gram**2).sum()) / n**2  # ||S||_F^2
    beta_ = float((sq**2).sum())
    beta = (beta_ / n - delta_) / (p * n)
    delta = (delta_ - 2 * mu * sq.sum() / n + p * mu**2) / p
    beta = min(beta, delta)
    shrink = 0.0 if beta <= 0 or delta <= 0 else float(beta / delta)
    return shrink, float(mu)


def fit_lda(Z: np.ndarray, y: np.ndarray, n_classes: int) -> LinearFit:
    """Shrinkage LDA on standardised features `Z` (n, p) with equal class priors.

    Parameters
    ----------
    Z : numpy.ndarray of shape (n, p)
        Standardised features.
    y : numpy.ndarray of int of shape (n,)
        Class of each row (every class present).
    n_classes : int
        Number of classes.

    Returns
    -------
    LinearFit
    """
    Z = np.asarray(Z, dtype=np.float64)
    n, p = Z.shape
    onehot = np.eye(n_classes)[y]
    cnt = np.maximum(onehot.sum(axis=0), 1.0)
    means = (onehot.T @ Z) / cnt[:, None]  # (C, p)
    R = Z - means[y]
    gram = R @ R.T
    shrink, mu = _ledoit_wolf(R, gram)
    alpha = max(shrink * mu, np.finfo(float).tiny)  # ridge of the shrunk covariance
    keep = 1.0 - shrink
    # Sigma = keep * R^T R / n + alpha * I ;  coef = Sigma^-1 means^T
    M = means.T  # (p, C)
    if keep <= 0:
        sol = M / alpha
    elif n <= p:
        # Woodbury: Sigma^-1 M = (M - R^T (n alpha / keep I + R R^T)^-1 R M) / alpha
        inner = gram + (n * alpha / keep) * np.eye(n)
        sol = (M - R.T @ np.linalg.solve(inner, R @ M)) / alpha
    else:
        cov = keep * (R.T @ R) / n + alpha * np.eye(p)
        sol = np.linalg.solve(cov, M)
    intercept = -0.5 * np.einsum("pc,pc->c", M, sol)
    # logits are defined up to a common constant: centre over the classes
    coef = sol - sol.mean(axis=1, keepdims=True)
    intercept = intercept - intercept.mean()
    return LinearFit(coef=coef, intercept=intercept, shrinkage=shrink)


def lda_log_proba(Z: np.ndarray, fit: LinearFit) -> np.ndarray:
    """Log-probabilities (n, C) of standardised features under a :class:`LinearFit`."""
    s = np.asarray(Z, dtype=np.float64) @ fit.coef + fit.intercept
    s -= s.max(axis=1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=1, keepdims=True))
