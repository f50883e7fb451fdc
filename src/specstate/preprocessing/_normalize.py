"""Per-spectrum normalisation: max, area, SNV, L2 (:class:`Normalize`)."""

from __future__ import annotations

import numpy as np
from sklearn.base import OneToOneFeatureMixin

from ._base import SpectralTransformer, check_choice

__all__ = ["Normalize"]

_METHODS = ("max", "area", "snv", "l2")


class Normalize(OneToOneFeatureMixin, SpectralTransformer):
    """Scale every spectrum on its own (stateless).

    Parameters
    ----------
    method : {'max', 'area', 'snv', 'l2'}, default='max'
        * ``'max'``: divide by the largest absolute value;
        * ``'area'``: divide by the sum of absolute values (the area in points of a
          non-negative spectrum; the axis step is not applied);
        * ``'snv'``: standard normal variate, subtract the mean and divide by the standard
          deviation;
        * ``'l2'``: divide by the Euclidean norm.

        A spectrum whose scale is 0 (all zeros, or constant for ``'snv'``) is left unscaled
        rather than turned into NaN.

    Attributes
    ----------
    n_features_in_ : int
        Number of points per spectrum seen in :meth:`fit`.

    See Also
    --------
    MonitorNormalizer : divide by a per-spectrum monitor such as the pulse energy.

    Examples
    --------
    >>> import numpy as np
    >>> Normalize("max").fit_transform(np.array([[1.0, -4.0, 2.0]]))
    array([[ 0.25, -1.  ,  0.5 ]])
    >>> Normalize("snv").fit_transform(np.array([[1.0, 2.0, 3.0]])).round(4)
    array([[-1.2247,  0.    ,  1.2247]])
    """

    def __init__(self, method: str = "max"):
        self.method = method

    def _fit(self, X):
        check_choice(self, "method", _METHODS)

    def _transform(self, X):
        if self.method == "snv":
            centred = X - X.mean(axis=1, keepdims=True)
            scale = centred.std(axis=1, keepdims=True)
            out = centred
        else:
            if self.method == "max":
                scale = np.abs(X).max(axis=1, keepdims=True)
            elif self.method == "area":
                scale = np.abs(X).sum(axis=1, keepdims=True)
            else:
                scale = np.sqrt(np.einsum("ij,ij->i", X, X))[:, None]
            out = X.copy()
        scale[scale == 0] = 1
        out /= scale
        return out
