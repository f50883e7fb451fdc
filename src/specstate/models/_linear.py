"""Linear preprocessing as explicit per-region matrices, so it folds into a first layer.

Every linear step between the (normalised) raw spectrum and a region network's input is a
matrix here: the high-pass baseline (spectrum minus a wide Gaussian low-pass that skips
masked points), the pooling (average of `pool` neighbouring points) and the masking. For a
region whose *core* is ``[a, b)`` the matrix acts on the widened slice ``[a - k, b + k)``
(k = the low-pass kernel's half width), so ``X[:, lo:hi] @ A`` gives the network inputs
exactly; at fit time ``A @ W1`` is the folded first layer and prediction costs one matmul.
"""

from __future__ import annotations

import numpy as np

# the high-pass lives with the preprocessing transformers (HighPassBaseline(method='exact')
# applies the same map); these names are its functional form, used by the fit
from ..preprocessing._highpass import (  # noqa: F401 (re-exported)
    TRUNCATE_SIGMAS,
    gaussian_kernel,
    highpass,
    highpass_transpose,
    region_operator,
)

__all__ = [
    "gaussian_kernel", "highpass", "highpass_transpose", "pool_columns", "unpool_rows",
    "region_operator",
    "shift_coordinate",
]

def pool_columns(X: np.ndarray, pool: int) -> np.ndarray:
    """Means of `pool` neighbouring points of every row (the last block may be shorter)."""
    X = np.asarray(X)
    if pool <= 1:
        return X
    starts = np.arange(0, X.shape[1], pool)
    sizes = np.diff(np.append(starts, X.shape[1]))
    return np.add.reduceat(X, starts, axis=1) / sizes


def unpool_rows(W: np.ndarray, pool: int, m: int) -> np.ndarray:
    """The adjoint of :func:`pool_columns`: weights on pooled inputs -> weights on points."""
    if pool <= 1:
        return np.asarray(W)
    starts = np.arange(0, m, pool)
    sizes = np.diff(np.append(starts, m))
    return np.repeat(np.asarray(W) / sizes[:, None], sizes, axis=0)


def shift_coordinate(axis: np.ndarray, axis_name: str) -> tuple[np.ndarray, str]:
    """The coordinate in which a physical shift of the peaks is a constant offset.

    A uniform strain scales every d-spacing by (1 + ε): a constant offset in log q (and
    log sin θ, and log d). An energy scale drift is a constant offset in energy. Anything
    else is shifted in points.

    Returns
    -------
    u : numpy.ndarray of shape (m,)
        Increasing shift coordinate at each point.
    kind : {'strain', 'energy', 'points'}
        What a shift in `u` means.
    """
    axis = np.asarray(axis, dtype=np.float64)
    if axis_name == "2theta" and axis[0] > 0 and axis[-1] < 180:
        return np.log(np.sin(np.deg2rad(axis) / 2)), "strain"
    if axis_name == "q" and axis[0] > 0:
        return np.log(axis), "strain"
    if axis_name == "d" and axis[0] > 0:
        return np.log(axis), "strain"
    if axis_name == "energy":
        return axis.copy(), "energy"
    return np.arange(axis.size, dtype=np.float64), "points"
