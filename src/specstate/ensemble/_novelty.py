"""Novelty: how unlike every fitted state a spectrum is, calibrated on held-out references.

The known spectra span a subspace: the states' means, their linear mixtures (a sample inside
a transition), and the variation the references and their augmented copies show (peaks that
move with pressure or an energy drift, intensity jitter, background). The principal
directions of the (augmented) training spectra above the noise floor are that subspace B.
A spectrum's novelty is its residual from B, weighted by the measured noise of each point
(``var = a·mean + b``: counting plus read noise), relative to what noise alone leaves:

    novelty(x) = || W^1/2 (I - B (B^T W B)^-1 B^T W) x ||² / dof

A spectrum of a known state (or a mixture) scores about 1 whatever its photon count; an
unseen state, an empty shot or a melt leaves structure the subspace cannot explain.

The residual is a fixed linear map of the normalised spectrum: its squared norm is
estimated from ``k`` random projections of it (Johnson-Lindenstrauss), so the whole score is
``k`` more columns of the matrices the prediction path multiplies anyway
(:func:`~specstate.models._fold.fold_networks`): no extra pass over the spectra.

Calibration: the scores of held-out references (folds as for the members; each fold's
subspace is built without it), with their augmented copies when the fit augments (the same
states under the nuisances the references imply), are stored in the model. With at least
:data:`MIN_CONFORMAL` of them the threshold for a false-positive rate ``r`` is their
split-conformal quantile (``p = (1 + #{s_cal >= s}) / (n + 1)``, flagged when ``p <= r``);
with fewer, the noise model: pure noise gives ``chi2_k / k``, scaled by the median of the
held-out scores. ``novelty_rate`` can be changed at predict time without refitting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import chi2

__all__ = ["NoveltyModel", "fit_novelty", "MIN_CONFORMAL"]

#: Held-out scores needed for a conformal threshold (fewer: the noise model). With 100
#: scores the 1 % quantile rests on one score; below that it is extrapolation.
MIN_CONFORMAL = 100
#: Random projections of the residual. The relative error of the squared-norm estimate is
#: sqrt(2 / k) (25 % at 32): small against the factor of several an unseen state leaves, and
#: 32 columns cost about as much as one region network's first layer.
N_PROJECTIONS = 32
#: Principal directions kept: those above the noise edge (pure noise directions of n x m
#: whitened data reach a singular value of sqrt(n) + sqrt(m)), at most this many (a cap on
#: the model size: 200 directions describe peaks moving over a ramp of thousands of points).
MAX_DIRECTIONS = 200
#: Rows used to find the subspace (a random subset of larger training sets): 1,000 rows
#: estimate a few hundred directions and keep the eigenproblem at 1,000 x 1,000.
MAX_SUBSPACE_ROWS = 1000


@dataclass
class NoveltyModel:
    """The fitted novelty score (numpy only; its projections live in the folded model).

    Attributes
    ----------
    projection : numpy.ndarray of shape (m, k)
        ``x_normalised @ projection`` are the random projections of the weighted residual.
    calibration : numpy.ndarray
        Novelty scores of held-out original references.
    method : str
        ``'conformal'`` or ``'noise model'``.
    scale : float
        Median held-out score over the median of chi2_k / k (noise model).
    rate : float
        Default false-positive rate (``novelty_rate``).
    n_directions : int
        Dimension of the known subspace.
    """

    projection: np.ndarray
    calibration: np.ndarray
    method: str
    scale: float
    rate: float
    n_directions: int

    @property
    def k(self) -> int:
        """Random projections."""
        return int(self.projection.shape[1])

    def score(self, proj: np.ndarray) -> np.ndarray:
        """Novelty from the projections (n, k) of normalised spectra."""
        return np.einsum("ij,ij->i", proj, proj) / self.k

    def threshold(self, rate: float | None = None) -> float:
        """Score above which a spectrum is novel, for false-positive rate `rate`."""
        r = self.rate if rate is None else float(rate)
        if self.method == "conformal":
            cal = np.sort(self.calibration)
            n = cal.size
            # the smallest s with (1 + #{cal >= s}) / (n + 1) <= r
            j = int(np.ceil((n + 1) * (1 - r))) - 1
            return float(cal[min(max(j, 0), n - 1)]) if j < n else float("inf")
        return float(self.scale * chi2.isf(r, self.k) / self.k)

    def to_arrays(self) -> dict:
        """Arrays for the model file."""
        return {"projection": self.projection.astype(np.float32),
                "calibration": np.asarray(self.calibration, np.float64)}

    def attrs(self) -> dict:
        """Scalars for the model file."""
        return {"method": self.method, "scale": float(self.scale), "rate": float(self.rate),
                "n_directions": int(self.n_directions)}

    @classmethod
    def from_file(cls, arrays: dict, attrs: dict) -> NoveltyModel:
        """Rebuild from :meth:`to_arrays` and :meth:`attrs`."""
        return cls(projection=np.asarray(arrays["projection"], np.float64),
                   calibration=np.asarray(arrays["calibration"], np.float64),
                   method=str(attrs["method"]), scale=float(attrs["scale"]),
                   rate=float(attrs["rate"]), n_directions=int(attrs["n_directions"]))


def _subspace(X: np.ndarray, weight: np.ndarray, rng) -> np.ndarray:
    """Orthonormal basis (in the whitened space) of the training spectra above the noise.

    Through the Gram matrix of at most :data:`MAX_SUBSPACE_ROWS` rows (an eigenproblem of
    that size, whatever the number of points).
    """
    sw = np.sqrt(weight)
    n, m = X.shape
    rows = np.arange(n) if n <= MAX_SUBSPACE_ROWS else np.sort(
        rng.choice(n, MAX_SUBSPACE_ROWS, replace=False))
    Z = np.asarray(X[rows], dtype=np.float64) * sw  # whitened: unit noise variance per point
    nz = len(rows)
    evals, evecs = np.linalg.eigh(Z @ Z.T)
    order = np.argsort(evals)[::-1]
    s = np.sqrt(np.maximum(evals[order], 0.0))
    # noise-only singular values of an n x m matrix of unit variance reach sqrt(n) + sqrt(m)
    # (the first direction, the mean, carries the states and is always kept)
    keep = s > np.sqrt(nz) + np.sqrt(m)
    keep[0] = True
    keep[MAX_DIRECTIONS:] = False
    U = evecs[:, order[keep]]
    V = (Z.T @ U) / s[keep]  # (m, K) right singular vectors
    Q, _ = np.linalg.qr(V)
    return Q


def _projector(basis: np.ndarray, weight: np.ndarray, k: int, rng) -> np.ndarray:
    """(m, k) map of a normalised spectrum to projections of its whitened residual."""
    m = basis.shape[0]
    sw = np.sqrt(weight)
    S = rng.standard_normal((k, m))
    # residual in the whitened space: (I - B B^T) (sw * x); projections S (I - B B^T) sw x
    SR = S - (S @ basis) @ basis.T
    return (SR * sw).T


def _dof(basis, weight) -> float:
    """Degrees of freedom of the residual: used points less the subspace."""
    return float(np.count_nonzero(weight > 0) - basis.shape[1])


def fit_novelty(X_train, groups, X_orig, folds, weight, rate, rng) -> NoveltyModel:
    """Fit the novelty score and calibrate it on held-out original references.

    Parameters
    ----------
    X_train : numpy.ndarray of shape (n_train, m)
        Normalised training spectra (augmented copies included).
    groups : numpy.ndarray of int of shape (n_train,)
        The original reference each training row came from.
    X_orig : numpy.ndarray of shape (n, m)
        Normalised original references (held out fold by fold for the calibration).
    folds : specstate.plan.Folds
        Held-out folds of the originals.
    weight : numpy.ndarray of shape (m,)
        Inverse noise variance of one normalised spectrum per point (0: masked).
    rate : float
        Default false-positive rate.
    rng : numpy.random.Generator
        Randomness of the subspace search and the projections.

    Returns
    -------
    NoveltyModel
    """
    k = N_PROJECTIONS
    basis = _subspace(X_train, weight, rng)
    scale_dof = _dof(basis, weight)
    A = _projector(basis, weight, k, rng) / np.sqrt(max(scale_dof, 1.0) / k)
    augmented = len(X_train) > len(X_orig)
    cal = []
    for f in range(folds.k):
        test = folds.fold == f
        if not test.any():
            continue
        rows = ~test[groups]
        if rows.sum() < 2:
            continue
        b = _subspace(X_train[rows], weight, rng)
        Af = _projector(b, weight, k, rng) / np.sqrt(max(_dof(b, weight), 1.0) / k)
        # the held-out references and their augmented copies (the same states under the
        # nuisances the references imply: moved peaks, jitter, background) are all known
        held = np.concatenate([X_orig[test], X_train[test[groups]]]) if augmented \
            else X_orig[test]
        proj = held @ Af
        cal.append(np.einsum("ij,ij->i", proj, proj) / k)
    cal = np.concatenate(cal) if cal else np.zeros(0)
    method = "conformal" if cal.size >= MIN_CONFORMAL else "noise model"
    median_noise = chi2.median(k) / k
    scale = float(np.median(cal) / median_noise) if cal.size else 1.0
    return NoveltyModel(projection=A, calibration=cal, method=method, scale=max(scale, 1e-12),
                        rate=float(rate), n_directions=int(basis.shape[1]))
