"""Spectra as NumPy files: ``.npy`` (a bare array) and ``.npz`` (arrays with their meaning).

``.npz`` keys: ``intensity`` (n, m), ``axis`` (m,), optional ``labels``, ``train_ids``,
``pulse_ids``, ``monitor`` (n,), ``mask`` (m,), ``param_<name>`` (n, ...) and 0-d arrays
``axis_name``, ``axis_unit``, ``wavelength`` (Å). Strings are stored as unicode arrays, so
files load with ``allow_pickle=False``.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ..exceptions import SpectraFileError, SpectraFormatError
from ..spectra import Spectra
from . import _units
from ._common import check_axis, name_of, reason
from ._files import atomic_write

_PER_SPECTRUM = ("labels", "train_ids", "pulse_ids", "monitor")
_PARAM_PREFIX = "param_"


def _load(path: Path):
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise SpectraFileError(f"No such file: '{path}'.") from None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise SpectraFileError(
            f"'{path}' cannot be read as a NumPy file (truncated, corrupt or holding Python "
            f"objects): {reason(exc)}."
        ) from None


def _intensity(array: np.ndarray, where: str) -> np.ndarray:
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise SpectraFormatError(
            f"The intensity in {where} must be numeric; got dtype {array.dtype}."
        )
    if array.ndim not in (1, 2):
        raise SpectraFormatError(
            f"The intensity in {where} must be a 1-D or 2-D array (n_spectra, n_points); "
            f"got shape {array.shape}."
        )
    if array.size == 0:
        raise SpectraFormatError(f"{where} is empty: the intensity has shape {array.shape}.")
    return array


def read_npy(path, *, axis_name: str | None = None) -> Spectra:
    """Read a ``.npy`` array of shape (n, m) (or (m,)) as spectra on an index axis."""
    path = Path(path)
    where = f"'{path}'"
    array = _load(path)
    intensity = _intensity(np.asarray(array), where)
    name, unit, _ = _units.normalise(axis_name or "index", None, np.empty(0))
    return Spectra(intensity, None, axis_name=name, axis_unit=unit,
                   metadata={"files": [name_of(path)]})


def read_npz(path, *, axis_name: str | None = None) -> Spectra:
    """Read spectra from an ``.npz`` file with the keys listed in the module docstring.

    Raises
    ------
    SpectraFormatError
        If ``intensity`` is missing or not numeric, or the axis is not monotonic.
    """
    path = Path(path)
    where = f"'{path}'"
    with _load(path) as data:
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise SpectraFormatError(f"{where} holds a single array, not an .npz archive.")
        keys = set(data.files)
        if "intensity" not in keys:
            held = ", ".join(sorted(keys)) or "nothing"
            raise SpectraFormatError(f"{where} has no 'intensity' array; it holds {held}.")
        try:
            arrays = {k: data[k] for k in data.files}
        except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
            raise SpectraFileError(f"'{path}' is truncated or corrupt: {reason(exc)}.") from None
    intensity = _intensity(arrays["intensity"], where)
    axis = arrays.get("axis")
    if axis is not None:
        axis = np.asarray(axis, dtype=np.float64).reshape(-1)
        check_axis(axis, where)
    stored_name = str(arrays["axis_name"]) if "axis_name" in arrays else None
    stored_unit = str(arrays["axis_unit"]) if "axis_unit" in arrays else None
    name, unit, axis_values = _units.normalise(axis_name or stored_name or "index",
                                               None if axis_name else stored_unit,
                                               axis if axis is not None else np.empty(0))
    metadata = {"files": [name_of(path)]}
    if "wavelength" in arrays and np.isfinite(arrays["wavelength"]):
        metadata["wavelength"] = float(arrays["wavelength"])
    per = {k: arrays[k] for k in _PER_SPECTRUM if k in arrays}
    params = {k[len(_PARAM_PREFIX):]: v for k, v in arrays.items() if k.startswith(_PARAM_PREFIX)}
    return Spectra(intensity, axis_values if axis is not None else None, axis_name=name,
                   axis_unit=unit, mask=arrays.get("mask"), params=params, metadata=metadata,
                   **per)


def _storable(value: np.ndarray) -> np.ndarray:
    """Turn object arrays (e.g. Python strings) into unicode arrays that need no pickle."""
    value = np.asarray(value)
    if value.dtype == object:
        return value.astype(str)
    return value


def write_npz(spectra: Spectra, path) -> Path:
    """Write `spectra` to an ``.npz`` file (temporary file renamed at the end)."""
    path = Path(path)
    arrays = {
        "intensity": spectra.intensity,
        "axis": spectra.axis,
        "axis_name": np.array(spectra.axis_name),
        "axis_unit": np.array(spectra.axis_unit or ""),
    }
    if spectra.wavelength is not None:
        arrays["wavelength"] = np.array(spectra.wavelength)
    for key in _PER_SPECTRUM:
        value = getattr(spectra, key)
        if value is not None:
            arrays[key] = _storable(value)
    if spectra.mask is not None:
        arrays["mask"] = spectra.mask
    for key, value in spectra.params.items():
        arrays[f"{_PARAM_PREFIX}{key}"] = _storable(value)
    with atomic_write(path) as tmp, tmp.open("wb") as fh:
        np.savez(fh, **arrays)
    return path
