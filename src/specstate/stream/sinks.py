"""Per-train records on disk, through the one results writer of :mod:`specstate.io.results`.

A CSV file gets one row per train, appended and flushed per train. A NeXus file gets the
layout every results file has (``/entry/spectra`` per spectrum, ``/entry/trains`` per
train, ``/entry/alerts``), appended to its resizable datasets every few trains: memory stays
flat however long the watch runs, and between two appends the file is closed and complete.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..exceptions import SpectraFormatError, StreamError
from ..io._files import NEXUS_RESULT_SUFFIXES
from ..io.results import CsvTable, NexusResults, train_columns, train_rows
from ..results import Classification, TrainSummary

__all__ = ["CsvSink", "NexusSink", "open_sink", "record"]

log = logging.getLogger(__name__)

#: Trains kept in memory between two appends to a NeXus results file (at 10 trains/s: the
#: file on disk is about a second behind).
DEFAULT_CHECKPOINT_EVERY = 10


def record(result: TrainSummary, classes) -> dict:
    """One train's result as a flat record (the CSV columns).

    Parameters
    ----------
    result : TrainSummary
        The train.
    classes : sequence of str
        The classes that get a ``fraction_<class>`` column.

    Returns
    -------
    dict
    """
    return train_rows([result], classes)[0]


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
        self.classes = [str(c) for c in classes]
        try:
            self._table = CsvTable(self.path, train_columns(self.classes))
        except SpectraFormatError as exc:
            raise StreamError(str(exc)) from None
        self._warned = False

    def write(self, result: TrainSummary) -> None:
        """Append one train (results without a train id, i.e. undecodable messages, are not)."""
        if result.train_id is None:
            return
        new = [c for c in result.fractions if c not in self.classes]
        if new and not self._warned:
            self._warned = True
            log.warning("the model now has classes %s without a fraction column in %s; "
                        "their trains still name them in 'state'", new, self.path)
        self._table.append(train_rows([result], self.classes))

    def close(self) -> None:
        """Close the file."""
        self._table.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class NexusSink:
    """Append per-spectrum and per-train results to a NeXus results file every few trains.

    Parameters
    ----------
    path : path-like
        The ``.nxs``/``.h5`` file (replaced).
    classes : sequence of str
        The model's classes (a reloaded model's new classes get columns of their own).
    checkpoint_every : int, default 10
        Trains kept in memory between two appends.
    metadata : dict, optional
        ``model`` (the model file: its path and checksum go into the provenance),
        ``source`` (recorded as the input) and further parameters of the run.
    model : SpectraClassifier, optional
        The model, for the regions written into the file.
    """

    def __init__(self, path, classes, *, checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
                 metadata: dict | None = None, model=None):
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise StreamError(f"The folder of the results file {self.path} does not exist.")
        self.checkpoint_every = max(int(checkpoint_every), 1)
        meta = {k: v for k, v in (metadata or {}).items() if v is not None}
        model_path = meta.get("model")
        if model_path is not None and not Path(model_path).is_file():
            model_path = None
        self._file = NexusResults(self.path, [str(c) for c in classes], model=model,
                                  model_path=model_path,
                                  inputs=[str(meta["source"])] if "source" in meta else [],
                                  parameters={k: str(v) for k, v in meta.items()},
                                  program="specstate watch")
        self._pending: list[TrainSummary] = []
        self._model = model
        self._means = None  # the run's per-state sums so far (specstate.means.StateMeans)

    @property
    def classes(self) -> list[str]:
        """The classes that have a column in the file."""
        return self._file.classes

    def write(self, result: TrainSummary) -> None:
        """Keep one train; append the kept trains every `checkpoint_every` trains."""
        if result.train_id is None:
            return
        self._pending.append(result)
        if len(self._pending) >= self.checkpoint_every:
            self.flush()

    def flush(self) -> None:
        """Append the trains kept so far to the file (opened and closed again)."""
        trains, self._pending = self._pending, []
        for t in trains:
            if t.state_means is not None:
                self._means = t.state_means if self._means is None else self._means.add(
                    t.state_means)
        parts = [t.classification for t in trains if t.classification is not None
                 and len(t.classification)]
        by_classes: list[list[Classification]] = []
        for part in parts:  # a reloaded model may change the classes: one block per model
            if by_classes and list(by_classes[-1][0].classes) == list(part.classes):
                by_classes[-1].append(part)
            else:
                by_classes.append([part])
        if not by_classes:
            self._file.append(None, trains)
        for k, block in enumerate(by_classes):
            self._file.append(Classification.concatenate(block),
                              trains if k == len(by_classes) - 1 else ())
        if self._means is not None and trains:
            m = self._model
            self._file.write_state_means(
                self._means, axis=getattr(m, "axis_", None),
                axis_name=str(getattr(m, "axis_name_", "") or ""),
                axis_unit=str(getattr(m, "axis_unit_", "") or ""))

    def close(self) -> None:
        """Append what is left."""
        self.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_sink(path, classes, *, checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
              metadata: dict | None = None, model=None):
    """A :class:`NexusSink` for ``.nxs``/``.h5``, a :class:`CsvSink` for anything else.

    Parameters
    ----------
    path : path-like
        Results file.
    classes : sequence of str
        The model's classes.
    checkpoint_every : int
        NeXus: trains kept in memory between two appends.
    metadata : dict, optional
        NeXus: the model file, the source and further parameters for the provenance.
    model : SpectraClassifier, optional
        NeXus: the model, for its regions.

    Returns
    -------
    CsvSink or NexusSink
    """
    path = Path(path)
    if path.suffix.lower() in NEXUS_RESULT_SUFFIXES:
        return NexusSink(path, classes, checkpoint_every=checkpoint_every, metadata=metadata,
                         model=model)
    return CsvSink(path, classes)
