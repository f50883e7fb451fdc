"""Classification results as CSV tables or NeXus files with provenance.

:func:`write_results` writes, per spectrum, the state, the probability of every state, the
confidence and the ambiguous flag, against train / pulse id (or the spectrum index). A
``.csv`` file is one row per spectrum; a ``.nxs`` file (NeXus, HDF5) holds::

    /                         @NX_class=NXroot  @default="results"
    /results                  @NX_class=NXentry @default="state"
    /results/title, program_name, start_time
    /results/state            NXdata  @signal="state_index"  @axes=[<x>]
        state_index (n,)          class index per spectrum (plotted along the run)
        state (n,)                class name per spectrum (utf-8 strings)
        confidence (n,), ambiguous (n,), classes (C,)
        spectrum (n,), train_id (n,), pulse_id (n,)     coordinates, @<name>_indices=0
    /results/probability      NXdata  @signal="probability"  @axes=[<x>, "."]
        probability (n, C)        float32, columns in the order of ``classes``
    /results/regions          NXdata  @signal="weight"  @axes=["region"]
        region, start, stop (@units = the model's axis unit), separability, weight
    /results/process          NXprocess
        program="specstate", version, date, sequence_index
        parameters/               NXparameters: one field per parameter
        model/                    NXnote: file_name, checksum (@algorithm="sha256"), classes
        input_files (k,)

``<x>`` is ``train_id`` when there is one spectrum per train, else ``spectrum``. The file is
written to a temporary file in the same folder and renamed at the end. :func:`read_results`
reads either format back as an :class:`xarray.Dataset`.
"""

from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .._version import __version__
from ..exceptions import SpectraFileError, SpectraFormatError
from ._common import atomic_path
from ._schema import (
    AXES,
    CREATOR_ATTR,
    DEFAULT,
    FILE_NAME_ATTR,
    FILE_TIME_ATTR,
    INDICES_SUFFIX,
    LONG_NAME,
    NO_AXIS,
    NX_CLASS,
    NXDATA,
    NXENTRY,
    NXPROCESS,
    NXROOT,
    SIGNAL,
    UNITS,
    VERSION_ATTR,
)
from ._schema import CREATOR as PROGRAM

__all__ = ["write_results", "read_results", "file_sha256", "RESULT_SUFFIXES"]

logger = logging.getLogger(__name__)

# --- names in a results file (NeXus groups, fields and CSV columns)
RESULTS_ENTRY = "results"
STATE_DATA = "state"
PROBA_DATA = "probability"
REGIONS_DATA = "regions"
PROCESS = "process"
PARAMETERS = "parameters"
MODEL_NOTE = "model"
NXPARAMETERS = "NXparameters"
NXNOTE = "NXnote"
STATE_INDEX = "state_index"
STATE = "state"
PROBA = "probability"
CONFIDENCE = "confidence"
AMBIGUOUS = "ambiguous"
CLASSES = "classes"
SPECTRUM = "spectrum"
TRAIN_ID = "train_id"
PULSE_ID = "pulse_id"
INPUT_FILES = "input_files"
CHECKSUM = "checksum"
CHECKSUM_ALGORITHM = "sha256"
#: CSV column prefix of the probability of each state: ``p_<class>``
PROBA_PREFIX = "p_"
CSV_INDEX = "index"

NEXUS_SUFFIXES = (".nxs", ".nx5", ".h5", ".hdf5")
CSV_SUFFIXES = (".csv",)
RESULT_SUFFIXES = NEXUS_SUFFIXES + CSV_SUFFIXES
#: bytes read at a time when hashing the model file
_HASH_BLOCK = 1 << 20


def file_sha256(path) -> str:
    """Hex SHA-256 checksum of a file.

    Parameters
    ----------
    path : str or path-like
        The file.

    Returns
    -------
    str
        64 hex digits.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_HASH_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def _check(classification, spectra, model) -> tuple[int, np.ndarray]:
    labels = np.asarray(classification.labels)
    proba = np.asarray(classification.proba)
    n = labels.shape[0]
    classes = np.asarray(model.classes_)
    if proba.shape != (n, classes.size):
        raise SpectraFormatError(
            f"The probabilities have shape {proba.shape} but {n} spectra and "
            f"{classes.size} classes were expected."
        )
    for name in ("confidence", "ambiguous"):
        shape = np.shape(getattr(classification, name))
        if shape != (n,):
            raise SpectraFormatError(
                f"The classification's {name} has shape {shape}; expected ({n},)."
            )
    if spectra is not None and len(spectra) != n:
        raise SpectraFormatError(
            f"The classification holds {n} spectra but the spectra given are {len(spectra)}."
        )
    return n, classes


def _spectrum_index(spectra, n):
    """Original index of each spectrum in its input (kept when non-finite ones were dropped)."""
    params = getattr(spectra, "params", None) or {}
    index = params.get("spectrum_index")
    return np.arange(n) if index is None or len(index) != n else np.asarray(index, np.int64)


def _ids(spectra, n):
    train_ids = None if spectra is None else getattr(spectra, "train_ids", None)
    pulse_ids = None if spectra is None else getattr(spectra, "pulse_ids", None)
    return train_ids, pulse_ids


def _input_files(spectra, inputs) -> list[str]:
    if inputs is not None:
        items = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
        return [str(p) for p in items]
    meta = {} if spectra is None else dict(getattr(spectra, "metadata", {}) or {})
    files = meta.get("files") or []
    base = meta.get("run")
    if base:
        return [str(Path(base) / f) for f in files] or [str(base)]
    return [str(f) for f in files]


def write_results(
    path,
    classification,
    spectra,
    model,
    *,
    model_path=None,
    inputs: Sequence | str | Path | None = None,
    parameters: Mapping | None = None,
) -> Path:
    """Write per-spectrum classification results as ``.csv`` or NeXus (``.nxs``).

    Parameters
    ----------
    path : str or path-like
        Output file; the extension chooses the format (``.csv``, or ``.nxs`` / ``.nx5`` /
        ``.h5`` / ``.hdf5`` for NeXus).
    classification : Classification
        What :meth:`specstate.SpectraClassifier.classify` returned (``labels``, ``proba``,
        ``confidence``, ``ambiguous``).
    spectra : Spectra or None
        The spectra that were classified; only their ``train_ids``, ``pulse_ids`` and
        ``metadata`` (``files``, ``run``) are used.
    model : SpectraClassifier
        The fitted model (``classes_``, ``regions_``, ``axis_unit_``).
    model_path : str or path-like, optional
        The model file; its SHA-256 checksum goes into the provenance.
    inputs : str, path or sequence of them, optional
        The input files; default: from ``spectra.metadata``.
    parameters : mapping, optional
        Parameters of the run (read options, thresholds) recorded in the provenance.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    SpectraFormatError
        If the extension is unknown or the arrays do not fit together.

    Examples
    --------
    >>> result = clf.classify(spectra)  # doctest: +SKIP
    >>> write_results("r0042.nxs", result, spectra, clf, model_path="model.h5")  # doctest: +SKIP
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in RESULT_SUFFIXES:
        raise SpectraFormatError(
            f"Results are written as {', '.join(RESULT_SUFFIXES)}; got '{path.name}'."
        )
    _check(classification, spectra, model)
    with atomic_path(path) as tmp:
        if suffix in CSV_SUFFIXES:
            _write_csv(tmp, classification, spectra, model)
        else:
            _write_nexus(tmp, path.name, classification, spectra, model,
                         model_path=model_path, inputs=inputs, parameters=parameters)
    logger.info("Wrote %d results to %s.", len(classification.labels), path)
    return path


# ----------------------------------------------------------------------------- CSV
def _write_csv(path: Path, classification, spectra, model) -> None:
    n, classes = _check(classification, spectra, model)
    train_ids, pulse_ids = _ids(spectra, n)
    columns = {CSV_INDEX: _spectrum_index(spectra, n)}
    if train_ids is not None:
        columns[TRAIN_ID] = train_ids
    if pulse_ids is not None:
        columns[PULSE_ID] = pulse_ids
    columns[STATE] = np.asarray(classification.labels).astype(str)
    proba = np.asarray(classification.proba)
    for j, c in enumerate(classes):
        columns[f"{PROBA_PREFIX}{c}"] = proba[:, j]
    columns[CONFIDENCE] = np.asarray(classification.confidence)
    columns[AMBIGUOUS] = np.asarray(classification.ambiguous, dtype=bool).astype(int)
    names = list(columns)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(names)
        # float32 probabilities: repr of each value keeps them exact on reading back
        cols = [c.tolist() for c in columns.values()]
        writer.writerows(zip(*cols))


# ----------------------------------------------------------------------------- NeXus
def _str_array(values) -> np.ndarray:
    import h5py

    # numpy converts to str and object in C; no per-spectrum Python loop
    return np.asarray(values).astype(str).astype(object).astype(h5py.string_dtype("utf-8"))


def _group(parent, name: str, nx_class: str):
    g = parent.create_group(name)
    g.attrs[NX_CLASS] = nx_class
    return g


def _put_coordinates(g, n, train_ids, pulse_ids, index=None) -> str:
    """Write spectrum/train/pulse coordinates into NXdata `g`; return the name of the x axis."""
    g.create_dataset(SPECTRUM, data=np.arange(n, dtype=np.int64) if index is None else index)
    g[SPECTRUM].attrs[LONG_NAME] = "spectrum index in the run"
    g.attrs[SPECTRUM + INDICES_SUFFIX] = 0
    if train_ids is not None:
        g.create_dataset(TRAIN_ID, data=np.asarray(train_ids, dtype=np.uint64))
        g[TRAIN_ID].attrs[LONG_NAME] = "train id"
        g.attrs[TRAIN_ID + INDICES_SUFFIX] = 0
    if pulse_ids is not None:
        g.create_dataset(PULSE_ID, data=np.asarray(pulse_ids, dtype=np.int64))
        g[PULSE_ID].attrs[LONG_NAME] = "pulse index in the train"
        g.attrs[PULSE_ID + INDICES_SUFFIX] = 0
    one_per_train = (
        train_ids is not None
        and pulse_ids is None
        and n > 0
        and bool(np.all(np.diff(np.asarray(train_ids, dtype=np.float64)) > 0))
    )
    return TRAIN_ID if one_per_train else SPECTRUM


def _put_parameter(g, name: str, value) -> None:
    if isinstance(value, (bool, np.bool_)):
        g.create_dataset(name, data=np.int8(value))
    elif isinstance(value, (int, float, np.integer, np.floating)):
        g.create_dataset(name, data=value)
    elif isinstance(value, (str, Path)):
        g.create_dataset(name, data=str(value))
    elif value is None:
        g.create_dataset(name, data="None")
    else:
        g.create_dataset(name, data=json.dumps(value, default=str))


def _write_nexus(path: Path, final_name: str, classification, spectra, model, *,
                 model_path, inputs, parameters) -> None:
    import h5py

    n, classes = _check(classification, spectra, model)
    train_ids, pulse_ids = _ids(spectra, n)
    labels = np.asarray(classification.labels)
    proba = np.asarray(classification.proba, dtype=np.float32)
    # the state index of each spectrum: the position of its label in classes_
    lookup = {str(c): i for i, c in enumerate(classes)}
    names, inverse = np.unique(labels.astype(str), return_inverse=True)
    codes = np.array([lookup.get(v, -1) for v in names], dtype=np.int16)[inverse.reshape(-1)]
    now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    class_names = _str_array(classes)
    legend = ", ".join(f"{i}={c}" for i, c in enumerate(class_names.tolist()))
    axis_unit = getattr(model, "axis_unit_", "") or ""

    with h5py.File(path, "w") as f:
        f.attrs[NX_CLASS] = NXROOT
        f.attrs[DEFAULT] = RESULTS_ENTRY
        f.attrs[CREATOR_ATTR] = PROGRAM
        f.attrs[VERSION_ATTR] = __version__
        f.attrs[FILE_NAME_ATTR] = final_name
        f.attrs[FILE_TIME_ATTR] = now

        entry = _group(f, RESULTS_ENTRY, NXENTRY)
        entry.attrs[DEFAULT] = STATE_DATA
        files = _input_files(spectra, inputs)
        what = Path(files[0]).name if files else "spectra"
        entry.create_dataset("title", data=f"specstate classification of {what}")
        entry.create_dataset("program_name", data=PROGRAM)
        entry["program_name"].attrs["version"] = __version__
        entry.create_dataset("start_time", data=now)

        # --- the state along the run (the default plot)
        g = _group(entry, STATE_DATA, NXDATA)
        x = _put_coordinates(g, n, train_ids, pulse_ids, _spectrum_index(spectra, n))
        g.attrs[SIGNAL] = STATE_INDEX
        g.attrs[AXES] = [x]
        g.create_dataset(STATE_INDEX, data=codes.astype(np.int16))
        g[STATE_INDEX].attrs[LONG_NAME] = f"state ({legend})"
        g.create_dataset(STATE, data=_str_array(labels))
        g.create_dataset(CONFIDENCE, data=np.asarray(classification.confidence, np.float32))
        g[CONFIDENCE].attrs[LONG_NAME] = "probability of the chosen state"
        g.create_dataset(AMBIGUOUS, data=np.asarray(classification.ambiguous, dtype=np.int8))
        g[AMBIGUOUS].attrs[LONG_NAME] = "1 = low margin between the two most probable states"
        g.create_dataset(CLASSES, data=class_names)

        # --- the probability of each state
        g = _group(entry, PROBA_DATA, NXDATA)
        x = _put_coordinates(g, n, train_ids, pulse_ids, _spectrum_index(spectra, n))
        g.attrs[SIGNAL] = PROBA
        g.attrs[AXES] = [x, NO_AXIS]
        g.create_dataset(PROBA, data=proba)
        g[PROBA].attrs[LONG_NAME] = f"probability of each state (columns: {legend})"
        g.create_dataset(CLASSES, data=class_names)

        # --- regions and weights
        regions = list(getattr(model, "regions_", []) or [])
        g = _group(entry, REGIONS_DATA, NXDATA)
        g.attrs[SIGNAL] = "weight"
        g.attrs[AXES] = ["region"]
        g.attrs["region" + INDICES_SUFFIX] = 0
        g.create_dataset("region", data=np.arange(len(regions), dtype=np.int64))
        for name in ("start", "stop"):
            g.create_dataset(name, data=np.array([getattr(r, name) for r in regions], float))
            g[name].attrs[UNITS] = axis_unit
            g[name].attrs[LONG_NAME] = f"region {name} ({getattr(model, 'axis_name_', '')})"
            g.attrs[name + INDICES_SUFFIX] = 0
        g.create_dataset("separability",
                         data=np.array([r.separability for r in regions], float))
        g.create_dataset("weight", data=np.array([r.weight for r in regions], float))
        g["weight"].attrs[LONG_NAME] = "weight of the region in the vote"
        g.attrs["axis_name"] = str(getattr(model, "axis_name_", ""))

        # --- provenance
        p = _group(entry, PROCESS, NXPROCESS)
        p.create_dataset("program", data=PROGRAM)
        p.create_dataset("version", data=__version__)
        p.create_dataset("date", data=now)
        p.create_dataset("sequence_index", data=1)
        pg = _group(p, PARAMETERS, NXPARAMETERS)
        for key, value in dict(parameters or {}).items():
            _put_parameter(pg, str(key), value)
        note = _group(p, MODEL_NOTE, NXNOTE)
        note.create_dataset("type", data="application/x-hdf5")
        note.create_dataset("description", data="specstate model (SpectraClassifier)")
        note.create_dataset(CLASSES, data=class_names)
        if model_path is not None:
            note.create_dataset("file_name", data=str(Path(model_path).resolve()))
            note.create_dataset(CHECKSUM, data=file_sha256(model_path))
            note[CHECKSUM].attrs["algorithm"] = CHECKSUM_ALGORITHM
        p.create_dataset(INPUT_FILES, data=_str_array(files))


# ----------------------------------------------------------------------------- reading
def read_results(path):
    """Read a results file (``.csv`` or NeXus) back as an :class:`xarray.Dataset`.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`write_results`.

    Returns
    -------
    xarray.Dataset
        Variables ``state`` (spectrum), ``probability`` (spectrum, state), ``confidence``,
        ``ambiguous``; coordinates ``spectrum``, ``train_id`` / ``pulse_id`` where known and
        ``class`` (the state names, as strings).

    Raises
    ------
    SpectraFileError
        If the file is missing or not a specstate results file.
    """
    import xarray as xr

    path = Path(path)
    if not path.is_file():
        raise SpectraFileError(f"The results file '{path}' does not exist.")
    if path.suffix.lower() in CSV_SUFFIXES:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        if not rows or STATE not in rows[0]:
            raise SpectraFileError(f"'{path}' is not a specstate results table.")
        header, body = rows[0], rows[1:]
        cols = {h: [r[i] for r in body] for i, h in enumerate(header)}
        prob_cols = [h for h in header if h.startswith(PROBA_PREFIX)]
        data = {
            "state": cols[STATE],
            "probability": np.array([cols[h] for h in prob_cols], np.float32).T.reshape(
                len(body), len(prob_cols)),
            "confidence": np.array(cols[CONFIDENCE], np.float32),
            "ambiguous": np.array(cols[AMBIGUOUS], int).astype(bool),
            "classes": [h[len(PROBA_PREFIX):] for h in prob_cols],
            "train_id": np.array(cols[TRAIN_ID], np.uint64) if TRAIN_ID in cols else None,
            "pulse_id": np.array(cols[PULSE_ID], np.int64) if PULSE_ID in cols else None,
            "index": np.array(cols[CSV_INDEX], np.int64) if CSV_INDEX in cols else None,
        }
    else:
        import h5py

        try:
            f = h5py.File(path, "r")
        except OSError as exc:
            raise SpectraFileError(f"Could not open '{path}' as HDF5: {exc}") from None
        with f:
            if f"{RESULTS_ENTRY}/{STATE_DATA}" not in f:
                raise SpectraFileError(
                    f"'{path}' is not a specstate results file (no /{RESULTS_ENTRY}/"
                    f"{STATE_DATA})."
                )
            g = f[f"{RESULTS_ENTRY}/{STATE_DATA}"]
            data = {
                "state": g[STATE].asstr()[()].tolist(),
                "probability": f[f"{RESULTS_ENTRY}/{PROBA_DATA}/{PROBA}"][()],
                "confidence": g[CONFIDENCE][()],
                "ambiguous": g[AMBIGUOUS][()].astype(bool),
                "classes": g[CLASSES].asstr()[()].tolist(),
                "train_id": g[TRAIN_ID][()] if TRAIN_ID in g else None,
                "pulse_id": g[PULSE_ID][()] if PULSE_ID in g else None,
                "index": g[SPECTRUM][()] if SPECTRUM in g else None,
            }
    n = len(data["state"])
    index = data["index"] if data["index"] is not None else np.arange(n)
    coords = {SPECTRUM: index, "class": np.array(data["classes"], dtype=object)}
    for name in (TRAIN_ID, PULSE_ID):
        if data[name] is not None:
            coords[name] = (SPECTRUM, data[name])
    return xr.Dataset(
        {
            "state": (SPECTRUM, np.array(data["state"], dtype=object)),
            "probability": ((SPECTRUM, "class"), data["probability"]),
            "confidence": (SPECTRUM, data["confidence"]),
            "ambiguous": (SPECTRUM, data["ambiguous"]),
        },
        coords=coords,
        attrs={"file": str(path)},
    )
