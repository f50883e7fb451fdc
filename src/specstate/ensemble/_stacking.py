"""Member weights and calibration from held-out predictions (numpy/scipy only).

The members are the region networks and the whole-spectrum linear member. Their weights are
judged on predictions for ORIGINAL references the members did not train on (never on
augmented copies of a held-out spectrum): leave-one-reference-out with few references,
contiguous blocks in acquisition order otherwise.

- ``'heldout'`` (default): stacking. The weights (>= 0) and a per-class bias minimise the
  held-out log-loss of ``softmax(sum_r w_r log p_r + bias)``, lightly L2 penalised (as
  scikit-learn's ``StackingClassifier`` with a logistic final estimator, restricted to
  non-negative weights). There is no hard gate: a member that does not help ends with a
  weight near 0 because the held-out log-loss says so, and the linear member is always a
  candidate, so the combination cannot fall below it on the held-out references.
- ``'reference'``: the reference notebook's W = max(1.4337 acc² − 0.4337, 0) from the
  held-out accuracy, chance-corrected for more than two states, combined as a weighted
  vote of probabilities.
- ``'uniform'``: every region counts the same (sum of log-probabilities).

In every case a temperature is then fitted on the held-out combined scores.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize, minimize_scalar

__all__ = [
    "LOGP_FLOOR", "combine", "fit_weights", "fit_temperature", "region_skill",
    "temperature_at_bound",
]

#: Floor of a region's log-probability before combining: no single region can veto a
#: state by more than log(1e-3) ≈ -6.9 (robust to one region meeting something unseen).
LOGP_FLOOR = float(np.log(1e-3))
#: Reference formula W = max(A acc² − B, 0) (acc of two balanced states).
REFERENCE_A = 1.4337
REFERENCE_B = 0.4337
#: L2 penalty on the stacking weights (keeps them finite when held-out data separate perfectly).
STACK_L2 = 1e-3
#: Relative weight below which a member is dropped from prediction (its logits move the
#: combined log-odds by less than a thousandth of the strongest member's).
NEGLIGIBLE_WEIGHT = 1e-3
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
    """Member weights and class bias from held-out log-probabilities.

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
    w0 = np.full(R, 1.0 / R)
    L = np.maximum(logp, LOGP_FLOOR)
    sw = _balanced(y, n_classes)
    onehot = smoothed_targets(y, C)

    def objective(theta):
        w, b = theta[:R], theta[R:]
        s = np.einsum("nrc,r->nc", L, w) + b
        lp = _log_softmax(s)
        loss = -(sw[:, None] * onehot * lp).sum() + STACK_L2 * (w @ w + b @ b)
        g_s = (np.exp(lp) - onehot) * sw[:, None]  # (n, C)
        grad_w = np.einsum("nrc,nc->r", L, g_s) + 2 * STACK_L2 * w
        grad_b = g_s.sum(axis=0) + 2 * STACK_L2 * b
        return loss, np.concatenate([grad_w, grad_b])

    bounds = [(0.0, None)] * R + [(None, None)] * C
    res = minimize(
        objective, np.concatenate([w0, np.zeros(C)]), jac=True, method="L-BFGS-B", bounds=bounds
    )
    w, b = res.x[:R], res.x[R:]
    # weights below this share of the largest change no prediction measurably; they are
    # set to 0 so their members are left out of the prediction path
    w = np.where(w > NEGLIGIBLE_WEIGHT * max(float(w.max()), 0.0), w, 0.0)
    return w, b - b.mean(), "logit"


def smoothed_targets(y: np.ndarray, n_classes: int) -> np.ndarray:
    """Stacking targets with Laplace's rule of succession.

    After n held-out references all predicted right, the chance that the next one is
    right is (n + 1) / (n + 2), not 1: the targets give the true class 1 - 1/(n + 2) and
    share 1/(n + 2) among the others. Without this, perfectly separated held-out
    references drive the weights and temperature to infinite confidence, and a spectrum
    half-way between two states would be called with probability 1.
    """
    n = max(int(np.size(y)), 1)
    eps = 1.0 / (n + 2) if n_classes > 1 else 0.0
    t = np.full((np.size(y), n_classes), eps / max(n_classes - 1, 1))
    t[np.arange(np.size(y)), y] = 1.0 - eps
    return t


def fit_temperature(logp, y, weights, bias, combination):
    """Temperature minimising the held-out log-loss (Laplace-smoothed targets)."""
    targets = smoothed_targets(y, logp.shape[-1])

    def loss(log10_t):
        lp = combine(logp, weights, bias, 10.0**log10_t, combination)
        return -(targets * lp).sum(axis=1).mean()

    res = minimize_scalar(loss, bounds=LOG10_T_RANGE, method="bounded")
    return float(10.0 ** res.x)


def temperature_at_bound(temperature: float) -> bool:
    """Whether a fitted temperature sits at an end of its search interval."""
    lt = np.log10(temperature)
    return bool(min(abs(lt - LOG10_T_RANGE[0]), abs(lt - LOG10_T_RANGE[1])) < 1e-2)
