"""The NeXus results file: one layout, resizable datasets, appended to (see io/_schema.py)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .._version import __version__
from ..results import Classification, TrainSummary
from . import _schema as S
from ._files import file_sha256
from ._result_tables import TRAIN_INTS, check_classification, now_iso, state_codes

#: rows per HDF5 chunk of the resizable per-spectrum and per-train datasets
_CHUNK_ROWS = 4096


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
        now = now_iso()
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
            params = dict(parameters or {})
            nov = getattr(model, "novelty_", None)
            if nov is not None:  # how `novel` was decided: the calibrated rate and method
                params.setdefault("novelty_rate", float(nov.rate))
                params.setdefault("novelty_method", str(nov.method))
                params.setdefault("novelty_threshold", float(nov.threshold()))
            for key, value in params.items():
                _put_parameter(pg, str(key), value)
            note = _group(p, S.MODEL_NOTE, S.NXNOTE)
            note[S.NOTE_TYPE] = "application/x-hdf5"
            note[S.NOTE_DESCRIPTION] = "specstate model (SpectraClassifier)"
            if model_path is not None:
                note[S.NOTE_FILE_NAME] = str(Path(model_path).resolve())
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
        g.attrs[S.AXIS_NAME_ATTR] = axis_name

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

    def write_state_means(self, means, *, axis=None, axis_name: str = "",
                          axis_unit: str = "") -> None:
        """Write (replace) the run's per-state mean spectra, ``/entry/state_means``.

        Parameters
        ----------
        means : specstate.means.StateMeans
            Per-state sums and counts of the whole run so far.
        axis : array-like of shape (m,), optional
            The spectra's axis (default: ``means.axis``, else point numbers).
        axis_name, axis_unit : str
            Name and unit of the axis.
        """
        import h5py

        axis = means.axis if axis is None else axis
        m = means.sums.shape[1]
        axis = np.arange(m, dtype=float) if axis is None else np.asarray(axis, float)
        with h5py.File(self.path, "a") as f:
            entry = f[S.ENTRY]
            if S.STATE_MEANS in entry:
                del entry[S.STATE_MEANS]
            g = _group(entry, S.STATE_MEANS, S.NXDATA)
            g.attrs[S.SIGNAL] = S.MEAN
            g.attrs[S.AXES] = [S.STATE, S.AXIS]
            g.attrs[S.STATE + S.INDICES_SUFFIX] = 0
            g.attrs[S.AXIS + S.INDICES_SUFFIX] = 1
            g.create_dataset(S.MEAN, data=means.mean.astype(np.float32), compression="gzip")
            g[S.MEAN].attrs[S.LONG_NAME] = "mean spectrum of the run's spectra in each state"
            g.create_dataset(S.STATE, data=np.asarray(means.names, dtype=object),
                             dtype=_str_dtype())
            g[S.N_SPECTRA] = np.asarray(means.counts, np.int64)
            g[S.AXIS] = axis
            g[S.AXIS].attrs[S.UNITS] = str(axis_unit or "")
            g[S.AXIS].attrs[S.LONG_NAME] = str(axis_name or "")

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
            entry[S.END_TIME] = now_iso()

    def _append_spectra(self, g, c: Classification) -> None:
        n0 = self.n_spectra
        check_classification(c)
        cols = self._columns(c.classes)
        proba = np.full((len(c), len(self.classes)), np.nan, np.float32)
        proba[:, cols] = np.asarray(c.proba, dtype=np.float32)
        codes = state_codes(c.labels, self.classes)
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
        states = state_codes([t.state or "" for t in trains], self.classes)
        _append(g, S.TRAIN_ID, np.array([t.train_id for t in trains], np.uint64), n0,
                long_name="train id")
        _append(g, S.STATE_INDEX, states, n0, fill=-1)
        _append(g, S.CONFIDENCE, np.array([t.confidence for t in trains], np.float32), n0,
                fill=np.nan, long_name="mean probability of the train's majority state")
        _append(g, S.FRACTION, fractions, n0, fill=np.nan,
                long_name="fraction of the train's classified spectra per state")
        for name in TRAIN_INTS:
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
