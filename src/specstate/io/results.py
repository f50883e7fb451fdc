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

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..exceptions import SpectraFileError, SpectraFormatError
from ..results import Classification
from . import _schema as S
from ._files import (
    CSV_SUFFIXES,
    NEXUS_RESULT_SUFFIXES,
    RESULT_SUFFIXES,
    atomic_write,
    file_sha256,
    open_hdf5,
)
from ._nexus_results import NexusResults
from ._result_tables import (
    TRAIN_INTS,
    CsvTable,
    check_classification,
    spectra_rows,
    summarize_trains,
    train_columns,
    train_rows,
    write_spectra_csv,
)

__all__ = ["write_results", "read_results", "read_trains", "read_state_means",
           "read_provenance", "file_sha256", "NexusResults",
           "CsvTable", "spectra_rows", "train_rows", "train_columns", "summarize_trains",
           "RESULT_SUFFIXES"]

logger = logging.getLogger(__name__)



def input_files_of(spectra, inputs) -> list[str]:
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
    state_means=None,
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
    state_means : specstate.means.StateMeans, optional
        NeXus: the run's per-state sums (default: computed from `spectra` when given).

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
    n = check_classification(classification)
    if spectra is not None:
        if len(spectra) != n:
            raise SpectraFormatError(
                f"The classification holds {n} spectra but the spectra given are "
                f"{len(spectra)}."
            )
        classification = classification.with_ids(spectra)
    with atomic_write(path) as tmp:
        if suffix in CSV_SUFFIXES:
            write_spectra_csv(tmp, classification, extra_columns)
        else:
            out = NexusResults(tmp, [str(c) for c in classification.classes], model=model,
                               model_path=model_path, inputs=input_files_of(spectra, inputs),
                               parameters=parameters, program=program, file_name=path.name)
            out.append(classification, summarize_trains(classification))
            if state_means is None and spectra is not None:
                from ..means import StateMeans

                state_means = StateMeans.of(classification, spectra.intensity,
                                            axis=spectra.axis, axis_name=spectra.axis_name,
                                            axis_unit=spectra.axis_unit)
            if state_means is not None:
                out.write_state_means(state_means, axis_name=state_means.axis_name,
                                      axis_unit=state_means.axis_unit)
    logger.info("Wrote %d results to %s.", n, path)
    return path


# ----------------------------------------------------------------------------- reading
def _read_csv(path: Path) -> tuple[list[str], dict]:
    """Header and columns (arrays of str) of a CSV table, read by pandas' C parser."""
    import pandas as pd

    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False,
                         encoding="utf-8")
    except pd.errors.EmptyDataError:
        raise SpectraFileError(f"'{path}' is empty; expected a specstate results table."
                               ) from None
    header = [str(h) for h in df.columns]
    return header, {h: df[h].to_numpy(dtype=object) for h in header}


def _floats(values) -> np.ndarray:
    values = np.asarray(values, dtype=object)
    return np.where(values == "", "nan", values).astype(np.float32)


def _read_spectra_group(g) -> dict:
    """The columns of ``/entry/spectra``."""
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
    return data


def _read_v010(f) -> dict:
    """The columns of a results file written by specstate 0.1.0 (``/results/state``)."""
    g = f[f"{S.V010_RESULTS_ENTRY}/{S.V010_STATE_DATA}"]
    proba = f[f"{S.V010_RESULTS_ENTRY}/{S.V010_PROBA_DATA}/{S.PROBA}"][()]
    data = {
        "state": np.array(g[S.STATE].asstr()[()], dtype=object),
        "probability": proba,
        "confidence": g[S.CONFIDENCE][()],
        "ambiguous": g[S.AMBIGUOUS][()].astype(bool),
        "classes": g[S.CLASSES].asstr()[()].tolist(),
        "index": g[S.SPECTRUM][()],
    }
    for name in (S.TRAIN_ID, S.PULSE_ID):
        if name in g:
            data[name] = g[name][()]
    return data


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
        if S.SPECTRUM not in cols and S.V010_CSV_INDEX in cols:  # written by 0.1.0
            cols[S.SPECTRUM] = cols[S.V010_CSV_INDEX]
            header = [*header, S.SPECTRUM]
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
            old = f"{S.V010_RESULTS_ENTRY}/{S.V010_STATE_DATA}"
            if where not in f and old in f:
                data = _read_v010(f)
            elif where not in f:
                raise SpectraFileError(
                    f"'{path}' is not a specstate results file (no /{where})."
                )
            else:
                data = _read_spectra_group(f[where])
    coords = {S.SPECTRUM: data["index"], S.CLASS_DIM: np.array(data["classes"], dtype=object)}
    for name in (S.TRAIN_ID, S.PULSE_ID, S.FILE):
        if name in data:
            coords[name] = (S.SPECTRUM, data[name])
    variables = {
        "state": (S.SPECTRUM, data["state"]),
        "probability": ((S.SPECTRUM, S.CLASS_DIM), data["probability"]),
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
        for name in TRAIN_INTS + (S.LATE,):
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
            for name in (*TRAIN_INTS, S.LATE, S.LATENCY):
                if name in g:
                    variables[name] = g[name][()]
            if S.NAME in g:
                variables[S.NAME] = np.array(g[S.NAME].asstr()[()], dtype=object)
    data = {k: ((S.TRAIN_ID, S.CLASS_DIM) if k == "fraction" else S.TRAIN_ID, v)
            for k, v in variables.items()}
    return xr.Dataset(data, coords={S.TRAIN_ID: tid, S.CLASS_DIM: np.array(classes, dtype=object)},
                      attrs={"file": str(path)})


def read_state_means(path):
    """Read the run's per-state mean spectra of a NeXus results file, if it has them.

    Parameters
    ----------
    path : str or path-like
        A results file.

    Returns
    -------
    specstate.means.StateMeans or None
        None for a CSV table or a file written before results kept their means.
    """
    from ..means import StateMeans

    path = Path(path)
    if path.suffix.lower() in CSV_SUFFIXES:
        return None
    with open_hdf5(path, what="a results file") as f:
        where = f"{S.ENTRY}/{S.STATE_MEANS}"
        if where not in f:
            return None
        g = f[where]
        names = g[S.STATE].asstr()[()].tolist()
        counts = g[S.N_SPECTRA][()].astype(np.int64)
        mean = g[S.MEAN][()].astype(np.float64)
        axis = g[S.AXIS][()] if S.AXIS in g else None
        sums = np.nan_to_num(mean) * counts[:, None]
        attrs = g[S.AXIS].attrs if S.AXIS in g else {}
        return StateMeans(names[:-1], sums, counts, axis,
                          str(attrs.get(S.LONG_NAME, "")), str(attrs.get(S.UNITS, "")))


def read_provenance(path) -> dict:
    """What a NeXus results file records of how it was made.

    Parameters
    ----------
    path : str or path-like
        A results file.

    Returns
    -------
    dict
        ``program``, ``date``, ``model_file`` and ``model_checksum`` (SHA-256) where
        recorded, ``inputs`` (list of str) and ``parameters`` (dict of str); empty for a CSV
        table (which records none).
    """
    path = Path(path)
    if path.suffix.lower() in CSV_SUFFIXES:
        return {}
    out: dict = {}
    with open_hdf5(path, what="a results file") as f:
        where = f"{S.ENTRY}/{S.PROCESS}"
        if where not in f:
            return out
        p = f[where]

        def text(ds):
            value = ds[()]
            return value.decode() if isinstance(value, bytes) else str(value)

        for key, name in ((S.PROGRAM, "program"), (S.DATE, "date")):
            if key in p:
                out[name] = text(p[key])
        note = p.get(S.MODEL_NOTE)
        if note is not None:
            if "file_name" in note:
                out["model_file"] = text(note["file_name"])
            if S.CHECKSUM in note:
                out["model_checksum"] = text(note[S.CHECKSUM])
        if S.INPUT_FILES in p:
            out["inputs"] = p[S.INPUT_FILES].asstr()[()].tolist()
        if S.PROCESS_PARAMETERS in p:
            out["parameters"] = {k: text(v) for k, v in p[S.PROCESS_PARAMETERS].items()}
    return out


#: suffixes of NeXus results files (re-exported for the CLI's checks)
NEXUS_SUFFIXES = NEXUS_RESULT_SUFFIXES
