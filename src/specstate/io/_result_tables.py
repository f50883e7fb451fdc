"""The rows of a results table: per-spectrum columns, per-train records, a CSV table.

Shared by the NeXus writer (:mod:`specstate.io._nexus_results`) and the CSV writer in
:mod:`specstate.io.results`; every name comes from :mod:`specstate.io._schema`.
"""

from __future__ import annotations

import csv
import datetime as _dt
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..exceptions import SpectraFormatError
from ..results import Classification, TrainSummary, aggregate
from . import _schema as S

#: columns of a per-train CSV table before the fractions / after them
_TRAIN_HEAD = (S.TRAIN_ID, S.NAME, S.N_SPECTRA, S.N_CLASSIFIED, S.STATE, S.CONFIDENCE)
_TRAIN_TAIL = (S.UNKNOWN, S.AMBIGUOUS, S.NO_BEAM, S.SKIPPED_BEFORE, S.LATE, S.LATENCY_MS,
               S.ALERT, S.ERRORS)
#: per-train fields written as integers (NeXus and the CSV table)
TRAIN_INTS = (S.N_SPECTRA, S.N_CLASSIFIED, S.UNKNOWN, S.AMBIGUOUS, S.NO_BEAM,
              S.SKIPPED_BEFORE, S.N_ERRORS)


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def check_classification(classification: Classification) -> int:
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


def state_codes(labels, classes: Sequence[str]) -> np.ndarray:
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


def write_spectra_csv(path: Path, classification: Classification, extra=None) -> None:
    cols = spectra_rows(classification)
    if extra:
        cols = {S.SPECTRUM: cols.pop(S.SPECTRUM), **dict(extra), **cols}
    with CsvTable(path, list(cols)) as table:
        # tolist(): repr of each value, so float32 probabilities read back exactly
        table.append(zip(*(np.asarray(v).tolist() for v in cols.values())))


# ----------------------------------------------------------------------------- NeXus
