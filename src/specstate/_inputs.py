"""Input handling of :class:`~specstate.SpectraClassifier`: arrays, Spectra, DataArrays, grids.

A fit takes the axis, its name and unit, the mask and the wavelength from a container (or
the point index for a plain array); a prediction puts any input on the fitted grid
(resampling when it covers it, converting between 2θ, q and d with the wavelength) or says
in one sentence why it cannot.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted, validate_data

from .exceptions import AxisMismatchError, LabelError
from .spectra import Spectra

__all__ = ["InputMixin", "FLOAT_DTYPES"]

FLOAT_DTYPES = (np.float64, np.float32)


class InputMixin:
    """Turn what users pass into arrays on the model's grid."""

    @staticmethod
    def _is_container(X) -> bool:
        return isinstance(X, Spectra) or (hasattr(X, "dims") and hasattr(X, "coords"))

    def _fit_input(self, X, y, axis):
        """Array, labels, axis, mask and wavelength from any accepted input."""
        if self._is_container(X):
            sp = Spectra.coerce(X)
            if y is None:
                if sp.labels is None:
                    raise LabelError(
                        "fit needs labels: pass y or give the spectra labels (Spectra.labels)."
                    )
                y = sp.labels
            return sp.intensity, y, sp.axis, sp.axis_name, sp.axis_unit, sp.mask, sp.wavelength
        arr = X
        if axis is not None:
            axis = np.asarray(axis, dtype=np.float64).reshape(-1)
        return arr, y, axis, "index", "", None, None

    def _to_grid(self, sp: Spectra) -> np.ndarray:
        """The intensities of `sp` on the model's grid (resampled when needed)."""
        name, unit = self.axis_name_, self.axis_unit_
        axis = self.axis_
        if "index" in (sp.axis_name, name) and sp.axis_name != name:
            # One side has no physical axis (plain point indices): the spectra are on the
            # model's grid only if they have its length and their axis is its axis or the
            # bare point index; anything else cannot be placed on the grid.
            on_grid = sp.n_points == axis.size and (
                np.allclose(sp.axis, axis, rtol=0, atol=1e-6 * max(np.abs(axis).max(), 1e-300))
                or (sp.axis_name == "index" and np.array_equal(sp.axis, np.arange(axis.size)))
            )
            if on_grid:
                return sp.intensity
            raise AxisMismatchError(
                f"The spectra's axis is '{sp.axis_name}' ({sp.axis[0]:g}..{sp.axis[-1]:g}, "
                f"{sp.n_points} points) but the model was fitted on a '{name}' axis "
                f"({axis[0]:g}..{axis[-1]:g} {unit}, {axis.size} points)."
            )
        if sp.axis_name != name:
            convertible = {"2theta", "q", "d"}
            if sp.axis_name in convertible and name in convertible:
                wl = sp.wavelength or self.wavelength_
                sp = sp.convert_axis(name, wavelength=wl)
            else:
                raise AxisMismatchError(
                    f"The spectra's axis is '{sp.axis_name}' but the model was fitted on a "
                    f"'{name}' axis."
                )
        if sp.n_points == axis.size and np.allclose(
            sp.axis, axis, rtol=0, atol=1e-6 * max(np.abs(axis).max(), 1e-300)
        ):
            return sp.intensity
        step = np.median(np.diff(axis)) if axis.size > 1 else 0.0
        tol = 1e-6 * abs(step)
        if sp.n_points < 2 or sp.axis[0] > axis[0] + tol or sp.axis[-1] < axis[-1] - tol:
            raise AxisMismatchError(
                f"The spectra's {sp.axis_name} axis covers {sp.axis[0]:g}..{sp.axis[-1]:g} "
                f"{unit} ({sp.n_points} points) but the model needs {axis[0]:g}..{axis[-1]:g} "
                f"{unit} ({axis.size} points); it cannot be resampled onto the model's grid."
            )
        src = sp.axis
        i0 = np.clip(np.searchsorted(src, axis, side="right") - 1, 0, src.size - 2)
        w = np.clip((axis - src[i0]) / (src[i0 + 1] - src[i0]), 0.0, 1.0)
        X = sp.intensity
        w = w.astype(X.dtype)
        return X[:, i0] * (1 - w) + X[:, i0 + 1] * w

    def _predict_input(self, X) -> np.ndarray:
        check_is_fitted(self)
        if self._is_container(X):
            X = self._to_grid(Spectra.coerce(X))
        try:
            X = validate_data(
                self,
                X,
                reset=False,
                dtype=FLOAT_DTYPES,
                ensure_all_finite=not self._fast_finite_,
            )
        except ValueError as err:
            if "features" in str(err) and "expecting" in str(err):
                raise AxisMismatchError(
                    f"{err} The model's axis is {self.axis_name_} "
                    f"{self.axis_[0]:g}..{self.axis_[-1]:g} {self.axis_unit_}."
                ) from None
            raise
        if getattr(self, "snv_", False):  # scatter corrected as in fit (plan.snv)
            from .models._inference import _scratch_array
            from .plan import snv

            # into this thread's reused scratch: the corrected train lives only inside the
            # prediction call, and a fresh array of a train's size faults its pages in on
            # every call (2,700 x 4,000 float32: 18 -> 11 ms)
            out = (_scratch_array("snv", (1, *X.shape), X.dtype)[0]
                   if X.dtype in (np.float32, np.float64) else None)
            X = snv(X, self._keep(X), out=out)
        return X

