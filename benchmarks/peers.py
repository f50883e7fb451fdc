"""The models the benchmark compares: specstate and its peers, all fed raw spectra.

Every model here is a scikit-learn style classifier whose ``fit(X, y)`` and
``predict_proba(X)`` take *raw* intensities (n_spectra, n_points): any preprocessing is part of
the model, so prediction timings cover everything from raw counts to labels.

Fairness rules (see README.md in this folder):

- every model gets the same raw training spectra (no model gets augmented copies from the
  harness; specstate augments internally, as its default does);
- the peers use the same standard per-spectrum normalisation (standard normal variate: each
  spectrum minus its mean, divided by its standard deviation), then standardise each point
  over the training spectra (StandardScaler / PLS ``scale=True``): this helped every peer on
  every task, by up to 35 points in the few-shot ramps;
- regularisation is chosen by cross-validation on the training spectra (LogisticRegressionCV,
  PLS n_components by grid search, RidgeClassifierCV alphas), with folds never larger than the
  smallest class allows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.cross_decomposition import PLSRegression
from sklearn.linear_model import LogisticRegressionCV, RidgeClassifierCV
from sklearn.model_selection import GridSearchCV, StratifiedKFold, StratifiedShuffleSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

# Cross-validation: at most this many folds, fewer when a class has fewer spectra.
MAX_CV_FOLDS = 5
# Regularisation grids searched by cross-validation.
LOGREG_CS = np.logspace(-6, 4, 11)
# lbfgs stopping: standardised features converge in a few hundred iterations.
LOGREG_MAX_ITER, LOGREG_TOL = 1000, 1e-3
RIDGE_ALPHAS = np.logspace(-3, 5, 17)
PLS_MAX_COMPONENTS = 12
# MiniRocket size: aeon's default is 10,000 kernels. 2,000 keeps a 5-seed run of all tasks
# inside the benchmark's time budget on 2 cores; more kernels changed accuracy little here.
MINIROCKET_KERNELS = 2_000
# The reference point network predicts on every point of every spectrum: predict in chunks of
# spectra so that memory stays bounded (2,700 x 4,000 points x 150 hidden units would be 6 GB).
POINT_CHUNK = 64
# The reference point network trains 700 full-batch epochs on every point of every training
# spectrum: ~1.3 s per 1,000 points on 2 cores, ~3.5 min for the reference's 4 patterns x 11
# noisy copies. In the benchmark it trains on the references themselves (n_augment=1, no
# noisy copies) and on at most this many points in all (or 2 spectra per class): the 4 XRD
# references; every10 and XES get a stratified random subset of their training spectra
# (4 patterns, 53 shots).
POINT_MAX_POINTS = 16_100
POINT_COPIES = 1


def snv(X):
    """Standard normal variate: each spectrum minus its mean, over its standard deviation."""
    X = np.asarray(X)
    X = X.astype(np.result_type(X.dtype, np.float32), copy=False)
    mean = X.mean(axis=1, keepdims=True)
    std = X.std(axis=1, keepdims=True)
    return (X - mean) / np.where(std > 0, std, 1)


def _normaliser():
    return FunctionTransformer(snv)


def _cv(y, random_state=0):
    _, counts = np.unique(y, return_counts=True)
    folds = int(min(MAX_CV_FOLDS, counts.min()))
    if folds < 2:
        raise ValueError("cross-validation needs at least 2 spectra per class")
    return StratifiedKFold(folds, shuffle=True, random_state=random_state)


def _scores_to_proba(scores):
    """Regression scores onto one-hot targets -> probabilities: clip to [0, 1], normalise."""
    p = np.clip(scores, 0.0, 1.0)
    total = p.sum(axis=1, keepdims=True)
    uniform = np.full_like(p, 1.0 / p.shape[1])
    return np.where(total > 0, p / np.where(total > 0, total, 1), uniform)


class _Fitted:
    """predict/predict_proba of a wrapper that keeps its fitted model in ``model_``."""

    def predict_proba(self, X):
        return self.model_.predict_proba(X)

    def predict(self, X):
        return self.model_.predict(X)


class LogRegCV(_Fitted, ClassifierMixin, BaseEstimator):
    """SNV + standardised features + L2 logistic regression, C chosen by stratified CV.

    C is chosen by the cross-validated log-loss (scikit-learn's coming default): choosing by
    accuracy picked the strongest regularisation on ties and left probabilities near 0.5.
    """

    def __init__(self, random_state=0, scale=True):
        self.random_state = random_state
        self.scale = scale

    def fit(self, X, y):
        self.model_ = make_pipeline(
            _normaliser(),
            StandardScaler() if self.scale else "passthrough",
            LogisticRegressionCV(
                Cs=LOGREG_CS, cv=_cv(y, self.random_state), max_iter=LOGREG_MAX_ITER,
                tol=LOGREG_TOL, scoring="neg_log_loss", n_jobs=1
            ),
        ).fit(X, y)
        self.classes_ = self.model_.classes_
        return self


class PLSDA(ClassifierMixin, BaseEstimator):
    """PLS-DA: SNV, PLS regression (standardised features) onto one-hot classes, argmax.

    ``predict_proba`` is the PLS prediction clipped to [0, 1] and normalised (PLS-DA has no
    probabilistic model; this is the usual reading of its scores).
    """

    def __init__(self, n_components=2, random_state=0):
        self.n_components = n_components
        self.random_state = random_state

    def fit(self, X, y):
        self.classes_, codes = np.unique(y, return_inverse=True)
        onehot = np.eye(self.classes_.size)[codes]
        k = max(1, min(self.n_components, X.shape[0] - 1, X.shape[1]))
        self.pls_ = PLSRegression(n_components=k, scale=True).fit(snv(X), onehot)
        return self

    def predict_proba(self, X):
        return _scores_to_proba(self.pls_.predict(snv(X)))

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class PLSDACV(_Fitted, ClassifierMixin, BaseEstimator):
    """PLS-DA with n_components in 1..PLS_MAX_COMPONENTS chosen by cross-validated accuracy."""

    def __init__(self, random_state=0):
        self.random_state = random_state

    def fit(self, X, y):
        cv = _cv(y, self.random_state)
        smallest_train = X.shape[0] - int(np.ceil(X.shape[0] / cv.get_n_splits()))
        grid = list(range(1, max(1, min(PLS_MAX_COMPONENTS, smallest_train - 1)) + 1))
        search = GridSearchCV(PLSDA(), {"n_components": grid}, cv=cv, scoring="accuracy")
        self.model_ = search.fit(X, y).best_estimator_
        self.n_components_ = self.model_.n_components
        self.classes_ = self.model_.classes_
        return self


class MiniRocketRidge(ClassifierMixin, BaseEstimator):
    """SNV + MiniRocket features (aeon) + standardisation + RidgeClassifierCV.

    ``predict_proba`` reads the ridge scores (targets -1/+1) as in PLS-DA: mapped to [0, 1]
    with ``(score + 1) / 2``, clipped and normalised.
    """

    def __init__(self, n_kernels=MINIROCKET_KERNELS, random_state=0):
        self.n_kernels = n_kernels
        self.random_state = random_state

    def fit(self, X, y):
        from aeon.transformations.collection.convolution_based import MiniRocket

        self.rocket_ = MiniRocket(n_kernels=self.n_kernels, random_state=self.random_state)
        features = self.rocket_.fit_transform(self._as_collection(X))
        self.scaler_ = StandardScaler().fit(features)
        self.ridge_ = RidgeClassifierCV(alphas=RIDGE_ALPHAS).fit(
            self.scaler_.transform(features), y
        )
        self.classes_ = self.ridge_.classes_
        return self

    @staticmethod
    def _as_collection(X):
        return snv(X).astype(np.float32)[:, np.newaxis, :]

    def decision_function(self, X):
        features = self.rocket_.transform(self._as_collection(X))
        return self.ridge_.decision_function(self.scaler_.transform(features))

    def predict_proba(self, X):
        d = self.decision_function(X)
        if d.ndim == 1:
            d = np.column_stack([-d, d])
        return _scores_to_proba((d + 1.0) / 2.0)

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class PointReference(ClassifierMixin, BaseEstimator):
    """The reference formulation: SpectraClassifier(network='point', n_regions=15).

    Predicts in chunks of POINT_CHUNK spectra (its cost and memory grow with every point of
    every spectrum); trains without noisy copies on at most POINT_MAX_POINTS points.
    """

    def __init__(self, n_regions=15, random_state=0):
        self.n_regions = n_regions
        self.random_state = random_state

    def fit(self, X, y):
        """Fit on `X`: raw spectra, or a Spectra (then its axis name and unit are known)."""
        from specstate import SpectraClassifier

        y = np.asarray(y)
        n_points = np.shape(getattr(X, "intensity", X))[1]
        max_spectra = max(2 * np.unique(y).size, POINT_MAX_POINTS // n_points)
        if len(y) > max_spectra:
            keep, _ = next(StratifiedShuffleSplit(
                1, train_size=max_spectra, random_state=self.random_state).split(y, y))
            X, y = X[np.sort(keep)], y[np.sort(keep)]
        self.model_ = SpectraClassifier(
            network="point", n_regions=self.n_regions, n_augment=POINT_COPIES,
            random_state=self.random_state,
        ).fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        parts = [self.model_.predict_proba(X[i : i + POINT_CHUNK]) for i in
                 range(0, X.shape[0], POINT_CHUNK)]
        return np.concatenate(parts) if parts else np.empty((0, self.classes_.size))

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class Specstate(_Fitted, ClassifierMixin, BaseEstimator):
    """specstate's default SpectraClassifier (fitted with the spectra's axis)."""

    def __init__(self, random_state=0):
        self.random_state = random_state

    def fit(self, X, y):
        """Fit on `X`: raw spectra, or a Spectra (then its axis name and unit are known)."""
        from specstate import SpectraClassifier

        self.model_ = SpectraClassifier(random_state=self.random_state).fit(X, y)
        self.classes_ = self.model_.classes_
        return self



@dataclasses.dataclass(frozen=True)
class Candidate:
    """A row of the benchmark table."""

    name: str
    make: Callable[[int], BaseEstimator]
    uses_axis: bool = False  # gets the training spectra as Spectra (axis, its name and unit)
    note: str = ""

    def fit(self, spectra, y, random_state):
        """A new model of this kind, fitted on the training `spectra` (a Spectra)."""
        model = self.make(random_state)
        X = spectra if self.uses_axis else np.asarray(spectra.intensity)
        return model.fit(X, np.asarray(y))


CANDIDATES = {
    "specstate": Candidate("specstate (default)", lambda rs: Specstate(rs), uses_axis=True),
    "point": Candidate(
        "reference point nets (15 bins)",
        lambda rs: PointReference(random_state=rs),
        uses_axis=True,
        note=f"network='point', n_regions=15, 700 epochs as the reference, but no noisy copies "
        f"(n_augment={POINT_COPIES}) and at most {POINT_MAX_POINTS:,} training points (a "
        "stratified subset of every10's patterns and of the XES shots) to fit the time budget; "
        f"predicted in chunks of {POINT_CHUNK} spectra",
    ),
    "logreg": Candidate(
        "logistic regression (CV)", lambda rs: LogRegCV(rs),
        note="SNV + StandardScaler + LogisticRegressionCV (L2, C by stratified-CV log-loss)",
    ),
    "plsda": Candidate(
        "PLS-DA (CV)", lambda rs: PLSDACV(rs),
        note="SNV + PLSRegression (scale=True) on one-hot, n_components "
        f"1..{PLS_MAX_COMPONENTS} by CV; proba = clipped scores",
    ),
    "minirocket": Candidate(
        "MiniRocket + ridge (CV)", lambda rs: MiniRocketRidge(random_state=rs),
        note=f"aeon MiniRocket, {MINIROCKET_KERNELS} kernels (default 10,000), + "
        "RidgeClassifierCV; proba = clipped scores",
    ),
}


def candidates(names=None) -> list[Candidate]:
    """The candidates named (default: all), in table order."""
    names = list(CANDIDATES) if names is None else names
    unknown = [n for n in names if n not in CANDIDATES]
    if unknown:
        raise SystemExit(f"unknown model(s) {unknown}; choose from {list(CANDIDATES)}")
    return [CANDIDATES[n] for n in names]


__all__ = ["CANDIDATES", "Candidate", "candidates", "snv"]
