"""What the watch loop reports: one :class:`TrainResult` per train, alerts, a running summary."""

from __future__ import annotations

import math
import time
from collections import Counter, deque
from dataclasses import dataclass, field

import numpy as np

__all__ = ["TrainResult", "Alert", "WatchSummary", "ERROR_KINDS"]

#: Kinds of problems the loop counts (keys of :attr:`TrainResult.errors`).
ERROR_KINDS = {
    "malformed": "message that could not be decoded",
    "missing_source": "train without the spectrum's source",
    "missing_key": "source without the spectrum's key",
    "bad_shape": "spectrum data that is not a (m,) or (n_pulses, m) numeric array",
    "wrong_length": "spectrum length different from the model's axis",
    "axis_mismatch": "spectrum axis different from the model's axis",
    "nonfinite": "spectra holding NaN or inf (counted per spectrum)",
    "missing_monitor": "train without the monitor source/key (classified without no-beam cut)",
    "monitor_shape": "monitor with fewer values than pulses (classified without no-beam cut)",
    "parse": "folder file that could not be read",
    "classify": "classifier failure on a train",
}

# Trains per second are shown over this sliding window (seconds): long enough to be stable,
# short enough to follow a change of the facility's rate.
RATE_WINDOW_S = 5.0
# How many recent latencies the summary keeps for its percentiles (bounded memory).
LATENCY_HISTORY = 10_000


@dataclass(frozen=True)
class Alert:
    """A confirmed change of the train state.

    Attributes
    ----------
    train_id : int
        First train in the new state.
    confirmed_train_id : int
        Train at which the change was confirmed (``alert_trains`` trains in the new state).
    previous : str
        State before the change.
    state : str
        State after the change.
    time : float
        Wall-clock time (epoch seconds) of the confirmation.
    """

    train_id: int
    confirmed_train_id: int
    previous: str
    state: str
    time: float

    def __str__(self) -> str:
        return (f"train {self.train_id}: {self.previous} -> {self.state} "
                f"(confirmed at train {self.confirmed_train_id})")


@dataclass
class TrainResult:
    """The classification of one train (bridge) or one file (folder).

    Attributes
    ----------
    train_id : int or None
        Train id (bridge) or sequence number of the file (folder); None for a message that
        could not be decoded.
    n_spectra : int
        Spectra received in the train.
    n_classified : int
        Spectra that were classified and counted (finite, with beam).
    counts : dict of str to int
        Classified spectra per state (every class of the model, zeros included).
    fractions : dict of str to float
        ``counts / n_classified`` per state (NaN when nothing was classified).
    state : str or None
        Majority state of the train; None when no spectrum was classified.
    confidence : float
        Mean probability of the majority state over the classified spectra (NaN if none).
    ambiguous : int
        Classified spectra the classifier marks as ambiguous (they are in `counts`).
    no_beam : int
        Finite spectra whose monitor is below ``min_monitor`` (excluded from `counts`).
    latency : float
        Seconds from receipt of the train to this result.
    errors : dict of str to int
        Problems per kind (see :data:`ERROR_KINDS`); a train with any kind other than
        'nonfinite', 'missing_monitor' and 'monitor_shape' was skipped.
    skipped_before : int
        Train ids missing between the previous train and this one.
    late : bool
        The train arrived out of order or older than ``late_after`` seconds.
    name : str
        File name (folder) or source name (bridge).
    alert : Alert or None
        The state-change alert confirmed by this train, if any.
    model_reloaded : bool
        The model file was reloaded just before this train.
    monitor_mean : float
        Mean monitor value over the train's spectra (NaN without monitor).
    changes : list of ChangeEvent
        Label-free change events raised by this train (``Watcher(changes=...)``).
    """

    train_id: int | None
    n_spectra: int = 0
    n_classified: int = 0
    counts: dict = field(default_factory=dict)
    fractions: dict = field(default_factory=dict)
    state: str | None = None
    confidence: float = math.nan
    ambiguous: int = 0
    no_beam: int = 0
    latency: float = 0.0
    errors: dict = field(default_factory=dict)
    skipped_before: int = 0
    late: bool = False
    name: str = ""
    alert: Alert | None = None
    model_reloaded: bool = False
    monitor_mean: float = math.nan
    changes: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the train was classified (at least one spectrum counted)."""
        return self.state is not None


@dataclass
class WatchSummary:
    """Running totals of a watch session (bounded memory, however long it runs).

    Attributes
    ----------
    trains : int
        Results produced (trains or files, errored ones included).
    classified_trains : int
        Trains with a state.
    spectra : int
        Spectra received.
    state_trains : Counter
        Trains per majority state.
    state_spectra : Counter
        Classified spectra per state.
    alerts : list of Alert
        Every state-change alert.
    errors : Counter
        Problems per kind, over the session.
    skipped, late : int
        Train ids missing in the stream; trains that arrived late or out of order.
    no_beam, ambiguous : int
        Spectra without beam; ambiguous spectra.
    timeouts, reconnects, model_reloads : int
        Receive timeouts, reconnections to the source, reloads of the model file.
    dropped : int
        Of the skipped trains, those received but dropped because classifying was behind
        (the others never arrived).
    changes : list of ChangeEvent
        Every label-free change event.
    """

    trains: int = 0
    classified_trains: int = 0
    spectra: int = 0
    state_trains: Counter = field(default_factory=Counter)
    state_spectra: Counter = field(default_factory=Counter)
    alerts: list = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    skipped: int = 0
    late: int = 0
    no_beam: int = 0
    ambiguous: int = 0
    timeouts: int = 0
    reconnects: int = 0
    model_reloads: int = 0
    dropped: int = 0
    changes: list = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    last_train_id: int | None = None
    _recent: deque = field(default_factory=deque, repr=False)
    _latencies: deque = field(default_factory=lambda: deque(maxlen=LATENCY_HISTORY),
                              repr=False)

    def add(self, result: TrainResult) -> None:
        """Add one train's result to the totals."""
        now = time.monotonic()
        self.trains += 1
        self.spectra += result.n_spectra
        self.errors.update(result.errors)
        self.skipped += result.skipped_before
        self.late += int(result.late)
        self.no_beam += result.no_beam
        self.ambiguous += result.ambiguous
        self.model_reloads += int(result.model_reloaded)
        if result.train_id is not None:
            self.last_train_id = result.train_id
        if result.state is not None:
            self.classified_trains += 1
            self.state_trains[result.state] += 1
            self.state_spectra.update({k: v for k, v in result.counts.items() if v})
            self._latencies.append(result.latency)
        if result.alert is not None:
            self.alerts.append(result.alert)
        self.changes.extend(result.changes)
        self._recent.append((now, result.n_spectra))
        while self._recent and now - self._recent[0][0] > RATE_WINDOW_S:
            self._recent.popleft()

    @property
    def elapsed(self) -> float:
        """Seconds since the session started."""
        return time.monotonic() - self.started

    def rates(self) -> tuple[float, float]:
        """Recent (trains/s, spectra/s) over the last few seconds."""
        if len(self._recent) < 2:
            return 0.0, 0.0
        span = max(time.monotonic() - self._recent[0][0], 1e-9)
        n = len(self._recent)
        return n / span, sum(s for _, s in self._recent) / span

    def latency_percentiles(self, q=(50, 99)) -> tuple[float, ...]:
        """Percentiles of the per-train latency (seconds) over the recent trains."""
        if not self._latencies:
            return tuple(math.nan for _ in q)
        return tuple(float(v) for v in np.percentile(np.fromiter(self._latencies, float), q))

    def format(self) -> str:
        """A multi-line human-readable summary."""
        elapsed = self.elapsed
        p50, p99 = self.latency_percentiles()
        lines = [
            f"trains: {self.trains} ({self.classified_trains} classified), spectra: "
            f"{self.spectra}, in {elapsed:.1f} s "
            f"({self.trains / max(elapsed, 1e-9):.1f} trains/s, "
            f"{self.spectra / max(elapsed, 1e-9):.0f} spectra/s)",
            f"latency per train: p50 {p50 * 1e3:.1f} ms, p99 {p99 * 1e3:.1f} ms",
            "states (trains): " + _counts(self.state_trains),
            "states (spectra): " + _counts(self.state_spectra),
            f"ambiguous spectra: {self.ambiguous}, no-beam spectra: {self.no_beam}",
            f"alerts: {len(self.alerts)}",
            *(f"  {a}" for a in self.alerts),
            *([f"label-free changes: {len(self.changes)}",
               *(f"  {change_text(c)}" for c in self.changes)] if self.changes else []),
            "errors: " + _counts(self.errors),
            f"skipped trains: {self.skipped} ({self.dropped} dropped while classifying was "
            f"behind), late trains: {self.late}, "
            f"timeouts: {self.timeouts}, reconnects: {self.reconnects}, "
            f"model reloads: {self.model_reloads}",
        ]
        return "\n".join(lines)


def change_text(event) -> str:
    """One line for a label-free :class:`~specstate.ChangeEvent`: trains and spectra."""
    at = f"train {event.detected_train_id}" if event.detected_train_id is not None else \
        f"spectrum {event.detected_at}"
    since = f"train {event.train_id}, " if event.train_id is not None else ""
    return (f"change detected at {at}; estimated change point {since}spectrum "
            f"{event.index} (score {event.score:.0f}, threshold {event.threshold:.0f})")


def _counts(counter) -> str:
    items = [f"{k} {v}" for k, v in sorted(counter.items()) if v]
    return ", ".join(items) if items else "none"
