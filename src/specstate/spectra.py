"""The :class:`Spectra` container: a stack of 1-D spectra on one axis, with what belongs to them."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .exceptions import AxisMismatchError, SpectraFormatError

__all__ = ["Spectra", "AXIS_UNITS", "convert_axis_values", "same_axis", "axis_tolerance"]

#: Two axes are one when no point differs by more than this fraction of the smallest grid
#: step: far below any physical resolution, far above the rounding of values written as text.
AXIS_TOLERANCE_STEPS = 0.01
#: Relative tolerance (of the largest value) for an axis of a single point, which has no step.
_SINGLE_POINT_RTOL = 1e-9

#: Default unit of each known axis name.
AXIS_UNITS = {
    "2theta": "deg",
    "q": "1/angstrom",
    "d": "angstrom",
    "energy": "eV",
    "index": "",
}



def axis_tolerance(axis) -> float:
    """Largest difference at which a point still lies on `axis` (1 % of its smallest step).

    Parameters
    ----------
    axis : array-like of shape (m,)

    Returns
    -------
    float
    """
    axis = np.asarray(axis, dtype=np.float64)
    steps = np.abs(np.diff(axis))
    steps = steps[steps > 0]
    if steps.size:
        return AXIS_TOLERANCE_STEPS * float(steps.min())
    return _SINGLE_POINT_RTOL * max(float(np.abs(axis).max()) if axis.size else 0.0, 1.0)


def same_axis(a, b) -> bool:
    """True if two axes have the same length and values within :func:`axis_tolerance`.

    The one rule by which files are stacked, spectra meet a model's axis and a live source's
    axis is checked.

    Examples
    --------
    >>> same_axis([10.0, 10.01, 10.02], [10.0, 10.01001, 10.02])
    True
    >>> same_axis([10.0, 10.01, 10.02], [10.0, 10.011, 10.02])
    False
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False
    return bool(np.allclose(a, b, rtol=0, atol=axis_tolerance(b)))


# Per-spectrum arrays that follow the spectra when they are sliced.
_PER_SPECTRUM = ("labels", "train_ids", "pulse_ids", "monitor")


def convert_axis_values(values, from_name, to_name, wavelength=None):
    """Convert axis values between 2θ (deg), q (1/Å) and d (Å).

    Parameters
    ----------
    values : array-like
        Axis values in the unit of `from_name`.
    from_name, to_name : {'2theta', 'q', 'd'}
        Source and target axis names.
    wavelength : float, optional
        X-ray wavelength in Å; needed whenever 2θ is involved.

    Returns
    -------
    numpy.ndarray
        The converted values (float64).

    Raises
    ------
    ValueError
        If a conversion is unknown or needs a wavelength that was not given.

    Examples
    --------
    >>> convert_axis_values([10.0], "2theta", "d", wavelength=0.5).round(4)
    array([2.8684])
    """
    known = ("2theta", "q", "d")
    if from_name not in known or to_name not in known:
        raise SpectraFormatError(
            f"Axis conversion works between {known}; got {from_name!r} -> {to_name!r}."
        )
    v = np.asarray(values, dtype=np.float64)
    if from_name == to_name:
        return v.copy()
    if "2theta" in (from_name, to_name) and not wavelength:
        raise SpectraFormatError(
            f"Converting {from_name!r} to {to_name!r} needs the wavelength (in angstrom); "
            "pass wavelength=... or set metadata['wavelength']."
        )
    # Everything goes through q = 4π sin(θ)/λ = 2π/d.
    with np.errstate(divide="ignore"):
        if from_name == "2theta":
            q = 4 * np.pi * np.sin(np.deg2rad(v) / 2) / wavelength
        elif from_name == "d":
            q = 2 * np.pi / v
        else:
            q = v
        if to_name == "q":
            return q
        if to_name == "d":
            return 2 * np.pi / q
        s = q * wavelength / (4 * np.pi)
        if np.any(np.abs(s) > 1):
            raise SpectraFormatError(
                f"Some q values exceed 4π/λ = {4 * np.pi / wavelength:.4g} 1/angstrom "
                "and have no 2θ."
            )
        return np.rad2deg(2 * np.arcsin(s))


@dataclass(eq=False)
class Spectra:
    """A stack of 1-D spectra sharing one axis.

    Parameters
    ----------
    intensity : array-like of shape (n_spectra, n_points)
        Intensities; kept in their floating dtype (float32 stays float32). A 1-D array is
        taken as a single spectrum.
    axis : array-like of shape (n_points,), optional
        Axis values, strictly increasing. Defaults to the point index.
    axis_name : str, default='index'
        Name of the axis, e.g. ``'2theta'``, ``'q'``, ``'d'``, ``'energy'``.
    axis_unit : str, optional
        Unit of the axis; defaults to the usual unit of `axis_name` (see :data:`AXIS_UNITS`).
    labels : array-like of shape (n_spectra,), optional
        State of each spectrum, of any type (strings, ints).
    train_ids, pulse_ids : array-like of shape (n_spectra,), optional
        Facility ids of each spectrum.
    monitor : array-like of shape (n_spectra,), optional
        Per-spectrum monitor value, e.g. pulse energy.
    mask : array-like of bool of shape (n_points,), optional
        Points to ignore (detector gaps, Bragg spots of the diamonds): True means masked.
    params : dict of str to array-like of shape (n_spectra,), optional
        Further per-spectrum values, e.g. the physical parameters of a simulation.
    metadata : dict, optional
        Anything else, e.g. ``wavelength`` (Å), ``files``, ``source``.

    Examples
    --------
    >>> import numpy as np
    >>> s = Spectra(np.ones((3, 5), np.float32), axis=np.linspace(10, 12, 5), axis_name="2theta")
    >>> s.shape, s.intensity.dtype
    ((3, 5), dtype('float32'))
    >>> s.sel(11, 12).axis
    array([11. , 11.5, 12. ])
    """

    intensity: np.ndarray
    axis: np.ndarray | None = None
    axis_name: str = "index"
    axis_unit: str | None = None
    labels: np.ndarray | None = None
    train_ids: np.ndarray | None = None
    pulse_ids: np.ndarray | None = None
    monitor: np.ndarray | None = None
    mask: np.ndarray | None = None
    params: dict[str, np.ndarray] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        x = np.asarray(self.intensity)
        if x.ndim == 1:
            x = x[np.newaxis, :]
        if x.ndim != 2:
            raise SpectraFormatError(
                f"Spectra intensity must be a 2-D array (n_spectra, n_points); got shape {x.shape}."
            )
        if not np.issubdtype(x.dtype, np.floating):
            x = x.astype(np.float64)
        self.intensity = x
        n, m = x.shape
        if self.axis is None:
            # Without axis values the axis is the point index, whatever name was given:
            # calling indices '2theta' would let them pass for angles later.
            self.axis = np.arange(m, dtype=np.float64)
            self.axis_name, self.axis_unit = "index", ""
        else:
            self.axis = np.asarray(self.axis, dtype=np.float64).reshape(-1)
        if self.axis.shape != (m,):
            raise SpectraFormatError(
                f"The axis has {self.axis.size} values but the spectra have {m} points."
            )
        if m > 1:
            step = np.diff(self.axis)
            if not (np.all(step > 0) or np.all(step < 0)):
                bad = int(np.argmax(step <= 0)) if np.any(step > 0) else int(np.argmax(step >= 0))
                raise SpectraFormatError(
                    f"The axis must be strictly monotonic; it is not at point {bad + 1} "
                    f"(values {self.axis[bad]:g} then {self.axis[bad + 1]:g})."
                )
            if step[0] < 0:  # keep axes increasing: flip once here, never later
                self.axis = self.axis[::-1].copy()
                self.intensity = self.intensity[:, ::-1]
                if self.mask is not None:
                    self.mask = np.asarray(self.mask, dtype=bool)[::-1]
        if self.axis_unit is None:
            self.axis_unit = AXIS_UNITS.get(self.axis_name, "")
        for name in _PER_SPECTRUM:
            value = getattr(self, name)
            if value is not None:
                value = np.asarray(value)
                if value.shape != (n,):
                    raise SpectraFormatError(
                        f"'{name}' must have one value per spectrum ({n}); got shape {value.shape}."
                    )
                setattr(self, name, value)
        if self.mask is not None:
            self.mask = np.asarray(self.mask, dtype=bool).reshape(-1)
            if self.mask.shape != (m,):
                raise SpectraFormatError(
                    f"The mask must have one value per point ({m}); got shape {self.mask.shape}."
                )
        params = {}
        for key, value in dict(self.params).items():
            value = np.asarray(value)
            if value.shape[:1] != (n,):
                raise SpectraFormatError(
                    f"Parameter '{key}' must have one value per spectrum ({n}); "
                    f"got shape {value.shape}."
                )
            params[key] = value
        self.params = params
        self.metadata = dict(self.metadata)

    # ------------------------------------------------------------------ basics
    @property
    def shape(self) -> tuple[int, int]:
        """``(n_spectra, n_points)``."""
        return self.intensity.shape

    @property
    def n_spectra(self) -> int:
        """Number of spectra."""
        return self.intensity.shape[0]

    @property
    def n_points(self) -> int:
        """Number of points per spectrum."""
        return self.intensity.shape[1]

    @property
    def dtype(self) -> np.dtype:
        """Floating dtype of the intensities."""
        return self.intensity.dtype

    def __len__(self) -> int:
        return self.n_spectra

    def __array__(self, dtype=None, copy=None):
        if dtype is None:
            return self.intensity
        return self.intensity.astype(dtype, copy=False)

    def __repr__(self) -> str:
        lo, hi = (self.axis[0], self.axis[-1]) if self.n_points else (np.nan, np.nan)
        extra = []
        if self.labels is not None:
            classes, counts = np.unique(self.labels, return_counts=True)
            extra.append("labels=" + ", ".join(f"{c}: {k}" for c, k in zip(classes, counts)))
        if self.train_ids is not None:
            extra.append(f"trains {self.train_ids.min()}..{self.train_ids.max()}")
        unit = f" {self.axis_unit}" if self.axis_unit else ""
        tail = f"; {'; '.join(extra)}" if extra else ""
        return (
            f"<Spectra: {self.n_spectra} x {self.n_points} {self.dtype}, "
            f"{self.axis_name} {lo:g}..{hi:g}{unit}{tail}>"
        )

    # ------------------------------------------------------------------ slicing
    def __getitem__(self, index) -> Spectra:
        """Select spectra (int, slice, integer array or boolean mask); the axis stays whole."""
        if isinstance(index, (int, np.integer)):
            index = slice(index, index + 1 if index != -1 else None)
        picked = {
            name: (None if getattr(self, name) is None else getattr(self, name)[index])
            for name in _PER_SPECTRUM
        }
        return replace(
            self,
            intensity=self.intensity[index],
            params={k: v[index] for k, v in self.params.items()},
            metadata=dict(self.metadata),
            **picked,
        )

    def axis_slice(self, start=None, stop=None) -> slice:
        """Index slice of the points with ``start <= axis <= stop`` (physical units)."""
        lo = 0 if start is None else int(np.searchsorted(self.axis, start, side="left"))
        hi = self.n_points if stop is None else int(np.searchsorted(self.axis, stop, side="right"))
        return slice(lo, hi)

    def sel(self, start=None, stop=None) -> Spectra:
        """Crop to the axis range ``[start, stop]`` given in axis units.

        Raises
        ------
        SpectraFormatError
            If no point lies in the range.
        """
        sl = self.axis_slice(start, stop)
        if sl.stop <= sl.start:
            raise SpectraFormatError(
                f"No point of the axis ({self.axis[0]:g}..{self.axis[-1]:g} {self.axis_unit}) "
                f"lies in the range [{start}, {stop}]."
            )
        return replace(
            self,
            intensity=self.intensity[:, sl],
            axis=self.axis[sl],
            mask=None if self.mask is None else self.mask[sl],
            params=dict(self.params),
            metadata=dict(self.metadata),
        )

    def with_intensity(self, intensity, axis=None, **changes) -> Spectra:
        """A copy with new intensities (and optionally a new axis); the rest is kept."""
        if axis is not None and "mask" not in changes:
            changes["mask"] = None
        return replace(
            self,
            intensity=intensity,
            axis=self.axis if axis is None else axis,
            params=dict(self.params),
            metadata=dict(self.metadata),
            **changes,
        )

    # ------------------------------------------------------------------ axis conversion
    @property
    def wavelength(self) -> float | None:
        """X-ray wavelength in Å, if known (``metadata['wavelength']``)."""
        wl = self.metadata.get("wavelength")
        return None if wl is None else float(wl)

    def convert_axis(self, to: str, wavelength: float | None = None) -> Spectra:
        """Express the axis as 2θ (deg), q (1/Å) or d (Å); the intensities are not resampled.

        Parameters
        ----------
        to : {'2theta', 'q', 'd'}
            The new axis.
        wavelength : float, optional
            Wavelength in Å; defaults to ``metadata['wavelength']``.

        Returns
        -------
        Spectra
            The same spectra on the converted axis, kept increasing (a d axis reverses the
            points).
        """
        wl = wavelength if wavelength is not None else self.wavelength
        new_axis = convert_axis_values(self.axis, self.axis_name, to, wavelength=wl)
        meta = dict(self.metadata)
        if wl is not None:
            meta["wavelength"] = wl
        return Spectra(
            self.intensity,
            new_axis,
            axis_name=to,
            axis_unit=AXIS_UNITS[to],
            labels=self.labels,
            train_ids=self.train_ids,
            pulse_ids=self.pulse_ids,
            monitor=self.monitor,
            mask=self.mask,
            params=dict(self.params),
            metadata=meta,
        )

    def check_axis(self, axis, *, name="the model") -> None:
        """Raise :class:`AxisMismatchError` unless this axis equals `axis` (:func:`same_axis`)."""
        axis = np.asarray(axis, dtype=np.float64)
        if axis.shape != self.axis.shape:
            raise AxisMismatchError(
                f"The spectra have {self.n_points} points but {name} expects {axis.size}."
            )
        if not same_axis(self.axis, axis):
            raise AxisMismatchError(
                f"The spectra's axis ({self.axis[0]:g}..{self.axis[-1]:g}) differs from the one "
                f"{name} expects ({axis[0]:g}..{axis[-1]:g})."
            )

    # ------------------------------------------------------------------ numpy / xarray
    def to_numpy(self) -> np.ndarray:
        """The intensities as a (n_spectra, n_points) array (no copy)."""
        return self.intensity

    def to_xarray(self):
        """Convert to an :class:`xarray.DataArray` with dims ``('spectrum', axis_name)``.

        Labels, ids, monitor and per-spectrum parameters become coordinates along
        ``spectrum``; the mask a coordinate along the axis; metadata the attributes.
        """
        import xarray as xr

        coords = {
            self.axis_name: xr.Variable(self.axis_name, self.axis, attrs={"units": self.axis_unit}),
            "spectrum": np.arange(self.n_spectra),
        }
        for name in _PER_SPECTRUM:
            value = getattr(self, name)
            if value is not None:
                coords[name] = ("spectrum", value)
        for key, value in self.params.items():
            if value.ndim == 1:
                coords[f"param_{key}"] = ("spectrum", value)
        if self.mask is not None:
            coords["mask"] = (self.axis_name, self.mask)
        attrs = {k: v for k, v in self.metadata.items() if isinstance(v, (str, int, float))}
        return xr.DataArray(
            self.intensity,
            dims=("spectrum", self.axis_name),
            coords=coords,
            name="intensity",
            attrs=attrs,
        )

    @classmethod
    def from_xarray(cls, data) -> Spectra:
        """Build from a 2-D (or 1-D) :class:`xarray.DataArray`; the last dim is the axis."""
        if data.ndim == 1:
            data = data.expand_dims("spectrum")
        if data.ndim != 2:
            raise SpectraFormatError(
                f"Expected a DataArray with dims (spectrum, axis); got dims {data.dims}."
            )
        first, axis_name = data.dims
        axis = data[axis_name].values if axis_name in data.coords else None
        unit = data[axis_name].attrs.get("units") if axis_name in data.coords else None
        kwargs = {}
        for name in _PER_SPECTRUM:
            if name in data.coords and data[name].dims == (first,):
                kwargs[name] = data[name].values
        params = {
            str(k)[len("param_") :]: data[k].values
            for k in data.coords
            if str(k).startswith("param_") and data[k].dims == (first,)
        }
        mask = data["mask"].values if "mask" in data.coords else None
        return cls(
            data.values,
            axis,
            axis_name=str(axis_name),
            axis_unit=unit,
            mask=mask,
            params=params,
            metadata=dict(data.attrs),
            **kwargs,
        )

    @classmethod
    def coerce(cls, data, axis=None, **kwargs) -> Spectra:
        """Turn a Spectra, xarray.DataArray or array-like into :class:`Spectra`."""
        if isinstance(data, Spectra):
            return data
        if hasattr(data, "dims") and hasattr(data, "coords"):
            return cls.from_xarray(data)
        return cls(np.asarray(data), axis, **kwargs)
