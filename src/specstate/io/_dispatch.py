"""``read`` and ``write``: one entry point each, dispatching on what the path is."""

from __future__ import annotations

import glob
import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..exceptions import SpectraFileError, SpectraFormatError
from ..spectra import Spectra
from . import _files, _schema
from ._common import NONFINITE_MODES, handle_nonfinite, reason, stack
from ._files import natural_sort_key

logger = logging.getLogger(__name__)

_GLOB_CHARS = re.compile(r"[*?\[]")
_EUXFEL_FILE = re.compile(_schema.EUXFEL_FILE_PATTERN)


def is_euxfel_run(path) -> bool:
    """True if `path` is a folder holding EuXFEL run files (``RAW-R0012-DA01-S00000.h5``)."""
    path = Path(path)
    return path.is_dir() and any(_EUXFEL_FILE.match(p.name) for p in path.iterdir())


def _folder_files(folder: Path) -> list[Path]:
    """The spectra of a folder, in natural order.

    Its .xy files, else its .dat, else its .txt; a folder without text spectra may hold files
    of one other readable kind (.nxs, .h5, .npz, .csv, ...), which are then all read.
    """
    files = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]
    for suffix in _files.TEXT_SUFFIXES:
        chosen = [p for p in files if p.suffix.lower() == suffix]
        if chosen:
            return sorted(chosen, key=natural_sort_key)
    readable = [p for p in files if p.suffix.lower() in _files.READABLE_SUFFIXES
                and p.name != _schema.LABELS_FILE]
    kinds = sorted({p.suffix.lower() for p in readable})
    if len(kinds) == 1:
        return sorted(readable, key=natural_sort_key)
    found = sorted({p.suffix or p.name for p in files})
    if len(kinds) > 1:
        raise SpectraFileError(
            f"The folder '{folder}' holds no text spectra but files of several kinds "
            f"({', '.join(kinds)}); name the files to read with a pattern such as "
            f"'{folder / ('*' + kinds[0])}'."
        )
    raise SpectraFileError(
        f"The folder '{folder}' holds no {'/'.join(_files.TEXT_SUFFIXES)} spectra"
        + (f" (it holds {', '.join(found[:5])} files)." if found else " (it is empty).")
    )


def _expand(path) -> tuple[list[Path], Path | None]:
    """Files named by a path, folder or glob, and the folder that may hold labels.csv."""
    text = os.fspath(path)
    p = Path(text).expanduser()
    if p.is_dir():
        return _folder_files(p), p
    if p.is_file():
        return [p], None
    if _GLOB_CHARS.search(text):
        matches = [Path(m) for m in glob.glob(os.path.expanduser(text)) if Path(m).is_file()]
        if not matches:
            raise SpectraFileError(f"The pattern '{text}' matches no file.")
        matches.sort(key=natural_sort_key)
        parents = {m.parent for m in matches}
        return matches, parents.pop() if len(parents) == 1 else None
    raise SpectraFileError(f"No such file or folder: '{text}'.")


def _read_file(path: Path, *, resample: bool, axis_name, hdf5_paths: dict) -> Spectra:
    suffix = path.suffix.lower()
    if suffix in _files.HDF5_SUFFIXES:
        from .hdf5 import read_hdf5

        return read_hdf5(path, axis_name=axis_name, **hdf5_paths)
    if any(v is not None for v in hdf5_paths.values()):
        given = ", ".join(f"{k}=" for k, v in hdf5_paths.items() if v is not None)
        raise SpectraFormatError(
            f"{given} names datasets inside HDF5 files, but '{path}' is a {suffix or 'plain'} "
            "file."
        )
    if suffix in _files.TEXT_SUFFIXES:
        from .text import read_text_files

        return read_text_files([path], resample=resample, axis_name=axis_name)
    if suffix in _files.CSV_SUFFIXES:
        from .table import read_csv

        return read_csv(path, axis_name=axis_name)
    if suffix in _files.NPY_SUFFIXES:
        from .arrays import read_npy

        return read_npy(path, axis_name=axis_name)
    if suffix in _files.NPZ_SUFFIXES:
        from .arrays import read_npz

        return read_npz(path, axis_name=axis_name)
    raise SpectraFormatError(
        f"'{path}' has an extension specstate does not read ({suffix or 'none'}); expected "
        f"one of {', '.join(_files.READABLE_SUFFIXES)}, a folder of text spectra or an "
        "EuXFEL run folder."
    )


def _read_files(files: Sequence[Path], *, resample, axis_name, hdf5_paths) -> Spectra:
    if all(f.suffix.lower() in _files.TEXT_SUFFIXES for f in files) and \
            not any(v is not None for v in hdf5_paths.values()):
        from .text import read_text_files

        return read_text_files(files, resample=resample, axis_name=axis_name)
    parts = [_read_file(f, resample=resample, axis_name=axis_name, hdf5_paths=hdf5_paths)
             for f in files]
    if len(parts) == 1:
        return parts[0]
    return stack(parts, [f"'{f}'" for f in files], resample=resample)


def _read_run(path: Path, *, source, key, monitor, trains) -> Spectra:
    try:
        from . import euxfel
    except ImportError as exc:
        raise SpectraFileError(
            f"'{path}' is an EuXFEL run folder; reading runs needs the EuXFEL support "
            f"(pip install 'specstate[euxfel]'): {reason(exc)}."
        ) from None
    try:
        return euxfel.read_run(path, source=source, key=key, monitor=monitor, trains=trains)
    except ImportError as exc:
        raise SpectraFileError(
            f"Reading the EuXFEL run '{path}' needs extra-data "
            f"(pip install 'specstate[euxfel]'): {reason(exc)}."
        ) from None


def _attach(spectra: Spectra, field: str, value, where: str) -> Spectra:
    value = np.asarray(value)
    if value.shape != (spectra.n_spectra,):
        raise SpectraFormatError(
            f"{field} has {value.size} values but {where} holds {spectra.n_spectra} spectra."
        )
    setattr(spectra, field, value)
    return spectra


def read(
    path,
    *,
    resample: bool = False,
    nonfinite: str = "raise",
    intensity: str | None = None,
    axis: str | None = None,
    labels=None,
    train_ids=None,
    pulse_ids=None,
    monitor=None,
    source: str | None = None,
    key: str | None = None,
    trains=None,
    axis_name: str | None = None,
) -> Spectra:
    """Read spectra from files of any supported format into one :class:`~specstate.Spectra`.

    Parameters
    ----------
    path : str, Path, or list of them
        What to read, dispatched on what it is:

        * a two-column text file (``.xy``, ``.dat``, ``.txt``; pyFAI ``#`` headers give the
          axis unit and the wavelength), or a **folder** or **glob** of them, sorted
          naturally (``_2`` before ``_10``); a folder uses its ``.xy`` files, else ``.dat``,
          else ``.txt``;
        * a ``.csv`` table (one spectrum per row or per column, see
          :mod:`specstate.io.table`);
        * ``.npy`` (an (n, m) array on an index axis) or ``.npz`` (see
          :mod:`specstate.io.arrays`);
        * HDF5 / NeXus (``.h5``, ``.hdf5``, ``.nxs``, ``.nx5``), see
          :mod:`specstate.io.hdf5`;
        * an EuXFEL run folder (files ``RAW-R0012-DA01-S00000.h5``), read by
          :func:`specstate.io.euxfel.read_run` with `source`, `key`, `monitor`, `trains`;
        * a list of any of these, read one after the other and concatenated.
    resample : bool, default=False
        Files on different axes are interpolated onto the first file's axis (cropped to the
        range they all cover); without it they raise an error.
    nonfinite : {'raise', 'drop', 'mask', 'keep'}, default='raise'
        NaN/inf intensities: refuse them (the message says how many and where), drop the
        spectra that hold any, or mask the points (``Spectra.mask``) where any spectrum has
        one and set those values to 0; 'keep' leaves them as they are (for inspection).
    intensity, axis : str, optional
        HDF5 dataset paths of the intensity and the axis (default: found through NXdata).
    labels : str, Path or array-like, optional
        Labels: a ``file,label`` CSV table (for text spectra; a folder's ``labels.csv`` is
        used by default), an HDF5 dataset path, or one value per spectrum.
    train_ids, pulse_ids : str or array-like, optional
        HDF5 dataset paths, or one value per spectrum.
    monitor : str or array-like, optional
        HDF5 dataset path, ``SOURCE:KEY`` in an EuXFEL run, or one value per spectrum.
    source, key, trains : optional
        EuXFEL run only: spectrometer source, its key, and the train selection.
    axis_name : str, optional
        Name of the axis ('2theta', 'q', 'd', 'energy', ...) where the file does not say.

    Returns
    -------
    Spectra
        ``metadata['files']`` lists the files read; ``metadata['wavelength']`` is in Å.

    Raises
    ------
    SpectraFileError
        Missing file, glob matching nothing, unreadable or truncated file, missing EuXFEL
        support.
    SpectraFormatError
        Empty file, non-numeric line, axes that differ (without `resample`), non-monotonic
        or duplicated axis, missing or non-numeric HDF5 dataset.
    NonFiniteError
        NaN/inf values with ``nonfinite='raise'``.

    Examples
    --------
    >>> spectra = read("patterns/")                          # doctest: +SKIP
    >>> spectra = read("run/*.xy", resample=True)            # doctest: +SKIP
    >>> spectra = read("ramp.nxs", nonfinite="mask")         # doctest: +SKIP
    >>> spectra = read("data.h5", intensity="/scan/spectra", axis="/scan/energy")  # doctest: +SKIP
    """
    if nonfinite not in NONFINITE_MODES:
        raise SpectraFormatError(
            f"nonfinite must be one of {', '.join(NONFINITE_MODES)}; got {nonfinite!r}."
        )
    items = list(path) if isinstance(path, (list, tuple)) else [path]
    if not items:
        raise SpectraFileError("No file to read: the list of paths is empty.")
    runs = [Path(os.fspath(p)) for p in items if is_euxfel_run(os.fspath(p))]
    run_options = {"source": source, "key": key, "trains": trains}
    if runs:
        if len(items) > 1:
            raise SpectraFormatError(
                f"Read one EuXFEL run at a time; got {len(items)} paths including '{runs[0]}'."
            )
        spectra = _read_run(runs[0], source=source, key=key, monitor=monitor, trains=trains)
        where = f"the run '{runs[0]}'"
        return _finish(spectra, labels=labels if not isinstance(labels, (str, Path)) else None,
                       train_ids=None, pulse_ids=None, monitor=None, nonfinite=nonfinite,
                       where=where)
    given = [f"{k}=" for k, v in run_options.items() if v is not None]
    if given:
        raise SpectraFormatError(
            f"{', '.join(given)} {'applies' if len(given) == 1 else 'apply'} only to EuXFEL run "
            "folders (files like "
            f"RAW-R0012-DA01-S00000.h5), but '{os.fspath(items[0])}' is not one."
        )
    files, folders = [], []
    for item in items:
        found, folder = _expand(item)
        files.extend(found)
        folders.append(folder)
    as_path = {k: v if isinstance(v, str) else None for k, v in
               {"labels": labels, "train_ids": train_ids, "pulse_ids": pulse_ids,
                "monitor": monitor}.items()}
    labels_table = None
    if isinstance(labels, (str, Path)) and (Path(labels).suffix.lower() in _files.CSV_SUFFIXES
                                            or Path(labels).is_file()):
        labels_table, as_path["labels"] = Path(labels), None
    elif labels is None and len(folders) == 1 and folders[0] is not None:
        candidate = folders[0] / _schema.LABELS_FILE
        labels_table = candidate if candidate.is_file() else None
    hdf5_paths = {"intensity": intensity, "axis": axis, **as_path}
    spectra = _read_files(files, resample=resample, axis_name=axis_name, hdf5_paths=hdf5_paths)
    if labels_table is not None:
        from ..labels import read_labels_csv

        names = spectra.metadata.get("files", [])
        if len(names) != spectra.n_spectra:
            raise SpectraFormatError(
                f"A labels table ('{labels_table}') labels one spectrum per file, but the "
                f"{len(names)} files read hold {spectra.n_spectra} spectra."
            )
        spectra.labels = read_labels_csv(labels_table, names)
    where = f"'{os.fspath(items[0])}'" if len(items) == 1 else f"the {len(files)} files read"
    arrays = {k: v for k, v in {"labels": labels, "train_ids": train_ids,
                                "pulse_ids": pulse_ids, "monitor": monitor}.items()
              if v is not None and not isinstance(v, (str, Path))}
    return _finish(spectra, nonfinite=nonfinite, where=where, **{
        k: arrays.get(k) for k in ("labels", "train_ids", "pulse_ids", "monitor")})


def _finish(spectra: Spectra, *, labels, train_ids, pulse_ids, monitor, nonfinite,
            where) -> Spectra:
    for field, value in (("labels", labels), ("train_ids", train_ids),
                         ("pulse_ids", pulse_ids), ("monitor", monitor)):
        if value is not None:
            _attach(spectra, field, value, where)
    spectra = handle_nonfinite(spectra, nonfinite, where)
    logger.info("read %d spectra of %d points from %s", spectra.n_spectra, spectra.n_points,
                where)
    return spectra


def write(spectra, path, *, stem: str | None = None) -> Path:
    """Write spectra to `path`, in the format its extension names.

    Parameters
    ----------
    spectra : Spectra or array-like
        What to write (arrays are wrapped by :meth:`specstate.Spectra.coerce`).
    path : str or Path
        ``.npz``: NumPy archive; ``.nxs``/``.h5``/``.hdf5``/``.nx5``: NeXus NXdata (units,
        labels, ids, monitor, mask, params, wavelength); a path ending in ``/`` or without
        a suffix: a folder of ``<stem>_0001.xy`` files with a pyFAI-like header plus
        ``labels.csv`` when there are labels; ``.xy``/``.dat``/``.txt``: a single spectrum.
    stem : str, optional
        File-name stem in a folder (default: the folder's name).

    Returns
    -------
    Path
        What was written. Everything is written under a temporary name and renamed at the
        end, so an error leaves nothing half-written.

    Raises
    ------
    SpectraFormatError
        If the extension is not one specstate writes.
    SpectraFileError
        If a folder target exists and holds other files.

    Examples
    --------
    >>> write(spectra, "ramp.nxs")      # doctest: +SKIP
    >>> write(spectra, "patterns/")     # doctest: +SKIP
    """
    spectra = Spectra.coerce(spectra)
    text = os.fspath(path)
    target = Path(text)
    suffix = target.suffix.lower()
    if text.endswith(("/", os.sep)) or not suffix or target.is_dir():
        from .text import write_text_folder

        write_text_folder(spectra, target, stem=stem)
        return target
    if suffix in _files.NPZ_SUFFIXES:
        from .arrays import write_npz

        return write_npz(spectra, target)
    if suffix in _files.HDF5_SUFFIXES:
        from .hdf5 import write_nexus

        return write_nexus(spectra, target)
    if suffix in _files.TEXT_SUFFIXES:
        if spectra.n_spectra != 1:
            raise SpectraFormatError(
                f"A {suffix} file holds one spectrum, but there are {spectra.n_spectra}; "
                f"write to a folder ('{target.with_suffix('')}/') instead."
            )
        from .text import write_text_file

        return write_text_file(spectra, target)
    raise SpectraFormatError(
        f"specstate cannot write '{target}' (extension {suffix}); use .npz, .nxs/.h5/.hdf5, "
        "or a folder path ending in '/'."
    )


__all__ = ["read", "write", "is_euxfel_run"]
