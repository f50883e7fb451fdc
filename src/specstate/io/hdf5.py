"""Spectra in HDF5 / NeXus files: NXdata found through ``@default``/``@signal``/``@axes``.

Reading follows the NeXus conventions: the root's ``@default`` names an NXentry, whose
``@default`` names an NXdata group; its ``@signal`` names the intensity dataset and ``@axes``
the axis dataset of each dimension (``.`` for none). Files that lack ``@default`` use the
first NXdata group found. Any dataset can also be named explicitly (``intensity=``,
``axis=``, ``labels=``, ...), which reads files that are not NeXus at all. The layout written
is described in :mod:`specstate.io._schema`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .._version import __version__
from ..exceptions import SpecstateError, SpectraFileError, SpectraFormatError
from ..spectra import Spectra
from . import _schema as S
from . import _units
from ._common import check_axis, name_of, reason
from ._files import atomic_write, open_hdf5

logger = logging.getLogger(__name__)

#: how many dataset names an error message lists at most
_MAX_LISTED = 12
#: how deep @default chains are followed (root -> entry -> (subentry ->) data)
_MAX_DEFAULT_DEPTH = 4
_SIGNAL_FALLBACKS = (S.INTENSITY, "data")
_WAVELENGTH_TO_ANGSTROM = {"angstrom": 1.0, "a": 1.0, "nm": 10.0, "m": 1e10}
_PER_FIELD = {"labels": S.LABELS, "train_ids": S.TRAIN_IDS, "pulse_ids": S.PULSE_IDS,
              "monitor": S.MONITOR}


def _attr_str(obj, name: str, default=None):
    value = obj.attrs.get(name, default)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return value


def _attr_list(obj, name: str) -> list[str]:
    value = obj.attrs.get(name)
    if value is None:
        return []
    if isinstance(value, (bytes, str)):
        text = value.decode() if isinstance(value, bytes) else value
        # old NeXus spells several axes as "a:b" (or "a,b")
        return [t.strip() for t in text.replace(",", ":").split(":")]
    return [v.decode() if isinstance(v, bytes) else str(v) for v in np.ravel(value)]


def _datasets(f) -> list[str]:
    import h5py

    names = []
    f.visititems(lambda n, o: names.append("/" + n) if isinstance(o, h5py.Dataset) else None)
    return names


def _listing(f) -> str:
    names = _datasets(f)
    if not names:
        return "it holds no datasets"
    more = f" and {len(names) - _MAX_LISTED} more" if len(names) > _MAX_LISTED else ""
    return "datasets present: " + ", ".join(names[:_MAX_LISTED]) + more


def _dataset(f, path: str, where: str, what: str):
    import h5py

    obj = f.get(path)
    if not isinstance(obj, h5py.Dataset):
        kind = "no dataset" if obj is None else "a group, not a dataset,"
        raise SpectraFormatError(
            f"{where} has {kind} at '{path}' (wanted for the {what}); {_listing(f)}."
        )
    return obj


def _numeric(ds, where: str, what: str) -> np.ndarray:
    if ds.dtype.kind not in "biuf":
        raise SpectraFormatError(
            f"The {what} dataset '{ds.name}' in {where} is not numeric (dtype {ds.dtype})."
        )
    return ds[()]


def _is_nxdata(obj) -> bool:
    import h5py

    return isinstance(obj, h5py.Group) and _attr_str(obj, S.NX_CLASS) == S.NXDATA


def find_nxdata(f):
    """The NXdata group of an open file: through ``@default``, else the first one found."""
    import h5py

    group = f
    for _ in range(_MAX_DEFAULT_DEPTH):
        name = _attr_str(group, S.DEFAULT)
        child = group.get(name) if isinstance(name, str) and name else None
        if not isinstance(child, h5py.Group):
            break
        group = child
        if _is_nxdata(group):
            return group
    found = []

    def visit(name, obj):
        if _is_nxdata(obj):
            found.append(obj)
            return True
        return None

    f.visititems(visit)
    return found[0] if found else None


def _decode_labels(ds) -> np.ndarray:
    import h5py

    if h5py.check_string_dtype(ds.dtype) is not None:
        return np.array(ds.asstr()[()], dtype=str).reshape(-1)
    if ds.dtype.kind == "S":
        return np.char.decode(ds[()], "utf-8").astype(str).reshape(-1)
    if ds.dtype.kind not in "biuf":
        raise SpectraFormatError(
            f"The labels dataset '{ds.name}' must hold strings or numbers (dtype {ds.dtype})."
        )
    return ds[()].reshape(-1)


def _read_value(obj):
    """Python value of a metadata dataset or group (groups become dicts)."""
    import h5py

    if isinstance(obj, h5py.Group):
        return {k: _read_value(v) for k, v in obj.items()}
    if h5py.check_string_dtype(obj.dtype) is not None:
        value = obj.asstr()[()]
        return value if isinstance(value, str) else [str(v) for v in np.ravel(value)]
    value = obj[()]
    return value.item() if isinstance(value, np.generic) else value


def _wavelength(entry) -> float | None:
    import h5py

    for path in (f"{S.INSTRUMENT}/{S.BEAM}/{S.WAVELENGTH}", "instrument/monochromator/wavelength"):
        ds = entry.get(path)
        if isinstance(ds, h5py.Dataset) and ds.dtype.kind in "if":
            unit = str(_attr_str(ds, S.UNITS, S.WAVELENGTH_UNIT)).lower()
            factor = _WAVELENGTH_TO_ANGSTROM.get(unit, 1.0)
            return float(np.ravel(ds[()])[0]) * factor
    return None


def read_hdf5(path, *, intensity: str | None = None, axis: str | None = None,
              labels: str | None = None, train_ids: str | None = None,
              pulse_ids: str | None = None, monitor: str | None = None,
              axis_name: str | None = None) -> Spectra:
    """Read spectra from an HDF5 / NeXus file.

    Parameters
    ----------
    path : str or Path
        The file.
    intensity, axis, labels, train_ids, pulse_ids, monitor : str, optional
        Dataset paths inside the file. Without `intensity`, the NXdata group found through
        ``@default`` (or the first NXdata) gives the intensity (``@signal``), the axis
        (``@axes``) and the datasets named ``labels``, ``train_ids``, ``pulse_ids``,
        ``monitor``, ``mask`` and the group ``params`` next to it.
    axis_name : str, optional
        Name of the axis, overriding the axis dataset's name.

    Returns
    -------
    Spectra

    Raises
    ------
    SpectraFileError
        If the file is missing, truncated or not HDF5.
    SpectraFormatError
        If a dataset is missing (the message lists those present) or not numeric, has the
        wrong shape, or the axis is not monotonic.
    """
    path = Path(path)
    where = f"'{path}'"
    f = open_hdf5(path)
    try:
        with f:
            return _read_open(f, where, path, intensity=intensity, axis=axis, labels=labels,
                              train_ids=train_ids, pulse_ids=pulse_ids, monitor=monitor,
                              axis_name=axis_name)
    except SpecstateError:
        raise
    except (OSError, RuntimeError, KeyError) as exc:
        raise SpectraFileError(
            f"{where} is truncated or corrupt: reading it failed ({reason(exc)})."
        ) from None


def _read_open(f, where, path, *, intensity, axis, labels, train_ids, pulse_ids, monitor,
               axis_name) -> Spectra:
    import h5py

    group = None
    if intensity is not None:
        signal = _dataset(f, intensity, where, "intensity")
        parent = signal.parent
        group = parent if _is_nxdata(parent) and _attr_str(parent, S.SIGNAL) == \
            signal.name.rsplit("/", 1)[-1] else None
    else:
        group = find_nxdata(f)
        if group is None:
            raise SpectraFormatError(
                f"{where} has no NXdata group; pass the intensity dataset path "
                f"(intensity=..., command line: --intensity); {_listing(f)}."
            )
        name = _attr_str(group, S.SIGNAL)
        candidates = [name] if isinstance(name, str) and name else list(_SIGNAL_FALLBACKS)
        signal = next((group[c] for c in candidates if isinstance(group.get(c), h5py.Dataset)),
                      None)
        if signal is None:
            raise SpectraFormatError(
                f"The NXdata group '{group.name}' in {where} has no signal dataset "
                f"{candidates[0]!r}; {_listing(f)}."
            )
    values = _numeric(signal, where, "intensity")
    if values.ndim not in (1, 2) or values.size == 0:
        raise SpectraFormatError(
            f"The intensity dataset '{signal.name}' in {where} must be a non-empty 1-D or 2-D "
            f"array (n_spectra, n_points); got shape {values.shape}."
        )
    n = 1 if values.ndim == 1 else values.shape[0]
    m = values.shape[-1]

    axis_ds = None
    if axis is not None:
        axis_ds = _dataset(f, axis, where, "axis")
    elif group is not None:
        names = _attr_list(group, S.AXES) or _attr_list(signal, S.AXES)
        last = names[-1] if names else None
        if last and last != S.NO_AXIS:
            axis_ds = group.get(last)
            if not isinstance(axis_ds, h5py.Dataset):
                raise SpectraFormatError(
                    f"The NXdata group '{group.name}' in {where} names the axis {last!r} in "
                    f"@axes but has no such dataset; {_listing(f)}."
                )
    if axis_ds is not None:
        axis_values = np.asarray(_numeric(axis_ds, where, "axis"), dtype=np.float64).reshape(-1)
        if axis_values.size == m + 1:  # bin edges, as NeXus allows: use the centres
            axis_values = 0.5 * (axis_values[1:] + axis_values[:-1])
        if axis_values.size != m:
            raise SpectraFormatError(
                f"The axis dataset '{axis_ds.name}' in {where} has {axis_values.size} values "
                f"but the spectra have {m} points."
            )
        check_axis(axis_values, f"'{axis_ds.name}' in {where}")
        file_name = axis_ds.name.rsplit("/", 1)[-1]
        unit = _attr_str(axis_ds, S.UNITS)
        name, unit, axis_values = _units.normalise(
            axis_name or file_name, None if axis_name else (str(unit) if unit else None),
            axis_values)
    else:
        axis_values = None
        name, unit, _ = _units.normalise(axis_name or "index", None, np.empty(0))

    explicit = {"labels": labels, "train_ids": train_ids, "pulse_ids": pulse_ids,
                "monitor": monitor}
    per = {}
    for field, dataset_path in explicit.items():
        if dataset_path is not None:
            ds = _dataset(f, dataset_path, where, field)
        elif group is not None and isinstance(group.get(_PER_FIELD[field]), h5py.Dataset):
            ds = group[_PER_FIELD[field]]
        else:
            continue
        value = _decode_labels(ds) if field == "labels" else \
            np.asarray(_numeric(ds, where, field)).reshape(-1)
        if value.shape != (n,):
            raise SpectraFormatError(
                f"The {field} dataset '{ds.name}' in {where} has {value.size} values but there "
                f"are {n} spectra."
            )
        per[field] = value

    mask, params, metadata = None, {}, {}
    if group is not None:
        mask_ds = group.get(S.MASK)
        if isinstance(mask_ds, h5py.Dataset) and mask_ds.shape == (m,):
            mask = np.asarray(mask_ds[()]).astype(bool)
        pgroup = group.get(S.PARAMS)
        if isinstance(pgroup, h5py.Group):
            for key, ds in pgroup.items():
                if isinstance(ds, h5py.Dataset) and ds.shape[:1] == (n,):
                    params[key] = _decode_labels(ds) if ds.dtype.kind in "SOU" else ds[()]
        entry = group.parent
        meta_group = entry.get(S.METADATA)
        if isinstance(meta_group, h5py.Group):
            metadata.update(_read_value(meta_group))
        wavelength = _wavelength(entry)
        if wavelength is not None:
            metadata["wavelength"] = wavelength
    if "files" in metadata:
        metadata["source_files"] = metadata.pop("files")
    metadata["files"] = [name_of(path)]
    return Spectra(values, axis_values, axis_name=name, axis_unit=unit, mask=mask,
                   params=params, metadata=metadata, **per)


# ---------------------------------------------------------------------- writing
def _write_value(group, key: str, value) -> None:
    """Write one metadata item: dicts become NXcollection groups, strings utf-8 datasets."""
    import h5py

    if value is None:
        return
    if isinstance(value, dict):
        sub = group.create_group(key)
        sub.attrs[S.NX_CLASS] = S.NXCOLLECTION
        for k, v in value.items():
            _write_value(sub, str(k), v)
        return
    if isinstance(value, str):
        group.create_dataset(key, data=value, dtype=h5py.string_dtype("utf-8"))
        return
    array = np.asarray(value)
    if array.dtype.kind in "OUS":
        group.create_dataset(key, data=array.astype(str).astype(object),
                             dtype=h5py.string_dtype("utf-8"))
    elif array.dtype.kind in "biuf":
        group.create_dataset(key, data=array)
    else:
        logger.debug("metadata %r of type %s is not written", key, type(value).__name__)


def write_nexus(spectra: Spectra, path) -> Path:
    """Write `spectra` as a NeXus file (layout in :mod:`specstate.io._schema`).

    The file is written under a temporary name next to `path` and renamed at the end.

    Returns
    -------
    Path
        `path`.
    """
    import h5py

    path = Path(path)
    axis_key = spectra.axis_name
    if axis_key in (S.INTENSITY, S.MASK, S.PARAMS, *S.PER_SPECTRUM):
        axis_key = f"{axis_key}_axis"
    with atomic_write(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs[S.NX_CLASS] = S.NXROOT
        f.attrs[S.DEFAULT] = S.ENTRY
        f.attrs[S.CREATOR_ATTR] = S.CREATOR
        f.attrs[S.VERSION_ATTR] = __version__
        f.attrs[S.FILE_NAME_ATTR] = path.name
        f.attrs[S.FILE_TIME_ATTR] = datetime.now(timezone.utc).isoformat()
        entry = f.create_group(S.ENTRY)
        entry.attrs[S.NX_CLASS] = S.NXENTRY
        entry.attrs[S.DEFAULT] = S.DATA
        data = entry.create_group(S.DATA)
        data.attrs[S.NX_CLASS] = S.NXDATA
        data.attrs[S.SIGNAL] = S.INTENSITY
        data.attrs[S.AXES] = [S.NO_AXIS, axis_key]
        data.attrs[f"{axis_key}{S.INDICES_SUFFIX}"] = 1
        data.create_dataset(S.INTENSITY, data=spectra.intensity)
        ax = data.create_dataset(axis_key, data=spectra.axis)
        ax.attrs[S.UNITS] = spectra.axis_unit or ""
        ax.attrs[S.LONG_NAME] = f"{spectra.axis_name} ({spectra.axis_unit})" \
            if spectra.axis_unit else spectra.axis_name
        for field, key in _PER_FIELD.items():
            value = getattr(spectra, field)
            if value is None:
                continue
            if np.asarray(value).dtype.kind in "OUS":
                data.create_dataset(key, data=np.asarray(value).astype(str).astype(object),
                                    dtype=h5py.string_dtype("utf-8"))
            else:
                data.create_dataset(key, data=value)
            data.attrs[f"{key}{S.INDICES_SUFFIX}"] = 0
        if spectra.mask is not None:
            data.create_dataset(S.MASK, data=spectra.mask.astype(np.int8))
        if spectra.params:
            _write_value(data, S.PARAMS, dict(spectra.params))
        if spectra.wavelength is not None:
            instrument = entry.create_group(S.INSTRUMENT)
            instrument.attrs[S.NX_CLASS] = S.NXINSTRUMENT
            beam = instrument.create_group(S.BEAM)
            beam.attrs[S.NX_CLASS] = S.NXBEAM
            wl = beam.create_dataset(S.WAVELENGTH, data=spectra.wavelength)
            wl.attrs[S.UNITS] = S.WAVELENGTH_UNIT
        meta = {k: v for k, v in spectra.metadata.items() if k != "wavelength"}
        if meta:
            _write_value(entry, S.METADATA, meta)
    return path
