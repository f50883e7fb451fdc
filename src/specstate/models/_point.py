"""The reference formulation (``network='point'``): a network on the points of a region.

As the reference notebook did it: in every region, a 2 -> 150 (ReLU) -> C network is
trained on the (axis, intensity) points of the region, each labelled with the state of the
spectrum it came from (Adam, learning rate 8e-3, L2 2e-5, 700 full-batch epochs). The
region's training accuracy gives its weight W = max(1.4337 acc² − 0.4337, 0)
(chance-corrected for more than two states); a new spectrum's score for a state is the sum
over regions of (points labelled with that state) × W. All regions' networks are trained
together as one batched torch model. Prediction evaluates the network at every point of
every spectrum (numpy, in chunks): slow by design, kept for comparisons.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ensemble._stacking import REFERENCE_A, REFERENCE_B
from ._linear import highpass
from ._mlp import _device, _threads, adam_step

__all__ = ["PointModel", "fit_point_model"]

#: The reference network and its training.
POINT_HIDDEN = 150
POINT_LEARNING_RATE = 8e-3
POINT_L2 = 2e-5
POINT_EPOCHS = 700
#: Copies per reference when augmenting for the point network (the reference: 10 + itself).
POINT_COPIES = 11
#: Spectra per chunk at prediction (bounds the (chunk, points, hidden) activations).
PREDICT_CHUNK = 64


@dataclass
class PointModel:
    """Fitted point networks of all regions (numpy only)."""

    boundaries: np.ndarray  # (R + 1,)
    axis_mu: np.ndarray  # (R,)
    axis_sd: np.ndarray
    int_mu: np.ndarray
    int_sd: np.ndarray
    W1: np.ndarray  # (R, 2, H)
    b1: np.ndarray  # (R, H)
    W2: np.ndarray  # (R, H, C)
    b2: np.ndarray  # (R, C)
    weights: np.ndarray  # (R,)
    skill: np.ndarray  # (R,) chance-corrected training accuracy
    axis: np.ndarray
    keep: np.ndarray
    normalize: bool
    sigma: float

    def preprocess(self, X):
        """Normalised, baseline-free spectra (float64), as in training."""
        X = np.asarray(X, dtype=np.float64)
        if self.normalize:
            X = X / np.maximum(X @ self.keep, np.finfo(float).tiny)[:, None]
        return highpass(X, self.sigma, self.keep)

    def log_proba(self, X, shift=0.0):
        """Log of the weighted vote share of each state (n, C)."""
        Xp = self.preprocess(X)
        n = Xp.shape[0]
        C = self.b2.shape[1]
        scores = np.zeros((n, C))
        for r in range(len(self.weights)):
            if self.weights[r] <= 0:
                continue
            a, b = self.boundaries[r], self.boundaries[r + 1]
            ax = (self.axis[a:b] - self.axis_mu[r]) / self.axis_sd[r]
            for i in range(0, n, PREDICT_CHUNK):
                v = (Xp[i:i + PREDICT_CHUNK, a:b] - self.int_mu[r]) / self.int_sd[r]
                h = ax[None, :, None] * self.W1[r, 0] + v[:, :, None] * self.W1[r, 1] + self.b1[r]
                np.maximum(h, 0, out=h)
                votes = np.argmax(h @ self.W2[r] + self.b2[r], axis=-1)  # (chunk, points)
                counts = np.stack([(votes == c).sum(axis=1) for c in range(C)], axis=1)
                scores[i:i + PREDICT_CHUNK] += self.weights[r] * counts
        total = scores.sum(axis=1, keepdims=True)
        share = np.where(total > 0, scores / np.where(total > 0, total, 1), 1.0 / C)
        return np.log(np.maximum(share, np.finfo(np.float32).tiny))

    def to_arrays(self) -> dict:
        """Plain arrays for the model file."""
        names = ("boundaries", "axis_mu", "axis_sd", "int_mu", "int_sd", "W1", "b1", "W2",
                 "b2", "weights", "skill", "axis", "keep")
        return {k: getattr(self, k) for k in names}

    def attrs(self) -> dict:
        """Scalar settings for the model file."""
        return {"normalize": bool(self.normalize), "sigma": float(self.sigma)}

    @classmethod
    def from_arrays(cls, arrays, attrs) -> PointModel:
        """Rebuild from :meth:`to_arrays` and :meth:`attrs`."""
        return cls(**{k: np.asarray(v) for k, v in arrays.items()},
                   normalize=bool(attrs["normalize"]), sigma=float(attrs["sigma"]))


def fit_point_model(Xp, y, n_classes, boundaries, axis, *, seed, device, n_threads,
                    normalize, sigma, keep, epochs=POINT_EPOCHS) -> PointModel:
    """Train the point networks of all regions together (torch).

    Parameters
    ----------
    Xp : numpy.ndarray of shape (n, m)
        Preprocessed (normalised, baseline-free) training spectra.
    y : numpy.ndarray of int of shape (n,)
        Classes.
    n_classes : int
        Number of classes.
    boundaries : numpy.ndarray of int
        Region boundaries (point indices).
    axis : numpy.ndarray of shape (m,)
        Axis values.
    seed, device, n_threads, normalize, sigma, keep, epochs
        Seed of the initialisation, torch device, CPU threads, preprocessing settings
        (stored with the model), full-batch epochs.

    Returns
    -------
    PointModel
    """
    import torch

    b = np.asarray(boundaries)
    R = b.size - 1
    lens = np.diff(b)
    Lmax = int(lens.max())
    n = Xp.shape[0]
    H, C = POINT_HIDDEN, n_classes
    pts = np.zeros((R, n * Lmax, 2), dtype=np.float32)
    valid = np.zeros((R, n * Lmax), dtype=np.float32)
    stats = np.zeros((4, R))
    for r in range(R):
        ax = axis[b[r]:b[r + 1]]
        v = Xp[:, b[r]:b[r + 1]]
        stats[:, r] = ax.mean(), max(ax.std(), 1e-12), v.mean(), max(v.std(), 1e-300)
        grid = np.broadcast_to((ax - stats[0, r]) / stats[1, r], v.shape)
        k = v.size
        pts[r, :k, 0] = grid.ravel()
        pts[r, :k, 1] = ((v - stats[2, r]) / stats[3, r]).ravel()
        valid[r, :k] = 1.0
    labels = np.repeat(np.asarray(y), Lmax)  # point p of row i -> label y[i] (padded rows too)
    work = n * Lmax * R * H
    old = torch.get_num_threads()
    torch.set_num_threads(_threads(n_threads, work))
    try:
        dev = _device(device)
        gen = torch.Generator().manual_seed(int(seed))
        x = torch.from_numpy(pts).to(dev)
        vt = torch.from_numpy(valid).to(dev)
        yt = torch.from_numpy(labels.astype(np.int64)).to(dev)
        n_pts = torch.from_numpy(valid.sum(axis=1)).to(dev)
        W1 = (torch.randn(R, 2, H, generator=gen) * np.sqrt(2 / 2)).to(dev).requires_grad_()
        b1 = torch.zeros(R, 1, H, device=dev, requires_grad=True)
        W2 = (torch.randn(R, H, C, generator=gen) * np.sqrt(2 / H)).to(dev).requires_grad_()
        b2 = torch.zeros(R, 1, C, device=dev, requires_grad=True)
        params = [W1, b1, W2, b2]
        moments = [(torch.zeros_like(p), torch.zeros_like(p)) for p in params]
        for step in range(1, epochs + 1):
            hdn = torch.relu(torch.baddbmm(b1, x, W1))
            lp = torch.log_softmax(torch.baddbmm(b2, hdn, W2), dim=-1)
            nll = -lp.gather(-1, yt.view(1, -1, 1).expand(R, -1, 1)).squeeze(-1)
            loss = ((nll * vt).sum(dim=1) / n_pts).sum()
            # the L2 penalty as scikit-learn's MLPClassifier adds it (alpha / 2 / n_samples)
            loss = loss + (POINT_L2 / 2) * (
                (W1.square().sum(dim=(1, 2)) + W2.square().sum(dim=(1, 2))) / n_pts
            ).sum()
            grads = torch.autograd.grad(loss, params)
            adam_step(torch, params, grads, moments, step, POINT_LEARNING_RATE)
        with torch.no_grad():
            hdn = torch.relu(torch.baddbmm(b1, x, W1))
            pred = torch.baddbmm(b2, hdn, W2).argmax(dim=-1)
            acc = (((pred == yt[None]).float() * vt).sum(dim=1) / n_pts).cpu().numpy()
        W1n, b1n, W2n, b2n = (p.detach().cpu().numpy() for p in params)
    finally:
        torch.set_num_threads(old)
    chance = 1.0 / C
    skill = np.clip((acc - chance) / (1 - chance), 0.0, 1.0)
    acc2 = 0.5 + 0.5 * skill  # on the two-state scale of the reference formula
    weights = np.maximum(REFERENCE_A * acc2**2 - REFERENCE_B, 0.0)
    return PointModel(
        boundaries=b.astype(np.int64), axis_mu=stats[0], axis_sd=stats[1], int_mu=stats[2],
        int_sd=stats[3], W1=W1n.astype(np.float64), b1=b1n[:, 0].astype(np.float64),
        W2=W2n.astype(np.float64), b2=b2n[:, 0].astype(np.float64), weights=weights,
        skill=skill, axis=np.asarray(axis, dtype=np.float64), keep=np.asarray(keep, float),
        normalize=bool(normalize), sigma=float(sigma),
    )
