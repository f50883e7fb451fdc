"""Per-train records on disk: CSV appended and flushed per train, NeXus rewritten atomically."""

from __future__ import annotations

import csv
import logging
import math
import os
import tempfile
from pathlib import Path

import numpy as np

from ..exceptions import StreamError
from .results import TrainResult

# Temporary files are private (0600); the final file is readable like any other.
_FILE_MODE = 0o644

__all__ = ["CsvSink", "NexusSink", "open_sink", "record"]

log = logging.getLogger(__name__)

#: Trains between two rewrites of a NeXus results file.
DEFAULT_CHECKPOINT_EVERY = 100
_NEXUS_SUFFIXES = {".nxs", ".h5", ".hdf5", ".nx5"}


def _columns(classes) -> list[str]:
    return ["train_id", "name", "n_spectra", "n_classified", "state", "confidence",
            *(f"fraction_{c}" for c in classes), "ambiguous", "no_beam", "skipped_before",
            "late", "latency_ms", "alert", "errors"]


def record(result: TrainResult, classes) -> dict:
    """One train's result as a flat record (the CSV columns).

    Parameters
    ----------
    result : TrainResult
        The train.
    classes : sequence of str
        The classes that get a ``fraction_<class>`` column.

    Returns
    -------
    dict
    """
    rec = {
        "train_id": result.train_id,
        "name": result.name,
        "n_spectra": result.n_spectra,
        "n_classified": result.n_classified,
        "state": result.state or "",
        "confidence": _fmt(result.confidence),
        "ambiguous": result.ambiguous,
        "no_beam": result.no_beam,
        "skipped_before": result.skipped_before,
        "late": int(result.late),
        "latency_ms": _fmt(result.latency * 1e3, 2),
        "alert": f"{result.alert.previous}->{result.alert.state}" if result.alert else "",
        "errors": ";".join(f"{k}={v}" for k, v in sorted(result.errors.items())),
    }
    for c in classes:
        rec[f"fraction_{c}"] = _fmt(result.fractions.get(c, math.nan))
    return rec


def _fmt(value: float, digits: int = 4) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


class CsvSink:
    """Append one CSV record per train and flush it at once (nothing written is ever lost).

    Parameters
    ----------
    path : path-like
        The CSV file; appended to when it exists with the same columns.
    classes : sequence of str
        The model's classes (one ``fraction_<class>`` column each).

    Raises
    ------
    StreamError
        If `path` exists with other columns.
    """

    def __init__(self, path, classes):
        self.path = Path(path)
        self.classes = list(classes)
        self.columns = _columns(self.classes)
        exists = self.path.exists() and self.path.stat().st_size > 0
        if exists:
            with open(self.path, newline="") as fh:
                header = next(csv.reader(fh), [])
            if header != self.columns:
                raise StreamError(
                    f"{self.path} exists with columns {header}; results of this model need "
                    f"{self.columns}: give another -o file."
                )
        self._warned = False
        self._fh = open(self.path, "a", newline="")  # noqa: SIM115 - closed in close()
        self._writer = csv.DictWriter(self._fh, fieldnames=self.columns, extrasaction="ignore")
        if not exists:
            self._writer.writeheader()
            self._fh.flush()

    def write(self, result: TrainResult) -> None:
        """Append one train (results without a train id, i.e. undecodable messages, are not)."""
        if result.train_id is None:
            return
        new = [c for c in result.fractions if c not in self.classes]
        if new and not self._warned:
            self._warned = True
            log.warning("the model now has classes %s without a fraction column in %s; "
                        "their trains still name them in 'state'", new, self.path)
        self._writer.writerow(record(result, self.classes))
        self._fh.flush()

    def close(self) -> None:
        """Close the file."""
        if not self._fh.closed:
            self._fh.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class NexusSink:
    """Keep per-train results and write them as NeXus (NXentry/NXdata) at checkpoints.

    The file is written to a temporary file in the same folder and renamed, so the file on
    disk is always complete. It holds ``/entry/results`` (NXdata, signal ``confidence`` over
    the axis ``train_id``; ``state``, ``fraction_<class>``, ``n_spectra``, ``ambiguous``,
    ``no_beam``, ``latency``) and ``/entry/alerts``.

    Parameters
    ----------
    path : path-like
        The ``.nxs``/``.h5`` file (replaced).
    classes : sequence of str
        The model's classes.
    checkpoint_every : int, default 100
        Trains between rewrites.
    metadata : dict, optional
        Attributes of ``/entry`` (model path, source ...).
    """

    def __init__(self, path, classes, *, checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
                 metadata: dict | None = None):
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise StreamError(f"The folder of the results file {self.path} does not exist.")
        self.classes = list(classes)
        self.checkpoint_every = max(int(checkpoint_every), 1)
        self.metadata = {k: str(v) for k, v in (metadata or {}).items() if v is not None}
        self._rows: list[tuple] = []
        self._alerts: list = []
        self._since = 0

    def write(self, result: TrainResult) -> None:
        """Keep one train; rewrite the file every `checkpoint_every` trains."""
        if result.train_id is None:
            return
        for c in result.fractions:  # a reloaded model may bring new classes
            if c not in self.classes:
                self.classes.append(c)
        self._rows.append((
            result.train_id, result.state or "", _nan(result.confidence),
            dict(result.fractions),
            result.n_spectra, result.n_classified, result.ambiguous, result.no_beam,
            result.latency, result.skipped_before, int(result.late),
            sum(result.errors.values()),
        ))
        if result.alert is not None:
            self._alerts.append(result.alert)
        self._since += 1
        if self._since >= self.checkpoint_every:
            self.flush()

    def flush(self) -> None:
        """Write everything kept so far (temporary file + rename)."""
        import h5py

        self._since = 0
        cols = list(zip(*self._rows)) if self._rows else [()] * 12
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp",
                                   dir=self.path.parent)
        os.close(fd)
        try:
            with h5py.File(tmp, "w") as f:
                f.attrs["default"] = "entry"
                entry = f.create_group("entry")
                entry.attrs["NX_class"] = "NXentry"
                entry.attrs["default"] = "results"
                for k, v in self.metadata.items():
                    entry.attrs[k] = v
                entry["program_name"] = "specstate watch"
                entry["classes"] = np.array(self.classes, dtype=h5py.string_dtype())
                data = entry.create_group("results")
                data.attrs["NX_class"] = "NXdata"
                data.attrs["signal"] = "confidence"
                data.attrs["axes"] = "train_id"
                data.attrs["auxiliary_signals"] = [f"fraction_{c}" for c in self.classes]
                data["train_id"] = np.asarray(cols[0], dtype=np.int64)
                data["state"] = np.asarray(cols[1], dtype=h5py.string_dtype())
                data["confidence"] = np.asarray(cols[2], dtype=np.float32)
                fractions = np.array([[_nan(fr.get(c)) for c in self.classes]
                                      for fr in cols[3]], dtype=np.float32)
                fractions = fractions.reshape(-1, len(self.classes))
                for i, c in enumerate(self.classes):
                    data[f"fraction_{c}"] = fractions[:, i]
                for name, col in zip(("n_spectra", "n_classified", "ambiguous", "no_beam"),
                                     cols[4:8]):
                    data[name] = np.asarray(col, dtype=np.int64)
                data["latency"] = np.asarray(cols[8], dtype=np.float32)
                data["latency"].attrs["units"] = "s"
                data["skipped_before"] = np.asarray(cols[9], dtype=np.int64)
                data["late"] = np.asarray(cols[10], dtype=np.int8)
                data["n_errors"] = np.asarray(cols[11], dtype=np.int64)
                alerts = entry.create_group("alerts")
                alerts.attrs["NX_class"] = "NXcollection"
                alerts["train_id"] = np.array([a.train_id for a in self._alerts], np.int64)
                alerts["confirmed_train_id"] = np.array(
                    [a.confirmed_train_id for a in self._alerts], np.int64)
                alerts["previous"] = np.array([a.previous for a in self._alerts],
                                              dtype=h5py.string_dtype())
                alerts["state"] = np.array([a.state for a in self._alerts],
                                           dtype=h5py.string_dtype())
            os.chmod(tmp, _FILE_MODE)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def close(self) -> None:
        """Write the final file."""
        self.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _nan(value) -> float:
    return math.nan if value is None else float(value)


def open_sink(path, classes, *, checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
              metadata: dict | None = None):
    """A :class:`NexusSink` for ``.nxs``/``.h5``, a :class:`CsvSink` for anything else.

    Parameters
    ----------
    path : path-like
        Results file.
    classes : sequence of str
        The model's classes.
    checkpoint_every : int
        NeXus: trains between rewrites.
    metadata : dict, optional
        NeXus: attributes of the entry.

    Returns
    -------
    CsvSink or NexusSink
    """
    path = Path(path)
    if path.suffix.lower() in _NEXUS_SUFFIXES:
        return NexusSink(path, classes, checkpoint_every=checkpoint_every, metadata=metadata)
    return CsvSink(path, classes)
