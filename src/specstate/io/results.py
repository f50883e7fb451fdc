"""Results files: one NeXus layout and one CSV table per kind, whatever wrote them.

``specstate classify``, ``specstate demo``, :func:`specstate.parallel.classify_many` and
``specstate watch -o`` all write through this module, and :func:`read_results` /
:func:`read_trains` read back whatever they wrote. The NeXus layout (every name is in
:mod:`specstate.io._schema`)::

    /entry                     NXentry  @default="spectra"
    /entry/spectra             NXdata: one row per spectrum (state_index, probability,
                               confidence, ambiguous, novelty/novel where scored, and the ids:
                               spectrum, train_id, pulse_id, file where known)
    /entry/trains              NXdata: one row per train (when the spectra have train ids)
    /entry/alerts              NXcollection: state changes (watch)
    /entry/regions             NXdata: the model's regions and weights
    /entry/process             NXprocess: program, version, date, parameters, model file
                               and its sha256, input files

Every per-row dataset is resizable: :class:`NexusResults` appends (the watch loop opens the
file, appends a few trains and closes it again, so the file can be read between two
appends and the loop's memory stays flat). A complete file (``classify``) is written to a
temporary file and renamed. A CSV file is one table: one row per spectrum (``classify``,
``demo``) or one row per train (``watch``), appended and flushed row by row.
"""

from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import json
import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .._version import __version__
from ..exceptions import SpectraFileError, SpectraFormatError
from ..results import Classification, TrainSummary, aggregate
from . import _schema as S
from ._files import CSV_SUFFIXES, NEXUS_RESULT_SUFFIXES, RESULT_SUFFIXES, atomic_write, open_hdf5

__all__ = ["write_results", "read_results", "read_trains", "file_sha256", "NexusResults",
           "CsvTable", "spectra_rows", "train_rows", "RESULT_SUFFIXES"]

logger = logging.getLogger(__name__)

#: bytes read at a time when hashing the model file
_HASH_BLOCK = 1 << 20
#: rows per HDF5 chunk of the resizable per-spectrum and per-train datasets
_CHUNK_ROWS = 4096
#: columns of a per-train CSV table before the fractions / after them
_TRAIN_HEAD = (S.TRAIN_ID, S.NAME, S.N_SPECTRA, S.N_CLASSIFIED, S.STATE, S.CONFIDENCE)
_TRAIN_TAIL = (S.UNKNOWN, S.AMBIGUOUS, S.NO_BEAM, S.SKIPPED_BEFORE, S.LATE, S.LATENCY_MS,
               S.ALERT, S.ERRORS)
#: per-train fields written as integers (NeXus and the CSV table)
_TRAIN_INTS = (S.N_SPECTRA, S.N_CLASSIFIED, S.UNKNOWN, S.AMBIGUOUS, S.NO_BEAM,
               S.SKIPPED_BEFORE, S.N_ERRORS)


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


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _check(classification: Classification) -> int:
    n = len(classification)
    proba = np.asarray(classification.proba)
    classes = np.asarray(classification.classes)
    if proba.shape != (n, classes.size):
        raise SpectraFormatError(
            f"The probabilities have shape {proba.shape} but {n} spectra and "
            f"{classes.size} classes were expected."
        )
    for name in ("confidence", "ambiguous", "novelty", "novel"):
        value = getattr(classification, name)
        if value is not None and np.shape(value) != (n,):
            raise SpectraFormatError(
                f"The classification's {name} has shape {np.shape(value)}; expected ({n},)."
            )
    return n


def _codes(labels, classes: Sequence[str]) -> np.ndarray:
    """Position of each label in `classes` (-1 for a label not among them), vectorised."""
    lookup = {str(c): i for i, c in enumerate(classes)}
    names, inverse = np.unique(np.asarray(labels).astype(str), return_inverse=True)
    return np.array([lookup.get(v, -1) for v in names.tolist()],
                    dtype=np.int16)[inverse.reshape(-1)]


# ----------------------------------------------------------------------------- rows
def spectra_rows(classification: Classification) -> dict:
    """The per-spectrum columns of a results table, in order (ids first).

    Parameters
    ----------
    classification : Classification
        With ids attached (:meth:`~specstate.results.Classification.with_ids`) where known.

    Returns
    -------
    dict of str to numpy.ndarray
        ``spectrum``, then ``file``, ``train_id``, ``pulse_id`` where known, ``state``,
        ``p_<class>`` per class, ``confidence``, ``ambiguous``, and ``novelty``, ``novel``
        where scored.
    """
    c = classification
    cols = {S.SPECTRUM: c.index}
    if c.files is not None:
        cols[S.FILE] = np.asarray(c.files).astype(str)
    if c.train_ids is not None:
        cols[S.TRAIN_ID] = np.asarray(c.train_ids, dtype=np.uint64)
    if c.pulse_ids is not None:
        cols[S.PULSE_ID] = np.asarray(c.pulse_ids, dtype=np.int64)
    cols[S.STATE] = np.asarray(c.labels).astype(str)
    proba = np.asarray(c.proba, dtype=np.float32)
    for j, name in enumerate(np.asarray(c.classes).astype(str).tolist()):
        cols[f"{S.PROBA_PREFIX}{name}"] = proba[:, j]
    cols[S.CONFIDENCE] = np.asarray(c.confidence, dtype=np.float32)
    cols[S.AMBIGUOUS] = np.asarray(c.ambiguous, dtype=bool).astype(np.int8)
    if c.novelty is not None:
        cols[S.NOVELTY] = np.asarray(c.novelty, dtype=np.float32)
    if c.novel is not None:
        cols[S.NOVEL] = np.asarray(c.novel, dtype=bool).astype(np.int8)
    return cols


def summarize_trains(classification: Classification) -> list[TrainSummary]:
    """One :class:`~specstate.results.TrainSummary` per train id of `classification`.

    Parameters
    ----------
    classification : Classification
        With ``train_ids``.

    Returns
    -------
    list of TrainSummary
        In the order of the train ids; empty without train ids.
    """
    if classification.train_ids is None or len(classification) == 0:
        return []
    tids, groups = np.unique(np.asarray(classification.train_ids), return_inverse=True)
    groups = groups.reshape(-1)
    s = aggregate(classification, groups, tids.size)
    classes = [str(x) for x in classification.classes]
    n_spectra = np.bincount(groups, minlength=tids.size)
    out = []
    for t in range(tids.size):
        total = int(s["n_classified"][t])
        counts = dict(zip(classes, s["counts"][t].tolist()))
        out.append(TrainSummary(
            int(tids[t]), n_spectra=int(n_spectra[t]), n_classified=total, counts=counts,
            fractions={k: (v / total if total else math.nan) for k, v in counts.items()},
            state=classes[int(s["state"][t])] if total else None,
            confidence=float(s["confidence"][t]), ambiguous=int(s["ambiguous"][t]),
            unknown=int(s["unknown"][t]),
        ))
    return out


def _fmt(value, digits: int = 4) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def train_columns(classes: Sequence[str]) -> list[str]:
    """The columns of a per-train table for a model with `classes`."""
    return [*_TRAIN_HEAD, *(f"{S.FRACTION_PREFIX}{c}" for c in classes), *_TRAIN_TAIL]


def train_rows(trains: Sequence[TrainSummary], classes: Sequence[str]) -> list[dict]:
    """Per-train records (the columns of :func:`train_columns`), text-formatted for CSV."""
    rows = []
    for t in trains:
        rec = {
            S.TRAIN_ID: t.train_id, S.NAME: t.name, S.N_SPECTRA: t.n_spectra,
            S.N_CLASSIFIED: t.n_classified, S.STATE: t.state or "",
            S.CONFIDENCE: _fmt(t.confidence), S.UNKNOWN: t.unknown, S.AMBIGUOUS: t.ambiguous,
            S.NO_BEAM: t.no_beam, S.SKIPPED_BEFORE: t.skipped_before, S.LATE: int(t.late),
            S.LATENCY_MS: _fmt(t.latency * 1e3, 2),
            S.ALERT: f"{t.alert.previous}->{t.alert.state}" if t.alert else "",
            S.ERRORS: ";".join(f"{k}={v}" for k, v in sorted(t.errors.items())),
        }
        for c in classes:
            rec[f"{S.FRACTION_PREFIX}{c}"] = _fmt(t.fractions.get(c, math.nan))
        rows.append(rec)
    return rows


# ----------------------------------------------------------------------------- CSV
class CsvTable:
    """A CSV results table: a header row, then rows appended and flushed at once.

    Parameters
    ----------
    path : path-like
        The table; appended to when it exists with the same columns.
    columns : sequence of str
        The header.

    Raises
    ------
    SpectraFormatError
        If `path` exists with other columns.
    """

    def __init__(self, path, columns: Sequence[str]):
        self.path = Path(path)
        self.columns = list(columns)
        exists = self.path.exists() and self.path.stat().st_size > 0
        if exists:
            with open(self.path, newline="", encoding="utf-8") as fh:
                header = next(csv.reader(fh), [])
            if header != self.columns:
                raise SpectraFormatError(
                    f"{self.path} exists with columns {header}; these results need "
                    f"{self.columns}: give another -o file."
                )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "a", newline="", encoding="utf-8")  # noqa: SIM115
        self._writer = csv.writer(self._fh)
        if not exists:
            self._writer.writerow(self.columns)
            self._fh.flush()

    def append(self, rows) -> None:
        """Append rows (sequences in column order, or dicts keyed by column) and flush."""
        for row in rows:
            if isinstance(row, Mapping):
                row = [row.get(c, "") for c in self.columns]
            self._writer.writerow(row)
        self._fh.flush()

    def close(self) -> None:
        """Close the file."""
        if not self._fh.closed:
            self._fh.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _write_spectra_csv(path: Path, classification: Classification, extra=None) -> None:
    cols = spectra_rows(classification)
    if extra:
        cols = {S.SPECTRUM: cols.pop(S.SPECTRUM), **dict(extra), **cols}
    with CsvTable(path, list(cols)) as table:
        # tolist(): repr of each value, so float32 probabilities read back exactly
        table.append(zip(*(np.asarray(v).tolist() for v in cols.values())))


# ----------------------------------------------------------------------------- NeXus
def _str_dtype():
    import h5py

    return h5py.string_dtype("utf-8")


def _group(parent, name: str, nx_class: str):
    g = parent.require_group(name)
    g.attrs[S.NX_CLASS] = nx_class
    return g


def _put_parameter(g, name: str, value) -> None:
    if name in g:
        del g[name]
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


def _append(g, name: str, values: np.ndarray, n_before: int, *, fill=0, long_name=None):
    """Append `values` to the resizable dataset `name` of `g` (created, back-filled, if new)."""
    values = np.asarray(values)
    if name not in g:
        inner = values.shape[1:]
        dtype = _str_dtype() if values.dtype.kind in "UO" else values.dtype
        kwargs = {} if values.dtype.kind in "UO" else {"fillvalue": fill}
        ds = g.create_dataset(name, shape=(n_before, *inner), maxshape=(None,) * values.ndim,
                              chunks=(_CHUNK_ROWS, *inner) if inner else (_CHUNK_ROWS,),
                              dtype=dtype, **kwargs)
        if long_name:
            ds.attrs[S.LONG_NAME] = long_name
        g.attrs[name + S.INDICES_SUFFIX] = 0
    ds = g[name]
    n = values.shape[0]
    if ds.ndim == 2 and values.ndim == 2 and values.shape[1] > ds.shape[1]:
        ds.resize(values.shape[1], axis=1)
    ds.resize(n_before + n, axis=0)
    if n:
        if values.dtype.kind == "U":
            values = values.astype(object)
        if ds.ndim == 2:
            ds[n_before:, : values.shape[1]] = values
        else:
            ds[n_before:] = values


def _pad(g, n: int) -> None:
    """Grow every per-row dataset of `g` to `n` rows (rows without a value get the fill)."""
    for ds in g.values():
        if ds.maxshape[0] is None and ds.shape[0] < n:
            ds.resize(n, axis=0)


class NexusResults:
    """Append per-spectrum and per-train results to a NeXus results file.

    The one NeXus writer: :func:`write_results` uses it once on a temporary file, the watch
    loop's sink appends a few trains at a time and closes the file in between (so readers see
    a complete file between two appends).

    Parameters
    ----------
    path : path-like
        The ``.nxs`` / ``.h5`` file, created (replaced) when this object is made.
    classes : sequence of str
        The model's states (a reloaded model may add more: their columns are appended).
    model : SpectraClassifier, optional
        The model, for its regions.
    model_path : path-like, optional
        The model file; its path and SHA-256 go into the provenance.
    inputs : sequence of str, optional
        Input files (or the stream's source).
    parameters : mapping, optional
        Parameters of the run, recorded in the provenance.
    program : str, default "specstate"
        What wrote the file (``"specstate classify"``, ``"specstate watch"``).
    file_name : str, optional
        The name the file will have (when written under a temporary name).
    """

    def __init__(self, path, classes: Sequence[str], *, model=None, model_path=None,
                 inputs: Sequence[str] = (), parameters: Mapping | None = None,
                 program: str = S.CREATOR, file_name: str | None = None):
        import h5py

        self.path = Path(path)
        self.classes = [str(c) for c in classes]
        self.n_spectra = 0
        self.n_trains = 0
        self.n_alerts = 0
        now = _now()
        with h5py.File(self.path, "w") as f:
            f.attrs[S.NX_CLASS] = S.NXROOT
            f.attrs[S.DEFAULT] = S.ENTRY
            f.attrs[S.CREATOR_ATTR] = S.CREATOR
            f.attrs[S.VERSION_ATTR] = __version__
            f.attrs[S.FILE_NAME_ATTR] = file_name or self.path.name
            f.attrs[S.FILE_TIME_ATTR] = now
            entry = _group(f, S.ENTRY, S.NXENTRY)
            entry.attrs[S.DEFAULT] = S.SPECTRA_DATA
            what = Path(str(inputs[0])).name if len(inputs) else "spectra"
            entry[S.TITLE] = f"{program} of {what}"
            entry[S.PROGRAM_NAME] = program
            entry[S.PROGRAM_NAME].attrs[S.VERSION] = __version__
            entry[S.START_TIME] = now
            entry[S.END_TIME] = now
            spectra = _group(entry, S.SPECTRA_DATA, S.NXDATA)
            spectra.attrs[S.SIGNAL] = S.STATE_INDEX
            spectra.attrs[S.AXES] = [S.SPECTRUM]
            spectra.attrs[S.AUXILIARY_SIGNALS] = [S.CONFIDENCE]
            self._write_regions(entry, model)
            p = _group(entry, S.PROCESS, S.NXPROCESS)
            p[S.PROGRAM] = program
            p[S.VERSION] = __version__
            p[S.DATE] = now
            p[S.SEQUENCE_INDEX] = 1
            pg = _group(p, S.PROCESS_PARAMETERS, S.NXPARAMETERS)
            for key, value in dict(parameters or {}).items():
                _put_parameter(pg, str(key), value)
            note = _group(p, S.MODEL_NOTE, S.NXNOTE)
            note["type"] = "application/x-hdf5"
            note["description"] = "specstate model (SpectraClassifier)"
            if model_path is not None:
                note["file_name"] = str(Path(model_path).resolve())
                note[S.CHECKSUM] = file_sha256(model_path)
                note[S.CHECKSUM].attrs[S.ALGORITHM_ATTR] = S.CHECKSUM_ALGORITHM
            p.create_dataset(S.INPUT_FILES, data=np.asarray([str(i) for i in inputs],
                                                            dtype=object), dtype=_str_dtype())
            self._write_classes(entry)

    @staticmethod
    def _write_regions(entry, model) -> None:
        regions = list(getattr(model, "regions_", None) or [])
        if model is None:
            return
        g = _group(entry, S.REGIONS_DATA, S.NXDATA)
        g.attrs[S.SIGNAL] = S.WEIGHT
        g.attrs[S.AXES] = [S.REGION]
        g.attrs[S.REGION + S.INDICES_SUFFIX] = 0
        g[S.REGION] = np.arange(len(regions), dtype=np.int64)
        unit = str(getattr(model, "axis_unit_", "") or "")
        axis_name = str(getattr(model, "axis_name_", "") or "")
        for name in (S.REGION_START, S.REGION_STOP):
            g[name] = np.array([float(getattr(r, name)) for r in regions], float)
            g[name].attrs[S.UNITS] = unit
            g[name].attrs[S.LONG_NAME] = f"region {name} ({axis_name})"
            g.attrs[name + S.INDICES_SUFFIX] = 0
        for name in (S.SEPARABILITY, S.WEIGHT):
            g[name] = np.array([float(getattr(r, name, math.nan)) for r in regions], float)
        g[S.WEIGHT].attrs[S.LONG_NAME] = "weight of the region in the vote"
        g.attrs["axis_name"] = axis_name

    def _write_classes(self, entry) -> None:
        legend = ", ".join(f"{i}={c}" for i, c in enumerate(self.classes))
        for gname in (S.SPECTRA_DATA, S.TRAINS_DATA):
            if gname not in entry:
                continue
            g = entry[gname]
            if S.CLASSES in g:
                del g[S.CLASSES]
            g.create_dataset(S.CLASSES, data=np.asarray(self.classes, dtype=object),
                             dtype=_str_dtype())
            if S.STATE_INDEX in g:
                g[S.STATE_INDEX].attrs[S.LONG_NAME] = f"state ({legend})"
        if S.PROCESS in entry:
            note = entry[S.PROCESS][S.MODEL_NOTE]
            if S.CLASSES in note:
                del note[S.CLASSES]
            note.create_dataset(S.CLASSES, data=np.asarray(self.classes, dtype=object),
                                dtype=_str_dtype())

    def _columns(self, classes) -> np.ndarray:
        """Column of each of `classes` in the file (new classes are added at the end)."""
        cols = []
        for c in (str(x) for x in classes):
            if c not in self.classes:
                self.classes.append(c)
            cols.append(self.classes.index(c))
        return np.asarray(cols, dtype=np.intp)

    def append(self, classification: Classification | None = None,
               trains: Sequence[TrainSummary] = ()) -> None:
        """Append spectra (with their ids) and trains, then close the file.

        Parameters
        ----------
        classification : Classification, optional
            Per-spectrum results (several trains' worth at once is fine).
        trains : sequence of TrainSummary
            Per-train results; their alerts go to ``/entry/alerts``.
        """
        import h5py

        with h5py.File(self.path, "a") as f:
            entry = f[S.ENTRY]
            if classification is not None and len(classification):
                self._append_spectra(entry[S.SPECTRA_DATA], classification)
            trains = [t for t in trains if t.train_id is not None]
            if trains:
                self._append_trains(entry, trains)
            self._write_classes(entry)
            del entry[S.END_TIME]
            entry[S.END_TIME] = _now()

    def _append_spectra(self, g, c: Classification) -> None:
        n0 = self.n_spectra
        _check(c)
        cols = self._columns(c.classes)
        proba = np.full((len(c), len(self.classes)), np.nan, np.float32)
        proba[:, cols] = np.asarray(c.proba, dtype=np.float32)
        codes = _codes(c.labels, self.classes)
        _append(g, S.SPECTRUM, c.index if c.spectrum_index is not None
                else np.arange(n0, n0 + len(c)), n0, long_name="spectrum number in the input")
        ids = ((S.TRAIN_ID, c.train_ids, np.uint64, "train id"),
               (S.PULSE_ID, c.pulse_ids, np.int64, "pulse index in the train"),
               (S.FILE, c.files, str, "file the spectrum came from"))
        for name, values, dtype, long_name in ids:
            if values is not None:
                _append(g, name, np.asarray(values).astype(dtype), n0, long_name=long_name)
        _append(g, S.STATE_INDEX, codes, n0, fill=-1)
        _append(g, S.PROBA, proba, n0, fill=np.nan, long_name="probability of each state "
                                                             "(columns: classes)")
        _append(g, S.CONFIDENCE, np.asarray(c.confidence, np.float32), n0, fill=np.nan,
                long_name="probability of the chosen state")
        _append(g, S.AMBIGUOUS, np.asarray(c.ambiguous, bool).astype(np.int8), n0,
                long_name="1 = low margin between the two most probable states")
        if c.novelty is not None:
            _append(g, S.NOVELTY, np.asarray(c.novelty, np.float32), n0, fill=np.nan,
                    long_name="novelty score (larger: less like any fitted state)")
        if c.novel is not None:
            _append(g, S.NOVEL, np.asarray(c.novel, bool).astype(np.int8), n0,
                    long_name="1 = unlike every fitted state (counted as unknown)")
        self.n_spectra = n0 + len(c)
        _pad(g, self.n_spectra)
        if S.TRAIN_ID in g and S.PULSE_ID not in g and n0 == 0:
            tids = np.asarray(g[S.TRAIN_ID][()], dtype=np.float64)
            if tids.size and np.all(np.diff(tids) > 0):  # one spectrum per train
                g.attrs[S.AXES] = [S.TRAIN_ID]

    def _append_trains(self, entry, trains: Sequence[TrainSummary]) -> None:
        if S.TRAINS_DATA not in entry:
            g = _group(entry, S.TRAINS_DATA, S.NXDATA)
            g.attrs[S.SIGNAL] = S.CONFIDENCE
            g.attrs[S.AXES] = [S.TRAIN_ID]
        g = entry[S.TRAINS_DATA]
        n0 = self.n_trains
        for t in trains:
            self._columns(t.fractions)
        fractions = np.array([[t.fractions.get(c, math.nan) for c in self.classes]
                              for t in trains], dtype=np.float32)
        states = _codes([t.state or "" for t in trains], self.classes)
        _append(g, S.TRAIN_ID, np.array([t.train_id for t in trains], np.uint64), n0,
                long_name="train id")
        _append(g, S.STATE_INDEX, states, n0, fill=-1)
        _append(g, S.CONFIDENCE, np.array([t.confidence for t in trains], np.float32), n0,
                fill=np.nan, long_name="mean probability of the train's majority state")
        _append(g, S.FRACTION, fractions, n0, fill=np.nan,
                long_name="fraction of the train's classified spectra per state")
        for name in _TRAIN_INTS:
            if name == S.N_ERRORS:
                values = [sum(t.errors.values()) for t in trains]
            else:
                values = [getattr(t, name) for t in trains]
            _append(g, name, np.array(values, np.int64), n0)
        if any(t.name for t in trains):
            _append(g, S.NAME, np.array([t.name for t in trains], dtype=object), n0)
        if any(t.latency for t in trains):
            _append(g, S.LATENCY, np.array([t.latency for t in trains], np.float32), n0,
                    fill=np.nan)
            g[S.LATENCY].attrs[S.UNITS] = "s"
            _append(g, S.LATE, np.array([t.late for t in trains], np.int8), n0)
        self.n_trains = n0 + len(trains)
        _pad(g, self.n_trains)
        alerts = [t.alert for t in trains if t.alert is not None]
        if alerts:
            a = _group(entry, S.ALERTS, S.NXCOLLECTION)
            k = self.n_alerts
            _append(a, S.TRAIN_ID, np.array([x.train_id for x in alerts], np.int64), k)
            _append(a, S.CONFIRMED_TRAIN_ID,
                    np.array([x.confirmed_train_id for x in alerts], np.int64), k)
            _append(a, S.PREVIOUS, np.array([x.previous for x in alerts], dtype=object), k)
            _append(a, S.STATE, np.array([x.state for x in alerts], dtype=object), k)
            self.n_alerts = k + len(alerts)


# ----------------------------------------------------------------------------- writing
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
    classification: Classification,
    spectra=None,
    model=None,
    *,
    model_path=None,
    inputs: Sequence | str | Path | None = None,
    parameters: Mapping | None = None,
    program: str = "specstate classify",
    extra_columns: Mapping | None = None,
) -> Path:
    """Write per-spectrum results (and per-train ones, with train ids) as CSV or NeXus.

    Parameters
    ----------
    path : str or path-like
        Output file; the extension chooses the format (``.csv``, or ``.nxs`` / ``.h5`` ...
        for NeXus).
    classification : Classification
        What :meth:`specstate.SpectraClassifier.classify` returned, ideally with ids attached
        (:meth:`~specstate.results.Classification.with_ids`).
    spectra : Spectra, optional
        The spectra that were classified: ids not yet attached are taken from them, and the
        input files from their ``metadata``.
    model : SpectraClassifier, optional
        The fitted model, for its regions.
    model_path : str or path-like, optional
        The model file; its SHA-256 checksum goes into the provenance.
    inputs : str, path or sequence of them, optional
        The input files; default: from ``spectra.metadata``.
    parameters : mapping, optional
        Parameters of the run (read options, thresholds) recorded in the provenance.
    program : str, default "specstate classify"
        What wrote the file.
    extra_columns : mapping of str to array, optional
        CSV only: further per-spectrum columns after ``spectrum`` (the demo's true state).

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
    >>> result = clf.classify(spectra).with_ids(spectra)  # doctest: +SKIP
    >>> write_results("r0042.nxs", result, model=clf, model_path="model.h5")  # doctest: +SKIP
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in RESULT_SUFFIXES:
        raise SpectraFormatError(
            f"Results are written as {', '.join(RESULT_SUFFIXES)}; got '{path.name}'."
        )
    n = _check(classification)
    if spectra is not None:
        if len(spectra) != n:
            raise SpectraFormatError(
                f"The classification holds {n} spectra but the spectra given are "
                f"{len(spectra)}."
            )
        classification = classification.with_ids(spectra)
    with atomic_write(path) as tmp:
        if suffix in CSV_SUFFIXES:
            _write_spectra_csv(tmp, classification, extra_columns)
        else:
            out = NexusResults(tmp, [str(c) for c in classification.classes], model=model,
                               model_path=model_path, inputs=_input_files(spectra, inputs),
                               parameters=parameters, program=program, file_name=path.name)
            out.append(classification, summarize_trains(classification))
    logger.info("Wrote %d results to %s.", n, path)
    return path


# ----------------------------------------------------------------------------- reading
def _read_csv(path: Path) -> tuple[list[str], dict]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise SpectraFileError(f"'{path}' is empty; expected a specstate results table.")
    header, body = rows[0], rows[1:]
    return header, {h: [r[i] if i < len(r) else "" for r in body] for i, h in enumerate(header)}


def _floats(values) -> np.ndarray:
    return np.array([float(v) if v != "" else math.nan for v in values], np.float32)


def read_results(path):
    """Read per-spectrum results (``.csv`` or NeXus) as an :class:`xarray.Dataset`.

    Reads what ``classify``, ``demo``, :func:`specstate.parallel.classify_many` and
    ``watch -o x.nxs`` write.

    Parameters
    ----------
    path : str or path-like
        A results file.

    Returns
    -------
    xarray.Dataset
        Variables ``state`` (spectrum), ``probability`` (spectrum, class), ``confidence``,
        ``ambiguous`` and, where scored, ``novelty`` and ``novel``; coordinates
        ``spectrum``, ``train_id`` / ``pulse_id`` / ``file`` where known and ``class``.

    Raises
    ------
    SpectraFileError
        If the file is missing or not a specstate per-spectrum results file.
    """
    import xarray as xr

    path = Path(path)
    if not path.is_file():
        raise SpectraFileError(f"The results file '{path}' does not exist.")
    if path.suffix.lower() in CSV_SUFFIXES:
        header, cols = _read_csv(path)
        if S.STATE not in header or S.SPECTRUM not in header:
            kind = ("a per-train table (read it with read_trains)"
                    if S.TRAIN_ID in header and S.N_SPECTRA in header else "not one")
            raise SpectraFileError(
                f"'{path}' is {kind}; expected a per-spectrum results table with the "
                f"columns {S.SPECTRUM} and {S.STATE}."
            )
        prob = [h for h in header if h.startswith(S.PROBA_PREFIX)]
        n = len(cols[S.STATE])
        data = {
            "state": np.array(cols[S.STATE], dtype=object),
            "probability": np.array([_floats(cols[h]) for h in prob],
                                    np.float32).T.reshape(n, len(prob)),
            "confidence": _floats(cols[S.CONFIDENCE]),
            "ambiguous": np.array(cols[S.AMBIGUOUS], int).astype(bool),
            "classes": [h[len(S.PROBA_PREFIX):] for h in prob],
            "index": np.array(cols[S.SPECTRUM], np.int64),
        }
        for name, dtype in ((S.TRAIN_ID, np.uint64), (S.PULSE_ID, np.int64),
                            (S.FILE, object)):
            if name in cols:
                data[name] = np.array(cols[name], dtype=dtype)
        if S.NOVELTY in cols:
            data[S.NOVELTY] = _floats(cols[S.NOVELTY])
        if S.NOVEL in cols:
            data[S.NOVEL] = np.array(cols[S.NOVEL], int).astype(bool)
    else:
        with open_hdf5(path, what="a results file") as f:
            where = f"{S.ENTRY}/{S.SPECTRA_DATA}"
            if where not in f:
                raise SpectraFileError(
                    f"'{path}' is not a specstate results file (no /{where})."
                )
            g = f[where]
            classes = g[S.CLASSES].asstr()[()].tolist() if S.CLASSES in g else []
            codes = g[S.STATE_INDEX][()].astype(np.intp)
            names = np.array([*classes, ""], dtype=object)
            data = {
                "state": names[np.where(codes >= 0, codes, len(classes))],
                "probability": g[S.PROBA][()].reshape(codes.size, len(classes)),
                "confidence": g[S.CONFIDENCE][()],
                "ambiguous": g[S.AMBIGUOUS][()].astype(bool),
                "classes": classes,
                "index": g[S.SPECTRUM][()],
            }
            for name in (S.TRAIN_ID, S.PULSE_ID):
                if name in g:
                    data[name] = g[name][()]
            if S.FILE in g:
                data[S.FILE] = np.array(g[S.FILE].asstr()[()], dtype=object)
            if S.NOVELTY in g:
                data[S.NOVELTY] = g[S.NOVELTY][()]
            if S.NOVEL in g:
                data[S.NOVEL] = g[S.NOVEL][()].astype(bool)
    coords = {S.SPECTRUM: data["index"], "class": np.array(data["classes"], dtype=object)}
    for name in (S.TRAIN_ID, S.PULSE_ID, S.FILE):
        if name in data:
            coords[name] = (S.SPECTRUM, data[name])
    variables = {
        "state": (S.SPECTRUM, data["state"]),
        "probability": ((S.SPECTRUM, "class"), data["probability"]),
        "confidence": (S.SPECTRUM, data["confidence"]),
        "ambiguous": (S.SPECTRUM, data["ambiguous"]),
    }
    for name in (S.NOVELTY, S.NOVEL):
        if name in data:
            variables[name] = (S.SPECTRUM, data[name])
    return xr.Dataset(variables, coords=coords, attrs={"file": str(path)})


def read_trains(path):
    """Read per-train results (NeXus ``/entry/trains``, or watch's CSV table).

    Parameters
    ----------
    path : str or path-like
        A NeXus results file with train ids, or the CSV table of ``watch -o x.csv``.

    Returns
    -------
    xarray.Dataset
        Along ``train_id``: ``state``, ``confidence``, ``fraction`` (train_id, class),
        ``n_spectra``, ``n_classified``, ``unknown``, ``ambiguous`` and what the stream
        recorded (``no_beam``, ``skipped_before``, ``late``, ...).

    Raises
    ------
    SpectraFileError
        If the file is missing or holds no per-train results.
    """
    import xarray as xr

    path = Path(path)
    if not path.is_file():
        raise SpectraFileError(f"The results file '{path}' does not exist.")
    variables = {}
    if path.suffix.lower() in CSV_SUFFIXES:
        header, cols = _read_csv(path)
        if S.TRAIN_ID not in header or S.N_SPECTRA not in header:
            raise SpectraFileError(f"'{path}' is not a per-train results table (watch -o).")
        classes = [h[len(S.FRACTION_PREFIX):] for h in header
                   if h.startswith(S.FRACTION_PREFIX)]
        tid = np.array(cols[S.TRAIN_ID], np.int64)
        variables["state"] = np.array(cols[S.STATE], dtype=object)
        variables["confidence"] = _floats(cols[S.CONFIDENCE])
        fraction = np.array([_floats(cols[f"{S.FRACTION_PREFIX}{c}"]) for c in classes])
        variables["fraction"] = fraction.T.reshape(tid.size, len(classes))
        for name in _TRAIN_INTS + (S.LATE,):
            if name in cols:
                variables[name] = np.array([int(v or 0) for v in cols[name]], np.int64)
    else:
        with open_hdf5(path, what="a results file") as f:
            where = f"{S.ENTRY}/{S.TRAINS_DATA}"
            if where not in f:
                raise SpectraFileError(f"'{path}' holds no per-train results (no /{where}).")
            g = f[where]
            classes = g[S.CLASSES].asstr()[()].tolist()
            tid = g[S.TRAIN_ID][()]
            codes = g[S.STATE_INDEX][()].astype(np.intp)
            names = np.array([*classes, ""], dtype=object)
            variables["state"] = names[np.where(codes >= 0, codes, len(classes))]
            variables["confidence"] = g[S.CONFIDENCE][()]
            variables["fraction"] = g[S.FRACTION][()].reshape(tid.size, len(classes))
            for name in (*_TRAIN_INTS, S.LATE, S.LATENCY):
                if name in g:
                    variables[name] = g[name][()]
            if S.NAME in g:
                variables[S.NAME] = np.array(g[S.NAME].asstr()[()], dtype=object)
    data = {k: ((S.TRAIN_ID, "class") if k == "fraction" else S.TRAIN_ID, v)
            for k, v in variables.items()}
    return xr.Dataset(data, coords={S.TRAIN_ID: tid, "class": np.array(classes, dtype=object)},
                      attrs={"file": str(path)})


#: suffixes of NeXus results files (re-exported for the CLI's checks)
NEXUS_SUFFIXES = NEXUS_RESULT_SUFFIXES
