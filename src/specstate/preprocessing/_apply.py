"""Run transformers on :class:`~specstate.Spectra` (:func:`apply`)."""

from __future__ import annotations

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from ..spectra import Spectra
from ._monitor import MonitorNormalizer

__all__ = ["apply"]

_SKIP = (None, "passthrough")


def apply(transformer, spectra, *, fit: bool | None = None) -> Spectra:
    """Apply a transformer (or a Pipeline of them) to :class:`~specstate.Spectra`.

    The transformers keep the plain scikit-learn contract on arrays; this helper adds what a
    :class:`~specstate.Spectra` knows:

    * a transformer with an ``axis`` parameter that is None gets the spectra's axis (set with
      ``set_params`` before fitting; unless the axis is just the point index);
    * :class:`MonitorNormalizer` gets ``spectra.monitor``;
    * the result carries the new axis (:class:`RangeCut`, :class:`Resample`) and the mask
      (:class:`MaskRanges` adds its ``mask_``; cropping and resampling carry the mask along);
      labels, ids, monitor, parameters and metadata are kept.

    A :class:`~sklearn.pipeline.Pipeline` is applied step by step, so that each step sees the
    axis the previous one produced.

    Parameters
    ----------
    transformer : transformer or Pipeline
        A specstate (or any scikit-learn) transformer. It is fitted in place when needed.
    spectra : Spectra, xarray.DataArray or array-like
        The spectra (coerced with :meth:`Spectra.coerce`).
    fit : bool, optional
        Fit before transforming. Default: fit only if the transformer is not fitted yet.

    Returns
    -------
    Spectra
        The transformed spectra.

    Raises
    ------
    AxisMismatchError
        If a transformer fitted on an axis meets spectra on another one.

    Examples
    --------
    >>> import numpy as np
    >>> from specstate import Spectra
    >>> from specstate.preprocessing import RangeCut
    >>> s = Spectra(np.ones((2, 5)), axis=np.linspace(10, 12, 5), axis_name="2theta")
    >>> apply(RangeCut(10.5, 11.5), s).axis
    array([10.5, 11. , 11.5])
    """
    from sklearn.pipeline import Pipeline

    spectra = Spectra.coerce(spectra)
    if isinstance(transformer, Pipeline):
        for _, step in transformer.steps:
            if step not in _SKIP:
                spectra = apply(step, spectra, fit=fit)
        return spectra
    if fit is None:
        try:
            check_is_fitted(transformer)
            fit = False
        except NotFittedError:
            fit = True
    X = spectra.intensity
    axis = transformer.get_params(deep=False).get("axis")
    if not fit and axis is not None and spectra.axis_name != "index":
        # a transformer fitted on another axis would crop / mask / resample the wrong points
        spectra.check_axis(axis, name=type(transformer).__name__)
    kwargs = {"monitor": spectra.monitor} if isinstance(transformer, MonitorNormalizer) else {}
    if fit:
        params = transformer.get_params(deep=False)
        if "axis" in params and params["axis"] is None and spectra.axis_name != "index":
            transformer.set_params(axis=spectra.axis)
        transformer.fit(X, **kwargs)
    out = transformer.transform(X, **kwargs)
    new_axis = getattr(transformer, "axis_", None)
    map_mask = getattr(transformer, "_map_mask", None)
    mask = map_mask(spectra.mask) if map_mask is not None else spectra.mask
    if new_axis is None and out.shape[1] != spectra.n_points:
        # A foreign transformer changed the number of points: the axis becomes the index.
        index = np.arange(out.shape[1], dtype=np.float64)
        return spectra.with_intensity(out, axis=index, axis_name="index", axis_unit="")
    return spectra.with_intensity(out, axis=new_axis, mask=mask)
