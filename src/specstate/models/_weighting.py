"""Region weights and calibration from held-out predictions (numpy/scipy only).

Three ways to weigh the regions, all judged on predictions for spectra the region networks
did not train on (leave-one-reference-out or grouped K-fold):

- ``'heldout'`` (default): the weights (>= 0) and a per-class bias that minimise the held-out
  log-loss of ``softmax(sum_r w_r log p_r + bias)`` (a non-negative stacking, lightly L2
  penalised). Regions whose held-out log-loss is no better than chance get exactly 0.
- ``'reference'``: the reference notebook's W = max(1.4337 acc² − 0.4337, 0) from the
  held-out accuracy, chance-corrected for more than two states, combined as a weighted
  vote of probabilities.
- ``'uniform'``: every region counts the same (sum of log-probabilities).

In every case a temperature is then fitted on the held-out combined scores.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize, minimize_scalar

__all__ = ["LOGP_FLOOR", "combine", "fit_weights", "fit_temperature", "region_skill"]

#: Floor of a region's log-probability before combining: no single region can veto a
#: state by more than log(1e-3) ≈ -6.9 (robust to one region meeting something unseen).
LOGP_FLOOR = float(np.log(1e-3))
#: Reference formula W = max(A acc² − B, 0) (acc of two balanced states).
REFERENCE_A = 1.4337
REFERENCE_B = 0.4337
#: L2 penalty on the stacking weights (keeps them finite when held-out data separate perfectly).
STACK_L2 = 1e-3
#: Temperature search interval (log10).
LOG10_T_RANGE = (-2.0, 2.0)


def _log_softmax(s):
    s = s - s.max(axis=-1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=-1, keepdims=True))


def combine(logp, weights, bias, temperature, mode):
    """Combine per-region log-probabilities (n, R, C) into log-probabilities (n, C)."""
    logp = np.maximum(logp, LOGP_FLOOR)
    if mode == "vote":
        total = max(float(np.sum(weights)), np.finfo(float).tiny)
        p = np.einsum("nrc,r->nc", np.exp(logp), np.asarray(weights, logp.dtype)) / total
        s = np.log(np.maximum(p, np.finfo(np.float32).tiny))
    else:
        s = np.einsum("nrc,r->nc", logp, np.asarray(weights, logp.dtype))
    s = (s + bias) / temperature
    return _log_softmax(s)


def _balanced(y, n_classes):
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    w = 1.0 / np.maximum(counts[y], 1.0)
    return w / w.sum()


def region_skill(logp, y, n_classes):
    """Held-out chance-corrected balanced accuracy (0..1) and mean log-loss of each region."""
    sw = _balanced(y, n_classes)
    pred = logp.argmax(axis=-1)  # (n, R)
    acc = (sw[:, None] * (pred == y[:, None])).sum(axis=0)
    chance = 1.0 / n_classes
    skill = np.clip((acc - chance) / (1 - chance), 0.0, 1.0)
    nll = -(sw[:, None] * np.maximum(logp, LOGP_FLOOR)[np.arange(y.size), :, y]).sum(axis=0)
    return skill, acc, nll


def fit_weights(logp, y, n_classes, mode):
    """Region weights and class bias from held-out log-probabilities.

    Parameters
    ----------
    logp : numpy.ndarray of shape (n, R, C)
        Held-out per-region log-probabilities.
    y : numpy.ndarray of int of shape (n,)
        True classes.
    n_classes : int
        Number of classes.
    mode : {'heldout', 'reference', 'uniform'}
        See the module docstring.

    Returns
    -------
    weights : numpy.ndarray of shape (R,)
    bias : numpy.ndarray of shape (C,)
    combination : {'logit', 'vote'}
    """
    n, R, C = logp.shape
    skill, acc, nll = region_skill(logp, y, n_classes)
    if mode == "uniform":
        return np.ones(R), np.zeros(C), "logit"
    if mode == "reference":
        acc2 = 0.5 + 0.5 * skill  # chance-corrected accuracy on the two-state scale
        return np.maximum(REFERENCE_A * acc2**2 - REFERENCE_B, 0.0), np.zeros(C), "vote"
    useful = nll < np.log(C)
    w0 = np.where(useful, 1.0 / max(useful.sum(), 1), 0.0)
    L = np.maximum(logp, LOGP_FLOOR)
    sw = _balanced(y, n_classes)
    onehot = np.zeros((n, C))
    onehot[np.arange(n), y] = 1.0

    def objective(theta):
        w, b = theta[:R], theta[R:]
        s = np.einsum("nrc,r->nc", L, w) + b
        lp = _log_softmax(s)
        loss = -(sw * lp[np.arange(n), y]).sum() + STACK_L2 * (w @ w + b @ b)
        g_s = (np.exp(lp) - onehot) * sw[:, None]  # (n, C)
        grad_w = np.einsum("nrc,nc->r", L, g_s) + 2 * STACK_L2 * w
        grad_b = g_s.sum(axis=0) + 2 * STACK_L2 * b
        return loss, np.concatenate([grad_w, grad_b])

    bounds = [(0.0, 0.0) if not u else (0.0, None) for u in useful] + [(None, None)] * C
    res = minimize(
        objective, np.concatenate([w0, np.zeros(C)]), jac=True, method="L-BFGS-B", bounds=bounds
    )
    w, b = res.x[:R], res.x[R:]
    return np.where(useful, w, 0.0), b - b.mean(), "logit"


def fit_temperature(logp, y, weights, bias, combination):
    """Temperature minimising the held-out log-loss of the combined scores."""
    n = y.size

    def loss(log10_t):
        lp = combine(logp, weights, bias, 10.0**log10_t, combination)
        return -lp[np.arange(n), y].mean()

    res = minimize_scalar(loss, bounds=LOG10_T_RANGE, method="bounded")
    return float(10.0 ** res.x)
