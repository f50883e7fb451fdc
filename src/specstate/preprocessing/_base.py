"""Shared machinery of the preprocessing transformers (private)."""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ..exceptions import SpectraFormatError

#: Floating dtypes the transformers keep (float32 stays float32); anything else becomes float64.
FLOAT_DTYPES = (np.float64, np.float32)


class SpectralTransformer(TransformerMixin, BaseEstimator):
    """Base of the specstate transformers: float32/float64 preserving, row-wise on (n, m) arrays.

    Subclasses implement ``_fit(X)`` (after validation, with ``n_features_in_`` set) and
    ``_transform(X)``.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def _check_X(self, X, *, reset: bool) -> np.ndarray:
        """Validate `X` as a finite 2-D float array (float32 kept), checking n_features."""
        return validate_data(self, X, reset=reset, dtype=FLOAT_DTYPES)

    def fit(self, X, y=None):
        """Validate the parameters against `X` and precompute what :meth:`transform` needs.

        Parameters
        ----------
        X : array-like of shape (n_spectra, n_points)
            Spectra, one per row.
        y : None
            Ignored; present for scikit-learn API consistency.

        Returns
        -------
        self
            The fitted transformer.
        """
        X = self._check_X(X, reset=True)
        self._fit(X)
        return self

    def transform(self, X) -> np.ndarray:
        """Apply the transformation to every spectrum (row) of `X`.

        Parameters
        ----------
        X : array-like of shape (n_spectra, n_points)
            Spectra on the axis seen in :meth:`fit`.

        Returns
        -------
        numpy.ndarray of shape (n_spectra, n_points_out)
            Transformed spectra, in the dtype of `X` (float32 or float64).
        """
        check_is_fitted(self)
        X = self._check_X(X, reset=False)
        return self._transform(X)

    def _fit(self, X):  # pragma: no cover - overridden
        raise NotImplementedError

    def _transform(self, X):  # pragma: no cover - overridden
        raise NotImplementedError


def resolve_axis(axis, n_points: int, owner: str) -> np.ndarray:
    """Return the axis (float64, strictly increasing) of spectra with `n_points` points.

    ``axis=None`` means the point index ``0, 1, ..., n_points - 1``.

    Raises
    ------
    SpectraFormatError
        If the axis length differs from `n_points` or it is not strictly increasing.
    """
    if axis is None:
        return np.arange(n_points, dtype=np.float64)
    axis = np.asarray(axis, dtype=np.float64).reshape(-1)
    if axis.shape != (n_points,):
        raise SpectraFormatError(
            f"The axis given to {owner} has {axis.size} values but the spectra have "
            f"n_features = {n_points} points."
        )
    if n_points > 1 and not np.all(np.diff(axis) > 0):
        raise SpectraFormatError(
            f"The axis given to {owner} must be strictly increasing "
            f"(it runs {axis[0]:g}..{axis[-1]:g} but is not monotonic)."
        )
    return axis


def check_choice(est, name: str, choices) -> None:
    """Raise ValueError unless parameter `name` of `est` is one of `choices`."""
    value = getattr(est, name)
    if not isinstance(value, str) or value not in choices:
        raise ValueError(
            f"The '{name}' parameter of {type(est).__name__} must be one of "
            f"{', '.join(repr(c) for c in choices)}. Got {value!r} instead."
        )


def check_positive(est, name: str, *, integer: bool = False, minimum=None) -> None:
    """Raise ValueError unless parameter `name` of `est` is a finite number > 0 (or >= minimum)."""
    value = getattr(est, name)
    kinds = (Integral,) if integer else (Real,)
    ok = isinstance(value, kinds) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value >= minimum if minimum is not None else value > 0)
    if not ok:
        kind = "an int" if integer else "a float"
        bound = f"[{minimum}, inf)" if minimum is not None else "(0, inf)"
        raise ValueError(
            f"The '{name}' parameter of {type(est).__name__} must be {kind} in {bound}. "
            f"Got {value!r} instead."
        )


def feature_names_in(est, input_features) -> np.ndarray:
    """Input feature names as scikit-learn resolves them (``x0, x1, ...`` without names)."""
    from sklearn.utils.validation import _check_feature_names_in

    return _check_feature_names_in(est, input_features)
