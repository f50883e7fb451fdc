"""The peers specstate is measured against, all fed the same raw training spectra.

Every peer is a scikit-learn style classifier whose ``fit(X, y)`` and ``predict(X)`` take
*raw* intensities (n_spectra, n_points) as numpy arrays: its preprocessing is part of it.
None of them gets augmented copies, an axis, or anything the case does not give a user.

Fairness rules (README.md in this folder says more):

- standard chemometric preprocessing: standard normal variate (each spectrum minus its mean,
  over its standard deviation; safe for signed spectra), then each point standardised over the
  training spectra where the method is scale-sensitive;
- regularisation chosen inside the training split only: logistic regression's C and PLS-DA's
  number of components by stratified cross-validation (folds never more than the smallest
  class has spectra), LDA's shrinkage by the Ledoit-Wolf formula, MiniRocket's ridge alpha by
  leave-one-out (RidgeClassifierCV), the CNN's number of epochs by a validation split when
  every class has at least ``CNN_MIN_VALIDATION`` training spectra;
- randomness only through ``random_state``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.cross_decomposition import PLSRegression
from sklearn.linear_model import LogisticRegressionCV, RidgeClassifierCV
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

#: Bump when a peer changes: it is part of the cache key of the peer results.
PEERS_VERSION = 3

# Cross-validation: at most this many folds, fewer when a class has fewer spectra.
MAX_CV_FOLDS = 5
# With this many training spectra or more, 3 folds are plenty (and keep the 2,000-shot cases
# inside the time budget): each fold then still trains on >= 1,300 spectra.
MANY_SPECTRA, MANY_SPECTRA_FOLDS = 1_000, 3
LOGREG_CS = np.logspace(-4, 2, 7)
LOGREG_MAX_ITER, LOGREG_TOL = 200, 1e-3
PLS_MAX_COMPONENTS = 15
RIDGE_ALPHAS = np.logspace(-3, 5, 17)
# MiniRocket: aeon's default is 10,000 kernels; 2,000 keep the full benchmark in budget.
MINIROCKET_KERNELS = 2_000
# The 1-D CNN (after Sun et al. 2021, "spectral CNN"): three conv + max-pool stages, an
# adaptive max-pool to a fixed length (so any spectrum length works), two dense layers:
# ~20k parameters. Adam, weight decay, bounded training: at most CNN_MAX_STEPS mini-batches.
CNN_CHANNELS = (8, 16, 32)
CNN_KERNELS = (7, 7, 5)
CNN_POOL = 4
CNN_POOLED_LENGTH = 16
CNN_HIDDEN = 32
CNN_BATCH = 32
CNN_MAX_STEPS = 400
# Longer spectra are binned (mean of adjacent points) to at most this many points before the
# network: training cost grows with the length (~20 ms per step of 32 x 1,024 on one core).
CNN_MAX_LENGTH = 1_024
# One torch thread: on the benchmark's 2 shared cores, 2 threads made a step 5x slower.
CNN_THREADS = 1
CNN_LR, CNN_WEIGHT_DECAY = 3e-3, 1e-4
# Early stopping: with at least this many training spectra per class, 20 % of them (stratified)
# are held out, the network is evaluated every CNN_EVAL_EVERY steps and the best state kept;
# with fewer it trains CNN_FEW_SHOT_STEPS steps (nothing to validate on).
CNN_MIN_VALIDATION = 10
CNN_VALIDATION_SHARE = 0.2
CNN_EVAL_EVERY = 50
CNN_PATIENCE = 3  # stop after this many evaluations without improvement
CNN_FEW_SHOT_STEPS = 200


def snv(X):
    """Standard normal variate: each spectrum minus its mean, over its standard deviation."""
    X = np.asarray(X, dtype=np.float64)
    mean = X.mean(axis=1, keepdims=True)
    std = X.std(axis=1, keepdims=True)
    return (X - mean) / np.where(std > 0, std, 1)


def _cv(y, random_state=0):
    _, counts = np.unique(y, return_counts=True)
    limit = MANY_SPECTRA_FOLDS if len(y) >= MANY_SPECTRA else MAX_CV_FOLDS
    folds = int(min(limit, counts.min()))
    if folds < 2:
        raise ValueError("cross-validation needs at least 2 spectra per class")
    return StratifiedKFold(folds, shuffle=True, random_state=random_state)


class _Pipeline(ClassifierMixin, BaseEstimator):
    """predict of a wrapper that keeps its fitted pipeline in ``model_``."""

    def predict(self, X):
        return self.model_.predict(X)


class LogRegCV(_Pipeline):
    """SNV + standardised points + L2 logistic regression, C by stratified-CV log-loss."""

    def __init__(self, random_state=0):
        self.random_state = random_state

    def fit(self, X, y):
        self.model_ = make_pipeline(
            FunctionTransformer(snv), StandardScaler(),
            LogisticRegressionCV(Cs=LOGREG_CS, cv=_cv(y, self.random_state),
                                 max_iter=LOGREG_MAX_ITER, tol=LOGREG_TOL,
                                 scoring="neg_log_loss", n_jobs=1),
        ).fit(X, y)
        self.classes_ = self.model_.classes_
        return self


def _ledoit_wolf(Z):
    """scikit-learn's ``ledoit_wolf_shrinkage(Z)`` and the mean variance ``mu`` of centred
    `Z` (n, m), in O(n^2 m) instead of O(n m^2): sum(Z2.T @ Z2) is the sum of squared row
    sums of Z2, and sum((Z.T @ Z) ** 2) equals sum((Z @ Z.T) ** 2)."""
    n, m = Z.shape
    Z2 = Z**2
    trace = Z2.sum(axis=0) / n
    mu = trace.sum() / m
    beta_ = np.sum(Z2.sum(axis=1) ** 2)
    delta_ = np.sum((Z @ Z.T) ** 2) / n**2
    beta = (beta_ / n - delta_) / (m * n)
    delta = (delta_ - 2.0 * mu * trace.sum() + m * mu**2) / m
    beta = min(beta, delta)
    return (0.0 if beta == 0 else beta / delta), mu


class LedoitWolfLDA(ClassifierMixin, BaseEstimator):
    """``LinearDiscriminantAnalysis(solver='lsqr', shrinkage='auto')``, solved in sample space.

    The same model as scikit-learn's (class covariances each shrunk by the Ledoit-Wolf formula
    on standardised features, weighted by the class priors; coefficients solve covariance @ w
    = class means), but the solve uses Woodbury's identity: the shrunk covariance is a
    diagonal plus a rank-n term, so a fit costs O(n^2 m) instead of O(m^3) (12 s for 6
    spectra of 3,000 points with scikit-learn, minutes at 8,000 points). ``python
    benchmarks/peers.py`` checks that its decisions match scikit-learn's (to ~1e-14).
    """

    def fit(self, X, y):
        X = np.asarray(X, dtype=np.float64)
        self.classes_, codes = np.unique(y, return_inverse=True)
        priors = np.bincount(codes) / len(codes)
        means = np.stack([X[codes == k].mean(axis=0) for k in range(self.classes_.size)])
        diag = np.zeros(X.shape[1])
        blocks = []
        for k, prior in enumerate(priors):
            centred = X[codes == k] - means[k]
            scale = centred.std(axis=0)
            scale[scale == 0] = 1.0  # as StandardScaler
            alpha, mu = _ledoit_wolf(centred / scale)
            diag += prior * alpha * mu * scale**2
            blocks.append(np.sqrt(prior * (1 - alpha) / len(centred)) * centred)
        U = np.concatenate(blocks)  # covariance = diag(diag) + U.T @ U
        diag = np.maximum(diag, np.finfo(float).eps * max(diag.mean(), 1e-300))
        B = means.T / diag[:, None]  # D^-1 means
        inner = np.eye(len(U)) + (U / diag) @ U.T
        solved = B - (U / diag).T @ np.linalg.solve(inner, U @ B)
        self.coef_ = solved.T
        self.intercept_ = -0.5 * np.sum(means * self.coef_, axis=1) + np.log(priors)
        return self

    def decision_function(self, X):
        return np.asarray(X, dtype=np.float64) @ self.coef_.T + self.intercept_

    def predict(self, X):
        return self.classes_[np.argmax(self.decision_function(X), axis=1)]


class ShrinkageLDA(_Pipeline):
    """SNV + standardised points + LDA with Ledoit-Wolf shrinkage (solver='lsqr')."""

    def __init__(self, random_state=0):
        self.random_state = random_state

    def fit(self, X, y):
        self.model_ = make_pipeline(
            FunctionTransformer(snv), StandardScaler(), LedoitWolfLDA()).fit(X, y)
        self.classes_ = self.model_.classes_
        return self


class PLSDACV(ClassifierMixin, BaseEstimator):
    """SNV + standardised points + PLS regression onto one-hot classes, argmax.

    The number of components (1..PLS_MAX_COMPONENTS, at most the fold's spectra - 1) is chosen
    by stratified-CV balanced accuracy; PLS components are sequential, so one fit per fold
    scores every number of components.
    """

    def __init__(self, random_state=0):
        self.random_state = random_state

    @staticmethod
    def _fit_pls(X, onehot, k):
        scaler = StandardScaler().fit(X)
        pls = PLSRegression(n_components=k, scale=False).fit(scaler.transform(X), onehot)
        return scaler, pls, onehot.mean(axis=0)

    @staticmethod
    def _scores(model, X, k):
        scaler, pls, y_mean = model
        t = pls.transform(scaler.transform(X))[:, :k]
        return y_mean + t @ pls.y_loadings_[:, :k].T

    def fit(self, X, y):
        X = snv(X)
        self.classes_, codes = np.unique(y, return_inverse=True)
        onehot = np.eye(self.classes_.size)[codes]
        cv = _cv(y, self.random_state)
        folds = list(cv.split(X, codes))
        k_max = max(1, min(PLS_MAX_COMPONENTS, X.shape[1],
                           min(len(train) for train, _ in folds) - 1))
        score = np.zeros(k_max)
        for train, test in folds:
            model = self._fit_pls(X[train], onehot[train], k_max)
            for k in range(1, k_max + 1):
                pred = np.argmax(self._scores(model, X[test], k), axis=1)
                score[k - 1] += balanced_accuracy_score(codes[test], pred)
        self.n_components_ = int(np.argmax(score)) + 1  # fewest components among the best
        self.model_ = self._fit_pls(X, onehot, self.n_components_)
        return self

    def predict(self, X):
        scores = self._scores(self.model_, snv(X), self.n_components_)
        return self.classes_[np.argmax(scores, axis=1)]


class MiniRocketRidge(ClassifierMixin, BaseEstimator):
    """SNV + MiniRocket features (aeon) + standardisation + RidgeClassifierCV."""

    def __init__(self, n_kernels=MINIROCKET_KERNELS, random_state=0):
        self.n_kernels = n_kernels
        self.random_state = random_state

    @staticmethod
    def _collection(X):
        return snv(X).astype(np.float32)[:, np.newaxis, :]

    def fit(self, X, y):
        from aeon.transformations.collection.convolution_based import MiniRocket

        self.rocket_ = MiniRocket(n_kernels=self.n_kernels, random_state=self.random_state)
        features = self.rocket_.fit_transform(self._collection(X))
        self.scaler_ = StandardScaler().fit(features)
        self.ridge_ = RidgeClassifierCV(alphas=RIDGE_ALPHAS).fit(
            self.scaler_.transform(features), y)
        self.classes_ = self.ridge_.classes_
        return self

    def predict(self, X):
        features = self.scaler_.transform(self.rocket_.transform(self._collection(X)))
        return self.ridge_.predict(features)


def _cnn(n_classes):
    import torch
    from torch import nn

    layers, channels_in = [], 1
    for channels, kernel in zip(CNN_CHANNELS, CNN_KERNELS):
        layers += [nn.Conv1d(channels_in, channels, kernel, padding=kernel // 2), nn.ReLU(),
                   nn.MaxPool1d(CNN_POOL, ceil_mode=True)]
        channels_in = channels
    layers += [nn.AdaptiveMaxPool1d(CNN_POOLED_LENGTH), nn.Flatten(),
               nn.Linear(channels_in * CNN_POOLED_LENGTH, CNN_HIDDEN), nn.ReLU(),
               nn.Dropout(0.2), nn.Linear(CNN_HIDDEN, n_classes)]
    return torch.nn.Sequential(*layers)


class SmallCNN(ClassifierMixin, BaseEstimator):
    """A ~20k-parameter 1-D CNN on SNV spectra (after Sun et al. 2021), bounded training."""

    def __init__(self, random_state=0):
        self.random_state = random_state

    def _prepare(self, X):
        X = snv(X)
        if self.bin_ > 1:
            n, m = X.shape
            X = X[:, : m - m % self.bin_].reshape(n, -1, self.bin_).mean(axis=2)
        return np.ascontiguousarray(X, dtype=np.float32)

    def fit(self, X, y):
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(CNN_THREADS)
        try:
            return self._fit(X, y)
        finally:
            torch.set_num_threads(threads)

    def _fit(self, X, y):
        import torch

        torch.manual_seed(self.random_state)
        rng = np.random.default_rng(self.random_state)
        self.classes_, codes = np.unique(y, return_inverse=True)
        self.bin_ = int(np.ceil(np.shape(X)[1] / CNN_MAX_LENGTH))
        X = self._prepare(X)
        counts = np.bincount(codes)
        validate = counts.min() >= CNN_MIN_VALIDATION
        if validate:
            train, val = train_test_split(np.arange(len(codes)), test_size=CNN_VALIDATION_SHARE,
                                          stratify=codes, random_state=self.random_state)
        else:
            train, val = np.arange(len(codes)), np.arange(0)
        self.net_ = _cnn(self.classes_.size)
        opt = torch.optim.Adam(self.net_.parameters(), lr=CNN_LR, weight_decay=CNN_WEIGHT_DECAY)
        # classes weighted by their inverse frequency: the metric is balanced accuracy
        weight = torch.as_tensor(len(train) / (self.classes_.size * np.bincount(
            codes[train], minlength=self.classes_.size).clip(1)), dtype=torch.float32)
        loss_fn = torch.nn.CrossEntropyLoss(weight=weight)
        Xt, yt = torch.from_numpy(X), torch.from_numpy(codes.astype(np.int64))
        steps = CNN_MAX_STEPS if validate else CNN_FEW_SHOT_STEPS
        best, best_state, since_best = -1.0, None, 0
        for step in range(1, steps + 1):
            self.net_.train()
            batch = rng.choice(train, size=min(CNN_BATCH, len(train)), replace=False)
            opt.zero_grad()
            loss = loss_fn(self.net_(Xt[batch, None, :]), yt[batch])
            loss.backward()
            opt.step()
            if validate and step % CNN_EVAL_EVERY == 0:
                score = balanced_accuracy_score(codes[val], self._predict_codes(X[val]))
                if score > best:
                    best, since_best = score, 0
                    best_state = {k: v.clone() for k, v in self.net_.state_dict().items()}
                else:
                    since_best += 1
                    if since_best >= CNN_PATIENCE:
                        break
        if best_state is not None:
            self.net_.load_state_dict(best_state)
        self.n_parameters_ = sum(p.numel() for p in self.net_.parameters())
        return self

    def _predict_codes(self, X_snv):
        import torch

        self.net_.eval()
        out = []
        with torch.no_grad():
            for lo in range(0, len(X_snv), 1024):
                chunk = torch.from_numpy(np.ascontiguousarray(X_snv[lo:lo + 1024]))
                out.append(self.net_(chunk[:, None, :]).argmax(dim=1).numpy())
        return np.concatenate(out) if out else np.empty(0, np.int64)

    def predict(self, X):
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(CNN_THREADS)
        try:
            return self.classes_[self._predict_codes(self._prepare(X))]
        finally:
            torch.set_num_threads(threads)


@dataclasses.dataclass(frozen=True)
class Peer:
    """A column of the benchmark's peers."""

    name: str
    make: Callable[[int], BaseEstimator]
    note: str


PEERS = {
    "logreg": Peer("logistic regression", LogRegCV,
                   "SNV + StandardScaler + LogisticRegressionCV (L2, C in 1e-4..1e2 by "
                   "stratified-CV log-loss)"),
    "plsda": Peer("PLS-DA", PLSDACV,
                  f"SNV + StandardScaler + PLS on one-hot classes, 1..{PLS_MAX_COMPONENTS} "
                  "components by stratified-CV balanced accuracy"),
    "lda": Peer("shrinkage LDA", ShrinkageLDA,
                "SNV + StandardScaler + LinearDiscriminantAnalysis(solver='lsqr', "
                "shrinkage='auto') (Ledoit-Wolf)"),
    "minirocket": Peer("MiniRocket", lambda rs: MiniRocketRidge(random_state=rs),
                       f"SNV + aeon MiniRocket ({MINIROCKET_KERNELS} kernels) + StandardScaler "
                       "+ RidgeClassifierCV (alpha by leave-one-out)"),
    "cnn": Peer("1-D CNN", SmallCNN,
                f"SNV (binned to <= {CNN_MAX_LENGTH} points) + 3 conv/max-pool stages "
                f"{CNN_CHANNELS}, adaptive max-pool, dense {CNN_HIDDEN} (~20k parameters); "
                f"Adam, <= {CNN_MAX_STEPS} steps of {CNN_BATCH}, best of every "
                f"{CNN_EVAL_EVERY} steps on a 20 % validation split, patience "
                f"{CNN_PATIENCE} (>= {CNN_MIN_VALIDATION} spectra per class; else "
                f"{CNN_FEW_SHOT_STEPS} steps)"),
}

def check_lda_matches_sklearn(random_state=0) -> float:
    """Largest relative difference of LedoitWolfLDA's decision values from scikit-learn's
    ``LinearDiscriminantAnalysis(solver='lsqr', shrinkage='auto')`` on random problems."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    rng = np.random.default_rng(random_state)
    worst = 0.0
    for n, m, n_classes in ((9, 300, 3), (40, 200, 2), (300, 150, 5)):
        X = rng.standard_normal((n, m)) * rng.uniform(0.5, 2, m) + rng.standard_normal(m)
        y = np.arange(n) % n_classes
        X[y == 1, :5] += 1.0
        test = rng.standard_normal((50, m))
        ours = LedoitWolfLDA().fit(X, y).decision_function(test)
        theirs = LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto").fit(X, y)
        theirs = theirs.decision_function(test)
        if n_classes == 2:
            ours = ours[:, 1] - ours[:, 0]
        worst = max(worst, float(np.abs(ours - theirs).max() / np.abs(theirs).max()))
    return worst


__all__ = ["PEERS", "PEERS_VERSION", "Peer", "snv", "LogRegCV", "PLSDACV", "ShrinkageLDA",
           "MiniRocketRidge", "SmallCNN"]


if __name__ == "__main__":
    difference = check_lda_matches_sklearn()
    print(f"LedoitWolfLDA vs scikit-learn: largest relative difference {difference:.1e}")
    raise SystemExit(0 if difference < 1e-8 else 1)
