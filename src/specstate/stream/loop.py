"""The watch loop: classify every train of a live source, with alerts and model reloads."""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..exceptions import SpecstateError, StreamError
from ..means import StateMeans
from ..results import Classification, TrainSummary
from ..spectra import same_axis
from .alerts import StateChangeDetector, UnknownDetector
from .packets import (
    DEFAULT_POLL_S,
    DEFAULT_RECONNECT_AFTER_S,
    DEFAULT_RECV_TIMEOUT_S,
    Idle,
    Packet,
)
from .results import WatchSummary
from .sources import open_source

__all__ = ["Watcher", "watch"]

log = logging.getLogger(__name__)

#: A train older than this (seconds, from its source timestamp to receipt) counts as late.
DEFAULT_LATE_AFTER_S = 1.0
#: Default number of trains a new state must hold before an alert (no flapping on one train).
DEFAULT_ALERT_TRAINS = 3
#: Share of unknown (novel) spectra in a train that raises the unknown alert (half the train
#: unlike every fitted state: more unknown than known).
DEFAULT_UNKNOWN_ALERT = 0.5
#: What classifying a bad train raises (data the classifier refuses: NaN where it looks, a
#: wrong axis); anything else is a bug and is raised, not counted.
BAD_TRAIN_ERRORS = (SpecstateError, ValueError, FloatingPointError)
#: With beam on fewer than this fraction of the spectra, those are copied out before
#: classifying (the copy costs less than classifying the others); else all are classified
#: and the no-beam ones masked afterwards.
_SUBSET_BELOW = 0.5


class _Model:
    """A classifier, or a model file reloaded when it is replaced."""

    def __init__(self, model):
        self.path = None
        self._sig = None
        if isinstance(model, (str, os.PathLike)):
            self.path = Path(model)
            self._sig = self._signature()
            self.clf = self._load()
        else:
            for attr in ("classify", "classes_", "axis_"):
                if not hasattr(model, attr):
                    raise StreamError(
                        "The model must be a fitted SpectraClassifier or the path of a saved "
                        f"one; got a {type(model).__name__} without {attr!r}."
                    )
            self.clf = model
        self._refresh()

    def _signature(self):
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size, st.st_ino

    def _load(self):
        from ..classifier import SpectraClassifier

        return SpectraClassifier.load(self.path)

    def _refresh(self) -> None:
        # the energy-scale drift of the stream, tracked train by train (outside the model)
        tracker = getattr(self.clf, "stream_tracker", None)
        self.tracker = tracker() if tracker is not None else None
        self.classes = [str(c) for c in self.clf.classes_]
        self.index = {c: i for i, c in enumerate(self.classes)}
        self.axis = np.asarray(self.clf.axis_, dtype=np.float64)

    def maybe_reload(self) -> bool:
        """Reload the model file if it changed since it was read; True if reloaded."""
        if self.path is None:
            return False
        sig = self._signature()
        if sig is None or sig == self._sig:
            return False
        self._sig = sig
        try:
            clf = self._load()
        except Exception as exc:  # noqa: BLE001 - keep classifying with the old model
            log.warning("model file %s changed but cannot be loaded (%s); keeping the "
                        "previous model", self.path, exc)
            return False
        self.clf = clf
        self._refresh()
        log.info("model reloaded from %s (classes %s)", self.path, self.classes)
        return True


class Watcher:
    """Iterate over the trains of a live source, classified; keeps a :class:`WatchSummary`.

    Parameters
    ----------
    model : SpectraClassifier or path-like
        A fitted classifier, or the path of a saved one (then reloaded between trains when
        the file is replaced).
    source : str, path-like or source object
        ``tcp://host:port`` of a Karabo bridge, or a folder where files appear
        (see :func:`specstate.stream.open_source`).
    source_name, key : str, optional
        Bridge: source and key of the spectrum (found automatically when unambiguous).
    monitor : str, optional
        Bridge: ``'SOURCE:KEY'`` of a per-pulse monitor; folder: dataset path for
        :func:`specstate.io.read`.
    min_monitor : float, optional
        Spectra whose monitor is below this (or NaN) are "no beam": not classified, counted.
    sub : bool, default False
        Bridge: SUB socket instead of REQ.
    alert_trains : int, default 3
        Trains a new state must hold before a state-change alert.
    max_trains : int, optional
        Stop after this many results.
    duration : float, optional
        Stop after this many seconds.
    idle_timeout : float, optional
        Stop when nothing arrived for this many seconds.
    recv_timeout : float, default 1.0
        Bridge: seconds the client waits for one train.
    poll_interval : float, default 0.5
        Folder: seconds between polls.
    late_after : float, default 1.0
        A train whose source timestamp is older than this at receipt counts as late.
    read_kwargs : dict, optional
        Folder: options for :func:`specstate.io.read`.
    reconnect_after : float, default 5
        Bridge, REQ: seconds without a train after which the client is recreated.
    threads : int, optional
        BLAS threads while a train is classified (default: leave as is). With the bridge
        server and its network copies on the same few cores, 1 is fastest: more threads
        compete with them (about 1.4x the rate with 1 than with 2 on a 2-core machine).
    changes : bool or ChangeDetector, optional
        Label-free change detection beside the classification: True for a default
        :class:`~specstate.ChangeDetector`, or one to use; its events land in
        :attr:`TrainResult.changes`. With changes, `model` may be None (label-free only).
    unknown_alert : float, default 0.5
        Share of novel spectra (unlike every fitted state) in `alert_trains` consecutive
        trains that raises ``TrainSummary.unknown_alert``.
    """

    def __init__(self, model, source, *, source_name: str | None = None,
                 key: str | None = None, monitor: str | None = None,
                 min_monitor: float | None = None, sub: bool = False,
                 alert_trains: int = DEFAULT_ALERT_TRAINS, max_trains: int | None = None,
                 duration: float | None = None, idle_timeout: float | None = None,
                 recv_timeout: float = DEFAULT_RECV_TIMEOUT_S,
                 poll_interval: float = DEFAULT_POLL_S,
                 late_after: float = DEFAULT_LATE_AFTER_S, read_kwargs: dict | None = None,
                 reconnect_after: float = DEFAULT_RECONNECT_AFTER_S,
                 threads: int | None = None, changes=None,
                 unknown_alert: float = DEFAULT_UNKNOWN_ALERT):
        self.changes = _change_detector(changes)
        if model is None and self.changes is None:
            raise StreamError("Watching needs a model, or label-free change detection "
                              "(changes=True / --changes); got neither.")
        self.model = _Model(model) if model is not None else None
        self.source = open_source(source, source_name=source_name, key=key, monitor=monitor,
                                  sub=sub, timeout=recv_timeout, poll_interval=poll_interval,
                                  read_kwargs=read_kwargs, reconnect_after=reconnect_after)
        self.min_monitor = None if min_monitor is None else float(min_monitor)
        self.detector = StateChangeDetector(alert_trains)
        self.unknown_detector = UnknownDetector(unknown_alert, alert_trains)
        self.max_trains = max_trains
        self.duration = duration
        self.idle_timeout = idle_timeout
        self.late_after = late_after
        self.summary = WatchSummary()
        self.threads = threads
        from .folder import FolderSource

        #: the results name each spectrum's file (folder sources)
        self.files = isinstance(self.source, FolderSource)
        self._controller = None
        self._last_tid: int | None = None
        self._last_shape_error: tuple | None = None
        self._logged: dict = {}
        self._pool = None  # the label-free detector's thread (see _worker)

    @property
    def classes(self) -> list[str]:
        """Class names of the current model (none when watching label-free)."""
        return self.model.classes if self.model is not None else []

    def __iter__(self) -> Iterator[TrainSummary]:
        summary = self.summary
        summary.started = time.monotonic()
        last_data = summary.started
        reloaded = False  # a reload while idle is reported with the next train
        items = iter(self.source)
        try:
            for item in items:
                now = time.monotonic()
                reloaded |= self.model is not None and self.model.maybe_reload()
                if isinstance(item, Idle):
                    summary.timeouts += item.reason == "timeout"
                    summary.reconnects += item.reason == "reconnect"
                    if self._should_stop(now, last_data):
                        return
                    continue
                last_data = now
                result = self.process(item)
                result.model_reloaded, reloaded = reloaded, False
                summary.add(result)
                summary.dropped = getattr(self.source, "dropped", 0)
                yield result
                if self.max_trains is not None and summary.trains >= self.max_trains:
                    return
                if self._should_stop(time.monotonic(), last_data):
                    return
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()
            if self._pool is not None:
                self._pool.shutdown()
                self._pool = None

    def _should_stop(self, now: float, last_data: float) -> bool:
        if self.duration is not None and now - self.summary.started >= self.duration:
            return True
        return self.idle_timeout is not None and now - last_data >= self.idle_timeout

    def _limit(self):
        """Context in which the classifier runs (BLAS threads limited if asked)."""
        if self.threads is None:
            return contextlib.nullcontext()
        if self._controller is None:  # after the model loaded its libraries
            from threadpoolctl import ThreadpoolController

            self._controller = ThreadpoolController()
        return self._controller.limit(limits=self.threads, user_api="blas")

    # -- one train ---------------------------------------------------------------------------
    def process(self, p: Packet) -> TrainSummary:
        """Classify one packet into a :class:`TrainSummary`.

        Bad data (what :data:`BAD_TRAIN_ERRORS` covers) is counted in ``errors``, never
        raised; any other exception is a bug and propagates.
        """
        model = self.model
        result = TrainSummary(p.train_id, name=p.name, errors=dict(p.issues),
                              counts=dict.fromkeys(self.classes, 0),
                              fractions=dict.fromkeys(self.classes, math.nan))
        self._order(p, result)
        if p.error is not None:
            return self._skip(result, p, p.error, p.message)
        x = p.spectra
        result.n_spectra = x.shape[0]
        # a train the model cannot read is not given to the label-free detector either (the
        # first train it sees fixes its length)
        if model is not None:
            failure = self._unreadable(p, x)
            if failure is not None:
                return self._skip(result, p, *failure)
            self._last_shape_error = None
        if self.changes is None or model is None:
            failure = None if self.changes is None else self._detect_changes(x, p, result)
            if failure is None and model is not None:
                failure = self._classify_train(p, result, x)
        else:
            # the label-free detector on the other core while the train is classified
            # (both spend their time in numpy products, which release the GIL); it only
            # reads the train, and writes the summary's change events
            pending = self._worker().submit(self._detect_changes, x, p, result)
            try:
                failure = self._classify_train(p, result, x)
            finally:
                changes_failure = pending.result()
            failure = changes_failure or failure
        if failure is not None:
            return self._skip(result, p, *failure)
        return self._finish(result, p)

    def _worker(self):
        """One thread for the label-free detector (made on first use)."""
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(1, thread_name_prefix="specstate-changes")
        return self._pool

    def _unreadable(self, p: Packet, x: np.ndarray):
        """``(kind, message)`` when the model cannot read the train (length, axis), else None."""
        model = self.model
        if x.shape[1] != model.axis.shape[0]:
            return ("wrong_length", f"train {p.train_id} has spectra of {x.shape[1]} points; "
                    f"the model expects {model.axis.shape[0]}")
        if p.axis is not None and not same_axis(p.axis, model.axis):
            return ("axis_mismatch", f"{p.name or p.train_id} is on an axis "
                    f"[{p.axis[0]:g}, {p.axis[-1]:g}] other than the model's "
                    f"[{model.axis[0]:g}, {model.axis[-1]:g}]")
        return None

    def _classify_train(self, p: Packet, result: TrainSummary, x: np.ndarray):
        """Classify the train into `result`; ``(kind, message)`` when it fails."""
        n = x.shape[0]
        if x.dtype != np.float32:
            x = x.astype(np.float32)
        beam = None
        rows_all = None  # the rows of the train that x holds (None: all of them)
        if p.monitor is not None:
            result.monitor_mean = float(np.nanmean(p.monitor)) if p.monitor.size else math.nan
            if self.min_monitor is not None:
                with np.errstate(invalid="ignore"):
                    beam = p.monitor >= self.min_monitor
        if beam is not None:
            n_beam = int(np.count_nonzero(beam))
            result.no_beam = n - n_beam
            if n_beam == 0:  # beam off: nothing to classify
                return None
            if n_beam < _SUBSET_BELOW * n:
                rows_all = np.flatnonzero(beam)
                x, beam, n = x[beam], None, n_beam
        # Fast path: the whole train in one call, no-beam spectra masked afterwards (cheaper
        # than copying the others out); the classifier refuses non-finite values at points
        # it uses, and then the train takes the careful path, spectrum by spectrum.
        rows = np.arange(n) if rows_all is None else rows_all
        try:
            cls = self._classify(x)
            proba = np.asarray(cls.proba)
            fast = proba.shape[0] == n and bool(np.isfinite(proba).all())
        except BAD_TRAIN_ERRORS:  # decided on the careful path
            fast = False
        if fast:
            if beam is not None and not beam.all():
                cls, rows = cls[beam], rows[beam]
            self._fill(result, p, [cls], [rows])
        else:
            failure = self._careful(x, beam, result, p, rows)
            if failure is not None:
                return "classify", f"train {p.train_id}: {failure}"
        _add_state_means(result, x, rows_all)
        return None

    def _detect_changes(self, x: np.ndarray, p: Packet, result: TrainSummary):
        """Feed the train's finite spectra with beam to the change detector; alert on events.

        Returns ``(kind, message)`` when the train cannot be used, else None.
        """
        from ..exceptions import SpecstateError
        from ..spectra import Spectra
        from .results import change_text

        keep = _finite_rows(x)
        if p.monitor is not None and self.min_monitor is not None \
                and p.monitor.shape == (x.shape[0],):
            with np.errstate(invalid="ignore"):
                keep &= p.monitor >= self.min_monitor
        if not keep.any():
            return None
        rows = x if keep.all() else x[keep]
        tid = p.train_id if p.train_id is not None else -1
        try:
            result.changes = self.changes.update(
                Spectra(rows, train_ids=np.full(rows.shape[0], tid)))
        except SpecstateError as exc:
            return "wrong_length", f"train {p.train_id}: {exc}"
        for event in result.changes:
            log.warning("label-free %s", change_text(event))
        return None

    def _finish(self, result: TrainSummary, p: Packet) -> TrainSummary:
        result.alert = self.detector.update(p.train_id if p.train_id is not None else -1,
                                            result.state)
        if result.alert is not None:
            log.warning("state change at %s", result.alert)
        result.unknown_alert = self.unknown_detector.update(
            p.train_id if p.train_id is not None else -1, result.unknown,
            result.n_classified + result.unknown)
        if result.unknown_alert is not None:
            log.warning("%s", result.unknown_alert)
        result.latency = time.perf_counter() - p.received
        return result

    def _careful(self, x: np.ndarray, beam, result: TrainSummary, p: Packet,
                 positions: np.ndarray):
        """Classify the finite spectra with beam, and those whose NaN the model ignores.

        `positions` are the rows of the train that `x` holds (the spectra's pulse ids).
        """
        n = x.shape[0]
        finite = _finite_rows(x)
        if beam is None:  # (no monitor, or the spectra with beam were already taken out)
            beam = np.ones(n, bool)
        else:
            result.no_beam = int((finite & ~beam).sum())
        clean = finite & beam
        dirty = ~finite & beam
        parts, where = [], []
        n_clean = int(clean.sum())
        if n_clean:
            try:
                parts.append(self._classify(x if n_clean == n else x[clean]))
                where.append(positions[clean])
            except BAD_TRAIN_ERRORS as exc:  # one bad train never stops the loop
                return exc
        if dirty.any():
            # NaN at points the model does not use (its mask_, e.g. dead pixels) is
            # harmless: those spectra are classified; the others are counted and skipped
            mask = getattr(self.model.clf, "mask_", None)
            rows = np.flatnonzero(dirty)
            if mask is not None and mask.shape == (x.shape[1],):
                usable = np.isfinite(x[rows][:, ~mask]).all(axis=1)
                result.errors["nonfinite"] = int((~usable).sum())
                rows = rows[usable]
            else:
                result.errors["nonfinite"] = rows.size
                rows = rows[:0]
            if rows.size:
                try:
                    parts.append(self._classify(x[rows]))
                    where.append(positions[rows])
                except BAD_TRAIN_ERRORS:  # the classifier refuses them after all
                    result.errors["nonfinite"] += rows.size
            if not result.errors["nonfinite"]:
                del result.errors["nonfinite"]
        if parts:
            self._fill(result, p, parts, where)
        return None

    def _classify(self, x):
        # NaN/inf are looked for and reported by the loop: no numpy warnings about them
        with self._limit(), np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            if self.model.tracker is None:
                return self.model.clf.classify(x)
            return self.model.clf.classify(x, tracker=self.model.tracker)

    def _fill(self, result: TrainSummary, p: Packet, parts, rows) -> None:
        """The train's summary from the Classification `parts` of its spectra at `rows`."""
        order = np.concatenate(rows)
        cls = Classification.concatenate(parts)
        if len(parts) > 1:  # back in the train's order
            sort = np.argsort(order, kind="stable")
            cls, order = cls[sort], order[sort]
        n = len(cls)
        tid = -1 if p.train_id is None else int(p.train_id)
        base = self.summary.spectra  # spectra received before this train
        cls = cls.with_ids(spectrum_index=base + order, train_ids=np.full(n, tid, np.int64),
                           pulse_ids=order,
                           files=np.full(n, p.name, dtype=object).astype(str)
                           if self.files else None)
        result.fill(cls)

    def _order(self, p: Packet, result: TrainSummary) -> None:
        tid = p.train_id
        if tid is None:
            return
        last = self._last_tid
        if last is not None and tid <= last:
            result.late = True
        else:
            if last is not None and tid > last + 1:
                result.skipped_before = tid - last - 1
            self._last_tid = tid
        if p.timestamp is not None and time.time() - p.timestamp > self.late_after:
            result.late = True

    def _skip(self, result: TrainSummary, p: Packet, kind: str, message: str) -> TrainSummary:
        result.errors[kind] = result.errors.get(kind, 0) + 1
        shape = (kind, None if p.spectra is None else p.spectra.shape[-1])
        if kind in ("wrong_length", "axis_mismatch"):
            if shape != self._last_shape_error:  # say it once per change, count every train
                log.warning("%s; skipping such trains", message.rstrip("."))
            self._last_shape_error = shape
        else:
            n = self._logged[kind] = self._logged.get(kind, 0) + 1
            if _is_power_of_ten(n):  # the 1st, 10th, 100th ... of a kind: no log flood
                log.warning("%s (%d so far): %s", kind, n, message)
        result.latency = time.perf_counter() - p.received
        return result


def _add_state_means(result: TrainSummary, x: np.ndarray, rows_all) -> None:
    """The train's per-state sums (one small matmul), for the run's means and the page."""
    cls = result.classification
    if cls is None or cls.pulse_ids is None:
        return
    pos = np.asarray(cls.pulse_ids, np.intp)  # rows of the train; `x` holds `rows_all`
    rows = pos if rows_all is None else np.searchsorted(rows_all, pos)
    result.state_means = StateMeans.of(cls, x, rows=rows)


def _change_detector(changes):
    """None, a default ChangeDetector for True, or the detector given."""
    if changes is None or changes is False:
        return None
    from ..changes import ChangeDetector

    if changes is True:
        return ChangeDetector()
    if not hasattr(changes, "update"):
        raise StreamError("'changes' must be True or a ChangeDetector; got a "
                          f"{type(changes).__name__}.")
    return changes


def _is_power_of_ten(n: int) -> bool:
    while n % 10 == 0:
        n //= 10
    return n == 1


def _finite_rows(x: np.ndarray) -> np.ndarray:
    """Rows of `x` without NaN/inf: a cheap row sum first, the exact test only where needed."""
    with np.errstate(over="ignore", invalid="ignore"):
        keep = np.isfinite(x.sum(axis=1))
    if not keep.all():  # a sum can overflow with finite values: check those rows exactly
        bad = np.flatnonzero(~keep)
        keep[bad] = np.isfinite(x[bad]).all(axis=1)
    return keep


def watch(model, source, *, source_name: str | None = None, key: str | None = None,
          monitor: str | None = None, min_monitor: float | None = None,
          **kwargs) -> Iterator[TrainSummary]:
    """Classify a live stream train by train; yields one :class:`TrainSummary` per train.

    Parameters
    ----------
    model : SpectraClassifier or path-like
        A fitted classifier, or the path of a saved one (reloaded when the file is replaced).
    source : str or path-like
        ``tcp://host:port`` of a Karabo bridge, or a folder where ``.xy``/``.h5`` files appear.
    source_name, key : str, optional
        Bridge: source and key of the spectrum.
    monitor : str, optional
        Bridge: ``'SOURCE:KEY'`` of a per-pulse monitor.
    min_monitor : float, optional
        Spectra with a monitor below this are "no beam" (excluded from the state counts).
    **kwargs
        Further options of :class:`Watcher` (``sub``, ``alert_trains``, ``max_trains``,
        ``duration``, ``idle_timeout``, ``recv_timeout``, ``poll_interval``, ``late_after``,
        ``reconnect_after``, ``threads``).

    Yields
    ------
    TrainSummary

    Examples
    --------
    >>> for r in watch("model.h5", "tcp://localhost:4545", source_name="SPEC:output",
    ...                key="data.spectrum", max_trains=100):  # doctest: +SKIP
    ...     print(r.train_id, r.state, r.fractions)
    """
    yield from Watcher(model, source, source_name=source_name, key=key, monitor=monitor,
                       min_monitor=min_monitor, **kwargs)
